#!/usr/bin/env bash
# Two gradlab builds side by side on the three cases of docs/PERFORMANCE.md: BEFORE and AFTER
# are paths to `gradlab` binaries (e.g. one built from an older commit with
# `git worktree add /tmp/old COMMIT && cd /tmp/old && cargo build --release -p gradlab-runner`),
# alternated REPS times (default 3); prints the median samples/s of each and the ratio.
set -euo pipefail
before=${1:?usage: benches/before-after.sh BEFORE AFTER}
after=${2:?usage: benches/before-after.sh BEFORE AFTER}
backend=${BACKEND:-flex}
reps=${REPS:-3}
median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
rate() { python3 -c "import json,sys; print(json.load(sys.stdin)['samples_per_s'])"; }
echo "| model | batch | before samples/s | after samples/s | after / before |"
echo "|---|---|---|---|---|"
while IFS='|' read -r label args steps; do
  b=(); a=()
  for _ in $(seq "$reps"); do
    # shellcheck disable=SC2086
    b+=("$("$before" --backend "$backend" --json bench $args --steps "$steps" | rate)")
    # shellcheck disable=SC2086
    a+=("$("$after" --backend "$backend" --json bench $args --steps "$steps" --peak-size 0 | rate)")
  done
  mb=$(printf '%s\n' "${b[@]}" | median)
  ma=$(printf '%s\n' "${a[@]}" | median)
  batch=$(sed -E 's/.*--batch ([0-9]+).*/\1/' <<<"$args")
  python3 -c "import sys; l,bt,b,a=sys.argv[1:]; b,a=float(b),float(a); print(f'| {l} | {bt} | {b:,.0f} | {a:,.0f} | {a/b:.2f} |')" "$label" "$batch" "$mb" "$ma"
done <<'CASES'
784-1000×5-10|--depth 5 --width 1000 --batch 64|200
784-1000×5-10|--depth 5 --width 1000 --batch 256|60
784-128-64-10|--widths 128,64 --batch 64|3000
CASES
