#!/usr/bin/env python3
"""Combines the --json trajectories of several bench_search_supernet invocations (a long reference run, the native
and random runs, ablations, OpenTuner runs): the target is the best feasible mIoU that any run found; for each run
and each tolerance, the evaluation at which it first came within that tolerance of the target (0 = the target
itself); medians per backend, and the ratio of the built-in tuner's median to every other backend's. A run that
never got there counts as its length + 1, so a median over such runs is a lower bound (marked ">=").
Also the median best-so-far of each backend after a few evaluation counts.

Usage: combine_search_runs.py [--tolerances 0,0.001,0.002,0.005] [--reference LONG.json] [--target all|reference]
                              FILE.json...
--reference: runs that only help define the target (a long run), not counted in the medians.
--target: the best of all runs (default) or of the reference runs only (the issue's "best found by a long run").
Ratios are printed only where the other backend's runs are at least as long as the built-in tuner's median needs."""
import json
import statistics
import sys

args = sys.argv[1:]
tolerances, reference, target_from = [0.0, 0.001, 0.002, 0.005], [], "all"
while args and args[0].startswith("--"):
    if args[0] == "--tolerances":
        tolerances = [float(t) for t in args[1].split(",")]
    elif args[0] == "--reference":
        reference = json.load(open(args[1]))
    elif args[0] == "--target":
        target_from = args[1]
        if target_from not in ("all", "reference"):
            sys.exit("--target must be all or reference")
    else:
        sys.exit(f"unknown option {args[0]}")
    args = args[2:]
runs = [r for path in args for r in json.load(open(path))]
if not runs:
    sys.exit("no runs")
pool = reference if target_from == "reference" else runs + reference
if not pool:
    sys.exit("--target reference needs --reference")
best = max(r["best_so_far"][-1] for r in pool if r["best_so_far"])
if best < 0:
    sys.exit("no run found a feasible subnet")


def first_reach(traj, target):
    for i, v in enumerate(traj):
        if v >= target - 1e-12:
            return i + 1
    return None


def lengths_of(backend):
    ls = sorted({len(r["best_so_far"]) for r in runs if r["backend"] == backend})
    return "-".join(str(x) for x in (ls[0], ls[-1])) if len(ls) > 1 else str(ls[0])


def show(x):
    return f"{x:g}"


print(f"target: the best feasible mIoU of {'the reference run' if target_from == 'reference' else 'all runs'}, "
      f"{best:.4f}")
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
        pairs = sorted(reach[tol])
        m = statistics.median(v for v, _ in pairs)
        # The median is a measured value only if the runs it is taken from (the middle one or two) got there.
        n = len(pairs)
        middle = pairs[(n - 1) // 2:n // 2 + 1]
        medians[b][tol] = (m, any(never for _, never in middle))

print("\n| backend | runs | " + " | ".join(f"median evaluations, within {tol:g}" if tol else
                                           "median evaluations to the target" for tol in tolerances) + " |")
print("|---|---|" + "---|" * len(tolerances))
for b in backends:
    n = sum(1 for r in runs if r["backend"] == b)
    print(f"| {b} | {n} | " + " | ".join((">=" if c else "") + show(m) for m, c in
                                         (medians[b][tol] for tol in tolerances)) + " |")
print("\n(never = the run's length + 1; >= marks a median that includes runs that never got there: a lower bound)")
print("\n| backend | evaluations per run | " + " | ".join(
    f"runs within {tol:g}" if tol else "runs that reached the target" for tol in tolerances) + " |")
print("|---|---|" + "---|" * len(tolerances))
for b in backends:
    mine = [r["best_so_far"] for r in runs if r["backend"] == b]
    cells = [f"{sum(1 for t in mine if t[-1] >= best - tol - 1e-12)} of {len(mine)}" for tol in tolerances]
    print(f"| {b} | {lengths_of(b)} | " + " | ".join(cells) + " |")

lengths = {b: min(len(r["best_so_far"]) for r in runs if r["backend"] == b) for b in backends}
if "native" in medians:
    for other in backends:
        if other == "native":
            continue
        parts = []
        for tol in tolerances:
            (mn, cn), (mo, co) = medians["native"][tol], medians[other][tol]
            name = "target" if tol == 0 else f"within {tol:g}"
            if cn or (co and lengths[other] < mn):
                parts.append(f"{name}: n/a")  # a censored native median, or other runs too short to compare
            else:
                parts.append(f"{name}: {'<=' if co else ''}{mn / mo:.2f}")
        print(f"ratio native / {other}: " + "; ".join(parts))

# Random search is memoryless: with none of its n evaluations at or above a level, its hit rate there is below
# about 1/n, and the median evaluations to get there above about 0.69 n.
for b in backends:
    if not b.startswith("random"):
        continue
    mine = [r["best_so_far"] for r in runs if r["backend"] == b]
    n = sum(len(t) for t in mine)
    for tol in tolerances:
        hits = sum(1 for t in mine if t[-1] >= best - tol - 1e-12)
        if hits == 0:
            print(f"{b}: none of its {n} evaluations came within {tol:g} of the target: median evaluations to get "
                  f"there > ~{0.69 * n:.0f}")

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
