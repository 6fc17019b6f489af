#!/usr/bin/env bash
# The tests: set up (build tools; Chromium and chromedriver for the report's browser test),
# fetch the embedded model once, build llama-cpp-python's server into a venv once (the test
# against a real OpenAI-compatible server; built beside tolk's own build, which leaves a core
# idle while it links), then `cargo test` (unit, property, snapshot and integration tests).
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh --test
venv_log="$(mktemp)"
bash scripts/llama-server-venv.sh >"$venv_log" 2>&1 &
venv_pid=$!
cargo build --locked
./target/debug/tolk model fetch
if ! wait "$venv_pid"; then
  cat "$venv_log" >&2
  echo "test.sh: building the llama-cpp-python venv failed" >&2
  exit 1
fi
rm -f "$venv_log"
exec cargo test --locked "$@"
