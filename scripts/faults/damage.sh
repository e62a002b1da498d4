#!/usr/bin/env bash
# Damaged backups give back everything that survived (docs/recovering.md): a byte flipped in
# the middle of a 1,000-message bundle, its last 100 bytes cut, a volume missing from a set,
# cut .mbox.xz/.mbox.gz sources, and bundles made by hand or re-packed with tar.  Damage is
# done with Python; what should be lost is worked out with Python and xz, not with mailkeep.
source "$(dirname "$0")/../lib/testlib.sh"
[ -n "${KEEP_SCRATCH:-}" ] && trap - EXIT && echo "scratch: $SCRATCH"
require_or_skip python3 xz gzip tar "$SHARED/bench/gen_mail.py" || exit 0
cd "$SCRATCH"

gen_mail maildir Mail --messages 1000 --seed 8 >/dev/null
mailpack Mail -o full.tar.xz 2>/dev/null
xz -dc full.tar.xz | tar -xO --wildcards '*/MANIFEST.jsonl' >manifest.jsonl
[ "$(wc -l <manifest.jsonl)" -eq 1000 ] || fail "the bundle does not list 1000 messages"

# lost_names FILE: the member paths a tool's output names as lost, sorted.
lost_names() { sed -n 's/.*\[\(mail\/[^]]*\)\].*\(lost in the damage\|checksum mismatch\|SHA-256 differs\).*/\1/p' "$1" | sort -u; }
# not_restored DIR: the manifest paths whose content is not among the messages in DIR.
not_restored() {
    restored_hashes "$1" >restored.sums
    python3 -c 'import json,sys
have=set(open("restored.sums").read().split())
for l in open("manifest.jsonl"):
    e=json.loads(l)
    if e["sha256"] not in have: print(e["path"])' | sort
}
# restored_hashes DIR: the SHA-256 of every restored message, sorted.
restored_hashes() { find "$1" -type f \( -path '*/cur/*' -o -path '*/new/*' \) -exec sha256sum {} + | cut -c1-64 | sort; }

# --- one flipped byte in the middle: only the block holding it is lost -----------------------
python3 - full.tar.xz flip.tar.xz manifest.jsonl in-damaged-block <<'EOF'
import json, subprocess, sys
src, dst, manifest, out = sys.argv[1:]
data = bytearray(open(src, 'rb').read())
at = len(data) // 2
blocks = []
for line in subprocess.run(['xz', '--robot', '-lvv', src], capture_output=True, text=True, check=True).stdout.splitlines():
    f = line.split('\t')
    if f[0] == 'block':
        # block, stream, number in stream, number, compressed offset, uncompressed offset, compressed size, uncompressed size
        blocks.append((int(f[4]), int(f[5]), int(f[6]), int(f[7])))
hit = next(b for b in blocks if b[0] <= at < b[0] + b[2])
data[at] ^= 0x01
open(dst, 'wb').write(data)
lo, hi = hit[1], hit[1] + hit[3]
with open(out, 'w') as o:
    for line in open(manifest):
        e = json.loads(line)
        if e['offset'] < hi and e['offset'] + e['size'] > lo:
            o.write(e['path'] + '\n')
EOF
sort -o in-damaged-block in-damaged-block
in_block=$(wc -l <in-damaged-block)
[ "$in_block" -gt 0 ] && [ "$in_block" -lt 100 ] || fail "flipped byte: $in_block messages in the damaged block"
rc=0; mailrestore flip.tar.xz -o R-flip 2>flip.err || rc=$?
[ "$rc" -eq 1 ] || { cat flip.err >&2; fail "mailrestore on a flipped byte exited $rc"; }
# Every message not restored is named, and only those; all of them are in the damaged block
# (the ones before the damage inside it decode and verify, and are restored).
not_restored R-flip >expected-lost
lost=$(wc -l <expected-lost)
[ "$lost" -gt 0 ] || fail "flipped byte: nothing lost"
comm -23 expected-lost in-damaged-block | diff /dev/null - >&2 || fail "messages outside the damaged block were not restored"
lost_names flip.err | diff expected-lost - >&2 || fail "mailrestore did not name exactly the lost messages"
restored=$(restored_hashes R-flip | wc -l)
[ "$restored" -eq $((1000 - lost)) ] || fail "flipped byte: $restored restored, expected $((1000 - lost))"
rc=0; mailverify flip.tar.xz >verify.out || rc=$?
[ "$rc" -eq 1 ] || fail "mailverify on a flipped byte exited $rc"
lost_names verify.out | diff expected-lost - >&2 || fail "mailverify and mailrestore name different messages"
grep -q "$((1000 - lost)) of 1000 messages intact" verify.out || fail "mailverify does not say how many are intact"
for tool in "mailscan flip.tar.xz" "mailpick flip.tar.xz"; do
    rc=0; $tool >listed 2>tool.err || rc=$?
    [ "$rc" -eq 1 ] || fail "$tool exited $rc"
    lost_names tool.err | diff expected-lost - >&2 || fail "$tool names different messages"
done
[ "$(grep -c '^From ' <(mailpick flip.tar.xz 2>/dev/null))" -eq $((1000 - lost)) ] || fail "mailpick gave back a different count"
note "flipped byte: $restored of 1000 restored, $lost named as lost ($in_block messages in the damaged block)"
case_ok flipped_byte_costs_one_block

# --- a flipped byte in the first block: the file is still known as a bundle (its kind is told
# from the first intact block), and only that block's messages are lost ------------------------
flip full.tar.xz 5000 1 early.tar.xz
for tool in mailscan mailverify; do
    rc=0; $tool early.tar.xz >early.out 2>&1 || rc=$?
    [ "$rc" -eq 1 ] || { head -3 early.out >&2; fail "$tool on a bundle damaged in its first block exited $rc"; }
done
rc=0; mailrestore early.tar.xz -o R-early 2>early.err || rc=$?
[ "$rc" -eq 1 ] || { head -3 early.err >&2; fail "mailrestore on a bundle damaged in its first block exited $rc"; }
early_restored=$(restored_hashes R-early | wc -l)
[ "$early_restored" -gt 900 ] && [ $((early_restored + $(lost_names early.err | wc -l))) -eq 1000 ] || fail "first block damaged: $early_restored restored"
note "flipped byte in the first block: $early_restored of 1000 restored, the rest named"
case_ok flipped_byte_in_first_block

# A selection that touches only intact blocks restores all it selects.
folder=$(python3 -c 'import json
lost=set(open("expected-lost").read().split())
fs={}
for l in open("manifest.jsonl"):
    e=json.loads(l); fs.setdefault(e["folder"],[]).append(e["path"] in lost)
print(next(f for f,v in sorted(fs.items()) if f and not any(v)))')
want=$(python3 -c 'import json,sys
print(sum(1 for l in open("manifest.jsonl") if json.loads(l)["folder"]==sys.argv[1]))' "$folder")
mailrestore flip.tar.xz -o R-sel --folder "$folder" 2>sel.err || true
[ "$(restored_hashes R-sel | wc -l)" -eq "$want" ] || { cat sel.err >&2; fail "selection of intact folder $folder restored too few"; }
id=$(python3 -c 'import json
lost=set(open("expected-lost").read().split())
print(next(json.loads(l)["message_id"] for l in open("manifest.jsonl") if json.loads(l)["path"] not in lost))')
mailrestore flip.tar.xz -o R-one --message-id "$id" 2>one.err
[ "$(restored_hashes R-one | wc -l)" -eq 1 ] || fail "one intact message was not restored"
grep -q "not checked\|was not (mailverify reads everything)" one.err || { cat one.err >&2; fail "a selective read does not say what it left unchecked"; }
case_ok selection_of_intact_blocks

# --- the last 100 bytes cut -------------------------------------------------------------------
head -c -100 full.tar.xz >cut.tar.xz
rc=0; mailrestore cut.tar.xz -o R-cut 2>cut.err || rc=$?
[ "$rc" -eq 1 ] || { cat cut.err >&2; fail "mailrestore on a cut bundle exited $rc"; }
cut_restored=$(restored_hashes R-cut | wc -l)
mkdir X && (xz -dc cut.tar.xz 2>/dev/null | tar -x -C X 2>/dev/null || true)
tar_restored=$(find X -type f \( -path '*/cur/*' -o -path '*/new/*' \) | wc -l)
[ "$cut_restored" -ge "$tar_restored" ] && [ "$cut_restored" -ge 990 ] || fail "cut bundle: $cut_restored restored (xz -dc | tar x: $tar_restored)"
rc=0; mailverify cut.tar.xz >cut.verify || rc=$?
[ "$rc" -eq 1 ] || fail "mailverify on a cut bundle exited $rc"
lost_names cut.err | diff - <(lost_names cut.verify) >&2 || fail "mailverify and mailrestore disagree on the cut bundle"
[ $((cut_restored + $(lost_names cut.err | wc -l))) -eq 1000 ] || fail "cut bundle: restored and lost do not add up to 1000"
note "last 100 bytes cut: $cut_restored of 1000 restored (xz -dc | tar x: $tar_restored)"
case_ok cut_tail

# --- a volume missing from the middle of a set ------------------------------------------------
size=$(stat -c %s full.tar.xz)
mailpack Mail -o vol.tar.xz --volume-size $((size / 5 + 1)) 2>/dev/null
[ -f vol.tar.xz.005 ] || fail "expected five volumes"
mkdir lastgone shortfirst headerflip && cp vol.tar.xz.00[1-4] lastgone/ && cp vol.tar.xz.00[1-5] shortfirst/ && cp vol.tar.xz.00[1-5] headerflip/
rm vol.tar.xz.003
rc=0; mailrestore vol.tar.xz.001 -o R-vol 2>vol.err || rc=$?
[ "$rc" -eq 1 ] || { cat vol.err >&2; fail "mailrestore with a missing volume exited $rc"; }
grep -q "vol.tar.xz.003: missing volume" vol.err || { cat vol.err >&2; fail "the missing volume is not named"; }
! grep -q "vol.tar.xz.001: .*missing" vol.err || fail "the first volume is blamed"
vol_restored=$(restored_hashes R-vol | wc -l)
vol_lost=$(lost_names vol.err | wc -l)
[ "$vol_restored" -gt 500 ] && [ $((vol_restored + vol_lost)) -eq 1000 ] || fail "missing volume: $vol_restored restored, $vol_lost lost"
rc=0; mailverify vol.tar.xz.001 >vol.verify || rc=$?
[ "$rc" -eq 1 ] && grep -q "vol.tar.xz.003: missing volume" vol.verify || fail "mailverify does not name the missing volume"
lost_names vol.err | diff - <(lost_names vol.verify) >&2 || fail "mailverify and mailrestore disagree on the missing volume"
note "volume 3 of 5 missing: $vol_restored of 1000 restored, $vol_lost named as lost"
case_ok missing_middle_volume

# --- the last volume missing: named as missing (not as .001 cut short), and mailrestore,
# mailscan and mailverify count the same messages (those of blocks that passed their check) ---
rc=0; mailrestore lastgone/vol.tar.xz.001 -o R-last 2>last.err || rc=$?
[ "$rc" -eq 1 ] || { cat last.err >&2; fail "mailrestore with the last volume missing exited $rc"; }
grep -q "vol.tar.xz.005: missing volume" last.err || { cat last.err >&2; fail "the missing last volume is not named"; }
last_restored=$(restored_hashes R-last | wc -l)
[ "$last_restored" -gt 500 ] || fail "last volume missing: only $last_restored restored"
rc=0; mailverify lastgone/vol.tar.xz.001 >last.verify || rc=$?
[ "$rc" -eq 1 ] && grep -q "vol.tar.xz.005: missing volume" last.verify || { cat last.verify >&2; fail "mailverify does not name the missing last volume"; }
grep -q "bundle, $last_restored messages checked" last.verify || { cat last.verify >&2; fail "mailverify counts otherwise than the $last_restored restored"; }
last_scanned=$( (mailscan lastgone/vol.tar.xz.001 2>/dev/null || true) | wc -l)
[ "$last_scanned" -eq "$last_restored" ] || fail "mailscan lists $last_scanned, mailrestore restored $last_restored"
note "last volume of 5 missing: $last_restored of 1000 restored, listed and checked alike"
case_ok missing_last_volume

# --- the first volume cut short: the later volumes stay where they are (the set's volume size
# is that of its full volumes), so only the first volume's cut-off block is lost -------------
truncate -s $(( $(stat -c %s shortfirst/vol.tar.xz.001) * 9 / 10 )) shortfirst/vol.tar.xz.001
rc=0; mailrestore shortfirst/vol.tar.xz.001 -o R-short 2>short.err || rc=$?
[ "$rc" -eq 1 ] && grep -q "vol.tar.xz.001: offset [0-9]*: cut short" short.err || { head -3 short.err >&2; fail "a short first volume: exit $rc, not named"; }
short_restored=$(restored_hashes R-short | wc -l)
[ "$short_restored" -gt 900 ] && [ $((short_restored + $(lost_names short.err | wc -l))) -eq 1000 ] || fail "short first volume: $short_restored restored"
rc=0; mailverify shortfirst/vol.tar.xz.001 >short.verify || rc=$?
lost_names short.err | diff - <(lost_names short.verify) >&2 || fail "mailverify and mailrestore disagree on the short first volume"
note "first volume cut to 90%: $short_restored of 1000 restored, the rest named"
case_ok short_first_volume

# --- a flipped bit in the first block's header of a volume set: still read as a bundle (the
# first volume alone does not show what the set is), only that block lost --------------------
flip headerflip/vol.tar.xz.001 17 4
rc=0; mailrestore headerflip/vol.tar.xz.001 -o R-headerflip 2>headerflip.err || rc=$?
[ "$rc" -eq 1 ] || { head -3 headerflip.err >&2; fail "a damaged first block header in a volume set: exit $rc"; }
[ "$(restored_hashes R-headerflip | wc -l)" -gt 900 ] || fail "a damaged first block header in a volume set: $(restored_hashes R-headerflip | wc -l) restored"
rc=0; mailscan headerflip/vol.tar.xz.001 >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "mailscan on a damaged first block header in a volume set: exit $rc"
case_ok volume_set_damaged_at_its_start

# --- cut and damaged compressed mbox sources --------------------------------------------------
gen_mail mbox in.mbox --messages 300 --seed 9 >/dev/null
xz -T2 --block-size=200000 -c in.mbox >in.mbox.xz
gzip -c in.mbox >in.mbox.gz
for codec in xz gz; do
    python3 - in.mbox.$codec cut.mbox.$codec want.$codec <<'EOF'
import gzip, lzma, re, sys
src, dst, want = sys.argv[1:]
data = open(src, 'rb').read()
cut = data[:len(data) // 2]
open(dst, 'wb').write(cut)
d = lzma.LZMADecompressor() if src.endswith('xz') else __import__('zlib').decompressobj(31)
out = d.decompress(cut)
# jwz rule: From_ at the start or after an empty line; the last one is cut by the damage.
starts = [0] + [m.start() + 2 for m in re.finditer(rb'\n\nFrom ', out)]
open(want, 'w').write(str(len(starts) - 1))
EOF
    rc=0; mailconvert cut.mbox.$codec -o O-$codec 2>mbox.err || rc=$?
    [ "$rc" -eq 1 ] || { cat mbox.err >&2; fail "mailconvert on a cut .mbox.$codec exited $rc"; }
    grep -q "cut.mbox.$codec: offset [0-9]*: truncated" mbox.err || { cat mbox.err >&2; fail "no offset for the cut in .mbox.$codec"; }
    got=$(maildir_count O-$codec)
    [ "$got" -eq "$(cat want.$codec)" ] || fail ".mbox.$codec cut: $got messages given back, $(cat want.$codec) whole before the cut"
    note ".mbox.$codec cut in half: $got of 300 given back (every whole message before the cut)"
done
flip in.mbox.xz mid 0x40 flip.mbox.xz
rc=0; mailconvert flip.mbox.xz -o O-flip 2>flip-mbox.err || rc=$?
[ "$rc" -eq 1 ] && grep -q "flip.mbox.xz: offset [0-9]*:" flip-mbox.err || { cat flip-mbox.err >&2; fail "a damaged .mbox.xz is not reported with its offset"; }
[ "$(maildir_count O-flip)" -gt 100 ] || fail "a damaged .mbox.xz gave back too little"
case_ok compressed_mbox_cut_or_damaged

# --- a bundle made by hand to the spec, and one re-packed with tar -cJf -----------------------
python3 - <<'EOF'
import hashlib, io, json, tarfile, time
def bundle(name, listed_extra=False):
    top = name.split('.')[0]
    msgs = {f'mail/cur/1700000{i}.M{i}P1.host:2,S': (f'From: a{i}@example.org\r\nSubject: hand {i}\r\nMessage-ID: <h{i}@example.org>\r\n\r\nbody {i}\r\n').encode() for i in range(3)}
    lines = [json.dumps({'path': p, 'size': len(c), 'sha256': hashlib.sha256(c).hexdigest()}, sort_keys=True) for p, c in msgs.items()]
    if listed_extra:
        c = b'Subject: gone\r\nMessage-ID: <gone@example.org>\r\n\r\nx\r\n'
        lines.append(json.dumps({'path': 'mail/cur/1700000999.M9P1.host:2,S', 'size': len(c), 'sha256': hashlib.sha256(c).hexdigest(),
                                 'message_id': 'gone@example.org', 'subject': 'gone'}, sort_keys=True))
    files = [('mailkeep-bundle.json', json.dumps({'format': 'mailkeep-bundle', 'version': 2}).encode() + b'\n')]
    files += list(msgs.items())
    manifest = ('\n'.join(lines) + '\n').encode()
    files.append(('MANIFEST.jsonl', manifest))
    sums = ''.join(f'{hashlib.sha256(c).hexdigest()}  {p}\n' for p, c in files)
    files.append(('SHA256SUMS', sums.encode()))
    with tarfile.open(name, 'w:xz', format=tarfile.PAX_FORMAT) as t:
        for p, c in files:
            info = tarfile.TarInfo(f'{top}/{p}')
            info.size, info.mtime, info.mode = len(c), 1700000000, 0o600
            t.addfile(info, io.BytesIO(c))
bundle('hand.tar.xz')
bundle('listed.tar.xz', listed_extra=True)
EOF
mkdir repack && tar -xJf full.tar.xz -C repack && (cd repack && tar -cJf ../repack.tar.xz .)
for b in hand.tar.xz repack.tar.xz; do
    want=$([ $b = hand.tar.xz ] && echo 3 || echo 1000)
    expect_rc 0 mailverify "$b"
    expect_rc 0 mailrestore "$b" -o "R-$b"
    [ "$(restored_hashes "R-$b" | wc -l)" -eq "$want" ] || fail "mailrestore read $b differently"
    expect_rc 0 mailconvert "$b" -o "C-$b"
    [ "$(maildir_count "C-$b")" -eq "$want" ] || fail "mailconvert read $b differently"
    [ "$(mailscan "$b" | wc -l)" -eq "$want" ] || fail "mailscan read $b differently"
    [ "$(mailpick "$b" | grep -c '^From ')" -eq "$want" ] || fail "mailpick read $b differently"
done
# A selective restore from the re-pack: the manifest's offsets no longer hold, the stream does.
id=$(sed -n 1p manifest.jsonl | python3 -c 'import json,sys; print(json.load(sys.stdin)["message_id"])')
expect_rc 0 mailrestore repack.tar.xz -o R-repack-one --message-id "$id"
[ "$(restored_hashes R-repack-one | wc -l)" -eq 1 ] || fail "a selective restore from a tar re-pack lost its message"
case_ok hand_made_and_tar_repacked_bundles

# A listed message missing from the tar is an error in every tool, naming it.
for tool in "mailverify listed.tar.xz" "mailrestore listed.tar.xz -o R-listed" "mailconvert listed.tar.xz -o C-listed" \
            "mailscan listed.tar.xz" "mailpick listed.tar.xz"; do
    rc=0; $tool >listed.out 2>listed.err || rc=$?
    [ "$rc" -eq 1 ] || fail "$tool exited $rc on a listed message missing from the tar"
    grep -q "1700000999.M9P1.host:2,S.*in the manifest but not in the archive" listed.out listed.err || fail "$tool does not name the missing message"
done
case_ok listed_message_missing_from_the_tar

# --- the recovery page's commands work as written ---------------------------------------------
expect_rc 1 mailverify flip.tar.xz >/dev/null
expect_rc 1 mailrestore flip.tar.xz -o Recovered
rm -rf extracted && mkdir extracted && (xz -dc flip.tar.xz 2>/dev/null | tar -x -C extracted 2>/dev/null || true)
[ "$(find extracted -type f -path '*/cur/*' | wc -l)" -lt "$(restored_hashes Recovered | wc -l)" ] || fail "the tar fallback did better than mailrestore"
case_ok recovering_page_commands

# --- the manifest's own block damaged: every tool reads block by block --------------------------
# With the manifest lost there is nothing to select through; a tool that took its selective
# path with an empty manifest found no mail at all.
gen_mail maildir Small --messages 600 --seed 9 >/dev/null
mailpack Small -o small.tar.xz --level 0 2>/dev/null
python3 - small.tar.xz small-nomani.tar.xz <<'EOF'
import io, lzma, subprocess, sys, tarfile
src, dst = sys.argv[1:]
data = bytearray(open(src, 'rb').read())
tar = tarfile.open(fileobj=io.BytesIO(lzma.decompress(bytes(data))))
at = next(m.offset for m in tar.getmembers() if m.name.endswith('/MANIFEST.jsonl'))
blocks = []
for line in subprocess.run(['xz', '--robot', '-lvv', src], capture_output=True, text=True, check=True).stdout.splitlines():
    f = line.split('\t')
    if f[0] == 'block':
        blocks.append((int(f[4]), int(f[5]), int(f[6]), int(f[7])))
hit = next(b for b in blocks if b[1] <= at < b[1] + b[3])
assert hit[1] == at and len(blocks) > 2, (hit, at, len(blocks))
data[hit[0] + hit[2] // 2] ^= 0x10
open(dst, 'wb').write(data)
EOF
rc=0; mailverify small-nomani.tar.xz >nomani.verify || rc=$?
[ "$rc" -eq 1 ] || fail "mailverify on a lost manifest exited $rc"
grep -q "bundle, 600 messages checked" nomani.verify && grep -q "600 messages read back from intact blocks, checked by their xz block checks only" nomani.verify || { cat nomani.verify >&2; fail "mailverify does not count 600 intact"; }
rc=0; mailrestore small-nomani.tar.xz -o R-nomani 2>nomani.err || rc=$?
[ "$rc" -eq 1 ] || { cat nomani.err >&2; fail "mailrestore on a lost manifest exited $rc"; }
restored=$(restored_hashes R-nomani | wc -l)
[ "$restored" -eq 600 ] || { cat nomani.err >&2; fail "lost manifest: mailrestore restored $restored of 600"; }
[ "$(restored_hashes R-nomani)" = "$(restored_hashes Small)" ] || fail "lost manifest: restored messages differ from the source"
grep -q "only the blocks holding" nomani.err && fail "lost manifest: mailrestore took the selective path"
rc=0; mailscan small-nomani.tar.xz >nomani.scan 2>/dev/null || rc=$?
[ "$rc" -eq 1 ] || fail "mailscan on a lost manifest exited $rc"
[ "$(wc -l <nomani.scan)" -eq 600 ] || fail "lost manifest: mailscan listed $(wc -l <nomani.scan) of 600"
rc=0; mailpick small-nomani.tar.xz >nomani.mbox 2>/dev/null || rc=$?
[ "$rc" -eq 1 ] || fail "mailpick on a lost manifest exited $rc"
[ "$(grep -c '^From ' nomani.mbox)" -eq 600 ] || fail "lost manifest: mailpick gave $(grep -c '^From ' nomani.mbox) of 600"
case_ok lost_manifest_reads_block_by_block
