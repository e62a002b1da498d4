import MailKeepIO
import CSystemShim
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Splits an mbox stream into messages, whatever its dialect, in one pass with flat memory.
///
/// Rules, in the order they apply:
/// - A `From ` line is a separator only at the start of the stream or after an empty line
///   (the rule Thunderbird, Dovecot and jwz follow).
/// - The first separator decides which later ones count: where it carries a date (mutt,
///   Dovecot, mblaze, Thunderbird's `From - date`), only dated lines split, so a body line
///   `From the desk of` after an empty line stays in its message; where it is a bare `From `,
///   only bare lines split. A `From ` line after an empty line that is left in a message is
///   reported as ambiguous, with its offset.
/// - A `Content-Length` header is trusted only when the body it counts ends where a separator
///   or the end of the stream follows; then the body is taken verbatim (mboxcl2: no quoting).
///   Otherwise the reader warns and splits by separators.
/// - `>From ` quoting is undone one level (mboxrd), so mboxrd round-trips byte for byte;
///   not in a message that Thunderbird wrote (`From - ` and `X-Mozilla-Status`: mboxo), nor
///   where `dialect` says the file is mboxo or mboxcl2 (see `MboxDialect`).
/// - The empty line before a separator, and one at the very end, belong to the mbox, not to
///   the message. CRLF files keep their CRLFs.
/// - A file whose lines end in a lone CR (classic Mac OS mail programs: its first line ends in
///   CR, and no LF is in its first chunk) is split with CR and LF swapped; each message is
///   swapped back, so it keeps its CRs.
public final class MboxReader: MessageSource {
    public let name: String
    private let buffer: ScanBuffer
    private let lineEnds: LineEndSwap
    private let folder: [String]
    private let log: WarningLog
    /// How bodies are quoted (`--mbox-dialect`).
    public let dialect: MboxDialect

    /// Asked at the end of the stream, before the last message is taken (see
    /// `MboxReader.opening`): true when the file is still being written, and that message is
    /// left for the next run rather than taken cut short.
    public var endIsStillGrowing: (() -> Bool)?
    /// The decompressor, when its end check is reported by the reader's caller (`opening`).
    public var endChecked: EndCheckedSource?

    public init(_ source: ByteSource, folder: [String] = [], dialect: MboxDialect = .auto, log: WarningLog) {
        name = source.name
        self.dialect = dialect
        lineEnds = LineEndSwap(source)
        buffer = ScanBuffer(lineEnds)
        self.folder = folder
        self.log = log
    }

    /// True when `prefix` (the first bytes of a stream) look like an mbox. A UTF-8 byte order
    /// mark and empty lines before the first `From ` are accepted (and reported when read).
    public static func looksLikeMbox(_ prefix: UnsafeRawBufferPointer) -> Bool {
        let from: [UInt8] = Array("From ".utf8)
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        var rest = prefix[...]
        if rest.starts(with: bom) { rest = rest.dropFirst(3) }
        while let first = rest.first, first == 0x0A || first == 0x0D { rest = rest.dropFirst() }
        return rest.starts(with: from)
    }

    /// True when `prefix` holds a dated From_ line after an empty line.
    public static func hasDatedSeparator(_ prefix: UnsafeRawBufferPointer) -> Bool {
        guard let base = prefix.baseAddress else { return false }
        var from = 0
        while from < prefix.count, let hit = mk_memmem(base + from, prefix.count - from, "\n\nFrom ", 7) {
            let p = UnsafeRawPointer(hit) - base + 2
            let rest = UnsafeRawBufferPointer(rebasing: prefix[(p + 5)...])
            let lineEnd = rest.firstIndex(of: 0x0A) ?? rest.endIndex
            if FromLine.parse(UnsafeRawBufferPointer(rebasing: rest[..<lineEnd])).kind == .dated { return true }
            from = p
        }
        return false
    }

    public func forEachMessage(_ body: (MessageMetadata, UnsafeRawBufferPointer) throws -> Void) throws {
        var scratch: [UInt8] = []
        let b = buffer
        try b.ensure(8)
        if b.count == 0 { return }
        if try endsLinesWithLoneCR() {
            log.notice(file: name, "lines end in a lone CR (classic Mac OS); read as lines, messages kept as they are")
            lineEnds.enabled = true
            LineEndSwap.swap(UnsafeMutableRawBufferPointer(start: b.start, count: b.count))
        }
        if b.count >= 3, b[0] == 0xEF, b[1] == 0xBB, b[2] == 0xBF {
            log.add(file: name, offset: 0, "UTF-8 byte order mark before the first From_ line dropped")
            b.consume(3)
            try b.ensure(5)
        }
        var blank = 0
        while blank < b.count, b[blank] == 0x0A || (b[blank] == 0x0D && blank + 1 < b.count && b[blank + 1] == 0x0A) {
            blank += b[blank] == 0x0A ? 1 : 2
            if blank + 5 > b.count { try b.ensure(blank + 8) }
        }
        if blank > 0 && b.hasPrefix("From ", at: blank) {
            log.notice(file: name, "\(blank) bytes of empty lines before the first From_ line dropped")
            b.consume(blank)
        }
        if !b.hasPrefix("From ", at: 0) {
            // Damage at the start (or notes pasted above the first message): the bytes up to
            // the first dated separator are kept as a message of their own and reported.
            guard let first = try firstDatedSeparator() else {
                throw MailKeepError.malformed(path: name, offset: 0, reason: "not an mbox: the first line does not start with \"From \"")
            }
            log.add(file: name, offset: 0, "\(first) bytes before the first From_ line are not a message; kept as one of their own")
            let end = b[first - 2] == 0x0D ? first - 2 : first - 1
            try handOver(MessageMetadata(folder: folder, isNew: true, source: name, sourceOffset: 0), b.slice(0, end),
                         scratch: &scratch, body)
            b.consume(first)
        }
        var style: FromLine.Kind?
        var firstSeparator: [UInt8] = []
        while b.count > 0 {
            let messageOffset = b.offset
            // The From_ line.
            var nl = b.index(of: 0x0A, from: 0)
            while nl == nil, try b.readMore() { nl = b.index(of: 0x0A, from: 0) }
            let lineEnd = nl ?? b.count
            var textEnd = lineEnd
            if textEnd > 0, b[textEnd - 1] == 0x0D { textEnd -= 1 }
            let fromLine = Array(b.slice(0, textEnd))
            let parsed = FromLine.parse(b.slice(5, textEnd))
            if style == nil {
                style = parsed.kind
                firstSeparator = Array(b.slice(0, textEnd))
            }
            let contentStart = min(lineEnd + 1, b.count)
            guard nl != nil else {
                if leavesUnfinishedLast(messageOffset) { break }
                log.add(file: name, offset: messageOffset, "stream ends inside a From_ line; empty message kept")
                try emit(fromLine: fromLine, parsed: parsed, raw: b.slice(contentStart, contentStart), offset: messageOffset,
                         lengthDelimited: false, scratch: &scratch, body)
                b.consume(b.count)
                break
            }
            let (end, next, delimitedByLength) = try findMessageEnd(contentStart: contentStart, style: style ?? .dated,
                                                                        firstLine: firstSeparator, messageOffset: messageOffset)
            if next == b.count, leavesUnfinishedLast(messageOffset) { break }
            try emit(fromLine: fromLine, parsed: parsed, raw: b.slice(contentStart, end),
                     offset: messageOffset + Int64(contentStart), lengthDelimited: delimitedByLength, scratch: &scratch, body)
            b.consume(next)
            b.trim()
            if b.count < 5 { try b.ensure(5) }
        }
    }

    /// True (and reported) when the message at `offset` runs to the end of the stream while the
    /// file is still being written. An empty line at the end does not prove it whole: a writer
    /// may have stopped after the empty line that ends the header.
    private func leavesUnfinishedLast(_ offset: Int64) -> Bool {
        if let decided = unfinishedLast, decided.offset == offset { return decided.leave }
        guard buffer.atEnd, let endIsStillGrowing else { return false }
        let leave = endIsStillGrowing()
        unfinishedLast = (offset, leave)
        if leave {
            log.notice(file: name, "offset \(offset): the last message is still being written (the file changed while it was read); left for the next run")
        }
        return leave
    }
    /// The answer of `leavesUnfinishedLast` for the message at `offset`, asked once.
    private var unfinishedLast: (offset: Int64, leave: Bool)?

    /// True when the stream's first line ends in a CR that no LF follows, and no LF comes in
    /// the bytes read so far (a chunk, or the first line when the chunk is smaller).
    private func endsLinesWithLoneCR() throws -> Bool {
        let b = buffer
        while b.index(of: 0x0A, from: 0) == nil, b.count < 1 << 20 {
            if let cr = b.index(of: 0x0D, from: 0), cr + 1 < b.count { break }
            if !(try b.readMore()) { break }
        }
        return b.index(of: 0x0A, from: 0) == nil && b.index(of: 0x0D, from: 0) != nil
    }

    /// The offset of the first dated From_ line after an empty line, within the first MiB.
    private func firstDatedSeparator() throws -> Int? {
        let b = buffer
        try b.ensure(1 << 20)
        var from = 0
        while let q = b.index(of: "\nFrom ", from: from) {
            let p = q + 1
            if q >= 1, b[q - 1] == 0x0A || (q >= 2 && b[q - 1] == 0x0D && b[q - 2] == 0x0A),
               let lineEnd = b.index(of: 0x0A, from: p), FromLine.parse(b.slice(p + 5, lineEnd)).kind == .dated {
                return p
            }
            from = p
        }
        return nil
    }

    /// Where the message whose content starts at `contentStart` ends, where the next one
    /// starts (the window's count at the end of the stream), and whether Content-Length said so.
    private func findMessageEnd(contentStart: Int, style: FromLine.Kind, firstLine: [UInt8], messageOffset: Int64) throws -> (Int, Int, Bool) {
        let b = buffer
        if let counted = try contentLengthEnd(contentStart: contentStart, messageOffset: messageOffset) {
            return (counted.end, counted.next, true)
        }
        var searchFrom = contentStart
        while true {
            guard let q = b.index(of: "\nFrom ", from: max(searchFrom, contentStart > 0 ? contentStart - 1 : 0)) else {
                searchFrom = max(contentStart, b.count - 5)
                if try b.readMore() { continue }
                return (messageEndAtStreamEnd(contentStart: contentStart, messageOffset: messageOffset), b.count, false)
            }
            let p = q + 1
            // Only after an empty line.
            let blankLF = q >= 1 && b[q - 1] == 0x0A
            let blankCRLF = q >= 2 && b[q - 1] == 0x0D && b[q - 2] == 0x0A
            let afterEmptyLine = (blankLF || blankCRLF) && q - 1 >= contentStart - 1
            var lineEnd = b.index(of: 0x0A, from: p)
            while lineEnd == nil, try b.readMore() { lineEnd = b.index(of: 0x0A, from: p) }
            var textEnd = lineEnd ?? b.count
            if textEnd > p, b[textEnd - 1] == 0x0D { textEnd -= 1 }
            let candidate = FromLine.parse(b.slice(p + 5, textEnd))
            let likeSeparator = style == .other ? b.slice(p, textEnd).elementsEqual(firstLine) : candidate.kind == style
            if afterEmptyLine && (likeSeparator || style == .other) {
                let end = blankCRLF ? q - 1 : q
                return (max(end, contentStart), p, false)
            }
            if afterEmptyLine || likeSeparator {
                let text = String(decoding: b.slice(p, min(textEnd, p + 60)), as: UTF8.self)
                log.add(file: name, offset: b.offset + Int64(p), afterEmptyLine
                    ? "ambiguous: \"\(text)\" follows an empty line but is unlike this file's separators; kept inside the message"
                    : "ambiguous: \"\(text)\" looks like a separator but no empty line comes before it; kept inside the message")
            }
            searchFrom = p
        }
    }

    private func messageEndAtStreamEnd(contentStart: Int, messageOffset: Int64) -> Int {
        let b = buffer
        let n = b.count
        if n - contentStart >= 4, b[n - 1] == 0x0A, b[n - 2] == 0x0D, b[n - 3] == 0x0A, b[n - 4] == 0x0D { return n - 2 }
        if n - contentStart >= 2, b[n - 1] == 0x0A, b[n - 2] == 0x0A { return n - 1 }
        if n > contentStart, b[n - 1] != 0x0A, !leavesUnfinishedLast(messageOffset) {
            log.add(file: name, offset: b.offset + Int64(n), "the last message does not end with a newline (truncated?); kept as it is")
        }
        return n
    }

    /// Trusts a Content-Length header when the body it counts ends at a separator or the end of
    /// the stream.
    private func contentLengthEnd(contentStart: Int, messageOffset: Int64) throws -> (end: Int, next: Int)? {
        let b = buffer
        // The header block must be in the window to read it.
        var headerEnd: Int?
        var from = contentStart
        while headerEnd == nil {
            if b.count > contentStart, b[contentStart] == 0x0A || (b[contentStart] == 0x0D && b.count > contentStart + 1 && b[contentStart + 1] == 0x0A) {
                headerEnd = contentStart
                break
            }
            if let q = b.index(of: "\n\n", from: from) { headerEnd = q + 1; break }
            if let q = b.index(of: "\n\r\n", from: from) { headerEnd = q + 1; break }
            from = max(contentStart, b.count - 3)
            if !(try b.readMore()) { return nil }
        }
        guard let headerEnd else { return nil }
        let extracted = MboxMetadataHeaders.extract(b.slice(contentStart, headerEnd + 2 <= b.count ? headerEnd + 2 : b.count))
        guard let length = extracted.contentLength else {
            if let value = extracted.unusableContentLength {
                log.add(file: name, offset: messageOffset, "Content-Length \"\(DiagnosticFormat.excerpt(String(decoding: value, as: UTF8.self), limit: 24))\" is not a byte count; splitting by From_ lines instead")
            }
            return nil
        }
        let bodyStart = contentStart + extracted.bodyStart
        let limit = 1 << 31
        if length > limit {
            log.add(file: name, offset: messageOffset, "Content-Length \(length) is implausible; splitting by From_ lines instead")
            return nil
        }
        let end = bodyStart + length
        try b.ensure(end + 8)
        let n = b.count
        if end == n { return (end, end) }
        if end < n, b[end] == 0x0A {
            if end + 1 == n { return (end, n) }
            if b.hasPrefix("From ", at: end + 1) { return (end, end + 1) }
        }
        if end + 1 < n, b[end] == 0x0D, b[end + 1] == 0x0A {
            if end + 2 == n { return (end, n) }
            if b.hasPrefix("From ", at: end + 2) { return (end, end + 2) }
        }
        log.add(file: name, offset: messageOffset,
                "Content-Length \(length) does not end at a message boundary; splitting by From_ lines instead")
        return nil
    }

    /// Turns the raw bytes between two separators into a message: metadata headers out,
    /// quoting undone, copying only when one of those changes something.
    private func emit(fromLine: [UInt8], parsed: FromLine, raw: UnsafeRawBufferPointer, offset: Int64, lengthDelimited: Bool,
                      scratch: inout [UInt8], _ body: (MessageMetadata, UnsafeRawBufferPointer) throws -> Void) throws {
        let extracted = MboxMetadataHeaders.extract(raw)
        let (flags, isNew) = MboxMetadataHeaders.flags(extracted)
        let unusable = MboxMetadataHeaders.unusableKeywords(extracted)
        if !unusable.isEmpty {
            log.add(file: name, offset: offset, "\(unusable.count) keyword\(unusable.count == 1 ? "" : "s") left out, not a name IMAP allows (a control character or one of (){%*\"\\]): \(MessageMetadata.listed(unusable))")
        }
        var meta = MessageMetadata(folder: folder, flags: flags, keywords: MboxMetadataHeaders.keywords(extracted),
                                   isNew: isNew, received: parsed.time,
                                   fromLine: fromLine, source: name, sourceOffset: offset)
        var cuts: [Range<Int>] = []
        let headerCuts = extracted.ranges
        if let first = headerCuts.first {
            var kept: [UInt8] = []
            for r in headerCuts { kept.append(contentsOf: raw[r]) }
            meta.mboxHeaders = kept
            meta.mboxHeadersOffset = first.lowerBound
            cuts = headerCuts
        }
        let unquotes = fromLine.withUnsafeBytes { dialect.unquotes(fromLine: $0, mozillaStatus: extracted.mozillaStatus != nil) }
        meta.quotedAsMboxo = !lengthDelimited && !unquotes
        if !lengthDelimited, unquotes {
            FromLineScan.forEach(in: raw) { start, depth in
                if depth > 0 { cuts.append(start..<(start + 1)) }
            }
        }
        if cuts.isEmpty {
            try handOver(meta, raw, scratch: &scratch, body)
            return
        }
        cuts.sort { $0.lowerBound < $1.lowerBound }
        scratch.removeAll(keepingCapacity: true)
        var at = 0
        for cut in cuts where cut.lowerBound >= at {
            scratch.append(contentsOf: raw[at..<cut.lowerBound])
            at = cut.upperBound
        }
        scratch.append(contentsOf: raw[at...])
        if lineEnds.enabled { scratch.withUnsafeMutableBytes(LineEndSwap.swap) }
        try handOver(meta, nil, scratch: &scratch, body)
    }

    /// Gives a message to `body`: `content`, or (nil) what `scratch` holds, its line ends
    /// swapped back first in a lone-CR file.
    private func handOver(_ meta: MessageMetadata, _ content: UnsafeRawBufferPointer?, scratch: inout [UInt8],
                          _ body: (MessageMetadata, UnsafeRawBufferPointer) throws -> Void) throws {
        if let content, !lineEnds.enabled { return try body(meta, content) }
        var meta = meta
        if lineEnds.enabled {
            meta.fromLine?.withUnsafeMutableBytes(LineEndSwap.swap)
            meta.mboxHeaders?.withUnsafeMutableBytes(LineEndSwap.swap)
            if let content {
                scratch.removeAll(keepingCapacity: true)
                scratch.append(contentsOf: content)
                scratch.withUnsafeMutableBytes(LineEndSwap.swap)
            }
        }
        try scratch.withUnsafeBytes { try body(meta, $0) }
        if scratch.capacity > 64 << 20 { scratch = [] }
    }
}

extension MboxReader {
    /// Opens the mbox file at `path` (`-` for stdin) to read it as other programs expect.
    ///
    /// A file is read under a shared `fcntl` lock (see `MailboxLock`), so a delivery agent or
    /// client that locks waits until it has been read, and mailkeep waits for one that is
    /// writing; where the file system has no locks, a note says so. A writer that does not
    /// lock may still be adding a message when the read reaches the end, and no byte pattern
    /// tells: the empty line that closes a message also closes its header. So the last message
    /// counts as complete only when the file did not change while it was read and has been
    /// quiet for a second since its last change (waited for when the change is more recent).
    /// Otherwise it is left for the next run, which finds it whole: never a truncated copy
    /// beside the full one. A file cut short long ago keeps its last message (reported).
    ///
    /// With `dialect` auto, the `mbox` file of an Apple Mail package (`Name.mbox/mbox`) is read
    /// as mboxo, as Apple Mail writes it.
    public static func opening(_ path: String, folder: [String] = [], dialect: MboxDialect = .auto, log: WarningLog) throws -> MboxReader {
        if path == "-" { return MboxReader(try openSource(path), folder: folder, dialect: dialect, log: log) }
        let file = try FileHandleFD.open(reading: path)
        if !(try MailboxLock.lock(file.fd, path: path, exclusive: false)) {
            log.notice(file: path, "the file system has no fcntl locks; read without a lock")
        }
        var before = stat()
        guard fstat(file.fd, &before) == 0 else { throw ioError(path, "stat") }
        let source = try openDecompressed(file, threads: 0)
        (source as? EndCheckedSource)?.keepsEndCheckApart = true
        let reader = MboxReader(source, folder: folder, dialect: dialect == .auto && isAppleMailPackage(path) ? .mboxo : dialect, log: log)
        reader.endChecked = source as? EndCheckedSource
        reader.endIsStillGrowing = {
            var now = stat()
            guard fstat(file.fd, &now) == 0 else { return false }
            if now.st_size != before.st_size || now.st_mtim.tv_sec != before.st_mtim.tv_sec
                || now.st_mtim.tv_nsec != before.st_mtim.tv_nsec { return true }
            // Changed within the last second: wait for a second of quiet (a writer between
            // two writes) before taking the end as final.
            for _ in 0..<12 {
                var clock = timespec()
                clock_gettime(CLOCK_REALTIME, &clock)
                let quiet = Double(clock.tv_sec - now.st_mtim.tv_sec) + Double(clock.tv_nsec - now.st_mtim.tv_nsec) / 1e9
                if quiet >= 1 { return false }
                usleep(100_000)
                var later = stat()
                guard fstat(file.fd, &later) == 0 else { return false }
                if later.st_size != now.st_size { return true }
            }
            return false
        }
        return reader
    }

    /// True for the `mbox` file inside an Apple Mail export package (`Name.mbox/mbox`).
    private static func isAppleMailPackage(_ path: String) -> Bool {
        let parts = path.split(separator: "/")
        return parts.count >= 2 && parts[parts.count - 1] == "mbox" && parts[parts.count - 2].hasSuffix(".mbox")
    }
}

/// Swaps CR and LF in what it reads, once `enabled`: lets the LF-based splitter read a lone-CR
/// mbox. The swap is its own inverse, so swapping a message back gives its exact bytes.
private final class LineEndSwap: ByteSource {
    private let inner: ByteSource
    var enabled = false
    var name: String { inner.name }

    init(_ inner: ByteSource) {
        self.inner = inner
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = try inner.read(into: buffer)
        if enabled { Self.swap(UnsafeMutableRawBufferPointer(rebasing: buffer[0..<n])) }
        return n
    }

    static func swap(_ bytes: UnsafeMutableRawBufferPointer) {
        for i in bytes.indices {
            if bytes[i] == 0x0A { bytes[i] = 0x0D } else if bytes[i] == 0x0D { bytes[i] = 0x0A }
        }
    }
}
