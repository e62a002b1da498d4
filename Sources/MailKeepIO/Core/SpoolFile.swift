#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A private scratch file that disappears with the process: created in `$TMPDIR` (or /tmp),
/// unlinked at once, written, then read back from the start.
///
/// Bundles spool their manifest and checksum list here while messages stream past, so memory
/// stays flat however many messages there are; stdin bundles are spooled here so that they can
/// be read twice.
public final class SpoolFile: ByteSink, ByteSource {
    public let name: String
    private let handle: FileHandleFD
    public private(set) var size: Int64 = 0

    public init(purpose: String) throws {
        let dir = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        var template = Array("\(dir)/mailkeep-\(purpose)-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw ioError(dir, "create a temporary file") }
        let path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        unlink(path)
        name = path
        handle = FileHandleFD(fd: fd, name: path, owned: true)
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        try handle.write(bytes)
        size += Int64(bytes.count)
    }

    public func flush() throws {}

    /// Starts reading from the beginning.
    public func rewind() throws {
        guard lseek(handle.fd, 0, SEEK_SET) == 0 else { throw ioError(name, "seek") }
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try handle.read(into: buffer)
    }

    /// Up to `buffer.count` bytes written so far, from `offset`, without moving the read position.
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        try handle.read(into: buffer, at: offset)
    }

    /// Copies everything written so far into `sink`.
    public func copy(to write: (UnsafeRawBufferPointer) throws -> Void) throws {
        try rewind()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = try read(into: buffer)
            if n == 0 { break }
            try write(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
    }
}
