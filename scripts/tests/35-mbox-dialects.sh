#!/usr/bin/env bash
# mbox dialects written by a real program. mutt copies messages into an mbox as it writes one:
# a Content-Length, body `From ` lines left unquoted, From_ dates in local time. mailconvert and
# a bundle give that file back byte for byte; each dialect mailkeep writes reads back to the same
# messages without a warning; and a received time survives mutt's zone-less From_ line when it
# is read in the zone it was written in.
source "$(dirname "$0")/../lib/testlib.sh"
require_or_skip mutt script || exit 0
export TZ=America/New_York

src="$SCRATCH/src"
mkdir -p "$src/cur" "$src/new" "$src/tmp"
# mutt takes a Maildir message's received time from its Date header: both say TIME.
message() {  # message NAME TIME SUBJECT BODY
    printf 'From: Alice <alice@example.org>\nTo: bob@example.net\nSubject: %s\nDate: %s\nMessage-ID: <%s@dialects.example>\n\n%b' \
        "$3" "$(TZ=UTC date -R -d "@$2")" "$1" "$4" >"$src/cur/$1:2,S"
    touch -d "@$2" "$src/cur/$1:2,S"
}
message 1704103200.M1P1.t 1704103200 "a separator in the body" 'Forwarded:\n\nFrom alice@example.org Mon Jan  1 10:00:00 2024\nstays in this message.\n'
message 1704189600.M2P1.t 1704189600 "quoted by hand" 'Text\n>From the author, by hand\n>>From twice\n'
message 1719835200.M3P1.t 1719835200 "summer time" 'Received in July (EDT).\n'

home="$SCRATCH/mutt-copy-home"
mkdir -p "$home/Mail"
cat >"$home/.muttrc" <<MUTTRC
set folder="$home/Mail" spoolfile="$home/Mail" mbox="$home/Mail/mbox" record="" header_cache=""
set mbox_type=mbox confirmappend=no confirmcreate=no wait_key=no sort=mailbox-order
MUTTRC
HOME="$home" timeout 60 script -qec "mutt -n -F '$home/.muttrc' -f '$src' \
    -e 'push \"<tag-pattern>~A<enter><tag-prefix><copy-message>$SCRATCH/mutt.mbox<enter><quit>\"'" \
    /dev/null >/dev/null 2>&1 </dev/null || fail "mutt failed"
mutt="$SCRATCH/mutt.mbox"
[ "$(grep -c '^Content-Length: ' "$mutt")" = 3 ] || fail "mutt did not write a Content-Length per message"
grep -q '^From alice@example.org Mon Jan  1 10:00:00 2024$' "$mutt" || fail "mutt quoted a body From_ line"
grep -q '^>From the author' "$mutt" || fail "mutt changed a >From line"
grep -q '^From alice@example.org Mon Jul  1 08:00:00 2024$' "$mutt" || fail "mutt's From_ line is not in local time: $(grep '^From alice' "$mutt")"
grep -q '^From alice@example.org Tue Jan  2 05:00:00 2024$' "$mutt" || fail "mutt's From_ line is not in local time: $(grep '^From alice' "$mutt")"

# The mutt file comes back byte for byte: converted, and rebuilt from a bundle.
expect_rc 0 mailconvert "$mutt" -o "$SCRATCH/copy.mbox"
same_file "$mutt" "$SCRATCH/copy.mbox"
grep -q warning "$SCRATCH/stderr" && fail "warnings converting mutt's mbox: $(cat "$SCRATCH/stderr")"
expect_rc 0 mailpack "$mutt" -o "$SCRATCH/b.tar.xz"
expect_rc 0 mailconvert "$SCRATCH/b.tar.xz" -o "$SCRATCH/rebuilt.mbox" --format mbox
same_file "$mutt" "$SCRATCH/rebuilt.mbox"

# Received times: mutt wrote them in New York time; read in New York, they are the same again.
expect_rc 0 mailconvert "$mutt" -o "$SCRATCH/md"
want=$(stat -c %Y "$src"/cur/* | sort | tr '\n' ' ')
got=$(stat -c %Y "$SCRATCH"/md/cur/* | sort | tr '\n' ' ')
[ "$want" = "$got" ] || fail "received times moved: $got, want $want"

# Every dialect mailkeep writes reads back to the same messages, with no warning (a stale
# Content-Length would be one), in mailkeep and in mutt.
for variant in mboxrd mboxo mboxcl2; do
    expect_rc 0 mailconvert "$mutt" -o "$SCRATCH/$variant.mbox" --mbox-variant "$variant"
    expect_rc 0 mailconvert "$SCRATCH/$variant.mbox" -o "$SCRATCH/md-$variant"
    grep -q warning "$SCRATCH/stderr" && fail "warnings reading our own $variant: $(cat "$SCRATCH/stderr")"
    if [ "$variant" != mboxo ]; then same_census "$SCRATCH/md" "$SCRATCH/md-$variant"; fi
    [ "$(mutt_count "$SCRATCH/$variant.mbox" '~A')" = 3 ] || fail "mutt does not see 3 messages in our $variant"
done
grep -q '^Content-Length' "$SCRATCH/mboxrd.mbox" && grep -B3 -A1 '^Content-Length' "$SCRATCH/mboxrd.mbox" | grep -q '^>>*From' \
    && fail "an mboxrd message kept a Content-Length and was quoted"
note "mutt's mbox: kept byte for byte, times kept, every dialect consistent"
