import CLZMA
#if canImport(Glibc)
import Glibc
#endif

/// One xz block through liblzma's block decoder, for the readers that go block by block: the
/// index reader (a selective read) and the damage walk (which finds blocks without an index).
enum XZBlockDecoding {
    /// Why a block could not be decoded, in words for a diagnostic.
    struct Failure: Error {
        let reason: String
    }

    /// Decodes a block header into liblzma's block options and runs `body` with them; nil when
    /// the header is not valid. The options point at the filter list, so neither outlives `body`.
    static func withBlockOptions<T>(header: UnsafeRawBufferPointer, check: lzma_check,
                                    _ body: (UnsafeMutablePointer<lzma_block>) throws -> T?) rethrows -> T? {
        let options = UnsafeMutablePointer<lzma_block>.allocate(capacity: 1)
        options.initialize(to: lzma_block())
        let filterCount = Int(LZMA_FILTERS_MAX) + 1
        let filters = UnsafeMutablePointer<lzma_filter>.allocate(capacity: filterCount)
        filters.initialize(repeating: lzma_filter(id: mk_LZMA_VLI_UNKNOWN, options: nil), count: filterCount)
        defer {
            for index in 0..<filterCount { free(filters[index].options) }
            filters.deallocate()
            options.deallocate()
        }
        options.pointee.version = 1
        options.pointee.header_size = UInt32(header.count)
        options.pointee.check = check
        options.pointee.filters = filters
        guard lzma_block_header_decode(options, nil, header.baseAddress!.assumingMemoryBound(to: UInt8.self)) == LZMA_OK else { return nil }
        return try body(options)
    }

    /// Decodes the block whose header is `header`, its check verified, handing each decoded
    /// piece to `output`. Its compressed bytes are read with `read` from just after the header
    /// (`dataStart`) up to `end` when the caller knows where the block ends (from an index:
    /// then `unpaddedSize` is checked against the header too), else until liblzma says the block
    /// is complete. Returns the offset just after the block. Throws `Failure`, or what `read`
    /// and `output` throw.
    static func decode(header: UnsafeRawBufferPointer, check: lzma_check, unpaddedSize: lzma_vli? = nil,
                       dataStart: Int64, end: Int64?, outputLimit: Int64? = nil,
                       read: (UnsafeMutableRawBufferPointer, Int64) throws -> Int,
                       output: (UnsafeRawBufferPointer) throws -> Void) throws -> Int64 {
        let input = UnsafeMutableRawBufferPointer.allocate(byteCount: codecBufferSize, alignment: 16)
        let decoded = UnsafeMutableRawBufferPointer.allocate(byteCount: codecBufferSize, alignment: 16)
        // The block decoder keeps pointers to the stream and the block options until it is
        // done, so the stream lives at a fixed heap address and the decoding runs inside the
        // closure that owns the options.
        let stream = UnsafeMutablePointer<lzma_stream>.allocate(capacity: 1)
        stream.initialize(to: mk_lzma_stream_init())
        defer {
            lzma_end(stream)
            stream.deallocate()
            decoded.deallocate()
            input.deallocate()
        }
        let after: Int64? = try withBlockOptions(header: header, check: check) { options in
            if let unpaddedSize, lzma_block_compressed_size(options, unpaddedSize) != LZMA_OK {
                throw Failure(reason: "block header disagrees with the index")
            }
            let started = lzma_block_decoder(stream, options)
            guard started == LZMA_OK else { throw Failure(reason: "cannot start the block decoder: \(lzmaDescription(started))") }
            var position = dataStart
            var total: Int64 = 0
            while true {
                if stream.pointee.avail_in == 0 && position < (end ?? .max) {
                    let wanted = Int(min(Int64(input.count), (end ?? .max) - position))
                    let n = try read(UnsafeMutableRawBufferPointer(rebasing: input[0..<wanted]), position)
                    guard n > 0 else { throw Failure(reason: "the file ends inside this block (cut short)") }
                    position += Int64(n)
                    stream.pointee.next_in = UnsafePointer(input.baseAddress!.assumingMemoryBound(to: UInt8.self))
                    stream.pointee.avail_in = n
                }
                stream.pointee.next_out = decoded.baseAddress!.assumingMemoryBound(to: UInt8.self)
                stream.pointee.avail_out = Int(min(Int64(decoded.count), (outputLimit ?? .max) - total))
                let status = lzma_code(stream, end.map { position < $0 } ?? true ? LZMA_RUN : LZMA_FINISH)
                let count = decoded.count - stream.pointee.avail_out
                if count > 0 { try output(UnsafeRawBufferPointer(rebasing: decoded[0..<count])) }
                total += Int64(count)
                // A glance at the block's start ends here, short of the block's check.
                if let outputLimit, total >= outputLimit { return position }
                if status == LZMA_STREAM_END { return position - Int64(stream.pointee.avail_in) }
                guard status == LZMA_OK else { throw Failure(reason: lzmaDescription(status)) }
            }
        }
        guard let after else { throw Failure(reason: "damaged block header") }
        return after
    }
}
