#!/usr/bin/env bash
# Two gradlab builds side by side on the three cases of docs/PERFORMANCE.md (benches/cases.sh):
# BEFORE and AFTER are paths to `gradlab` binaries (e.g. one built from an older commit with
# `git worktree add /tmp/old COMMIT && cd /tmp/old && cargo build --release -p gradlab-runner`),
# alternated REPS times (default 3); prints the median samples/s of each and the ratio.
set -euo pipefail
before=${1:?usage: benches/before-after.sh BEFORE AFTER}
after=${2:?usage: benches/before-after.sh BEFORE AFTER}
cd "$(dirname "$0")/.."
source benches/cases.sh
backend=${BACKEND:-flex}
reps=${REPS:-3}
echo "| model | batch | before samples/s | after samples/s | after / before |"
echo "|---|---|---|---|---|"
while IFS='|' read -r label args steps; do
  b=(); a=()
  for _ in $(seq "$reps"); do
    # Older builds have no --peak-size (and no GEMM peak to skip).
    # shellcheck disable=SC2086
    b+=("$("$before" --backend "$backend" --json bench $args --steps "$steps" | json_field samples_per_s)")
    # shellcheck disable=SC2086
    a+=("$("$after" --backend "$backend" --json bench $args --steps "$steps" --peak-size 0 | json_field samples_per_s)")
  done
  mb=$(printf '%s\n' "${b[@]}" | median)
  ma=$(printf '%s\n' "${a[@]}" | median)
  batch=$(sed -E 's/.*--batch ([0-9]+).*/\1/' <<<"$args")
  python3 -c "import sys; l,bt,b,a=sys.argv[1:]; b,a=float(b),float(a); print(f'| {l} | {bt} | {b:,.0f} | {a:,.0f} | {a/b:.2f} |')" "$label" "$batch" "$mb" "$ma"
done < <(cases)
