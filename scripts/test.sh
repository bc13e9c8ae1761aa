#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test (unit and end-to-end)
# with CTest. Exits non-zero when any test fails.
#
# usage: scripts/test.sh [--asan | --tsan] [CTEST_ARGS...]
#   --asan   AddressSanitizer + UBSan build in build-asan/ (RelWithDebInfo)
#   --tsan   ThreadSanitizer build in build-tsan/ (RelWithDebInfo)
#   CTEST_ARGS are passed on, e.g. -R E2e or --repeat until-fail:3
# The sanitizer runtimes (libasan8, libubsan1, libtsan2) come with Debian's gcc.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf 'test: %s\n' "$*"; }

build_dir=build
flags=()
ctest_args=()
for arg in "$@"; do
  case $arg in
    --asan) build_dir=build-asan; flags=(-DSHOAL_ASAN=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
    --tsan) build_dir=build-tsan; flags=(-DSHOAL_TSAN=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
    -h|--help) sed -n '2,9s/^# \{0,1\}//p' scripts/test.sh; exit 0 ;;
    *) ctest_args+=("$arg") ;;
  esac
done

# --tests: GoogleTest and the programs the tests run, and -DSHOAL_BUILD_TESTS=ON.
scripts/setup.sh --tests --build-dir "$build_dir" "${flags[@]}"

# Sanitizer reports fail the test that triggered them, with a stack.
# handle_segv=0: a worker that segfaults must die of SIGSEGV, as in a normal
# build, not exit 1 after ASan's report (the crash tests check the reason).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:handle_segv=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}

run=()
# Sanitizer runtimes of GCC 12 cannot place their shadow memory when the kernel
# randomizes more than 28 bits of mmap addresses (google/sanitizers #1614,
# #1716): run the tests without address randomization then, if allowed here.
if [[ $build_dir != build ]] &&
   (($(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 0) > 28)); then
  if setarch "$(uname -m)" -R true 2>/dev/null; then
    run=(setarch "$(uname -m)" -R)
  else
    say "warning: vm.mmap_rnd_bits > 28 and setarch -R is not allowed; sanitizers may fail to start"
  fi
fi

say "running the tests of $build_dir"
"${run[@]}" ctest --test-dir "$build_dir" --output-on-failure --no-tests=error -j2 "${ctest_args[@]}"
