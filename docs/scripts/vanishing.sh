#!/usr/bin/env bash
# Claim 3: gradient norm of the first vs the last hidden layer at initialisation, by depth.
# Usage: docs/scripts/vanishing.sh [path/to/gradlab]   (needs GRADLAB_DATA or ~/.cache/gradlab)
set -euo pipefail
gradlab=${1:-target/release/gradlab}
echo "| activation | init | depth | ‖∇W₁‖ / ‖∇W_L‖ | per-layer factor | mean f' (hidden1) |"
echo "|---|---|---|---|---|---|"
for spec in "sigmoid xavier-uniform" "tanh xavier-uniform" "relu he-normal" "tanh eoc:sigma_b2=0.05"; do
  set -- $spec
  for depth in 2 3 5 10 20 50; do
    "$gradlab" -q probe --activation "$1" --init "$2" --depth "$depth" --json |
      python3 -c '
import json, sys
act, init, depth = sys.argv[1], sys.argv[2], int(sys.argv[3])
layers = [l for l in json.load(sys.stdin) if l["name"].startswith("hidden")]
ratio = layers[0]["grad_norm"] / layers[-1]["grad_norm"]
slope = layers[0]["mean_derivative"]
if ratio == 0.0:
    # The first layer's gradient underflowed f32 (below ~1e-45): report that, not a fake number.
    print(f"| {act} | {init} | {depth} | 0 (f32 underflow) | - | {slope:.3f} |")
else:
    factor = ratio ** (1 / max(depth - 1, 1))
    print(f"| {act} | {init} | {depth} | {ratio:.3e} | {factor:.3f} | {slope:.3f} |")
' "$1" "$2" "$depth"
  done
done
