#!/usr/bin/env bash
# Live mailboxes and concurrent runs: mail delivered into an mbox while mailrestore adds to it
# (by Python's mailbox with lock(), which takes fcntl + dot-lock, and by dotlockfile + append,
# as a shell delivery script does), two restores into one mbox, two conversions into one
# Maildir, a source mbox that grows while it is read, and a lock held too long.  Every case
# ends in a census: each message once, whole.
source "$(dirname "$0")/../lib/testlib.sh"
cd "$SCRATCH"
require_or_skip python3 dotlockfile strace || exit 0

# Messages carry an id (X-Test-Id) and end with the line "END id", so a census sees both a
# lost message and a cut one.
cat >mk.py <<'EOF'
import os, re, sys, time, random, mailbox

def message(tag, i, lines=40):
    body = "".join("line %d of %s-%d %s\n" % (n, tag, i, "x" * (n % 60)) for n in range(lines))
    return ("From: sender-%d@example.org\nTo: you@example.net\nSubject: %s %d\n"
            "Date: Mon, 01 Jan 2024 00:%02d:%02d +0000\nMessage-ID: <%s-%d@example.org>\n"
            "X-Test-Id: %s-%d\n\n%s\nFrom the middle of a line\n\nFrom here on, a quoted line\nEND %s-%d\n"
            % (i, tag, i, i // 60 % 60, i % 60, tag, i, tag, i, body, tag, i))

def maildir(path, tag, count):
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(path, sub), exist_ok=True)
    for i in range(count):
        with open(os.path.join(path, "cur", "%d.%s%d.test:2,S" % (1700000000 + i, tag, i)), "w") as f:
            f.write(message(tag, i))

def mbox_writer(path, tag, count, pause):
    """Delivers like a client: mailbox.mbox with lock() (fcntl, then a dot-lock), retrying
    while someone else holds a lock."""
    for i in range(count):
        while True:
            box = mailbox.mbox(path, create=True)
            try:
                box.lock()
            except mailbox.ExternalClashError:
                box.close()
                time.sleep(0.01)
                continue
            box.add(message(tag, i))
            box.flush()
            box.unlock()
            box.close()
            break
        time.sleep(pause)

def slow_writer(path, tag, count):
    """Appends without any lock, each message in two writes with a pause between, as a
    careless program (or a slow disk) does."""
    rnd = random.Random(7)
    with open(path, "a") as f:
        for i in range(count):
            text = entry(tag, i)
            cut = rnd.randrange(20, len(text) - 5)
            f.write(text[:cut]); f.flush()
            time.sleep(rnd.uniform(0.01, 0.15))
            f.write(text[cut:]); f.flush()
            time.sleep(rnd.uniform(0.0, 0.05))

def entry(tag, i):
    """A message as an mbox entry: mboxrd quoting, From_ line, closing empty line."""
    return "From sender@example.org Mon Jan  1 00:00:00 2024\n" + re.sub(r"(?m)^(>*From )", r">\1", message(tag, i)) + "\n"

if __name__ == "__main__":
    kind = sys.argv[1]
    if kind == "maildir": maildir(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif kind == "entries":
        for i in range(int(sys.argv[3])):
            open("entry.%d" % i, "w").write(entry(sys.argv[2], i))
    elif kind == "mbox": open(sys.argv[2], "w").write("".join(entry(sys.argv[3], i) for i in range(int(sys.argv[4]))))
    elif kind == "mbox-writer": mbox_writer(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]))
    elif kind == "slow-writer": slow_writer(sys.argv[2], sys.argv[3], int(sys.argv[4]))
EOF

# census.py mbox|maildir PATH EXPECT...: EXPECT is TAG:COUNT; every TAG-i (i < COUNT) must be
# there exactly once and whole (its END line last), and nothing else may be there.
cat >census.py <<'EOF'
import os, re, sys, collections
kind, path, expect = sys.argv[1], sys.argv[2], sys.argv[3:]
messages = []
if kind == "mbox":
    data = open(path, "rb").read()
    # jwz's rule: a separator is a From_ line at the start or after an empty line.
    starts = [0] + [m.start() + 2 for m in re.finditer(rb"\n\nFrom ", data)]
    if not data.startswith(b"From "):
        sys.exit("%s does not start with a From_ line" % path)
    for a, b in zip(starts, starts[1:] + [len(data)]):
        messages.append(data[a:b])
else:
    for root, dirs, files in os.walk(path):
        if os.path.basename(root) in ("cur", "new"):
            messages += [open(os.path.join(root, f), "rb").read() for f in files]
seen = collections.Counter()
for m in messages:
    ids = re.findall(rb"^X-Test-Id: (\S+)$", m, re.M)
    if len(ids) != 1:
        sys.exit("a message with %d ids: %r" % (len(ids), m[:200]))
    tid = ids[0].decode()
    if not re.search(rb"^END " + re.escape(ids[0]) + rb"\n\n?$", m[-200:], re.M) or not m.rstrip(b"\n").endswith(b"END " + ids[0]):
        sys.exit("%s is cut or damaged: ...%r" % (tid, m[-120:]))
    seen[tid] += 1
want = set()
for e in expect:
    tag, count = e.split(":")
    want |= {"%s-%d" % (tag, i) for i in range(int(count))}
missing = sorted(want - set(seen))
extra = sorted(set(seen) - want)
twice = sorted(t for t, n in seen.items() if n > 1)
if missing or extra or twice:
    sys.exit("missing %s; unexpected %s; more than once %s" % (missing[:10], extra[:10], twice[:10]))
print(len(messages))
EOF
census() { python3 census.py "$@" >/dev/null || fail "census of $2"; }

# 1. Mail delivered while mailrestore adds to the same mbox: a Python client (fcntl + dot-lock)
# and a shell delivery through dotlockfile, both retrying while the restore holds the locks.
# The bytes that were there stay as they were, and every message is there once, whole.
python3 mk.py maildir src1 r 400
python3 mk.py maildir src2 s 400
mkdir Target
python3 mk.py mbox-writer Target/INBOX old 20 0
cp Target/INBOX before
python3 mk.py mbox-writer Target/INBOX w 150 0.01 &
writer=$!
(
    python3 mk.py entries d 60
    for i in $(seq 0 59); do
        # Like a delivery script: wait for the dot-lock, then append, after an empty line
        # where the file lacks one (Python's mailbox leaves none at the end), as procmail does.
        dotlockfile -l -p -r -1 -i 1 Target/INBOX.lock sh -c '
            [ ! -s Target/INBOX ] || [ "$(tail -c 2 Target/INBOX | od -An -c | tr -d " ")" = "\\n\\n" ] || echo >>Target/INBOX
            cat "$0" >>Target/INBOX' entry.$i
        sleep 0.02
    done
) &
shell_writer=$!
for round in 1 2 3; do
    expect_rc 0 mailrestore src1 -o Target --format mbox
    expect_rc 0 mailrestore src2 -o Target --format mbox
done
wait "$writer" "$shell_writer"
cmp -n "$(stat -c %s before)" before Target/INBOX || fail "the mbox's earlier bytes changed"
census mbox Target/INBOX old:20 r:400 s:400 w:150 d:60
[ ! -e Target/INBOX.lock ] || fail "a lock file was left behind"
case_ok mbox-delivery-during-restore

# 2. Two mailrestores into one mbox at the same time (overlapping selections), three times over.
for round in 1 2 3; do
    rm -rf Two && mkdir Two
    rc1=0 rc2=0
    mailrestore src1 -o Two --format mbox 2>err1 & p1=$!
    mailrestore src2 -o Two --format mbox 2>err2 & p2=$!
    mailrestore src1 -o Two --format mbox 2>err3 & p3=$!
    wait $p1 || rc1=$?; wait $p2 || rc2=$?; wait $p3 || rc1=$((rc1 + $?))
    [ "$rc1" -eq 0 ] && [ "$rc2" -eq 0 ] || { cat err1 err2 err3 >&2; fail "concurrent restores exited $rc1/$rc2"; }
    census mbox Two/INBOX r:400 s:400
done
case_ok two-restores-one-mbox

# 3. Two mailconverts into one Maildir at the same time, both exit 0 and every message is there
# once; also where the file system has no O_TMPFILE links (linkat fails, as on overlayfs),
# so that the messages go through named files in tmp/.
mkdir ConvSrc
python3 mk.py mbox ConvSrc/all.mbox c 300
for round in 1 2 3; do
    for how in plain no-tmpfile; do
        rm -rf Conv
        wrap=()
        [ "$how" = plain ] || wrap=(strace -f -qq -o /dev/null -e trace=linkat -e inject=linkat:error=EPERM)
        rc1=0 rc2=0
        "${wrap[@]}" mailconvert ConvSrc/all.mbox -o Conv 2>err1 & p1=$!
        "${wrap[@]}" mailconvert ConvSrc/all.mbox -o Conv 2>err2 & p2=$!
        wait $p1 || rc1=$?; wait $p2 || rc2=$?
        [ "$rc1" -eq 0 ] && [ "$rc2" -eq 0 ] || { cat err1 err2 >&2; fail "concurrent conversions ($how) exited $rc1/$rc2"; }
        census maildir Conv c:300
        [ -z "$(ls -A Conv/tmp)" ] || fail "tmp/ not empty after concurrent conversions ($how)"
    done
done
case_ok two-converts-one-maildir

# 4. A source mbox that grows while mailconvert reads it (a writer appending each message in
# two writes, with no lock): each run takes only whole messages, and after the writer is done a
# last run completes the Maildir: every message once, none cut, no truncated copy.
rm -rf Growing Out && mkdir Growing
: >Growing/live.mbox
python3 mk.py slow-writer Growing/live.mbox g 120 &
writer=$!
# (An mbox holding no whole message yet is "no mail found", exit 1: start after the first.)
while [ "$(stat -c %s Growing/live.mbox)" -lt 4000 ]; do sleep 0.05; done
runs=0
# A run that meets the writer half-way through a From_ line may also say that line is not a
# separator (exit 1): the message it would end is still being written and is left for the next
# run, so nothing is lost, and the last run below must be clean.
while kill -0 "$writer" 2>/dev/null; do
    rc=0
    mailconvert Growing/live.mbox -o Out 2>err || rc=$?
    [ "$rc" -eq 0 ] || { [ "$rc" -eq 1 ] && grep -q "ambiguous" err; } || { cat err >&2; fail "a run beside the writer exited $rc"; }
    runs=$((runs + 1))
done
wait "$writer"
expect_rc 0 mailconvert Growing/live.mbox -o Out
[ "$runs" -ge 3 ] || fail "only $runs conversions overlapped the writer"
census maildir Out g:120
case_ok growing-source-mbox

# 5. A lock held too long: mailrestore waits MAILKEEP_LOCK_TIMEOUT seconds, then exits 2
# naming the lock and its holder, and writes nothing; a dot-lock whose process is gone is
# stale and taken over.
rm -rf Held && mkdir Held
python3 mk.py mbox-writer Held/INBOX old 3 0
cp Held/INBOX held.before
sleep 60 & holder=$!
echo "$holder" >Held/INBOX.lock
rc=0
MAILKEEP_LOCK_TIMEOUT=1 mailrestore src1 -o Held --format mbox 2>err || rc=$?
[ "$rc" -eq 2 ] || fail "a held dot-lock: exit $rc, expected 2"
grep -q "INBOX.lock" err && grep -q "pid $holder" err || { cat err >&2; fail "the error does not name the lock and its holder"; }
kill "$holder"; wait "$holder" 2>/dev/null || true
same_file held.before Held/INBOX
# The same with an fcntl lock only (a client that locks the file itself).
python3 -c '
import fcntl, sys, time
f = open("Held/INBOX", "r+"); fcntl.lockf(f, fcntl.LOCK_EX); print("locked", flush=True); time.sleep(60)' >locked & holder=$!
while [ ! -s locked ]; do sleep 0.05; done
rc=0
MAILKEEP_LOCK_TIMEOUT=1 mailrestore src1 -o Held --format mbox 2>err || rc=$?
[ "$rc" -eq 2 ] && grep -q "locked (fcntl) by another program (pid $holder)" err || { cat err >&2; fail "a held fcntl lock: exit $rc"; }
kill "$holder"; wait "$holder" 2>/dev/null || true
same_file held.before Held/INBOX
# A dot-lock left by a process that is gone.
sh -c 'echo $$ >Held/INBOX.lock'
expect_rc 0 mailrestore src1 -o Held --format mbox
[ ! -e Held/INBOX.lock ] || fail "the stale lock was not removed"
census mbox Held/INBOX old:3 r:400
case_ok lock-held-too-long

# 6. SIGTERM in the middle of a restore into an mbox: the lock goes, the file ends with whole
# messages, and a rerun completes it.
python3 mk.py maildir big t 3000
for n in 1 2 3; do
    rm -rf Sig && mkdir Sig
    mailrestore big -o Sig --format mbox 2>/dev/null & p=$!
    sleep 0.$((RANDOM % 9 + 1))
    kill -TERM "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
    [ ! -e Sig/INBOX.lock ] || fail "SIGTERM left Sig/INBOX.lock"
    if [ -s Sig/INBOX ]; then
        # Whatever is there is whole: only "missing" may be wrong with it.
        out=$(python3 census.py mbox Sig/INBOX t:3000 2>&1 || true)
        case "$out" in *"cut or damaged"*|*" ids"*|*"more than once ["[!]]*) fail "SIGTERM left $out";; esac
    fi
    expect_rc 0 mailrestore big -o Sig --format mbox
    census mbox Sig/INBOX t:3000
done
case_ok signal-during-mbox-restore

# 7. dovecot-keywords.lock, held by a live Dovecot (changed just now) or left by a dead one
# (unchanged for longer than Dovecot's 120 s): the first is waited for MAILKEEP_LOCK_TIMEOUT
# seconds, then the run stops with exit 2 naming it, lock and file untouched; the second is
# removed with a note, as Dovecot would.
rm -rf Kw && mkdir -p Kw/cur Kw/new Kw/tmp
printf '0 $Junk\n' >Kw/dovecot-keywords
printf '0 $Junk\n1 Held\n' >Kw/dovecot-keywords.lock
rc=0
MAILKEEP_LOCK_TIMEOUT=1 timeout 60 mailconvert "$FIXTURES/dovecot/mail/inbox" -o Kw >/dev/null 2>err || rc=$?
[ "$rc" -eq 2 ] && grep -q "dovecot-keywords.lock" err || { cat err >&2; fail "a held dovecot-keywords.lock: exit $rc, expected 2 naming it"; }
[ "$(cat Kw/dovecot-keywords.lock)" = "$(printf '0 $Junk\n1 Held')" ] || fail "a held dovecot-keywords.lock was broken"
[ "$(cat Kw/dovecot-keywords)" = '0 $Junk' ] || fail "dovecot-keywords changed under a held lock"
touch -d '-10 minutes' Kw/dovecot-keywords.lock
MAILKEEP_LOCK_TIMEOUT=1 timeout 60 mailconvert "$FIXTURES/dovecot/mail/inbox" -o Kw >/dev/null 2>err || { cat err >&2; fail "a stale dovecot-keywords.lock stopped the run"; }
grep -q "note: removed a stale lock" err || { cat err >&2; fail "a stale dovecot-keywords.lock was removed without a note"; }
[ ! -e Kw/dovecot-keywords.lock ] || fail "the stale dovecot-keywords.lock is still there"
grep -q '^1 ' Kw/dovecot-keywords || fail "names were not added after the stale lock went"
case_ok keywords-lock-held-or-stale
