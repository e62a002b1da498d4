import MailKeepIO
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The headers an mbox uses for mailbox state rather than content.
///
/// `Status`, `X-Status` and `Content-Length` belong to the mailbox, not the message (Dovecot
/// hides them the same way): the reader takes them out of the content, keeping their exact
/// bytes in `MessageMetadata.mboxHeaders`, and turns them into Maildir flags; the writer puts
/// them back verbatim while they still agree with the flags, and writes fresh ones otherwise.
/// So a message hashes the same in every container, and an mbox rebuilt from a bundle is the
/// same file. `X-Mozilla-Status` is read for flags but left in the content: Thunderbird keeps
/// other state in it that no Maildir flag can hold.
///
/// Dovecot's mbox state is mailbox state too, taken out the same way, so a converted message
/// is what Dovecot serves over IMAP (it hides these fields): `X-IMAPbase` (UIDVALIDITY, next
/// UID and the mailbox's keyword names, on the first message), `X-IMAP` (on its pseudo
/// message), `X-UID`, and `X-Keywords`, the message's keyword names separated by spaces
/// (Dovecot pads the field with spaces to rewrite it in place; commas are read as separators
/// too). `X-Mozilla-Keys`, Thunderbird's keyword names, is read as keywords and, like
/// `X-Mozilla-Status`, left in the content. The UIDs are not carried into other formats: a
/// Maildir and an IMAP server number messages themselves; the verbatim lines still bring
/// them back in an mbox rebuilt from the same state.
///
/// Only the last field of each of those names is mailbox state; earlier ones belong to the
/// message (one saved from an mbox into a Maildir often keeps its old `Status:` line). The
/// writer keeps that true: when the content carries such a field of its own, it writes its own
/// line of the same name after it, even an empty one, so reading back takes out exactly what
/// the writer added.
///
/// Flag letters: `Status: R` is Maildir `S` and `O` marks a message as no longer new;
/// `X-Status` `A` is `R` (replied), `F` is `F`, `T` is `D` (draft), `D` is `T` (deleted), as
/// Dovecot and mutt write them. Maildir flags with no mbox letter (`P`, keywords `a`-`z`) are
/// written into `X-Status` as themselves, so no flag is lost in an mbox.
package enum MboxMetadataHeaders {
    package struct Extracted {
        /// Byte ranges of the fields to take out of the content (the last Status, X-Status and
        /// Content-Length), in order, with their continuation lines.
        package var ranges: [Range<Int>] { lastRanges.values.sorted { $0.lowerBound < $1.lowerBound } }
        fileprivate var lastRanges: [Field: Range<Int>] = [:]
        /// Whether the message has a field of this kind.
        package var hasStatus: Bool { lastRanges[.status] != nil }
        package var hasXStatus: Bool { lastRanges[.xStatus] != nil }
        package var hasContentLength: Bool { lastRanges[.contentLength] != nil }
        package var hasXKeywords: Bool { lastRanges[.xKeywords] != nil }
        /// Whether the content holds Dovecot's UID fields of its own (`X-IMAPbase`, `X-IMAP`, `X-UID`).
        package var hasUIDFields: [StaticString] {
            [(Field.xIMAPbase, "X-IMAPbase"), (.xIMAP, "X-IMAP"), (.xUID, "X-UID")].compactMap { lastRanges[$0.0] != nil ? $0.1 : nil }
        }
        package var xKeywords: [UInt8]?
        package var mozillaKeys: [UInt8]?
        package var status: [UInt8]?
        package var xStatus: [UInt8]?
        package var mozillaStatus: [UInt8]?
        package var contentLength: Int?
        /// The last `Content-Length` field's value as it stood, when it is not a byte count
        /// mailkeep takes (a sign, not a number, more than 15 digits).
        package var unusableContentLength: [UInt8]?
        /// Where the body starts (after the empty line), or the message length when there is none.
        package var bodyStart: Int = 0
        /// Where the empty line ending the header block starts.
        package var headerEnd: Int = 0
    }

    fileprivate enum Field { case status, xStatus, contentLength, mozillaStatus, xKeywords, xIMAPbase, xIMAP, xUID, mozillaKeys }

    /// Scans the header block of `message` for the metadata fields.
    package static func extract(_ message: UnsafeRawBufferPointer) -> Extracted {
        var result = Extracted()
        let n = message.count
        guard let base = message.baseAddress else { return result }
        var line = 0
        var current: (field: Field, start: Int)?
        func close(at end: Int) {
            guard let c = current else { return }
            if c.field != .mozillaStatus && c.field != .mozillaKeys { result.lastRanges[c.field] = c.start..<end }
            let value = valueBytes(message, c.start, end)
            switch c.field {
            case .xKeywords: result.xKeywords = value
            case .mozillaKeys: result.mozillaKeys = value
            case .xIMAPbase, .xIMAP, .xUID: break
            case .status: result.status = value
            case .xStatus: result.xStatus = value
            case .mozillaStatus: result.mozillaStatus = value
            case .contentLength:
                result.contentLength = nil
                result.unusableContentLength = nil
                let digits = value.filter { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D && $0 != 0x0A }
                if !digits.isEmpty, digits.count <= 15, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
                    result.contentLength = digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
                } else {
                    result.unusableContentLength = digits
                }
            }
            current = nil
        }
        while line < n {
            let first = message[line]
            if first == 0x0A || (first == 0x0D && line + 1 < n && message[line + 1] == 0x0A) {
                close(at: line)
                result.headerEnd = line
                result.bodyStart = line + (first == 0x0A ? 1 : 2)
                return result
            }
            let next: Int
            if let p = memchr(base + line, 0x0A, n - line) {
                next = (UnsafeRawPointer(p) - base) + 1
            } else {
                next = n
            }
            if first == 0x20 || first == 0x09 {
                // A continuation line belongs to the field before it.
            } else {
                close(at: line)
                if let field = fieldName(message, line, next) { current = (field, line) }
            }
            line = next
        }
        close(at: n)
        result.headerEnd = n
        result.bodyStart = n
        return result
    }

    private static func fieldName(_ m: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> Field? {
        func named(_ name: StaticString) -> Bool {
            let k = name.utf8CodeUnitCount
            guard start + k < end, m[start + k] == 0x3A || m[start + k] == 0x20 else { return false }
            let p = name.utf8Start
            for i in 0..<k where m[start + i] | 0x20 != p[i] { return false }
            // "Status :" is tolerated; the colon must come before anything else.
            var j = start + k
            while j < end, m[j] == 0x20 { j += 1 }
            return j < end && m[j] == 0x3A
        }
        if named("status") { return .status }
        if named("x-status") { return .xStatus }
        if named("content-length") { return .contentLength }
        if named("x-mozilla-status") { return .mozillaStatus }
        if named("x-keywords") { return .xKeywords }
        if named("x-uid") { return .xUID }
        if named("x-imapbase") { return .xIMAPbase }
        if named("x-imap") { return .xIMAP }
        if named("x-mozilla-keys") { return .mozillaKeys }
        return nil
    }

    private static func valueBytes(_ m: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> [UInt8] {
        var i = start
        while i < end, m[i] != 0x3A { i += 1 }
        var out: [UInt8] = []
        i += 1
        while i < end {
            let b = m[i]
            if b != 0x0D && b != 0x0A { out.append(b) }
            i += 1
        }
        while let f = out.first, f == 0x20 || f == 0x09 { out.removeFirst() }
        while let l = out.last, l == 0x20 || l == 0x09 { out.removeLast() }
        return out
    }

    /// Maildir flags and newness from the mbox status fields.
    package static func flags(_ e: Extracted) -> (flags: String, isNew: Bool) {
        var set = Set<UInt8>()
        var old = false
        if let s = e.status {
            for b in s {
                switch b {
                case UInt8(ascii: "R"): set.insert(UInt8(ascii: "S"))
                case UInt8(ascii: "O"): old = true
                default: break
                }
            }
        }
        if let x = e.xStatus {
            for b in x {
                switch b {
                case UInt8(ascii: "A"): set.insert(UInt8(ascii: "R"))
                case UInt8(ascii: "T"): set.insert(UInt8(ascii: "D"))
                case UInt8(ascii: "D"): set.insert(UInt8(ascii: "T"))
                case UInt8(ascii: "F"), UInt8(ascii: "P"): set.insert(b)
                case UInt8(ascii: "a")...UInt8(ascii: "z"): set.insert(b)
                default: break
                }
            }
        }
        if let m = e.mozillaStatus, let bits = Int(String(decoding: m, as: UTF8.self), radix: 16) {
            old = true
            if bits & 0x0001 != 0 { set.insert(UInt8(ascii: "S")) }
            if bits & 0x0002 != 0 { set.insert(UInt8(ascii: "R")) }
            if bits & 0x0004 != 0 { set.insert(UInt8(ascii: "F")) }
            if bits & 0x0008 != 0 { set.insert(UInt8(ascii: "T")) }
            if bits & 0x1000 != 0 { set.insert(UInt8(ascii: "P")) }
        }
        let flags = String(decoding: set.sorted(), as: UTF8.self)
        return (flags, flags.isEmpty && !old)
    }

    /// Keyword names from `X-Keywords` and `X-Mozilla-Keys`, in order, each once (case aside).
    package static func keywords(xKeywords: [UInt8]?, mozillaKeys: [UInt8]?) -> [String] {
        var out: [String] = []
        var seen = Set<String>()
        for field in [xKeywords, mozillaKeys] {
            guard let field else { continue }
            for word in field.split(whereSeparator: { $0 == 0x20 || $0 == 0x09 || $0 == 0x2C }) {
                let name = String(decoding: word, as: UTF8.self)
                if DovecotKeywords.isValidName(name), seen.insert(name.lowercased()).inserted { out.append(name) }
            }
        }
        return out
    }

    package static func keywords(_ e: Extracted) -> [String] {
        keywords(xKeywords: e.xKeywords, mozillaKeys: e.mozillaKeys)
    }

    /// The words of `X-Keywords` and `X-Mozilla-Keys` that `keywords` passes over because
    /// they cannot be a keyword name (control characters, IMAP's reserved characters).
    package static func unusableKeywords(_ e: Extracted) -> [String] {
        var out: [String] = []
        for field in [e.xKeywords, e.mozillaKeys] {
            guard let field else { continue }
            for word in field.split(whereSeparator: { $0 == 0x20 || $0 == 0x09 || $0 == 0x2C || $0 == 0x0D || $0 == 0x0A }) {
                let name = String(decoding: word, as: UTF8.self)
                if !DovecotKeywords.isValidName(name) { out.append(name) }
            }
        }
        return out
    }

    /// Whether two keyword lists name the same keywords, order and case aside.
    package static func sameKeywords(_ a: [String], _ b: [String]) -> Bool {
        Set(a.map { $0.lowercased() }) == Set(b.map { $0.lowercased() })
    }

    /// A fresh `X-Keywords` line, as Dovecot writes it (names separated by spaces, without its
    /// padding); none without keywords unless `always`.
    package static func keywordsLine(_ keywords: [String], crlf: Bool, always: Bool = false) -> [UInt8] {
        guard !keywords.isEmpty || always else { return [] }
        return Array("X-Keywords: \(keywords.joined(separator: " "))\(crlf ? "\r\n" : "\n")".utf8)
    }

    /// Fresh `Status` / `X-Status` lines for a message's flags (none for a new message without
    /// flags, unless `always` asks for both), with the message's own line ending.
    package static func statusLines(flags: String, isNew: Bool, crlf: Bool, alwaysStatus: Bool = false, alwaysXStatus: Bool = false) -> [UInt8] {
        var status = ""
        var xStatus = ""
        for c in flags.utf8 {
            switch c {
            case UInt8(ascii: "S"): status.append("R")
            case UInt8(ascii: "R"): xStatus.append("A")
            case UInt8(ascii: "D"): xStatus.append("T")
            case UInt8(ascii: "T"): xStatus.append("D")
            default: xStatus.append(Character(Unicode.Scalar(c)))
            }
        }
        if !isNew || !flags.isEmpty { status.append("O") }
        let eol = crlf ? "\r\n" : "\n"
        var out = ""
        if !status.isEmpty || alwaysStatus { out += "Status: \(status)\(eol)" }
        if !xStatus.isEmpty || alwaysXStatus { out += "X-Status: \(xStatus)\(eol)" }
        return Array(out.utf8)
    }
}

extension UnsafeRawBufferPointer {
    /// True when the first line ends with CRLF: the message's own line-ending convention.
    package var firstLineIsCRLF: Bool {
        guard let base = baseAddress, let p = memchr(base, 0x0A, count) else { return false }
        let i = UnsafeRawPointer(p) - base
        return i > 0 && self[i - 1] == 0x0D
    }
}
