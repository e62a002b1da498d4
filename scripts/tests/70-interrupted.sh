#!/usr/bin/env bash
# A run killed at any point and run again converges: mailconvert into a Maildir ends with
# every message exactly once and nothing left in tmp/; mailpack never leaves anything under the
# bundle's name until it is complete, and the rerun's bundle verifies.
set -euo pipefail
source "$(dirname "$0")/../lib/testlib.sh"
if [ ! -f "$SHARED/bench/gen_mail.py" ]; then
    skip "$SHARED/bench/gen_mail.py not found"
    exit 0
fi
cd "$SCRATCH"
gen_mail mbox --messages 1500 > in.mbox

# kill -9 after a random fraction of a second, five times, then let it finish.
for delay in 0.05 0.1 0.2 0.3 0.5; do
    timeout -s KILL "$delay" mailconvert in.mbox -o Mail 2>/dev/null || true
done
expect_rc 0 mailconvert in.mbox -o Mail
[ "$(find Mail/cur Mail/new -type f | wc -l)" -eq 1500 ] || fail "after interruptions the Maildir does not hold each message once"
[ -z "$(ls Mail/tmp)" ] || fail "tmp/ still holds files after the run that finished"
mailconvert Mail -o back.mbox 2>/dev/null
same_file in.mbox back.mbox

for delay in 0.05 0.2 0.5; do
    timeout -s KILL "$delay" mailpack Mail -o mail.tar.xz 2>/dev/null || true
    if [ -e mail.tar.xz ]; then
        expect_rc 0 mailverify mail.tar.xz
        rm mail.tar.xz
    fi
done
expect_rc 0 mailpack Mail -o mail.tar.xz --verify
[ "$(find . -maxdepth 1 -name '*.partial' | wc -l)" -eq 0 ] || fail "a finished pack left a .partial file"
