#!/usr/bin/env bash
# Installs every Debian 12 package SuperSAM Studio needs to build, test and run.
# Idempotent: packages already present are left alone. Runs as root, or through sudo otherwise.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libtorch-dev libopenblas0-openmp
  qt6-base-dev qt6-base-dev-tools libqt6svg6 libgl-dev
  libqcustomplot-dev libqcustomplot2.1-qt6
  libopencv-dev
  libsqlite3-dev nlohmann-json3-dev
  libonnx-dev libprotobuf-dev
  nodejs
  googletest libgtest-dev libgmock-dev
  zlib1g-dev libpng-dev libgloo-dev
  xvfb xauth
  clang libclang-rt-14-dev
  python3 python3-numpy python3-sqlalchemy python3-future
  python3-skimage-lib python3-skimage
)

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: not root and sudo is missing" >&2; exit 1; }
  sudo_cmd=(sudo)
fi

# The ONNX export tests run the exported models in ONNX Runtime through npm's onnxruntime-node (tests/onnx): npm
# comes with NodeSource's nodejs, and is Debian's separate npm package otherwise.
command -v npm >/dev/null || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
