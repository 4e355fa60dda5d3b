#!/usr/bin/env python3
"""Markdown tables for resources/models/README.md from make_demo_supernet.sh's outputs:
the mIoU table (eval_{largest,middle,smallest}_{box,point}.json) and a training-log summary (train.jsonl)."""
import json
import sys

out = sys.argv[1] if len(sys.argv) > 1 else "build/demo-supernet"
subs = ["largest", "middle", "smallest"]
res = {(s, p): json.load(open(f"{out}/eval_{s}_{p}.json")) for s in subs for p in ["box", "point"]}
names = [d["name"] for d in res[("largest", "box")]["datasets"]]
print("| subnet | prompt | metric | " + " | ".join(names) + " | overall |")
print("|---|---|---|" + "---|" * (len(names) + 1))
for s in subs:
    for p, metric in [("box", "single"), ("point", "oracle"), ("point", "ranked")]:
        r = res[(s, p)]
        cells = [f"{d['miou'][metric]:.3f}" for d in r["datasets"]] + [f"{r['overall'][metric]:.3f}"]
        print(f"| {s} | {p} | {metric} | " + " | ".join(cells) + " |")
print()
print("objects evaluated per dataset: " + ", ".join(f"{d['name']} {d['objects']}" for d in res[("largest", "box")]["datasets"]))
print()
steps = [json.loads(l) for l in open(f"{out}/train.jsonl")]
vals = [j for j in steps if j["type"] == "val"]
steps = [j for j in steps if j["type"] == "step"]
print("| steps | mean loss (sum of members) | largest dice | largest train IoU | s/step |")
print("|---|---|---|---|---|")
chunk = max(1, len(steps) // 8)
for i in range(0, len(steps), chunk):
    c = steps[i:i + chunk]
    lg = [m for j in c for m in j["members"] if m["name"] == "largest"]
    print(f"| {c[0]['step']}-{c[-1]['step']} | {sum(j['loss'] for j in c) / len(c):.3f} | "
          f"{sum(m['dice'] for m in lg) / len(lg):.3f} | {sum(m['train_iou'] for m in lg) / len(lg):.3f} | "
          f"{sum(j['seconds'] for j in c) / len(c):.1f} |")
for v in vals:
    print(f"\nvalidation at step {v['step']}: " + "; ".join(
        f"{s['subnet']} {s['dataset']} box {s['box_miou']:.3f} point {s['point_miou']:.3f}" for s in v["scores"]))
