import CZlib
#if canImport(Glibc)
import Glibc
#endif

/// zlib's window bits for a gzip wrapper: 15-bit window, plus 16 for gzip framing.
private let gzipWindowBits: Int32 = 15 + 16

/// What zlib's return codes mean, with zlib's own message when it gave one.
private func zlibDescription(_ code: Int32, _ stream: UnsafeMutablePointer<z_stream>) -> String {
    let detail = stream.pointee.msg.map { String(cString: $0) }
    let base: String
    switch code {
    case Z_DATA_ERROR: base = "corrupt gzip data"
    case Z_MEM_ERROR: base = "out of memory"
    case Z_NEED_DICT: base = "gzip data needs a preset dictionary"
    case Z_STREAM_ERROR: base = "zlib stream error"
    case Z_VERSION_ERROR: base = "zlib version mismatch"
    default: base = "zlib error \(code)"
    }
    return detail.map { "\(base): \($0)" } ?? base
}

/// Compresses to gzip (one member) into another sink.
///
/// `flush()` finishes the gzip member (final block and trailer) and then flushes the inner
/// sink: call it once, at the end. Writing after that is an error.
public final class GzipCompressor: ByteSink {
    public var name: String { inner.name }
    /// Compressed bytes handed to the inner sink so far.
    public private(set) var compressedByteCount: Int64 = 0
    private let inner: ByteSink
    /// Allocated once and never moved: zlib keeps a back pointer to the stream.
    private let stream: UnsafeMutablePointer<z_stream>
    private let output: UnsafeMutableRawBufferPointer
    private var finished = false

    /// `level` 1 (fast) to 9 (small); -1 is zlib's default (6).
    public init(_ inner: ByteSink, level: Int32 = Z_DEFAULT_COMPRESSION) throws {
        self.inner = inner
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        output = .allocate(byteCount: codecBufferSize, alignment: 16)
        let status = mk_deflateInit2(stream, level, Z_DEFLATED, gzipWindowBits, 8, Z_DEFAULT_STRATEGY)
        guard status == Z_OK else {
            throw MailKeepError.refused(path: inner.name, reason: "cannot start the gzip encoder (level \(level)): \(zlibDescription(status, stream))")
        }
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
        output.deallocate()
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        if finished {
            throw MailKeepError.refused(path: inner.name, reason: "write after the gzip stream was finished")
        }
        // avail_in is 32-bit: feed large writes in slices.
        var rest = bytes
        while !rest.isEmpty {
            let slice = UnsafeRawBufferPointer(rebasing: rest.prefix(1 << 30))
            try code(slice, flush: Z_NO_FLUSH)
            rest = UnsafeRawBufferPointer(rebasing: rest.dropFirst(slice.count))
        }
    }

    /// Finishes the gzip member and flushes the inner sink.
    public func flush() throws {
        if !finished {
            try code(UnsafeRawBufferPointer(start: nil, count: 0), flush: Z_FINISH)
            finished = true
        }
        try inner.flush()
    }

    /// Feeds `input` to deflate and writes out what it produces; with Z_FINISH, keeps going
    /// until the member's trailer is out.
    private func code(_ input: UnsafeRawBufferPointer, flush: Int32) throws {
        // zlib's next_in is not const-qualified but deflate never writes through it.
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(input.count)
        while true {
            stream.pointee.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = uInt(output.count)
            let status = deflate(stream, flush)
            let produced = output.count - Int(stream.pointee.avail_out)
            if produced > 0 {
                try inner.write(UnsafeRawBufferPointer(rebasing: output[0..<produced]))
                compressedByteCount += Int64(produced)
            }
            if status == Z_STREAM_END { return }
            guard status == Z_OK || status == Z_BUF_ERROR else {
                throw MailKeepError.refused(path: inner.name, reason: "gzip encoder failed: \(zlibDescription(status, stream))")
            }
            if flush == Z_NO_FLUSH && stream.pointee.avail_in == 0 { return }
        }
    }
}

/// Reads gzip data, including several members one after the other (`cat a.gz b.gz`), which
/// `gzip -dc` accepts. Anything after the last member other than another member is an error.
public final class GzipDecompressor: ByteSource, EndCheckedSource {
    /// See `EndCheckedSource`: a member whose CRC32 or length in its trailer does not match
    /// what was decoded is then recorded and reading goes on with the next member.
    public var keepsEndCheckApart = false
    public private(set) var failedEndCheck: MailKeepError?
    private enum State { case inMember, betweenMembers, ended }

    public var name: String { input.name }
    private let input: ScanBuffer
    /// Allocated once and never moved: zlib keeps a back pointer to the stream.
    private let stream: UnsafeMutablePointer<z_stream>
    private var state = State.inMember
    private static let magic: [UInt8] = [0x1F, 0x8B]

    public init(_ source: ByteSource) throws {
        input = ScanBuffer(source, chunk: 1 << 20)
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let status = mk_inflateInit2(stream, gzipWindowBits)
        guard status == Z_OK else {
            throw MailKeepError.malformed(path: source.name, offset: 0, reason: "cannot start the gzip decoder: \(zlibDescription(status, stream))")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
    }

    private var damage = DeferredDamage()

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try damage.read { try decode(into: buffer, produced: &$0) }
    }

    private func decode(into buffer: UnsafeMutableRawBufferPointer, produced: inout Int) throws -> Int {
        guard buffer.count > 0 else { return 0 }
        while produced < buffer.count {
            try input.refillIfEmpty()
            switch state {
            case .ended:
                return produced
            case .betweenMembers:
                if input.isAtEnd {
                    state = .ended
                } else {
                    guard try input.ensure(Self.magic.count) >= Self.magic.count,
                          input.available.prefix(Self.magic.count).elementsEqual(Self.magic)
                    else {
                        throw MailKeepError.malformed(path: name, offset: input.offset, reason: "garbage after gzip stream")
                    }
                    inflateReset(stream)
                    state = .inMember
                }
            case .inMember:
                let available = input.available
                let destination = UnsafeMutableRawBufferPointer(rebasing: buffer[produced...])
                // zlib's next_in is not const-qualified but inflate never writes through it.
                stream.pointee.next_in = UnsafeMutablePointer(mutating: available.baseAddress?.assumingMemoryBound(to: Bytef.self))
                stream.pointee.avail_in = uInt(available.count)
                let room = min(destination.count, Int(UInt32.max))
                stream.pointee.next_out = destination.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.pointee.avail_out = uInt(room)
                let status = inflate(stream, Z_NO_FLUSH)
                input.consume(available.count - Int(stream.pointee.avail_in))
                produced += room - Int(stream.pointee.avail_out)
                switch status {
                case Z_STREAM_END:
                    state = .betweenMembers
                case Z_OK, Z_BUF_ERROR:
                    if input.isAtEnd && produced < buffer.count {
                        throw MailKeepError.malformed(path: name, offset: input.offset, reason: "truncated gzip stream")
                    }
                case Z_DATA_ERROR where keepsEndCheckApart && Self.isEndCheck(stream):
                    // The member's data is all decoded (and handed out); only its trailer disagrees.
                    let dataCheck = String(cString: stream.pointee.msg!) == "incorrect data check"
                    if failedEndCheck == nil {
                        failedEndCheck = .malformed(path: name, offset: input.offset, reason: zlibDescription(status, stream))
                    }
                    if dataCheck { input.consume(min(4, try input.ensure(4))) } // the length field
                    state = .betweenMembers
                case Z_MEM_ERROR:
                    throw MailKeepError.io(path: name, operation: "gzip decode", errno: ENOMEM)
                default:
                    throw MailKeepError.malformed(path: name, offset: input.offset, reason: zlibDescription(status, stream))
                }
            }
        }
        return produced
    }

    /// zlib's words for a trailer (CRC32 or ISIZE) that does not match the decoded data.
    private static func isEndCheck(_ stream: UnsafeMutablePointer<z_stream>) -> Bool {
        guard let msg = stream.pointee.msg else { return false }
        let text = String(cString: msg)
        return text == "incorrect data check" || text == "incorrect length check"
    }
}

/// A decompressor whose stream ends with a check of everything decoded (gzip's CRC32 and
/// length). With `keepsEndCheckApart` set, a failed end check does not throw: every decoded
/// byte is handed out and the failure is kept in `failedEndCheck` for the reader to report.
public protocol EndCheckedSource: AnyObject {
    var keepsEndCheckApart: Bool { get set }
    var failedEndCheck: MailKeepError? { get }
}
