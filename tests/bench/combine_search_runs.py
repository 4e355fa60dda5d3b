#!/usr/bin/env python3
"""Combines the --json trajectories of several bench_search_supernet invocations (a long reference run, the native
and random runs, ablations, OpenTuner runs): the target is the best feasible mIoU that any run found; for each run
and each tolerance, the evaluation at which it first came within that tolerance of the target (0 = the target
itself); medians per backend, and the ratio of the built-in tuner's median to every other backend's. A run that
never got there counts as its length + 1, so a median over such runs is a lower bound (marked ">=").
Also the median best-so-far of each backend after a few evaluation counts.

Usage: combine_search_runs.py [--tolerances 0,0.001,0.002,0.005] [--reference LONG.json] FILE.json...
--reference: runs that only help define the target (a long run), not counted in the medians."""
import json
import statistics
import sys

args = sys.argv[1:]
tolerances, reference = [0.0, 0.001, 0.002, 0.005], []
while args and args[0].startswith("--"):
    if args[0] == "--tolerances":
        tolerances = [float(t) for t in args[1].split(",")]
    elif args[0] == "--reference":
        reference = json.load(open(args[1]))
    else:
        sys.exit(f"unknown option {args[0]}")
    args = args[2:]
runs = [r for path in args for r in json.load(open(path))]
if not runs:
    sys.exit("no runs")
best = max(r["best_so_far"][-1] for r in runs + reference if r["best_so_far"])
if best < 0:
    sys.exit("no run found a feasible subnet")


def first_reach(traj, target):
    for i, v in enumerate(traj):
        if v >= target - 1e-12:
            return i + 1
    return None


def show(x):
    return f"{x:g}"


print(f"target: the best feasible mIoU of all runs, {best:.4f}")
for r in reference:
    t = r["best_so_far"]
    print(f"reference run {r['backend']} seed {r['seed']}: {len(t)} evaluations, best {t[-1]:.4f}, reaches the target "
          f"at {first_reach(t, best) or 'never'}")
backends = []
for r in runs:
    if r["backend"] not in backends:
        backends.append(r["backend"])

print("\n| backend | seed | evaluations | best found | " +
      " | ".join(f"within {tol:g}" if tol else "reaches the target" for tol in tolerances) + " |")
print("|---|---|---|---|" + "---|" * len(tolerances))
medians = {}
for b in backends:
    mine = [r for r in runs if r["backend"] == b]
    reach = {tol: [] for tol in tolerances}
    for r in mine:
        t = r["best_so_far"]
        cells = []
        for tol in tolerances:
            k = first_reach(t, best - tol)
            reach[tol].append((k if k else len(t) + 1, k is None))
            cells.append(str(k) if k else "never")
        print(f"| {b} | {r['seed']} | {len(t)} | {t[-1]:.4f} | " + " | ".join(cells) + " |")
    medians[b] = {}
    for tol in tolerances:
        values = sorted(v for v, _ in reach[tol])
        m = statistics.median(values)
        # The median is exact only if the runs at or below it all got there.
        censored = sum(1 for v, never in reach[tol] if never and v <= m) > 0
        medians[b][tol] = (m, censored)

print("\n| backend | runs | " + " | ".join(f"median evaluations, within {tol:g}" if tol else
                                           "median evaluations to the target" for tol in tolerances) + " |")
print("|---|---|" + "---|" * len(tolerances))
for b in backends:
    n = sum(1 for r in runs if r["backend"] == b)
    print(f"| {b} | {n} | " + " | ".join((">=" if c else "") + show(m) for m, c in
                                         (medians[b][tol] for tol in tolerances)) + " |")
print("\n(never = the run's length + 1; >= marks a median that includes runs that never got there: a lower bound)")

if "native" in medians:
    for other in backends:
        if other == "native":
            continue
        parts = []
        for tol in tolerances:
            (mn, cn), (mo, co) = medians["native"][tol], medians[other][tol]
            bound = "<=" if co and not cn else ("~" if co or cn else "")
            parts.append(f"{'target' if tol == 0 else f'within {tol:g}'}: {bound}{mn / mo:.2f}")
        print(f"ratio native / {other}: " + "; ".join(parts))

checkpoints = [5, 10, 20, 40, 80, 160, 250]
print("\n| backend | " + " | ".join(f"median best after {k}" for k in checkpoints) + " |")
print("|---|" + "---|" * len(checkpoints))
for b in backends:
    mine = [r["best_so_far"] for r in runs if r["backend"] == b]
    cells = []
    for k in checkpoints:
        vals = [t[k - 1] for t in mine if len(t) >= k]
        cells.append(f"{statistics.median(vals):.4f}" if len(vals) == len(mine) else "-")
    print(f"| {b} | " + " | ".join(cells) + " |")
