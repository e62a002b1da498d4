#!/usr/bin/env python3
"""Independent oracle for mailkeep's selection: which messages of a folder of message files
match a query, decided with Python's email package. Prints the SHA-256 of each selected file,
sorted, one per line.

    select_oracle.py DIR [--since YYYY-MM-DD] [--until YYYY-MM-DD] [--from P]... [--subject P]...

Dates: the Date header, else the file's mtime (the received time); YYYY-MM-DD is midnight UTC
(the test runs with TZ=UTC). Patterns are case-insensitive substrings of the decoded
"Name <address>" of any sender, or of the decoded subject; a repeated option matches when any
of its patterns does, as mailkeep's selection options do.
"""
import argparse, datetime, email, email.header, email.utils, hashlib, os, sys


def decoded(value):
    try:
        return str(email.header.make_header(email.header.decode_header(value)))
    except Exception:
        return value


def header_text(msg, name):
    v = msg.get(name)
    if v is None:
        return None
    return str(v) if not isinstance(v, str) else v


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dir")
    p.add_argument("--since")
    p.add_argument("--until")
    p.add_argument("--from", dest="senders", action="append", default=[])
    p.add_argument("--subject", dest="subjects", action="append", default=[])
    a = p.parse_args()
    day = lambda s: int(datetime.datetime.strptime(s, "%Y-%m-%d").replace(tzinfo=datetime.timezone.utc).timestamp())
    since = day(a.since) if a.since else None
    until = day(a.until) if a.until else None
    selected = []
    for name in sorted(os.listdir(a.dir)):
        path = os.path.join(a.dir, name)
        raw = open(path, "rb").read()
        msg = email.message_from_bytes(raw)
        if since is not None or until is not None:
            t = None
            d = msg.get("Date")
            if d:
                parts = email.utils.parsedate_tz(str(d))
                if parts is not None:
                    # An impossible zone offset counts as +0000 (mailkeep's documented choice;
                    # parsedate_to_datetime would raise instead).
                    offset = parts[9] or 0
                    if abs(offset) >= 86400:
                        offset = 0
                    parts = parts[:9] + (offset,)
                    try:
                        t = int(email.utils.mktime_tz(parts))
                    except (OverflowError, ValueError):
                        t = None
            if t is None:
                t = int(os.stat(path).st_mtime)
            if since is not None and t < since:
                continue
            if until is not None and t >= until:
                continue
        if a.senders:
            senders = []
            for field in msg.get_all("From") or []:
                for n, addr in email.utils.getaddresses([str(field)]):
                    n = decoded(n)
                    senders.append(f"{n} <{addr}>" if n else addr)
            if not any(pattern.lower() in s.lower() for pattern in a.senders for s in senders):
                continue
        if a.subjects:
            s = msg.get("Subject")
            subject = "" if s is None else " ".join(decoded(str(s)).split()).lower()
            if s is None or not any(pattern.lower() in subject for pattern in a.subjects):
                continue
        selected.append(hashlib.sha256(raw).hexdigest())
    for digest in sorted(selected):
        print(digest)


if __name__ == "__main__":
    main()
