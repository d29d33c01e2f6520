#!/usr/bin/env bash
# The GPU check of docs/PERFORMANCE.md, as one script for a machine with a GPU (CUDA for the
# PyTorch reference; Vulkan for Burn's wgpu backend): build with the wgpu feature, run the
# wgpu test, bench the three cases on wgpu, and run the PyTorch reference on CUDA.
# Prints everything on stdout; writes the table to ${OUT:-.}/gpu.md.
#   benches/gpu.sh            (needs GRADLAB_DATA with MNIST for the test)
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-.}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
time cargo build --release -p gradlab-runner --features wgpu || exit 1
cargo test --release -p gradlab-runner --features wgpu --test cli -- --ignored wgpu
gradlab=target/release/gradlab
source benches/cases.sh
{
  echo "| model | batch | gradlab wgpu samples/s | GFLOP/s | PyTorch CUDA samples/s | ratio |"
  echo "|---|---|---|---|---|---|"
  while IFS='|' read -r label args steps; do
    # A GPU finishes the CPU's step counts too fast to time well: at least 300 steps.
    steps=$(( steps < 300 ? 300 : steps ))
    # shellcheck disable=SC2086
    ours=$("$gradlab" --backend wgpu --json bench $args --steps "$steps" --peak-size 0)
    # shellcheck disable=SC2086
    theirs=$(python3 benches/pytorch_mlp.py --device cuda $args --steps "$steps" --json || echo '{}')
    python3 - "$label" "$ours" "$theirs" <<'PY'
import json, sys
label, ours, theirs = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3] or "{}")
o, t = ours["samples_per_s"], theirs.get("samples_per_s")
torch_text, ratio = (f"{t:,.0f}", f"{o / t:.2f}") if t else ("-", "-")
print(f"| {label} | {ours['batch']} | {o:,.0f} | {ours['gflops']:.1f} | {torch_text} | {ratio} |")
PY
  done < <(cases)
} | tee "$out/gpu.md"
