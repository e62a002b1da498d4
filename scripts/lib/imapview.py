"""What an IMAP server shows of a mailbox, one line per folder and per message, for comparing
two stores as a mail client sees them (scripts/tests/35-dovecot.sh).

    imapview.py dump PORT USER PASSWORD         every folder and message, sorted
    imapview.py append PORT USER PASSWORD FILE  adds the messages FILE lists (JSON: folder
                                                as IMAP names it, flags, internaldate as epoch
                                                seconds, path), creating folders as needed

dump prints `folder NAME COUNT` for each selectable folder (names as the server sends them,
modified UTF-7, hierarchy separator written `/`) and, per message, `NAME<TAB>SHA-256 of
BODY.PEEK[] with CRLF made LF<TAB>flags and keywords, sorted<TAB>INTERNALDATE as epoch seconds`.
Folders are examined read-only, so dumping changes nothing on the server.
"""
import hashlib
import imaplib
import json
import re
import sys
import time

LIST_LINE = re.compile(rb'\((?P<attributes>[^)]*)\) (?P<separator>NIL|"(?:[^"\\]|\\.)*") (?P<name>.*)')


def connect(port, user, password):
    last = None
    for _ in range(50):
        try:
            server = imaplib.IMAP4("127.0.0.1", int(port))
            server.login(user, password)
            return server
        except (OSError, imaplib.IMAP4.error) as error:
            last = error
            time.sleep(0.1)
    raise SystemExit(f"imapview: cannot log in as {user} on port {port}: {last}")


def unquote(text):
    if text.startswith(b'"'):
        return re.sub(rb"\\(.)", rb"\1", text[1:-1])
    return text


def folders(server):
    status, lines = server.list('""', "*")
    assert status == "OK", lines
    found = []
    for line in lines:
        if isinstance(line, tuple):  # a name sent as a literal
            head, name = line
            match = LIST_LINE.match(head + b" x")
        else:
            match = LIST_LINE.match(line)
            name = unquote(match.group("name"))
        attributes = match.group("attributes").lower().split()
        separator = unquote(match.group("separator")) if match.group("separator") != b"NIL" else b""
        if b"\\noselect" in attributes or b"\\nonexistent" in attributes:
            continue
        shown = name.replace(separator, b"/") if separator else name
        found.append((shown.decode("ascii", "replace"), name))
    return sorted(found)


def quoted(name):
    return b'"' + name.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def dump(server):
    out = []
    for shown, name in folders(server):
        status, data = server.select(quoted(name).decode("ascii", "replace"), readonly=True)
        assert status == "OK", (shown, data)
        count = int(data[0])
        out.append(f"folder {shown} {count}")
        if count == 0:
            continue
        status, data = server.fetch("1:*", "(FLAGS INTERNALDATE BODY.PEEK[])")
        assert status == "OK", (shown, data)
        rows = []
        for item in data:
            if not isinstance(item, tuple):
                continue
            head, body = item
            flags = sorted(f.decode() for f in imaplib.ParseFlags(head) if f.lower() != b"\\recent")
            received = int(time.mktime(imaplib.Internaldate2tuple(head)))
            digest = hashlib.sha256(body.replace(b"\r\n", b"\n")).hexdigest()
            rows.append(f"{shown}\t{digest}\t{' '.join(flags)}\t{received}")
        if len(rows) != count:
            raise SystemExit(f"imapview: {shown}: fetched {len(rows)} of {count} messages")
        out.extend(sorted(rows))
        server.close()
    return out


def append(server, listing):
    created = set()
    for entry in json.load(open(listing)):
        folder = entry["folder"]
        if folder != "INBOX" and folder not in created:
            server.create(quoted(folder.encode()).decode())
            created.add(folder)
        with open(entry["path"], "rb") as f:
            content = f.read()
        flags = "(" + " ".join(entry["flags"]) + ")"
        status, data = server.append(quoted(folder.encode()).decode(), flags,
                                     imaplib.Time2Internaldate(entry["internaldate"]), content)
        assert status == "OK", (entry, data)


def main():
    command, port, user, password = sys.argv[1:5]
    server = connect(port, user, password)
    if command == "dump":
        print("\n".join(dump(server)))
    elif command == "append":
        append(server, sys.argv[5])
    else:
        raise SystemExit(f"imapview: unknown command {command}")
    server.logout()


if __name__ == "__main__":
    main()
