#!/usr/bin/env bash
# The tests: set up, then `cargo test` (unit, property, snapshot and integration tests).
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh
exec cargo test --locked "$@"
