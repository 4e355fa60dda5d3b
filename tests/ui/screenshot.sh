#!/usr/bin/env bash
# Takes a picture of SuperSAM Studio's main window with a mask, under Xvfb with a real X11 window (not the offscreen
# platform), for people to look at. Usage: tests/ui/screenshot.sh BUILD_DIR [OUT.png] [extra supersam-studio args]
# Uses the shipped demo supernet when present, else the tiny reference checkpoint of ../shared.
set -euo pipefail
build="${1:?usage: screenshot.sh BUILD_DIR [OUT.png] [args...]}"
out="${2:-$build/screenshots/main_window.png}"
shift $(( $# >= 2 ? 2 : 1 ))
here="$(cd "$(dirname "$0")/../.." && pwd)"
mkdir -p "$(dirname "$out")"
args=()
if [[ ! -f "$here/resources/models/demo_supernet.safetensors" ]]; then
  args+=(--model "${SUPERSAM_SHARED_DIR:-$here/../shared}/fixtures/sam-reference/tiny/checkpoint.pth")
fi
QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24" \
  "$build/app/supersam-studio" --screenshot "$out" "${args[@]}" "$@"
