#!/usr/bin/env bash
# scripts/install puts a working toolkit under PREFIX: every tool runs from PREFIX/bin, man
# finds and renders the pages, bash, zsh and fish complete options from the installed
# completions (found where each shell looks under PREFIX/share), a second run changes nothing and DESTDIR stages the same
# tree.  It installs the debug build that scripts/test has made: the install steps are the
# same for both configurations, and a release build would double the time of the test run.
source "$(dirname "$0")/../lib/testlib.sh"
source "$REPO/scripts/lib/setup.sh"

# missing WHAT: fails under CI=true; run by hand, says so and skips the rest of the test.
missing() {
    [ "${CI:-}" = true ] && fail "missing prerequisite: $*"
    skip "$*"
    exit 0
}

ensure_packages man-db bash-completion zsh fish
command -v man >/dev/null || missing "man (Debian package man-db)"
command -v zsh >/dev/null || missing "zsh (Debian package zsh)"
command -v fish >/dev/null || missing "fish (Debian package fish)"
BASH_COMPLETION=/usr/share/bash-completion/bash_completion
[ -f "$BASH_COMPLETION" ] || missing "$BASH_COMPLETION (Debian package bash-completion)"

tools=(mailconvert mailpack mailverify mailscan mailpick mailrestore)
PREFIX="$SCRATCH/prefix"

install_into() {
    "$REPO/scripts/install" --configuration debug "$@" >"$SCRATCH/install.log" 2>&1 \
        || { cat "$SCRATCH/install.log" >&2; fail "scripts/install $* failed"; }
}
# file_listing DIR: every file under DIR with its mode and checksum, one a line.
file_listing() { (cd "$1" && find . -type f -printf '%m %p\n' | sort | while read -r mode path; do
    echo "$mode $path $(sha256sum <"$path" | cut -d' ' -f1)"; done); }

install_into "$PREFIX"
for tool in "${tools[@]}"; do
    for file in "bin/$tool" "share/man/man1/$tool.1" "share/bash-completion/completions/$tool" \
        "share/zsh/site-functions/_$tool" "share/fish/vendor_completions.d/$tool.fish"; do
        [ -s "$PREFIX/$file" ] || fail "scripts/install did not install $file"
    done
    "$PREFIX/bin/$tool" --help >"$SCRATCH/help" 2>&1 || fail "$PREFIX/bin/$tool --help failed"
    grep -q "^USAGE: $tool " "$SCRATCH/help" || fail "$tool --help shows no usage line: $(head -3 "$SCRATCH/help")"
done
[ "$(ls "$PREFIX/bin" | wc -l)" -eq ${#tools[@]} ] || fail "PREFIX/bin holds more than the tools: $(ls "$PREFIX/bin")"

# The page renders without complaint and says what the command says.
man -l "$PREFIX/share/man/man1/mailpack.1" >"$SCRATCH/man" 2>"$SCRATCH/man.err" \
    || { cat "$SCRATCH/man.err" >&2; fail "man -l mailpack.1 failed"; }
[ ! -s "$SCRATCH/man.err" ] || { cat "$SCRATCH/man.err" >&2; fail "man complains about mailpack.1"; }
grep -q 'mailpack' "$SCRATCH/man" || fail "the rendered page does not name mailpack"
grep -q -- '--volume-size' "$SCRATCH/man" || fail "the rendered page lacks --volume-size"
# man finds every page by name under PREFIX/share/man.
for tool in "${tools[@]}"; do
    MANPATH="$PREFIX/share/man" man -w "$tool" >"$SCRATCH/where" 2>&1 || fail "man does not find $tool under PREFIX"
    [ "$(cat "$SCRATCH/where")" = "$PREFIX/share/man/man1/$tool.1" ] || fail "man finds $tool at $(cat "$SCRATCH/where")"
done

# complete_line LINE: what bash offers for the last word of LINE, one a line, using the
# completion that bash-completion loads on demand from PREFIX/share (as for /usr/local/share).
complete_line() {
    XDG_DATA_DIRS="$PREFIX/share" bash -c '
        source "$1"
        read -ra COMP_WORDS <<<"$2"
        command="${COMP_WORDS[0]}"
        if declare -F _comp_load >/dev/null; then _comp_load "$command"; else __load_completion "$command"; fi \
            || { echo "no completion loaded for $command" >&2; exit 1; }
        spec="$(complete -p "$command")"
        function="${spec##*-F }"
        function="${function%% *}"
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1)) COMP_LINE="$2" COMP_POINT=${#2} COMPREPLY=()
        "$function" "$command" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
        printf "%s\n" "${COMPREPLY[@]}"' complete-line "$BASH_COMPLETION" "$1"
}
offered="$(complete_line 'mailpack --vol')" || fail "bash completion for mailpack failed"
[ "$offered" = "--volume-size" ] || fail "bash completes 'mailpack --vol' to '$offered', expected --volume-size"
offered="$(complete_line 'mailconvert --mbox-variant mboxr')" || fail "bash completion for mailconvert failed"
[ "$offered" = "mboxrd" ] || fail "bash completes 'mailconvert --mbox-variant mboxr' to '$offered', expected mboxrd"

# zsh's compinit finds _mailpack in PREFIX/share/zsh/site-functions; fish completes from
# PREFIX/share/fish/vendor_completions.d.
registered="$(cd "$SCRATCH" && HOME="$SCRATCH" zsh -f -c "fpath=('$PREFIX/share/zsh/site-functions' \$fpath)
    autoload -U compinit && compinit -u -d '$SCRATCH/zcompdump' && print -r -- \$_comps[mailpack]")" \
    || fail "zsh compinit failed"
[ "$registered" = _mailpack ] || fail "zsh does not register _mailpack for mailpack: '$registered'"
offered="$(HOME="$SCRATCH" XDG_DATA_DIRS="$PREFIX/share" PATH="$PREFIX/bin:$PATH" fish -c 'complete -C"mailpack --vol"' | cut -f1)" \
    || fail "fish completion failed"
[ "$offered" = "--volume-size" ] || fail "fish completes 'mailpack --vol' to '$offered', expected --volume-size"

# Again: the same files, nothing added.
file_listing "$PREFIX" >"$SCRATCH/tree.first"
install_into "$PREFIX"
file_listing "$PREFIX" | diff "$SCRATCH/tree.first" - >&2 || fail "a second install changed the tree"

# DESTDIR stages the same tree under DESTDIR/PREFIX.
DESTDIR="$SCRATCH/stage" install_into /usr
file_listing "$SCRATCH/stage/usr" | diff "$SCRATCH/tree.first" - >&2 || fail "DESTDIR=stage install /usr differs from the PREFIX install"
[ "$(ls "$SCRATCH/stage")" = usr ] || fail "DESTDIR install wrote outside DESTDIR/usr: $(ls "$SCRATCH/stage")"

# Clear failures: a usage error, and a PREFIX that cannot be written.
expect_rc 64 "$REPO/scripts/install" "$SCRATCH/a" "$SCRATCH/b"
expect_rc 1 "$REPO/scripts/install" --configuration debug /proc/mailkeep
grep -q 'cannot write to /proc/mailkeep' "$SCRATCH/stderr" || fail "no clear message for an unwritable PREFIX: $(cat "$SCRATCH/stderr")"
