#!/usr/bin/env bash
# What mailkeep writes is always a valid, complete thing: folder names that never merge and
# read back, no folder skipped, lone-CR mboxes, INBOX beside top-level mail, mbox order and
# From_ lines through a Maildir, duplicates kept by restore, unpacked bundles as sources,
# temporary files nobody can plant, and volume sets that appear whole or not at all.
# Inputs are made with Python and the shell, never with mailkeep.
source "$(dirname "$0")/../lib/testlib.sh"
cd "$SCRATCH"
# About 4 MB of mail with attachments (they barely compress): four 1 MiB volumes.
gen_mail maildir --messages 40 --attach-rate 0.6 Vol >/dev/null

# folders FILE: the sorted folder names mailscan lists for FILE, one JSON string a line.
folders() { mailscan "$1" --json | python3 -c 'import sys, json; [print(json.dumps(f)) for f in sorted({json.loads(l)["folder"] for l in sys.stdin})]'; }
# count SOURCE: how many messages mailscan lists.
count() { mailscan "$1" --json | wc -l; }

# A Maildir++ tree with one message in each folder named in argv (besides the root's).
python3 - Collide 'a:b' 'a?b' 'a_b' 'a*b' <<'EOF'
import os, sys
root, names = sys.argv[1], sys.argv[2:]
for i, name in enumerate([None] + names):
    d = root if name is None else os.path.join(root, "." + name)
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    with open(os.path.join(d, "cur", f"100{i}.host:2,S"), "w") as f:
        f.write(f"From: a@example.org\nSubject: message {i} in {name}\nMessage-ID: <{i}@example.org>\n\nbody {i}\n")
EOF
printf '"a*b"\n"a:b"\n"a?b"\n"a_b"\n""\n' | sort >collide.folders

# 1. Folders whose names differ only in characters a target rejects never share a path.
expect_rc 0 mailpack Collide -o collide.tar.xz
python3 - collide.tar.xz <<'EOF'
import sys, tarfile, collections
names = collections.Counter(m.name for m in tarfile.open(sys.argv[1]))
twice = [n for n, c in names.items() if c > 1]
assert not twice, f"paths in the tar twice: {twice}"
EOF
[ "$(count collide.tar.xz)" -eq 5 ] || fail "collide.tar.xz lists $(count collide.tar.xz) messages, not 5"
expect_rc 0 mailrestore collide.tar.xz -o CollideRestored
folders CollideRestored | diff collide.folders - >&2 || fail "restored folders are not the original names"
[ "$(maildir_count CollideRestored)" -eq 5 ] || fail "restore gave $(maildir_count CollideRestored) messages, not 5"
# A FAT-safe target changes the names, keeps them apart, and reads the originals back.
for layout in maildir++ nested; do
    expect_rc 0 mailconvert Collide -o "Fat-$layout" --info-separator '!' --layout "$layout"
    if find "Fat-$layout" -name '*[:?*]*' | grep -q .; then fail "a FAT-safe $layout tree has a name FAT rejects"; fi
    folders "Fat-$layout" | diff collide.folders - >&2 || fail "FAT-safe $layout folders do not read back as the originals"
done
expect_rc 0 mailconvert Collide -o CollideTree --format mbox --info-separator '!'
folders CollideTree | diff collide.folders - >&2 || fail "mbox tree folders do not read back as the originals"
case_ok folder-names-never-merge

# 2. A dot-folder below the top, and a name too long for the file system once encoded, are
# converted under a name that fits and read back; mailverify --against agrees.
python3 - Hidden <<'EOF'
import os, sys
root = sys.argv[1]
long = "\u00e9" * 120          # 240 bytes in UTF-8; 322 in modified UTF-7
for i, folder in enumerate(["", "Sub", "Sub/.hidden", "." + long]):
    d = os.path.join(root, folder) if folder else root
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    with open(os.path.join(d, "cur", f"200{i}.host:2,S"), "w") as f:
        f.write(f"From: a@example.org\nSubject: {i}\nMessage-ID: <h{i}@example.org>\n\nbody {i}\n")
EOF
[ "$(count Hidden)" -eq 4 ] || fail "mailscan lists $(count Hidden) messages of Hidden, not 4"
expect_rc 0 mailpack Hidden -o hidden.tar.xz
[ "$(count hidden.tar.xz)" -eq 4 ] || fail "the bundle holds $(count hidden.tar.xz) of 4 messages"
expect_rc 0 mailverify hidden.tar.xz --against Hidden
expect_rc 0 mailconvert Hidden -o HiddenOut
folders Hidden >hidden.folders
folders HiddenOut | diff hidden.folders - >&2 || fail "folders of HiddenOut do not read back as the source's"
python3 - HiddenOut <<'EOF'
import os, sys
for d, dirs, files in os.walk(sys.argv[1]):
    for n in dirs + files:
        assert len(n.encode()) <= 255, f"{n[:40]}... is {len(n.encode())} bytes"
EOF
case_ok no-folder-skipped

# 3. An mbox with lone-CR line ends is read as lines.
python3 - <<'EOF'
msgs = [b"From a@example.org Mon Jan  1 00:00:0%d 2001\rFrom: a@example.org\rSubject: cr %d\r\rline one\rline two\r" % (i, i) for i in range(3)]
open("mac.mbox", "wb").write(b"\r".join(msgs))
for i, m in enumerate(msgs):
    open(f"mac-{i}.eml", "wb").write(m.split(b"\r", 1)[1])
EOF
mailconvert mac.mbox -o MacMail 2>"$SCRATCH/stderr" || { cat "$SCRATCH/stderr" >&2; fail "mailconvert mac.mbox failed"; }
[ "$(maildir_count MacMail)" -eq 3 ] || fail "a lone-CR mbox gave $(maildir_count MacMail) messages, not 3"
python3 - MacMail <<'EOF'
import glob, sys
got = sorted(open(f, "rb").read() for f in glob.glob(sys.argv[1] + "/*/*"))
want = sorted(open(f"mac-{i}.eml", "rb").read() for i in range(3))
assert got == want, f"lone-CR messages changed: {got}"
EOF
case_ok lone-cr-mbox

# 4. A folder named INBOX beside top-level messages is the INBOX: both go into it, none lost.
python3 - Inbox <<'EOF'
import os, sys
root = sys.argv[1]
for i, d in enumerate([root, os.path.join(root, ".INBOX")]):
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    with open(os.path.join(d, "cur", f"300{i}.host:2,S"), "w") as f:
        f.write(f"From: a@example.org\nSubject: inbox {i}\nMessage-ID: <i{i}@example.org>\n\nbody {i}\n")
EOF
expect_rc 0 mailconvert Inbox -o InboxTree --format mbox
[ "$(count InboxTree)" -eq 2 ] || fail "the mbox tree holds $(count InboxTree) of 2 messages"
printf '""\n' | diff - <(folders InboxTree) >&2 || fail "INBOX and the top folder did not merge into the INBOX"
case_ok inbox-folder-beside-top

# 5. mbox -> Maildir -> mbox keeps the order and the From_ lines (dates out of order, an
# unread message between read ones, envelope senders unlike the From: headers).
python3 - <<'EOF'
out = []
for i, (sender, day, status) in enumerate([("bounce-1@lists.example", 9, "RO"), ("zed@example.org", 3, None),
                                           ("MAILER-DAEMON", 7, "RO"), ("alice@example.net", 1, "O")]):
    head = f"From {sender} Mon Mar  {day} 10:00:00 2003\nFrom: Someone <x{i}@example.com>\nSubject: order {i}\n"
    if status:
        head += f"Status: {status}\n"
    out.append(head + f"\nbody {i}\n>From quoted\n")
open("order.mbox", "w").write("\n".join(out) + "\n")
EOF
expect_rc 0 mailconvert order.mbox -o OrderMail
expect_rc 0 mailconvert OrderMail -o order-back.mbox
same_file order.mbox order-back.mbox
expect_rc 0 mailpack OrderMail -o order.tar.xz
expect_rc 0 mailconvert order.tar.xz -o order-bundle.mbox
same_file order.mbox order-bundle.mbox
case_ok mbox-order-through-maildir

# 6. Two identical messages in one source folder are two in the restored folder; a second run
# adds nothing. Also from a Maildir of 70 folders (more than the 64 mbox files a tree keeps
# open), each holding one message twice, into an mbox tree.
printf 'From a@b Mon Jan  1 00:00:00 2001\nSubject: twin\n\nsame\n\nFrom a@b Mon Jan  1 00:00:00 2001\nSubject: twin\n\nsame\n\nFrom a@b Mon Jan  1 00:00:01 2001\nSubject: other\n\nx\n' >twins.mbox
for format in maildir mbox eml; do
    for run in 1 2; do
        expect_rc 0 mailrestore twins.mbox -o "Twins-$format" --format "$format"
        n="$(count "Twins-$format")"
        [ "$n" -eq 3 ] || fail "restore to $format (run $run) holds $n messages, not 3"
    done
done
python3 - TwinTree <<'EOF'
import os, sys
for i in range(70):
    d = os.path.join(sys.argv[1], f".f{i:02d}")
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(d, sub))
    for j, text in enumerate([f"Subject: twin {i}\n\nsame\n"] * 2 + [f"Subject: other {i}\n\nx\n"]):
        with open(os.path.join(d, "cur", f"100{j}.host:2,S"), "w") as f:
            f.write(text)
EOF
for run in 1 2; do
    expect_rc 0 mailrestore TwinTree -o TwinTree-mbox --format mbox
    n="$(count TwinTree-mbox)"
    [ "$n" -eq 210 ] || fail "restore of 70 folders to an mbox tree (run $run) holds $n messages, not 210"
done
case_ok duplicates-restored-twice

# 7. An unpacked bundle given as a source is read as the bundle: the header, manifest and
# checksum list are not mail, and a damaged message is named and not restored.
mkdir Unpacked
tar -xJf collide.tar.xz -C Unpacked
expect_rc 0 mailrestore Unpacked -o FromUnpacked
[ "$(maildir_count FromUnpacked)" -eq 5 ] || fail "an unpacked bundle restored $(maildir_count FromUnpacked) messages, not 5"
folders FromUnpacked | diff collide.folders - >&2 || fail "an unpacked bundle's folders are not the manifest's"
top="$(ls Unpacked)"
victim="$(find "Unpacked/$top/mail" -type f -path '*/cur/*' | sort | sed -n 1p)"
printf 'X' >>"$victim"
expect_rc 1 mailrestore "Unpacked/$top" -o FromDamaged
grep -q "checksum mismatch" "$SCRATCH/stderr" || fail "the damaged message of an unpacked bundle was not named"
[ "$(maildir_count FromDamaged)" -eq 4 ] || fail "an unpacked bundle with one damaged message restored $(maildir_count FromDamaged), not 4"
case_ok unpacked-bundle-source

# 8. Temporary files: nothing planted at a temporary name is written through, and failed runs
# leave no temporary file behind.
echo "precious" >victim
ln victim .planted.mbox.partial
ln -s victim .planted2.mbox.partial
expect_rc 0 mailconvert Collide/.a_b -o planted.mbox
expect_rc 0 mailconvert Collide/.a_b -o planted2.mbox
[ "$(cat victim)" = precious ] || fail "a file hard-linked at a temporary name was written through"
leftovers() { find . -maxdepth 1 -name "$1" | sed -n 1,3p; }
mkdir Fail && cd Fail
TMPDIR=/nonexistent expect_rc 2 mailpack ../Collide -o bad-tmpdir.tar.xz
[ -z "$(leftovers '.bad-tmpdir*')" ] || fail "a pack without TMPDIR left $(leftovers '.bad-tmpdir*')"
(MAILKEEP_STOP_AFTER_MESSAGES=2 mailconvert ../order.mbox -o killed.mbox || true) >/dev/null 2>&1
[ -n "$(leftovers '.killed.mbox.*.partial')" ] || fail "a killed run left no temporary file to clean up (test is wrong)"
expect_rc 0 mailconvert ../order.mbox -o killed.mbox
[ -z "$(leftovers '.killed.mbox.*')" ] || fail "a rerun did not clear the killed run's $(leftovers '.killed.mbox.*')"
cd ..
if [ "$(id -u)" -eq 0 ]; then
    mkdir Small
    mount -t tmpfs -o size=1m tmpfs Small
    expect_rc 2 mailpack Vol -o Small/full.tar --compression none
    expect_rc 2 mailconvert Vol -o Small/full.mbox --format mbox
    # 80 folders of 20 KiB each: the last 64 are still buffered when the disk is full, so the
    # tree fails while its files are being written out, after some are complete.
    python3 - Wide <<'EOF'
import os, sys, base64
for i in range(80):
    d = os.path.join(sys.argv[1], f".w{i:02d}")
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(d, sub))
    body = base64.encodebytes(os.urandom(15000)).decode()
    with open(os.path.join(d, "cur", "1000.host:2,S"), "w") as f:
        f.write(f"Subject: wide {i}\n\n{body}")
EOF
    expect_rc 2 mailconvert Wide -o Small/wide --format mbox
    # (An mbox tree keeps the directories it made; no file may stay.)
    left="$(find Small -type f | sed -n 1,3p)"
    umount Small
    [ -z "$left" ] || fail "runs that filled the disk left: $left"
else
    [ "${CI:-}" = true ] && fail "the full-disk part needs root (a 1 MiB tmpfs)"
    echo "skip: the full-disk part needs root (a 1 MiB tmpfs)"
fi
case_ok temporary-files

# 9. A volume set appears whole under its final names or not at all, whenever the run is
# killed, and a rerun always starts.
check_set() {
    if [ -e vol.tar.xz.001 ]; then
        mailverify vol.tar.xz.001 >/dev/null 2>&1 || fail "after $1 a set under final names does not verify"
        rm -f vol.tar.xz.0*
    elif ls vol.tar.xz.0* >/dev/null 2>&1; then
        # Volumes renamed before .001 are left only until the next run removes them.
        expect_rc 0 mailpack Vol -o vol.tar.xz --volume-size 1M --level 0
        mailverify vol.tar.xz.001 >/dev/null || fail "the rerun after $1 did not give a whole set"
        rm -f vol.tar.xz.0*
    fi
}
for step in 1 2; do
    rc="$( (MAILKEEP_STOP_AT="volume-renamed:$step" mailpack Vol -o vol.tar.xz --volume-size 1M --level 0 >/dev/null 2>&1; echo $?) 2>/dev/null)"
    [ "$rc" -eq 137 ] || fail "mailpack told to stop after renaming volume $step exited $rc"
    [ ! -e vol.tar.xz.001 ] || fail "a commit killed after $step renames left vol.tar.xz.001"
    expect_rc 0 mailpack Vol -o vol.tar.xz --volume-size 1M --level 0
    n="$(ls vol.tar.xz.0* | wc -l)"
    [ "$n" -ge 3 ] || fail "the set has $n volumes; the test needs at least 3"
    expect_rc 0 mailverify vol.tar.xz.001
    [ -z "$(find . -maxdepth 1 -name '.vol.tar.xz*')" ] || fail "temporaries left: $(find . -maxdepth 1 -name '.vol.tar.xz*')"
    rm -f vol.tar.xz.0*
done
for stop in 1 20 40; do
    (MAILKEEP_STOP_AFTER_MESSAGES=$stop mailpack Vol -o vol.tar.xz --volume-size 1M --level 0 || true) >/dev/null 2>&1
    check_set "a stop after $stop messages"
done
# SIGKILL at random times over the whole run (a pack takes a few seconds here).
for i in $(seq 10); do
    (timeout -s KILL "$((RANDOM % 4)).$((RANDOM % 10))" mailpack Vol -o vol.tar.xz --volume-size 1M --level 0 || true) >/dev/null 2>&1
    check_set "SIGKILL $i"
done
expect_rc 0 mailpack Vol -o vol.tar.xz --volume-size 1M --level 0
expect_rc 0 mailverify vol.tar.xz.001
[ -z "$(find . -maxdepth 1 -name '.vol.tar.xz*')" ] || fail "temporaries left: $(find . -maxdepth 1 -name '.vol.tar.xz*')"
case_ok volume-sets
