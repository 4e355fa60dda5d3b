#!/usr/bin/env bash
# Reproduces resources/models/demo_supernet.safetensors, the product's embedded default supernet:
#   1. random initialisation of the demo arch (resources/models/demo_arch.json: SAM layout, 12 blocks, global
#      attention at 2/5/8/11, width 128, 4 heads, 256 px input, 128-d prompt/decoder);
#   2. calibration: Wanda reordering + measured block sensitivity (embedding change) on 18 training images;
#   3. training on the train splits of DSB2018 (first 200 images, so that no domain dominates), Penn-Fudan and
#      ISBI 2012 (validation on the val splits), focal:dice = 1:1 (from random init SAM's 20:1 collapsed to
#      all-background masks within this CPU budget: see resources/models/README.md): (a) a decoder + prompt encoder
#      warm-up on the frozen calibrated encoder, then (b) the sandwich rule on everything;
#   3c. the five-domain continuation: all five train splits (ECSSD and COCO-MVal added), augmentation (--augment on)
#      and in-place distillation, NAT_STEPS steps (default 3000; the shipped model ran 2,775);
#   4. fp16 output + mIoU table (largest / middle / smallest subnet, box and point prompts, per dataset, with the
#      box-fill baseline);
#   5. a subnet search whose evaluated subnets (resources/models/demo_results.csv) fill the studio's first Pareto plot.
# Environment: SUPERSAM_BIN (default build/release/app/supersam), SUPERSAM_DATA_DIR (default ../shared/data),
# OUT_DIR (default build/demo-supernet), STEPS (default 2500), WARMUP_STEPS (default 600), NAT_STEPS (default 3000),
# THREADS (default 1: on a busy 2-core machine two
# LibTorch threads spin at barriers and run far slower). Re-running resumes the training from its checkpoint.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${SUPERSAM_BIN:-build/release/app/supersam}
DATA=${SUPERSAM_DATA_DIR:-../shared/data}
OUT=${OUT_DIR:-build/demo-supernet}
STEPS=${STEPS:-2500}
WARMUP_STEPS=${WARMUP_STEPS:-600}
THREADS=${THREADS:-1}
EVAL_IMAGES=${EVAL_IMAGES:-20}
mkdir -p "$OUT"
TRAIN="dsb2018:$DATA/dsb2018-nuclei:train,limit=200+pennfudan:$DATA/pennfudan:train+isbi2012:$DATA/isbi2012-em:train"
VAL="dsb2018:$DATA/dsb2018-nuclei:val+pennfudan:$DATA/pennfudan:val+isbi2012:$DATA/isbi2012-em:val"

# Stages 1-3b make the three-domain supernet (the demo model of 2026-11-25); they are skipped when
# $OUT/trained.safetensors exists (e.g. that model copied there), so 3c can be re-run alone.
if [ ! -f "$OUT/trained.safetensors" ]; then
# 1. random initialisation
[ -f "$OUT/init.safetensors" ] || "$BIN" train --arch resources/models/demo_arch.json --steps 0 --seed 0 \
  --out "$OUT/init.safetensors"

# 2. calibration on training images only (6 of each train split)
if [ ! -f "$OUT/calibrated.safetensors" ]; then
  rm -rf "$OUT/calib-images" && mkdir -p "$OUT/calib-images"
  python3 - "$DATA" "$OUT/calib-images" <<'PY'
import json, os, sys
data, dst = sys.argv[1], sys.argv[2]
coco = json.load(open(f"{data}/dsb2018-nuclei/annotations/instances_train.json"))
picks = [f"{data}/dsb2018-nuclei/images/{im['file_name']}" for im in sorted(coco["images"], key=lambda i: i["id"])[:6]]
picks += [f"{data}/pennfudan/PNGImages/{s.strip()}.png" for s in open(f"{data}/pennfudan/train.txt").read().split()[:6]]
picks += [f"{data}/isbi2012-em/image/{s.strip()}.png" for s in open(f"{data}/isbi2012-em/train.txt").read().split()[:6]]
for i, p in enumerate(picks):
    os.symlink(os.path.abspath(p), f"{dst}/{i:02d}_{os.path.basename(p)}")
PY
  "$BIN" calibrate --checkpoint "$OUT/init.safetensors" --images "$OUT/calib-images" --reorder wanda \
    --max-images 18 --threads "$THREADS" --out "$OUT/calibrated.safetensors"
fi

# 3a. decoder warm-up: the mask decoder and prompt encoder learn to place masks on the frozen calibrated encoder
#     (cheap steps: no encoder backward). From random init the full sandwich first collapses to empty masks.
if [ ! -f "$OUT/warmup.safetensors" ]; then
  RESUME=()
  [ -f "$OUT/warmup.safetensors.ckpt" ] && RESUME=(--resume)
  "$BIN" train --supernet "$OUT/calibrated.safetensors" --dataset "$TRAIN" --val-dataset "$VAL" \
    --out "$OUT/warmup.safetensors" --steps "$WARMUP_STEPS" --batch 4 --lr 1e-3 --warmup 10 --random-subnets 0 \
    --objects 8 --point-fraction 0.5 --focal-weight 1 --dice-weight 1 --train decoder,prompt \
    --checkpoint-every 50 --validate-every "$WARMUP_STEPS" --val-images 4 \
    --log "$OUT/warmup.jsonl" --threads "$THREADS" --seed 0 "${RESUME[@]}"
fi

# 3b. sandwich-rule training of encoder, decoder and prompt encoder (resumes exactly when a checkpoint exists)
RESUME=()
[ -f "$OUT/trained.safetensors.ckpt" ] && RESUME=(--resume)
"$BIN" train --supernet "$OUT/warmup.safetensors" --dataset "$TRAIN" --val-dataset "$VAL" \
  --out "$OUT/trained.safetensors" --steps "$STEPS" --batch 4 --lr 5e-4 --warmup 20 --random-subnets 1 \
  --objects 8 --point-fraction 0.5 --focal-weight 1 --dice-weight 1 --train encoder,decoder,prompt \
  --checkpoint-every 25 --validate-every 250 --val-images 4 \
  --log "$OUT/train.jsonl" --threads "$THREADS" --seed 0 --fp16 "${RESUME[@]}"
fi

# 3c. five domains: the 3b model continues on all five train splits (the natural photos of ECSSD and COCO-MVal
#     added; ISBI's 25 images listed 4 times and Penn-Fudan's twice so that no domain is drowned), with
#     augmentation (scale 0.6-1.4 with crops, flips, colour, copy-paste of objects of other training images) and
#     in-place distillation of the smaller members from the largest member's logits.
NAT_STEPS=${NAT_STEPS:-3000}
ISBI="isbi2012:$DATA/isbi2012-em:train"
PF="pennfudan:$DATA/pennfudan:train"
TRAIN5="dsb2018:$DATA/dsb2018-nuclei:train,limit=200+$PF+$PF+$ISBI+$ISBI+$ISBI+$ISBI"
TRAIN5+="+masks:$DATA/ecssd:train,components=0,name=ecssd:train+masks:$DATA/coco-mval:train,components=0,name=coco-mval:train"
VAL5="$VAL+masks:$DATA/ecssd:val,components=0,name=ecssd:val+masks:$DATA/coco-mval:val,components=0,name=coco-mval:val"
RESUME=()
[ -f "$OUT/natural.safetensors.ckpt" ] && RESUME=(--resume)
[ -f "$OUT/natural.safetensors" ] || "$BIN" train --supernet "$OUT/trained.safetensors" --dataset "$TRAIN5" \
  --val-dataset "$VAL5" --out "$OUT/natural.safetensors" --steps "$NAT_STEPS" --batch 4 --lr 3e-4 --warmup 50 \
  --random-subnets 1 --distill --objects 8 --point-fraction 0.5 --focal-weight 1 --dice-weight 1 \
  --augment on --train encoder,decoder,prompt --checkpoint-every 25 --validate-every 400 --val-images 4 \
  --log "$OUT/natural.jsonl" --threads "$THREADS" --seed 1 --fp16 "${RESUME[@]}"
cp "$OUT/natural.safetensors" resources/models/demo_supernet.safetensors
# Evaluation protocol of the product's model table: DSB2018's first EVAL_IMAGES val images (its 133 images hold 6,049
# nuclei), every val image of the other four splits.
VAL="dsb2018:$DATA/dsb2018-nuclei:val,limit=$EVAL_IMAGES+pennfudan:$DATA/pennfudan:val+isbi2012:$DATA/isbi2012-em:val"
VAL+="+masks:$DATA/ecssd:val,components=0,name=ecssd:val+masks:$DATA/coco-mval:val,components=0,name=coco-mval:val"

# 4. evaluation: largest / middle / smallest, box and point prompts, per val dataset
MIDDLE=$(python3 - resources/models/demo_supernet.safetensors <<'PY'
import json, struct, sys
f = open(sys.argv[1], "rb"); n = struct.unpack("<Q", f.read(8))[0]
meta = json.loads(f.read(n))["__metadata__"]
space = json.loads(meta["supernet"])["search_space"]
print(",".join(str(b["widths"][(len(b["widths"]) - 1) // 2]) for b in space["blocks"]))
PY
)
for sub in largest middle smallest; do
  s=$sub; [ "$sub" = middle ] && s=$MIDDLE
  for prompt in box point; do
    "$BIN" eval --supernet resources/models/demo_supernet.safetensors --subnet "$s" --dataset "$VAL" \
      --prompt "$prompt" --max-objects 16 --threads "$THREADS" --quiet \
      --out "$OUT/eval_${sub}_${prompt}.json"
  done
done
python3 packaging/demo_supernet_table.py "$OUT"  # the tables of resources/models/README.md

# 5. the studio's first Pareto plot (resources/models/demo_results.csv)
SUPERSAM_BIN="$BIN" SUPERSAM_DATA_DIR="$DATA" OUT_DIR="$OUT" THREADS="$THREADS" packaging/make_demo_results.sh
echo "done: resources/models/demo_supernet.safetensors; log $OUT/train.jsonl; eval $OUT/eval_*.json"
