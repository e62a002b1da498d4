#!/usr/bin/env bash
# A mailbox's history (a full bundle and its increments) that cannot be read as it is given:
# a link missing or not the bundle its increment was made against, a state line naming no
# message, bundles given out of order, and damage in an older bundle holding a message the
# newest state needs. The chain is made with mailpack --base; every fault with Python or the
# shell.
source "$(dirname "$0")/../lib/testlib.sh"
cd "$SCRATCH"

# rc_out WANT CMD...: runs CMD with stdout and stderr kept in $SCRATCH/out; fails unless it exits WANT.
rc_out() {
    local want="$1" rc=0
    shift
    "$@" >"$SCRATCH/out" 2>&1 || rc=$?
    [ "$rc" -eq "$want" ] || { cat "$SCRATCH/out" >&2; fail "'$*' exited $rc, expected $want"; }
}
said() { grep -qF -- "$1" "$SCRATCH/out" || { cat "$SCRATCH/out" >&2; fail "${2:-expected}: $1"; }; }
# edit_bundle SRC DST NEEDLE OLD NEW: DST is SRC written again by Python's tarfile, with OLD
# replaced by NEW in each file whose name ends with NEEDLE or whose bytes hold it (the
# manifest and SHA256SUMS left as they were, so only what is checked against them is wrong).
edit_bundle() {
    python3 - "$@" <<'PY'
import io, lzma, sys, tarfile
src, dst, needle, old, new = sys.argv[1:]
out = io.BytesIO()
with tarfile.open(src, "r:xz") as tin, tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tout:
    for member in tin:
        data = tin.extractfile(member).read() if member.isfile() else None
        if data is not None and (member.name.endswith(needle) or needle.encode() in data):
            data = data.replace(old.encode(), new.encode())
            member.size = len(data)
        tout.addfile(member, io.BytesIO(data) if data is not None else None)
open(dst, "wb").write(lzma.compress(out.getvalue()))
PY
}
# block_of BUNDLE MEMBER_SUFFIX: the compressed offset of the xz block holding that member, plus
# 100 (`xz -lvv --robot` lists each block's compressed and uncompressed offsets).
block_of() {
    python3 - "$1" "$2" <<'PY'
import io, lzma, subprocess, sys, tarfile
rows = [l.split("\t") for l in subprocess.run(["xz", "-lvv", "--robot", sys.argv[1]], capture_output=True, text=True).stdout.splitlines()]
blocks = [(int(r[4]), int(r[5])) for r in rows if r[0] == "block"]
with tarfile.open(fileobj=io.BytesIO(lzma.decompress(open(sys.argv[1], "rb").read()))) as t:
    m = next(m for m in t if m.name.endswith(sys.argv[2]))
print(max(c for c, u in blocks if u <= m.offset) + 100)
PY
}

# The mailbox: three attachment-sized messages (each in xz blocks of its own) and four small
# ones. Day 2 deletes one, flags one and adds one; day 3 moves one and adds one.
python3 - <<'PY'
import base64, os, random
for sub in ("cur", "new", "tmp", ".Archive/cur", ".Archive/new", ".Archive/tmp"):
    os.makedirs("M/" + sub, exist_ok=True)
rng = random.Random(10)
def message(n, body):
    return (f"From: Sender {n} <s{n}@example.org>\nTo: bob@example.org\nSubject: history {n}\n"
            f"Date: Thu, 1 Jan 2026 10:{n:02d}:00 +0000\nMessage-ID: <h{n}@example.org>\n\n").encode() + body
for n in range(1, 8):
    body = base64.encodebytes(rng.randbytes(900_000)) if n <= 3 else f"Message {n}.\n".encode()
    path = f"M/cur/17672256{n:02d}.M{n}P1.host:2,S"
    open(path, "wb").write(message(n, body))
    os.utime(path, (1767225600 + n, 1767225600 + n))
PY
mkdir B
mailpack M -o B/day1.tar.xz >/dev/null 2>&1 || fail "mailpack day1 failed"
sleep 1
rm M/cur/1767225604.*
mv M/cur/1767225605.M5P1.host:2,S M/cur/1767225605.M5P1.host:2,FS
printf 'From: <s8@example.org>\nSubject: history 8\nMessage-ID: <h8@example.org>\n\nMessage 8.\n' > M/new/1767225608.M8P1.host
mailpack M -o B/day2.tar.xz --base B/day1.tar.xz >/dev/null 2>&1 || fail "mailpack day2 failed"
sleep 1
mv M/cur/1767225606.M6P1.host:2,S M/.Archive/cur/
printf 'From: <s9@example.org>\nSubject: history 9\nMessage-ID: <h9@example.org>\n\nMessage 9.\n' > M/new/1767225609.M9P1.host
mailpack M -o B/day3.tar.xz --base B/day2.tar.xz >/dev/null 2>&1 || fail "mailpack day3 failed"
mailconvert M -o Now >/dev/null 2>&1 || fail "mailconvert of the mailbox failed"

# The chain as mailpack wrote it restores the mailbox as it is now; mailverify finds it whole.
rc_out 0 mailrestore B -o R0
same_census Now R0
rc_out 0 mailverify B
said "history, 8 messages checked, all good"
case_ok chain-restores-the-newest-state

# An increment of a mailbox that did not change stores no message, and that is no problem:
# its state is the whole mailbox, checked with the chain.
mkdir Q && cp B/day1.tar.xz B/day2.tar.xz B/day3.tar.xz Q/
sleep 1
mailpack M -o Q/day4.tar.xz --base Q/day3.tar.xz >/dev/null 2>&1 || fail "mailpack of an unchanged mailbox failed"
rc_out 0 mailverify Q
said "history, 8 messages checked, all good"
rc_out 0 mailrestore Q -o R-unchanged
same_census Now R-unchanged
case_ok unchanged-night-is-no-problem

# 1. Bundles given out of order (newest first, the full one in the middle): states go by
# their created time, not by the command line.
rc_out 0 mailrestore B/day3.tar.xz B/day1.tar.xz B/day2.tar.xz -o R1
same_census Now R1
case_ok chain-given-out-of-order

# 2. A missing link: day2 not given. Refused before anything is written, naming day2 by its
# name and id (exit 2); mailverify names it as a problem (exit 1).
day2_id=$(tar -xJOf B/day2.tar.xz day2/mailkeep-bundle.json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
rc_out 2 mailrestore B/day1.tar.xz B/day3.tar.xz -o R2
said "day2.tar.xz (id $day2_id)" "the missing link was not named"
[ ! -e R2 ] || [ -z "$(find R2 -type f)" ] || fail "a chain with a missing link restored something"
rc_out 1 mailverify B/day1.tar.xz B/day3.tar.xz
said "day2.tar.xz (id $day2_id)"
rc_out 2 mailscan B/day3.tar.xz
case_ok missing-link-named

# 3. A wrong link: day2 replaced by a bundle with its id whose manifest differs (a subject
# edited, the tar written again by Python): not the bundle day3 was made against (exit 1).
mkdir W
cp B/day1.tar.xz B/day3.tar.xz W/
edit_bundle B/day2.tar.xz W/day2.tar.xz /MANIFEST.jsonl "history 8" "history X"
rc_out 1 mailrestore W -o R3
said "not the bundle this increment was made against" "the wrong link was not refused"
said "day2.tar.xz"
[ ! -e R3 ] || [ -z "$(find R3 -type f)" ] || fail "a chain with a wrong link restored something"
rc_out 1 mailverify W
said "not the bundle this increment was made against"
case_ok wrong-link-named

# 4. A STATE.tsv line naming an entry past the holder's manifest (SHA256SUMS made to match):
# the line is named by number, exit 1, every other message restored.
mkdir S
cp B/day1.tar.xz B/day2.tar.xz S/
python3 - B/day3.tar.xz S/day3.tar.xz <<'PY'
import hashlib, io, lzma, sys, tarfile
src, dst = sys.argv[1:]
members = []
with tarfile.open(src, "r:xz") as tin:
    for member in tin:
        members.append((member, tin.extractfile(member).read() if member.isfile() else None))
state = next(d for m, d in members if m.name.endswith("/STATE.tsv")).decode().split("\n")
fields = state[2].split("\t")   # the second message line (line 3 of the file)
fields[1] = "999"
state[2] = "\t".join(fields)
new_state = "\n".join(state).encode()
out = io.BytesIO()
with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tout:
    for member, data in members:
        if member.name.endswith("/STATE.tsv"):
            data = new_state
        elif member.name.endswith("/SHA256SUMS"):
            lines = [l for l in data.decode().splitlines() if not l.endswith("  STATE.tsv")]
            lines.append(hashlib.sha256(new_state).hexdigest() + "  STATE.tsv")
            data = ("\n".join(lines) + "\n").encode()
        if data is not None:
            member.size = len(data)
        tout.addfile(member, io.BytesIO(data) if data is not None else None)
open(dst, "wb").write(lzma.compress(out.getvalue()))
PY
rc_out 1 mailrestore S -o R4
said "day3.tar.xz[STATE.tsv]: line 3: entry 999 of" "the state line pointing past the manifest was not named"
[ "$(maildir_count R4)" -eq "$(($(maildir_count Now) - 1))" ] || fail "the other messages of the state were not all restored"
rc_out 1 mailverify S
said "line 3: entry 999"
case_ok state-line-past-the-manifest

# 5. Damage in the full bundle, inside a message the newest state still needs: that message
# is named (exit 1) and every other one comes back, from day1's intact blocks and the
# increments.
mkdir D
cp B/day2.tar.xz B/day3.tar.xz D/
flip B/day1.tar.xz mid 0x55 D/day1.tar.xz
rc_out 1 mailrestore D -o R5
said "day1.tar.xz" "the damaged bundle was not named"
grep -q "h[123]@example.org" "$SCRATCH/out" || { cat "$SCRATCH/out" >&2; fail "the damaged message was not named by its Message-ID"; }
said "state day3.tar.xz has this message in folder INBOX; not given back" "the history did not name the message it could not give back"
[ "$(maildir_count R5)" -eq "$(($(maildir_count Now) - 1))" ] || fail "the messages outside the damage were not all restored"
rc_out 1 mailverify D
grep -q "h[123]@example.org" "$SCRATCH/out" || fail "mailverify did not name the damaged message"
grep -q "history, 7 messages checked, [0-9]* problem" "$SCRATCH/out" || { cat "$SCRATCH/out" >&2; fail "the chain's check did not find the newest state short of a message"; }
case_ok damaged-older-bundle-costs-one-message

# 6. Without mailkeep: tar -x and sha256sum -c of each bundle in order give every message's
# bytes back (docs/bundle-format.md, "Without mailkeep").
mkdir X
for day in day1 day2 day3; do
    tar -xJf "B/$day.tar.xz" -C X
    (cd "X/$day" && sha256sum -c --quiet SHA256SUMS) || fail "sha256sum -c failed in $day"
done
python3 "$CENSUS" --fields sha256 Now | sort > now.sums
find X -path '*/mail/*' -type f -exec sha256sum {} + | cut -d' ' -f1 | sort -u > x.sums
[ -z "$(comm -23 now.sums x.sums)" ] || fail "a message of the newest state is in no bundle's tar"
case_ok plain-tools-give-every-message-back

# 7. A message moved since it was stored (h6: INBOX on day 1, Archive on day 3) whose bytes in
# day1 no longer match their checksum: the bundle names it with the folder it was stored in,
# and the history adds the folder the chosen state has it in, where the user will look.
mkdir V
cp B/day2.tar.xz B/day3.tar.xz V/
edit_bundle B/day1.tar.xz V/day1.tar.xz "<h6@example.org>" "Message 6." "Message X."
rc_out 1 mailrestore V -o R7
said "h6@example.org" "the damaged message was not named"
said "state day3.tar.xz has this message in folder Archive; not given back" "the folder the state has it in was not named"
[ "$(maildir_count R7)" -eq "$(($(maildir_count Now) - 1))" ] || fail "the other messages were not all restored"
case_ok damaged-moved-message-named-where-the-state-has-it

# 8. The first xz block of day1, which holds its header, damaged: the bundle is still the one
# day2's and day3's chains name, known by its manifest's SHA-256, and every message outside
# the damage comes back (exit 1, each lost one named; mailpack gives the header and the
# manifest blocks of their own, so here none is lost).
mkdir H
cp B/day2.tar.xz B/day3.tar.xz H/
flip B/day1.tar.xz 200 0x10 H/day1.tar.xz
rc_out 1 mailrestore H -o R8
said "day1.tar.xz: its header is lost; it is day1.tar.xz of the chain by its manifest's SHA-256"
lost=$(grep -c "lost in the damage" "$SCRATCH/out" || true)
[ "$(maildir_count R8)" -eq "$(($(maildir_count Now) - lost))" ] || { cat "$SCRATCH/out" >&2; fail "restored $(maildir_count R8), expected $(($(maildir_count Now) - lost))"; }
case_ok chain-member-with-a-lost-header-still-serves

# 9. Another mailbox's full bundle given with the chain, made later: it shares no message with
# the state before it, so it is named (exit 1) though it is still taken as the newest state;
# a weekly full bundle of the same mailbox is no problem.
mkdir -p Other/cur Other/new Other/tmp
printf 'From: <o1@example.org>\nSubject: other\nMessage-ID: <o1@example.org>\n\nOther.\n' > Other/new/1767225700.M1P1.host
sleep 1
mailpack Other -o other.tar.xz >/dev/null 2>&1 || fail "mailpack of another mailbox failed"
rc_out 1 mailrestore B other.tar.xz -o R9
said "other.tar.xz: a full bundle that shares no message with the state before it (day3.tar.xz)"
mkdir Weekly && cp B/*.tar.xz Weekly/
mailpack M -o Weekly/week2.tar.xz >/dev/null 2>&1 || fail "mailpack of the weekly full bundle failed"
rc_out 0 mailrestore Weekly -o R9b
same_census Now R9b
# The other mailbox packed onto this chain by mistake: written, but named (exit 1).
rc_out 1 mailpack Other -o other-inc.tar.xz --base B/day3.tar.xz
said "the base shares no message with the sources: another mailbox's chain?"
case_ok unrelated-full-bundle-named

# 10. day1's manifest lost in damage (its manifest's xz block damaged): the messages day3's
# state keeps in day1 cannot be placed and are counted, naming day1 and how to get them back;
# those the increments hold are restored (exit 1). day1 alone still gives back all it holds,
# by file name (exit 1: its damage is reported).
mkdir L
cp B/day2.tar.xz B/day3.tar.xz L/
flip B/day1.tar.xz "$(block_of B/day1.tar.xz /MANIFEST.jsonl)" 0x10 L/day1.tar.xz
rc_out 1 mailrestore L -o R10
said "day1.tar.xz: its manifest is lost"
said "message(s) of this state are held by L/day1.tar.xz, whose manifest is lost"
[ "$(maildir_count R10)" -eq 2 ] || fail "restored $(maildir_count R10), expected the 2 messages the increments hold"
rc_out 1 mailrestore L/day1.tar.xz -o R10b
[ "$(maildir_count R10b)" -eq 7 ] || fail "day1 alone gave back $(maildir_count R10b) of its 7 messages"
case_ok chain-member-with-a-lost-manifest-costs-only-its-messages

# 11. day3's STATE.tsv lost in damage (its xz block flipped): its manifest must not pass for the
# mailbox. The state of day2 is given instead, and the user is told (exit 1); --deleted lists
# nothing that day2 still held.
mkdir T
cp B/day1.tar.xz B/day2.tar.xz T/
flip B/day3.tar.xz "$(block_of B/day3.tar.xz /STATE.tsv)" 0x10 T/day3.tar.xz
rc_out 1 mailrestore T -o R11
said "day3.tar.xz[STATE.tsv]: lost in the damage: the state of day3.tar.xz cannot be given"
said "the state of day2.tar.xz (" "the state given instead was not named"
mailrestore B/day1.tar.xz B/day2.tar.xz -o R11-day2 >/dev/null 2>&1 || fail "restoring day2's state failed"
same_census R11-day2 R11
rc_out 1 mailscan T --deleted
[ "$(grep -c '@example.org' "$SCRATCH/out")" -le 1 ] || fail "--deleted over a lost state listed the mailbox: $(cat "$SCRATCH/out")"
# An increment's clock behind its base: refused, nothing written.
rc_out 2 faketime '2020-01-01 00:00:00' mailpack M -o T/day4.tar.xz --base T/day2.tar.xz
said "before day2.tar.xz, the base, was made"
[ ! -e T/day4.tar.xz ] || fail "an increment dated before its base was written"
case_ok lost-state-gives-the-state-before-it

# 12. day3's header block damaged: consolidating the chain refuses (the newest bundle cannot be
# known) and writes nothing; day3 without its header (and no chain naming it) is left out of a
# restore, which gives day2's state (exit 1). day3's manifest lost instead: given alone, it still
# gives back the messages it stores.
mkdir U
cp B/day1.tar.xz B/day2.tar.xz U/
flip B/day3.tar.xz 100 0x10 U/day3.tar.xz
rc_out 2 mailpack --consolidate U -o U-full.tar.xz
said "U/day3.tar.xz"
[ ! -e U-full.tar.xz ] || fail "a consolidation of a chain with an unreadable newest header was written"
rc_out 1 mailrestore U -o R12
said "its header is lost and no chain given names it"
same_census R11-day2 R12
flip B/day3.tar.xz "$(block_of B/day3.tar.xz /MANIFEST.jsonl)" 0x10 day3-no-manifest.tar.xz
rc_out 1 mailrestore day3-no-manifest.tar.xz -o R12b
[ "$(maildir_count R12b)" -eq 1 ] || fail "day3 without its manifest gave back $(maildir_count R12b) of the 1 message it stores"
case_ok damaged-newest-increment-never-passes-for-the-state
# day2's STATE.tsv damaged instead, in the middle of the chain: --deleted still answers from
# the other states, and says that day2's state is left out (exit 1).
mkdir T2
cp B/day1.tar.xz B/day3.tar.xz T2/
flip B/day2.tar.xz "$(block_of B/day2.tar.xz /STATE.tsv)" 0x10 T2/day2.tar.xz
rc_out 1 mailscan T2 --deleted
said "the state of day2.tar.xz is left out of what the history tells"
case_ok damaged-middle-state-is-named

# 13. Consolidating takes the newest bundle's time, so --as-of finds the full bundle where it
# found that bundle; a directory that holds another chain as well is refused, nothing written.
rc_out 0 mailpack --consolidate B -o C13.tar.xz
day3_created=$(tar -xJOf B/day3.tar.xz day3/mailkeep-bundle.json | python3 -c 'import json,sys; print(json.load(sys.stdin)["created"])')
rc_out 0 mailrestore C13.tar.xz --as-of "$day3_created" -o R13
same_census Now R13
mkdir Two && cp B/*.tar.xz Two/ && cp other.tar.xz Two/
rc_out 2 mailpack --consolidate Two -o C13b.tar.xz
said "not a bundle of the chain of Two/other.tar.xz, the newest given"
[ ! -e C13b.tar.xz ] || fail "a consolidation of two chains was written"
case_ok consolidation-keeps-its-time-and-one-chain
