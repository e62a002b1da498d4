#!/usr/bin/env bash
# The man pages and completions committed in share/ are what the commands generate today:
# scripts/gen-docs --check regenerates them into a temporary directory and compares, so a
# changed option or help text without `scripts/gen-docs` fails here.
source "$(dirname "$0")/../lib/testlib.sh"

"$REPO/scripts/gen-docs" --check >"$SCRATCH/gen-docs.log" 2>&1 \
    || { cat "$SCRATCH/gen-docs.log" >&2; fail "share/ is stale: run scripts/gen-docs and commit the result"; }
for tool in mailconvert mailpack mailverify mailscan mailpick mailrestore; do
    [ -s "$REPO/share/man/man1/$tool.1" ] || fail "share/man/man1/$tool.1 is missing"
done
