#!/usr/bin/env bash
# Installs from Debian packages whatever shoal's build needs and is missing, then
# builds shoal into build/ (Release). Safe to re-run: with everything installed
# and nothing changed it does no apt work and returns in seconds.
#
# usage: scripts/setup.sh [--build-dir DIR] [-DNAME=VALUE ...]
#   --build-dir DIR   build there instead of build/ (e.g. sanitizer builds)
#   -DNAME=VALUE      extra CMake flags; so are the words of $SHOAL_CMAKE_FLAGS
# Works as root without sudo, or as a user with sudo; needs no standard input.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }
trap 'printf "setup: failed: %s\n" "$BASH_COMMAND" >&2' ERR

packages=(build-essential g++ cmake ninja-build pkg-config libboost-dev
          libboost-program-options-dev libboost-regex-dev libtomlplusplus-dev libgtest-dev libssl-dev
          libzstd-dev libsimdjson-dev libcurl4-openssl-dev zstd python3 rsync curl time)

build_dir=build
cmake_flags=()
while (($#)); do
  case $1 in
    --build-dir) (($# >= 2)) || die "--build-dir needs a directory"; build_dir=$2; shift 2 ;;
    --build-dir=*) build_dir=${1#*=}; shift ;;
    -D*) cmake_flags+=("$1"); shift ;;
    -h|--help) sed -n '2,9s/^# \{0,1\}//p' scripts/setup.sh; exit 0 ;;
    *) die "unknown argument '$1' (see scripts/setup.sh --help)" ;;
  esac
done
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

say "building $build_dir"
cmake --build "$build_dir" -j"$(nproc)"
say "built $build_dir/shoal"
