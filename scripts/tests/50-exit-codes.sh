#!/usr/bin/env bash
# Exit codes and diagnostics as the contract gives them: 0 ok, 1 damage reported, 2 I/O error
# or unreadable input, 64 usage; a summary line on stderr; nothing written on usage errors.
source "$(dirname "$0")/../lib/testlib.sh"

expect_rc 2 mailconvert "$SCRATCH/does-not-exist.mbox" -o "$SCRATCH/out"
grep -q 'does-not-exist.mbox' "$SCRATCH/stderr" || fail "the error does not name the missing file"
[ ! -e "$SCRATCH/out" ] || fail "output was created for a missing source"

expect_rc 64 mailconvert "$FIXTURES/mbox/mboxrd.mbox" -o "$SCRATCH/out" --no-such-option
expect_rc 64 mailconvert "$FIXTURES/mbox/mboxrd.mbox" -o "$SCRATCH/out" --format pdf
expect_rc 64 mailconvert "$FIXTURES/mbox/mboxrd.mbox" -o "$SCRATCH/out" --mbox-variant mboxq
expect_rc 64 mailconvert "$FIXTURES/mbox/mboxrd.mbox"
[ ! -e "$SCRATCH/out" ] || fail "output was created despite a usage error"

# A file that is not mail.
printf 'just some text\nwithout headers\n' >"$SCRATCH/notes.txt"
expect_rc 2 mailconvert "$SCRATCH/notes.txt" -o "$SCRATCH/notes"

# Damage is reported with file and offset, the rest converted, exit 1.
expect_rc 1 mailconvert "$FIXTURES/mbox/content-length-wrong.mbox" -o "$SCRATCH/clw"
grep -q 'content-length-wrong.mbox: offset [0-9]' "$SCRATCH/stderr" || fail "warning lacks file and offset"
[ "$(maildir_count "$SCRATCH/clw")" -eq 3 ] || fail "content-length-wrong.mbox: expected 3 messages"
expect_rc 1 mailconvert "$FIXTURES/mbox/no-final-newline.mbox" -o "$SCRATCH/nfn"
[ "$(maildir_count "$SCRATCH/nfn")" -eq 2 ] || fail "no-final-newline.mbox: expected 2 messages"
last="$(grep -rl 'The last line of this file has no newline' "$SCRATCH/nfn")" || fail "last line lost"
[ "$(tail -c 7 "$last")" = "newline" ] || fail "the last message's bytes changed at its end"
expect_rc 1 mailconvert "$FIXTURES/mbox/ambiguous.mbox" -o "$SCRATCH/amb"
[ "$(maildir_count "$SCRATCH/amb")" -eq 2 ] || fail "ambiguous.mbox: 'From the desk of' split a message"
expect_rc 1 mailconvert "$FIXTURES/mbox/bare-from.mbox" -o "$SCRATCH/bare"
[ "$(maildir_count "$SCRATCH/bare")" -eq 3 ] || fail "bare-from.mbox: expected 3 messages"
expect_rc 0 mailconvert "$FIXTURES/mbox/thunderbird.mbox" -o "$SCRATCH/tb"
python3 "$CENSUS" --fields flags "$SCRATCH/tb" >"$SCRATCH/tb.census"
printf '\nRS\nS\n' | diff - "$SCRATCH/tb.census" >&2 || fail "X-Mozilla-Status flags not read"

# Summary line at the end of stderr, on success too.
expect_rc 0 mailconvert "$FIXTURES/mbox/mboxrd.mbox" -o "$SCRATCH/rd"
tail -1 "$SCRATCH/stderr" | grep -q '3 messages' || fail "no summary line: $(tail -1 "$SCRATCH/stderr")"

# Existing files are never overwritten: a second run adds nothing.
expect_rc 0 mailconvert "$FIXTURES/mbox/mboxrd.mbox" -o "$SCRATCH/rd"
[ "$(maildir_count "$SCRATCH/rd")" -eq 3 ] || fail "a second run duplicated messages"

# eml in, eml out.
expect_rc 0 mailconvert "$FIXTURES/eml" -o "$SCRATCH/eml-md"
[ "$(maildir_count "$SCRATCH/eml-md")" -eq 3 ] || fail "eml folder: expected 3 messages"
for eml in "$FIXTURES"/eml/*.eml; do
    grep -qxF "$(sha256sum <"$eml" | cut -d' ' -f1)" <(python3 "$CENSUS" --fields sha256 "$SCRATCH/eml-md") \
        || fail "$eml changed on the way into the Maildir"
done

# Garbage before the first From_ line is reported (with its offset) and kept as a message of
# its own, and the real message is read: exit 1 (RELIABILITY.md row 8).
rc=0
mailconvert "$FIXTURES/mbox/garbage-before.mbox" -o "$SCRATCH/garbage" 2>"$SCRATCH/stderr" || rc=$?
[ "$rc" -eq 1 ] || fail "garbage-before.mbox exits $rc, expected 1"
grep -q 'garbage-before.mbox: offset 0:' "$SCRATCH/stderr" || fail "the warning does not name the file and offset"
[ "$(maildir_count "$SCRATCH/garbage")" -eq 2 ] || fail "garbage-before.mbox: expected the message and the kept garbage"

# A bzip2 mbox named on its own is refused (exit 2) with advice; inside a tree it is reported
# and the rest of the tree is still converted (exit 1).
if require_or_skip bzip2; then
    mkdir -p "$SCRATCH/bztree"
    cp "$FIXTURES/mbox/mboxrd.mbox" "$SCRATCH/bztree/"
    bzip2 -c "$FIXTURES/mbox/mboxrd.mbox" >"$SCRATCH/bztree/old.mbox.bz2"
    expect_rc 2 mailconvert "$SCRATCH/bztree/old.mbox.bz2" -o "$SCRATCH/bz-alone"
    grep -q 'bunzip2' "$SCRATCH/stderr" || fail "the bzip2 refusal does not say what to do"
    expect_rc 1 mailconvert "$SCRATCH/bztree" -o "$SCRATCH/bz-tree"
    grep -q 'old.mbox.bz2' "$SCRATCH/stderr" || fail "the skipped bzip2 file is not named"
    [ "$(maildir_count "$SCRATCH/bz-tree")" -eq 3 ] || fail "the rest of the tree was not converted"
fi
