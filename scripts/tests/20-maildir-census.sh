#!/usr/bin/env bash
# Maildir -> mbox -> Maildir keeps the multiset of (folder, state, flags, mtime, sha256), for
# both layouts and for '!' as info separator; the Maildir written is private (0600/0700).
source "$(dirname "$0")/../lib/testlib.sh"
require_or_skip "$SHARED/bench/gen_mail.py" || exit 0

roundtrip() {  # roundtrip NAME SRC [mailconvert options for the way back]
    local name="$1" src="$2"
    shift 2
    expect_rc 0 mailconvert "$src" -o "$SCRATCH/$name.mboxes" --format mbox
    [ -f "$SCRATCH/$name.mboxes/INBOX" ] || fail "$name: the root folder did not become INBOX"
    expect_rc 0 mailconvert "$SCRATCH/$name.mboxes" -o "$SCRATCH/$name.back" "$@"
    same_census "$src" "$SCRATCH/$name.back"
}

for layout in maildir++ nested; do
    gen_mail maildir --messages 1500 --layout "$layout" "$SCRATCH/gen-$layout"
    roundtrip "gen-$layout" "$SCRATCH/gen-$layout" --layout "$layout"
done
# Maildir++ folder names come out as in gen_mail's tree; nested ones as directories.
[ -d "$SCRATCH/gen-maildir++.back/.Projects.Beta.Invoices/cur" ] || fail "Maildir++ folder .Projects.Beta.Invoices missing"
[ -d "$SCRATCH/gen-nested.back/Projects/Beta/Invoices/cur" ] || fail "nested folder Projects/Beta/Invoices missing"
[ -f "$SCRATCH/gen-maildir++.mboxes/Projects.sbd/Beta.sbd/Invoices" ] || fail "mbox tree lacks Projects.sbd/Beta.sbd/Invoices"
# Names are written in modified UTF-7 unless --utf8-names.
[ -d "$SCRATCH/gen-maildir++.back/.Clients.&ANw-n&AO8-code Kunden" ] || fail "folder name not in modified UTF-7"
expect_rc 0 mailconvert "$SCRATCH/gen-maildir++.mboxes" -o "$SCRATCH/utf8" --utf8-names
[ -d "$SCRATCH/utf8/.Clients.Ünïcode Kunden" ] || fail "--utf8-names did not write UTF-8 folder names"

# Changing layout keeps the census too.
expect_rc 0 mailconvert "$SCRATCH/gen-nested" -o "$SCRATCH/nested-to-pp"
same_census "$SCRATCH/gen-nested" "$SCRATCH/nested-to-pp"

for fixture in plusplus nested fat; do
    copy_fixture_tree "$FIXTURES/maildir/$fixture" "$SCRATCH/fx-$fixture"
    roundtrip "fx-$fixture" "$SCRATCH/fx-$fixture"
done
# The fixture's unfinished delivery in tmp/ is not a message.
grep -rq 'unfinished del' "$SCRATCH/fx-plusplus.mboxes" && fail "a file from tmp/ was converted"
# Entwürfe was read from modified UTF-7.
[ -f "$SCRATCH/fx-plusplus.mboxes/Entwürfe" ] || fail ".Entw&APw-rfe did not become the mbox Entwürfe"

# '!' as info separator on the way out; flags survive.
expect_rc 0 mailconvert "$SCRATCH/fx-plusplus.mboxes" -o "$SCRATCH/bang" --info-separator '!'
[ -z "$(find "$SCRATCH/bang" -path '*/cur/*' -name '*:*')" ] || fail "--info-separator '!' still wrote ':'"
same_census "$SCRATCH/fx-plusplus" "$SCRATCH/bang"

# mbox Status/X-Status -> Maildir state and flags.
expect_rc 0 mailconvert "$FIXTURES/mbox/status.mbox" -o "$SCRATCH/status"
python3 "$CENSUS" --fields state,flags "$SCRATCH/status" >"$SCRATCH/status.census"
printf 'cur\t\ncur\tD\ncur\tFS\ncur\tRS\ncur\tS\ncur\tST\nnew\t\n' | diff - "$SCRATCH/status.census" >&2 \
    || fail "status.mbox flags are wrong"

# Permissions and mtimes of what mailconvert writes.
bad="$(find "$SCRATCH/gen-nested.back" \( -type f ! -perm 0600 \) -o \( -type d ! -perm 0700 \) | sed -n 1,3p)"
[ -z "$bad" ] || fail "not private: $bad"
f="$(find "$SCRATCH/status/cur" -name '*:2,S' -print -quit)"
[ "$(stat -c %Y "$f")" -eq 1704103320 ] || fail "mtime of $f is not the From_ line's date"
