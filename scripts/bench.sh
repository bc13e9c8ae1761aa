#!/usr/bin/env bash
# Installs what shoal is compared against (GNU parallel, hyperfine, python3,
# GNU time, openssl, fd-find, libfuse3) from Debian packages when missing,
# builds Release into build-bench/, then runs every benchmark and prints one
# table (bench/bench.py).
#
# usage: scripts/bench.sh
#   BENCH_QUICK=1 scripts/bench.sh                 small sizes, a few minutes
#   BENCH_ONLY=command,sha256 scripts/bench.sh     some benchmarks only
#   more variables (sizes, runs, data dir) in bench/README.md
# Generated inputs are kept in $BENCH_DATA (default /work/bench-data) and reused.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }

case ${1:-} in
  -h|--help) sed -n '2,11s/^# \{0,1\}//p' scripts/bench.sh; exit 0 ;;
  '') ;;
  *) die "unknown argument '$1' (see scripts/bench.sh --help)" ;;
esac

build_dir=${BENCH_BUILD:-build-bench}
# nginx: the local service of the http benchmark; wrk measures its ceiling.
# fd-find: the walk's peer; fuse3 and libfuse3-dev: bench/slowfs, its slow storage.
packages=(parallel hyperfine python3 time openssl findutils curl nginx wrk fd-find fuse3
          libfuse3-dev pkg-config)

# --- what shoal is compared against ---------------------------------------
# First: bench/slowfs builds only where libfuse3-dev is.
# shellcheck source=scripts/packages.sh
source scripts/packages.sh
install_missing "${packages[@]}"

# --- build -------------------------------------------------------------------
# The first time, setup.sh installs the build's own packages and configures;
# then only what the benchmarks run is built (not the tests).
targets=(shoal shoal-worker spawn_loop sha256_loop single_writer_loop)
if [[ ! -f $build_dir/CMakeCache.txt ]]; then
  scripts/setup.sh --build-dir "$build_dir" --target shoal -DCMAKE_BUILD_TYPE=Release >&2
fi
cmake -S . -B "$build_dir" --log-level=WARNING -DCMAKE_BUILD_TYPE=Release >&2
# A target this tree and build have: bench/ is EXCLUDE_FROM_ALL, and CMake's
# `--target help` leaves such targets out (slowfs was never built by it).
all_targets=$(ninja -C "$build_dir" -t targets all)
has_target() { grep -q "^$1:" <<<"$all_targets"; }
# The no-op plugin, if this tree has it; bench.py skips its benchmark if not.
if has_target shoal_plugin_noop; then
  targets+=(shoal_plugin_noop)
fi
# handler = "python", where libpython3-dev was found; bench.py skips its rows if not.
if has_target shoal-python; then
  targets+=(shoal-python)
fi
# slowfs, where libfuse3 was found; bench.py skips the slow-storage rows if not.
if has_target slowfs; then
  targets+=(slowfs)
fi
say "building ${targets[*]} in $build_dir (Release)"
cmake --build "$build_dir" -j"$(nproc)" --target "${targets[@]}" >&2

# Debian's python3: the peer benchmark measures the interpreter users have.
python=python3
[[ -x /usr/bin/python3 ]] && python=/usr/bin/python3
BENCH_BUILD=$(cd "$build_dir" && pwd) exec "$python" -B bench/bench.py
