# Sourced by compare.sh, before-after.sh and gpu.sh: the three cases of docs/PERFORMANCE.md and
# two helpers, so that every comparison measures the same models.

# One line per case: label|`gradlab bench` / pytorch_mlp.py arguments|timed steps (a few
# seconds each on a 2-core CPU).
cases() {
  cat <<'CASES'
784-1000×5-10|--depth 5 --width 1000 --batch 64|200
784-1000×5-10|--depth 5 --width 1000 --batch 256|60
784-128-64-10|--widths 128,64 --batch 64|3000
CASES
}

# The median of the numbers on stdin, one per line.
median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

# Field $1 of the JSON object on stdin.
json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
