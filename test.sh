#!/usr/bin/env bash
# The tests: set up, fetch the embedded model once (the real-model test needs it), then
# `cargo test` (unit, property, snapshot and integration tests).
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh
cargo build --locked
./target/debug/tolk model fetch
exec cargo test --locked "$@"
