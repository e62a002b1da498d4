#!/usr/bin/env bash
# mailrestore from a bundle selects exactly what an independent oracle (Python's email package
# over the bundle extracted by GNU tar) selects, for dates, senders, subjects, folders and
# flags; a second run restores nothing; the result opens in Python's mailbox with the right
# flags; an mbox restore gives back the original mbox; --dry-run writes nothing; a bundle on
# stdin works.
source "$(dirname "$0")/../lib/testlib.sh"

require_or_skip "$SHARED/bench/gen_mail.py" || exit 0
export TZ=UTC
cd "$SCRATCH"

# Three folders: Mail (300 messages), Mail/Archive (the 40 moved there) and Lists (an mbox).
gen_mail maildir --messages 300 Mail
gen_mail mbox --messages 100 --seed 7 Lists.mbox
mkdir -p Mail/.Archive/cur Mail/.Archive/new Mail/.Archive/tmp
find Mail/cur -type f | sort | sed -n 1,40p | xargs mv -t Mail/.Archive/cur
expect_rc 0 mailpack Mail Lists.mbox -o bundle.tar.xz
expect_rc 0 mailpack Mail Lists.mbox -o bundle.tar.gz
mkdir extracted
tar -xJf bundle.tar.xz -C extracted

# oracle.py TREE [query options]: SHA-256 of every message of the extracted bundle's Maildir
# tree (nested layout, UTF-8 folder names) that the query selects, one per line.
cat >oracle.py <<'PY'
import argparse, datetime, email, email.header, email.utils, fnmatch, hashlib, os
p = argparse.ArgumentParser()
p.add_argument("tree")
p.add_argument("--since")
p.add_argument("--until")
p.add_argument("--from", dest="senders", action="append", default=[])
p.add_argument("--subject", action="append", default=[])
p.add_argument("--folder", action="append", default=[])
p.add_argument("--flag", action="append", default=[])
a = p.parse_args()
day = lambda s: datetime.datetime.strptime(s, "%Y-%m-%d").replace(tzinfo=datetime.timezone.utc).timestamp()

def decoded(value):
    try:
        return " ".join(str(email.header.make_header(email.header.decode_header(str(value)))).split())
    except Exception:
        return str(value)

def date_of(msg, path):
    parts = email.utils.parsedate_tz(str(msg.get("Date", "")))
    if parts is not None:
        return email.utils.mktime_tz(parts)
    return os.stat(path).st_mtime

for dirpath, _, files in os.walk(a.tree):
    if os.path.basename(dirpath) not in ("cur", "new"):
        continue
    folder = os.path.relpath(os.path.dirname(dirpath), a.tree)
    folder = "INBOX" if folder == "." else folder
    for name in files:
        path = os.path.join(dirpath, name)
        raw = open(path, "rb").read()
        msg = email.message_from_bytes(raw)
        flags = name.split(":2,", 1)[1] if ":2," in name else ""
        if a.folder and not any(fnmatch.fnmatchcase(folder, g) for g in a.folder):
            continue
        if any(f not in flags for f in a.flag):
            continue
        when = date_of(msg, path)
        if (a.since and when < day(a.since)) or (a.until and when >= day(a.until)):
            continue
        if a.senders:
            who = [f"{decoded(n)} <{addr}>" if n else addr
                   for n, addr in email.utils.getaddresses([str(v) for v in msg.get_all("From", [])])]
            if not any(s.lower() in w.lower() for s in a.senders for w in who):
                continue
        if a.subject and not any(s.lower() in decoded(msg.get("Subject", "")).lower() for s in a.subject):
            continue
        print(hashlib.sha256(raw).hexdigest())
PY
tree="extracted/bundle/mail"
total="$(python3 oracle.py "$tree" | wc -l)"
[ "$total" -eq 400 ] || fail "the oracle sees $total messages in the extracted bundle, expected 400"

# restored_hashes DIR: SHA-256 of every message restored into DIR, sorted.
restored_hashes() { python3 "$CENSUS" --fields sha256 "$1" | sort; }

queries=(
    "--since 2021-01-01 --until 2022-07-01"
    "--from smith"
    "--from example.org --since 2023-01-01"
    "--subject quarterly"
    "--subject invoice --subject budget"
    "--folder Lists"
    "--folder Mail/* --flag S"
    "--folder Mail --flag F"
    "--flag D --until 2021-01-01"
)
n=0
set -f # the queries hold folder globs for mailrestore, not for the shell
for q in "${queries[@]}"; do
    n=$((n + 1))
    # shellcheck disable=SC2086
    python3 oracle.py "$tree" $q | sort >"expected.$n"
    want="$(wc -l <"expected.$n")"
    [ "$want" -gt 0 ] && [ "$want" -lt 400 ] || fail "query '$q' selects $want of 400 messages: not a useful test"
    # shellcheck disable=SC2086
    expect_rc 0 mailrestore bundle.tar.xz -o "R$n" $q
    restored_hashes "R$n" >"got.$n"
    diff "expected.$n" "got.$n" >&2 || fail "mailrestore $q restored other messages than the oracle selects ($want)"
    note "query $q: $want messages"
done
set +f

# A second run restores nothing and adds no file.
before="$(find R1 -type f | wc -l)"
rc=0
mailrestore bundle.tar.xz -o R1 --since 2021-01-01 --until 2022-07-01 2>second.log || rc=$?
[ "$rc" -eq 0 ] || { cat second.log >&2; fail "the second mailrestore exited $rc"; }
grep -qx "mailrestore: 0 restored, $(wc -l <expected.1) skipped as already present" second.log \
    || { cat second.log >&2; fail "the second mailrestore does not say it restored 0"; }
[ "$(find R1 -type f | wc -l)" -eq "$before" ] || fail "the second mailrestore added files"

# Everything, opened with Python's mailbox: the right count, and each message's flags as the
# bundle's file name gives them.
expect_rc 0 mailrestore bundle.tar.xz -o All
PYTHONPATH="$REPO/scripts/lib" python3 - All "$tree" <<'PY' || fail "Python's mailbox does not see the restored Maildir as the bundle holds it"
import hashlib, mailbox, os, sys
flags_in_bundle = {}
for dirpath, _, files in os.walk(sys.argv[2]):
    for name in files:
        raw = open(os.path.join(dirpath, name), "rb").read()
        flags_in_bundle[hashlib.sha256(raw).hexdigest()] = name.split(":2,", 1)[1] if ":2," in name else ""
# The tree opens at its root (its top folder is a Maildir even when no message went there),
# and every Maildir++ folder is listed there.
root = mailbox.Maildir(sys.argv[1], factory=None, create=False)
names = root.list_folders()
assert len(names) >= 4, names
seen = {}
for box in [root] + [root.get_folder(name) for name in names]:
    for key in box.keys():
        seen[hashlib.sha256(box.get_bytes(key)).hexdigest()] = "".join(sorted(box.get_message(key).get_flags()))
assert len(seen) == 400, len(seen)
assert seen == flags_in_bundle, [h for h in seen if seen[h] != flags_in_bundle.get(h)][:5]
PY

# mutt opens a restored folder with the count and flags the bundle has.
if require_or_skip mutt script; then
    lists="$(python3 -c 'import os,sys; print(len(os.listdir(os.path.join(sys.argv[1], "Lists", "cur"))) + len(os.listdir(os.path.join(sys.argv[1], "Lists", "new"))))' "$tree")"
    [ "$(mutt_count All/.Lists .)" -eq "$lists" ] || fail "mutt does not count $lists messages in the restored Lists folder"
    # (A pattern that matches nothing would pipe the current message: count the new ones, which
    # are all of this mbox's messages, as it has no Status headers.)
    unseen="$(find "$tree/Lists/new" -type f | wc -l)"
    [ "$unseen" -gt 0 ] || fail "the bundle's Lists folder has no new messages to count"
    [ "$(mutt_count All/.Lists '~N')" -eq "$unseen" ] || fail "mutt does not see $unseen new messages in the restored Lists folder"
fi

# An mbox restore of the mbox's folder (a tree of mbox files, as the bundle has several
# folders) gives back the original file, and mailconvert reads it back.
expect_rc 0 mailrestore bundle.tar.xz -o MboxBack --format mbox --folder Lists
same_file Lists.mbox MboxBack/Lists
expect_rc 0 mailconvert MboxBack/Lists -o ListsMaildir
restored_hashes ListsMaildir >got.lists
diff expected.6 got.lists >&2 || fail "mailconvert does not read the restored mbox as the Lists folder"

# --dry-run lists what the query selects and writes nothing.
rc=0
mailrestore bundle.tar.xz -o DryRun --subject quarterly --dry-run >dry.out 2>dry.err || rc=$?
[ "$rc" -eq 0 ] || { cat dry.err >&2; fail "mailrestore --dry-run exited $rc"; }
[ ! -e DryRun ] || fail "mailrestore --dry-run created its target"
[ "$(wc -l <dry.out)" -eq "$(wc -l <expected.4)" ] || fail "mailrestore --dry-run lists $(wc -l <dry.out) messages, expected $(wc -l <expected.4)"

# A bundle on stdin: the tar stream, and the compressed bundle with a selection.
gzip -dc bundle.tar.gz | mailrestore - -o FromStdin 2>stdin.err || { cat stdin.err >&2; fail "mailrestore - failed on a tar stream"; }
python3 oracle.py "$tree" | sort >expected.all
restored_hashes FromStdin >got.all
diff expected.all got.all >&2 || fail "mailrestore - from a tar stream did not restore the whole bundle"
mailrestore - -o FromStdinSelected --subject quarterly <bundle.tar.xz 2>stdin.err || { cat stdin.err >&2; fail "mailrestore - failed on an xz bundle"; }
restored_hashes FromStdinSelected >got.stdin
diff expected.4 got.stdin >&2 || fail "mailrestore - --subject quarterly restored other messages than the oracle selects"
