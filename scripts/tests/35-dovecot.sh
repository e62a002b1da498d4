#!/usr/bin/env bash
# What real clients wrote goes through mailkeep whole, and what mailkeep writes opens in Dovecot
# as it was: a throwaway Dovecot (IMAP on 127.0.0.1, its own configuration in the scratch
# directory, serving mail as a dedicated system user) shows every folder's name and count and
# each message's flags, INTERNALDATE and content (SHA-256 of BODY.PEEK[], line ends made LF)
# exactly as it showed the source, for the output of mailconvert and of mailrestore (from a
# bundle) in both Maildir layouts and as an mbox tree (served by Dovecot's mbox driver), and
# for a restore into the Maildir Dovecot is serving.
# The sources are written by the programs themselves: Dovecot (a Maildir and mbox files,
# through IMAP APPEND with flags, keywords and dates), mbsync (both SubFolders styles) and mutt
# (a copied mbox), and built to their documented layouts: Thunderbird's Local Folders and an
# Apple Mail export; each goes through mailconvert, and through mailpack and mailrestore.
source "$(dirname "$0")/../lib/testlib.sh"
source "$REPO/scripts/lib/setup.sh"

ensure_packages dovecot-imapd isync mutt
require_or_skip dovecot doveadm mbsync mutt script || exit 0
if [ "$(id -u)" -ne 0 ]; then
    # Dovecot serves mail only as a user other than root, which it must be started as root to become.
    [ "${CI:-}" = true ] && fail "missing prerequisite: root"
    echo "skip: not root"
    exit 0
fi
export TZ=UTC

IMAP_USER=mailkeep-imap
id -u "$IMAP_USER" >/dev/null 2>&1 \
    || useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$IMAP_USER"
chmod 711 "$SCRATCH"
DOVECOT="$SCRATCH/dovecot"
mkdir -p "$DOVECOT/run" "$DOVECOT/state" "$DOVECOT/mail"
chown "$IMAP_USER:" "$DOVECOT/mail"
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
cat >"$DOVECOT/dovecot.conf" <<EOF
instance_name = mailkeep-test-$PORT
base_dir = $DOVECOT/run
state_dir = $DOVECOT/state
log_path = $DOVECOT/dovecot.log
listen = 127.0.0.1
protocols = imap
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
default_internal_user = $IMAP_USER
default_internal_group = $IMAP_USER
default_login_user = $IMAP_USER
first_valid_uid = $(id -u "$IMAP_USER")
first_valid_gid = $(id -g "$IMAP_USER")
mail_location = maildir:~/Maildir
# Dovecot's own way to keep a hierarchy separator inside a name (\2e for a dot in Maildir++),
# which mailkeep writes too.
mail_plugins = \$mail_plugins listescape
namespace inbox {
  inbox = yes
  separator = /
}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $DOVECOT/users
}
userdb {
  driver = passwd-file
  args = username_format=%u $DOVECOT/users
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $PORT
  }
  inet_listener imaps {
    port = 0
  }
}
EOF
: >"$DOVECOT/users"
stop_dovecot() { [ -f "$DOVECOT/run/master.pid" ] && kill "$(cat "$DOVECOT/run/master.pid")" 2>/dev/null || true; }
trap 'stop_dovecot; rm -rf "$SCRATCH"' EXIT
dovecot -c "$DOVECOT/dovecot.conf" || fail "dovecot did not start: $(cat "$DOVECOT/dovecot.log" 2>/dev/null)"

# serve USER MAIL_LOCATION: Dovecot serves the tree as USER (password "secret"); the tree is
# given to the mail user first, as a server's mail store would be.
serve() {
    local user="$1" location="$2" path="${2#*:}"
    path="${path%%:*}"
    mkdir -p "$path"
    chown -R "$IMAP_USER:" "$path"
    echo "$1:{PLAIN}secret:$(id -u "$IMAP_USER"):$(id -g "$IMAP_USER")::$DOVECOT/home/$1::userdb_mail=$location" >>"$DOVECOT/users"
}
imap() { python3 "$REPO/scripts/lib/imapview.py" "$1" "$PORT" "$2" secret "${@:3}"; }
# same_view USER REFERENCE [SED]: Dovecot shows USER's mail exactly as REFERENCE (a dump)
# says, once the sed script SED has been applied to what it shows.
same_view() {
    imap dump "$1" | sed "${3:-}" >"$SCRATCH/view.$1" || fail "imapview could not read $1: $(tail -5 "$DOVECOT/dovecot.log")"
    diff <(sort "$2") <(sort "$SCRATCH/view.$1") >&2 || fail "Dovecot shows $1 differently from $2"
}
# converted_shows NAME SOURCE REFERENCE: SOURCE converted to a Maildir++ tree shows in
# Dovecot what REFERENCE (a dump) says; restored_shows: so does SOURCE packed into a bundle
# and restored from it; through_mailkeep: both.
converted_shows() {
    local name="$1" source="$2" reference="$3"
    expect_rc 0 mailconvert "$source" -o "$DOVECOT/mail/$name-converted"
    serve "$name-converted" "maildir:$DOVECOT/mail/$name-converted"
    same_view "$name-converted" "$reference"
}
restored_shows() {
    local name="$1" source="$2" reference="$3"
    expect_rc 0 mailpack "$source" -o "$SCRATCH/$name.tar.xz"
    expect_rc 0 mailrestore "$SCRATCH/$name.tar.xz" -o "$DOVECOT/mail/$name-restored"
    serve "$name-restored" "maildir:$DOVECOT/mail/$name-restored"
    same_view "$name-restored" "$reference"
}
through_mailkeep() { converted_shows "$@" && restored_shows "$@"; }

# The messages: real mail from CPython's email tests, in folders with flags, keywords and
# dates spread over a year.
python3 - "$CORPUS/cpython-email/Lib/test/test_email/data" >"$SCRATCH/messages.json" <<'PY'
import json, os, sys
data = sys.argv[1]
folders = ["INBOX", "Archive", "Archive/2024", "Sent", "Entw&APw-rfe", "Projects Alpha"]
flags = [[], ["\\Seen"], ["\\Seen", "\\Answered"], ["\\Flagged"], ["\\Seen", "\\Deleted"], ["\\Draft"], ["\\Seen", "\\Flagged"]]
# Keywords in another rhythm, so that each folder's dovecot-keywords gives them other letters.
keywords = [[], ["$Forwarded"], ["Wichtig", "$Junk"], ["$label1"], ["$Junk"]]
entries = []
for name in sorted(os.listdir(data)):
    path = os.path.join(data, name)
    raw = open(path, "rb").read()
    if not name.startswith("msg_") or raw.startswith(b"From ") or b"\r" in raw or not raw.endswith(b"\n"):
        continue
    i = len(entries)
    entries.append({"folder": folders[i % len(folders)], "flags": flags[i % len(flags)] + keywords[i % len(keywords)],
                    "internaldate": 1700000000 + i * 86400 * 7 + i * 3607, "path": path})
print(json.dumps(entries))
PY
n_messages="$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))))' "$SCRATCH/messages.json")"
[ "$n_messages" -ge 30 ] || fail "only $n_messages corpus messages to work with"

# Dovecot's own Maildir, filled over IMAP: the reference every other view must match.
serve src "maildir:$DOVECOT/mail/src"
imap append src "$SCRATCH/messages.json"
imap dump src >"$SCRATCH/expected"
[ "$(grep -c $'\t' "$SCRATCH/expected")" -eq "$n_messages" ] || fail "Dovecot does not hold the $n_messages messages appended"

through_mailkeep src "$DOVECOT/mail/src" "$SCRATCH/expected"
# The nested layout is Dovecot's LAYOUT=fs.
expect_rc 0 mailconvert "$DOVECOT/mail/src" -o "$DOVECOT/mail/nested" --layout nested
serve nested "maildir:$DOVECOT/mail/nested:LAYOUT=fs"
same_view nested "$SCRATCH/expected"
expect_rc 0 mailrestore "$SCRATCH/src.tar.xz" -o "$DOVECOT/mail/nested-restored" --layout nested
serve nested-restored "maildir:$DOVECOT/mail/nested-restored:LAYOUT=fs"
same_view nested-restored "$SCRATCH/expected"
# The mbox tree has Thunderbird's layout, a folder's subfolders in `NAME.sbd/` beside its mbox
# file NAME, which Dovecot's mbox driver lists under that directory's name: `.sbd` is taken out
# of the names it shows before comparing.  Names on disk are UTF-8 (Dovecot's UTF-8 option).
# Keywords count too: mailkeep lists the file's keyword names in its first message's
# X-IMAPbase, without which Dovecot's mbox driver drops every X-Keywords naming one it does not
# know (README, Keywords).
expect_rc 0 mailconvert "$DOVECOT/mail/src" -o "$DOVECOT/mail/mbox" --format mbox
serve mbox "mbox:$DOVECOT/mail/mbox:INBOX=$DOVECOT/mail/mbox/INBOX:UTF-8"
same_view mbox "$SCRATCH/expected" 's|\.sbd/|/|'
expect_rc 0 mailrestore "$SCRATCH/src.tar.xz" -o "$DOVECOT/mail/mbox-restored" --format mbox
serve mbox-restored "mbox:$DOVECOT/mail/mbox-restored:INBOX=$DOVECOT/mail/mbox-restored/INBOX:UTF-8"
same_view mbox-restored "$SCRATCH/expected" 's|\.sbd/|/|'

# mbsync, syncing the Dovecot Maildir over IMAP into a Maildir of each SubFolders style.
mbsync_into() {
    local style="$1" near="$2"
    cat >"$SCRATCH/mbsyncrc.$style" <<EOF
IMAPAccount dovecot
Host 127.0.0.1
Port $PORT
User src
Pass secret
SSLType None
AuthMechs LOGIN

IMAPStore far
Account dovecot

MaildirStore near
$near
SubFolders $style

Channel sync
Far :far:
Near :near:
Patterns *
Create Near
Sync Pull
SyncState *
EOF
    mbsync -c "$SCRATCH/mbsyncrc.$style" -a >"$SCRATCH/mbsync.log" 2>&1 || { cat "$SCRATCH/mbsync.log" >&2; fail "mbsync ($style) failed"; }
}
# mbsync leaves out a message whose header has no end ("incomplete header"), keeps
# no INTERNALDATE (a file's mtime is when it synced) and adds an X-TUID header: what Dovecot
# shows of its tree is the reference for what mailkeep makes of it.
mbsync_into Maildir++ "Inbox $DOVECOT/mail/mbsync-pp/"
serve mbsync-pp "maildir:$DOVECOT/mail/mbsync-pp"
imap dump mbsync-pp >"$SCRATCH/expected-mbsync"
[ "$(grep -c $'\t' "$SCRATCH/expected-mbsync")" -eq $((n_messages - 1)) ] || fail "mbsync did not sync all messages but one"
through_mailkeep mbsync-pp "$DOVECOT/mail/mbsync-pp" "$SCRATCH/expected-mbsync"
# SubFolders Verbatim, the INBOX at the root of the tree as in Dovecot's LAYOUT=fs: the same
# folders, messages and flags (times and X-TUID headers are this sync's).
mkdir -p "$DOVECOT/mail/mbsync-v"
mbsync_into Verbatim "Path $DOVECOT/mail/mbsync-v/
Inbox $DOVECOT/mail/mbsync-v"
serve mbsync-v "maildir:$DOVECOT/mail/mbsync-v:LAYOUT=fs"
imap dump mbsync-v >"$SCRATCH/expected-mbsync-v"
folders_and_flags() { cut -f1,3 "$1" | sort; }
diff <(folders_and_flags "$SCRATCH/expected-mbsync") <(folders_and_flags "$SCRATCH/expected-mbsync-v") >&2 \
    || fail "mbsync's two trees differ in folders, counts or flags"
through_mailkeep mbsync-v "$DOVECOT/mail/mbsync-v" "$SCRATCH/expected-mbsync-v"
expect_rc 0 mailconvert "$DOVECOT/mail/mbsync-v" -o "$DOVECOT/mail/from-mbsync-v-nested" --layout nested
serve from-mbsync-v-nested "maildir:$DOVECOT/mail/from-mbsync-v-nested:LAYOUT=fs"
same_view from-mbsync-v-nested "$SCRATCH/expected-mbsync-v"

# mutt, copying the Dovecot INBOX into an mbox file of its own writing (Status, X-Status and
# Content-Length headers; the From_ line's time comes from mutt, not from INBOX's INTERNALDATE).
mkdir -p "$SCRATCH/mutt-home" "$DOVECOT/mail/mutt"
cat >"$SCRATCH/mutt-home/.muttrc" <<EOF
set folder="$SCRATCH/mutt-home" spoolfile="$SCRATCH/mutt-home" mbox="$SCRATCH/mutt-home/mbox"
set record="" postponed="$SCRATCH/mutt-home/postponed" header_cache="" save_history=0
set mbox_type=mbox confirmcreate=no confirmappend=no wait_key=no
EOF
HOME="$SCRATCH/mutt-home" timeout 60 script -qec "mutt -n -R -F '$SCRATCH/mutt-home/.muttrc' -f '$DOVECOT/mail/src' \
    -e 'push \"<tag-pattern>.<enter><tag-prefix><copy-message>$DOVECOT/mail/mutt/mutt<enter><quit>\"'" \
    /dev/null >/dev/null 2>&1 </dev/null || fail "mutt failed to copy the INBOX"

# What Dovecot's mbox driver shows of it is the reference; it serves a copy, since it writes
# its own headers (X-IMAPbase, X-UID) into a file it serves.
mkdir -p "$DOVECOT/mail/mutt-served"
cp "$DOVECOT/mail/mutt/mutt" "$DOVECOT/mail/mutt-served/inbox"
serve mutt-served "mbox:$DOVECOT/mail/mutt-served:INBOX=$DOVECOT/mail/mutt-served/inbox"
imap dump mutt-served >"$SCRATCH/expected-mutt"
# Converted, the one mbox file is the INBOX; in a bundle it is a folder named after the file.
converted_shows mutt "$DOVECOT/mail/mutt/mutt" "$SCRATCH/expected-mutt"
{ echo "folder INBOX 0"; sed 's|^\(folder \)\{0,1\}INBOX|\1mutt|' "$SCRATCH/expected-mutt"; } >"$SCRATCH/expected-mutt-folder"
restored_shows mutt "$DOVECOT/mail/mutt/mutt" "$SCRATCH/expected-mutt-folder"

# Restoring into the Maildir Dovecot serves, as root, the way an administrator gets a user's
# deleted mail back: the user has deleted INBOX messages (the first three and one deleted
# before) and changed the flags of one in Archive.  mailrestore adds only what is missing (the message with other flags is present),
# leaves Dovecot's own files as they were, and what it creates belongs to the mail user, still
# private; Dovecot shows the restored messages at once.
cp -a "$DOVECOT/mail/src" "$DOVECOT/mail/live"
serve live "maildir:$DOVECOT/mail/live"
PYTHONPATH="$REPO/scripts/lib" python3 - "$PORT" "$SCRATCH/live-expunged" >"$SCRATCH/live-changed" <<'PY'
import hashlib, imaplib, sys, time
from imapview import connect
server = connect(sys.argv[1], "live", "secret")
server.select("INBOX")
server.store("1:3", "+FLAGS", "(\\Deleted)")
status, expunged = server.expunge()
print(len([e for e in expunged if e]), file=open(sys.argv[2], "w"))
server.select("Archive")
server.store("1", "FLAGS", "(\\Answered)")
status, data = server.fetch("1", "(FLAGS INTERNALDATE BODY.PEEK[])")
head, body = data[0]
flags = sorted(f.decode() for f in imaplib.ParseFlags(head) if f.lower() != b"\\recent")
digest = hashlib.sha256(body.replace(b"\r\n", b"\n")).hexdigest()
received = int(time.mktime(imaplib.Internaldate2tuple(head)))
print("Archive\t%s\t%s\t%d" % (digest, " ".join(flags), received))
server.logout()
PY
changed="$(cut -f2 "$SCRATCH/live-changed")"
{ grep -v "^Archive	$changed	" "$SCRATCH/expected"; cat "$SCRATCH/live-changed"; } >"$SCRATCH/expected-live"
expunged="$(cat "$SCRATCH/live-expunged")"
[ "$expunged" -ge 3 ] && [ "$(imap dump live | grep -c $'^INBOX\t')" -eq $(($(grep -c $'^INBOX\t' "$SCRATCH/expected") - expunged)) ] \
    || fail "the user's deletions did not take"
server_files() { (cd "$DOVECOT/mail/live" && find . -name 'dovecot*' -type f -printf '%p %T@ %U:%G %m ' -exec sha256sum {} \; | sort); }
server_files >"$SCRATCH/server-files.before"
grep -q dovecot-uidlist "$SCRATCH/server-files.before" || fail "Dovecot has no files in the live Maildir"
find "$DOVECOT/mail/live" | sort >"$SCRATCH/live-paths.before"
expect_rc 0 mailrestore "$SCRATCH/src.tar.xz" -o "$DOVECOT/mail/live"
grep -q "^mailrestore: $expunged restored, " "$SCRATCH/stderr" \
    || { cat "$SCRATCH/stderr" >&2; fail "mailrestore did not restore exactly the $expunged deleted messages"; }
server_files | diff "$SCRATCH/server-files.before" - >&2 || fail "mailrestore changed Dovecot's own files"
find "$DOVECOT/mail/live" | sort | comm -13 "$SCRATCH/live-paths.before" - >"$SCRATCH/live-paths.new"
[ "$(grep -c "/\(cur\|new\)/" "$SCRATCH/live-paths.new")" -eq "$expunged" ] || fail "mailrestore did not add $expunged messages"
xargs -d '\n' stat -c '%F %a %U:%G %n' <"$SCRATCH/live-paths.new" | grep -v "^regular file 600 $IMAP_USER:$IMAP_USER \|^directory 700 $IMAP_USER:$IMAP_USER " >&2 \
    && fail "mailrestore created files or directories that are not the mail user's and private"
same_view live "$SCRATCH/expected-live"

# Dovecot's own mbox files, written by its mbox driver from the same messages over IMAP
# (X-IMAPbase, X-UID, X-Keywords, Content-Length), with a folder whose name has a dot
# (`Projects.Alpha`, a file of that name); a folder of the mbox driver holds either messages
# or folders, so `Archive/2024` is `Lists/2024` here.
python3 - "$SCRATCH/messages.json" >"$SCRATCH/messages-mbox.json" <<'PY'
import json, sys
renamed = {"Archive/2024": "Lists/2024", "Projects Alpha": "Projects.Alpha"}
entries = json.load(open(sys.argv[1]))
for e in entries:
    e["folder"] = renamed.get(e["folder"], e["folder"])
print(json.dumps(entries))
PY
serve dmbox "mbox:$DOVECOT/mail/dmbox:INBOX=$DOVECOT/mail/dmbox/inbox:UTF-8"
imap append dmbox "$SCRATCH/messages-mbox.json"
imap dump dmbox >"$SCRATCH/expected-dmbox"
[ "$(grep -c $'\t' "$SCRATCH/expected-dmbox")" -eq "$n_messages" ] || fail "Dovecot's mbox driver does not hold the $n_messages messages appended"
grep -q $'^Projects.Alpha\t.*\\$Forwarded' "$SCRATCH/expected-dmbox" || fail "Dovecot shows no keywords or no Projects.Alpha in its own mbox files"
grep -q '^X-IMAPbase: ' "$DOVECOT/mail/dmbox/inbox" || fail "Dovecot wrote no X-IMAPbase"
through_mailkeep dmbox "$DOVECOT/mail/dmbox" "$SCRATCH/expected-dmbox"
# Restored as mbox files and served by the mbox driver again: the parent `Lists` is an empty
# file there, a folder of its own.
expect_rc 0 mailrestore "$SCRATCH/dmbox.tar.xz" -o "$DOVECOT/mail/dmbox-mbox" --format mbox
serve dmbox-mbox "mbox:$DOVECOT/mail/dmbox-mbox:INBOX=$DOVECOT/mail/dmbox-mbox/INBOX:UTF-8"
{ cat "$SCRATCH/expected-dmbox"; echo "folder Lists 0"; } >"$SCRATCH/expected-dmbox-mbox"
same_view dmbox-mbox "$SCRATCH/expected-dmbox-mbox" 's|\.sbd/|/|'
# doveadm import, the README's way into a mailbox of another storage: the restored Maildir
# goes into an empty one whole.
serve imported "maildir:$DOVECOT/mail/imported"
# Dovecot's auth process may take a moment to see the new user, as for an IMAP login.
for _ in $(seq 50); do doveadm -c "$DOVECOT/dovecot.conf" user imported >/dev/null 2>&1 && break; sleep 0.1; done
doveadm -c "$DOVECOT/dovecot.conf" -o mail_plugins= import -u imported "maildir:$DOVECOT/mail/dmbox-restored" "" all \
    || fail "doveadm import of a restored Maildir failed"
same_view imported "$SCRATCH/expected-dmbox"

# Thunderbird's Local Folders and an Apple Mail export, built to their documented layouts from
# the same messages (those whose bodies have no `From ` line, which both write as mboxo):
# Thunderbird's `From - ` separators, X-Mozilla-Status (read 1, replied 2, starred 4,
# expunged 8) and X-Mozilla-Keys (padded), `Inbox` as the INBOX, subfolders in `NAME.sbd/`, an
# empty `Templates`, `.msf` indexes; Apple Mail's `NAME.mbox/` packages holding `mbox`,
# `Info.plist` and `table_of_contents`, no flags. What Dovecot shows of mailkeep's output must
# be what the files say (a reference made here in Python, not by mailkeep).
python3 - "$SCRATCH/messages.json" "$SCRATCH/thunderbird" "$SCRATCH/apple" "$SCRATCH/expected-tb" "$SCRATCH/expected-apple" <<'PY'
import hashlib, json, os, re, sys, time
entries, tb, apple, expected_tb, expected_apple = json.load(open(sys.argv[1])), *sys.argv[2:]
on_disk = {"INBOX": "Inbox", "Entw&APw-rfe": "Entwürfe"}
bits = {"\\Seen": 1, "\\Answered": 2, "\\Flagged": 4, "\\Deleted": 8}
views = {tb: {"Templates": []}, apple: {}}
def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "ab") as f:
        f.write(data)
for e in entries:
    content = open(e["path"], "rb").read()
    if re.search(rb"^>*From ", content, re.M) or b"\n\n" not in content:
        continue
    # Thunderbird allows a dot in a name: its `Projects Alpha` is `Projects.Alpha` here.
    folder = e["folder"]
    tb_folder = folder.replace("Projects Alpha", "Projects.Alpha")
    parts = [on_disk.get(p, p) for p in folder.split("/")]
    tb_parts = [on_disk.get(p, p) for p in tb_folder.split("/")]
    asctime = time.strftime("%a %b %e %H:%M:%S %Y", time.gmtime(e["internaldate"])).encode()
    flags = sorted(f for f in e["flags"] if f in bits)
    keywords = [f for f in e["flags"] if not f.startswith("\\")]
    status = sum(bits[f] for f in flags)
    mozilla = b"X-Mozilla-Status: %04x\nX-Mozilla-Status2: 00000000\nX-Mozilla-Keys: %-80s\n" % (status, " ".join(keywords).encode())
    write(os.path.join(tb, *[p + ".sbd" for p in tb_parts[:-1]], tb_parts[-1]), b"From - " + asctime + b"\n" + mozilla + content + b"\n")
    views[tb].setdefault(tb_folder, []).append((mozilla + content, " ".join(sorted(flags + keywords)), e["internaldate"]))
    package = os.path.join(apple, *[p + ".mbox" for p in parts])
    write(os.path.join(package, "mbox"), b"From MAILER-DAEMON " + asctime + b"\n" + content + b"\n")
    for name in ["Info.plist", "table_of_contents"]:
        write(os.path.join(package, name), b"")
    views[apple].setdefault(folder, []).append((content, "", e["internaldate"]))
for name in ["Inbox.msf", "Templates.msf", "filterlog.html"]:
    write(os.path.join(tb, name), b"")
write(os.path.join(tb, "Templates"), b"")
for root, out in [(tb, expected_tb), (apple, expected_apple)]:
    with open(out, "w") as f:
        for folder, messages in views[root].items():
            print(f"folder {folder} {len(messages)}", file=f)
            for content, flags, date in messages:
                print(f"{folder}\t{hashlib.sha256(content).hexdigest()}\t{flags}\t{date}", file=f)
PY
grep -q '^folder Projects.Alpha ' "$SCRATCH/expected-tb" && grep -q $'\t.*\\$label1' "$SCRATCH/expected-tb" \
    || fail "the Thunderbird tree lacks folders or keywords to check"
through_mailkeep thunderbird "$SCRATCH/thunderbird" "$SCRATCH/expected-tb"
through_mailkeep apple "$SCRATCH/apple" "$SCRATCH/expected-apple"
