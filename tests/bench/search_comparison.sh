#!/usr/bin/env bash
# Issue 5's measurement: evaluations each search backend needs to reach the best feasible mIoU found by a long run,
# on the shipped demo supernet, over several seeds; plus ablations: the built-in tuner without its seed subnets,
# random search with them, and OpenTuner's default search alone (native-port: no budget-edge exchanges). All runs share one results database, so a subnet is
# evaluated once and reused by every later run (a reused result still counts as an evaluation of the run that asked).
#
# Environment: BUILD (default build/release), SUPERSAM_DATA_DIR (default ../shared/data), OUT (default
# build/search-comparison), SEEDS (default 1,2,3,4,5,6,7,8), BUDGET (default 200: native and random),
# ABLATION_BUDGET (default 80: the others), REFERENCE_BUDGET (default 300), FRACTION (default 0.65),
# OPENTUNER_PYTHONPATH (an OpenTuner checkout; the opentuner runs are skipped, and said so, without it), THREADS
# (default 1), ONLY (comma-separated run names to do now, e.g. to split the runs over two processes; the summary is
# printed when every run's trajectories exist).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build/release}
DATA=${SUPERSAM_DATA_DIR:-../shared/data}
OUT=${OUT:-build/search-comparison}
SEEDS=${SEEDS:-1,2,3,4,5,6,7,8}
BUDGET=${BUDGET:-200}
ABLATION_BUDGET=${ABLATION_BUDGET:-80}
ONLY=${ONLY:-}
REFERENCE_BUDGET=${REFERENCE_BUDGET:-300}
FRACTION=${FRACTION:-0.65}
THREADS=${THREADS:-1}
[ -d "$DATA" ] || { echo "search_comparison: datasets missing at $DATA (SUPERSAM_DATA_DIR)" >&2; exit 1; }
mkdir -p "$OUT"
VAL="dsb2018:$DATA/dsb2018-nuclei:val+pennfudan:$DATA/pennfudan:val+isbi2012:$DATA/isbi2012-em:val"
bench() {
  "$BUILD/tests/bench_search_supernet" --supernet resources/models/demo_supernet.safetensors --dataset "$VAL" \
    --db "$OUT/results.sqlite" --images 8 --objects 8 --prompt box --metric single --threads "$THREADS" \
    --max-params-fraction "$FRACTION" "$@"
}
run() {  # name, then bench arguments; skipped when its trajectories exist or ONLY leaves it out
  local name=$1
  shift
  if [ -n "$ONLY" ] && [[ ",$ONLY," != *",$name,"* ]]; then return 0; fi
  [ -f "$OUT/$name.json" ] || bench --json "$OUT/$name.json" "$@" | tee "$OUT/$name.log"
}
run reference --backends native --seeds 0 --budget "$REFERENCE_BUDGET"
run native --backends native --seeds "$SEEDS" --budget "$BUDGET"
run random --backends random --seeds "$SEEDS" --budget "$BUDGET"
run native-noseeds --backends native --seed-subnets off --label native-noseeds --seeds "$SEEDS" \
  --budget "$ABLATION_BUDGET"
run random-seeds --backends random --seed-subnets on --label random+seeds --seeds "$SEEDS" --budget "$ABLATION_BUDGET"
run native-port --backends native-port --seeds "$SEEDS" --budget "$ABLATION_BUDGET"
names=(native random native-noseeds random-seeds native-port)
if [ -n "${OPENTUNER_PYTHONPATH:-}" ]; then
  PYTHONPATH="$OPENTUNER_PYTHONPATH" run opentuner --backends opentuner --seeds "$SEEDS" --budget "$ABLATION_BUDGET"
  names+=(opentuner)
else
  echo "search_comparison: OPENTUNER_PYTHONPATH not set: no runs of the real OpenTuner" >&2
fi
files=()
for n in "${names[@]}"; do
  [ -f "$OUT/$n.json" ] || { echo "search_comparison: $n not run yet: no summary" >&2; exit 0; }
  files+=("$OUT/$n.json")
done
# The issue's target (the long run's best), and the best any run found.
python3 tests/bench/combine_search_runs.py --target reference --reference "$OUT/reference.json" "${files[@]}" \
  | tee "$OUT/summary-reference.md"
python3 tests/bench/combine_search_runs.py --target all --reference "$OUT/reference.json" "${files[@]}" \
  > "$OUT/summary-all.md"
