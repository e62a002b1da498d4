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
/// asctime form, UTC, as mutt and mblaze write it; `MAILER-DAEMON` when there is no address.
public final class MboxWriter {
    private let sink: ByteSink
    public let variant: MboxVariant
    private let log: WarningLog
    private var warnedLossy = false

    public init(_ sink: ByteSink, variant: MboxVariant = .mboxrd, log: WarningLog) {
        self.sink = sink
        self.variant = variant
        self.log = log
    }

    public func write(_ meta: MessageMetadata, content: UnsafeRawBufferPointer) throws {
        let crlf = content.firstLineIsCRLF
        let eol: [UInt8] = crlf ? [0x0D, 0x0A] : [0x0A]
        try sink.write(meta.fromLine ?? Self.fromLine(for: meta, content: content))
        try sink.write(eol)

        let header = MboxMetadataHeaders.extract(content)
        let bodyLength = content.count - header.bodyStart
        var insert: (at: Int, lines: [UInt8])?
        if let kept = meta.mboxHeaders, keptHeadersAgree(kept, meta: meta, contentHeader: header, bodyLength: bodyLength) {
            insert = (min(meta.mboxHeadersOffset, header.headerEnd), kept)
        } else {
            // Fields the content has of its own are followed by ours (see MboxMetadataHeaders);
            // Dovecot's UID fields go only where the content has its own, and then empty: the
            // UIDs of another mailbox mean nothing here, and Dovecot numbers what has none.
            var lines: [UInt8] = []
            for name in header.hasUIDFields { lines += Array("\(name): ".utf8) + eol }
            lines += MboxMetadataHeaders.statusLines(flags: meta.flags, isNew: meta.isNew, crlf: crlf,
                                                     alwaysStatus: header.hasStatus, alwaysXStatus: header.hasXStatus)
            lines += MboxMetadataHeaders.keywordsLine(meta.keywords, crlf: crlf, always: header.hasXKeywords)
            if variant == .mboxcl2 || header.hasContentLength { lines += Array("Content-Length: \(bodyLength)".utf8) + eol }
            if !lines.isEmpty { insert = (header.headerEnd, lines) }
        }
        if let insert {
            try writeQuoted(UnsafeRawBufferPointer(rebasing: content[0..<insert.at]), lineStart: true)
            try sink.write(insert.lines)
            try writeQuoted(UnsafeRawBufferPointer(rebasing: content[insert.at...]), lineStart: true)
        } else {
            try writeQuoted(content, lineStart: true)
        }
        if content.last != 0x0A {
            log.add(file: meta.source, offset: meta.sourceOffset, "message does not end with a newline; one was added in the mbox")
            try sink.write(eol)
        }
        try sink.write(eol)
    }

    public func flush() throws { try sink.flush() }

    /// The kept metadata lines go back verbatim only while they say what the flags and
    /// keywords say (and, in mboxcl2, count the body right).
    private func keptHeadersAgree(_ kept: [UInt8], meta: MessageMetadata, contentHeader: MboxMetadataHeaders.Extracted,
                                  bodyLength: Int) -> Bool {
        kept.withUnsafeBytes { raw in
            let e = MboxMetadataHeaders.extract(raw)
            let (flags, isNew) = MboxMetadataHeaders.flags(e)
            guard flags == meta.flags, isNew == meta.isNew else { return false }
            let keywords = MboxMetadataHeaders.keywords(xKeywords: e.xKeywords, mozillaKeys: contentHeader.mozillaKeys)
            guard MboxMetadataHeaders.sameKeywords(keywords, meta.keywords) else { return false }
            if variant == .mboxcl2 { return e.contentLength == bodyLength }
            return true
        }
    }

    /// Writes `bytes` with the variant's quoting of `From ` lines.
    private func writeQuoted(_ bytes: UnsafeRawBufferPointer, lineStart: Bool) throws {
        guard variant != .mboxcl2 else {
            try sink.write(bytes)
            return
        }
        var written = 0
        try FromLineScan.forEach(in: bytes, atLineStart: lineStart) { start, depth in
            if variant == .mboxrd || depth == 0 {
                try sink.write(UnsafeRawBufferPointer(rebasing: bytes[written..<start]))
                try sink.write(">")
                written = start
            } else if !warnedLossy {
                warnedLossy = true
                log.add(file: sink.name, offset: nil, "mboxo cannot tell \">From \" lines from quoted \"From \" lines; use mboxrd to keep them apart")
            }
        }
        try sink.write(UnsafeRawBufferPointer(rebasing: bytes[written...]))
    }

    /// `From SENDER DATE` for a message that did not come from an mbox.
    package static func fromLine(for meta: MessageMetadata, content: UnsafeRawBufferPointer) -> [UInt8] {
        let headers = HeaderBlock(message: content)
        var sender = "MAILER-DAEMON"
        for name in ["return-path", "from"] {
            if let value = headers.first(name), let address = firstAddress(String(decoding: value, as: UTF8.self)) {
                sender = address
                break
            }
        }
        let time = meta.received ?? headers.first("date").flatMap { MailDate.parse(rfc5322: $0)?.unixSeconds } ?? Int64(Glibc.time(nil))
        return FromLine.format(sender: sender, time: time)
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
