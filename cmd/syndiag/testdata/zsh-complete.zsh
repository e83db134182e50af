# zsh-complete.zsh SCRIPT LINE DUMP prints, one a line, what zsh's completion
# system offers for LINE with the completion script SCRIPT loaded: it types
# LINE and a TAB into an interactive zsh under zpty, and catches compadd.
# After zsh-capture-completion (github.com/Valodim/zsh-capture-completion).
# zsh's own file completion adds every name and filters later, so the names
# it prints for _directories are all files, not only folders. DUMP is the
# file compinit -d wrote: reading it saves a second per line.
zmodload zsh/zpty || exit 2
script=$1 line=$2 dump=$3
zpty z zsh -f -i
zpty -w z "PROMPT=''"
zpty -w z "autoload -U compinit; compinit -u -C -d ${(q)dump}"
zpty -w z "source ${(q)script}"
zpty -w z 'bindkey "^I" complete-word'
# A line holding a NUL before and after the completions delimits them.
zpty -w z 'null-line () { echo -E - $'"'"'\0'"'"' }'
zpty -w z 'compprefuncs=( null-line ); comppostfuncs=( null-line exit )'
zpty -w z "zstyle ':completion:*' list-grouped false; zstyle ':completion:*' insert-tab false"
# One line, without tabs: a tab typed into zsh completes.
zpty -w z 'compadd () { if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return $?; fi; typeset -a __hits; builtin compadd -A __hits "$@"; local h; for h in $__hits; do echo -E - "HIT:$h"; done }'
zpty -w z "$line"$'\t'
integer nulls=0
while zpty -r z; do :; done | while IFS= read -r ln; do
	if [[ $ln == *$'\0'* ]]; then
		(( ++nulls == 2 )) && break
		continue
	fi
	(( nulls == 1 )) && [[ $ln == HIT:* ]] && print -r -- ${${ln#HIT:}%$'\r'}
done
zpty -d z
