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
///   `From ` line of its own that mboxo would change is counted instead.
public final class MboxWriter {
    private let sink: ByteSink
    /// The dialect asked for; nil keeps each message's own (see the type's comment).
    public let variant: MboxVariant?
    private let log: WarningLog
    private var warnedLossy = false

    public init(_ sink: ByteSink, variant: MboxVariant? = nil, log: WarningLog) {
        self.sink = sink
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
        let quoting: MboxVariant? = variant == .mboxcl2 ? nil : thunderbird ? .mboxo : variant ?? .mboxrd
        let hasLength = MboxDialect.contentLengthLine(in: lines) != nil
        let quotingChanges = quoting.map { Self.quotingChanges(content, $0) } ?? false
        let counted = quoting == nil || header.hasContentLength || (hasLength && (!quotingChanges || variant == nil))
            || (thunderbird && quotingChanges)
        if counted {
            lines = MboxDialect.settingContentLength(bodyLength, in: lines, eol: eol)
        } else if hasLength {
            lines = MboxDialect.settingContentLength(nil, in: lines, eol: eol)
        }
        let write: (UnsafeRawBufferPointer) throws -> Void = counted ? sink.write : { try self.writeQuoted($0, as: quoting ?? .mboxrd) }
        if !lines.isEmpty {
            try write(UnsafeRawBufferPointer(rebasing: content[0..<at]))
            try sink.write(lines)
            try write(UnsafeRawBufferPointer(rebasing: content[at...]))
        } else {
            try write(content)
        }
        if content.last != 0x0A {
            log.add(file: meta.source, offset: meta.sourceOffset, "message does not end with a newline; one was added in the mbox")
            try sink.write(eol)
        }
        try sink.write(eol)
    }

    public func flush() throws { try sink.flush() }

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
