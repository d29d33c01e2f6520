#!/usr/bin/env bash
# gradlab vs PyTorch on this machine, side by side: the three cases of docs/PERFORMANCE.md
# (benches/cases.sh), each measured REPS times (default 3), gradlab and PyTorch alternating so
# that both see the same machine state. Prints one markdown row per case with the median
# samples/s of each.
#
#   benches/compare.sh                 # flex (default backend)
#   BACKEND=ndarray benches/compare.sh
#   REPS=5 benches/compare.sh
#
# Needs target/release/gradlab (cargo build --release -p gradlab-runner) and python3 with torch.
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/cases.sh
gradlab=${GRADLAB:-target/release/gradlab}
backend=${BACKEND:-flex}
reps=${REPS:-3}

peak=$("$gradlab" --json bench --depth 1 --width 8 --steps 1 --peak-size 2048 | json_field gemm_peak_gflops)
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
    json=$("$gradlab" --backend "$backend" --json bench $args --steps "$steps" --peak-size 0)
    ours+=("$(json_field samples_per_s <<<"$json")")
    # shellcheck disable=SC2086
    theirs+=("$(python3 benches/pytorch_mlp.py $args --steps "$steps" --json | json_field samples_per_s)")
  done
  o=$(printf '%s\n' "${ours[@]}" | median)
  t=$(printf '%s\n' "${theirs[@]}" | median)
  # GFLOP per sample from gradlab's own count (the last run's GFLOP/s over its samples/s).
  per_sample=$(python3 -c "import json,sys; j=json.loads(sys.argv[1]); print(j['gflops']/j['samples_per_s'])" "$json")
  batch=$(sed -E 's/.*--batch ([0-9]+).*/\1/' <<<"$args")
  python3 - "$label" "$batch" "$o" "$t" "$peak" "$per_sample" <<'PY'
import sys
label, batch, ours, theirs, peak, per_sample = sys.argv[1:]
ours, theirs, peak, per_sample = float(ours), float(theirs), float(peak), float(per_sample)
gflops = ours * per_sample
print(f"| {label} | {batch} | {ours:,.0f} | {gflops:.1f} | {100 * gflops / peak:.0f} % "
      f"| {theirs:,.0f} | {ours / theirs:.2f} |")
PY
done < <(cases)
