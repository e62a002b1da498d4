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
