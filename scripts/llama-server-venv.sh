#!/usr/bin/env bash
# A virtual environment with llama-cpp-python's OpenAI-compatible server, for the test against a
# real server (tests/it/real_server.rs). Built from source by pip (needs cmake and a C++
# compiler); skipped when a working one is already there. Prints the venv's python.
#
#   TOLK_LLAMA_VENV   where the venv lives (default: ~/.cache/tolk/venv-llama-cpp-python-0.3.36)
set -euo pipefail
version=0.3.36
venv="${TOLK_LLAMA_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/tolk/venv-llama-cpp-python-$version}"
py="$venv/bin/python"
if [ -x "$py" ] && "$py" -c "import llama_cpp, llama_cpp.server, uvicorn, sys; sys.exit(llama_cpp.__version__ != '$version')" 2>/dev/null; then
  echo "$py"
  exit 0
fi
echo "llama-server-venv: building llama-cpp-python[server]==$version into $venv (several minutes)" >&2
rm -rf "$venv"
python3 -m venv "$venv"
"$py" -m pip install --quiet --upgrade pip >&2
# Only the library: no llava/mtmd, tests or examples. Built for this machine's CPU.
CMAKE_ARGS="-DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF" \
CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
  "$py" -m pip install --quiet --no-cache-dir "llama-cpp-python[server]==$version" >&2
"$py" -c "import llama_cpp, llama_cpp.server" >&2
echo "$py"
