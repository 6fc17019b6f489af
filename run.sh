#!/usr/bin/env bash
# The main job: set up, build, and run `tolk run` over input/ (extra arguments go to `tolk run`).
# With no endpoint configured (tolk.toml, TOLK_ENDPOINT_BASE_URL or --endpoint) tolk runs on its
# embedded small model, which it fetches on first use.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh
eval "$(bash scripts/cpu-flags.sh)"   # llama.cpp for this CPU's AVX-512, when it has it
cargo build --release --locked
exec ./target/release/tolk run "$@"
