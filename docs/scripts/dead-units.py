#!/usr/bin/env python3
"""Dead units at the end of training, per activation and learning rate (docs/RESULTS.md, claim 6).

A unit is dead when f'(z) < 5 % of f's peak slope on every image of the statistics batch
(`dead_units` in each run's epochs.jsonl, per hidden layer). Prints the fraction averaged over
hidden layers and seeds, from the last epoch of each finished run under ROOT/runs/.

Usage: docs/scripts/dead-units.py [ROOT]   (default: results/dying-relu)
"""

import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

root = Path(sys.argv[1] if len(sys.argv) > 1 else "results/dying-relu")
cells = defaultdict(list)
for run in sorted((root / "runs").iterdir()):
    result = json.loads((run / "result.json").read_text())
    if result["status"] != "finished":
        continue
    axes = dict(json.loads((run / "config.json").read_text())["axes"])
    last = (run / "epochs.jsonl").read_text().splitlines()[-1]
    # The output layer has no activation, so no dead units (None).
    dead = [d for layer in json.loads(last)["layers"] if (d := layer["dead_units"]) is not None]
    cells[(axes["activation"], float(axes["lr"]))].append(statistics.mean(dead))
print("| activation | lr | finished runs | dead units (mean over layers and seeds) |")
print("|---|---|---|---|")
for (activation, lr), values in sorted(cells.items()):
    print(f"| {activation} | {lr:g} | {len(values)} | {100 * statistics.mean(values):.1f} % |")
