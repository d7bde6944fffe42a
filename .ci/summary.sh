#!/usr/bin/env bash
# Prints "N passed, N failed" from a `deno test` log: usage summary.sh LOG EXIT_STATUS.
# `deno test` ends with one summary line for the whole run, e.g. "ok | 12 passed | 0 failed (3s)",
# "ok | 446 passed (1 step) | 0 failed (4m40s)" or
# "FAILED | 11 passed (2 steps) | 1 failed | 2 ignored (3s)". Only the last such line counts: a test
# that prints a line of that shape must not add to the count. A failing status with no failed test
# counted (e.g. a type error before any test ran) is one failure.
set -uo pipefail
log=$1 status=$2
re='^(ok|FAILED) \| [0-9]+ passed( \([0-9]+ steps?\))? \| [0-9]+ failed'
summary=$(grep -E "$re" "$log" | tail -n 1)
if [ -n "$summary" ]; then
  passed=$(sed -E 's/^[A-Za-z]+ \| ([0-9]+) passed.*/\1/' <<<"$summary")
  failed=$(sed -E 's/^[^|]+\|[^|]+\| ([0-9]+) failed.*/\1/' <<<"$summary")
else
  passed=0 failed=0
fi
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "${passed} passed, ${failed} failed"
