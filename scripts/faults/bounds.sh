#!/usr/bin/env bash
# Bounds and input the user gets wrong: sources with no mail, impossible dates, symlinked and
# misnamed destinations, mail text that tries to reach the terminal, many folders under a low
# descriptor limit, and manifests too large to hold.  Inputs are made with the shell and Python.
source "$(dirname "$0")/../lib/testlib.sh"
cd "$SCRATCH"
quiet() { "$@" >/dev/null; }

# A three-message mbox to work with.
cp "$FIXTURES/mbox/mboxrd.mbox" three.mbox

# --- A source that holds no mail is exit 1 and said so, in every tool; nothing is written.
: > empty.mbox
mkdir -p emptydir/cur emptydir/new emptydir/tmp
for tool in mailscan mailpick mailverify; do
    expect_rc 1 quiet "$tool" empty.mbox
    grep -q "empty.mbox: no mail found" "$SCRATCH/stderr" || [ "$tool" = mailverify ] || fail "$tool: no 'no mail found'"
done
expect_rc 1 quiet mailverify empty.mbox
expect_rc 1 quiet mailscan emptydir
grep -q "emptydir: no mail found" "$SCRATCH/stderr" || fail "mailscan: empty Maildir not reported"
expect_rc 1 quiet mailpack empty.mbox -o empty.tar.xz
grep -q "no mail found" "$SCRATCH/stderr" || fail "mailpack: no 'no mail found'"
[ ! -e empty.tar.xz ] || fail "mailpack wrote a bundle of nothing"
expect_rc 1 quiet mailconvert empty.mbox -o empty-out.mbox
[ ! -e empty-out.mbox ] || fail "mailconvert wrote an empty mbox"
expect_rc 1 quiet mailrestore empty.mbox -o empty-restored
case_ok empty-source
# An empty bundle made by hand (header, empty manifest and sums) is no backup either.
python3 - <<'EOF'
import io, json, lzma, tarfile
def add(t, name, data):
    info = tarfile.TarInfo(name); info.size = len(data); info.mode = 0o600
    t.addfile(info, io.BytesIO(data))
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
    add(t, "m/mailkeep-bundle.json", json.dumps({"format": "mailkeep-bundle", "version": 2, "sources": []}).encode())
    add(t, "m/MANIFEST.jsonl", b"")
    add(t, "m/SHA256SUMS", b"")
open("nothing.tar.xz", "wb").write(lzma.compress(buf.getvalue()))
EOF
expect_rc 1 quiet mailverify nothing.tar.xz
expect_rc 1 quiet mailscan nothing.tar.xz
grep -q "no mail found" "$SCRATCH/stderr" || fail "mailscan: empty bundle not reported"
case_ok empty-bundle
# An empty mbox beside mail in a tree is just an empty folder: no warning, exit 0.
mkdir tree && cp three.mbox tree/INBOX && : > tree/Empty
expect_rc 0 quiet mailscan tree
case_ok empty-folder-in-tree

# --- Impossible dates and times are usage errors, never rolled over.
for d in 2024-02-30 2023-02-29 2024-13-01 2024-04-31 2024-01-01T25:00:00Z 2024-01-01T10:61:00Z \
         2024-01-01T10:00:60Z 2024-01-01T10:00:00+25:00 2024-01-01T10:00:00+01:60 \
         2024-01-01T10:00:00+01:00junk 2024-01-01T10:00:00Zjunk; do
    expect_rc 64 quiet mailscan three.mbox --since "$d"
    expect_rc 64 quiet mailrestore three.mbox -o never --until "$d"
done
[ ! -e never ] || fail "a usage error wrote something"
expect_rc 0 quiet mailscan three.mbox --since 2024-02-29 --until 2030-01-01T00:00:00+14:00
case_ok impossible-dates

# --- A --message-ids file that cannot be read is an I/O error (2), not a usage error.
expect_rc 2 quiet mailscan three.mbox --message-ids "$SCRATCH"
expect_rc 2 quiet mailscan three.mbox --message-ids "$SCRATCH/missing"
case_ok message-ids-unreadable

# --- A symlinked destination: followed to a directory, refused otherwise.
mkdir real && ln -s real link && ln -s nowhere dangling && touch file && ln -s file filelink
expect_rc 0 quiet mailconvert three.mbox -o link
[ "$(find real/cur real/new -type f | wc -l)" -eq 3 ] || fail "not written through the link to a directory"
expect_rc 0 quiet mailrestore three.mbox -o link
grep -q "3 skipped as already present" "$SCRATCH/stderr" || fail "restore through the link did not see the messages"
expect_rc 2 quiet mailconvert three.mbox -o dangling
grep -q "dangling" "$SCRATCH/stderr" || fail "dangling link not named"
expect_rc 2 quiet mailrestore three.mbox -o filelink
grep -q "not a directory" "$SCRATCH/stderr" || fail "link to a file not explained"
[ ! -s file ] && [ ! -e nowhere ] || fail "written through a link"
case_ok symlinked-destination

# --- A directory inside cur/ is called a directory.
mkdir -p dirincur/cur/sub dirincur/new dirincur/tmp
cp "$FIXTURES/eml/8bit.eml" "dirincur/cur/1.host:2,S"
expect_rc 1 quiet mailscan dirincur
grep -q "dirincur/cur/sub: a directory" "$SCRATCH/stderr" || { cat "$SCRATCH/stderr"; fail "directory in cur/ not called one"; }
case_ok directory-in-cur

# --- --compression that contradicts the output name, or a name mailpack does not write.
expect_rc 64 quiet mailpack three.mbox -o x.zip
expect_rc 64 quiet mailpack three.mbox -o x.tar.bz2
expect_rc 64 quiet mailpack three.mbox -o x.tar.gz --compression xz
expect_rc 64 quiet mailpack three.mbox -o x.gz --compression xz
[ ! -e x.zip ] && [ ! -e x.tar.bz2 ] && [ ! -e x.tar.gz ] || fail "a usage error wrote a bundle"
expect_rc 0 quiet mailpack three.mbox -o plain.gz
[ "$(head -c 2 plain.gz | od -An -tx1 | tr -d ' ')" = 1f8b ] || fail "x.gz is not gzip"
case_ok compression-vs-name

# --- 1,500 folders under `ulimit -n 256`: mbox and Maildir output, converted and restored.
python3 - <<'PY'
import os
for i in range(1500):
    d = f"many/f{i:04d}"
    for sub in ("cur", "new", "tmp"):
        os.makedirs(f"{d}/{sub}")
    with open(f"{d}/cur/{1700000000 + i}.M{i}P1.host:2,S", "w") as f:
        f.write(f"From: a{i}@example.org\nSubject: folder {i}\nMessage-ID: <{i}@example.org>\n"
                f"Date: Mon, 1 Jan 2024 10:00:00 +0000\n\nbody {i}\n")
PY
(
    ulimit -n 256
    expect_rc 0 quiet mailconvert many -o many-mbox --format mbox
    expect_rc 0 quiet mailconvert many -o many-maildir
    expect_rc 0 quiet mailpack many -o many.tar.xz
    expect_rc 0 quiet mailrestore many.tar.xz -o many-restored --format mbox
    expect_rc 0 quiet mailrestore many.tar.xz -o many-restored --format mbox
    grep -q "0 restored, 1500 skipped" "$SCRATCH/stderr" || fail "second restore into the mbox tree was not a no-op"
    expect_rc 0 quiet mailrestore many.tar.xz -o many-restored-maildir
)
[ "$(find many-mbox -type f ! -name '.*' | wc -l)" -eq 1500 ] || fail "mbox tree: not 1500 files"
[ -z "$(find many-mbox many-restored -name '*.partial')" ] || fail "partial files left"
[ "$(grep -l '^Subject: folder 1234$' -r many-mbox | wc -l)" -eq 1 ] || fail "mbox tree: folder 1234 lost"
[ "$(find many-maildir many-restored-maildir -path '*/cur/*' -type f | wc -l)" -eq 3000 ] || fail "Maildir trees: not 1500 messages each"
case_ok many-folders-few-descriptors

# --- Text from mail never reaches the terminal as control characters, in any tool's output.
python3 - <<'PY'
import os
esc = "\x1b]0;owned\x07\x1b[2J\u009b31m\u202eevil\u2028forged line"
root = "hostile"
for sub in ("cur", "new", "tmp"):
    os.makedirs(f"{root}/cur" if sub == "cur" else f"{root}/{sub}", exist_ok=True)
    os.makedirs(f"{root}/.Evil\x1b[31mFolder\n/{sub}", exist_ok=True)
msg = (f"From: \"Mallory {esc}\" <m@example.org>\nSubject: {esc}\n"
       f"Message-ID: <id{esc}@example.org>\nDate: Mon, 1 Jan 2024 10:00:00 +0000\n\nbody\n").encode()
open(f"{root}/cur/1700000000.M1P1.host:2,S", "wb").write(msg)
open(f"{root}/.Evil\x1b[31mFolder\n/cur/1700000001.M2P1.host:2,S", "wb").write(msg.replace(b"body", b"other"))
PY
hostile_output() {
    # Every byte a tool printed for people: no ESC, BEL, C1 CSI, bidi override or U+2028.
    python3 - "$@" <<'PY'
import sys
for path in sys.argv[1:]:
    data = open(path, "rb").read()
    for bad in (b"\x1b", b"\x07", "\u009b".encode(), "\u202e".encode(), "\u2028".encode()):
        if bad in data:
            sys.exit(f"{path}: control sequence {bad!r} reached the output")
PY
}
mailscan hostile > scan.out 2> scan.err || true
[ "$(wc -l < scan.out)" -eq 2 ] || { cat -v scan.out; fail "mailscan: a header forged a line"; }
mailscan hostile --json > scan.json 2>/dev/null || true
python3 - <<'PY' || fail "mailscan --json is not exact"
import json
want = "\x1b]0;owned\x07\x1b[2J\u009b31m\u202eevil\u2028forged line"
rows = [json.loads(l) for l in open("scan.json", encoding="utf-8")]
assert len(rows) == 2 and all(r["subject"] == want for r in rows), rows
PY
mailrestore hostile -o hostile-dry --dry-run > dry.out 2> dry.err || true
mailrestore hostile -o hostile-restored > /dev/null 2> restore.err || true
mailconvert hostile -o hostile.mbox > /dev/null 2> convert.err || true
mailpick hostile --subject owned > /dev/null 2> pick.err || true
mailpack hostile -o hostile.tar > /dev/null 2> pack.err || true
python3 - <<'PY'
data = bytearray(open("hostile.tar", "rb").read())
at = data.index(b"\nbody\n")
data[at + 1] ^= 0x20
open("hostile.tar", "wb").write(bytes(data))
PY
mailverify hostile.tar > verify.out 2> verify.err || true
grep -q "SHA-256 differs" verify.out || fail "mailverify did not report the damaged message"
mailrestore hostile.tar -o hostile-from-bundle > /dev/null 2> restore-bundle.err || true
grep -q "checksum mismatch" restore-bundle.err || fail "mailrestore did not report the damaged message"
hostile_output scan.out scan.err dry.out dry.err restore.err convert.err pick.err pack.err verify.out verify.err restore-bundle.err \
    || fail "control characters from mail reached the terminal"
case_ok terminal-safe-output

# --- Numbers from a hostile tar never trap: a base-256 size below zero on a pax header, and
# a pax size near Int64.max before another entry.
python3 - <<'PY'
import io, tarfile, lzma
def tar(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data, pax in members:
            info = tarfile.TarInfo(name); info.size = len(data); info.pax_headers = pax
            t.addfile(info, io.BytesIO(data))
    return bytearray(buf.getvalue())
data = tar([("m/mail/cur/1.x:2,S", b"abc", {"comment": "hi"})])
data[124:136] = b"\xff" * 12
data[148:156] = b"        "
data[148:156] = ("%06o\0 " % sum(data[0:512])).encode()
open("negative-size.tar.xz", "wb").write(lzma.compress(bytes(data)))
data = tar([("m/mail/cur/1.x:2,S", b"", {"size": "9223372036854775807"}), ("m/mail/cur/2.x:2,S", b"abc", {})])
open("huge-size.tar.xz", "wb").write(lzma.compress(bytes(data)))
PY
for f in negative-size huge-size; do
    # An impossible size is unreadable input (2), or, where the reader walks on past it as
    # damage to the next intact xz block, damage found and reported (1): never a trap.
    for tool in mailscan mailverify mailpick mailrestore; do
        target=()
        [ "$tool" != mailrestore ] || target=(-o "restored-$f")
        rc=0; "$tool" "$f.tar.xz" "${target[@]}" > /dev/null 2> "$SCRATCH/stderr" || rc=$?
        { [ "$rc" -eq 1 ] || [ "$rc" -eq 2 ]; } || { cat "$SCRATCH/stderr"; fail "$tool $f: exit $rc"; }
    done
    grep -q "size" "$SCRATCH/stderr" || fail "mailrestore $f: the size is not named"
    [ ! -e "restored-$f" ] || [ -z "$(find "restored-$f" -type f)" ] || fail "mailrestore $f restored something"
done
case_ok tar-numbers-no-trap

# A bundle whose manifest lines are all unusable still holds mail: not "no mail found".
mailpack three.mbox -o garbled.tar > /dev/null 2>&1
python3 - <<'PY'
import tarfile
data = bytearray(open("garbled.tar", "rb").read())
with tarfile.open("garbled.tar") as t:
    m = next(m for m in t.getmembers() if m.name.endswith("/MANIFEST.jsonl"))
    at, size = m.offset_data, m.size
chunk = bytes(data[at:at + size])
data[at:at + size] = bytes(b if b == 0x0A else 0x78 for b in chunk)
open("garbled.tar", "wb").write(bytes(data))
PY
expect_rc 1 quiet mailscan garbled.tar
! grep -q "no mail found" "$SCRATCH/stderr" || fail "a bundle with messages and a garbled manifest was called empty"
case_ok garbled-manifest-is-not-empty

# --- A large manifest is read in bounded memory: its lines are kept in a scratch file and only
# an index (path hash, line offset) is held, so peak memory does not grow with the manifest's
# bytes (a 1,000,000-entry manifest took 1.7 GB when held whole). MANIFEST_ENTRIES sets how many
# (100,000 by default, so a debug build stays within a minute; 1,000,000 holds the same bound
# with a release build). A line of 24 MiB streams past without being held, refused by number.
if require_or_skip /usr/bin/time; then
    python3 - "${MANIFEST_ENTRIES:-100000}" <<'PY'
import io, json, sys, tarfile
n = int(sys.argv[1])
sha = "0" * 64
def line(i):
    return '{"path":"mail/INBOX/cur/%d.M1P1.host:2,S","size":100,"sha256":"%s","offset":%d,"folder":"INBOX","flags":"S","new":false,"message_id":"<%d@example.org>","subject":"message %d"}\n' % (i, sha, 512 * i, i, i)
def bundle(name, write_manifest):
    with open(name + ".manifest", "wb") as m: write_manifest(m)
    with tarfile.open(name, "w", format=tarfile.PAX_FORMAT) as t:
        for member, data in [("m/mailkeep-bundle.json", json.dumps({"format": "mailkeep-bundle", "version": 2, "sources": []}).encode()),
                             ("m/MANIFEST.jsonl", None), ("m/SHA256SUMS", b"")]:
            if data is None:
                info = t.gettarinfo(name + ".manifest", member); info.mode = 0o600; info.uid = info.gid = 0; info.uname = info.gname = ""
                with open(name + ".manifest", "rb") as f: t.addfile(info, f)
            else:
                info = tarfile.TarInfo(member); info.size = len(data); info.mode = 0o600
                t.addfile(info, io.BytesIO(data))
def many(m):
    for start in range(0, n, 10000):
        m.write("".join(line(i) for i in range(start, min(n, start + 10000))).encode())
def long_line(m):
    m.write(line(0).encode())
    m.write(b'{"path":"mail/INBOX/cur/x.M1P1.host:2,S","size":1,"sha256":"' + sha.encode() + b'","subject":"')
    for _ in range(24): m.write(b"x" * (1 << 20))
    m.write(b'"}\n' + line(1).encode())
bundle("many.tar", many)
bundle("longline.tar", long_line)
PY
    peak() { sed -n 's/.*Maximum resident set size (kbytes): //p' "$SCRATCH/time"; }
    rc=0; /usr/bin/time -v -o "$SCRATCH/time" mailscan many.tar --message-id '<7@example.org>' > /dev/null 2> "$SCRATCH/stderr" || rc=$?
    [ "$rc" -le 1 ] || { tail -3 "$SCRATCH/stderr"; fail "mailscan on a large manifest: exit $rc"; }
    grep -q "MANIFEST.jsonl" "$SCRATCH/stderr" && fail "mailscan: a valid large manifest had a problem"
    [ "$(peak)" -lt 100000 ] || fail "mailscan on ${MANIFEST_ENTRIES:-100000} manifest entries peaked at $(peak) KB (bound 100,000 KB)"
    rc=0; /usr/bin/time -v -o "$SCRATCH/time" mailscan longline.tar > /dev/null 2> "$SCRATCH/stderr" || rc=$?
    grep -q "longline.tar\[MANIFEST.jsonl\]: line 2 is longer than 16 MiB; not read" "$SCRATCH/stderr" || fail "the 24 MiB line is not refused by number"
    [ "$(peak)" -lt 100000 ] || fail "mailscan on a 24 MiB manifest line peaked at $(peak) KB (bound 100,000 KB)"
    # The same manifest read three other ways: through the xz index (the manifest starts a
    # block of its own, as mailpack writes it), by mailverify, and from an unpacked bundle.
    manifest_at=$(python3 -c 'import tarfile,sys; print(next(m.offset for m in tarfile.open(sys.argv[1]) if m.name.endswith("MANIFEST.jsonl")))' many.tar)
    xz -T1 -0 --block-list="$manifest_at,0" -c many.tar > indexed.tar.xz
    mkdir big-unpacked && tar -xf many.tar -C big-unpacked
    # mailverify keeps a line of its report for each of the listed messages, all missing here
    # (about 500 bytes each in a debug build), so its bound allows for them.
    for run in "mailscan indexed.tar.xz --message-id <7@example.org>" "mailscan big-unpacked/m --message-id <7@example.org>" \
               "mailverify many.tar" "mailverify longline.tar"; do
        bound=100000; [ "$run" = "mailverify many.tar" ] && bound=$((100000 + ${MANIFEST_ENTRIES:-100000} / 2))
        rc=0; /usr/bin/time -v -o "$SCRATCH/time" $run > /dev/null 2> "$SCRATCH/stderr" || rc=$?
        [ "$rc" -le 1 ] || { tail -3 "$SCRATCH/stderr"; fail "$run: exit $rc"; }
        [ "$run" = "mailverify longline.tar" ] || ! grep -q "line [0-9]* is" "$SCRATCH/stderr" || fail "$run: a valid large manifest had a problem"
        [ "$(peak)" -lt "$bound" ] || fail "$run on ${MANIFEST_ENTRIES:-100000} manifest entries peaked at $(peak) KB (bound $bound KB)"
    done
    case_ok manifest-in-bounded-memory

    # A $TMPDIR that cannot hold the manifest's scratch file is this machine's problem: one
    # error naming it, exit 2, in every reader (never a crash, never "the bundle is damaged").
    for tool in mailscan mailverify; do
        rc=0; TMPDIR=/nonexistent/tmp $tool many.tar >/dev/null 2>"$SCRATCH/stderr" || rc=$?
        [ "$rc" -eq 2 ] && grep -q "/nonexistent/tmp" "$SCRATCH/stderr" || { cat "$SCRATCH/stderr" >&2; fail "$tool with a missing TMPDIR exited $rc"; }
    done
    if [ "$(id -u)" -eq 0 ]; then
        mkdir -p Tiny && mount -t tmpfs -o size=1m tmpfs Tiny
        for run in "mailscan many.tar" "mailverify many.tar" "mailrestore many.tar -o restored-tiny"; do
            rc=0; TMPDIR=$PWD/Tiny $run >/dev/null 2>"$SCRATCH/stderr" || rc=$?
            [ "$rc" -eq 2 ] && [ "$(wc -l <"$SCRATCH/stderr")" -le 2 ] && grep -q "No space left on device" "$SCRATCH/stderr" \
                || { umount Tiny; head -3 "$SCRATCH/stderr" >&2; fail "$run with a full TMPDIR exited $rc"; }
        done
        umount Tiny
    else
        [ "${CI:-}" = true ] && fail "the full-TMPDIR part needs root (a 1 MiB tmpfs)"
        echo "skip: the full-TMPDIR part needs root (a 1 MiB tmpfs)"
    fi
    case_ok scratch-space-is-named
fi
