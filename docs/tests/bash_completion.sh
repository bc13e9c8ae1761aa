#!/bin/bash
# bash_completion.sh SHOAL COMPLETION: the generated bash completion loads,
# registers _shoal for shoal, and completes what the built shoal lists:
# every verb, every option of each verb's --help, every settings key after
# --set, settings files and run directories.
set -u
shoal=$1 completion=$2
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
failed=0

registered=$(bash --norc --noprofile -c 'source "$1" && complete -p shoal' _ "$completion" 2>&1)
if [[ $registered != "complete -F _shoal shoal" ]]; then
  echo "sourcing $completion: $registered" >&2
  exit 1
fi
# shellcheck disable=SC1090
source "$completion"

# complete WORD...: COMPREPLY for the last word, as bash would fill it.
complete_line() {
  COMP_WORDS=("$@")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMP_LINE="$*"
  COMP_POINT=${#COMP_LINE}
  COMPREPLY=()
  _shoal shoal "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
}
# expect WORD LINE...: WORD is among the completions of LINE.
expect() {
  local want=$1
  shift
  complete_line "$@"
  local got
  for got in "${COMPREPLY[@]}"; do [[ $got == "$want" ]] && return 0; done
  echo "'$*<TAB>' does not offer '$want'; it offers: ${COMPREPLY[*]:-nothing}" >&2
  failed=1
}
# refuse WORD LINE...: WORD is not among them.
refuse() {
  local unwanted=$1
  shift
  complete_line "$@"
  local got
  for got in "${COMPREPLY[@]}"; do
    if [[ $got == "$unwanted" ]]; then
      echo "'$*<TAB>' offers '$unwanted'" >&2
      failed=1
    fi
  done
}

verbs=$("$shoal" help no-such-verb 2>&1 | sed -n "s/.*the commands are \([a-z ]*\);.*/\1/p")
[[ -n $verbs ]] || { echo "cannot read the verbs from '$shoal help no-such-verb'" >&2; exit 1; }
for verb in $verbs help; do
  expect "$verb" shoal ""
  expect "$verb" shoal "${verb:0:2}"
  [[ $verb == help ]] && continue
  # Every option that --help shows, long and short.
  options=$("$shoal" "$verb" --help |
    sed -n 's/^ \{2,6\}\(-[a-zA-Z]\)\{0,1\}\(, \)\{0,1\}\(--[a-z-]*\)\(=\{0,1\}\).*/\1 \3\4/p')
  [[ -n $options ]] || { echo "no options in '$shoal $verb --help'" >&2; exit 1; }
  for option in $options; do
    expect "$option" shoal "$verb" -
  done
done
expect --dry-run shoal run --dr
refuse --dry-run shoal check --dr
expect settings shoal help se
expect --man shoal help settings --m
expect zsh shoal help completion z

# Keys after --set, each with its '=' (a table's with a '.').
keys=$("$shoal" help settings | sed -n 's/^  \([a-z_]*\.[a-z_]*\) = .*/\1/p')
tables=$("$shoal" help settings | sed -n 's/^  \([a-z_]*\.[a-z_]*\) = .*(table of .*/\1/p')
[[ -n $keys && -n $tables ]] || { echo "cannot read the keys of '$shoal help settings'" >&2; exit 1; }
for key in $keys; do
  if grep -qxF -- "$key" <<<"$tables"; then
    expect "$key." shoal run --set ""
  else
    expect "$key=" shoal run --set ""
  fi
done
expect job.workers= shoal run --set job.wor
expect job.workers= shoal check x.toml --set = job.wor   # --set=job.wor, as bash splits it
refuse input.path= shoal run --set job.

# Paths: settings files for run, directories for retry and resume.
mkdir -p "$tmp/runs/job-1" "$tmp/data"
: >"$tmp/job.toml"
: >"$tmp/notes.txt"
cd "$tmp" || exit 1
expect job.toml shoal run j
refuse notes.txt shoal run n
expect runs shoal retry r
refuse job.toml shoal resume j
expect runs/job-1 shoal resume runs/
expect notes.txt shoal run --items n
expect data shoal run -i d
refuse notes.txt shoal run -o n
expect runs/job-1 shoal merge runs/job-1 -o runs/

exit $failed
