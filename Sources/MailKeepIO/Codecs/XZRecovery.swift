import CLZMA
#if canImport(Glibc)
import Glibc
#endif

/// Bytes that can be read at any offset: a file, or a volume set with holes where volumes are
/// missing (reading a hole throws, naming the missing volume).
public protocol RandomAccessSource: AnyObject {
    var name: String { get }
    func size() throws -> Int64
    /// Up to `buffer.count` bytes at `offset`; fewer only at the end.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int
    /// The first readable offset at or after `offset` (past a hole).
    func readable(from offset: Int64) -> Int64
}

extension RandomAccessSource {
    public func readable(from offset: Int64) -> Int64 { offset }
}

extension FileHandleFD: RandomAccessSource {
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        var total = 0
        while total < buffer.count {
            let n = retryingEINTR { Glibc.pread(fd, buffer.baseAddress! + total, buffer.count - total, off_t(offset) + off_t(total)) }
            if n < 0 { throw ioError(name, "read") }
            if n == 0 { break }
            total += n
        }
        return total
    }
}

/// One xz block as found by walking block headers from the start of the file, for reading an
/// xz file whose end (index, footer) is lost or whose middle is damaged.
public struct XZFoundBlock: Sendable {
    /// File offset of the block header.
    public let compressedOffset: Int64
    /// Where the next block (or the index) starts, when the header records the block's
    /// compressed size or the block was decoded; nil when neither.
    public var compressedEnd: Int64?
    /// The uncompressed bytes the header records, if it does (`xz -T` and mailkeep write it).
    public let uncompressedSize: Int64?
    /// Offset of the block's first byte in the uncompressed stream; nil when a damaged block
    /// before it had no recorded size.
    public var uncompressedOffset: Int64?
}

/// Walks an xz file block by block from its start, decoding each block on its own with its
/// integrity check verified, so that one damaged block costs only what it holds: the blocks
/// after it are found from the sizes the damaged block's header records, or, where that header
/// is itself damaged, by looking for the next valid block header (4-byte aligned, a size byte,
/// a CRC32 over the header). Used when the normal streaming decode meets damage.
public final class XZBlockWalker {
    public let source: RandomAccessSource
    public let fileSize: Int64
    /// Where the walk is: the next block header (or index) to look at.
    private var position: Int64
    private var check: lzma_check = LZMA_CHECK_NONE
    private var uncompressedPosition: Int64? = 0
    /// The largest block this walker decodes into memory.
    public static let largestBlock: Int64 = 1 << 30

    public init(_ source: RandomAccessSource) throws {
        self.source = source
        fileSize = try source.size()
        position = 0
        guard try readStreamHeader() else {
            throw MailKeepError.malformed(path: source.name, offset: 0, reason: "not an xz file (no valid stream header)")
        }
    }

    /// What `next` found: a block and its content, or a damaged stretch of the file.
    public enum Step {
        case block(XZFoundBlock, [UInt8])
        /// `compressed` is the damaged stretch of the file; `block` what its header said, if
        /// it could be read.
        case damage(compressed: Range<Int64>, block: XZFoundBlock?, reason: String)
    }

    /// The next block, decoded and checked, or the damage before the next readable block; nil
    /// at the end of the file. `decode` false skips decoding blocks whose end the header gives
    /// (their content is then empty).
    public func next(decode: (XZFoundBlock) -> Bool = { _ in true }) -> Step? {
        while position + 12 <= fileSize {
            let start = position
            let header: [UInt8]
            do {
                header = try readBytes(at: start, count: 1)
            } catch {
                return skipDamage(from: start, reason: describe(error))
            }
            guard let first = header.first else { return skipDamage(from: start, reason: "unreadable") }
            if first == 0 {
                // The index: skip it and the stream footer, then any padding and a following stream.
                guard skipIndexAndFooter() else { return nil }
                continue
            }
            let headerSize = (Int(first) + 1) * 4
            guard let bytes = try? readBytes(at: start, count: headerSize), bytes.count == headerSize,
                  let parsed = parseHeader(bytes) else {
                return skipDamage(from: start, reason: "damaged block header")
            }
            var block = XZFoundBlock(compressedOffset: start, compressedEnd: parsed.compressedSize.map { start + Int64(headerSize) + paddedSize($0) + Int64(checkSize) },
                                     uncompressedSize: parsed.uncompressedSize, uncompressedOffset: uncompressedPosition)
            if let end = block.compressedEnd, !decode(block) {
                position = end
                advanceUncompressed(by: parsed.uncompressedSize)
                return .block(block, [])
            }
            switch decodeBlock(block, headerSize: headerSize) {
            case let .success((content, end)):
                block.compressedEnd = end
                position = end
                advanceUncompressed(by: Int64(content.count))
                return .block(block, content)
            case let .failure(error):
                let reason = describe(error)
                if let end = block.compressedEnd, end <= fileSize {
                    position = end
                    advanceUncompressed(by: parsed.uncompressedSize)
                    return .damage(compressed: start..<end, block: block, reason: reason)
                }
                if block.compressedEnd != nil {
                    // The block runs past the end of the file: the file is cut short here.
                    position = fileSize
                    return .damage(compressed: start..<fileSize, block: block, reason: "the file ends inside this block (cut short)")
                }
                uncompressedPosition = nil
                return skipDamage(from: start + 4, reason: reason, block: block)
            }
        }
        if position < fileSize {
            let start = position
            position = fileSize
            return .damage(compressed: start..<fileSize, block: nil, reason: "the file ends inside an xz block or the xz index (cut short)")
        }
        return nil
    }

    /// An error as a reason; one from another file (a missing volume) names that file:
    /// `NAME.003: missing volume`.
    private func describe(_ error: Error) -> String {
        guard let e = error as? MailKeepError else { return "\(error)" }
        return e.file.map { $0 == source.name ? e.reason : "\($0): \(e.reason)" } ?? e.reason
    }

    private func advanceUncompressed(by count: Int64?) {
        if let count, let at = uncompressedPosition { uncompressedPosition = at + count } else { uncompressedPosition = nil }
    }

    private var checkSize: Int { Int(lzma_check_size(check)) }

    private func paddedSize(_ size: Int64) -> Int64 { (size + 3) & ~3 }

    /// Looks for the next valid block header after `from`; what lies between is damage.
    private func skipDamage(from: Int64, reason: String, block: XZFoundBlock? = nil) -> Step {
        uncompressedPosition = nil
        var at = (from + 3) & ~3
        let chunk = 1 << 20
        while at + 12 <= fileSize {
            guard let bytes = try? readBytes(at: at, count: chunk + 1024) else {
                // A hole (missing volume): no block header can be there.
                let next = (source.readable(from: at) + 3) & ~3
                at = next > at ? next : at + Int64(chunk)
                continue
            }
            var i = 0
            while i + 8 <= bytes.count && i < chunk {
                let size = Int(bytes[i])
                if size != 0, i + (size + 1) * 4 <= bytes.count,
                   parseHeader(Array(bytes[i..<(i + (size + 1) * 4)])) != nil {
                    position = at + Int64(i)
                    return .damage(compressed: (block?.compressedOffset ?? from)..<position, block: block, reason: reason)
                }
                i += 4
            }
            at += Int64(chunk)
        }
        position = fileSize
        return .damage(compressed: (block?.compressedOffset ?? from)..<fileSize, block: block, reason: reason)
    }

    /// Reads the stream header at `position` (12 bytes: magic, flags, CRC32), setting the check.
    private func readStreamHeader() throws -> Bool {
        let bytes = try readBytes(at: position, count: 12)
        guard bytes.count == 12, bytes.starts(with: [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]), bytes[6] == 0,
              crc32(bytes[6..<8]) == littleEndian32(bytes[8..<12]) else { return false }
        check = lzma_check(rawValue: UInt32(bytes[7] & 0x0F))
        position += 12
        return true
    }

    /// Past the index and the stream footer, to the next stream if one follows.
    private func skipIndexAndFooter() -> Bool {
        // The footer's backward size says how long the index is; find the footer after it by
        // looking for its magic ("YZ") at 4-byte steps.
        var at = position
        while at + 12 <= fileSize {
            guard let footer = try? readBytes(at: at, count: 12), footer.count == 12 else { return false }
            if footer[10] == 0x59, footer[11] == 0x5A, crc32(footer[4..<10]) == littleEndian32(footer[0..<4]) {
                position = at + 12
                // Stream padding, then maybe another stream.
                while position + 4 <= fileSize, let pad = try? readBytes(at: position, count: 4), pad == [0, 0, 0, 0] { position += 4 }
                return position + 12 <= fileSize && ((try? readStreamHeader()) ?? false)
            }
            at += 4
        }
        return false
    }

    private func readBytes(at offset: Int64, count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let n = try bytes.withUnsafeMutableBytes { try source.read(into: $0, at: offset) }
        bytes.removeLast(count - n)
        return bytes
    }

    private func crc32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        Array(bytes).withUnsafeBufferPointer { lzma_crc32($0.baseAddress, $0.count, 0) }
    }

    private func littleEndian32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        bytes.reversed().reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// The sizes a valid block header records; nil when the header is not valid.
    private func parseHeader(_ bytes: [UInt8]) -> (compressedSize: Int64?, uncompressedSize: Int64?)? {
        guard bytes.count >= 8, bytes[0] != 0, bytes.count == (Int(bytes[0]) + 1) * 4,
              crc32(bytes[0..<(bytes.count - 4)]) == littleEndian32(bytes[(bytes.count - 4)...]) else { return nil }
        return bytes.withUnsafeBytes { header in XZBlockDecoding.withBlockOptions(header: header, check: check) { options in
            let compressed = options.pointee.compressed_size
            let uncompressed = options.pointee.uncompressed_size
            return (compressed == mk_LZMA_VLI_UNKNOWN ? nil : Int64(compressed),
                    uncompressed == mk_LZMA_VLI_UNKNOWN ? nil : Int64(uncompressed))
        } }
    }

    /// Decodes one block whole, its check verified; returns its content and where it ends.
    private func decodeBlock(_ block: XZFoundBlock, headerSize: Int) -> Result<([UInt8], Int64), Error> {
        func failure(_ reason: String) -> Result<([UInt8], Int64), Error> {
            .failure(MailKeepError.malformed(path: source.name, offset: block.compressedOffset, reason: reason))
        }
        guard let header = try? readBytes(at: block.compressedOffset, count: headerSize) else { return failure("unreadable") }
        var content: [UInt8] = []
        if let size = block.uncompressedSize, size <= Self.largestBlock { content.reserveCapacity(Int(size)) }
        do {
            let end = try header.withUnsafeBytes { header in
                try XZBlockDecoding.decode(header: header, check: check, dataStart: block.compressedOffset + Int64(headerSize), end: nil,
                                           read: { try source.read(into: $0, at: $1) }) { piece in
                    content.append(contentsOf: piece)
                    guard Int64(content.count) <= Self.largestBlock else {
                        throw XZBlockDecoding.Failure(reason: "xz block larger than \(Self.largestBlock >> 20) MiB")
                    }
                }
            }
            return .success((content, end))
        } catch let error as XZBlockDecoding.Failure {
            return failure(error.reason.hasPrefix("the file ends") || error.reason.hasPrefix("xz block") ? error.reason : "xz block: \(error.reason)")
        } catch {
            return .failure(error)
        }
    }
}
