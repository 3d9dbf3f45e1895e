#!/usr/bin/env bash
# The whole suite as three pytest processes side by side: the pipeline tests (real Snakemake
# runs, SLURM, headless Chromium: much of their time is spent waiting on other processes and the
# SLURM queue) and the unit tests (tests/diffpipe) in two halves, so the CPU the pipeline tests
# leave idle is used. The pipeline process prints its report as it runs, the unit ones when they
# end; each prints its 30 slowest tests. Exit status: 0 when all pass, else the first non-zero
# one (pytest's 5, "no tests collected", included: a part that collects nothing is a broken suite).
# Usage: suites.sh PYTHON [pytest args...]
set -u
python=$1
shift
# the inference-side unit tests (inference, toys, benchmark, design) and the rest
first=(tests/diffpipe/inference tests/diffpipe/toys tests/diffpipe/benchmark tests/diffpipe/design)
second=(tests/diffpipe --ignore=tests/diffpipe/inference --ignore=tests/diffpipe/toys
  --ignore=tests/diffpipe/benchmark --ignore=tests/diffpipe/design)
log_a=$(mktemp -t diffpipe-unit-tests-a.XXXXXX.log)
log_b=$(mktemp -t diffpipe-unit-tests-b.XXXXXX.log)
"$python" -m pytest "${first[@]}" --durations=30 "$@" >"$log_a" 2>&1 &
unit_a=$!
"$python" -m pytest "${second[@]}" --durations=30 "$@" >"$log_b" 2>&1 &
unit_b=$!
trap 'kill "$unit_a" "$unit_b" 2>/dev/null' INT TERM
"$python" -m pytest tests --ignore=tests/diffpipe --durations=30 "$@"
pipeline_rc=$?
wait "$unit_a"
unit_a_rc=$?
wait "$unit_b"
unit_b_rc=$?
echo "=== unit tests: ${first[*]} ==="
cat "$log_a"
echo "=== unit tests: the rest of tests/diffpipe ==="
cat "$log_b"
rm -f "$log_a" "$log_b"
echo "=== pipeline tests: exit $pipeline_rc; unit tests: exit $unit_a_rc, $unit_b_rc ==="
for rc in "$pipeline_rc" "$unit_a_rc" "$unit_b_rc"; do
  if [ "$rc" -ne 0 ]; then exit "$rc"; fi
done
exit 0
