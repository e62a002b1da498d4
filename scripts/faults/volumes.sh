#!/usr/bin/env bash
# Volume sets never mix with files already there (the set's commit is in writes.sh).
source "$(dirname "$0")/../lib/testlib.sh"
cd "$SCRATCH"
mkdir -p M/cur M/new M/tmp
printf 'Subject: a\n\nb\n' >M/cur/1.x:2,S

# A stray volume of an older set: `cat NAME.0*` would read it as part of the new one.
echo stray >p.tar.xz.018
expect_rc 2 mailpack M -o p.tar.xz --volume-size 1M
grep -q 'p.tar.xz.018: already exists' "$SCRATCH/stderr" || { cat "$SCRATCH/stderr"; fail "the stray volume is not named"; }
[ ! -e p.tar.xz.001 ] || fail "a new set was written beside a stray volume"
[ "$(cat p.tar.xz.018)" = stray ] || fail "the stray volume was touched"
rm p.tar.xz.018
expect_rc 0 mailpack M -o p.tar.xz --volume-size 1M
case_ok stray-volume
