# Sourced by scripts/tests/*.sh.  Gives each test a scratch directory, the repository paths,
# and small assertions.  Tests run with the built tools on PATH (scripts/test sets it up; run
# alone, a test finds them with `swift build --show-bin-path`).
set -euo pipefail

REPO="${REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
SHARED="${SHARED:-$(cd "$REPO/.." && pwd)/shared}"
CORPUS="$SHARED/corpus"
FIXTURES="$REPO/fixtures"
CENSUS="$REPO/scripts/lib/census.py"
command -v mailconvert >/dev/null || PATH="$(cd "$REPO" && swift build --show-bin-path):$PATH"
SCRATCH="$(mktemp -d)"
trap 'rm -rf "$SCRATCH"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
# A command that stops a test through `set -e` says which one it was.  (So that it is a real
# failure: no pipeline may end in a reader that stops early, such as head or grep -q, whose
# writer then dies of SIGPIPE and fails the pipeline under pipefail; use sed -n 1,Np.)
trap 'echo "FAIL: $0: line $LINENO: \"$BASH_COMMAND\" exited $?" >&2' ERR
note() { echo "$*"; }

# require_or_skip WHAT...: each WHAT is a command on PATH, or a file or directory when it holds
# a '/'.  Returns 0 when all are there.  When one is missing, under CI=true the test fails: a
# run that could not check something is not green.  Run by hand, it prints "skip: ..." and
# returns 1, so that `require_or_skip mutt || exit 0` skips the rest of a test and
# `if require_or_skip bzip2; then ...; fi` one part of it.
require_or_skip() {
    local what
    for what in "$@"; do
        if [[ "$what" == */* ]]; then
            [ -e "$what" ] && continue
        else
            type -P "$what" >/dev/null && continue
        fi
        [ "${CI:-}" = true ] && fail "missing prerequisite: $what"
        echo "skip: $what not found"
        return 1
    done
}

# expect_rc WANT CMD...: runs CMD (stderr kept in $SCRATCH/stderr) and fails unless it exits WANT.
expect_rc() {
    local want="$1" rc=0
    shift
    "$@" 2>"$SCRATCH/stderr" || rc=$?
    [ "$rc" -eq "$want" ] || { cat "$SCRATCH/stderr" >&2; fail "'$*' exited $rc, expected $want"; }
}

# same_file A B: byte-identical, or fail showing the first difference.
same_file() { cmp "$1" "$2" >&2 || fail "$2 differs from $1"; }

# same_census A B [census options]: the two Maildir trees hold the same messages.
same_census() {
    local a="$1" b="$2"
    shift 2
    python3 "$CENSUS" "$@" "$a" >"$SCRATCH/census.a"
    python3 "$CENSUS" "$@" "$b" >"$SCRATCH/census.b"
    [ -s "$SCRATCH/census.a" ] || fail "census of $a is empty"
    diff "$SCRATCH/census.a" "$SCRATCH/census.b" >&2 || fail "census of $b differs from $a"
}

# maildir_count DIR: messages in cur/ and new/ of every folder of the tree.
maildir_count() { python3 "$CENSUS" --fields sha256 "$1" | wc -l; }

# copy_fixture_tree SRC DEST: copies a Maildir fixture and sets each message's mtime from the
# leading timestamp of its unique name (git does not keep mtimes).
copy_fixture_tree() {
    cp -r "$1" "$2"
    find "$2" -type f \( -path '*/cur/*' -o -path '*/new/*' \) ! -name '.*' | while read -r f; do
        touch -d "@$(basename "$f" | grep -o '^[0-9]*')" "$f"
    done
}

# gen_mail ARGS...: the shared synthetic corpus generator.
gen_mail() { python3 "$SHARED/bench/gen_mail.py" "$@"; }

# mutt_count DIR PATTERN: how many messages mutt finds in the Maildir DIR matching PATTERN.
# mutt runs in a pseudo-terminal (script), tags the pattern and pipes each message to a counter.
# It runs with a HOME of its own holding a minimal muttrc: with the user's HOME, mutt on a new
# machine first asks whether to create ~/Mail, the question eats the keys pushed to it, and the
# count comes out wrong (and ~/Mail appears).
mutt_count() {
    local home="$SCRATCH/mutt-home"
    if [ ! -d "$home" ]; then
        mkdir -p "$home/Mail"
        cat >"$home/.muttrc" <<EOF
set folder="$home/Mail" spoolfile="$home/Mail" mbox="$home/Mail/mbox"
set record="" postponed="$home/Mail/postponed" header_cache="" save_history=0
set pipe_split=yes wait_key=no
EOF
        printf '#!/bin/sh\ncat >/dev/null\necho x >>"%s/mutt-count"\n' "$SCRATCH" >"$SCRATCH/count-one"
        chmod +x "$SCRATCH/count-one"
    fi
    rm -f "$SCRATCH/mutt-count"
    HOME="$home" MAIL="$home/Mail" timeout 60 script -qec "mutt -n -F '$home/.muttrc' -R -f '$1' \
        -e 'push \"<tag-pattern>$2<enter><tag-prefix><pipe-entry>$SCRATCH/count-one<enter><quit>\"'" \
        /dev/null >/dev/null 2>&1 </dev/null || fail "mutt failed on $1"
    [ -f "$SCRATCH/mutt-count" ] && wc -l <"$SCRATCH/mutt-count" || echo 0
}

# case_ok NAME: one line per fault-suite case that held (scripts/faults).
case_ok() { echo "case $1: ok"; }

# flip FILE AT MASK [OUT]: XOR the byte at AT (a number, or `mid` for the middle) with MASK,
# in place or into OUT: the one way every fault case damages a file.
flip() {
    python3 - "$@" <<'EOF_FLIP'
import sys
src, at, mask = sys.argv[1], sys.argv[2], int(sys.argv[3], 0)
dst = sys.argv[4] if len(sys.argv) > 4 else src
data = bytearray(open(src, 'rb').read())
data[len(data) // 2 if at == 'mid' else int(at)] ^= mask
open(dst, 'wb').write(data)
EOF_FLIP
}
