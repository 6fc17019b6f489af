#!/usr/bin/env bash
# A virtual environment with llama-cpp-python's OpenAI-compatible server, for the test against a
# real server (tests/it/real_server.rs). Built from source by pip (needs cmake and a C++
# compiler); skipped when a working one built with the same CPU flags is already there. Prints
# the venv's python.
#
#   scripts/llama-server-venv.sh          build if needed, print the python
#   scripts/llama-server-venv.sh --path   only print where the python is (or would be)
#   TOLK_LLAMA_VENV                       where the venv lives (default:
#                                         ~/.cache/tolk/venv-llama-cpp-python-<version>-<flags>)
#
# llama.cpp is built for x86-64-v3 (AVX, AVX2, FMA, F16C, BMI2), never for the host's own CPU
# (GGML_NATIVE=OFF) and without AVX-512, like tolk's embedded build (.cargo/config.toml). A
# native build on an Intel host with AVX-512 crashed with a general protection fault in
# libggml-cpu.so on the first grammar-constrained request. The flags are part of the venv's
# name and written to a marker file inside it, so a venv built with other flags (a native one
# from an older version of this script) is rebuilt, not reused.
set -euo pipefail
version=0.3.36
flags_id=x86-64-v3
cmake_cpu="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF -DGGML_AVX_VNNI=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF -DGGML_CPU_ALL_VARIANTS=OFF -DGGML_BACKEND_DL=OFF"
# Only the library: no llava/mtmd, tests or examples.
cmake_rest="-DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF"
venv="${TOLK_LLAMA_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/tolk/venv-llama-cpp-python-$version-$flags_id}"
py="$venv/bin/python"
marker="$venv/tolk-build-flags"
if [ "${1:-}" = "--path" ]; then
  echo "$py"
  exit 0
fi
if [ -x "$py" ] && [ "$(cat "$marker" 2>/dev/null)" = "$cmake_cpu" ] \
  && "$py" -c "import llama_cpp, llama_cpp.server, uvicorn, sys; sys.exit(llama_cpp.__version__ != '$version')" 2>/dev/null; then
  echo "$py"
  exit 0
fi
echo "llama-server-venv: building llama-cpp-python[server]==$version for $flags_id into $venv (several minutes)" >&2
rm -rf "$venv"
python3 -m venv "$venv"
"$py" -m pip install --quiet --upgrade pip >&2
CMAKE_ARGS="$cmake_cpu $cmake_rest" \
CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
  "$py" -m pip install --quiet --no-cache-dir "llama-cpp-python[server]==$version" >&2
"$py" -c "import llama_cpp, llama_cpp.server" >&2
# Written last: a venv whose build was interrupted has no marker and is built again.
printf '%s' "$cmake_cpu" >"$marker"
echo "$py"
