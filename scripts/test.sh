#!/usr/bin/env bash
# Sets dlc up (scripts/setup.sh), then runs the whole test suite: the lit
# (FileCheck) tests and the GoogleTest unit tests in one lit run, ending with
# a one-line summary.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${BUILD_DIR:-$root/build}"
"$root/scripts/setup.sh"
printf '\033[1m==> %s\033[0m\n' "Running the test suite"
results="$build_dir/test-results.json"
status=0
"$(llvm-config-22 --bindir)/lit" -sv -o "$results" \
  "$build_dir/test/lit" "$build_dir/test/unit" || status=$?
"$root/.venv/bin/python" - "$results" <<'PY'
import json, sys
tests = json.load(open(sys.argv[1]))["tests"]
passed = sum(t["code"] in ("PASS", "XFAIL") for t in tests)
failed = sum(t["code"] in ("FAIL", "XPASS", "UNRESOLVED", "TIMEOUT") for t in tests)
skipped = len(tests) - passed - failed
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PY
exit $status
