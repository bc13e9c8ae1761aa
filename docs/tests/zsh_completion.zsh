#!/usr/bin/env zsh -f
# zsh_completion.zsh SHOAL _SHOAL: the generated zsh completion parses,
# compinit takes it for shoal, and with zsh's completion builtins stubbed to
# print what they are given, it offers every verb and, for each verb, every
# option that its --help shows (long and short) and the keys after --set.
emulate -L zsh
setopt no_unset
shoal=$1 file=$2
tmp=$(mktemp -d)
trap 'rm -rf $tmp' EXIT
failed=0

zsh -n $file || { print -u2 "$file does not parse"; exit 1 }
cp $file $tmp/_shoal
fpath=($tmp $fpath)
autoload -Uz compinit
compinit -u -d $tmp/zcompdump
[[ ${_comps[shoal]-} == _shoal ]] || { print -u2 "compinit did not take $file for shoal"; exit 1 }

# What the completion hands to zsh, one word a line.
_describe() { print -rl -- ${(P)${@[-1]}} }
compadd() { print -rl -- "$@" }
_arguments() { print -rl -- "$@" }
_message() { }
_files() { }
_directories() { }
compset() { return 1 }
offers() {  # offers WORD LINE...: WORD is in what completing LINE hands to zsh
  local want=$1
  shift
  words=("$@")
  CURRENT=$#words
  local out
  out=$(autoload -Uz _shoal; _shoal 2>&1) || true
  if ! print -r -- $out | grep -qF -e $want; then
    print -u2 "'$*<TAB>' does not offer '$want'"
    failed=1
  fi
}

verbs=$($shoal help no-such-verb 2>&1 | sed -n 's/.*the commands are \([a-z ]*\);.*/\1/p')
[[ -n $verbs ]] || { print -u2 "cannot read the verbs"; exit 1 }
for verb in ${=verbs}; do
  offers "$verb:" shoal ""
  opts=$($shoal $verb --help |
    sed -n 's/^ \{2,6\}\(-[a-zA-Z]\)\{0,1\}\(, \)\{0,1\}\(--[a-z-]*\).*/\1 \3/p')
  for option in ${=opts}; do
    # '*'{-j+,--workers=}'[...]' reaches _arguments as *-j+[...] and *--workers=[...].
    offers "*$option" shoal $verb ""
  done
done
offers "job.workers" shoal run --set ""
offers "--man" shoal help settings ""
exit $failed
