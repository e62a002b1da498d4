import MailKeepIO
import CSystemShim
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The dialects mailkeep writes.
public enum MboxVariant: String, CaseIterable, Sendable {
    /// `From ` lines in bodies become `>From `; `>From ` stays as it is, so reading it back
    /// cannot tell the two apart. Kept for old readers; mailkeep warns when it loses something.
    case mboxo
    /// Every `>*From ` line gets one more `>`: reversible, the default.
    case mboxrd
    /// No quoting; a `Content-Length` header counts each body.
    case mboxcl2
}

/// Writes messages as an mbox stream.
///
/// The From_ line is the one the message came with when it came from an mbox; otherwise it is
/// built from `Return-Path` or `From` and the received time (else the `Date` header), in
/// asctime form in the local time zone, as mutt and Dovecot write it (see `FromLine.format`);
/// `MAILER-DAEMON` when there is no address.
///
/// Every message is written so that a reader takes back exactly its content, whatever mix of
/// dialects the messages came from. A message is either counted (a `Content-Length` that is
/// right, body bytes as they are: what mutt and Dovecot write) or quoted (`>From `, and no
/// `Content-Length`, which would count the body before its quoting):
/// - mboxcl2 counts every message.
/// - Without a variant (the default), a message keeps the form it came in: one that came with
///   a `Content-Length` (kept in `mboxHeaders`) is counted again, so a mutt or Dovecot file
///   rebuilt from a bundle is the same file; the others are quoted as mboxrd.
/// - mboxrd and mboxo quote; a kept `Content-Length` stays only while quoting changes nothing
///   in the message (and is corrected if it was wrong).
/// - A message whose own header has a `Content-Length` (saved from an mbox long ago) is always
///   counted: readers take the last such field as the mailbox's, so ours must follow it.
/// - A Thunderbird message (a `From - ` line and an `X-Mozilla-Status` field) is quoted as
///   mboxo, as Thunderbird writes and every reader of it (mailkeep included) reads it; one with a
///   `From ` line of its own that mboxo would change is counted instead. Without a variant, so
///   is any message that was read as mboxo (`quotedAsMboxo`: `--mbox-dialect mboxo`, an Apple
///   Mail package): its body `>From ` lines stay as they were, and the file is read back as it
///   was read, with `--mbox-dialect mboxo`.
///
/// Dovecot's mbox driver honours a message's `X-Keywords` only when every name in it is one its
/// index knows, and with a new index it knows only the names the first message's
/// `X-IMAPbase: UIDVALIDITY LAST-UID NAME...` lists (otherwise it drops the field, from the file
/// too, on its next rewrite). So the writer notes where that line is (or belongs) in the first
/// message and which names the file's `X-Keywords` lines use; `keywordListPatch()` gives the line
/// that lists them all, for a sink that can still change the file before it names it.
public final class MboxWriter {
    private let sink: CountingSink
    /// The dialect asked for; nil keeps each message's own (see the type's comment).
    public let variant: MboxVariant?
    private let log: WarningLog
    private var warnedLossy = false

    /// The first message's `X-IMAPbase` line: where it starts in the output, its bytes (none
    /// when there is none yet, and it goes at `offset`) and the line end it takes.
    private var keywordList: (offset: Int64, line: [UInt8], eol: [UInt8])?
    /// The keyword names the `X-Keywords` lines written so far use, each once (case aside).
    private var keywordNames: [String] = []
    private var keywordNamesSeen = Set<String>()

    public init(_ sink: ByteSink, variant: MboxVariant? = nil, log: WarningLog) {
        self.sink = CountingSink(sink)
        self.variant = variant
        self.log = log
    }

    public func write(_ meta: MessageMetadata, content: UnsafeRawBufferPointer) throws {
        let crlf = content.firstLineIsCRLF
        let eol: [UInt8] = crlf ? [0x0D, 0x0A] : [0x0A]
        let fromLine = meta.fromLine ?? Self.fromLine(for: meta, content: content)
        try sink.write(fromLine)
        try sink.write(eol)

        let header = MboxMetadataHeaders.extract(content)
        let bodyLength = content.count - header.bodyStart
        var lines: [UInt8]
        var at: Int
        if let kept = meta.mboxHeaders, keptHeadersAgree(kept, meta: meta, contentHeader: header) {
            (lines, at) = (kept, min(meta.mboxHeadersOffset, header.headerEnd))
        } else if header.mozillaStatus != nil, !header.hasStatus, !header.hasXStatus, !header.hasXKeywords,
                  header.hasUIDFields.isEmpty, keptHeadersAgree([], meta: meta, contentHeader: header) {
            // Thunderbird's own fields say it all: a Thunderbird file comes back as it was.
            (lines, at) = ([], header.headerEnd)
        } else {
            // Fields the content has of its own are followed by ours (see MboxMetadataHeaders);
            // Dovecot's UID fields go only where the content has its own, and then empty: the
            // UIDs of another mailbox mean nothing here, and Dovecot numbers what has none.
            var fresh: [UInt8] = []
            for name in header.hasUIDFields { fresh += Array("\(name): ".utf8) + eol }
            fresh += MboxMetadataHeaders.statusLines(flags: meta.flags, isNew: meta.isNew, crlf: crlf,
                                                     alwaysStatus: header.hasStatus, alwaysXStatus: header.hasXStatus)
            fresh += MboxMetadataHeaders.keywordsLine(meta.keywords, crlf: crlf, always: header.hasXKeywords)
            (lines, at) = (fresh, header.headerEnd)
        }
        let thunderbird = MboxDialect.isThunderbird(fromLine: fromLine, mozillaStatus: header.mozillaStatus != nil)
        let mboxo = thunderbird || (variant == nil && meta.quotedAsMboxo)
        let quoting: MboxVariant? = variant == .mboxcl2 ? nil : mboxo ? .mboxo : variant ?? .mboxrd
        let hasLength = MboxDialect.contentLengthLine(in: lines) != nil
        let quotingChanges = quoting.map { Self.quotingChanges(content, $0) } ?? false
        let counted = quoting == nil || header.hasContentLength || (hasLength && (!quotingChanges || variant == nil))
            || (mboxo && quotingChanges)
        if counted {
            lines = MboxDialect.settingContentLength(bodyLength, in: lines, eol: eol)
        } else if hasLength {
            lines = MboxDialect.settingContentLength(nil, in: lines, eol: eol)
        }
        let write: (UnsafeRawBufferPointer) throws -> Void = counted ? sink.write : { try self.writeQuoted($0, as: quoting ?? .mboxrd) }
        // `at` is a line start, so quoting the two parts apart quotes as the whole would.
        try write(UnsafeRawBufferPointer(rebasing: content[0..<at]))
        noteKeywordState(lines, at: sink.count, eol: eol)
        try sink.write(lines)
        try write(UnsafeRawBufferPointer(rebasing: content[at...]))
        if content.last != 0x0A {
            log.add(file: meta.source, offset: meta.sourceOffset, "message does not end with a newline; one was added in the mbox")
            try sink.write(eol)
        }
        try sink.write(eol)
    }

    public func flush() throws { try sink.flush() }

    /// Notes, for the first message, where its `X-IMAPbase` line is or goes (before the other
    /// state lines, as Dovecot reads the fields in order and `X-Keywords` must come after it), and
    /// for every message the names its `X-Keywords` lines use.
    private func noteKeywordState(_ lines: [UInt8], at offset: Int64, eol: [UInt8]) {
        var start = 0
        while start < lines.count {
            let end = (lines[start...].firstIndex(of: 0x0A) ?? lines.count - 1) + 1
            let line = lines[start..<end]
            if keywordList == nil, Self.fieldName(of: line) == "x-imapbase" {
                keywordList = (offset + Int64(start), Array(line), eol)
            } else if Self.fieldName(of: line) == "x-keywords", let colon = line.firstIndex(of: 0x3A) {
                for word in line[(colon + 1)...].split(whereSeparator: { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D || $0 == 0x0A }) {
                    let name = String(decoding: word, as: UTF8.self)
                    if DovecotKeywords.isValidName(name), keywordNamesSeen.insert(name.lowercased()).inserted { keywordNames.append(name) }
                }
            }
            start = end
        }
        if keywordList == nil { keywordList = (offset, [], eol) }
    }

    private static func fieldName(of line: ArraySlice<UInt8>) -> String? {
        guard let colon = line.firstIndex(of: 0x3A) else { return nil }
        return String(decoding: line[line.startIndex..<colon], as: UTF8.self).trimmingCharacters(in: " \t").lowercased()
    }

    /// The first message's `X-IMAPbase` line as it must be for Dovecot to show every keyword
    /// written: the line there (`replacing` its bytes at `offset`) with the names it lacks added,
    /// or a new one (UIDVALIDITY the time of writing, as Dovecot chooses it; last UID 0, so that
    /// Dovecot numbers the messages) inserted at `offset`. Nil when no name is missing. Once
    /// taken, the writer counts it as written.
    public func keywordListPatch() -> (offset: Int64, replacing: Int, line: [UInt8])? {
        guard let list = keywordList, !keywordNames.isEmpty else { return nil }
        var value = list.line
        while let last = value.last, last == 0x0A || last == 0x0D || last == 0x20 || last == 0x09 { value.removeLast() }
        let colon = value.firstIndex(of: 0x3A).map { $0 + 1 } ?? value.count
        let words = value[colon...].split(whereSeparator: { $0 == 0x20 || $0 == 0x09 })
        let isNumber = { (w: ArraySlice<UInt8>) in w.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }
        var listed = Set(words.dropFirst(2).map { String(decoding: $0, as: UTF8.self).lowercased() })
        if words.count < 2 || !isNumber(words[0]) || !isNumber(words[1]) || words[0].allSatisfy({ $0 == 0x30 }) {
            // None, or one Dovecot would not take (an empty one the content's own field called for).
            value = Array("X-IMAPbase: \(max(Int64(Glibc.time(nil)), 1)) 0000000000".utf8)
            listed = []
        }
        let missing = keywordNames.filter { !listed.contains($0.lowercased()) }
        guard !missing.isEmpty else { return nil }
        value += Array((" " + missing.joined(separator: " ")).utf8) + list.eol
        keywordList = (list.offset, value, list.eol)
        return (list.offset, list.line.count, value)
    }

    /// The kept metadata lines go back verbatim only while they (with the content's
    /// `X-Mozilla-Status` and `X-Mozilla-Keys`, read with them) say what the flags and keywords say.
    private func keptHeadersAgree(_ kept: [UInt8], meta: MessageMetadata, contentHeader: MboxMetadataHeaders.Extracted) -> Bool {
        kept.withUnsafeBytes { raw in
            var e = MboxMetadataHeaders.extract(raw)
            if e.mozillaStatus == nil { e.mozillaStatus = contentHeader.mozillaStatus }
            let (flags, isNew) = MboxMetadataHeaders.flags(e)
            guard flags == meta.flags, isNew == meta.isNew else { return false }
            let keywords = MboxMetadataHeaders.keywords(xKeywords: e.xKeywords, mozillaKeys: contentHeader.mozillaKeys)
            return MboxMetadataHeaders.sameKeywords(keywords, meta.keywords)
        }
    }

    /// True when quoting `content` as `variant` would change a line.
    private static func quotingChanges(_ content: UnsafeRawBufferPointer, _ variant: MboxVariant) -> Bool {
        var found = false
        FromLineScan.forEach(in: content) { _, depth in
            if variant == .mboxrd || depth == 0 { found = true }
        }
        return found
    }

    /// Writes `bytes` with the quoting of `variant` (mboxrd or mboxo).
    private func writeQuoted(_ bytes: UnsafeRawBufferPointer, as variant: MboxVariant) throws {
        var written = 0
        try FromLineScan.forEach(in: bytes) { start, depth in
            if variant == .mboxrd || depth == 0 {
                try sink.write(UnsafeRawBufferPointer(rebasing: bytes[written..<start]))
                try sink.write(">")
                written = start
            } else if !warnedLossy, self.variant == .mboxo {
                warnedLossy = true
                log.add(file: sink.name, offset: nil, "mboxo cannot tell \">From \" lines from quoted \"From \" lines; use mboxrd to keep them apart")
            }
        }
        try sink.write(UnsafeRawBufferPointer(rebasing: bytes[written...]))
    }

    /// `From SENDER DATE` for a message that did not come from an mbox.
    package static func fromLine(for meta: MessageMetadata, content: UnsafeRawBufferPointer, zone: FromLine.Zone = .local) -> [UInt8] {
        let headers = HeaderBlock(message: content)
        var sender = "MAILER-DAEMON"
        for name in ["return-path", "from"] {
            if let value = headers.first(name), let address = firstAddress(String(decoding: value, as: UTF8.self)) {
                sender = address
                break
            }
        }
        let time = meta.received ?? headers.first("date").flatMap { MailDate.parse(rfc5322: $0)?.unixSeconds } ?? Int64(Glibc.time(nil))
        return FromLine.format(sender: sender, time: time, zone: zone)
    }

    /// The address in `<...>`, or the first word that has an `@`; no spaces allowed, since the
    /// From_ line is split on them.
    private static func firstAddress(_ value: String) -> String? {
        if let open = value.firstIndex(of: "<"), let close = value[open...].firstIndex(of: ">") {
            let inner = value[value.index(after: open)..<close].trimmingCharacters(in: " \t")
            return inner.isEmpty || inner.contains(" ") ? nil : String(inner)
        }
        for word in value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," }) where word.contains("@") {
            return String(word.trimmingCharacters(in: "()\"'"))
        }
        return nil
    }
}

extension StringProtocol {
    package func trimmingCharacters(in set: String) -> Substring {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return s
    }
}
