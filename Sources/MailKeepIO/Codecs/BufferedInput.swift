/// A byte source read through one large buffer that knows the stream offset of every byte.
///
/// Decompressors and the tar reader need the same three things from their input: look at a few
/// bytes before deciding what they are (a gzip member's magic, a tar header), hand the rest on
/// in large chunks, and say at which offset something went wrong.
package final class BufferedInput {
    package let source: ByteSource
    private let buffer: UnsafeMutableRawBufferPointer
    private var start = 0
    private var end = 0
    /// Stream offset of `buffer[0]`.
    private var bufferOffset: Int64 = 0
    /// The source has returned 0.
    private(set) var sourceEnded = false

    package init(_ source: ByteSource, capacity: Int = 1 << 20) {
        self.source = source
        buffer = .allocate(byteCount: capacity, alignment: 16)
    }
    deinit { buffer.deallocate() }

    package var name: String { source.name }
    /// Stream offset of the next unconsumed byte.
    package var offset: Int64 { bufferOffset + Int64(start) }
    /// The buffered, unconsumed bytes (valid until the next call that reads).
    package var available: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: buffer[start..<end]) }
    /// Nothing is buffered and the source has ended.
    package var isAtEnd: Bool { start == end && sourceEnded }

    package func consume(_ count: Int) {
        precondition(count <= end - start, "consumed more than was buffered")
        start += count
    }

    /// Reads from the source when nothing is buffered. Returns false at the end of the source.
    @discardableResult
    package func refillIfEmpty() throws -> Bool {
        if start < end { return true }
        return try ensure(1)
    }

    /// Makes at least `count` bytes (at most the capacity) available. Returns false when the
    /// source ends first; whatever it had is then still available.
    package func ensure(_ count: Int) throws -> Bool {
        precondition(count <= buffer.count, "asked for more than the buffer holds")
        if end - start >= count { return true }
        if start > 0 {
            let kept = end - start
            if kept > 0 {
                buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + start, byteCount: kept)
            }
            bufferOffset += Int64(start)
            start = 0
            end = kept
        }
        while end - start < count && !sourceEnded {
            let n = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[end...]))
            if n == 0 { sourceEnded = true } else { end += n }
        }
        return end - start >= count
    }

    /// Copies buffered bytes into `destination`, or reads straight into it when nothing is
    /// buffered and it is large, so big content moves without an extra copy. 0 = end.
    package func read(into destination: UnsafeMutableRawBufferPointer) throws -> Int {
        guard destination.count > 0 else { return 0 }
        if start == end && destination.count >= buffer.count / 2 && !sourceEnded {
            bufferOffset += Int64(end)
            start = 0
            end = 0
            let n = try source.read(into: destination)
            if n == 0 { sourceEnded = true }
            bufferOffset += Int64(n)
            return n
        }
        guard try refillIfEmpty() else { return 0 }
        let n = min(end - start, destination.count)
        destination.baseAddress!.copyMemory(from: buffer.baseAddress! + start, byteCount: n)
        start += n
        return n
    }
}
