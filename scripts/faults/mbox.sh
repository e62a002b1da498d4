#!/usr/bin/env bash
# Mbox files that are damaged or hostile in what they say rather than in how they are cut:
# a gzip trailer that does not match its whole data, a missing first From_ line, a
# .mailkeep-mbox record whose From_ line is not one.  Inputs are made with Python.
source "$(dirname "$0")/../lib/testlib.sh"
cd "$SCRATCH"
quiet() { "$@" >/dev/null; }

# count SOURCE: how many messages mailscan lists, whatever its exit (stderr in $SCRATCH/stderr).
count() { { mailscan "$1" --json 2>"$SCRATCH/stderr" || true; } | wc -l; }

# --- A .mbox.gz whose only fault is its trailer (CRC32, then ISIZE, one bit flipped): every
# message is given back, the failed check is named, exit 1.
python3 - <<'PY'
import gzip
mbox = b"".join(b"From a@b Mon Jan  1 00:00:%02d 2024\nSubject: m%d\n\nbody %d\n\n" % (i % 60, i, i) for i in range(466))
open("w.mbox", "wb").write(mbox)
data = bytearray(gzip.compress(mbox))
for name, at in (("crc", -8), ("isize", -4)):
    bad = bytearray(data); bad[at] ^= 0x01
    open("w-%s.mbox.gz" % name, "wb").write(bad)
PY
for field in crc isize; do
    expect_rc 1 quiet mailscan "w-$field.mbox.gz" --json
    n=$(count "w-$field.mbox.gz")
    [ "$n" -eq 466 ] || fail "$field: $n of 466 messages given back"
    grep -q "check of the decoded data failed" "$SCRATCH/stderr" || { cat "$SCRATCH/stderr" >&2; fail "$field: failed check not named"; }
done
case_ok gzip-trailer

# --- A file whose first line is a header but which holds dated From_ lines after empty lines
# is an mbox with its first From_ line missing: split there, the leading bytes reported.
printf 'Subject: zero\n\nbody0\n\nFrom a@b Mon Jan  1 00:00:00 2024\nSubject: one\n\nx\n\nFrom c@d Mon Jan  1 00:00:01 2024\nSubject: two\n\ny\n' > h.mbox
n=$(count h.mbox)
[ "$n" -eq 3 ] || fail "header-first mbox read as $n messages, not 3"
expect_rc 1 quiet mailscan h.mbox
grep -q "bytes before the first From_ line" "$SCRATCH/stderr" || fail "leading bytes not reported"
# A single message without any From_ line is still one message, read without complaint.
printf 'Subject: alone\n\nFrom here on, a body.\n\n>From a@b Mon Jan  1 00:00:00 2024\n' > one.eml
[ "$(count one.eml)" -eq 1 ] || fail "single message split"
expect_rc 0 quiet mailscan one.eml
case_ok header-before-first-from

# --- A .mailkeep-mbox record whose From_ line is not one (a header line with a CR) is not
# written as a separator: a warning, the default From_ line, both messages read back.
mkdir -p md/cur md/new md/tmp
printf 'Subject: a\n\nA\n' > md/cur/100.one:2,S
printf 'Subject: b\n\nB\n' > md/cur/200.two:2,S
printf '100.one\tSubject: injected\r\n200.two\tFrom x@y Mon Jan  1 00:00:02 2024\n' > md/.mailkeep-mbox
expect_rc 1 quiet mailconvert md -o out.mbox
grep -q "is not a From_ line" "$SCRATCH/stderr" || { cat "$SCRATCH/stderr" >&2; fail "bad record not reported"; }
! grep -q "injected" out.mbox || fail "recorded line written as a separator"
[ "$(count out.mbox)" -eq 2 ] || fail "converted mbox reads back as $(count out.mbox) messages, not 2"
grep -qx "From x@y Mon Jan  1 00:00:02 2024" out.mbox || fail "valid recorded From_ line not kept"
case_ok sidecar-from-line
