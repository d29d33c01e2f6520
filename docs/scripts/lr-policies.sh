#!/usr/bin/env bash
# Issue "learning-rate tuning from derivatives": the evidence behind docs/RESULTS.md section 10.
#   1. three sweeps (SGD with uniform / derivative / TempBalance rates, SGD with LARS, Adam) over
#      sigmoid, tanh and ReLU MLPs of depth 3, 10 and 20, five rates, five seeds;
#   2. `report --select-by validation`: the best rate of each grid, chosen on the validation split;
#   3. `lr-find` for every activation and depth with plain SGD, one epoch of rates (313 batches
#      from 1e-6 to 10; at the default 100 a sigmoid net's loss has not started to fall by
#      lr 10): its suggestion, to set beside the grid's best rate;
#   4. docs/scripts/lr-policies.py: the comparison tables.
# Usage: docs/scripts/lr-policies.sh [path/to/gradlab]   (needs GRADLAB_DATA or ~/.cache/gradlab)
# Finished runs are skipped, so an interrupted script resumes where it stopped.
set -euo pipefail
cd "$(dirname "$0")/../.."
gradlab=${1:-target/release/gradlab}
for name in lr-policies lr-policies-lars lr-policies-adam; do
  "$gradlab" -q sweep "configs/$name.toml"
  "$gradlab" -q report "results/$name" --select-by validation
done
for activation in sigmoid tanh relu; do
  for depth in 3 10 20; do
    out="results/lr-find/$activation-$depth"
    [ -f "$out/lr-find.json" ] && continue
    mkdir -p "$out"
    "$gradlab" -q --json lr-find configs/lr-policies.toml --steps 313 --out "$out" \
      --set "grid.activation=$activation" --set "grid.depth=$depth" \
      --set grid.policy=uniform --set grid.lr=0.1 --set grid.seed=1 > "$out/lr-find.json.part"
    mv "$out/lr-find.json.part" "$out/lr-find.json"
  done
done
python3 docs/scripts/lr-policies.py results
# Into docs/results/: the tables, every lr-find curve (CSV) and the plots of the depth-3 ones.
docs/scripts/collect.sh lr-policies lr-policies-lars lr-policies-adam
# Their accuracy-vs-lr plots draw 27 (or 9) curves in one frame, unreadable; the tables say it.
rm -f docs/results/lr-policies*/accuracy-vs-lr.* docs/results/lr-policies*/grad-vs-depth.svg
mkdir -p docs/results/lr-find
for dir in results/lr-find/*/; do
  name=$(basename "$dir")
  cp "$dir/lr-find.csv" "docs/results/lr-find/$name.csv"
  case $name in *-3) cp "$dir/lr-find.svg" "docs/results/lr-find/$name.svg" ;; esac
done
