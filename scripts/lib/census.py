#!/usr/bin/env python3
"""Prints the census of a Maildir tree: one line per message, sorted, so two trees hold the same
mail exactly when their censuses are equal (diff them).

    census.py [--fields folder,state,flags,mtime,sha256] [--separator C] [--strip-mbox-headers] DIR

Each line is tab-separated: folder (components joined by '/', decoded from IMAP modified
UTF-7; the root is '.'), state (`new`, `cur`, or `loose` for a message file directly in a
folder), flags (sorted distinct letters from the `2,` info), mtime (seconds) and the SHA-256
of the file.  It understands the Maildir++ layout (`.A.B` directories under the root) and the
nested one (`A/B/cur`), the info separators `:`, `!` and `;` (and --separator), and skips
tmp/, dot-files, directories of other programs (`.notmuch`) and mail servers' state files
(`dovecot-keywords`, `dovecot-uidlist`, `subscriptions`, `maildirfolder`).

--strip-mbox-headers hashes each message without its `Status`, `X-Status` and
`Content-Length` header lines, which an mbox keeps as mailbox state rather than content.
"""
import argparse
import base64
import hashlib
import os
import re
import sys

FIELDS = ("folder", "state", "flags", "mtime", "sha256")


def decode_mutf7(name):
    """IMAP modified UTF-7 (RFC 3501 5.1.3): '&' starts base64 of UTF-16BE with ',' for '/',
    '&-' is '&'.  A name that is not valid modified UTF-7 is returned as it is."""
    out, i = [], 0
    while i < len(name):
        c = name[i]
        if c != "&":
            out.append(c)
            i += 1
            continue
        end = name.find("-", i)
        if end < 0:
            return name
        chunk = name[i + 1:end]
        if not chunk:
            out.append("&")
        else:
            b64 = chunk.replace(",", "/")
            try:
                out.append(base64.b64decode(b64 + "=" * (-len(b64) % 4)).decode("utf-16-be"))
            except (ValueError, UnicodeDecodeError):
                return name
        i = end + 1
    return "".join(out)


# A mail server's own files beside a folder's cur/new/tmp (Dovecot's keyword names, UID list
# and indexes, Courier's, the Maildir++ folder marker): state, not messages.
STATE_FILE = re.compile(r"^(dovecot[-.].*|subscriptions|maildirfolder|courierimap.*)$")


def parse_name(name, separators):
    """(flags, has_info) from a Maildir file name: the last separator followed by '2,'."""
    for i in range(len(name) - 1, -1, -1):
        if name[i] in separators and name[i + 1:i + 3] == "2,":
            return "".join(sorted(set(c for c in name[i + 3:] if c.isascii() and c.isalpha()))), True
    return "", False


def is_maildir(path):
    return os.path.isdir(os.path.join(path, "cur")) or os.path.isdir(os.path.join(path, "new"))


MBOX_STATE_HEADER = re.compile(rb"^(status|x-status|content-length):[^\n]*\n", re.I | re.M)
HEADER_END = re.compile(rb"\r?\n\r?\n")


def sha256(path, strip_mbox_headers=False):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        if strip_mbox_headers:
            data = f.read()
            end = HEADER_END.search(data)
            split = end.start() + 1 if end else len(data)
            h.update(MBOX_STATE_HEADER.sub(b"", data[:split]) + data[split:])
            return h.hexdigest()
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def folder_messages(path, folder, separators, strip):
    """Yields (folder, state, flags, mtime, sha256) for one folder directory."""
    label = "/".join(folder) or "."
    for sub in ("cur", "new"):
        d = os.path.join(path, sub)
        if not os.path.isdir(d):
            continue
        for name in os.listdir(d):
            full = os.path.join(d, name)
            if name.startswith(".") or not os.path.isfile(full) or os.path.islink(full):
                continue
            flags, _ = parse_name(name, separators)
            yield (label, sub, flags, int(os.stat(full).st_mtime), sha256(full, strip))
    for name in os.listdir(path):
        full = os.path.join(path, name)
        if STATE_FILE.match(name):
            continue
        if not name.startswith(".") and os.path.isfile(full) and not os.path.islink(full):
            yield (label, "loose", "", int(os.stat(full).st_mtime), sha256(full, strip))


def census(root, separators, strip=False):
    rows = []

    def walk(path, folder, top):
        rows.extend(folder_messages(path, folder, separators, strip))
        for name in sorted(os.listdir(path)):
            full = os.path.join(path, name)
            if not os.path.isdir(full) or os.path.islink(full) or name in ("cur", "new", "tmp"):
                continue
            if name.startswith("."):
                # Maildir++ folders live only directly under the root.
                if top and len(name) > 1 and is_maildir(full):
                    rows.extend(folder_messages(full, [decode_mutf7(p) for p in name[1:].split(".")], separators, strip))
                continue
            walk(full, folder + [decode_mutf7(name)], False)

    walk(root, [], True)
    return sorted(rows)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("dir")
    p.add_argument("--fields", default=",".join(FIELDS))
    p.add_argument("--separator", default="")
    p.add_argument("--strip-mbox-headers", action="store_true")
    args = p.parse_args()
    wanted = args.fields.split(",")
    unknown = [f for f in wanted if f not in FIELDS]
    if unknown or not os.path.isdir(args.dir):
        p.error(f"unknown fields {unknown}" if unknown else f"not a directory: {args.dir}")
    index = [FIELDS.index(f) for f in wanted]
    lines = sorted("\t".join(str(row[i]) for i in index) for row in census(args.dir, set(":!;" + args.separator), args.strip_mbox_headers))
    sys.stdout.write("".join(line + "\n" for line in lines))


if __name__ == "__main__":
    main()
