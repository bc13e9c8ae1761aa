# shellcheck shell=bash
# Sourced by scripts/setup.sh and scripts/bench.sh (they define say and die).
#
# install_missing PKG...: installs from Debian's packages those of PKG that
# are not installed yet: apt-get update once, only when something is missing;
# as root, or through sudo (without a terminal, sudo must not ask: CI).
install_missing() {
  if ! command -v dpkg-query >/dev/null 2>&1; then
    say "no dpkg-query (not Debian?): assuming $* or their equivalents are installed"
    return 0
  fi
  local missing=() pkg status
  for pkg in "$@"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [[ $status == "install ok installed" ]] || missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  say "installing ${missing[*]}"
  local sudo=()
  if ((EUID != 0)); then
    command -v sudo >/dev/null 2>&1 || die "not root and no sudo: install ${missing[*]} as root"
    sudo=(sudo)
    [[ -t 0 ]] || sudo=(sudo -n)  # no terminal (CI): fail rather than wait for a password
  fi
  local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300)
  "${sudo[@]}" "${apt[@]}" update >&2
  "${sudo[@]}" "${apt[@]}" install -y --no-install-recommends "${missing[@]}" >&2
}
