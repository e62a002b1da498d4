#!/usr/bin/env bash
# Keyword names against what a live mail store holds: a dovecot-keywords.lock left behind by a
# killed Dovecot, a dovecot-keywords with lines Dovecot itself skips, and one that is a
# symlink. Inputs are made with the shell and Python.
source "$(dirname "$0")/../lib/testlib.sh"
cd "$SCRATCH"
quiet() { "$@" >/dev/null; }

# --- A lock older than Dovecot's 120 s is stale: Dovecot overrides it, and so does mailkeep;
# the names it adds merge with the folder's, existing letters unchanged.
mkdir -p live/cur live/new live/tmp
printf '0 $Junk\n' > live/dovecot-keywords
: > live/dovecot-keywords.lock
touch -d '-10 minutes' live/dovecot-keywords.lock
expect_rc 0 quiet mailconvert "$FIXTURES/dovecot/mail/inbox" -o live
[ "$(cat live/dovecot-keywords)" = "$(printf '0 $Junk\n1 $Forwarded\n2 Wichtig')" ] || fail "stale lock: $(cat live/dovecot-keywords)"
[ ! -e live/dovecot-keywords.lock ] || fail "stale lock left behind"
ls live/cur | grep -q ':2,Sbc$' || fail "stale lock: letters $(ls live/cur live/new)"
ls live/new | grep -q ':2,a$' || fail "stale lock: \$Junk is not a: $(ls live/new)"
case_ok keywords-stale-lock

# --- Lines Dovecot skips (no space, index past z, junk) are skipped; the names that parse are used.
mkdir -p odd/cur odd/new odd/tmp
cp "$FIXTURES/dovecot/Maildir/new/"*":2,Sab" odd/cur/
python3 - <<'PY'
open("odd/dovecot-keywords", "wb").write(b"garbage\n26 TooFar\n99999999999999999999 Huge\n0 $Forwarded\n\x01\x02\n1 Wichtig\n")
PY
mailpick odd --keyword wichtig > picked.mbox 2>"$SCRATCH/stderr" || fail "odd dovecot-keywords: mailpick failed"
grep -q "^Subject: one" picked.mbox || fail "odd dovecot-keywords: Wichtig not read"
grep -q '^X-Keywords: \$Forwarded Wichtig$' picked.mbox || fail "odd dovecot-keywords: X-Keywords"
case_ok keywords-odd-file

# --- A dovecot-keywords that is a symlink is neither read through nor written through.
mkdir -p sly/cur sly/new sly/tmp
printf '0 Secret\n' > outside-keywords
ln -s "$SCRATCH/outside-keywords" sly/dovecot-keywords
expect_rc 2 quiet mailconvert "$FIXTURES/dovecot/mail/inbox" -o sly
[ "$(cat outside-keywords)" = "0 Secret" ] || fail "wrote through a symlinked dovecot-keywords"
[ -L sly/dovecot-keywords ] || fail "replaced a symlinked dovecot-keywords"
grep -q "dovecot-keywords" "$SCRATCH/stderr" || fail "symlinked dovecot-keywords not named"
case_ok keywords-symlink

# --- Run as root into a tree that belongs to another user (an administrator restoring a
# user's mail), everything mailkeep creates there is that user's and private (0600 files,
# 0700 directories), in every output format: a live Maildir whose dovecot-keywords gains
# names (the file is replaced through its lock file), mbox trees and a single mbox (made new
# or added to), .eml files and their empty folders.
if [ "$(id -u)" -ne 0 ]; then
    [ "${CI:-}" = true ] && fail "missing prerequisite: root"
    echo "skip: keywords-owner (not root)"
    exit 0
fi
mkdir -p owned/live/cur owned/live/new owned/live/tmp
printf '0 $Junk\n' > owned/live/dovecot-keywords
chmod -R u=rwX,go= owned
chown -R 65534:65534 owned
expect_rc 0 quiet mailpack "$FIXTURES/dovecot/Maildir" "$FIXTURES/clients/thunderbird" -o owned-all.tar.xz
expect_rc 0 quiet mailconvert "$FIXTURES/dovecot/mail" -o owned/live
grep -q '^1 \$Forwarded$' owned/live/dovecot-keywords || fail "owner: dovecot-keywords did not gain names: $(cat owned/live/dovecot-keywords)"
expect_rc 0 quiet mailrestore owned-all.tar.xz -o owned/restored-mbox --format mbox
expect_rc 0 quiet mailrestore owned-all.tar.xz -o owned/restored-mbox --format mbox
expect_rc 0 quiet mailconvert "$FIXTURES/dovecot/Maildir" "$FIXTURES/clients/thunderbird" -o owned/converted-mbox --format mbox
expect_rc 0 quiet mailconvert "$FIXTURES/dovecot/mail/inbox" -o owned/single.mbox
expect_rc 0 quiet mailrestore owned-all.tar.xz -o owned/restored-eml --format eml
expect_rc 0 quiet mailrestore owned-all.tar.xz -o owned/restored-maildir
[ -d owned/restored-eml/thunderbird/Templates ] || fail "owner: the empty folder Templates was not made in .eml"
find owned -mindepth 1 \( ! -user 65534 -o ! -group 65534 -o \( -type f ! -perm 600 \) -o \( -type d ! -perm 700 \) -o ! \( -type f -o -type d \) \) \
    -printf '%M %u:%g %p\n' >not-owned
[ ! -s not-owned ] || { cat not-owned >&2; fail "owner: created as root and not the tree owner's, or not private"; }
[ "$(find owned -name '*.lock' -o -name '*.partial' | wc -l)" -eq 0 ] || fail "owner: lock or partial files left"
case_ok keywords-owner
