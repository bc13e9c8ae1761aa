#!/usr/bin/env bash
# Builds shoal as it is shipped and checks what it installs, the way a user
# and a plugin author meet it: in build-pkg/ (prefix /usr, no tests),
#  1. cmake --install to a prefix and to a DESTDIR: the expected files are
#     there, the prefix's shoal runs a job (finding its libexec worker), and a
#     shoal copied alone says it has no worker before it creates anything;
#  2. cpack -G DEB, apt-get install ./shoal_*.deb, then from a temporary
#     directory: a job run by /usr/bin/shoal; plugins built against the
#     installed header with pkg-config and with find_package(shoal), and jobs
#     run with them; the man pages and completions, when the build has them;
#     apt-get remove, and nothing of shoal is left in /usr.
#
# usage: scripts/package.sh
#   SHOAL_JOBS=N   build with N jobs (default: all cores)
# Needs root (or sudo without a password): it installs and removes the
# package shoal on this machine. Needs no standard input. Exits non-zero on
# the first failure; the package is removed again on the way out.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf 'package: %s\n' "$*"; }
die() { printf 'package: error: %s\n' "$*" >&2; exit 1; }
trap 'printf "package: failed: %s\n" "$BASH_COMMAND" >&2' ERR

case ${1:-} in
  -h|--help) sed -n '2,17s/^# \{0,1\}//p' scripts/package.sh; exit 0 ;;
  '') ;;
  *) die "unknown argument '$1' (see scripts/package.sh --help)" ;;
esac

build_dir=build-pkg
src=$(pwd)

sudo=()
if ((EUID != 0)); then
  command -v sudo >/dev/null 2>&1 || die "not root and no sudo: the package is installed and removed"
  sudo=(sudo -n)
fi
apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=300)

# A shoal in /usr that no package owns would be overwritten, then deleted.
if [[ -e /usr/bin/shoal ]] && ! dpkg-query -S /usr/bin/shoal 2>/dev/null | grep -q '^shoal:'; then
  die "/usr/bin/shoal exists and belongs to no package shoal; remove it first"
fi

# --- packages and build -----------------------------------------------------
# dpkg-dev and file: dpkg-shlibdeps, for the package's Depends; man-db and
# groff-base: man --warnings; pkg-config: the plugin built with it.
# shellcheck source=scripts/packages.sh
source scripts/packages.sh
install_missing dpkg-dev file man-db groff-base pkg-config

SHOAL_JOBS=${SHOAL_JOBS:-$(nproc)}
scripts/setup.sh --build-dir "$build_dir" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_INSTALL_PREFIX=/usr -DSHOAL_BUILD_TESTS=OFF

tmp=$(mktemp -d "${TMPDIR:-/tmp}/shoal-package.XXXXXX")
installed=0
cleanup() {
  if ((installed)); then
    say "removing the package shoal (cleanup after a failure)"
    "${apt[@]}" remove shoal >/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# The files every install has, relative to the prefix.
expected=(bin/shoal libexec/shoal/shoal-worker libexec/shoal/shoal-python.so
          libexec/shoal/shoal-python-hosted.so libexec/shoal/shoal-pyworker.so include/shoal/plugin.h
          share/pkgconfig/shoal.pc share/cmake/shoal/shoalConfig.cmake
          share/cmake/shoal/shoalConfigVersion.cmake share/cmake/shoal/shoalTargets.cmake
          share/doc/shoal/README.md share/doc/shoal/LICENSE share/doc/shoal/copyright
          share/doc/shoal/examples/checksums.toml share/doc/shoal/examples/plugins/CMakeLists.txt
          share/doc/shoal/examples/plugins/noop.c share/doc/shoal/examples/plugins/wordcount.cc
          share/doc/shoal/examples/summarize-records/job.py)

check_files() {
  local root=$1 f
  for f in "${expected[@]}"; do
    [[ -f $root/$f ]] || die "$root/$f is missing"
  done
  [[ -x $root/bin/shoal && -x $root/libexec/shoal/shoal-worker ]] ||
    die "shoal or shoal-worker under $root is not executable"
  say "$root: the ${#expected[@]} expected files are there"
}

# make_data DIR: a few files to run jobs over, names with spaces among them.
make_data() {
  mkdir -p "$1/data/sub dir"
  printf 'one\ntwo\nthree\n' >"$1/data/a.txt"
  printf 'four five\n' >"$1/data/sub dir/b c.txt"
  head -c 100000 /dev/zero >"$1/data/sub dir/zeros.bin"
  : >"$1/data/empty"
}

# run_dir_of RUNS: the one run directory under RUNS.
run_dir_of() {
  local dirs
  mapfile -t dirs < <(find "$1" -mindepth 1 -maxdepth 1 -type d)
  ((${#dirs[@]} == 1)) || die "expected one run directory under $1, found ${#dirs[@]}"
  printf '%s\n' "${dirs[0]}"
}

# sha256_job SHOAL DIR: the SHA-256 of DIR/data's files, from DIR, checked
# against sha256sum.
sha256_job() {
  local shoal=$1 dir=$2 run sum file
  make_data "$dir"
  printf '[job]\nname = "sha"\nhandler = "sha256"\n\n[input]\npath = "data"\n' >"$dir/sha.toml"
  (cd "$dir" && "$shoal" run sha.toml -o runs -q </dev/null) || die "$shoal run exited $?"
  run=$(run_dir_of "$dir/runs")
  [[ ! -s $run/errors.jsonl ]] || die "$run/errors.jsonl is not empty: $(head -n 3 "$run/errors.jsonl")"
  (($(wc -l <"$run/results.jsonl") == 4)) || die "$run/results.jsonl does not have 4 results"
  while read -r sum file; do
    grep -qF "\"output\":\"$sum\"" "$run/results.jsonl" ||
      die "$run/results.jsonl has no digest $sum of $file"
  done < <(cd "$dir/data" && find . -type f -exec sha256sum {} +)
  say "$shoal ran a sha256 job from $dir: 4 results, each digest as sha256sum's"
}

# plugin_job LIBRARY DIR: a job with the plugin LIBRARY over DIR/data; its
# results go to DIR/runs. Prints the run directory.
plugin_job() {
  local library=$1 dir=$2
  make_data "$dir"
  printf '[job]\nname = "plugin"\nhandler = "plugin"\n\n[input]\npath = "data"\n\n[plugin]\nlibrary = "%s"\n' \
    "$library" >"$dir/plugin.toml"
  (cd "$dir" && /usr/bin/shoal run plugin.toml -o runs -q </dev/null) ||
    die "/usr/bin/shoal run with $library exited $?"
  run=$(run_dir_of "$dir/runs")
  [[ ! -s $run/errors.jsonl ]] || die "$run/errors.jsonl is not empty: $(head -n 3 "$run/errors.jsonl")"
  (($(wc -l <"$run/results.jsonl") == 4)) || die "$run/results.jsonl does not have 4 results"
}

# python_job SHOAL DIR: a handler = "python" job over DIR/data, whose
# workers run inside the python executable (python/worker_host.cc).
python_job() {
  local shoal=$1 dir=$2 run
  make_data "$dir"
  printf 'def process(item, ctx):\n    return len(open(ctx.path, "rb").read())\n' >"$dir/job.py"
  printf '[job]\nname = "py"\nhandler = "python"\n\n[input]\npath = "data"\n\n[python]\nmodule = "job.py"\n' \
    >"$dir/py.toml"
  (cd "$dir" && "$shoal" run py.toml -o runs -q </dev/null) || die "$shoal run py.toml exited $?"
  run=$(run_dir_of "$dir/runs")
  [[ ! -s $run/errors.jsonl ]] || die "$run/errors.jsonl is not empty: $(head -n 3 "$run/errors.jsonl")"
  (($(wc -l <"$run/results.jsonl") == 4)) || die "$run/results.jsonl does not have 4 results"
  grep -q '"output":100000' "$run/results.jsonl" || die "$run/results.jsonl lacks zeros.bin's size"
  grep -qF "in the python executable" "$run/log.txt" ||
    die "the python workers did not run in the python executable: $(grep -F 'python 3' "$run/log.txt")"
  say "$shoal ran a python job from $dir: 4 results, in the python executable"
}

# --- 1. cmake --install -----------------------------------------------------
prefix=$tmp/prefix
say "cmake --install $build_dir --prefix $prefix"
cmake --install "$build_dir" --prefix "$prefix" >"$tmp/install-prefix.log"
check_files "$prefix"
pc_cflags=$(PKG_CONFIG_PATH=$prefix/share/pkgconfig pkg-config --cflags shoal)
[[ $pc_cflags == "-I$prefix/include"* ]] || die "shoal.pc of $prefix gives '$pc_cflags'"
say "pkg-config --cflags shoal, from $prefix: $pc_cflags"
sha256_job "$prefix/bin/shoal" "$tmp/prefix-job"
python_job "$prefix/bin/shoal" "$tmp/prefix-python"

say "DESTDIR=$tmp/destdir cmake --install $build_dir"
DESTDIR=$tmp/destdir cmake --install "$build_dir" >"$tmp/install-destdir.log"
check_files "$tmp/destdir/usr"

# A shoal without its worker says so, naming where it looked, and makes nothing.
mkdir -p "$tmp/lone/bin" "$tmp/lone-job"
cp "$prefix/bin/shoal" "$tmp/lone/bin/"
make_data "$tmp/lone-job"
printf '[job]\nname = "lone"\nhandler = "sha256"\n\n[input]\npath = "data"\n' >"$tmp/lone-job/s.toml"
status=0
(cd "$tmp/lone-job" && "$tmp/lone/bin/shoal" run s.toml -o runs </dev/null 2>"$tmp/lone.err") ||
  status=$?
((status == 3)) || die "a shoal without shoal-worker exited $status, not 3"
grep -qF "cannot find shoal-worker" "$tmp/lone.err" || die "no clear message: $(cat "$tmp/lone.err")"
grep -qF "$tmp/lone/libexec/shoal/shoal-worker" "$tmp/lone.err" ||
  die "the message does not name $tmp/lone/libexec/shoal/shoal-worker: $(cat "$tmp/lone.err")"
[[ ! -e $tmp/lone-job/runs ]] || die "a shoal without shoal-worker created $tmp/lone-job/runs"
say "a shoal copied alone exits 3 and creates nothing: $(cat "$tmp/lone.err")"

# --- 2. the Debian package --------------------------------------------------
rm -f "$build_dir"/shoal_*.deb
say "cpack -G DEB in $build_dir"
(cd "$build_dir" && cpack -G DEB >"$tmp/cpack.log") || { cat "$tmp/cpack.log" >&2; die "cpack failed"; }
debs=("$build_dir"/shoal_*.deb)
if ((${#debs[@]} != 1)) || [[ ! -f ${debs[0]} ]]; then
  die "cpack made no single $build_dir/shoal_*.deb"
fi
deb=$src/${debs[0]}
depends=$(dpkg-deb -f "$deb" Depends)
[[ $depends == *libc6* && $depends == *libstdc++6* ]] || die "$deb: Depends is '$depends'"
say "built $deb ($(du -k "$deb" | cut -f1) KiB)"
say "  Depends: $depends"

say "apt-get install $deb"
installed=1
"${apt[@]}" install "$deb" >"$tmp/apt-install.log" || { cat "$tmp/apt-install.log" >&2; die "apt-get install failed"; }
[[ $(dpkg-query -W -f='${Status}' shoal) == "install ok installed" ]] || die "shoal is not installed"
check_files /usr
[[ $(command -v shoal) == /usr/bin/shoal ]] || say "note: 'shoal' on PATH is $(command -v shoal), not /usr/bin/shoal"
say "/usr/bin/shoal --version: $(/usr/bin/shoal --version)"
sha256_job /usr/bin/shoal "$tmp/deb-job"
python_job /usr/bin/shoal "$tmp/deb-python"

# A plugin author's two ways, from the installed example sources.
examples=/usr/share/doc/shoal/examples/plugins
mkdir -p "$tmp/plugin-pc"
cflags=$(pkg-config --cflags shoal)
say "cc \$(pkg-config --cflags shoal) -shared -fPIC -O2 -o libnoop.so $examples/noop.c  (cflags: '$cflags')"
# shellcheck disable=SC2086  # cflags is words
cc $cflags -shared -fPIC -O2 -Wall -Werror -o "$tmp/plugin-pc/libnoop.so" "$examples/noop.c"
plugin_job "./libnoop.so" "$tmp/plugin-pc"
say "/usr/bin/shoal ran the noop plugin built with pkg-config: 4 results"

mkdir -p "$tmp/plugin-cmake"
cp "$examples/wordcount.cc" "$tmp/plugin-cmake/"
cat >"$tmp/plugin-cmake/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.20)
project(wordcount_plugin LANGUAGES CXX)
find_package(shoal 0.1 REQUIRED)
message(STATUS "shoal ${shoal_VERSION} from ${shoal_DIR}")
add_library(wordcount MODULE wordcount.cc)
target_link_libraries(wordcount PRIVATE shoal::plugin)
EOF
say "a CMake project with find_package(shoal) and shoal::plugin, building $examples/wordcount.cc"
cmake -S "$tmp/plugin-cmake" -B "$tmp/plugin-cmake/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  >"$tmp/plugin-cmake.log" || { cat "$tmp/plugin-cmake.log" >&2; die "configuring the plugin project failed"; }
grep -qF "from /usr/share/cmake/shoal" "$tmp/plugin-cmake.log" ||
  die "find_package(shoal) did not find /usr/share/cmake/shoal: $(grep -F 'shoal ' "$tmp/plugin-cmake.log")"
cmake --build "$tmp/plugin-cmake/build" >>"$tmp/plugin-cmake.log" ||
  { cat "$tmp/plugin-cmake.log" >&2; die "building the plugin project failed"; }
plugin_job "./build/libwordcount.so" "$tmp/plugin-cmake"
grep -F '"item":"a.txt"' "$run/results.jsonl" | grep -qF '\"lines\":3' ||
  die "wordcount's record of a.txt (3 lines) is not in $run/results.jsonl"
say "/usr/bin/shoal ran the wordcount plugin built with find_package(shoal): a.txt has 3 lines"

# The installed examples/plugins/CMakeLists.txt builds against the installed files.
if ! { cmake -S "$examples" -B "$tmp/examples-build" -G Ninja >"$tmp/examples.log" &&
        cmake --build "$tmp/examples-build" >>"$tmp/examples.log"; }; then
  cat "$tmp/examples.log" >&2
  die "building $examples failed"
fi
say "$examples builds on its own: $(cd "$tmp/examples-build/plugins" && echo *.so)"

# Man pages and completions come from docs/CMakeLists.txt: checked when the
# package has them.
mapfile -t pages < <(dpkg -L shoal | grep -E '^/usr/share/man/man[0-9]/.+\.[0-9]+(\.gz)?$' || true)
if ((${#pages[@]})); then
  for page in "${pages[@]}"; do
    [[ -f $page ]] || die "$page is in the package but not installed"
    # man's default warnings, then all of groff's (-ww), on the UTF-8 device.
    for warnings in --warnings --warnings=w; do
      MANWIDTH=80 LC_ALL=C.UTF-8 man "$warnings" -l "$page" >/dev/null 2>"$tmp/man.err" ||
        die "man $warnings -l $page failed"
      [[ ! -s $tmp/man.err ]] || { cat "$tmp/man.err" >&2; die "man $warnings -l $page warns"; }
    done
  done
  say "man --warnings -l and --warnings=w: no warning from ${pages[*]}"
else
  say "skipped: this build installs no man pages"
fi
mapfile -t bash_completions < <(dpkg -L shoal | grep -E '/bash-completion/completions/[^/]+$' || true)
if ((${#bash_completions[@]})); then
  for f in "${bash_completions[@]}"; do
    [[ -f $f ]] || die "$f is in the package but not installed"
    bash -c 'source "$1" && complete -p shoal' _ "$f" >/dev/null ||
      die "$f does not define a completion for shoal in bash"
  done
  say "bash completion loads: ${bash_completions[*]}"
else
  say "skipped: this build installs no bash completion"
fi
mapfile -t zsh_completions < <(dpkg -L shoal | grep -E '/zsh/.+/_shoal$' || true)
if ((${#zsh_completions[@]})); then
  say "zsh completion installed: ${zsh_completions[*]}"
else
  say "skipped: this build installs no zsh completion"
fi

say "apt-get remove shoal"
"${apt[@]}" remove shoal >"$tmp/apt-remove.log" || { cat "$tmp/apt-remove.log" >&2; die "apt-get remove failed"; }
installed=0
[[ $(dpkg-query -W -f='${Status}' shoal 2>/dev/null || true) != "install ok installed" ]] ||
  die "shoal is still installed"
for f in /usr/bin/shoal /usr/libexec/shoal /usr/include/shoal /usr/share/doc/shoal \
         /usr/share/cmake/shoal /usr/share/pkgconfig/shoal.pc; do
  [[ ! -e $f ]] || die "$f is still there after apt-get remove"
done
say "removed: /usr/bin/shoal, /usr/libexec/shoal and the rest are gone"
say "all checks passed (${SECONDS}s)"
