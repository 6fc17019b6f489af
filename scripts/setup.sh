#!/usr/bin/env bash
# Installs what building tolk needs and is missing (with --test, also what the tests need). Idempotent: on a machine that
# has everything it only builds. Used by ./run.sh, ./test.sh and .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v cc >/dev/null 2>&1 || need+=(build-essential)
command -v cmake >/dev/null 2>&1 || need+=(cmake)
command -v clang >/dev/null 2>&1 || need+=(clang)
# bindgen (llama-cpp-2) needs libclang.
ls /usr/lib/llvm-*/lib/libclang*.so* >/dev/null 2>&1 || ls /usr/lib/x86_64-linux-gnu/libclang*.so* >/dev/null 2>&1 || need+=(libclang-dev)
command -v python3 >/dev/null 2>&1 || need+=(python3 python3-pip)
# PDF letters: their text layer is extracted by poppler's pdftotext.
command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
python3 -c "import venv, ensurepip" >/dev/null 2>&1 || need+=(python3-venv)
# With --test: what the tests need besides the build (the report's browser test; LibreOffice,
# which reads the CSV export back).
if [ "${1:-}" = "--test" ]; then
  [ -x /usr/bin/chromium ] || need+=(chromium)
  [ -x /usr/bin/chromedriver ] || need+=(chromium-driver)
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [ "${1:-}" = "--test" ] && ! command -v soffice >/dev/null 2>&1; then
  # Calc alone, without the recommended extras (Java, fonts, the help).
  echo "setup: installing libreoffice-calc-nogui" >&2
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  [ ${#need[@]} -gt 0 ] || $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends libreoffice-calc-nogui >/dev/null
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo not found; install Rust with rustup first" >&2
  exit 2
fi
