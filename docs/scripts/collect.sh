#!/usr/bin/env bash
# Copies the summary tables and plots of finished sweeps from results/NAME/ into
# docs/results/NAME/ (per-run folders stay out of the repository: they hold models and
# per-step logs). Usage: docs/scripts/collect.sh NAME...
set -euo pipefail
cd "$(dirname "$0")/../.."
for name in "$@"; do
  src="results/$name"
  dst="docs/results/$name"
  [ -f "$src/summary.md" ] || { echo "no $src/summary.md: run the sweep first" >&2; exit 1; }
  mkdir -p "$dst"
  cp "$src"/summary.md "$src"/summary.csv "$src"/results.csv "$dst"/
  # Rates chosen on validation (`report --select-by validation`) and derived tables
  # (docs/scripts/lr-policies.py, docs/scripts/budget-curve.py), if any.
  for extra in selection.md selection.csv comparison.md budget-curve.md; do
    if [ -f "$src/$extra" ]; then cp "$src/$extra" "$dst/"; fi
  done
  # The two summary plots; the per-cell gradient plots stay in results/ (dozens per grid).
  for plot in accuracy-vs-lr.png accuracy-vs-lr.svg grad-vs-depth.svg; do
    if [ -f "$src/$plot" ]; then cp "$src/$plot" "$dst/"; fi
  done
done
