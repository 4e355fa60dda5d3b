#!/usr/bin/env bash
# Builds the libFuzzer targets (the `fuzz` preset: clang + AddressSanitizer) and runs each for a fixed number of
# executions from a small seed corpus made here (plus the tiny fixture's data.pkl when the shared folder is there).
# Any crash, sanitizer report or exception other than util::Error fails the run.
# Usage: tests/fuzz/run.sh [RUNS per target, default 20000] [SECONDS cap per target, default 60]
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-20000}
secs=${2:-60}
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz
out=build/fuzz/corpus
rm -rf "$out" && mkdir -p "$out"/{pickle,safetensors,arch,subnet,coco}
python3 - "$out" "${SUPERSAM_SHARED_DIR:-../shared}" <<'PY'
import json, os, struct, sys, zipfile
out, shared = sys.argv[1], sys.argv[2]
def put(kind, name, data):
    open(os.path.join(out, kind, name), "wb").write(data if isinstance(data, bytes) else data.encode())
hdr = {"__metadata__": {"supernet": json.dumps({"search_space": {"name": "s", "blocks": [
    {"widths": [64, 128], "prunable": False, "drop_probability": 0.0}] * 4}})},
       "w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}
h = json.dumps(hdr).encode()
put("safetensors", "seed", struct.pack("<Q", len(h)) + h + bytes(16))
put("arch", "demo", open("resources/models/demo_arch.json").read())
for s in ["3072,3072,x,1536,3072,3072,3072,3072,3072,3072,3072,3072", "largest", "x,x,x"]:
    put("subnet", str(abs(hash(s))), s)
put("coco", "seed", json.dumps({"images": [{"id": 1, "file_name": "a.png", "width": 10, "height": 10}],
    "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "segmentation": [[1, 1, 8, 1, 8, 8]]},
                    {"id": 2, "image_id": 1, "segmentation": {"size": [10, 10], "counts": "52203"}},
                    {"id": 3, "image_id": 1, "segmentation": {"size": [10, 10], "counts": [10, 40, 50]}}]}))
pth = os.path.join(shared, "fixtures/sam-reference/tiny/checkpoint.pth")
if os.path.exists(pth):
    with zipfile.ZipFile(pth) as z:
        for n in z.namelist():
            if n.endswith("data.pkl"):
                put("pickle", "tiny", z.read(n))
put("pickle", "empty", b"\x80\x02}q\x00.")
PY
for t in pickle safetensors arch subnet coco; do
  echo "== fuzz_$t: $runs runs (at most ${secs}s)"
  build/fuzz/tests/fuzz/fuzz_$t -runs="$runs" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 \
    -artifact_prefix=build/fuzz/ -report_slow_units=120 \
    -print_final_stats=1 "$out/$t" 2>&1 | grep -E "stat::number_of_executed_units|cov:|ERROR|SUMMARY|Done" | tail -4
  [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "fuzz_$t failed"; exit 1; }
done
echo "fuzzing: no finding"
