#!/usr/bin/env python3
"""Combines the --json trajectories of several bench_search_supernet invocations (e.g. a long reference run, the
native and random runs, and OpenTuner runs in a second process): the reference is the best feasible mIoU that any
run found; for each run, the evaluation at which it first reached that value and that value minus a tolerance.

Usage: combine_search_runs.py [--tolerance 0.005] [--budget N] [--reference LONG.json] FILE.json...
--reference: runs that only define the best value (a long run), not counted in the medians."""
import json
import statistics
import sys

args = sys.argv[1:]
tolerance, budget, reference = 0.005, None, []
while args and args[0].startswith("--"):
    if args[0] == "--tolerance":
        tolerance = float(args[1])
    elif args[0] == "--budget":
        budget = int(args[1])
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


print(f"best feasible mIoU over all runs: {best:.4f}; tolerance {tolerance}")
for r in reference:
    t = r["best_so_far"]
    print(f"reference run {r['backend']} seed {r['seed']}: {len(t)} evaluations, best {t[-1]:.4f}, "
          f"within tolerance at {first_reach(t, best - tolerance)}")
print("| backend | seed | evaluations | best found | reaches best at | within tolerance at |")
print("|---|---|---|---|---|---|")
per = {}
for r in runs:
    t = r["best_so_far"]
    a, b = first_reach(t, best), first_reach(t, best - tolerance)
    cap = budget or len(t)
    per.setdefault(r["backend"], []).append((len(t), a if a else cap + 1, b if b else cap + 1, t[-1]))
    print(f"| {r['backend']} | {r['seed']} | {len(t)} | {t[-1]:.4f} | {a or 'never'} | {b or 'never'} |")
print()
print("| backend | runs | median evaluations to the best | median evaluations to within tolerance |")
print("|---|---|---|---|")
med = {}
for k, v in per.items():
    med[k] = (statistics.median(x[1] for x in v), statistics.median(x[2] for x in v))
    print(f"| {k} | {len(v)} | {med[k][0]:g} | {med[k][1]:g} |")
print("\n(never = the run's budget + 1, so a median over runs that never reached it is a lower bound)")
for other in sorted(med):
    if "native" in med and other != "native":
        print(f"ratio native / {other} (within tolerance): {med['native'][1] / med[other][1]:.2f}; "
              f"(to the best): {med['native'][0] / med[other][0]:.2f}")
