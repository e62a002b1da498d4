import CLZMA
#if canImport(Glibc)
import Glibc
#endif

/// Size of the buffers between a codec and the stream next to it.
package let codecBufferSize = 1 << 20

/// What liblzma's return codes mean, for error messages.
/// Damage met by a decoder after some bytes of a read were decoded: those bytes are returned
/// first, and the error on the next read, so a reader gets everything before the damage.
struct DeferredDamage {
    private var pending: Error?

    /// Runs `decode`, which counts the bytes it has produced in its argument before it throws.
    mutating func read(_ decode: (inout Int) throws -> Int) throws -> Int {
        if let error = pending {
            pending = nil
            throw error
        }
        var produced = 0
        do {
            return try decode(&produced)
        } catch {
            guard produced > 0 else { throw error }
            pending = error
            return produced
        }
    }
}

package func lzmaDescription(_ code: lzma_ret) -> String {
    switch code {
    case LZMA_MEM_ERROR: return "out of memory"
    case LZMA_MEMLIMIT_ERROR: return "memory limit reached"
    case LZMA_FORMAT_ERROR: return "not an xz stream"
    case LZMA_OPTIONS_ERROR: return "unsupported xz options"
    case LZMA_DATA_ERROR: return "corrupt xz data"
    case LZMA_BUF_ERROR: return "truncated xz stream"
    case LZMA_UNSUPPORTED_CHECK: return "unsupported xz integrity check"
    case LZMA_PROG_ERROR: return "xz library misuse"
    default: return "xz library error \(code.rawValue)"
    }
}

/// Compresses to xz on several threads, writing into another sink.
///
/// The multi-threaded encoder cuts the input into independent blocks and records their sizes in
/// the block headers and the index; that is what lets `XZBlockIndex` decode a byte range
/// without starting at the beginning of the file. The check is CRC64, as `xz` writes by default.
///
/// `flush()` finishes the xz stream (stream footer and index) and then flushes the inner sink:
/// call it once, at the end. Writing after that is an error.
public final class XZCompressor: ByteSink {
    public struct Options: Sendable {
        /// 0 (fast) to 9 (small).
        public var preset: UInt32
        /// xz's `--extreme`: slower, slightly smaller.
        public var extreme: Bool
        /// Encoder threads; 0 means one per online core.
        public var threads: Int
        /// Uncompressed bytes per block; nil lets liblzma choose (three times the dictionary).
        /// Smaller blocks make ranged reads cheaper and compression slightly worse.
        public var blockSize: UInt64?

        public init(preset: UInt32 = 6, extreme: Bool = false, threads: Int = 0, blockSize: UInt64? = nil) {
            self.preset = preset
            self.extreme = extreme
            self.threads = threads
            self.blockSize = blockSize
        }
    }

    public var name: String { inner.name }
    /// Compressed bytes handed to the inner sink so far.
    public private(set) var compressedByteCount: Int64 = 0
    private let inner: ByteSink
    /// Allocated once and never moved: liblzma keeps pointers into the stream between calls.
    private let stream: UnsafeMutablePointer<lzma_stream>
    private let output: UnsafeMutableRawBufferPointer
    private var finished = false

    public init(_ inner: ByteSink, options: Options = Options()) throws {
        self.inner = inner
        stream = .allocate(capacity: 1)
        stream.initialize(to: mk_lzma_stream_init())
        output = .allocate(byteCount: codecBufferSize, alignment: 16)
        guard options.preset <= 9 else {
            throw MailKeepError.refused(path: inner.name, reason: "xz preset \(options.preset) is not in 0...9")
        }
        var mt = lzma_mt()
        mt.threads = UInt32(options.threads > 0 ? options.threads : max(1, Int(lzma_cputhreads())))
        mt.block_size = options.blockSize ?? 0
        mt.preset = options.preset | (options.extreme ? mk_LZMA_PRESET_EXTREME : 0)
        mt.check = LZMA_CHECK_CRC64
        let status = lzma_stream_encoder_mt(stream, &mt)
        guard status == LZMA_OK else {
            throw MailKeepError.refused(path: inner.name, reason: "cannot start the xz encoder: \(lzmaDescription(status))")
        }
    }

    deinit {
        lzma_end(stream)
        stream.deallocate()
        output.deallocate()
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        try requireOpen()
        if bytes.isEmpty { return }
        try code(bytes, action: LZMA_RUN)
    }

    /// Ends the current xz block here, so that the next byte starts a new block: a ranged read
    /// of what follows need not decode what came before, and damage before it stays there.
    /// LZMA_FULL_BARRIER rather than LZMA_FULL_FLUSH: the threaded encoder then keeps
    /// compressing earlier blocks in parallel instead of waiting for them.
    public func endBlock() throws {
        try requireOpen()
        try code(UnsafeRawBufferPointer(start: nil, count: 0), action: LZMA_FULL_BARRIER)
    }

    /// Finishes the xz stream and flushes the inner sink.
    public func flush() throws {
        if !finished {
            try code(UnsafeRawBufferPointer(start: nil, count: 0), action: LZMA_FINISH)
            finished = true
        }
        try inner.flush()
    }

    private func requireOpen() throws {
        if finished {
            throw MailKeepError.refused(path: inner.name, reason: "write after the xz stream was finished")
        }
    }

    /// Feeds `input` to the encoder and writes out what it produces. For the flush and finish
    /// actions it keeps going until liblzma reports the block or stream complete.
    private func code(_ input: UnsafeRawBufferPointer, action: lzma_action) throws {
        stream.pointee.next_in = input.baseAddress?.assumingMemoryBound(to: UInt8.self)
        stream.pointee.avail_in = input.count
        while true {
            stream.pointee.next_out = output.baseAddress!.assumingMemoryBound(to: UInt8.self)
            stream.pointee.avail_out = output.count
            let status = lzma_code(stream, action)
            let produced = output.count - stream.pointee.avail_out
            if produced > 0 {
                try inner.write(UnsafeRawBufferPointer(rebasing: output[0..<produced]))
                compressedByteCount += Int64(produced)
            }
            switch status {
            case LZMA_OK:
                if action == LZMA_RUN && stream.pointee.avail_in == 0 { return }
            case LZMA_STREAM_END:
                return
            default:
                throw MailKeepError.refused(path: inner.name, reason: "xz encoder failed: \(lzmaDescription(status))")
            }
        }
    }
}

/// Reads an xz file, decoding on several threads.
///
/// Concatenated streams (`cat a.xz b.xz`, as `xz -dc` accepts) are read one after the other;
/// the stream boundaries are handled here rather than with liblzma's LZMA_CONCATENATED flag so
/// that bytes after the last stream are reported as what they are, at their exact offset,
/// instead of as a generic data error. Between streams only stream padding (zero bytes, a
/// multiple of four) is allowed, as the xz format says.
public final class XZDecompressor: ByteSource {
    private enum State { case inStream, betweenStreams(padding: Int64), ended }

    public var name: String { input.name }
    private let input: ScanBuffer
    private let threads: UInt32
    /// Allocated once and never moved: liblzma keeps pointers into the stream between calls.
    private let stream: UnsafeMutablePointer<lzma_stream>
    private var state = State.inStream
    private static let magic: [UInt8] = [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]

    /// `threads` 0 means one per online core. The decoder falls back to a single thread if
    /// the multi-threaded one cannot start.
    public init(_ source: ByteSource, threads: Int = 0) throws {
        input = ScanBuffer(source, chunk: 1 << 20)
        self.threads = UInt32(threads > 0 ? threads : max(1, Int(lzma_cputhreads())))
        stream = .allocate(capacity: 1)
        stream.initialize(to: mk_lzma_stream_init())
        try startStream()
    }

    deinit {
        lzma_end(stream)
        stream.deallocate()
    }

    private func startStream() throws {
        var mt = lzma_mt()
        mt.threads = threads
        // Threads hold whole blocks; past this much, liblzma decodes on one thread, so a file
        // of huge blocks (one 256 MB block, say) takes no more memory than a small one. A
        // bundle's own blocks (about 1 MiB) and xz's default ones (24 MiB at -6) fit.
        // The limits only decide when to stop adding threads, never whether to fail.
        mt.memlimit_threading = 128 << 20
        mt.memlimit_stop = UInt64.max
        var status = lzma_stream_decoder_mt(stream, &mt)
        if status != LZMA_OK {
            status = lzma_stream_decoder(stream, UInt64.max, 0)
        }
        guard status == LZMA_OK else {
            throw MailKeepError.malformed(path: name, offset: input.offset, reason: "cannot start the xz decoder: \(lzmaDescription(status))")
        }
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
            case let .betweenStreams(padding):
                let zeros = input.available.prefix { $0 == 0 }.count
                input.consume(zeros)
                if input.isAtEnd {
                    guard (padding + Int64(zeros)) % 4 == 0 else {
                        throw MailKeepError.malformed(path: name, offset: input.offset, reason: "xz stream padding is not a multiple of four bytes")
                    }
                    state = .ended
                } else if !input.available.isEmpty {
                    guard (padding + Int64(zeros)) % 4 == 0,
                          try input.ensure(Self.magic.count) >= Self.magic.count,
                          input.available.prefix(Self.magic.count).elementsEqual(Self.magic)
                    else {
                        throw MailKeepError.malformed(path: name, offset: input.offset, reason: "garbage after the end of the xz stream")
                    }
                    try startStream()
                    state = .inStream
                } else {
                    state = .betweenStreams(padding: padding + Int64(zeros))
                }
            case .inStream:
                let (status, written) = try code(into: UnsafeMutableRawBufferPointer(rebasing: buffer[produced...]))
                produced += written
                switch status {
                case LZMA_OK:
                    break
                case LZMA_STREAM_END:
                    state = .betweenStreams(padding: 0)
                case LZMA_BUF_ERROR where input.isAtEnd:
                    throw MailKeepError.malformed(path: name, offset: input.offset, reason: "truncated xz stream")
                default:
                    throw MailKeepError.malformed(path: name, offset: input.offset, reason: lzmaDescription(status))
                }
            }
        }
        return produced
    }

    /// One call to liblzma: the buffered input in, as much as fits of `destination` out.
    private func code(into destination: UnsafeMutableRawBufferPointer) throws -> (lzma_ret, Int) {
        let available = input.available
        stream.pointee.next_in = available.baseAddress?.assumingMemoryBound(to: UInt8.self)
        stream.pointee.avail_in = available.count
        stream.pointee.next_out = destination.baseAddress!.assumingMemoryBound(to: UInt8.self)
        stream.pointee.avail_out = destination.count
        let status = lzma_code(stream, input.isAtEnd ? LZMA_FINISH : LZMA_RUN)
        input.consume(available.count - stream.pointee.avail_in)
        return (status, destination.count - stream.pointee.avail_out)
    }
}
