#!/usr/bin/env bash
# A virtual environment with translate-toolkit (pure Python, with lxml), for the tests that read
# tolk's XLIFF and TMX with a program others wrote and write edited files back
# (tests/it/exchange.rs). Skipped when it is already there. Prints the venv's python.
#
#   TRANSLATE_TOOLKIT_VENV   where the venv lives (default:
#                                 ~/.cache/tolk/venv-translate-toolkit-<version>)
set -euo pipefail
version=3.20.4
venv="${TRANSLATE_TOOLKIT_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/tolk/venv-translate-toolkit-$version}"
py="$venv/bin/python"
if ! "$py" -c "import translate.storage.xliff, translate.storage.tmx" >/dev/null 2>&1; then
  echo "setup: translate-toolkit $version into $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$py" -m pip install --quiet --disable-pip-version-check "translate-toolkit==$version" >&2
fi
echo "$py"
