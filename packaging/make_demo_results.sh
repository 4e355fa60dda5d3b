#!/usr/bin/env bash
# Makes resources/models/demo_results.csv, the evaluated subnets the studio shows in its Pareto plot on first launch
# with the demo supernet: a search (built-in tuner) over the demo's search space on 8 val images of each of the
# five labelled sets (box prompts, single-mask mIoU, 8 objects per image), SEARCH_BUDGET subnets (default 40).
# Stage 5 of packaging/make_demo_supernet.sh; runs alone in a few minutes.
# Environment: SUPERSAM_BIN (default build/release/app/supersam), SUPERSAM_DATA_DIR (default ../shared/data),
# OUT_DIR (default build/demo-supernet), THREADS (default 1), SEARCH_BUDGET (default 40).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${SUPERSAM_BIN:-build/release/app/supersam}
DATA=${SUPERSAM_DATA_DIR:-../shared/data}
OUT=${OUT_DIR:-build/demo-supernet}
THREADS=${THREADS:-1}
mkdir -p "$OUT"
VAL="dsb2018:$DATA/dsb2018-nuclei:val,limit=8+pennfudan:$DATA/pennfudan:val,limit=8"
VAL+="+isbi2012:$DATA/isbi2012-em:val,limit=8+masks:$DATA/ecssd:val,components=0,limit=8,name=ecssd:val"
VAL+="+masks:$DATA/coco-mval:val,components=0,limit=8,name=coco-mval:val"
rm -f "$OUT/demo_results.sqlite" "$OUT/demo_results.sqlite-wal" "$OUT/demo_results.sqlite-shm"
"$BIN" search --supernet resources/models/demo_supernet.safetensors --dataset "$VAL" --prompt box --metric single \
  --objects 8 --budget "${SEARCH_BUDGET:-40}" --db "$OUT/demo_results.sqlite" --csv resources/models/demo_results.csv \
  --out "$OUT/demo_results_best.json" --threads "$THREADS" --seed 0
echo "done: resources/models/demo_results.csv"
