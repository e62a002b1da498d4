#!/usr/bin/env bash
# mbox -> Maildir -> mbox is byte-identical for mboxrd input; Maildir -> mbox -> Maildir keeps
# every message's folder, state, flags, mtime and bytes.
source "$(dirname "$0")/../lib/testlib.sh"

# Byte-identical mbox round trips: the fixtures whose dialect mailkeep writes back as it read it.
for name in mboxrd crlf mboxo; do
    src="$FIXTURES/mbox/$name.mbox"
    expect_rc 0 mailconvert "$src" -o "$SCRATCH/$name"
    expect_rc 0 mailconvert "$SCRATCH/$name" -o "$SCRATCH/$name.back.mbox"
    same_file "$src" "$SCRATCH/$name.back.mbox"
done
[ "$(maildir_count "$SCRATCH/mboxrd")" -eq 3 ] || fail "mboxrd.mbox: expected 3 messages"
# An empty mbox holds no mail: a problem (exit 1), and no empty copy is written.
expect_rc 1 mailconvert "$FIXTURES/mbox/empty.mbox" -o "$SCRATCH/empty.mbox"
grep -q "empty.mbox: no mail found" "$SCRATCH/stderr" || fail "empty.mbox: no 'no mail found'"
[ ! -e "$SCRATCH/empty.mbox" ] || fail "empty.mbox: an empty copy was written"
# Quoting is undone one level in the Maildir copy.
grep -qx 'From here on, one level of quoting.' "$SCRATCH"/mboxrd/cur/* "$SCRATCH"/mboxrd/new/* 2>/dev/null \
    || fail "mboxrd: '>From here' was not unquoted in the Maildir"
grep -qx '>From there, a line that was already quoted once.' "$SCRATCH"/mboxrd/cur/* "$SCRATCH"/mboxrd/new/* 2>/dev/null \
    || fail "mboxrd: '>>From there' did not become '>From there'"

# mboxcl2 written as mboxcl2 comes back as it was (Content-Length recomputed, no quoting).
expect_rc 0 mailconvert "$FIXTURES/mbox/mboxcl2.mbox" -o "$SCRATCH/cl2"
[ "$(maildir_count "$SCRATCH/cl2")" -eq 2 ] || fail "mboxcl2.mbox: expected 2 messages"
expect_rc 0 mailconvert "$SCRATCH/cl2" -o "$SCRATCH/cl2.mbox" --mbox-variant mboxcl2
same_file "$FIXTURES/mbox/mboxcl2.mbox" "$SCRATCH/cl2.mbox"

# The same through stdin and stdout.
mailconvert - -o - <"$FIXTURES/mbox/mboxrd.mbox" >"$SCRATCH/stream.mbox" 2>"$SCRATCH/stderr" \
    || fail "mailconvert - -o - failed: $(cat "$SCRATCH/stderr")"
same_file "$FIXTURES/mbox/mboxrd.mbox" "$SCRATCH/stream.mbox"

# A tree of mbox files (the example mailbox) -> Maildir -> the same tree of mbox files.
expect_rc 0 mailconvert "$FIXTURES/example" -o "$SCRATCH/example"
[ "$(maildir_count "$SCRATCH/example")" -eq 29 ] || fail "example: expected 29 messages"
expect_rc 0 mailconvert "$SCRATCH/example" -o "$SCRATCH/example.back" --format mbox
diff -r "$FIXTURES/example" "$SCRATCH/example.back" >&2 || fail "example tree did not round-trip"

# 2000 synthetic messages (attachments, encoded words, quoted From lines).
require_or_skip "$SHARED/bench/gen_mail.py" || exit 0
gen_mail mbox --messages 2000 >"$SCRATCH/gen.mbox"
expect_rc 0 mailconvert "$SCRATCH/gen.mbox" -o "$SCRATCH/gen"
[ "$(maildir_count "$SCRATCH/gen")" -eq 2000 ] || fail "gen.mbox: expected 2000 messages"
expect_rc 0 mailconvert "$SCRATCH/gen" -o "$SCRATCH/gen.back.mbox"
same_file "$SCRATCH/gen.mbox" "$SCRATCH/gen.back.mbox"

# Compressed sources read the same.
gzip -c "$SCRATCH/gen.mbox" >"$SCRATCH/gen.mbox.gz"
xz -T1 -0 -c "$SCRATCH/gen.mbox" >"$SCRATCH/gen.mbox.xz"
for ext in gz xz; do
    expect_rc 0 mailconvert "$SCRATCH/gen.mbox.$ext" -o "$SCRATCH/gen-$ext.mbox"
    same_file "$SCRATCH/gen.mbox" "$SCRATCH/gen-$ext.mbox"
done
