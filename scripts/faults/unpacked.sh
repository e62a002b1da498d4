#!/usr/bin/env bash
# An unpacked bundle (a `tar -xf` output directory given as a source) is read only inside its
# own directory: manifest paths that leave it, or lead through a symlink, are refused by name.
source "$(dirname "$0")/../lib/testlib.sh"
cd "$SCRATCH"

# A bundle to unpack (made with mailpack, then damaged with Python only).
python3 - <<'PY'
import os
for sub in ("cur", "new", "tmp", ".s/cur", ".s/new", ".s/tmp"):
    os.makedirs("M/" + sub, exist_ok=True)
open("M/cur/1.a:2,S", "wb").write(b"Subject: a\n\none\n")
open("M/.s/cur/2.b:2,S", "wb").write(b"Subject: b\n\ntwo\n")
open("M/.s/cur/3.c:2,S", "wb").write(b"Subject: c\n\nthree\n")
PY
mailpack M -o B.tar >/dev/null 2>&1 || fail "mailpack failed"
# rc_out WANT CMD...: like rc_out, with stdout and stderr both kept in $SCRATCH/out.
rc_out() {
    local want="$1" rc=0
    shift
    "$@" >"$SCRATCH/out" 2>&1 || rc=$?
    [ "$rc" -eq "$want" ] || { cat "$SCRATCH/out" >&2; fail "'$*' exited $rc, expected $want"; }
}
unpack() { rm -rf "$1"; mkdir "$1"; tar -xf B.tar -C "$1"; find "$1" -name MANIFEST.jsonl -printf '%h\n'; }

# 1. A manifest path with `..` (and an absolute one) naming a file outside the bundle, with
# matching sha256/size and a regenerated SHA256SUMS line: refused by name in every tool,
# never read.
mkdir -p outside
printf 'Subject: secret\n\nsecret\n' > SECRET
top=$(unpack u1)
rel=$(python3 -c 'import os,sys; print(os.path.relpath(sys.argv[1], sys.argv[2]))' "$PWD/SECRET" "$top")
python3 - "$top" "$rel" "$PWD/SECRET" <<'PY'
import hashlib, json, os, sys
top, rel, absolute = sys.argv[1:]
data = open(absolute, "rb").read()
lines = open(top + "/MANIFEST.jsonl").read().splitlines()
entry = json.loads(lines[-1])
out = list(lines)
for path in (rel, absolute, "mail/../../" + rel):
    e = dict(entry, path=path, sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    out.append(json.dumps(e))
body = ("\n".join(out) + "\n").encode()
open(top + "/MANIFEST.jsonl", "wb").write(body)
sums = [l for l in open(top + "/SHA256SUMS").read().splitlines() if not l.endswith("  MANIFEST.jsonl")]
sums.append(hashlib.sha256(body).hexdigest() + "  MANIFEST.jsonl")
open(top + "/SHA256SUMS", "w").write("\n".join(sums) + "\n")
PY
rc_out 1 mailverify u1
grep -q 'not under mail/\|could leave the bundle' "$SCRATCH/out" || { cat "$SCRATCH/out"; fail "mailverify did not refuse the path leaving the bundle"; }
mailscan u1 --json > scan.json 2>/dev/null || true
! grep -q SECRET scan.json || fail "mailscan listed a file outside the bundle"
rc_out 1 mailrestore u1 -o R1
grep -q 'could leave the bundle' "$SCRATCH/out" || { cat "$SCRATCH/out"; fail "mailrestore did not name the refused path"; }
! grep -rq secret R1 || fail "mailrestore copied a file from outside the bundle"
[ "$(maildir_count R1)" -eq 3 ] || fail "the bundle's own messages were not restored"
# The same without SHA256SUMS.
rm "$top/SHA256SUMS"
rc_out 1 mailrestore u1 -o R1b
! grep -rq secret R1b || fail "without SHA256SUMS, a file from outside the bundle was restored"
case_ok unpacked-manifest-path-escape

# 2. A directory inside the bundle replaced by a symlink to another directory holding files
# of the same names: nothing is read through the link; it is reported; exit 1.
top=$(unpack u7)
sdir=$(dirname "$(find "$top/mail" -name '2.b*' | head -1)")   # .../mail/s/cur
s=$(dirname "$sdir")
mkdir -p elsewhere && cp -r "$s" elsewhere/s
rm -rf "$s"; ln -s "$PWD/elsewhere/s" "$s"
rc_out 1 mailverify u7
grep -q 'symlink' "$SCRATCH/out" || { cat "$SCRATCH/out"; fail "mailverify did not report the symlink"; }
! grep -q 'all good' "$SCRATCH/out" || fail "mailverify said all good"
rc_out 1 mailrestore u7 -o R7
[ "$(maildir_count R7)" -eq 1 ] || fail "mailrestore read messages through a symlinked directory"
case_ok unpacked-symlinked-directory

# 3. An unpacked bundle inside a tree being packed (a Maildir plus above3/o/, an unpacked
# bundle): it is not read, so it is named as a problem, exit 1, never left out silently.
mkdir -p above3/cur above3/new above3/tmp
printf 'Subject: top\n\ntop\n' > above3/cur/9.z:2,S
unpack above3/o >/dev/null
rc_out 1 mailpack above3 -o P3.tar
grep -q 'above3/o.*unpacked bundle inside the tree.*source of its own' "$SCRATCH/out" || { cat "$SCRATCH/out"; fail "the unpacked bundle inside the tree was not named with the way out"; }
case_ok unpacked-bundle-inside-tree
