#!/usr/bin/env bash
# A run killed at any point and run again converges.  MAILKEEP_STOP_AFTER_MESSAGES=N makes a
# tool kill itself with SIGKILL right after it handed its N-th message to its output, so every
# interruption is known to have happened, and where: after the first message, in the middle,
# after the last one.  Each killed run must have died by SIGKILL and left its output
# incomplete; the run after them must end with every message exactly once, nothing left in
# tmp/, and the mail given back as mbox byte for byte.
source "$(dirname "$0")/../lib/testlib.sh"

require_or_skip "$SHARED/bench/gen_mail.py" || exit 0
cd "$SCRATCH"
total=1500
gen_mail mbox --messages "$total" >in.mbox
stops=(1 $((total / 2)) "$total")

# crash N CMD...: runs CMD stopped after N messages; fails unless it died by SIGKILL.
crash() {
    local n="$1" rc=0
    shift
    MAILKEEP_STOP_AFTER_MESSAGES="$n" "$@" 2>"$SCRATCH/stderr" || rc=$?
    [ "$rc" -eq 137 ] || { cat "$SCRATCH/stderr" >&2; fail "'$*' told to stop after $n messages exited $rc, not killed by SIGKILL (137)"; }
}

# messages_once DIR: the Maildir tree DIR holds each of the $total messages exactly once and
# no unfinished delivery.
messages_once() {
    local files distinct
    files="$(python3 "$CENSUS" --fields sha256 "$1" | wc -l)"
    distinct="$(python3 "$CENSUS" --fields sha256 "$1" | sort -u | wc -l)"
    [ "$files" -eq "$total" ] && [ "$distinct" -eq "$total" ] \
        || fail "$1 holds $files message files, $distinct distinct, expected each of the $total once"
    [ -z "$(find "$1" -path '*/tmp/*' -type f)" ] || fail "tmp/ of $1 still holds files: $(find "$1" -path '*/tmp/*' -type f | sed -n 1,3p)"
}

# mbox -> Maildir: a killed run holds at most the messages handed out before the kill.
for n in "${stops[@]}"; do
    crash "$n" mailconvert in.mbox -o Mail
    got="$(maildir_count Mail)"
    [ "$got" -le "$n" ] || fail "mailconvert killed after $n messages left $got in the Maildir"
    [ "$n" -eq "$total" ] || [ "$got" -lt "$total" ] || fail "mailconvert killed after $n messages left all $total"
done
expect_rc 0 mailconvert in.mbox -o Mail
messages_once Mail
expect_rc 0 mailconvert Mail -o back.mbox
same_file in.mbox back.mbox

# Maildir -> mbox: the mbox appears only when it is complete, even when the run is killed
# after its last message.
for n in "${stops[@]}"; do
    crash "$n" mailconvert Mail -o again.mbox
    [ ! -e again.mbox ] || fail "mailconvert killed after $n messages left again.mbox"
done
expect_rc 0 mailconvert Mail -o again.mbox
same_file in.mbox again.mbox

# mailpack: nothing under the bundle's name until it is complete.
for n in "${stops[@]}"; do
    crash "$n" mailpack Mail -o mail.tar.xz
    [ ! -e mail.tar.xz ] || fail "mailpack killed after $n messages left mail.tar.xz"
done
expect_rc 0 mailpack Mail -o mail.tar.xz --verify
[ -z "$(find . -maxdepth 1 -name '*.partial')" ] || fail "a finished pack left $(find . -maxdepth 1 -name '*.partial')"
expect_rc 0 mailrestore mail.tar.xz -o Restored
messages_once Restored
expect_rc 0 mailconvert mail.tar.xz -o unpacked.mbox
same_file in.mbox unpacked.mbox
