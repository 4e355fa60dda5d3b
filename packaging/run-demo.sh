#!/usr/bin/env bash
# The main job: install the Debian packages, build, and open SuperSAM Studio on the shipped demo supernet and a
# sample image. Without a display (SSH, CI) it runs the same pipeline headless instead: segments the sample image
# with `supersam segment` and renders a screenshot of the studio window under Xvfb.
set -euo pipefail
cd "$(dirname "$0")/.."
./packaging/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release
bin=build/release/app
model=resources/models/demo_supernet.safetensors
image=$(ls /usr/lib/python3/dist-packages/skimage/data/astronaut.png 2>/dev/null || true)
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  exec "$bin/supersam-studio" "$@"
fi
echo "No display: running headless."
out=${SUPERSAM_DEMO_OUT:-build/release/demo-output}
mkdir -p "$out"
"$bin/supersam" info "$model"
"$bin/supersam" segment --checkpoint "$model" --image "$image" --box 140,20,330,230 \
  --out "$out/astronaut_mask.png"
QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24" "$bin/supersam-studio" --model "$model" \
  --point 250,120 --screenshot "$out/studio.png" "$image"
echo "Wrote $out/astronaut_mask.png and $out/studio.png"
