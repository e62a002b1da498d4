#!/usr/bin/env bash
# File and folder names mailkeep cannot read are reported for what they are.
source "$(dirname "$0")/../lib/testlib.sh"
cd "$SCRATCH"

# Names that are not UTF-8 (Latin-1 from an old system): never converted silently without
# them, never called "vanished"; each is named, and the run exits 1.
python3 - <<'PY'
import os
for d in (b"M", b"M/.Caf\xe9"):
    for sub in (b"cur", b"new", b"tmp"):
        os.makedirs(d + b"/" + sub)
open(b"M/.Caf\xe9/cur/1.x:2,S", "wb").write(b"Subject: a\n\nb\n")
open(b"M/cur/2\xff.x:2,S", "wb").write(b"Subject: c\n\nd\n")
open(b"M/cur/3.x:2,S", "wb").write(b"Subject: e\n\nf\n")
PY
expect_rc 1 mailconvert M -o Out
[ "$(grep -c 'not valid UTF-8' "$SCRATCH/stderr")" -eq 2 ] || { cat "$SCRATCH/stderr"; fail "both names that are not UTF-8 should be reported"; }
! grep -q vanished "$SCRATCH/stderr" || fail "a name that is not UTF-8 was called vanished"
[ "$(maildir_count Out)" -eq 1 ] || fail "the readable message was not converted"
case_ok names-not-utf8

# Folders that merge into one target folder bring the same unique name twice: the INBOX under
# the names INBOX, Inbox and inbox, and two entries that decode to one name (.a\2eb, .a\2Eb).
# One cur/ must never hold two files with one base name (Dovecot keys its uidlist on it), and a
# rerun adds nothing.
bases() { find "$1" -path '*/cur/*' -o -path '*/new/*' | sed 's,.*/,,; s/[:!;]2,.*//' | sort; }
python3 - <<'PY'
import os
def put(folder, name, body):
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join("inboxes", folder, sub), exist_ok=True)
    open(os.path.join("inboxes", folder, "cur", name), "wb").write(body)
put("", "1.a:2,S", b"Subject: one\n\nmsg1\n")
put(".INBOX", "1.a:2,S", b"Subject: two\n\nmsg2\n")
put(".Inbox", "1.a:2,RS", b"Subject: three\n\nmsg3\n")
put(".a\\2eb", "2.b:2,S", b"Subject: four\n\nmsg4\n")
put(".a\\2Eb", "2.b:2,RS", b"Subject: five\n\nmsg5\n")
PY
for run in 1 2; do
    expect_rc 0 mailconvert inboxes -o merged
    [ "$(find merged -path '*/cur/*' | wc -l)" -eq 5 ] || { find merged -type f >&2; fail "merged folders, run $run: not 5 messages"; }
    [ -z "$(bases merged | uniq -d)" ] || { find merged -type f >&2; fail "merged folders, run $run: one base name twice"; }
done
same_census inboxes merged --fields sha256
case_ok names-merged-folders-unique

# A message held twice, in two sources that merge into the INBOX, is written twice in every
# format: "already present" means present before the run, never written by this run.
mkdir -p tree
printf 'From a@b Thu Jan  1 00:00:00 2024\nSubject: x\n\nfirst\n\nFrom a@b Thu Jan  1 00:00:00 2024\nSubject: same\n\nsame\n' >tree/Inbox
cp tree/Inbox tree/inbox
printf 'From a@b Thu Jan  1 00:00:00 2024\nSubject: y\n\nthird\n' >tree/INBOX
expect_rc 0 mailconvert tree -o tree-md
[ "$(maildir_count tree-md)" -eq 5 ] || fail "two INBOX mboxes holding one message: $(maildir_count tree-md) of 5 in Maildir"
expect_rc 0 mailconvert tree -o tree-md
[ "$(maildir_count tree-md)" -eq 5 ] || fail "two INBOX mboxes: a rerun changed the count to $(maildir_count tree-md)"
expect_rc 0 mailconvert tree -o tree.mbox --format mbox
[ "$(grep -c '^From ' tree.mbox)" -eq 5 ] || fail "two INBOX mboxes: not 5 in mbox"
mkdir -p twice/cur twice/new twice/tmp twice/.inbox/cur twice/.inbox/new twice/.inbox/tmp
printf 'Subject: twice\n\nsame\n' >twice/cur/1.a:2,S
cp twice/cur/1.a:2,S twice/.inbox/cur/
expect_rc 0 mailconvert twice -o twice-md
[ "$(maildir_count twice-md)" -eq 2 ] || fail "root and .inbox holding one message: $(maildir_count twice-md) of 2"
case_ok names-inbox-duplicates-kept
