#!/usr/bin/env bash
# gradlab vs PyTorch on this machine, side by side: the three cases of docs/PERFORMANCE.md,
# each measured REPS times (default 3), gradlab and PyTorch alternating so that both see the
# same machine state. Prints one markdown row per case with the median samples/s of each.
#
#   benches/compare.sh                 # flex (default backend)
#   BACKEND=ndarray benches/compare.sh
#   REPS=5 benches/compare.sh
#
# Needs target/release/gradlab (cargo build --release -p gradlab-runner) and python3 with torch.
set -euo pipefail
cd "$(dirname "$0")/.."
gradlab=${GRADLAB:-target/release/gradlab}
backend=${BACKEND:-flex}
reps=${REPS:-3}

median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

peak=$("$gradlab" --json bench --depth 1 --width 8 --steps 1 --peak-size 2048 | field gemm_peak_gflops)
torch_peak=$(python3 - <<'PY'
import time, torch
a, b = torch.rand(2048, 2048), torch.rand(2048, 2048)
a @ b
best = min((lambda t: (a @ b, time.perf_counter() - t)[1])(time.perf_counter()) for _ in range(5))
print(2 * 2048**3 / best / 1e9)
PY
)
printf 'GEMM peak 2048²: %s %.0f GFLOP/s, PyTorch %.0f GFLOP/s\n\n' "$backend" "$peak" "$torch_peak"
echo "| model | batch | gradlab $backend samples/s | GFLOP/s | % of peak | PyTorch samples/s | ratio |"
echo "|---|---|---|---|---|---|---|"
while IFS='|' read -r label args steps; do
  ours=(); theirs=()
  for _ in $(seq "$reps"); do
    # shellcheck disable=SC2086
    ours+=("$("$gradlab" --backend "$backend" --json bench $args --steps "$steps" --peak-size 0 | field samples_per_s)")
    # shellcheck disable=SC2086
    theirs+=("$(python3 benches/pytorch_mlp.py $args --steps "$steps" --json | field samples_per_s)")
  done
  o=$(printf '%s\n' "${ours[@]}" | median)
  t=$(printf '%s\n' "${theirs[@]}" | median)
  batch=$(sed -E 's/.*--batch ([0-9]+).*/\1/' <<<"$args")
  python3 - "$label" "$batch" "$o" "$t" "$peak" "$args" <<'PY'
import sys
label, batch, ours, theirs, peak, args = sys.argv[1:]
ours, theirs, peak = float(ours), float(theirs), float(peak)
macs = 4_794_000 if "128,64" not in args else 784 * 128 + 128 * 64 + 64 * 10
gflops = 6 * macs * ours / 1e9
print(f"| {label} | {batch} | {ours:,.0f} | {gflops:.1f} | {100 * gflops / peak:.0f} % "
      f"| {theirs:,.0f} | {ours / theirs:.2f} |")
PY
done <<'CASES'
784-1000×5-10|--depth 5 --width 1000 --batch 64|200
784-1000×5-10|--depth 5 --width 1000 --batch 256|60
784-128-64-10|--widths 128,64 --batch 64|3000
CASES
