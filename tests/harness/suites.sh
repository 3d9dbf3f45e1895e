#!/usr/bin/env bash
# The whole suite as three pytest processes side by side: the pipeline tests (real Snakemake runs,
# SLURM, headless Chromium: much of their time is spent waiting on other processes) and the unit
# tests (tests/diffpipe) in two halves of about equal time, so that a core the pipeline tests
# leave idle while they wait is used. The pipeline report prints as it runs, the unit ones when
# they end. Exit status: 0 when all pass, else the first non-zero one (pytest's 5, "no tests
# collected", included: a part that collects nothing is a broken suite).
# Usage: suites.sh PYTHON [pytest args...]
set -u
python=$1
shift
# the likelihood-heavy unit tests (the kernel against pyhf, inference against pyhf and cabinetry)
UNIT_A=(tests/diffpipe/inference tests/diffpipe/test_histfactory.py tests/diffpipe/test_patches.py)
unit_a_log=$(mktemp -t diffpipe-unit-a.XXXXXX.log)
unit_b_log=$(mktemp -t diffpipe-unit-b.XXXXXX.log)
"$python" -m pytest "${UNIT_A[@]}" --durations=20 "$@" >"$unit_a_log" 2>&1 &
unit_a=$!
ignore=()
for path in "${UNIT_A[@]}"; do ignore+=(--ignore="$path"); done
"$python" -m pytest tests/diffpipe "${ignore[@]}" --durations=20 "$@" >"$unit_b_log" 2>&1 &
unit_b=$!
trap 'kill "$unit_a" "$unit_b" 2>/dev/null' INT TERM
"$python" -m pytest tests --ignore=tests/diffpipe --durations=30 "$@"
pipeline_rc=$?
wait "$unit_a"
unit_a_rc=$?
wait "$unit_b"
unit_b_rc=$?
echo "=== unit tests, part A (${UNIT_A[*]}) ==="
cat "$unit_a_log"
echo "=== unit tests, part B (the rest of tests/diffpipe) ==="
cat "$unit_b_log"
rm -f "$unit_a_log" "$unit_b_log"
echo "=== pipeline tests: exit $pipeline_rc; unit tests: exit $unit_a_rc (A), $unit_b_rc (B) ==="
for rc in "$pipeline_rc" "$unit_a_rc" "$unit_b_rc"; do
  if [ "$rc" -ne 0 ]; then exit "$rc"; fi
done
exit 0
