#!/usr/bin/env bash
# Bundles end to end with the tools: mailpack writes .tar.xz, .tar.gz and .tar that GNU tar and
# sha256sum accept alone; mailverify finds every kind of damage and names the message;
# mailpack never overwrites and leaves no partial file; hostile tars given to any of the five
# tools that read bundles are refused by name and write nothing anywhere.
source "$(dirname "$0")/../lib/testlib.sh"

require_or_skip "$SHARED/bench/gen_mail.py" || exit 0
cd "$SCRATCH"
gen_mail maildir --messages 300 Mail

# damage.py MODE BUNDLE OUT: writes a damaged copy of BUNDLE and prints what it hit.
#   message N   flips a byte inside the Nth message of the manifest, then recompresses the tar
#               cleanly with the same codec, so only the manifest can tell; prints its path
#               and Message-ID.
#   stream      flips a byte in the middle of the compressed bytes.
#   truncate    keeps the first half of the file.
cat >damage.py <<'PY'
import gzip, json, lzma, sys
mode, bundle, out = sys.argv[1], sys.argv[2], sys.argv[3]
raw = bytearray(open(bundle, "rb").read())
if mode == "stream":
    raw[len(raw) // 2] ^= 0x01
    open(out, "wb").write(raw)
elif mode == "truncate":
    open(out, "wb").write(raw[: len(raw) // 2])
else:
    codec = "xz" if raw.startswith(b"\xfd7zXZ\x00") else "gz" if raw.startswith(b"\x1f\x8b") else "tar"
    tar = bytearray(lzma.decompress(raw) if codec == "xz" else gzip.decompress(raw) if codec == "gz" else raw)
    start = tar.rfind(b"/MANIFEST.jsonl\x00")
    body = tar[(start // 512 + 1) * 512:]
    lines = bytes(body[: body.index(b"\x00")]).decode().splitlines()
    entry = json.loads(lines[int(sys.argv[4])])
    tar[entry["offset"] + entry["size"] // 2] ^= 0x01
    tar = bytes(tar)
    open(out, "wb").write(lzma.compress(tar, preset=6) if codec == "xz" else gzip.compress(tar) if codec == "gz" else tar)
    print(entry["path"], entry["message_id"])
PY

for ext in tar.xz tar.gz tar; do
    name="mail-${ext//./-}"
    expect_rc 0 mailpack Mail -o "$name.$ext"
    mkdir "x-$name"
    tar -xf "$name.$ext" -C "x-$name" || fail "GNU tar cannot extract $name.$ext"
    (cd "x-$name/$name" && sha256sum -c --quiet SHA256SUMS) || fail "sha256sum -c rejects $name.$ext"
    [ "$(find "x-$name/$name/mail" -type f | wc -l)" -eq 300 ] || fail "$name.$ext does not hold 300 message files"
    expect_rc 0 mailverify "$name.$ext"
    expect_rc 0 mailverify "x-$name/$name"

    # A byte changed inside message 100, the archive otherwise sound: exit 1, message named.
    read -r path id < <(python3 damage.py message "$name.$ext" "flip-$name.$ext" 100)
    rc=0
    mailverify "flip-$name.$ext" >out 2>&1 || rc=$?
    [ "$rc" -eq 1 ] || { cat out >&2; fail "mailverify on a changed message in $ext exited $rc, expected 1"; }
    grep -qF "[$path]': SHA-256 differs from the manifest (content damaged) <$id>" out || { cat out >&2; fail "mailverify does not name $path <$id> in $ext"; }

    python3 damage.py truncate "$name.$ext" "cut-$name.$ext"
    rc=0
    mailverify "cut-$name.$ext" >out 2>&1 || rc=$?
    [ "$rc" -eq 1 ] || [ "$rc" -eq 2 ] || { cat out >&2; fail "mailverify on a truncated $ext exited $rc"; }
done

for ext in tar.xz tar.gz; do
    python3 damage.py stream "mail-${ext//./-}.$ext" "bad-stream.$ext"
    rc=0
    mailverify "bad-stream.$ext" >out 2>&1 || rc=$?
    [ "$rc" -eq 1 ] || { cat out >&2; fail "mailverify on a damaged $ext stream exited $rc, expected 1"; }
    grep -Eq "^bad-stream\.$ext: (offset [0-9]+: )?[a-z]" out || { cat out >&2; fail "mailverify does not report the damaged $ext stream"; }
done
# An xz bundle is read on past the damage (docs/recovering.md): it says how many are intact.
grep -Eq "note: [0-9]+ of [0-9]+ messages intact" <(mailverify bad-stream.tar.xz 2>&1) \
    || fail "mailverify does not read an xz bundle past the damage"

# --against: is every message of the live Maildir in the backup?
expect_rc 0 mailverify mail-tar-xz.tar.xz --against Mail
printf 'From: new@example.org\nSubject: arrived after the backup\nMessage-ID: <late@example.org>\n\nhello\n' \
    >"Mail/new/1999999999.M1P1.late"
rc=0
mailverify mail-tar-xz.tar.xz --against Mail >out 2>&1 || rc=$?
[ "$rc" -eq 1 ] || { cat out >&2; fail "mailverify --against exited $rc with a message missing from the bundle"; }
grep -q "1999999999.M1P1.late: in the source but not in the bundle <late@example.org>" out \
    || { cat out >&2; fail "mailverify --against does not name the new message"; }
rm "Mail/new/1999999999.M1P1.late"

# --json: one object per target that Python parses.
rc=0
mailverify --json mail-tar-xz.tar.xz flip-mail-tar-xz.tar.xz >verify.json || rc=$?
[ "$rc" -eq 1 ] || fail "mailverify --json over a good and a bad bundle exited $rc, expected 1"
python3 - verify.json "$id" <<'PY' || fail "mailverify --json output is not what it should be"
import json, sys
reports = [json.loads(line) for line in open(sys.argv[1])]
assert [r["ok"] for r in reports] == [True, False], reports
assert reports[0]["messages"] == 300 and reports[0]["problems"] == []
assert any(p.get("message_id") == sys.argv[2] for p in reports[1]["problems"]), reports[1]
PY

# mailpack never overwrites, and a failed pack leaves nothing behind.
sum_before="$(sha256sum mail-tar-xz.tar.xz)"
expect_rc 2 mailpack Mail -o mail-tar-xz.tar.xz
[ "$(sha256sum mail-tar-xz.tar.xz)" = "$sum_before" ] || fail "mailpack changed an existing bundle"
expect_rc 2 mailpack no-such-dir -o missing.tar.xz
rc=0
(trap '' XFSZ; ulimit -f 1024; mailpack Mail -o toobig.tar) 2>out || rc=$?
[ "$rc" -eq 2 ] || { cat out >&2; fail "mailpack exited $rc when the file size limit stopped it, expected 2"; }
[ ! -e missing.tar.xz ] && [ ! -e toobig.tar ] || fail "a failed mailpack left a bundle"
[ -z "$(find . -maxdepth 1 -name '*.partial')" ] || fail "a failed mailpack left $(find . -maxdepth 1 -name '*.partial')"

# Hostile bundles: a real bundle with one dangerous member added before its manifest.
mkdir victim
cat >hostile.py <<'PY'
import io, lzma, sys, tarfile
good, out, kind, scratch = sys.argv[1:5]
source = tarfile.open(good)
top = source.getmembers()[0].name

def file(name, body=b"Subject: pwned\n\npwned\n", mode=0o600):
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(body), mode
    return [(info, body)]

def special(name, type, **fields):
    info = tarfile.TarInfo(name)
    info.type = type
    for key, value in fields.items():
        setattr(info, key, value)
    return [(info, None)]

evil = {
    "dotdot": file("../../escaped.eml"),
    "absolute": file(scratch + "/abs_escape.eml"),
    "dotdot-mid": file(top + "/mail/cur/../../../dotdot_mid.eml"),
    "symlink-dir": special(top + "/mail/Evil/cur", tarfile.SYMTYPE, linkname=scratch + "/victim")
        + file(top + "/mail/Evil/cur/pwned:2,S"),
    "symlink-rel": special(top + "/rel", tarfile.SYMTYPE, linkname="../../../../etc"),
    "hardlink": special(top + "/mail/cur/passwd:2,S", tarfile.LNKTYPE, linkname=scratch + "/victim/passwd")
        + file(top + "/mail/cur/passwd:2,S"),
    "hardlink-rel": special(top + "/mail/cur/passwd:2,S", tarfile.LNKTYPE, linkname="../../../victim/passwd"),
    "chardev": special(top + "/mail/cur/null", tarfile.CHRTYPE, devmajor=1, devminor=3),
    "blockdev": special(top + "/mail/cur/sda", tarfile.BLKTYPE, devmajor=8, devminor=0),
    "fifo": special(top + "/mail/cur/fifo", tarfile.FIFOTYPE),
    "setuid": file(top + "/mail/cur/suid:2,S", mode=0o4755),
}[kind]
buffer = io.BytesIO()
with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
    for member in source.getmembers():
        if member.name.endswith("/MANIFEST.jsonl"):
            for info, body in evil:
                tar.addfile(info, io.BytesIO(body) if body is not None else None)
        tar.addfile(member, source.extractfile(member) if member.isfile() else None)
open(out, "wb").write(lzma.compress(buffer.getvalue()) if out.endswith(".xz") else buffer.getvalue())
print(evil[0][0].name)
PY
mkdir -p Small/cur Small/new Small/tmp
find Mail/cur -type f | sort | sed -n 1,3p | xargs cp -t Small/cur
expect_rc 0 mailpack Small -o small.tar
n=0
for kind in dotdot absolute dotdot-mid symlink-dir symlink-rel hardlink hardlink-rel chardev blockdev fifo setuid; do
    n=$((n + 1))
    ext=tar; [ $((n % 2)) -eq 0 ] && ext=tar.xz
    entry="$(python3 hostile.py small.tar "evil-$kind.$ext" "$kind" "$SCRATCH")"
    # Every tool that reads a bundle refuses it the same way (mailverify reports on stdout).
    for tool in mailconvert mailrestore mailscan mailpick mailverify; do
        target=()
        case "$tool" in mailconvert | mailrestore) target=(-o "out-$kind-$tool") ;; esac
        rc=0
        "$tool" "evil-$kind.$ext" "${target[@]}" >out 2>&1 </dev/null || rc=$?
        [ "$rc" -ne 0 ] || fail "$tool accepted a bundle with a $kind member"
        grep -qF "[$entry" out || { cat out >&2; fail "$tool does not name the $kind entry \"$entry\""; }
        [ ! -e "out-$kind-$tool" ] || [ -z "$(ls -A "out-$kind-$tool")" ] || fail "$tool wrote into its target from a $kind bundle"
    done
done
for escaped in ../escaped.eml ../../escaped.eml abs_escape.eml ../dotdot_mid.eml dotdot_mid.eml; do
    [ ! -e "$escaped" ] || fail "a hostile bundle wrote $escaped"
done
[ -z "$(ls -A victim)" ] || fail "a hostile bundle wrote into victim/: $(ls -A victim)"
# A decompression bomb: one member of 1 GiB of zeros in a 156 KB .tar.xz. It is refused by
# name without being held in memory.
python3 - <<'PY'
import io, tarfile
class Zeros(io.RawIOBase):
    def __init__(self, n): self.n = n
    def readable(self): return True
    def readinto(self, b):
        k = min(len(b), self.n); b[:k] = bytes(k); self.n -= k; return k
with tarfile.open("bomb.tar.xz", "w:xz", format=tarfile.PAX_FORMAT) as t:
    info = tarfile.TarInfo("bomb/mail/cur/1.zeros:2,S"); info.size = 1 << 30
    t.addfile(info, io.BufferedReader(Zeros(1 << 30)))
PY
# GNU time (the command, not the shell's keyword) measures the peak memory.
measured=()
require_or_skip time && measured=(command time -f '%M' -o bomb.rss)
rc=0
"${measured[@]}" mailverify bomb.tar.xz >bomb.out 2>&1 || rc=$?
[ "$rc" -eq 1 ] || { cat bomb.out >&2; fail "mailverify exited $rc on a decompression bomb, expected 1"; }
grep -q '1.zeros:2,S' bomb.out || fail "mailverify does not name the bomb's entry"
[ ! -f bomb.rss ] || [ "$(tail -1 bomb.rss)" -lt 200000 ] || fail "mailverify used $(tail -1 bomb.rss) KB on a decompression bomb"
rc=0
mailrestore bomb.tar.xz -o BombOut 2>bomb.err || rc=$?
[ "$rc" -eq 2 ] || fail "mailrestore exited $rc on a decompression bomb, expected 2"
[ ! -e BombOut ] || [ -z "$(find BombOut -type f)" ] || fail "mailrestore wrote something from a decompression bomb"

note "bundles: 3 codecs packed, verified, damaged and caught; 11 hostile members and a decompression bomb refused"
