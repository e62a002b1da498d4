#!/usr/bin/env bash
# External disks: a Maildir written for a FAT disk (--info-separator '!') with folder names FAT
# rejects (: * ? " < > | \) copies onto a real FAT32 file system whole and comes back, and a
# restore from the copy gives every folder its name, every message its bytes, flags and
# received time (to the 2 seconds FAT keeps).  The FAT32 image is written with mtools
# (mkfs.vfat, mcopy, mdir), which refuse names FAT rejects, without mounting anything.
# mailpack --volume-size 4G makes volumes FAT32 can hold, and --verify reads them back.
source "$(dirname "$0")/../lib/testlib.sh"
source "$REPO/scripts/lib/setup.sh"

ensure_packages mtools dosfstools
require_or_skip mkfs.vfat mcopy mdir || exit 0
export TZ=UTC MTOOLS_SKIP_CHECK=1
cd "$SCRATCH"

# An mbox per folder, named as a user might on Linux; each holds a read message and an unread
# one received at odd seconds.
mkdir source
# Work and work, a_b and A_B differ only in case, which FAT does not tell apart.
names=('a:b' 'what?' 'say "hi"' '<tag>' 'pipe|x' 'back\slash' 'star*' 'Plain' 'Work' 'work' 'a_b' 'A_B')
i=0
for name in "${names[@]}"; do
    i=$((i + 1))
    printf 'From a@example.org Mon Jan  1 10:00:%02d 2024\nStatus: RO\nSubject: %s\n\nread\n\nFrom b@example.org Mon Jan  1 11:00:%02d 2024\nSubject: unread\n\nnot yet\n' \
        $((2 * i + 1)) "$name" $((2 * i + 3)) >"source/$name"
done
expect_rc 0 mailconvert source -o Mail --info-separator '!'
find Mail -name '*[:*?"<>|\\]*' | grep . >&2 && fail "mailconvert wrote names FAT rejects"
[ "$(find Mail -path '*/cur/*!2,S' | wc -l)" -eq ${#names[@]} ] || fail "the read messages are not named with '!2,S'"

# Onto FAT32 (40 MiB of 512-byte clusters: the smallest FAT32 mkfs.vfat makes) and back.
mkfs.vfat -F 32 -s 1 -C fat32.img 40960 >/dev/null
mcopy -D s -s -m -i fat32.img Mail ::/Mail </dev/null || fail "mcopy refused the tree"
mdir -/ -b -i fat32.img ::/Mail >listing
[ "$(grep -c '/cur/.*!2,S$' listing)" -eq ${#names[@]} ] || { cat listing >&2; fail "the FAT32 image does not list every message"; }
mcopy -s -m -i fat32.img ::/Mail back
diff -r Mail back >&2 || fail "the tree came back from FAT32 with other names or bytes"

# Restored elsewhere from the copy: every folder under its own name, every message with its
# bytes, flags and received time (mailscan --json shows all four, as mailkeep reads them).
# FAT keeps times to 2 seconds, rounding an odd second down: times are compared so rounded.
expect_rc 0 mailrestore back -o restored
scanned() { mailscan "$1" --json | python3 -c '
import datetime, json, sys
for line in sys.stdin:
    m = json.loads(line)
    seconds = int(datetime.datetime.fromisoformat(m["received"].replace("Z", "+00:00")).timestamp())
    print(m["folder"], m["flags"], seconds - seconds % 2, m["sha256"], sep="\t")' | sort; }
scanned source >source.scan
[ "$(wc -l <source.scan)" -eq $((2 * ${#names[@]})) ] || fail "mailscan does not see every message of the source"
scanned restored | diff source.scan - >&2 || fail "the restore from the FAT32 copy differs from the source"

# Volumes: every one within the size asked (4G is taken as FAT32's largest file, 4 GiB less one
# byte: MailKeepTests checks that without writing 4 GiB), and --verify reads them all back.
require_or_skip "$SHARED/bench/gen_mail.py" || exit 0
gen_mail mbox --messages 2000 >big.mbox
expect_rc 0 mailpack big.mbox -o vol.tar.gz --volume-size 1M --verify
volumes=(vol.tar.gz.0*)
[ ${#volumes[@]} -ge 2 ] || fail "a 1M volume size made ${#volumes[@]} volume"
for volume in "${volumes[@]}"; do
    [ "$(stat -c %s "$volume")" -le $((1 << 20)) ] || fail "$volume is larger than 1M"
done
