#!/usr/bin/env bash
# Sets dlc up (scripts/setup.sh), then runs its main job on the bundled
# example: builds an MLP with the C++ builder API, compiles it for this CPU,
# runs it and checks it against a float64 reference.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh"
printf '\033[1m==> %s\033[0m\n' "Running: dlc example mlp"
exec "${BUILD_DIR:-$root/build}/bin/dlc" example mlp "$@"
