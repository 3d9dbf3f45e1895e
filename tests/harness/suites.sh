#!/usr/bin/env bash
# The whole suite as two pytest processes side by side: the unit tests (tests/diffpipe) and the
# pipeline tests (real Snakemake runs, SLURM, headless Chromium, and the benchmark's runs of
# Snakemake and the notebook script: much of their time is spent waiting on other processes;
# the two halves take about as long, so neither core idles at the end). Each prints its own
# report, the pipeline one as it runs, the unit one when it ends. Exit status: 0 when both pass, else the first non-zero one (pytest's 5, "no
# tests collected", included: a half that collects nothing is a broken suite).
# Usage: suites.sh PYTHON [pytest args...]
set -u
python=$1
shift
unit_log=$(mktemp -t diffpipe-unit-tests.XXXXXX.log)
# the benchmark tests that time fresh processes (Snakemake, the notebook script, cold toy shards
# and pyhf peers) wait on them like the pipeline tests do
processes="tests/diffpipe/benchmark/test_pipeline.py tests/diffpipe/benchmark/test_inference_timing.py"
ignores=()
for path in $processes; do ignores+=(--ignore="$path"); done
"$python" -m pytest tests/diffpipe "${ignores[@]}" --durations=30 "$@" >"$unit_log" 2>&1 &
unit=$!
trap 'kill "$unit" 2>/dev/null' INT TERM
# shellcheck disable=SC2086  # $processes: a list of paths without spaces
"$python" -m pytest tests/test_*.py $processes --durations=30 "$@"
pipeline_rc=$?
wait "$unit"
unit_rc=$?
echo "=== unit tests (tests/diffpipe) ==="
cat "$unit_log"
rm -f "$unit_log"
echo "=== pipeline tests: exit $pipeline_rc; unit tests: exit $unit_rc ==="
if [ "$pipeline_rc" -ne 0 ]; then exit "$pipeline_rc"; fi
exit "$unit_rc"
