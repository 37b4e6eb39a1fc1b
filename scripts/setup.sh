#!/usr/bin/env bash
# Installs what dlc needs on a Debian 12 machine, creates the project's Python
# environment and builds dlc. Idempotent: a second run only rebuilds what
# changed. Usage: scripts/setup.sh   (BUILD_DIR=... to build elsewhere)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${BUILD_DIR:-$root/build}"
venv="$root/.venv"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# --- Debian packages ---------------------------------------------------------
packages=(cmake ninja-build g++ ccache libmlir-22-dev mlir-22-tools llvm-22-dev
  llvm-22-tools libonnx-dev libonnx-testdata protobuf-compiler libprotobuf-dev
  libgloo-dev libopenmpi-dev openmpi-bin pybind11-dev python3-dev
  libgtest-dev libgmock-dev libzip-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$p")
done
if ((${#missing[@]})); then
  say "Installing Debian packages: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
else
  say "Debian packages: all present"
fi

# --- Python environment ------------------------------------------------------
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$root/requirements.txt" | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ]; then
  say "Creating the Python environment in .venv"
  if ! python3 -m venv "$venv" 2>/dev/null; then
    # Debian's own interpreter needs python3-venv for this.
    rm -rf "$venv"
    apt_sudo=""
    [ "$(id -u)" -eq 0 ] || apt_sudo="sudo"
    DEBIAN_FRONTEND=noninteractive $apt_sudo apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$venv"
  fi
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "Installing Python packages from requirements.txt"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$root/requirements.txt"
  echo "$want" >"$stamp"
else
  say "Python packages: up to date"
fi

# --- Configure and build -----------------------------------------------------
if [ ! -f "$build_dir/build.ninja" ]; then
  say "Configuring in $build_dir"
  cmake -G Ninja -S "$root" -B "$build_dir" \
    -DCMAKE_BUILD_TYPE=Release \
    -DMLIR_DIR="$(llvm-config-22 --cmakedir | sed 's|/llvm$|/mlir|')" \
    -DPython3_EXECUTABLE="$venv/bin/python" >/dev/null
fi
say "Building dlc (ninja, ccache)"
start=$(date +%s)
ninja -C "$build_dir" all
say "Build done in $(($(date +%s) - start)) s"
