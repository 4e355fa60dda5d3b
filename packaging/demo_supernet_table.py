#!/usr/bin/env python3
"""Markdown tables for resources/models/README.md from make_demo_supernet.sh's outputs:
the mIoU table (eval_{largest,middle,smallest}_{box,point}.json) and a training-log summary (train.jsonl)."""
import json
import os
import re
import subprocess
import sys

out = sys.argv[1] if len(sys.argv) > 1 else "build/demo-supernet"
model = sys.argv[2] if len(sys.argv) > 2 else "resources/models/demo_supernet.safetensors"
binary = os.environ.get("SUPERSAM_BIN", "build/release/app/supersam")
subs = ["largest", "middle", "smallest"]
res = {(s, p): json.load(open(f"{out}/eval_{s}_{p}.json")) for s in subs for p in ["box", "point"]}


def params(subnet):
    text = subprocess.run([binary, "info", "--supernet", model, "--subnet", subnet], capture_output=True,
                          text=True, check=True).stdout
    block = text[text.index(f"subnet: {subnet}") if f"subnet: {subnet}" in text else 0:]
    return int(re.search(r"parameters +([0-9]+)", block).group(1))


names = [d["name"] for d in res[("largest", "box")]["datasets"]]
print("| subnet | parameters | prompt | metric | " + " | ".join(names) + " | overall |")
print("|---|---|---|---|" + "---|" * (len(names) + 1))
for s in subs:
    subnet = res[(s, "box")]["subnet"]
    n = params(subnet)
    for p, metric in [("box", "single"), ("point", "oracle"), ("point", "ranked")]:
        r = res[(s, p)]
        cells = [f"{d['miou'][metric]:.3f}" for d in r["datasets"]] + [f"{r['overall'][metric]:.3f}"]
        print(f"| {s} `{subnet}` | {n / 1e6:.2f} M | {p} | {metric} | " + " | ".join(cells) + " |")
box = res[("largest", "box")]
cells = [f"{d['box_fill_miou']:.3f}" for d in box["datasets"]] + [f"{box['overall_box_fill_miou']:.3f}"]
print("| baseline: the mask fills the box | - | box | - | " + " | ".join(cells) + " |")
print()
print("objects evaluated per dataset: " + ", ".join(f"{d['name']} {d['objects']}" for d in res[("largest", "box")]["datasets"]))
print()
print("evaluation throughput (1 thread, box prompts, encoder + decoder): " + ", ".join(
    f"{s} {res[(s, 'box')]['prompts_per_second']:.1f} prompts/s" for s in subs) + "; decoder alone: " + ", ".join(
    f"{s} {res[(s, 'box')]['decoder_prompts_per_second']:.0f} prompts/s" for s in subs))
print()


def summary(path, title):
    rows = [json.loads(l) for l in open(path)]
    vals = [j for j in rows if j["type"] == "val"]
    steps = [j for j in rows if j["type"] == "step"]
    print(f"{title}\n")
    print("| steps | mean loss (sum of members) | largest dice | largest train IoU | smallest train IoU | s/step |")
    print("|---|---|---|---|---|---|")
    chunk = max(1, len(steps) // 10)
    for i in range(0, len(steps), chunk):
        c = steps[i:i + chunk]
        lg = [m for j in c for m in j["members"] if m["name"] == "largest"]
        sm = [m for j in c for m in j["members"] if m["name"] == "smallest"]
        print(f"| {c[0]['step']}-{c[-1]['step']} | {sum(j['loss'] for j in c) / len(c):.3f} | "
              f"{sum(m['dice'] for m in lg) / len(lg):.3f} | {sum(m['train_iou'] for m in lg) / len(lg):.3f} | "
              f"{sum(m['train_iou'] for m in sm) / len(sm):.3f} | {sum(j['seconds'] for j in c) / len(c):.2f} |")
    if vals:
        print("\n| validation step | subnet | " + " | ".join(
            f"{d} box / point" for d in dict.fromkeys(s["dataset"] for s in vals[0]["scores"])) + " |")
        print("|---|---|" + "---|" * len(dict.fromkeys(s["dataset"] for s in vals[0]["scores"])))
        for v in vals:
            for name in dict.fromkeys(s["subnet"] for s in v["scores"]):
                cells = [f"{s['box_miou']:.3f} / {s['point_miou']:.3f}" for s in v["scores"] if s["subnet"] == name]
                print(f"| {v['step']} | {name} | " + " | ".join(cells) + " |")
    print()


if os.path.exists(f"{out}/warmup.jsonl"):
    summary(f"{out}/warmup.jsonl", "Decoder + prompt-encoder warm-up (frozen encoder; 2 members per step):")
if os.path.exists(f"{out}/train.jsonl"):
    summary(f"{out}/train.jsonl", "Sandwich-rule training (largest + smallest + 1 random subnet per step):")
if os.path.exists(f"{out}/natural.jsonl"):
    summary(f"{out}/natural.jsonl", "Five domains with augmentation and distillation (largest + smallest + 1 random):")
