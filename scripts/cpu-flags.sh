#!/usr/bin/env bash
# Prints the `export` lines that build the vendored llama.cpp for this machine's AVX-512, when it
# has it; nothing otherwise. ./run.sh and ./test.sh run `eval "$(bash scripts/cpu-flags.sh)"`
# before cargo; do the same before a cargo command of your own, or cargo rebuilds llama.cpp
# without them (it rebuilds when a GGML_ variable changes).
#
# .cargo/config.toml builds llama.cpp for x86-64-v3 (AVX2, FMA, F16C), which every x86 CPU since
# 2013-2015 has. On a CPU with AVX-512 (BW, DQ, VL) llama.cpp's quantized matrix products have
# AVX-512 paths, and with VNNI one instruction where AVX2 takes two: on the 2-core reference
# machine (AMD EPYC) the 1.5B model read a prompt at 115 tokens/s instead of 75 (pp512). tolk
# records the flags it was built with and refuses, with a message, to load the model on a CPU
# that lacks one. A GGML_AVX512 already set wins: GGML_AVX512=OFF ./run.sh builds for x86-64-v3.
set -euo pipefail
if [ -n "${GGML_AVX512:-}" ] || [ ! -r /proc/cpuinfo ]; then
  exit 0
fi
flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
has() { [[ "$flags" == *" $1 "* ]]; }
for f in avx512f avx512cd avx512vl avx512dq avx512bw; do
  if ! has "$f"; then
    exit 0
  fi
done
echo "export GGML_AVX512=ON"
if has avx512_vnni; then echo "export GGML_AVX512_VNNI=ON"; fi
if has avx512vbmi; then echo "export GGML_AVX512_VBMI=ON"; fi
if has avx512_bf16; then echo "export GGML_AVX512_BF16=ON"; fi
exit 0
