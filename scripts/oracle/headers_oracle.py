#!/usr/bin/env python3
"""Reference header values from Python's `email` package, for HeaderOracleTests.

Usage: headers_oracle.py FILE...   Prints one JSON object per file and line:
  path, date (Unix seconds, or null when Python cannot parse it; a date without a zone
  counts as UTC), from (the addresses email.utils.getaddresses finds, empty ones dropped),
  subject (decode_header + make_header; null when absent), message_id (brackets and
  whitespace stripped; null when absent), and errors (fields Python raised on, or
  "headers" when Python ended the header block early at a malformed line).

Header bytes that are not ASCII reach Python as surrogate escapes; they are turned back
into text the way mailkeep reads raw header bytes (UTF-8 when valid, else the charset the
Content-Type declares, else Windows-1252), since Python has no opinion on them.
"""
import datetime
import email
import email.errors
import email.header
import email.policy
import email.utils
import json
import sys


def raw_text(value, declared_charset):
    data = value.encode("utf-8", "surrogateescape")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if declared_charset:
        try:
            return data.decode(declared_charset, "replace")
        except LookupError:
            pass
    return data.decode("cp1252", "replace")


def raw_values(message, name):
    """The header's values as the file has them: compat32's get() hides 8-bit bytes behind
    replacement characters, raw_items() keeps them as surrogate escapes."""
    return [value for key, value in message.raw_items() if key.lower() == name.lower()]


def first_raw(message, name):
    values = raw_values(message, name)
    return values[0] if values else None


def summarize(path):
    with open(path, "rb") as handle:
        message = email.message_from_binary_file(handle, policy=email.policy.compat32)
    result = {"path": path, "date": None, "from": [], "subject": None, "message_id": None, "errors": []}
    if any(isinstance(defect, email.errors.MissingHeaderBodySeparatorDefect) for defect in message.defects):
        # Python ends the header block at the first malformed line; mailkeep skips that line
        # and reads on, so the two see different headers.
        result["errors"] = ["headers"]
        return result
    charset = message.get_content_charset()

    date = first_raw(message, "Date")
    if date is not None:
        try:
            parsed = email.utils.parsedate_to_datetime(str(date))
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=datetime.timezone.utc)
            result["date"] = int(parsed.timestamp())
        except Exception:
            result["errors"].append("date")

    try:
        senders = [raw_text(value, charset) for value in raw_values(message, "From")]
        result["from"] = [address for _, address in email.utils.getaddresses(senders) if address]
    except Exception:
        result["errors"].append("from")

    subject = first_raw(message, "Subject")
    if subject is not None:
        try:
            text = raw_text(subject, charset)
            result["subject"] = str(email.header.make_header(email.header.decode_header(text)))
        except Exception:
            result["errors"].append("subject")

    message_id = first_raw(message, "Message-ID")
    if message_id is not None:
        text = str(message_id).strip()
        if "<" in text and ">" in text[text.index("<"):]:
            start = text.index("<")
            text = text[start + 1 : text.index(">", start)]
        result["message_id"] = raw_text(text.strip(), charset) or None
    return result


def main():
    for path in sys.argv[1:]:
        try:
            print(json.dumps(summarize(path)))
        except Exception as error:
            print(json.dumps({"path": path, "errors": ["message: %s" % error]}))


if __name__ == "__main__":
    main()
