#!/usr/bin/env bash
# The SuperSAM paper's two comparisons, repeated on our data with the trained demo supernet:
#   1. Neuron reordering (none / magnitude / Wanda, and random as a control): the trained supernet's MLPs are
#      re-ordered by each method (`supersam calibrate --reorder M`), then subnets that keep every block at one width
#      ratio (0.25, 0.33, 0.5, 0.75, 1.0) are evaluated (box prompts, single-mask mIoU, validation splits).
#      "none" keeps the order the supernet was trained with.
#   2. 1D (width only) vs 2D (width + depth) search spaces: the built-in tuner searches each space under several
#      parameter budgets with the same evaluation protocol; the best mIoU per budget shows which space reaches
#      smaller subnets at equal mIoU.
# Writes $OUT/reorder.md and $OUT/spaces.md (markdown tables, pasted into resources/models/README.md).
# Environment: SUPERSAM_BIN (default build/release/app/supersam), SUPERSAM_DATA_DIR (default ../shared/data),
# SUPERNET (default resources/models/demo_supernet.safetensors), OUT (default build/paper-comparisons),
# EVAL_IMAGES (default 20 per dataset), SEARCH_IMAGES (default 8), SEARCH_BUDGET (default 60), THREADS (default 1).
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${SUPERSAM_BIN:-build/release/app/supersam}
DATA=${SUPERSAM_DATA_DIR:-../shared/data}
SUPERNET=${SUPERNET:-resources/models/demo_supernet.safetensors}
OUT=${OUT:-build/paper-comparisons}
EVAL_IMAGES=${EVAL_IMAGES:-20}
SEARCH_IMAGES=${SEARCH_IMAGES:-8}
SEARCH_BUDGET=${SEARCH_BUDGET:-60}
THREADS=${THREADS:-1}
[ -x "$BIN" ] || { echo "paper_comparisons: $BIN is missing (build first)" >&2; exit 1; }
[ -d "$DATA" ] || { echo "paper_comparisons: datasets missing at $DATA (SUPERSAM_DATA_DIR)" >&2; exit 1; }
mkdir -p "$OUT"
# The five labelled domains (ECSSD and COCO-MVal read as one object per image).
VAL="dsb2018:$DATA/dsb2018-nuclei:val+pennfudan:$DATA/pennfudan:val+isbi2012:$DATA/isbi2012-em:val"
VAL+="+masks:$DATA/ecssd:val,components=0,name=ecssd:val+masks:$DATA/coco-mval:val,components=0,name=coco-mval:val"
TRAIN="dsb2018:$DATA/dsb2018-nuclei:train,limit=200+pennfudan:$DATA/pennfudan:train+isbi2012:$DATA/isbi2012-em:train"
TRAIN+="+masks:$DATA/ecssd:train,components=0,name=ecssd:train+masks:$DATA/coco-mval:train,components=0,name=coco-mval:train"

# Block widths of the space (the same for every block of the demo supernet).
WIDTHS=$("$BIN" info --supernet "$SUPERNET" | python3 -c '
import re, sys
text = sys.stdin.read()
m = re.search(r"widths \{([0-9, ]+)\}", text)
print(" ".join(m.group(1).replace(",", " ").split()))')
DEPTH=$(python3 -c 'import json,struct,sys
f=open(sys.argv[1],"rb"); n=struct.unpack("<Q",f.read(8))[0]
print(json.loads(json.loads(f.read(n))["__metadata__"]["arch"])["encoder_depth"])' "$SUPERNET")
echo "widths: $WIDTHS; depth $DEPTH"

# 1. Reordering.
for method in none magnitude wanda random; do
  sn="$OUT/reorder_$method.safetensors"
  [ -f "$sn" ] || "$BIN" calibrate --checkpoint "$SUPERNET" --dataset "$TRAIN" --max-images 2 --max-objects 4 \
    --reorder "$method" --seed 1 --threads "$THREADS" --out "$sn"
  for w in $WIDTHS; do
    subnet=$(python3 -c "print(','.join(['$w'] * $DEPTH))")
    f="$OUT/reorder_${method}_$w.json"
    [ -f "$f" ] || "$BIN" eval --supernet "$sn" --subnet "$subnet" --dataset "$VAL" --prompt box \
      --max-images "$EVAL_IMAGES" --max-objects 16 --threads "$THREADS" --quiet --out "$f"
  done
done
python3 - "$OUT" "$SUPERNET" "$WIDTHS" <<'PY' > "$OUT/reorder.md"
import json, sys
out, supernet, widths = sys.argv[1], sys.argv[2], sys.argv[3].split()
methods = ["none", "magnitude", "wanda", "random"]
print("| MLP width (every block) | " + " | ".join(methods) + " |")
print("|---|" + "---|" * len(methods))
for w in widths:
    cells = []
    for m in methods:
        r = json.load(open(f"{out}/reorder_{m}_{w}.json"))
        cells.append(f"{r['overall']['single']:.3f}")
    print(f"| {w} | " + " | ".join(cells) + " |")
base = json.load(open(f"{out}/reorder_none_{widths[-1]}.json"))["overall_box_fill_miou"]
print(f"| baseline: the mask fills the box | " + " | ".join([f"{base:.3f}"] * len(methods)) + " |")
PY
cat "$OUT/reorder.md"

# 2. 1D vs 2D search spaces (shared results database: subnets both spaces contain are evaluated once).
LARGEST=$("$BIN" info --supernet "$SUPERNET" | python3 -c '
import re, sys
t = sys.stdin.read()
print(re.search(r"largest subnet:.*?\nparameters +([0-9]+)", t, re.S).group(1))')
for frac in 0.55 0.7 0.85; do
  budget=$(python3 -c "print(int($LARGEST * $frac))")
  for space in 1d 2d; do
    f="$OUT/search_${space}_$frac.json"
    [ -f "$f" ] || "$BIN" search --supernet "$SUPERNET" --dataset "$VAL" --db "$OUT/spaces.sqlite" --prompt box \
      --metric single --images "$SEARCH_IMAGES" --objects 8 --max-params "$budget" --budget "$SEARCH_BUDGET" \
      --space "$space" --seed 1 --threads "$THREADS" --out "$f" > "$OUT/search_${space}_$frac.log" 2>&1 ||
      echo "  $space at $frac: no result (see $OUT/search_${space}_$frac.log)"
  done
done
python3 - "$OUT" <<'PY' > "$OUT/spaces.md"
import json, sys
out = sys.argv[1]
print("| parameter budget (of largest) | 1D best mIoU | 1D params | 1D subnet | 2D best mIoU | 2D params | 2D subnet |")
print("|---|---|---|---|---|---|---|")
for frac in ["0.55", "0.7", "0.85"]:
    row = [f"{float(frac):.0%}"]
    for space in ["1d", "2d"]:
        try:
            r = json.load(open(f"{out}/search_{space}_{frac}.json"))
            mark = "" if r["feasible"] else " (over budget: no feasible subnet found)"
            row += [f"{r['quality']:.3f}{mark}", f"{r['params'] / 1e6:.2f} M", f"`{r['subnet']}`"]
        except FileNotFoundError:
            why = open(f"{out}/search_{space}_{frac}.log").read().strip().splitlines()[-1:]
            row += ["-", "-", "no subnet of this space fits: " + (why[0] if why else "?")]
    print("| " + " | ".join(row) + " |")
PY
cat "$OUT/spaces.md"
