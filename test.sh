#!/usr/bin/env bash
# The tests: set up (build tools; Chromium and chromedriver for the report's browser test;
# translate-toolkit in a venv for the XLIFF and TMX round trips),
# fetch the embedded model once, build llama-cpp-python's server into a venv once (the test
# against a real OpenAI-compatible server; built beside tolk's own build, which leaves a core
# idle while it links), then clippy with warnings as errors, then `cargo test` (unit, property,
# snapshot and integration tests).
# Arguments go to the final `cargo test` (e.g. a test name).
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh --test
eval "$(bash scripts/cpu-flags.sh)"   # llama.cpp for this CPU's AVX-512, when it has it
venv_log="$(mktemp)"
venv_py="$(mktemp)"
bash scripts/llama-server-venv.sh >"$venv_py" 2>"$venv_log" &
venv_pid=$!
# One build for the binary and the tests. A separate `cargo build` first built the dependencies
# without the dev-dependencies' features; `cargo test` then rebuilt bindgen and with it the
# whole vendored llama.cpp (5 minutes on 2 cores). The benches are built too (not run), so a
# change that breaks one is caught here.
cargo test --locked --no-run --all-targets
# The lints of Cargo.toml's [lints] and clippy's defaults, every target, warnings as errors.
cargo clippy --locked --all-targets -- -D warnings
./target/debug/tolk model fetch qwen2.5-coder-0.5b   # the model the tests run (tolk model list)
if ! wait "$venv_pid"; then
  cat "$venv_log" >&2
  echo "test.sh: building the llama-cpp-python venv failed" >&2
  exit 1
fi
# The real-server test uses the python the script built (its venv's name carries the CPU flags).
TOLK_LLAMA_PYTHON="$(cat "$venv_py")"
export TOLK_LLAMA_PYTHON
rm -f "$venv_log" "$venv_py"
# translate-toolkit reads tolk's XLIFF and TMX and writes edited ones back (tests/it/exchange.rs).
TRANSLATE_TOOLKIT_PYTHON="$(bash scripts/translate-toolkit-venv.sh)"
export TRANSLATE_TOOLKIT_PYTHON
exec cargo test --locked "$@"
