#!/usr/bin/env bash
# mailscan --json selects exactly the messages Python's email package selects, for a set of
# date, sender and subject queries over real third-party mail (the linux-mips public inbox,
# 1996-1998, in ../shared/corpus), and over the same mail packed into a bundle.  Each query
# selects some messages but not all of them, so that it can tell a right selection from a
# wrong one.
source "$(dirname "$0")/../lib/testlib.sh"

raw="$CORPUS/linux-mips-public-inbox/raw"
require_or_skip "$raw" || exit 0
export TZ=UTC
oracle="$REPO/scripts/oracle/select_oracle.py"
mkdir -p "$SCRATCH/mail"
cp -p "$raw"/1996/*.eml "$raw"/1997/*.eml "$raw"/1998/*.eml "$SCRATCH/mail/"
total="$(find "$SCRATCH/mail" -type f | wc -l)"
[ "$total" -gt 1000 ] || fail "only $total messages of 1996-1998 in $raw"
expect_rc 0 mailpack "$SCRATCH/mail" -o "$SCRATCH/mail.tar.xz"

queries=(
    "--since 1997-06-01 --until 1998-01-01"
    "--since 1998-03-01"
    "--until 1996-09-01"
    "--from ralf"
    "--from baechle"
    "--from @caip.rutgers.edu --from sgi.com"
    "--subject mips"
    "--subject patch --since 1998-01-01"
    "--subject kernel --subject boot"
    "--from ralf --subject kernel"
)
failures=0
for q in "${queries[@]}"; do
    # shellcheck disable=SC2086
    python3 "$oracle" "$SCRATCH/mail" $q >"$SCRATCH/expected" || fail "the oracle failed on $q"
    n="$(wc -l <"$SCRATCH/expected")"
    [ "$n" -gt 0 ] && [ "$n" -lt "$total" ] || fail "query $q selects $n of $total messages: not a useful test"
    for src in "$SCRATCH/mail" "$SCRATCH/mail.tar.xz"; do
        # shellcheck disable=SC2086
        mailscan "$src" --json $q 2>"$SCRATCH/stderr" \
            | python3 -c 'import json,sys; [print(json.loads(l)["sha256"]) for l in sys.stdin]' | LC_ALL=C sort >"$SCRATCH/got" \
            || { cat "$SCRATCH/stderr" >&2; fail "mailscan $(basename "$src") $q failed"; }
        if ! cmp -s "$SCRATCH/expected" "$SCRATCH/got"; then
            echo "FAIL: mailscan $(basename "$src") $q: oracle $n, mailscan $(wc -l <"$SCRATCH/got")" >&2
            diff "$SCRATCH/expected" "$SCRATCH/got" | head -5 >&2 || true
            failures=$((failures + 1))
        fi
    done
    note "query $q: $n of $total messages"
done
[ "$failures" -eq 0 ] || fail "$failures selections differ from the oracle's"
