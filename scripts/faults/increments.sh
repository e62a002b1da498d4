#!/usr/bin/env bash
# Increments (mailpack --base): what they hold is checked without mailkeep, a killed
# increment leaves nothing and a rerun converges, and a base that is not a bundle or whose
# chain has a missing or altered link is refused, naming it, before anything is written.
# Inputs and damage are made with Python and the shell, never with mailkeep.
source "$(dirname "$0")/../lib/testlib.sh"
require_or_skip "$SHARED/bench/gen_mail.py" || exit 0
cd "$SCRATCH"
gen_mail maildir --messages 200 --layout nested Mail >/dev/null

# resolve DIR BUNDLE...: unpacks the bundles with tar, checks each with sha256sum -c, then
# follows the newest bundle's STATE.tsv through the chain to each message's file and prints
# every message's "sha256 folder flags" as the state says it is now; the census of DIR must
# say the same.
resolve() {
    local dir="$1"
    shift
    rm -rf Unpacked && mkdir Unpacked
    for b in "$@"; do
        tar -xJf "$b" -C Unpacked || fail "tar -x $b failed"
        top="$(tar -tJf "$b" | awk -F/ 'NR == 1 { print $1 }')"
        (cd "Unpacked/$top" && sha256sum -c --quiet SHA256SUMS) || fail "sha256sum -c fails in $b"
    done
    python3 - Unpacked "$@" >state.lines <<'EOF'
import json, os, sys, hashlib
root, bundles = sys.argv[1], sys.argv[2:]
def top(b):
    import tarfile
    return tarfile.open(b).getnames()[0].split("/")[0]
tops = [top(b) for b in bundles]
newest = os.path.join(root, tops[-1])
header = json.load(open(os.path.join(newest, "mailkeep-bundle.json")))
chain_tops = tops[:-1]
assert len(header["chain"]) == len(chain_tops), "chain length differs from the bundles given"
manifests = [[json.loads(l) for l in open(os.path.join(root, t, "MANIFEST.jsonl"))] for t in tops]
lines = open(os.path.join(newest, "STATE.tsv")).read().split("\n")
assert lines[0].startswith("#mailkeep-state 1\t"), lines[0]
assert lines[-1] == ""
for line in lines[1:-1]:
    holder, entry, folder, flags, new, received, keywords, name = line.split("\t")
    e = manifests[int(holder)][int(entry)]
    data = open(os.path.join(root, tops[int(holder)], e["path"]), "rb").read()
    assert hashlib.sha256(data).hexdigest() == e["sha256"]
    print(e["sha256"], folder, flags)
EOF
    python3 - "$dir" <<'EOF' | sort >census.lines
import os, sys, hashlib
root = sys.argv[1]
for d, dirs, files in os.walk(root):
    sub = os.path.basename(d)
    if sub not in ("cur", "new"):
        continue
    folder = os.path.relpath(os.path.dirname(d), root)
    folder = "" if folder == "." else folder
    for n in files:
        flags = n.split(":2,")[1] if ":2," in n else ""
        print(hashlib.sha256(open(os.path.join(d, n), "rb").read()).hexdigest(), folder, flags)
EOF
    sort state.lines | diff census.lines - >&2 || fail "the state of $* does not describe $dir"
}

# members BUNDLE: the file names of its tar members, in order.
members() { python3 -c 'import sys, tarfile; [print(m.name.split("/", 1)[-1]) for m in tarfile.open(sys.argv[1]) if m.isfile()]' "$1"; }
# stored BUNDLE: how many message files it holds.
stored() { members "$1" | { grep -c '^mail/' || true; }; }

# 1. An unchanged Maildir costs only its state: no message in the increment, STATE.tsv after
# the manifest and before SHA256SUMS, and the state, followed through the chain by hand,
# describes every message.
expect_rc 0 mailpack Mail -o day1.tar.xz
expect_rc 0 mailpack Mail -o day2.tar.xz --base day1.tar.xz
[ "$(stored day2.tar.xz)" -eq 0 ] || fail "day2.tar.xz stores messages of an unchanged Maildir"
[ "$(members day2.tar.xz | tail -3 | tr '\n' ' ')" = "MANIFEST.jsonl STATE.tsv SHA256SUMS " ] \
    || fail "day2.tar.xz does not end MANIFEST.jsonl, STATE.tsv, SHA256SUMS: $(members day2.tar.xz | tail -3 | tr '\n' ' ')"
resolve Mail day1.tar.xz day2.tar.xz
case_ok unchanged-costs-only-state

# change_maildir ROOT FLAGGED DELETED MOVED NEW PREFIX TAG: of ROOT's cur/ files in name order,
# the first FLAGGED get the flags FS, the next DELETED are deleted and the next MOVED go to
# Sent/cur/; NEW messages arrive in new/ as PREFIX0.TAG.host, PREFIX1.TAG.host, ...
change_maildir() {
    python3 - "$@" <<'EOF'
import glob, os, sys
root, prefix, tag = sys.argv[1], sys.argv[6], sys.argv[7]
flagged, deleted, moved, new = map(int, sys.argv[2:6])
files = sorted(glob.glob(os.path.join(root, "**", "cur", "*"), recursive=True))
for f in files[:flagged]:
    d, n = os.path.split(f)
    os.rename(f, os.path.join(d, n.split(":2,")[0] + ":2,FS"))
for f in files[flagged:flagged + deleted]:
    os.remove(f)
for f in files[flagged + deleted:flagged + deleted + moved]:
    os.rename(f, os.path.join(root, "Sent", "cur", os.path.basename(f)))
for i in range(new):
    with open(os.path.join(root, "new", f"{prefix}{i}.{tag}.host"), "w") as out:
        out.write(f"From: a@example.org\nSubject: {tag} {i}\nMessage-ID: <{tag}{i}@example.org>\n\nbody {i}\n")
EOF
}

# 2. Flag changes, a move, deletions and new mail: only the new mail is stored, and the state
# still describes the Maildir exactly.
change_maildir Mail 30 10 5 5 17000000 new
expect_rc 0 mailpack Mail -o day3.tar.xz --base day2.tar.xz
[ "$(stored day3.tar.xz)" -eq 5 ] || fail "day3.tar.xz stores $(stored day3.tar.xz) messages, not the 5 new ones"
resolve Mail day1.tar.xz day2.tar.xz day3.tar.xz
case_ok changes-cost-lines

# 3. An increment killed mid-write leaves nothing that looks like a bundle; the rerun
# converges on the state an uninterrupted run writes.
echo "late" >>"$(find Mail/Sent/cur -type f | head -1)"
crashed=0
MAILKEEP_STOP_AFTER_MESSAGES=100 mailpack Mail -o day4.tar.xz --base day3.tar.xz 2>stderr || crashed=$?
[ "$crashed" -eq 137 ] || { cat stderr >&2; fail "mailpack told to stop after 100 messages exited $crashed"; }
[ ! -e day4.tar.xz ] || fail "a killed increment left day4.tar.xz"
# What it left is a locked-then-abandoned .day4.tar.xz.*.partial, which no reader takes for a
# bundle (--base DIR passes over dot files) and the rerun removes.
expect_rc 0 mailpack Mail -o day4.tar.xz --base day3.tar.xz
[ -z "$(ls -A | grep '^\.day4')" ] || fail "the rerun left $(ls -A | grep '^\.day4')"
resolve Mail day1.tar.xz day2.tar.xz day3.tar.xz day4.tar.xz
[ "$(stored day4.tar.xz)" -eq 1 ] || fail "day4.tar.xz does not store exactly the one changed message"
case_ok killed-increment-converges

# 4. A base that is not a bundle: refused, exit 2, nothing written.
printf 'not a bundle\n' >text.tar.xz
printf 'From a@b Thu Jan  1 00:00:00 2026\nSubject: x\n\nbody\n' | xz >mbox.tar.xz
python3 -c 'import tarfile, io; t = tarfile.open("plain.tar.xz", "w:xz"); i = tarfile.TarInfo("x/readme"); i.size = 3; t.addfile(i, io.BytesIO(b"hi\n")); t.close()'
for base in text.tar.xz mbox.tar.xz plain.tar.xz Mail/cur/$(ls Mail/cur | head -1); do
    out="$(mailpack Mail -o bad.tar.xz --base "$base" 2>&1)" && fail "$base was accepted as a base"
    rc=$?
    [ "$rc" -eq 2 ] || fail "base $base gave exit $rc, not 2: $out"
    case "$out" in *"$(basename "$base")"*) ;; *) fail "the refusal does not name $base: $out" ;; esac
    [ ! -e bad.tar.xz ] || fail "a refused base still left bad.tar.xz"
done
case_ok base-not-a-bundle

# 5. A chain link missing beside the base: exit 2 naming it; one altered (same id, another
# manifest): exit 1 naming it; renamed: found by its id.
mkdir Moved && cp day2.tar.xz day3.tar.xz Moved/
out="$(mailpack Mail -o Moved/day4.tar.xz --base Moved/day3.tar.xz 2>&1)" && fail "a chain without its first bundle was accepted"
rc=$?
[ "$rc" -eq 2 ] || fail "a missing link gave exit $rc, not 2"
case "$out" in *"link 0 of its chain (day1.tar.xz, id "*) ;; *) fail "the missing link is not named: $out" ;; esac
[ ! -e Moved/day4.tar.xz ] || fail "a refused chain still left day4.tar.xz"
# The full bundle rebuilt with one subject changed in its manifest: same id, other SHA-256.
python3 - day1.tar.xz Moved/day1.tar.xz <<'EOF'
import io, sys, tarfile
src, dst = sys.argv[1:]
with tarfile.open(src) as t, tarfile.open(dst, "w:xz", format=tarfile.PAX_FORMAT) as out:
    for m in t:
        data = t.extractfile(m).read() if m.isfile() else None
        if m.name.endswith("/MANIFEST.jsonl"):
            data = data.replace(b'"subject":"', b'"subject":"altered ', 1)
            m.size = len(data)
        out.addfile(m, io.BytesIO(data) if data is not None else None)
EOF
out="$(mailpack Mail -o Moved/day4.tar.xz --base Moved/day3.tar.xz 2>&1)" && fail "a chain with an altered link was accepted"
rc=$?
[ "$rc" -eq 1 ] || fail "an altered link gave exit $rc, not 1: $out"
case "$out" in *"link 0 of its chain (day1.tar.xz"*"is not the bundle the chain was made against"*) ;; *) fail "the altered link is not named: $out" ;; esac
[ ! -e Moved/day4.tar.xz ] || fail "a refused chain still left day4.tar.xz"
cp day1.tar.xz Moved/first-full.tar.xz && rm Moved/day1.tar.xz
expect_rc 0 mailpack Mail -o Moved/day4.tar.xz --base Moved/day3.tar.xz
case_ok chain-links-checked

# 6. A file changed since the base is read again: another size, or another mtime, is new
# content in the increment; a source Maildir file replaced under the same name too.
f="$(find Mail/Archive -type f -path '*/cur/*' | head -1)"
printf 'X-Changed: yes\n' | cat - "$f" >changed && mv changed "$f"
g="$(find Mail/Projects -type f -path '*/cur/*' | head -1)"
sed -i 's/the/THE/' "$g" && touch -d '2001-01-01' "$g"
expect_rc 0 mailpack Mail -o day5.tar.xz --base day4.tar.xz
resolve Mail day1.tar.xz day2.tar.xz day3.tar.xz day4.tar.xz day5.tar.xz
case_ok changed-files-read-again

# 7. An mbox that only grew: the increment stores only the new messages.
gen_mail mbox --messages 50 --seed 7 >grow.mbox
expect_rc 0 mailpack grow.mbox -o mbox1.tar.xz
gen_mail mbox --messages 5 --seed 8 >>grow.mbox
expect_rc 0 mailpack grow.mbox -o mbox2.tar.xz --base mbox1.tar.xz
[ "$(stored mbox2.tar.xz)" -eq 5 ] || fail "the grown mbox's increment stores $(stored mbox2.tar.xz) messages, not 5"
python3 - mbox2.tar.xz <<'EOF' || fail "the grown mbox's state does not list its 55 messages"
import sys, tarfile
t = tarfile.open(sys.argv[1])
state = [m for m in t if m.name.endswith("/STATE.tsv")][0]
lines = t.extractfile(state).read().decode().split("\n")[1:-1]
assert len(lines) == 55, len(lines)
assert [l.split("\t")[0] for l in lines] == ["0"] * 50 + ["1"] * 5
EOF
case_ok grown-mbox

# 8. A chain consolidated: one full bundle whose manifest is the newest state; killed
# mid-write it leaves nothing, and the rerun gives the same.
crashed=0
MAILKEEP_STOP_AFTER_MESSAGES=50 mailpack --consolidate day5.tar.xz -o full.tar.xz 2>stderr || crashed=$?
[ "$crashed" -eq 137 ] || { cat stderr >&2; fail "mailpack --consolidate told to stop after 50 messages exited $crashed"; }
[ ! -e full.tar.xz ] || fail "a killed consolidation left full.tar.xz"
expect_rc 0 mailpack --consolidate day1.tar.xz day5.tar.xz day3.tar.xz -o full.tar.xz
# full_bundle_lines BUNDLE: "sha256 folder flags" of each message of a full bundle, sorted.
full_bundle_lines() {
    python3 - "$1" <<'EOF2' | sort
import json, sys, tarfile
t = tarfile.open(sys.argv[1])
header = json.load(t.extractfile([m for m in t if m.name.endswith("/mailkeep-bundle.json")][0]))
assert header["version"] == 2 and "chain" not in header, header
assert not [m for m in t if m.name.endswith("/STATE.tsv")]
for line in t.extractfile([m for m in t if m.name.endswith("/MANIFEST.jsonl")][0]):
    e = json.loads(line)
    print(e["sha256"], e["folder"], e["flags"])
EOF2
}
full_bundle_lines full.tar.xz >full.lines
diff census.lines full.lines >&2 || fail "the consolidated bundle is not the newest state"
top="$(tar -tJf full.tar.xz | awk -F/ 'NR == 1 { print $1 }')"
rm -rf "$top" && tar -xJf full.tar.xz && (cd "$top" && sha256sum -c --quiet SHA256SUMS) || fail "sha256sum -c fails in full.tar.xz"
# Given the directory of the chain, as --base takes it: the same newest state.
mkdir ChainDir && cp day[1-5].tar.xz ChainDir/
expect_rc 0 mailpack --consolidate ChainDir -o from-dir.tar.xz
full_bundle_lines from-dir.tar.xz >from-dir.lines
diff census.lines from-dir.lines >&2 || fail "consolidating the chain's directory did not give the newest state"
case_ok consolidated-chain

# 9. A chain of three days consolidated keeping its history: as of each day it restores what
# the chain restores as of that day, and --deleted what the chain's --deleted gives; it is
# whole to mailverify and to tar and sha256sum alone, and a later increment can take it as
# its base.
# created BUNDLE: its header's created time.
created() { tar -xJOf "$1" --wildcards '*/mailkeep-bundle.json' | python3 -c 'import json, sys; print(json.load(sys.stdin)["created"])'; }
rm -rf K KM && mkdir K
gen_mail maildir --messages 60 --layout nested KM >/dev/null
expect_rc 0 mailpack KM -o K/k1.tar.xz
sleep 1
change_maildir KM 10 6 0 3 17000001 kept
expect_rc 0 mailpack KM -o K/k2.tar.xz --base K/k1.tar.xz
sleep 1
python3 - KM <<'EOF'
import glob, os, sys
root = sys.argv[1]
files = sorted(glob.glob(os.path.join(root, "**", "cur", "*"), recursive=True))
for f in files[:4]:
    os.remove(f)
for f in files[20:24]:
    os.rename(f, os.path.join(root, "Sent", "cur", os.path.basename(f)))
os.remove(os.path.join(root, "new", "170000011.kept.host"))
with open(os.path.join(root, "new", "170000020.kept.host"), "w") as out:
    out.write("From: a@example.org\nSubject: kept day 3\nMessage-ID: <kept20@example.org>\n\nday 3\n")
EOF
expect_rc 0 mailpack KM -o K/k3.tar.xz --base K/k2.tar.xz
expect_rc 0 mailpack --consolidate --keep-history K/k3.tar.xz K/k1.tar.xz K/k2.tar.xz -o kfull.tar.xz
for day in 1 2 3; do
    at="$(created K/k$day.tar.xz)"
    rm -rf RC RF
    expect_rc 0 mailrestore K -o RC --as-of "$at"
    expect_rc 0 mailrestore kfull.tar.xz -o RF --as-of "$at"
    same_census RC RF
    [ "$day" -eq 1 ] && continue
    rm -rf DC DF
    expect_rc 0 mailrestore K -o DC --deleted --as-of "$at"
    expect_rc 0 mailrestore kfull.tar.xz -o DF --deleted --as-of "$at"
    same_census DC DF
done
rm -rf RF && expect_rc 0 mailrestore kfull.tar.xz -o RF
same_census KM RF
expect_rc 0 mailverify kfull.tar.xz
top="$(tar -tJf kfull.tar.xz | awk -F/ 'NR == 1 { print $1 }')"
rm -rf "$top" && tar -xJf kfull.tar.xz && (cd "$top" && sha256sum -c --quiet SHA256SUMS) || fail "sha256sum -c fails in kfull.tar.xz"
[ -f "$top/STATES/000.tsv" ] && [ -f "$top/STATES/001.tsv" ] && [ ! -e "$top/STATES/002.tsv" ] \
    || fail "kfull.tar.xz does not hold STATES/000.tsv and 001.tsv alone"
printf 'From: a@example.org\nSubject: after\nMessage-ID: <after@example.org>\n\nafter\n' > KM/new/170000030.after.host
mkdir -p KN && cp kfull.tar.xz KN/
expect_rc 0 mailpack KM -o KN/next.tar.xz --base KN/kfull.tar.xz
[ "$(stored KN/next.tar.xz)" -eq 1 ] || fail "an increment on kfull.tar.xz stores $(stored KN/next.tar.xz) messages, not the 1 new one"
rm -rf RN && expect_rc 0 mailrestore KN -o RN
same_census KM RN
case_ok consolidated-keeping-history

# 10. A consolidated chain's older state changed after it was packed (SHA256SUMS not updated):
# mailverify says so, naming the file.
python3 - kfull.tar.xz kbad.tar.xz <<'EOF'
import io, lzma, sys, tarfile
src = tarfile.open(sys.argv[1])
out = io.BytesIO()
with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as dst:
    for m in src:
        data = src.extractfile(m).read() if m.isfile() else None
        if m.name.endswith("/STATES/001.tsv"):
            data = data.replace(b"\tFS\t", b"\tS\t", 1)
            assert data != src.extractfile(m).read()
            m.size = len(data)
        dst.addfile(m, io.BytesIO(data) if data is not None else None)
open(sys.argv[2], "wb").write(lzma.compress(out.getvalue(), check=lzma.CHECK_CRC64))
EOF
rc=0
mailverify kbad.tar.xz >out 2>&1 || rc=$?
[ "$rc" -eq 1 ] || { cat out >&2; fail "mailverify of a bundle with a changed STATES/001.tsv exited $rc, expected 1"; }
grep -qF "STATES/001.tsv" out || { cat out >&2; fail "mailverify did not name STATES/001.tsv"; }
case_ok changed-older-state-named
