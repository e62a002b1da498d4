#!/usr/bin/env bash
# Other programs read the Maildir mailconvert writes: Python's mailbox module, mutt and mu see the
# same messages, in the same folders, with the same flags.
source "$(dirname "$0")/../lib/testlib.sh"
require_or_skip "$SHARED/bench/gen_mail.py" || exit 0

gen_mail mbox --messages 300 >"$SCRATCH/gen.mbox"
expect_rc 0 mailconvert "$SCRATCH/gen.mbox" -o "$SCRATCH/gen"
expect_rc 0 mailconvert "$FIXTURES/mbox/status.mbox" -o "$SCRATCH/status"
copy_fixture_tree "$FIXTURES/maildir/plusplus" "$SCRATCH/pp-src"
expect_rc 0 mailconvert "$SCRATCH/pp-src" -o "$SCRATCH/pp.mboxes" --format mbox
expect_rc 0 mailconvert "$SCRATCH/pp.mboxes" -o "$SCRATCH/pp"

# Python's mailbox.Maildir: (folder, new/cur, flags) of every message, folder names decoded
# as census.py does.
python_view() {
    PYTHONPATH="$REPO/scripts/lib" python3 - "$1" <<'PY'
import mailbox, sys
from census import decode_mutf7
root = mailbox.Maildir(sys.argv[1], factory=None, create=False)
rows = []
for label, box in [(".", root)] + [("/".join(map(decode_mutf7, name.split("."))), root.get_folder(name)) for name in root.list_folders()]:
    for message in box:
        rows.append(f"{label}\t{message.get_subdir()}\t{''.join(sorted(message.get_flags()))}")
print("\n".join(sorted(rows)))
PY
}
for dir in gen status pp; do
    python_view "$SCRATCH/$dir" >"$SCRATCH/$dir.python"
    python3 "$CENSUS" --fields folder,state,flags "$SCRATCH/$dir" >"$SCRATCH/$dir.census"
    [ -s "$SCRATCH/$dir.python" ] || fail "Python's mailbox found no messages in $dir"
    diff "$SCRATCH/$dir.census" "$SCRATCH/$dir.python" >&2 || fail "Python's mailbox.Maildir sees $dir differently"
done
[ "$(wc -l <"$SCRATCH/gen.python")" -eq 300 ] || fail "Python's mailbox does not count 300 messages"
[ "$(wc -l <"$SCRATCH/pp.python")" -eq 7 ] || fail "Python's mailbox does not count 7 messages in the fixture tree"
grep -qx $'Entw\xc3\xbcrfe\tcur\tDS' "$SCRATCH/pp.python" || fail "Python does not see the drafts folder .Entw&APw-rfe"

# mutt, driven through a pseudo-terminal: tag the messages matching a pattern and pipe each
# one to a counter.
require_or_skip mutt script || exit 0
[ "$(mutt_count "$SCRATCH/gen" .)" -eq 300 ] || fail "mutt does not count 300 messages"
[ "$(mutt_count "$SCRATCH/status" .)" -eq 7 ] || fail "mutt does not count 7 messages in status"
[ "$(mutt_count "$SCRATCH/status" '~N')" -eq 1 ] || fail "mutt does not see exactly 1 new message"
[ "$(mutt_count "$SCRATCH/status" '~F')" -eq 1 ] || fail "mutt does not see exactly 1 flagged message"
[ "$(mutt_count "$SCRATCH/status" '~Q')" -eq 1 ] || fail "mutt does not see exactly 1 replied message"
[ "$(mutt_count "$SCRATCH/status" '~D')" -eq 1 ] || fail "mutt does not see exactly 1 deleted message"
[ "$(mutt_count "$SCRATCH/status" '~R')" -eq 4 ] || fail "mutt does not see exactly 4 read messages"
[ "$(mutt_count "$SCRATCH/pp/.Archive.2024" .)" -eq 2 ] || fail "mutt does not count 2 messages in .Archive.2024"

# mu (maildir-utils) indexes the Maildirs mailconvert writes: every message, in its folder,
# with its flags (mu's letters D F P R S T as in the file name, N for a message in new/).
source "$REPO/scripts/lib/setup.sh"
ensure_packages maildir-utils
require_or_skip mu || exit 0
for dir in gen status pp; do
    home="$SCRATCH/mu-$dir"
    HOME="$home" mu init --muhome="$home" --maildir="$SCRATCH/$dir" >/dev/null 2>&1 \
        && HOME="$home" mu index --muhome="$home" >/dev/null 2>&1 || fail "mu could not index $dir"
    HOME="$home" mu find --muhome="$home" --fields 'm g' "" 2>/dev/null \
        | python3 -c 'import sys
for line in sys.stdin:
    folder, _, flags = line.rstrip("\n").partition(" ")
    print(folder + "\t" + "".join(sorted(c for c in flags if c in "DFNPRST")))' | sort >"$SCRATCH/$dir.mu"
    python3 - "$SCRATCH/$dir" <<'PY' | sort >"$SCRATCH/$dir.files"
import os, sys
root = sys.argv[1]
for folder, dirs, files in os.walk(root):
    state = os.path.basename(folder)
    if state not in ("cur", "new"):
        continue
    name = os.path.relpath(os.path.dirname(folder), root)
    for f in files:
        if f.startswith("."):
            continue
        info = f.partition(":2,")[2]
        print("/" + ("" if name == "." else name) + "\t" + "".join(sorted(set(info) & set("DFPRST") | ({"N"} if state == "new" else set()))))
PY
    [ -s "$SCRATCH/$dir.mu" ] || fail "mu found no messages in $dir"
    diff "$SCRATCH/$dir.files" "$SCRATCH/$dir.mu" >&2 || fail "mu sees $dir differently from its files"
done
