#!/usr/bin/env bash
# Installs from Debian packages whatever shoal's build needs and is missing, then
# builds shoal into build/ (Release). Safe to re-run: with everything installed
# and nothing changed it does no apt work and returns in seconds.
#
# usage: scripts/setup.sh [--tests] [--build-dir DIR] [--target T ...] [-DNAME=VALUE ...]
#   --tests           also the tests: their packages (GoogleTest, python3, ...)
#                     and -DSHOAL_BUILD_TESTS=ON
#   --build-dir DIR   build there instead of build/ (e.g. sanitizer builds)
#   --target T        build only T (repeatable; default: all of the build)
#   -DNAME=VALUE      extra CMake flags; so are the words of $SHOAL_CMAKE_FLAGS
# Works as root without sudo, or as a user with sudo; needs no standard input.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }
trap 'printf "setup: failed: %s\n" "$BASH_COMMAND" >&2' ERR

# What shoal itself needs to build (libcurl: handler = "http"; PCRE2:
# input.colsep; libpython3-dev and pkg-config: handler = "python"; libzstd-dev:
# output.compress = "zstd").
packages=(build-essential g++ cmake ninja-build libboost-dev libboost-program-options-dev
          libpcre2-dev libtomlplusplus-dev libssl-dev libsimdjson-dev libcurl4-openssl-dev
          libpython3-dev pkg-config libzstd-dev)
# What only the tests need: GoogleTest; zstd (zstdcat of compressed records);
# the programs the example jobs and the checks run; man-db and
# groff-base for the man page tests (docs/tests); GNU parallel for the
# side-by-side test of the one-line form; python3-venv for the virtualenv
# test of handler = "python"; chromium for the report_browser test, which opens
# report.html in headless Chromium and fails on any console error (no display
# needed); zsh for the zsh completion's test (registered only where zsh is).
test_packages=(libgtest-dev zstd python3 rsync curl time man-db groff-base
               parallel python3-venv chromium zsh)


build_dir=build
cmake_flags=()
targets=()
tests=0
while (($#)); do
  case $1 in
    --tests) tests=1; shift ;;
    --target) (($# >= 2)) || die "--target needs a target name"; targets+=("$2"); shift 2 ;;
    --target=*) targets+=("${1#*=}"); shift ;;
    --build-dir) (($# >= 2)) || die "--build-dir needs a directory"; build_dir=$2; shift 2 ;;
    --build-dir=*) build_dir=${1#*=}; shift ;;
    -D*) cmake_flags+=("$1"); shift ;;
    -h|--help) sed -n '2,12s/^# \{0,1\}//p' scripts/setup.sh; exit 0 ;;
    *) die "unknown argument '$1' (see scripts/setup.sh --help)" ;;
  esac
done
if ((tests)); then
  packages+=("${test_packages[@]}")
  cmake_flags+=(-DSHOAL_BUILD_TESTS=ON)
fi
if [[ -n ${SHOAL_CMAKE_FLAGS:-} ]]; then
  read -r -a env_flags <<<"$SHOAL_CMAKE_FLAGS"
  cmake_flags+=("${env_flags[@]}")
fi

# --- packages ---------------------------------------------------------------
# shellcheck source=scripts/packages.sh
source scripts/packages.sh
install_missing "${packages[@]}"

# --- configure and build ----------------------------------------------------
if [[ ! -f $build_dir/CMakeCache.txt ]]; then
  say "configuring $build_dir${cmake_flags[*]:+ with ${cmake_flags[*]}}"
  cmake -S . -B "$build_dir" -G Ninja --log-level=WARNING -DCMAKE_BUILD_TYPE=Release \
    "${cmake_flags[@]}"
elif ((${#cmake_flags[@]})); then
  # Already configured (with whatever generator it was): only apply the new flags.
  say "configuring $build_dir${cmake_flags[*]:+ with ${cmake_flags[*]}}"
  cmake -S . -B "$build_dir" --log-level=WARNING "${cmake_flags[@]}"
fi

if ((${#targets[@]})); then
  say "building ${targets[*]} in $build_dir"
  cmake --build "$build_dir" -j"$(nproc)" --target "${targets[@]}"
else
  say "building $build_dir"
  cmake --build "$build_dir" -j"$(nproc)"
fi
say "built $build_dir/shoal"
