#!/usr/bin/env bash
# Nightly backups of a whole server (scripts/mailkeep-server-nightly over
# scripts/mailkeep-nightly), four generated mailboxes under VMAIL/DOMAIN/USER/Maildir, over
# simulated nights (faketime: the scripts and the bundles' `created` see the same clock) with
# new mail, flag changes and deletions between them:
#   - the first night makes a full bundle per mailbox, the next nights increments holding only
#     the new messages;
#   - one night, bob's mailbox holds a FIFO among its messages (mailpack cannot read it: the
#     rest is packed, verified and kept, his job fails) and carol's backup is locked by another
#     run (her job fails at once): alice and dave complete, the joblog and the exit status
#     name bob and carol;
#   - alice's chain restores the state of any night exactly (--as-of), and what she deleted
#     from one sender comes back with --deleted --from, exactly what was deleted (SHA-256 sets);
#   - each bundle of a chain, unpacked with tar in order and checked with sha256sum -c, gives
#     every message back without mailkeep;
#   - a new chain starts on the full day and when the full day was missed; with --keep-weeks 1
#     whole old chains go, and every kept chain verifies.
source "$(dirname "$0")/../lib/testlib.sh"

# GNU parallel and faketime are Debian packages; installed here when missing (as root).
for pkg in parallel faketime; do
    if ! command -v "$pkg" >/dev/null && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null
    fi
done
require_or_skip "$SHARED/bench/gen_mail.py" parallel faketime || exit 0
export TZ=UTC
NIGHTLY="$REPO/scripts/mailkeep-nightly"
SERVER="$REPO/scripts/mailkeep-server-nightly"
cd "$SCRATCH"

gen_mail maildir --messages 150 --seed 11 vmail/a.org/alice/Maildir >/dev/null
gen_mail maildir --messages 60 --seed 12 vmail/a.org/bob/Maildir >/dev/null
gen_mail maildir --messages 40 --seed 13 vmail/b.org/carol/Maildir >/dev/null
gen_mail maildir --messages 40 --seed 14 --layout nested vmail/b.org/dave/Maildir >/dev/null
ALICE=vmail/a.org/alice/Maildir
BACKUP="$SCRATCH/backup"

# mutate.py MAILDIR SEED NEW FLAG DELETE DELETED_LOG: NEW messages arrive in new/ (from a
# generated batch of their own), FLAG messages gain the flag F, DELETE messages are deleted;
# each deleted message's SHA-256 and From header go to DELETED_LOG, tab-separated.
cat >mutate.py <<'PY'
import hashlib, os, random, subprocess, sys, tempfile
tree, seed, new, flag, delete, log = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
rng = random.Random(seed)
listed = sorted(os.path.join(d, f) for d, _, fs in os.walk(tree) if os.path.basename(d) in ("cur", "new") for f in fs)
flagged = rng.sample([m for m in listed if ":2," in m and "F" not in m.rpartition(":2,")[2]], flag)
deleted = rng.sample(sorted(set(listed) - set(flagged)), delete)
for path in flagged:
    head, _, flags = path.rpartition(":2,")
    os.rename(path, head + ":2," + "".join(sorted(flags + "F")))
with open(log, "a") as out:
    for path in deleted:
        raw = open(path, "rb").read()
        sender = next((l.split(b":", 1)[1].strip() for l in raw.split(b"\n\n", 1)[0].split(b"\n")
                       if l.lower().startswith(b"from:")), b"").decode("utf-8", "replace")
        out.write(hashlib.sha256(raw).hexdigest() + "\t" + sender + "\n")
        os.remove(path)
with tempfile.TemporaryDirectory() as batch:
    subprocess.run([sys.executable, sys.argv[7], "maildir", "--messages", str(new), "--seed", str(seed), batch + "/M"], check=True, stdout=subprocess.DEVNULL)
    arrived = sorted(os.path.join(d, f) for d, _, fs in os.walk(batch + "/M") if os.path.basename(d) in ("cur", "new") for f in fs)
    for i, path in enumerate(arrived):
        os.rename(path, os.path.join(tree, "new", "%d.night%d_%d.host" % (1800000000 + seed * 1000 + i, seed, i)))
PY
mutate() { python3 mutate.py "$@" "$SHARED/bench/gen_mail.py"; }
# snapshot TREE: the tree's messages as folder, flags and SHA-256, one a line, sorted.
snapshot() { python3 "$CENSUS" --fields folder,flags,sha256 "$1" | sort; }
# night DATE [server options]: the server's nightly run at 02:00 UTC that day; its exit
# status in $night_rc, stderr in night.err.
night() {
    local date="$1"
    shift
    night_rc=0
    faketime "$date 02:00:00" "$SERVER" --vmail vmail --jobs 2 "$BACKUP" "$@" >night.out 2>night.err || night_rc=$?
}
# joblog_exit NAME: the exit value the last run's joblog gives NAME's job.
joblog_exit() { awk -F'\t' -v n="--name '$1'" 'index($9, n) { print $7 }' "$BACKUP/joblog"; }
# mail_files BUNDLE: how many messages a bundle stores.
mail_files() { tar -tJf "$1" | grep -c -E '/mail/(.*/)?(cur|new)/[^/]+$' || true; }
chain_dirs() { (cd "$BACKUP/$1" && ls -d 20*); }

# Night 1 (Sunday 2026-11-29): a full bundle per mailbox, each in a chain of its own.
night 2026-11-29
[ "$night_rc" -eq 0 ] || { cat night.err >&2; fail "night 1 exited $night_rc"; }
for box in a.org/alice a.org/bob b.org/carol b.org/dave; do
    name="$(basename "$box")@$(dirname "$box")"
    full="$BACKUP/$box/2026-11-29T0200/$name-2026-11-29T0200.tar.xz"
    [ -f "$full" ] || fail "night 1 made no $full"
done
[ "$(mail_files "$BACKUP/a.org/alice/2026-11-29T0200/alice@a.org-2026-11-29T0200.tar.xz")" -eq 150 ] \
    || fail "alice's full bundle does not hold her 150 messages"
snapshot "$ALICE" >alice.1

# Night 2 (Monday): alice has 12 new messages, 20 flagged and 15 deleted; bob's mailbox holds a
# FIFO where a message should be; carol's backup is held by another run.
mutate "$ALICE" 1 12 20 15 alice.deleted
snapshot "$ALICE" >alice.2
mkfifo "vmail/a.org/bob/Maildir/cur/1800000000.stuck.host:2,S"
python3 -c 'import fcntl, sys, time
f = open(sys.argv[1], "a"); fcntl.flock(f, fcntl.LOCK_EX); print("locked", flush=True); time.sleep(600)' \
    "$BACKUP/b.org/carol/.lock" >holder.out &
holder=$!
for _ in $(seq 100); do grep -q locked holder.out && break; sleep 0.1; done
grep -q locked holder.out || fail "could not take carol's lock"
night 2026-11-30
kill "$holder"
wait "$holder" || true
[ "$night_rc" -eq 1 ] || { cat night.err >&2; fail "a night with two failed mailboxes exited $night_rc, expected 1"; }
[ "$(joblog_exit bob@a.org)" -eq 1 ] || fail "the joblog gives bob's job exit $(joblog_exit bob@a.org), expected 1"
[ "$(joblog_exit carol@b.org)" -eq 75 ] || fail "the joblog gives carol's job exit $(joblog_exit carol@b.org), expected 75"
[ "$(joblog_exit alice@a.org)" -eq 0 ] && [ "$(joblog_exit dave@b.org)" -eq 0 ] || { cat night.err >&2; fail "alice's or dave's job failed"; }
grep -q 'bob@a.org failed (exit 1' night.err && grep -q 'carol@b.org failed (exit 75' night.err \
    && grep -q '2 of 4 mailboxes failed' night.err || { cat night.err >&2; fail "the failures are not named on stderr"; }
grep -q 'stuck.host' night.err || fail "bob's unreadable message is not named"
inc="$BACKUP/a.org/alice/2026-11-29T0200/alice@a.org-2026-11-30T0200.tar.xz"
[ -f "$inc" ] || fail "alice has no increment for night 2"
[ "$(mail_files "$inc")" -eq 12 ] || fail "alice's increment stores $(mail_files "$inc") messages, not her 12 new ones"
[ -f "$BACKUP/a.org/bob/2026-11-29T0200/bob@a.org-2026-11-30T0200.tar.xz" ] \
    || fail "bob's increment (everything but the FIFO) was not kept"
[ ! -e "$BACKUP/b.org/carol/2026-11-29T0200/carol@b.org-2026-11-30T0200.tar.xz" ] || fail "carol's locked backup was written"
# dave's mailbox did not change: his increment stores no message and is no problem.
[ "$(mail_files "$BACKUP/b.org/dave/2026-11-29T0200/dave@b.org-2026-11-30T0200.tar.xz")" -eq 0 ] \
    || fail "dave's increment of an unchanged mailbox stores messages"
rm "vmail/a.org/bob/Maildir/cur/1800000000.stuck.host:2,S"

# Night 3 (Tuesday): alice has 5 new messages, 10 flagged, 12 more deleted; all is well again.
mutate "$ALICE" 2 5 10 12 alice.deleted
snapshot "$ALICE" >alice.3
night 2026-12-01
[ "$night_rc" -eq 0 ] || { cat night.err >&2; fail "night 3 exited $night_rc"; }
CHAIN1=("$BACKUP"/a.org/alice/2026-11-29T0200/*.tar.xz)
[ ${#CHAIN1[@]} -eq 3 ] || fail "alice's first chain holds ${#CHAIN1[@]} bundles, not 3"
expect_rc 0 mailverify "${CHAIN1[@]}"

# Each night's state comes back exactly: the newest, and each earlier one with --as-of.
expect_rc 0 mailrestore "${CHAIN1[@]}" -o now
diff alice.3 <(snapshot now) >&2 || fail "the chain's newest state is not alice's mailbox"
expect_rc 0 mailrestore "${CHAIN1[@]}" --as-of 2026-11-30T12:00:00Z -o asof2
diff alice.2 <(snapshot asof2) >&2 || fail "--as-of night 2 is not alice's mailbox of night 2"
expect_rc 0 mailrestore "${CHAIN1[@]}" --as-of 2026-11-29T23:00:00Z -o asof1
diff alice.1 <(snapshot asof1) >&2 || fail "--as-of night 1 is not alice's mailbox of night 1"

# What alice deleted from one sender comes back, exactly that.  The sender is the address
# most of her deleted messages are from; the oracle matches it as a case-insensitive substring
# of the From header, as --from does.
sender="$(cut -f2 alice.deleted | grep -o '[^<> ]*@[^<> ]*' | sort | uniq -c | sort -k1,1nr -k2 | awk 'NR == 1 { print $2 }')"
[ -n "$sender" ] || fail "no sender address in the first deleted message"
awk -F'\t' -v s="${sender,,}" 'index(tolower($2), s) { print $1 }' alice.deleted | sort >expected
cut -f1 alice.deleted | sort >all_deleted
expect_rc 0 mailrestore "${CHAIN1[@]}" --deleted --from "$sender" -o back
python3 "$CENSUS" --fields sha256 back | sort >restored
[ -s expected ] || fail "nothing deleted from $sender"
diff expected restored >&2 || fail "--deleted --from $sender restored other than what was deleted"
expect_rc 0 mailrestore "${CHAIN1[@]}" --deleted -o back-all
diff all_deleted <(python3 "$CENSUS" --fields sha256 back-all | sort) >&2 \
    || fail "--deleted restored other than the $(wc -l <all_deleted) deleted messages"
note "deleted from $sender: $(wc -l <expected) of $(wc -l <all_deleted) deleted messages, restored exactly"

# Without mailkeep: each bundle unpacked by tar, in order, checked by sha256sum -c, and every
# message of every night is among the files.
mkdir plain
for bundle in "${CHAIN1[@]}"; do
    tar -xJf "$bundle" -C plain
    top="$(tar -tJf "$bundle" | sed -n 1p | cut -d/ -f1)"
    (cd "plain/$top" && sha256sum -c --quiet SHA256SUMS) || fail "sha256sum -c fails in $bundle"
done
find plain -type f -path '*/mail/*' -exec sha256sum {} + | cut -d' ' -f1 | sort -u >plain.sums
cat alice.1 alice.2 alice.3 | awk '{ print $NF }' | sort -u | comm -23 - plain.sums >plain.missing
[ ! -s plain.missing ] || fail "$(wc -l <plain.missing) messages are not in the unpacked bundles"

# Weeks: Sunday 2026-12-06 starts a new chain, Monday extends it; on Sunday 2026-12-13 with
# --keep-weeks 1 the chain of 11-29 (followed by one that started a week back) goes whole.
night 2026-12-06
[ "$night_rc" -eq 0 ] || { cat night.err >&2; fail "night 2026-12-06 exited $night_rc"; }
night 2026-12-07
[ "$night_rc" -eq 0 ] || { cat night.err >&2; fail "night 2026-12-07 exited $night_rc"; }
[ "$(chain_dirs a.org/alice | tr '\n' ' ')" = "2026-11-29T0200 2026-12-06T0200 " ] || fail "chains after 12-07: $(chain_dirs a.org/alice)"
night 2026-12-13 -- --keep-weeks 1
[ "$night_rc" -eq 0 ] || { cat night.err >&2; fail "night 2026-12-13 exited $night_rc"; }
for box in a.org/alice a.org/bob b.org/carol b.org/dave; do
    [ "$(chain_dirs "$box" | tr '\n' ' ')" = "2026-12-06T0200 2026-12-13T0200 " ] || fail "$box keeps $(chain_dirs "$box")"
done
[ "$(ls "$BACKUP/a.org/alice/2026-12-06T0200" | wc -l)" -eq 2 ] || fail "the kept chain lost a bundle"
# The full day missed (the machine was off on Sunday 12-20): Monday starts a new chain, and
# the chain of 12-06 goes.
night 2026-12-21 -- --keep-weeks 1
[ "$night_rc" -eq 0 ] || { cat night.err >&2; fail "night 2026-12-21 exited $night_rc"; }
[ "$(chain_dirs a.org/alice | tr '\n' ' ')" = "2026-12-13T0200 2026-12-21T0200 " ] || fail "chains after 12-21: $(chain_dirs a.org/alice)"
for box in a.org/alice a.org/bob b.org/carol b.org/dave; do
    for chain in "$BACKUP/$box"/20*; do
        expect_rc 0 mailverify "$chain"/*.tar.xz
    done
done
[ -z "$(find "$BACKUP" -path '*/.incoming/*')" ] || fail "leftovers in .incoming: $(find "$BACKUP" -path '*/.incoming/*')"

# mailkeep-nightly alone: a second run holding the lock is refused; bad options are usage errors.
exec 8>>"$BACKUP/a.org/alice/.lock"
flock 8
expect_rc 75 "$NIGHTLY" "$ALICE" "$BACKUP/a.org/alice"
exec 8>&-
expect_rc 64 "$NIGHTLY" --keep-weeks 0 "$ALICE" "$BACKUP/a.org/alice"
expect_rc 64 "$NIGHTLY" --full-day Someday "$ALICE" "$BACKUP/a.org/alice"
note "nightly: 4 mailboxes over 8 nights, failures named, deleted mail restored exactly, old chains removed whole"
