import CLZMA
#if canImport(Glibc)
import Glibc
#endif

/// One xz block: where it is in the file and which uncompressed bytes it holds.
public struct XZBlock: Sendable, Equatable {
    /// File offset of the block header.
    public let compressedOffset: Int64
    /// Header, compressed data, padding and check, in bytes.
    public let totalSize: Int64
    /// Header, compressed data and check, without padding (what the index records).
    package let unpaddedSize: UInt64
    /// Offset of the block's first byte in the uncompressed file (all streams together).
    public let uncompressedOffset: Int64
    public let uncompressedSize: Int64
    /// The integrity check of the block's stream (a liblzma `lzma_check` value).
    package let check: lzma_check
}

/// The block index of an xz file, for decoding a byte range without decoding what comes
/// before it: restoring one message from a large bundle touches only the blocks that hold it.
///
/// Built from the indexes xz keeps at the end of every stream (read with liblzma's file-info
/// decoder, which seeks backwards through concatenated streams), so it needs a regular file,
/// not a pipe. Files written by the single-threaded `xz` have one block and gain nothing; those
/// written by `XZCompressor` or `xz -T` have many.
public final class XZBlockIndex {
    public let path: String
    /// In file order, which is also uncompressed order.
    public let blocks: [XZBlock]
    public let uncompressedSize: Int64
    private let file: FileHandleFD

    public init(path: String) throws {
        self.path = path
        file = try FileHandleFD.open(reading: path)
        let index = try Self.decodeIndex(file)
        defer { lzma_index_end(index, nil) }
        var iterator = lzma_index_iter()
        lzma_index_iter_init(&iterator, index)
        var blocks: [XZBlock] = []
        while lzma_index_iter_next(&iterator, LZMA_INDEX_ITER_BLOCK) == 0 {
            blocks.append(XZBlock(
                compressedOffset: Int64(iterator.block.compressed_file_offset),
                totalSize: Int64(iterator.block.total_size),
                unpaddedSize: iterator.block.unpadded_size,
                uncompressedOffset: Int64(iterator.block.uncompressed_file_offset),
                uncompressedSize: Int64(iterator.block.uncompressed_size),
                check: iterator.stream.flags.pointee.check))
        }
        self.blocks = blocks
        uncompressedSize = Int64(lzma_index_uncompressed_size(index))
    }

    /// Runs liblzma's file-info decoder over the file, serving the seeks it asks for.
    private static func decodeIndex(_ file: FileHandleFD) throws -> OpaquePointer {
        let fileSize = try file.size()
        // Both must stay at one address while the decoder runs: it writes the result through
        // `index` when it finishes, and keeps pointers into `stream`.
        let stream = UnsafeMutablePointer<lzma_stream>.allocate(capacity: 1)
        stream.initialize(to: mk_lzma_stream_init())
        let index = UnsafeMutablePointer<OpaquePointer?>.allocate(capacity: 1)
        index.initialize(to: nil)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
        defer {
            lzma_end(stream)
            stream.deallocate()
            index.deallocate()
            buffer.deallocate()
        }
        var status = lzma_file_info_decoder(stream, index, indexMemoryLimit(fileSize: fileSize), UInt64(fileSize))
        var position: Int64 = 0
        while status == LZMA_OK {
            if stream.pointee.avail_in == 0 {
                let n = try pread(file, into: buffer, at: position)
                position += Int64(n)
                stream.pointee.next_in = UnsafePointer(buffer.baseAddress!.assumingMemoryBound(to: UInt8.self))
                stream.pointee.avail_in = n
            }
            status = lzma_code(stream, LZMA_RUN)
            if status == LZMA_SEEK_NEEDED {
                position = Int64(stream.pointee.seek_pos)
                stream.pointee.avail_in = 0
                status = LZMA_OK
            }
        }
        guard status == LZMA_STREAM_END, let result = index.pointee else {
            let reason = switch status {
            case LZMA_BUF_ERROR: "truncated xz file"
            case LZMA_MEMLIMIT_ERROR: "it claims more blocks than a file of \(fileSize) bytes can hold"
            default: lzmaDescription(status)
            }
            throw MailKeepError.malformed(path: file.name, offset: position - Int64(stream.pointee.avail_in),
                                          reason: "cannot read the xz index: \(reason)")
        }
        return result
    }

    /// What liblzma may allocate for the index of a file of `fileSize` bytes. The index decoder
    /// allocates room for as many records as the index claims before it reads them, so an
    /// unbounded limit lets a 36-byte file ask for petabytes. liblzma counts about 16 bytes for
    /// every block, which takes at least 14 bytes of the file (header, data, index record), and
    /// about 350 for every stream, which takes at least 32: 32 bytes per byte of file holds any
    /// real index, twice over.
    private static func indexMemoryLimit(fileSize: Int64) -> UInt64 {
        let size = UInt64(max(fileSize, 0))
        return size > UInt64.max >> 6 ? .max : size * 32 + (1 << 20)
    }

    /// The blocks holding any of the uncompressed bytes `[offset, offset + length)`.
    public func blocks(covering offset: Int64, length: Int64) -> ArraySlice<XZBlock> {
        let end = offset + length
        var low = 0
        var high = blocks.count
        while low < high {
            let middle = (low + high) / 2
            if blocks[middle].uncompressedOffset + blocks[middle].uncompressedSize <= offset {
                low = middle + 1
            } else {
                high = middle
            }
        }
        var last = low
        while last < blocks.count && blocks[last].uncompressedOffset < end { last += 1 }
        return blocks[low..<last]
    }

    /// Writes the uncompressed bytes `[offset, offset + length)` to `sink`, decoding only the
    /// blocks that hold them. Returns how many blocks it decoded.
    @discardableResult
    /// `stoppingEarly`: decode a block only as far as the range goes, without reaching its check;
    /// for a glance at what a block begins with (a tar header), never for bytes that are used
    /// as content, as the block's check is what says they are intact.
    public func read(offset: Int64, length: Int64, into sink: ByteSink, stoppingEarly: Bool = false) throws -> Int {
        guard offset >= 0, length >= 0, offset + length <= uncompressedSize else {
            throw MailKeepError.malformed(path: path, offset: nil,
                                          reason: "range \(offset)+\(length) is outside the \(uncompressedSize) uncompressed bytes")
        }
        let covering = blocks(covering: offset, length: length)
        for block in covering {
            try decode(block, keeping: offset..<(offset + length), into: sink, stoppingEarly: stoppingEarly)
        }
        return covering.count
    }

    private func decode(_ block: XZBlock, keeping wanted: Range<Int64>, into sink: ByteSink, stoppingEarly: Bool) throws {
        func malformed(_ reason: String) -> MailKeepError {
            .malformed(path: path, offset: block.compressedOffset, reason: "xz block: \(reason)")
        }
        var header = [UInt8](repeating: 0, count: 1024)
        let headerSize = try header.withUnsafeMutableBytes { buffer -> Int in
            guard try Self.pread(file, into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<1]), at: block.compressedOffset) == 1,
                  buffer[0] != 0 else { throw malformed("missing block header") }
            let size = (Int(buffer[0]) + 1) * 4
            guard try Self.pread(file, into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<size]), at: block.compressedOffset) == size
            else { throw malformed("truncated block header") }
            return size
        }
        var produced = block.uncompressedOffset
        do {
            _ = try header.withUnsafeBytes { bytes in
                try XZBlockDecoding.decode(header: UnsafeRawBufferPointer(rebasing: bytes[0..<headerSize]), check: block.check,
                                           unpaddedSize: block.unpaddedSize, dataStart: block.compressedOffset + Int64(headerSize),
                                           end: block.compressedOffset + block.totalSize,
                                           outputLimit: stoppingEarly ? wanted.upperBound - block.uncompressedOffset : nil,
                                           read: { try Self.pread(file, into: $0, at: $1) }) { piece in
                    let chunk = produced..<(produced + Int64(piece.count))
                    let overlap = chunk.clamped(to: wanted)
                    if !overlap.isEmpty {
                        let start = Int(overlap.lowerBound - chunk.lowerBound)
                        try sink.write(UnsafeRawBufferPointer(rebasing: piece[start..<(start + overlap.count)]))
                    }
                    produced += Int64(piece.count)
                }
            }
        } catch let failure as XZBlockDecoding.Failure {
            throw malformed(failure.reason)
        }
        guard stoppingEarly || produced == block.uncompressedOffset + block.uncompressedSize else {
            throw malformed("block size disagrees with the index")
        }
    }

    private static func pread(_ file: FileHandleFD, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        var total = 0
        while total < buffer.count {
            let n = retryingEINTR { Glibc.pread(file.fd, buffer.baseAddress! + total, buffer.count - total, off_t(offset) + off_t(total)) }
            if n < 0 { throw ioError(file.name, "read") }
            if n == 0 { break }
            total += n
        }
        return total
    }
}
