#!/usr/bin/env bash
# mailscan --json selects exactly the messages Python's email package selects, for a set of
# date, sender and subject queries over real third-party mail (the linux-mips public inbox,
# 1996-1998, in ../shared/corpus), and over the same mail packed into a bundle.
set -euo pipefail
cd "$(dirname "$0")/../.."
corpus="${SHARED:-../shared}/corpus/linux-mips-public-inbox/raw"
if [ ! -d "$corpus" ]; then
    echo "skip: $corpus not present"
    exit 0
fi
export TZ=UTC
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
oracle=scripts/oracle/select_oracle.py
mkdir -p "$work/mail"
cp -p "$corpus"/1996/*.eml "$corpus"/1997/*.eml "$corpus"/1998/*.eml "$work/mail/"
mailpack "$work/mail" -o "$work/mail.tar.xz" 2>/dev/null

queries=(
    "--since 1997-06-01 --until 1998-01-01"
    "--since 1998-03-01"
    "--until 1996-09-01"
    "--from ralf"
    "--from baechle"
    "--from @cs.example --from sgi.com"
    "--subject mips"
    "--subject patch --since 1998-01-01"
    "--from ralf --subject kernel"
)
failures=0
for q in "${queries[@]}"; do
    # shellcheck disable=SC2086
    python3 "$oracle" "$work/mail" $q | sort > "$work/expected"
    n=$(wc -l < "$work/expected")
    for src in "$work/mail" "$work/mail.tar.xz"; do
        # shellcheck disable=SC2086
        mailscan "$src" --json $q | python3 -c 'import json,sys; [print(json.loads(l)["sha256"]) for l in sys.stdin]' | sort > "$work/got"
        if ! cmp -s "$work/expected" "$work/got"; then
            echo "FAIL: mailscan $(basename "$src") $q: oracle $n, mailscan $(wc -l < "$work/got")"
            diff "$work/expected" "$work/got" | head -5 || true
            failures=$((failures + 1))
        fi
    done
    # The same query, the other way round, must not be trivially empty or everything.
    echo "query $q: $n messages"
done
[ "$failures" -eq 0 ]
