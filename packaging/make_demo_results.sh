#!/usr/bin/env bash
# Makes resources/models/demo_results.csv, the evaluated subnets the studio shows in its Pareto plot on first launch
# with the demo supernet: a search (built-in tuner) over the demo's search space on 16 val images of each of the
# five labelled sets (box prompts, single-mask mIoU, 16 objects per image): four runs of SEARCH_BUDGET subnets
# (default 20), without a budget and under 2.6 M, 2.2 M and 1.9 M parameters.
# Stage 5 of packaging/make_demo_supernet.sh; runs alone in a few minutes.
# Environment: SUPERSAM_BIN (default build/release/app/supersam), SUPERSAM_DATA_DIR (default ../shared/data),
# OUT_DIR (default build/demo-supernet), THREADS (default 1), SEARCH_BUDGET (default 20).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${SUPERSAM_BIN:-build/release/app/supersam}
DATA=${SUPERSAM_DATA_DIR:-../shared/data}
OUT=${OUT_DIR:-build/demo-supernet}
THREADS=${THREADS:-1}
mkdir -p "$OUT"
VAL="dsb2018:$DATA/dsb2018-nuclei:val,limit=16+pennfudan:$DATA/pennfudan:val,limit=16"
VAL+="+isbi2012:$DATA/isbi2012-em:val,limit=16+masks:$DATA/ecssd:val,components=0,limit=16,name=ecssd:val"
VAL+="+masks:$DATA/coco-mval:val,components=0,limit=16,name=coco-mval:val"
rm -f "$OUT/demo_results.sqlite" "$OUT/demo_results.sqlite-wal" "$OUT/demo_results.sqlite-shm"
# No budget first (the best subnets near full size), then shrinking parameter budgets so the front reaches the
# smallest subnets; the runs share the database (same protocol), the CSV holds every evaluated subnet.
for max in "" 2.6e6 2.2e6 1.9e6; do
  budget=(); [ -n "$max" ] && budget=(--max-params "$max")
  "$BIN" search --supernet resources/models/demo_supernet.safetensors --dataset "$VAL" --prompt box \
    --metric single --objects 16 --budget "${SEARCH_BUDGET:-20}" --db "$OUT/demo_results.sqlite" "${budget[@]}" \
    --csv resources/models/demo_results.csv --threads "$THREADS" --seed 0
done
echo "done: resources/models/demo_results.csv"
