/// The compression of a stream, told by its first bytes and never by a file name: a bundle
/// renamed to `.tar` or mail piped through stdin is still read correctly.
public enum Compression: String, Sendable {
    case none, gzip, xz

    /// How many leading bytes `detect` and `unsupportedFormat` look at.
    public static let prefixLength = 10

    public static func detect(_ prefix: UnsafeRawBufferPointer) -> Compression {
        if prefix.starts(with: [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]) { return .xz }
        if prefix.starts(with: [0x1F, 0x8B]) { return .gzip }
        return .none
    }

    /// Formats that are compressed but not read here, as an error message telling the user what
    /// to do; nil for anything else. Without this a `.bz2` mbox would be scanned as mail.
    package static func unsupportedFormat(_ prefix: UnsafeRawBufferPointer) -> String? {
        // bzip2: "BZh", block size digit, then the magic of a block or of the end of stream.
        if prefix.count >= 10, prefix.starts(with: Array("BZh".utf8)), (0x31...0x39).contains(prefix[3]) {
            let marker = Array(prefix[4..<10])
            if marker == [0x31, 0x41, 0x59, 0x26, 0x53, 0x59] || marker == [0x17, 0x72, 0x45, 0x38, 0x50, 0x90] {
                return "bzip2 is not supported; decompress with bunzip2 first"
            }
        }
        if prefix.starts(with: [0x28, 0xB5, 0x2F, 0xFD]) {
            return "zstd is not supported; decompress with unzstd first"
        }
        if prefix.starts(with: Array("LZIP".utf8)) {
            return "lzip is not supported; decompress with lzip -d first"
        }
        return nil
    }
}

/// A source whose first bytes can be looked at before anything is consumed, so a format can
/// be chosen from them and the chosen reader still sees the stream from its start.
public final class PeekableSource: ByteSource {
    private let inner: ByteSource
    private var peeked: [UInt8] = []
    private var peekedStart = 0
    public var name: String { inner.name }

    public init(_ inner: ByteSource) { self.inner = inner }

    /// The first `count` bytes not yet read; fewer only when the stream is shorter.
    public func peek(_ count: Int) throws -> [UInt8] {
        if peekedStart > 0 {
            peeked.removeFirst(peekedStart)
            peekedStart = 0
        }
        if peeked.count < count {
            var chunk = [UInt8](repeating: 0, count: count - peeked.count)
            var filled = 0
            while filled < chunk.count {
                let n = try chunk.withUnsafeMutableBytes {
                    try inner.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[filled...]))
                }
                if n == 0 { break }
                filled += n
            }
            peeked.append(contentsOf: chunk[0..<filled])
        }
        return Array(peeked.prefix(count))
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard peekedStart < peeked.count else { return try inner.read(into: buffer) }
        let n = min(buffer.count, peeked.count - peekedStart)
        peeked.withUnsafeBytes {
            buffer.baseAddress!.copyMemory(from: $0.baseAddress! + peekedStart, byteCount: n)
        }
        peekedStart += n
        return n
    }
}

/// `source` decompressed if its first bytes say it is gzip or xz, or `source` itself
/// (through a `PeekableSource`) otherwise. bzip2, zstd and lzip are refused with a message
/// saying how to decompress them, rather than being read as mail.
public func openDecompressed(_ source: ByteSource, threads: Int) throws -> ByteSource {
    let peekable = PeekableSource(source)
    let prefix = try peekable.peek(Compression.prefixLength)
    return try prefix.withUnsafeBytes { prefix in
        if let reason = Compression.unsupportedFormat(prefix) {
            throw MailKeepError.unrecognized(path: source.name, reason: reason)
        }
        switch Compression.detect(prefix) {
        case .xz: return try XZDecompressor(peekable, threads: threads)
        case .gzip: return try GzipDecompressor(peekable)
        case .none: return peekable
        }
    }
}
