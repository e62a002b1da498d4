import MailKeepIO
/// One entry of a tar stream as `TarReader` accepts it: a regular file or a directory.
public struct TarEntry: Sendable, Equatable {
    public enum Kind: String, Sendable { case file, directory }
    /// Relative, with `.` and empty components removed and no trailing slash; `.` for the
    /// top directory itself (`tar -C dir .` writes it as `./`).
    public let path: String
    public let kind: Kind
    /// Content bytes; 0 for a directory.
    public let size: Int64
    /// Modification time, whole seconds since the epoch (fractions rounded down).
    public let mtime: Int64
    /// Permission bits (0o777 at most: setuid, setgid and sticky entries are refused).
    public let mode: UInt32
    /// Offset in the tar stream of the entry's first header (its pax or long-name header if it
    /// has one).
    public let headerOffset: Int64
    /// Offset in the tar stream of the first content byte.
    public let contentOffset: Int64
}

/// Reads a tar stream strictly, one entry at a time.
///
/// Understands ustar, pax extended ('x') and global ('g') headers, and GNU long names ('L'),
/// so it reads what mailkeep, GNU tar and bsdtar write. Every header checksum is verified, and a
/// stream that ends inside a header or content, or without the two zero blocks that end an
/// archive, is an error: a truncated bundle must never look complete.
///
/// Only regular files and directories are accepted. Links, devices and FIFOs, absolute paths,
/// `..` components and setuid, setgid or sticky bits are refused, naming the entry, because a
/// bundle holds only mail and anything else is an attempt to write outside the target.
public final class TarReader {
    public var name: String { input.name }
    private let input: ScanBuffer
    private var current: (path: String, remaining: Int64, padding: Int)?
    private var globalAttributes: [String: [UInt8]] = [:]
    private var ended = false
    /// Pax and long-name headers are read into memory; real ones are a few hundred bytes.
    private static let maxExtensionSize: Int64 = 1 << 20

    /// No entry is larger (1 EiB); `size + padding` and offsets then never overflow.
    static let largestSize: Int64 = 1 << 60

    public init(_ source: ByteSource) {
        input = ScanBuffer(source, chunk: 1 << 20)
    }

    /// The next entry, skipping whatever content of the previous one was not read. Nil after
    /// the end-of-archive blocks, once the rest of the stream has been checked to be zeros.
    public func next() throws -> TarEntry? {
        if ended { return nil }
        if let entry = current {
            try skip(entry.remaining + Int64(entry.padding), inside: "the content of \(entry.path)")
            current = nil
        }
        var localAttributes: [String: [UInt8]] = [:]
        var longName: [UInt8]?
        var firstHeaderOffset: Int64?
        while true {
            let headerOffset = input.offset
            guard try input.ensure(TarHeader.blockSize) >= TarHeader.blockSize else {
                let reason = input.available.isEmpty
                    ? "tar stream ends without the end-of-archive blocks"
                    : "tar stream ends inside a header"
                throw MailKeepError.malformed(path: name, offset: headerOffset, reason: reason)
            }
            let header = Array(input.available.prefix(TarHeader.blockSize))
            if header.allSatisfy({ $0 == 0 }) {
                if firstHeaderOffset != nil {
                    throw MailKeepError.malformed(path: name, offset: headerOffset, reason: "end of archive right after an extended header")
                }
                input.consume(TarHeader.blockSize)
                try readEndOfArchive()
                return nil
            }
            try verifyChecksum(header, at: headerOffset)
            input.consume(TarHeader.blockSize)
            firstHeaderOffset = firstHeaderOffset ?? headerOffset
            let size = try number(header[TarHeader.size], field: "size", at: headerOffset)
            // Base-256 can say anything: a size below zero or near Int64.max is no size, and
            // refusing it here keeps every later sum (content plus padding) from overflowing.
            guard (0...Self.largestSize).contains(size) else {
                throw MailKeepError.malformed(path: name, offset: headerOffset, reason: "size field \(size) is not a size")
            }

            switch header[TarHeader.typeflag] {
            case UInt8(ascii: "x"):
                try localAttributes.merge(paxAttributes(readExtension(size, at: headerOffset), at: headerOffset)) { $1 }
                continue
            case UInt8(ascii: "g"):
                try globalAttributes.merge(paxAttributes(readExtension(size, at: headerOffset), at: headerOffset)) { $1 }
                continue
            case UInt8(ascii: "L"):
                longName = Array(try readExtension(size, at: headerOffset).prefix { $0 != 0 })
                continue
            case UInt8(ascii: "K"):
                // A long link target; the link entry it belongs to is refused below.
                _ = try readExtension(size, at: headerOffset)
                continue
            default:
                break
            }

            let attributes = globalAttributes.merging(localAttributes) { $1 }
            let rawPath = attributes["path"] ?? longName ?? Self.ustarName(header)
            guard let path = String(validating: rawPath, as: UTF8.self) else {
                throw MailKeepError.malformed(path: name, offset: headerOffset, reason: "entry name is not valid UTF-8")
            }
            func refuse(_ reason: String) -> MailKeepError {
                .unsafeEntry(path: DiagnosticFormat.member(path, of: name), offset: headerOffset, reason: reason)
            }
            let kind: TarEntry.Kind
            switch header[TarHeader.typeflag] {
            case UInt8(ascii: "0"), 0: kind = .file
            case UInt8(ascii: "5"): kind = .directory
            case let flag: throw refuse("\(Self.describe(typeflag: flag)) entries are not accepted")
            }
            let parts: [Substring]
            switch TarPath.components(of: path) {
            case let .failure(refusal): throw refuse(refusal.reason)
            case let .success(components): parts = components
            }
            if parts.isEmpty && kind == .file { throw refuse("empty path") }
            if attributes.keys.contains(where: { $0.hasPrefix("GNU.sparse.") }) {
                throw refuse("sparse file entries are not accepted")
            }
            let mode = try number(header[TarHeader.mode], field: "mode", at: headerOffset)
            if mode & 0o7000 != 0 {
                throw refuse("setuid, setgid or sticky mode \(String(mode & 0o7777, radix: 8)) is not accepted")
            }
            let entrySize = try attributes["size"].map { try paxInteger($0, key: "size", at: headerOffset) } ?? size
            let mtime = try attributes["mtime"].map { try paxInteger($0, key: "mtime", at: headerOffset) }
                ?? number(header[TarHeader.mtime], field: "mtime", at: headerOffset)
            guard entrySize >= 0 else {
                throw MailKeepError.malformed(path: name, offset: headerOffset, reason: "negative size for entry \"\(path)\"")
            }
            guard entrySize <= Self.largestSize else {
                throw MailKeepError.malformed(path: name, offset: headerOffset, reason: "size \(entrySize) of entry \"\(path)\" is beyond any archive")
            }
            if kind == .directory && entrySize != 0 {
                throw MailKeepError.malformed(path: name, offset: headerOffset, reason: "directory entry \"\(path)\" has content")
            }
            let entry = TarEntry(path: parts.isEmpty ? "." : parts.joined(separator: "/"), kind: kind, size: entrySize,
                                 mtime: mtime, mode: UInt32(mode & 0o777),
                                 headerOffset: firstHeaderOffset ?? headerOffset, contentOffset: input.offset)
            current = (entry.path, entrySize, TarHeader.padding(after: entrySize))
            return entry
        }
    }

    /// Reads the current entry's content; 0 once it has all been read.
    public func readContent(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let entry = current, entry.remaining > 0, buffer.count > 0 else { return 0 }
        let limit = Int(min(Int64(buffer.count), entry.remaining))
        let n = try input.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<limit]))
        if n == 0 {
            throw MailKeepError.malformed(path: name, offset: input.offset, reason: "tar stream ends inside the content of \(entry.path)")
        }
        current?.remaining -= Int64(n)
        return n
    }

    /// Skips the rest of the current entry's content.
    public func skipContent() throws {
        guard let entry = current else { return }
        try skip(entry.remaining, inside: "the content of \(entry.path)")
        current?.remaining = 0
    }

    private func skip(_ count: Int64, inside context: String) throws {
        var remaining = count
        while remaining > 0 {
            guard try input.refillIfEmpty() else {
                throw MailKeepError.malformed(path: name, offset: input.offset, reason: "tar stream ends inside \(context)")
            }
            let n = Int(min(Int64(input.available.count), remaining))
            input.consume(n)
            remaining -= Int64(n)
        }
    }

    /// After the first zero block: the second one, then nothing but zeros (GNU tar pads to a
    /// 10 KiB record) up to the end of the stream.
    private func readEndOfArchive() throws {
        let secondOffset = input.offset
        guard try input.ensure(TarHeader.blockSize) >= TarHeader.blockSize else {
            throw MailKeepError.malformed(path: name, offset: secondOffset, reason: "tar stream ends after a single end-of-archive block")
        }
        if !input.available.prefix(TarHeader.blockSize).allSatisfy({ $0 == 0 }) {
            throw MailKeepError.malformed(path: name, offset: secondOffset, reason: "lone zero block in the middle of the tar stream")
        }
        while try input.refillIfEmpty() {
            if let index = input.available.firstIndex(where: { $0 != 0 }) {
                throw MailKeepError.malformed(path: name, offset: input.offset + Int64(index), reason: "data after the end of the tar archive")
            }
            input.consume(input.available.count)
        }
        ended = true
    }

    /// The content of a pax or long-name header, with its padding skipped.
    private func readExtension(_ size: Int64, at headerOffset: Int64) throws -> [UInt8] {
        guard size <= Self.maxExtensionSize else {
            throw MailKeepError.malformed(path: name, offset: headerOffset, reason: "extended header of \(size) bytes is too large")
        }
        var bytes = [UInt8](repeating: 0, count: Int(size))
        var filled = 0
        while filled < bytes.count {
            let n = try bytes.withUnsafeMutableBytes { try input.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[filled...])) }
            if n == 0 {
                throw MailKeepError.malformed(path: name, offset: input.offset, reason: "tar stream ends inside an extended header")
            }
            filled += n
        }
        try skip(Int64(TarHeader.padding(after: size)), inside: "an extended header")
        return bytes
    }

    private func verifyChecksum(_ header: [UInt8], at offset: Int64) throws {
        let stored = try number(header[TarHeader.checksum], field: "checksum", at: offset)
        let matches = header.withUnsafeBytes {
            stored == TarHeader.checksum($0) || stored == TarHeader.signedChecksum($0)
        }
        if !matches {
            throw MailKeepError.malformed(path: name, offset: offset, reason: "tar header checksum mismatch")
        }
    }

    /// A numeric header field: octal digits (leading spaces allowed, ended by NUL or space), or
    /// GNU's base-256 form (first byte 0x80 for positive, 0xFF for negative) for large values.
    private func number(_ field: ArraySlice<UInt8>, field fieldName: String, at offset: Int64) throws -> Int64 {
        let bad = MailKeepError.malformed(path: name, offset: offset, reason: "invalid \(fieldName) field in tar header")
        guard let first = field.first else { throw bad }
        if first & 0x80 != 0 {
            guard first == 0x80 || first == 0xFF else { throw bad }
            let negative = first == 0xFF
            var value: Int64 = negative ? -1 : 0
            for (index, byte) in field.enumerated() {
                let digit = index == 0 ? (negative ? byte : 0) : byte
                guard value >= Int64.min >> 8, value <= Int64.max >> 8 else { throw bad }
                value = value << 8 | Int64(digit)
            }
            return value
        }
        var digits = field.drop { $0 == 0x20 }
        if let end = digits.firstIndex(where: { $0 == 0 || $0 == 0x20 }) {
            guard digits[end...].allSatisfy({ $0 == 0 || $0 == 0x20 }) else { throw bad }
            digits = digits[..<end]
        }
        var value: Int64 = 0
        for byte in digits {
            guard (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(byte), value <= Int64.max >> 3 else { throw bad }
            value = value << 3 | Int64(byte - UInt8(ascii: "0"))
        }
        return value
    }

    /// A pax number: decimal, optionally with a fraction (times have one), rounded down.
    private func paxInteger(_ value: [UInt8], key: String, at offset: Int64) throws -> Int64 {
        let text = String(decoding: value, as: UTF8.self)
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = Int64(parts[0]),
              parts.count == 1 || (!parts[1].isEmpty && parts[1].allSatisfy({ ("0"..."9").contains($0) }))
        else {
            throw MailKeepError.malformed(path: name, offset: offset, reason: "invalid pax \(key) \"\(text)\"")
        }
        let hasFraction = parts.count == 2 && parts[1].contains { $0 != "0" }
        guard text.hasPrefix("-") && hasFraction else { return whole }
        guard whole > Int64.min else {
            throw MailKeepError.malformed(path: name, offset: offset, reason: "pax \(key) \"\(text)\" is out of range")
        }
        return whole - 1
    }

    /// Pax records, "<length> <key>=<value>\n" each.
    private func paxAttributes(_ data: [UInt8], at offset: Int64) throws -> [String: [UInt8]] {
        let bad = MailKeepError.malformed(path: name, offset: offset, reason: "malformed pax extended header")
        var attributes: [String: [UInt8]] = [:]
        var start = 0
        while start < data.count {
            guard let space = data[start...].firstIndex(of: 0x20),
                  space > start, space - start <= 9,
                  data[start..<space].allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
                  let length = Int(String(decoding: data[start..<space], as: UTF8.self)),
                  length > space - start + 1, start + length <= data.count,
                  data[start + length - 1] == UInt8(ascii: "\n")
            else { throw bad }
            let record = data[(space + 1)..<(start + length - 1)]
            guard let equals = record.firstIndex(of: UInt8(ascii: "=")) else { throw bad }
            attributes[String(decoding: record[..<equals], as: UTF8.self)] = Array(record[(equals + 1)...])
            start += length
        }
        return attributes
    }

    /// The ustar name: the prefix field, a slash and the name field, when the header is POSIX
    /// ustar (GNU's format uses the prefix field's bytes for other things).
    private static func ustarName(_ header: [UInt8]) -> [UInt8] {
        let name = header[TarHeader.name].prefix { $0 != 0 }
        guard header[TarHeader.magic].elementsEqual(TarHeader.ustarMagic) else { return Array(name) }
        let prefix = header[TarHeader.prefix].prefix { $0 != 0 }
        return prefix.isEmpty ? Array(name) : Array(prefix) + [UInt8(ascii: "/")] + Array(name)
    }

    private static func describe(typeflag: UInt8) -> String {
        switch typeflag {
        case UInt8(ascii: "1"): return "hard link"
        case UInt8(ascii: "2"): return "symbolic link"
        case UInt8(ascii: "3"): return "character device"
        case UInt8(ascii: "4"): return "block device"
        case UInt8(ascii: "6"): return "FIFO"
        case UInt8(ascii: "7"): return "contiguous file"
        case UInt8(ascii: "S"): return "GNU sparse file"
        case UInt8(ascii: "V"): return "volume label"
        case UInt8(ascii: "M"): return "multi-volume continuation"
        case 0x21...0x7E: return "type '\(Character(Unicode.Scalar(typeflag)))'"
        default: return "type 0x\(String(typeflag, radix: 16))"
        }
    }
}
