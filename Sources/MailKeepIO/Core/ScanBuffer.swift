import CSystemShim
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A window onto a byte stream, read in large chunks, that format readers scan with memchr and
/// memmem without copying: the one buffered input of the library. The mbox reader scans it for
/// separators; the tar reader and the decompressors look at a few bytes before deciding what
/// they are (a tar header, an xz stream's padding), hand the rest on in large chunks, and say at
/// which stream offset something went wrong.
///
/// The window `[0, count)` starts at the first byte the reader still needs (`consume` moves it
/// on). Reading more may move the window in memory, so pointers from `bytes` must be taken again
/// after `readMore`. Memory is the chunk size plus the largest span a reader keeps unconsumed,
/// which for mail readers is one message.
public final class ScanBuffer {
    public let source: ByteSource
    private var storage: UnsafeMutableRawPointer
    private var capacity: Int
    private var lo = 0
    private var hi = 0
    private let chunk: Int
    /// Stream offset of the window's first byte.
    public private(set) var offset: Int64 = 0
    public private(set) var atEnd = false

    public init(_ source: ByteSource, chunk: Int = 4 << 20) {
        self.source = source
        self.chunk = chunk
        capacity = chunk * 2
        storage = .allocate(byteCount: capacity, alignment: 64)
    }

    deinit { storage.deallocate() }

    public var count: Int { hi - lo }
    public var start: UnsafeMutableRawPointer { storage + lo }
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: storage + lo, count: hi - lo) }

    public subscript(i: Int) -> UInt8 { storage.load(fromByteOffset: lo + i, as: UInt8.self) }

    /// Reads one more chunk. Returns false at the end of the stream.
    @discardableResult
    public func readMore() throws -> Bool {
        if atEnd { return false }
        if capacity - hi < chunk {
            if lo > 0 {
                if hi > lo { memmove(storage, storage + lo, hi - lo) }
                hi -= lo
                lo = 0
            }
            if capacity - hi < chunk {
                let newCapacity = max(capacity * 2, hi + chunk)
                let grown = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 64)
                grown.copyMemory(from: storage, byteCount: hi)
                storage.deallocate()
                storage = grown
                capacity = newCapacity
            }
        }
        let n = try source.read(into: UnsafeMutableRawBufferPointer(start: storage + hi, count: capacity - hi))
        if n == 0 {
            atEnd = true
            return false
        }
        hi += n
        return true
    }

    /// Makes at least `n` bytes available unless the stream ends first; returns the count then.
    @discardableResult
    public func ensure(_ n: Int) throws -> Int {
        while count < n, try readMore() {}
        return count
    }

    /// Drops `n` bytes from the front of the window.
    public func consume(_ n: Int) {
        precondition(n <= count)
        lo += n
        offset += Int64(n)
        if lo == hi {
            lo = 0
            hi = 0
        }
    }

    /// Shrinks the buffer back after an unusually large message, so one 500 MB message does
    /// not keep 500 MB for the rest of the run.
    public func trim() {
        let limit = chunk * 4
        guard capacity > limit, count <= chunk else { return }
        let smaller = UnsafeMutableRawPointer.allocate(byteCount: chunk * 2, alignment: 64)
        smaller.copyMemory(from: storage + lo, byteCount: count)
        storage.deallocate()
        storage = smaller
        hi = count
        lo = 0
        capacity = chunk * 2
    }

    /// Index of the first `byte` at or after `from`, within the window.
    public func index(of byte: UInt8, from: Int) -> Int? {
        guard from < count else { return nil }
        guard let p = memchr(storage + lo + from, Int32(byte), count - from) else { return nil }
        return p - UnsafeMutableRawPointer(storage + lo)
    }

    /// Index of the first occurrence of `needle` at or after `from`, within the window.
    public func index(of needle: StaticString, from: Int) -> Int? {
        guard from < count else { return nil }
        guard let p = mk_memmem(storage + lo + from, count - from, needle.utf8Start, needle.utf8CodeUnitCount) else { return nil }
        return p - UnsafeMutableRawPointer(storage + lo)
    }

    public func slice(_ from: Int, _ to: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: storage + lo + from, count: to - from)
    }

    public func hasPrefix(_ prefix: StaticString, at i: Int) -> Bool {
        let n = prefix.utf8CodeUnitCount
        guard i + n <= count else { return false }
        return memcmp(storage + lo + i, prefix.utf8Start, n) == 0
    }

    public var name: String { source.name }
    /// The window: the buffered bytes not yet consumed (valid until the next read).
    public var available: UnsafeRawBufferPointer { bytes }
    /// Nothing is buffered and the stream has ended.
    public var isAtEnd: Bool { count == 0 && atEnd }

    /// Reads when nothing is buffered. Returns false at the end of the stream.
    @discardableResult
    public func refillIfEmpty() throws -> Bool {
        count > 0 ? true : try readMore()
    }

    /// Copies buffered bytes into `destination`, or reads straight into it when nothing is
    /// buffered and it is large, so big content moves without an extra copy. 0 = end.
    public func read(into destination: UnsafeMutableRawBufferPointer) throws -> Int {
        guard destination.count > 0 else { return 0 }
        if count == 0 && destination.count >= chunk && !atEnd {
            let n = try source.read(into: destination)
            if n == 0 { atEnd = true }
            offset += Int64(n)
            return n
        }
        guard try refillIfEmpty() else { return 0 }
        let n = min(count, destination.count)
        destination.baseAddress!.copyMemory(from: storage + lo, byteCount: n)
        consume(n)
        return n
    }
}
