#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang into build-fuzz/ and
# runs each for SECONDS (default 60) over a copy of its seed corpus
# tests/fuzz/corpus/<target>/ (the checked-in corpus does not grow), with
# tests/fuzz/<target>.dict as its dictionary if there is one. Every
# file in tests/fuzz/crashes/<target>/ is first run once as a regression
# input. A crash, leak or hang fails the script; its input is copied to
# tests/fuzz/crashes/<target>/, to be committed with the fix.
#
# usage: scripts/fuzz.sh [SECONDS]
#   SHOAL_JOBS=N   build with N jobs (default: all cores)
# Logs: build-fuzz/fuzz-run/<target>.log. Needs no standard input.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf 'fuzz: %s\n' "$*"; }
die() { printf 'fuzz: error: %s\n' "$*" >&2; exit 1; }
trap 'printf "fuzz: failed: %s\n" "$BASH_COMMAND" >&2' ERR

case ${1:-} in
  -h|--help) sed -n '2,11s/^# \{0,1\}//p' scripts/fuzz.sh; exit 0 ;;
esac
fuzz_seconds=${1:-60}
[[ $fuzz_seconds =~ ^[1-9][0-9]*$ ]] || die "SECONDS must be a positive number, not '$fuzz_seconds'"
(($# <= 1)) || die "one argument at most (see scripts/fuzz.sh --help)"

targets=(settings_fuzzer list_reader_fuzzer template_fuzzer wire_fuzzer cli_fuzzer)
build_dir=build-fuzz
run_dir=$build_dir/fuzz-run

# --- packages ---------------------------------------------------------------
# clang for libFuzzer (built into Debian's clang 14), and what configuring needs.
# shellcheck source=scripts/packages.sh
source scripts/packages.sh
install_missing clang cmake ninja-build libboost-dev libboost-program-options-dev libpcre2-dev \
  libtomlplusplus-dev libgtest-dev libssl-dev libsimdjson-dev

# --- configure and build ----------------------------------------------------
# The fuzzers are test targets (SHOAL_BUILD_TESTS); a build-fuzz/ configured
# before that option existed is configured again with it.
if [[ ! -f $build_dir/CMakeCache.txt ]]; then
  say "configuring $build_dir"
  CC=clang CXX=clang++ cmake -S . -B "$build_dir" -G Ninja --log-level=WARNING \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHOAL_FUZZ=ON -DSHOAL_BUILD_TESTS=ON
elif ! grep -qx 'SHOAL_BUILD_TESTS:BOOL=ON' "$build_dir/CMakeCache.txt"; then
  say "configuring $build_dir with -DSHOAL_BUILD_TESTS=ON"
  cmake -S . -B "$build_dir" --log-level=WARNING -DSHOAL_BUILD_TESTS=ON
fi
say "building ${targets[*]}"
cmake --build "$build_dir" -j"${SHOAL_JOBS:-$(nproc)}" --target "${targets[@]}"

# --- run ----------------------------------------------------------------------
# UB aborts (the build has -fno-sanitize-recover); show where.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
rm -rf "$run_dir"
mkdir -p "$run_dir"
failed=()

# Copies what libFuzzer wrote for a failure into tests/fuzz/crashes/<target>/.
keep_crashes() {
  local target=$1 kept=tests/fuzz/crashes/$1 f
  mkdir -p "$kept"
  for f in "$run_dir/$target/artifacts"/*; do
    [[ -f $f ]] || continue
    cp "$f" "$kept/"
    say "$target: kept $kept/$(basename "$f")"
  done
}

for target in "${targets[@]}"; do
  bin=$build_dir/$target
  log=$run_dir/$target.log
  mkdir -p "$run_dir/$target/corpus" "$run_dir/$target/artifacts"

  mapfile -t regressions < <(find "tests/fuzz/crashes/$target" -maxdepth 1 -type f \
                               ! -name '.*' 2>/dev/null | sort)
  if ((${#regressions[@]})); then
    if ! "$bin" "${regressions[@]}" >"$run_dir/$target.regressions.log" 2>&1; then
      tail -n 40 "$run_dir/$target.regressions.log" >&2
      say "$target: FAILED on a kept crash in tests/fuzz/crashes/$target/"
      failed+=("$target")
      continue
    fi
    say "$target: ${#regressions[@]} kept crash input(s) pass"
  fi

  cp "tests/fuzz/corpus/$target"/* "$run_dir/$target/corpus/"
  dict=()
  [[ -f tests/fuzz/$target.dict ]] && dict=(-dict="tests/fuzz/$target.dict")
  status=0
  "$bin" -max_total_time="$fuzz_seconds" -timeout=25 -print_final_stats=1 "${dict[@]}" \
    -artifact_prefix="$run_dir/$target/artifacts/" "$run_dir/$target/corpus" >"$log" 2>&1 ||
    status=$?
  execs=$(awk '/^stat::number_of_executed_units:/ { print $2 }' "$log")
  if ((status != 0)); then
    tail -n 60 "$log" >&2
    keep_crashes "$target"
    say "$target: FAILED (exit $status) after ${execs:-?} executions; log: $log"
    failed+=("$target")
  else
    say "$target: ${execs:-?} executions in ${fuzz_seconds}s, no crash"
  fi
done

if ((${#failed[@]})); then
  say "failed: ${failed[*]} (${SECONDS}s in all)"
  exit 1
fi
say "all ${#targets[@]} fuzzers ran ${fuzz_seconds}s without a crash (${SECONDS}s in all)"
