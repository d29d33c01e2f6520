#!/usr/bin/env python3
"""Test error against the number of updates, over seeds (docs/RESULTS.md, section 11).

Reads the test accuracy that every finished run under ROOT/runs/ logged every
`log.eval_every` updates (evals.jsonl) and prints, per number of updates, the test error as
mean ± SD over seeds and its ratio to a published error (Glorot & Bengio 2010, Table 1: tanh
with the normalised init on CIFAR-10, 52.92 % after 5 million updates, by default).

Usage: docs/scripts/budget-curve.py [ROOT] [PUBLISHED_ERROR_PCT]
       (default: results/glorot-cifar10-budget 52.92)
"""

import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

root = Path(sys.argv[1] if len(sys.argv) > 1 else "results/glorot-cifar10-budget")
published = float(sys.argv[2]) if len(sys.argv) > 2 else 52.92
errors = defaultdict(list)
for run in sorted((root / "runs").iterdir()):
    if json.loads((run / "result.json").read_text())["status"] != "finished":
        continue
    for line in (run / "evals.jsonl").read_text().splitlines():
        record = json.loads(line)
        errors[record["step"]].append(100.0 * (1.0 - record["test_accuracy"]))
print(f"| updates | test error % (mean ± SD) | n | × published ({published} %) |")
print("|---|---|---|---|")
for step, values in sorted(errors.items()):
    mean = statistics.mean(values)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    print(f"| {step:,} | {mean:.2f} ± {sd:.2f} | {len(values)} | {mean / published:.2f} |")
