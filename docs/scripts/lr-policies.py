#!/usr/bin/env python3
"""Comparison tables for docs/RESULTS.md section 10, from finished sweeps and lr-find runs.

Reads ROOT/lr-policies{,-lars,-adam}/{selection,summary}.csv (written by `gradlab report
--select-by validation`) and ROOT/lr-find/ACTIVATION-DEPTH/lr-find.json (`gradlab --json
lr-find`), prints two Markdown tables and writes them to ROOT/lr-policies/comparison.md:

1. per activation and depth: the best SGD rate of the grid (chosen on validation accuracy),
   lr-find's suggestion and its min/10 rule, and the test accuracy of the grid rate nearest to
   each (the grid's rates are the only ones trained);
2. per activation and depth and policy: the rate chosen on validation, test accuracy mean ± SD
   over seeds (n) and the mean convergence step (seeds that converged) at that rate.

Usage: docs/scripts/lr-policies.py [ROOT]   (default: results)
"""

import csv
import json
import math
import sys
from pathlib import Path

ROOT = Path(sys.argv[1] if len(sys.argv) > 1 else "results")
SWEEPS = {"lr-policies": "SGD", "lr-policies-lars": "SGD + LARS", "lr-policies-adam": "Adam"}
POLICY_NAMES = {"uniform": "uniform", "derivative": "derivative", "tempbalance": "TempBalance"}


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def label(sweep, row):
    if sweep != "lr-policies":
        return SWEEPS[sweep]
    return "SGD, " + POLICY_NAMES[row.get("policy", "uniform").split(":")[0]]


def pct(mean, sd, n):
    return f"{100 * float(mean):.1f} ± {100 * float(sd or 0):.1f} (n={n})"


def main():
    cells = {}  # (activation, depth, label, lr) -> summary row
    chosen = {}  # (activation, depth, label) -> lr
    for sweep in SWEEPS:
        folder = ROOT / sweep
        for r in rows(folder / "summary.csv"):
            cells[(r["activation"], r["depth"], label(sweep, r), r["lr"])] = r
        for r in rows(folder / "selection.csv"):
            chosen[(r["activation"], r["depth"], label(sweep, r))] = r["lr"]
    keys = sorted({k[:2] for k in chosen}, key=lambda k: (k[0], int(k[1])))
    labels = list(dict.fromkeys(k[2] for k in chosen))

    def nearest(activation, depth, rate):
        rates = [k[3] for k in cells if k[:3] == (activation, depth, "SGD, uniform")]
        lr = min(rates, key=lambda r: abs(math.log10(float(r)) - math.log10(rate)))
        c = cells[(activation, depth, "SGD, uniform", lr)]
        return f"{lr}: {pct(c['test_accuracy_mean'], c['test_accuracy_sd'], c['runs'])}"

    out = ["| activation | depth | grid's best SGD rate: test acc | lr-find suggestion "
           "| nearest grid rate: test acc | lr-find min/10 | nearest grid rate: test acc |",
           "|---|---|---|---|---|---|---|"]
    for activation, depth in keys:
        lr = chosen[(activation, depth, "SGD, uniform")]
        c = cells[(activation, depth, "SGD, uniform", lr)]
        found = ROOT / "lr-find" / f"{activation}-{depth}" / "lr-find.json"
        s = json.loads(found.read_text())["suggestion"]
        out.append(
            f"| {activation} | {depth} | {lr}: "
            f"{pct(c['test_accuracy_mean'], c['test_accuracy_sd'], c['runs'])} "
            f"| {s['lr']:.2g} | {nearest(activation, depth, s['lr'])} "
            f"| {s['min_lr_over_10']:.2g} | {nearest(activation, depth, s['min_lr_over_10'])} |")
    out += ["", "| activation | depth | " + " | ".join(labels) + " |",
            "|---|---|" + "---|" * len(labels)]
    for activation, depth in keys:
        parts = []
        for name in labels:
            lr = chosen.get((activation, depth, name))
            if lr is None:
                parts.append("-")
                continue
            c = cells[(activation, depth, name, lr)]
            step = c["convergence_step_mean"]
            step = f"{float(step):.0f}" if step else "-"
            runs = int(c["runs"]) - int(c["diverged"]) - int(c["failed"])
            parts.append(f"lr {lr}: {pct(c['test_accuracy_mean'], c['test_accuracy_sd'], runs)}, "
                         f"step {step} ({c['converged']}/{c['runs']})")
        out.append(f"| {activation} | {depth} | " + " | ".join(parts) + " |")
    text = "\n".join(out) + "\n"
    (ROOT / "lr-policies" / "comparison.md").write_text(text)
    print(text, end="")


if __name__ == "__main__":
    main()
