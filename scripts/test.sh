#!/usr/bin/env bash
# Runs every test: installs what is missing, then
#   1. a Release build and its whole ctest suite (unit, known-answer vectors,
#      integration against real tools, fuzz corpus replays);
#   2. a clang ASan+UBSan build with libFuzzer targets, the same suite again;
#   3. each fuzzer for ARCA_FUZZ_SECONDS (default 20) on a scratch copy of
#      its corpus.
# Ends with one line "N passed, M failed". Exit status non-zero on any failure.
#
#   ./scripts/test.sh            (CI runs exactly this through .ci/run)
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test || exit 1

JOBS=${ARCA_JOBS:-$(nproc)}
FUZZ_SECONDS=${ARCA_FUZZ_SECONDS:-20}
REL=${ARCA_BUILD_DIR:-build}
ASAN=${ARCA_ASAN_BUILD_DIR:-build-asan}
passed=0; failed=0; failures=()

# run_ctest DIR LABEL: runs the suite, adds its counts to the totals.
run_ctest() {
  local log; log=$(mktemp)
  ctest --test-dir "$1" -j"$JOBS" --timeout 900 --output-on-failure >"$log" 2>&1
  local rc=$?
  tail -n 40 "$log" | grep -E "tests passed|Failed|\*\*\*|Errors while running" || true
  local line total nfail
  line=$(grep -E "tests passed, [0-9]+ tests failed out of [0-9]+" "$log" | tail -1)
  total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line"); nfail=$(sed -E 's/.* ([0-9]+) tests failed.*/\1/' <<<"$line")
  if [[ -z $line ]]; then
    echo "test: $2: ctest printed no summary" >&2; cat "$log" | tail -20; failed=$((failed + 1)); failures+=("$2: no summary")
  else
    passed=$((passed + total - nfail)); failed=$((failed + nfail))
    ((nfail > 0 || rc != 0)) && failures+=("$2: $(grep -E '^\s+[0-9]+ - ' "$log" | head -5 | tr -s ' ' | tr '\n' ';')")
  fi
  rm -f "$log"
}

echo "== 1/3 Release build and tests"
cmake -S . -B "$REL" -G Ninja -DCMAKE_BUILD_TYPE=Release -DARCA_TESTS=ON -DARCA_BENCH=ON >/dev/null || exit 1
cmake --build "$REL" -j"$JOBS" || exit 1
run_ctest "$REL" release

echo "== 2/3 ASan+UBSan build (clang, with libFuzzer targets) and tests"
CC=clang CXX=clang++ cmake -S . -B "$ASAN" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DARCA_SANITIZE=ON -DARCA_FUZZ=ON -DARCA_TESTS=ON -DARCA_BENCH=OFF >/dev/null || exit 1
cmake --build "$ASAN" -j"$JOBS" || exit 1
# Third-party leaks (SoftHSM, libgit2's PCRE2 use) are suppressed by name in
# tests/lsan.supp; everything else fails the run.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp run_ctest "$ASAN" sanitizers

echo "== 3/3 fuzzers, ${FUZZ_SECONDS}s each"
for f in "$ASAN"/tests/fuzz/fuzz_*; do
  [[ -x $f && $f != *_replay ]] || continue
  name=${f##*/fuzz_}
  scratch=$(mktemp -d)
  if "$f" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 -timeout=10 -print_final_stats=0 \
      "$scratch" "tests/fuzz/corpus/$name" >"$scratch.log" 2>&1; then
    passed=$((passed + 1)); echo "fuzz $name: $(grep -oE '#[0-9]+' "$scratch.log" | tail -1 | tr -d '#') runs, no crash"
  else
    failed=$((failed + 1)); failures+=("fuzz $name (see below)"); tail -30 "$scratch.log"
  fi
  rm -rf "$scratch" "$scratch.log"
done

for f in "${failures[@]}"; do echo "FAILED: $f"; done
echo "$passed passed, $failed failed"
((failed == 0))
