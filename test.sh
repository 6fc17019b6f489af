#!/usr/bin/env bash
# The tests: set up (build tools; Chromium and chromedriver for the report's browser test),
# fetch the embedded model once, build llama-cpp-python's server into a venv once (the test
# against a real OpenAI-compatible server), then `cargo test` (unit, property, snapshot and
# integration tests).
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh --test
cargo build --locked
./target/debug/tolk model fetch
bash scripts/llama-server-venv.sh >/dev/null
exec cargo test --locked "$@"
