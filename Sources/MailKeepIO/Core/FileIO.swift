#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A stream of bytes read in large chunks into a buffer the caller owns.
///
/// Files, stdin and decompressors all look like this, so every format reader works on all of
/// them. A return of 0 means the end of the stream.
public protocol ByteSource: AnyObject {
    /// A name for error messages: the file's path, or `-` for stdin.
    var name: String { get }
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

/// Where bytes go: a file, stdout, or a compressor in front of one of those.
public protocol ByteSink: AnyObject {
    var name: String { get }
    func write(_ bytes: UnsafeRawBufferPointer) throws
    /// Flushes buffered bytes (compressors finish their stream); does not close the file.
    func flush() throws
}

extension ByteSink {
    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }
    public func write(_ string: String) throws {
        var string = string
        try string.withUTF8 { try write(UnsafeRawBufferPointer($0)) }
    }
}

/// An open file descriptor. Closes itself when released unless it is stdin or stdout.
public final class FileHandleFD: ByteSource, ByteSink {
    public let fd: Int32
    public let name: String
    private let owned: Bool

    public init(fd: Int32, name: String, owned: Bool) {
        self.fd = fd
        self.name = name
        self.owned = owned
    }

    deinit {
        if owned { _ = Glibc.close(fd) }
    }

    public static func standardInput() -> FileHandleFD { FileHandleFD(fd: 0, name: "-", owned: false) }
    public static func standardOutput() -> FileHandleFD { FileHandleFD(fd: 1, name: "-", owned: false) }
    public static func standardError() -> FileHandleFD { FileHandleFD(fd: 2, name: "stderr", owned: false) }

    /// Opens an existing file for reading. Refuses to follow a symlink in the last component
    /// when `followLinks` is false, so a hostile tree cannot make mailkeep read `/etc/shadow`.
    public static func open(reading path: String, followLinks: Bool = true) throws -> FileHandleFD {
        var flags = O_RDONLY | O_CLOEXEC
        if !followLinks { flags |= O_NOFOLLOW }
        let fd = retryingEINTR { Glibc.open(path, flags) }
        guard fd >= 0 else { throw ioError(path, "open") }
        return FileHandleFD(fd: fd, name: path, owned: true)
    }

    /// Creates a new private file (0600 whatever the umask). Fails if it exists.
    /// Creates `path` (0600), given to `owner` when there is one (see `FileOwner`).
    public static func create(_ path: String, exclusive: Bool = true, owner: FileOwner? = nil) throws -> FileHandleFD {
        var flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW
        flags |= exclusive ? O_EXCL : O_TRUNC
        let fd = retryingEINTR { Glibc.open(path, flags, 0o600) }
        guard fd >= 0 else { throw ioError(path, "create") }
        if umaskClearsOwnerBits { _ = fchmod(fd, 0o600) }
        let file = FileHandleFD(fd: fd, name: path, owned: true)
        try owner?.apply(fd: fd, path: path)
        return file
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard buffer.count > 0 else { return 0 }
        let n = retryingEINTR { Glibc.read(fd, buffer.baseAddress, buffer.count) }
        guard n >= 0 else { throw ioError(name, "read") }
        return n
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard writeAll(fd, bytes) else { throw ioError(name, "write") }
    }

    public func flush() throws {}

    public func sync() throws {
        guard fsync(fd) == 0 || errno == EINVAL || errno == EROFS else { throw ioError(name, "fsync") }
    }

    /// Sets access and modification time, whole seconds.
    public func setModificationTime(_ seconds: Int64) throws {
        guard setFileTimes(fd, seconds) else { throw ioError(name, "set mtime") }
    }

    public func size() throws -> Int64 {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw ioError(name, "stat") }
        return Int64(st.st_size)
    }

    /// Reads the whole rest of the file into a new array (for small files: manifests, headers).
    public func readAll(limit: Int = 1 << 30) throws -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = try chunk.withUnsafeMutableBytes { try read(into: $0) }
            if n == 0 { return out }
            out.append(contentsOf: chunk[0..<n])
            if out.count > limit {
                throw MailKeepError.malformed(path: name, offset: Int64(limit), reason: "file larger than \(limit) bytes")
            }
        }
    }
}

/// Files are created 0600; only a umask that takes away the owner's own bits (rare) makes a
/// second call to put them back worth its cost.
package let umaskClearsOwnerBits: Bool = {
    let current = umask(0o077)
    umask(current)
    return current & 0o600 != 0
}()

/// Writes all of `bytes` to `fd`, retrying after signals; false (errno set) on failure.
package func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
    var offset = 0
    while offset < bytes.count {
        let n = retryingEINTR { Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset) }
        if n < 0 { return false }
        offset += n
    }
    return true
}

/// Sets a file's access and modification time to `seconds`; false (errno set) on failure.
/// Nothing is allocated: it runs once per message written.
package func setFileTimes(_ fd: Int32, _ seconds: Int64) -> Bool {
    var times = (timespec(tv_sec: Int(seconds), tv_nsec: 0), timespec(tv_sec: Int(seconds), tv_nsec: 0))
    return withUnsafePointer(to: &times) { $0.withMemoryRebound(to: timespec.self, capacity: 2) { futimens(fd, $0) } } == 0
}

/// Runs a system call again while a signal interrupts it: the one place that knows about EINTR.
@inline(__always)
package func retryingEINTR<Result: BinaryInteger>(_ call: () -> Result) -> Result {
    while true {
        let r = call()
        if r >= 0 || errno != EINTR { return r }
    }
}

/// Buffers small writes into large ones: mbox and tar writers emit many small pieces.
public final class BufferedSink: ByteSink {
    private let inner: ByteSink
    private var buffer: UnsafeMutableRawBufferPointer
    private var used = 0
    public var name: String { inner.name }

    public init(_ inner: ByteSink, capacity: Int = 1 << 20) {
        self.inner = inner
        buffer = .allocate(byteCount: capacity, alignment: 16)
    }
    deinit { buffer.deallocate() }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        if used + bytes.count > buffer.count {
            try drain()
            if bytes.count >= buffer.count {
                try inner.write(bytes)
                return
            }
        }
        if bytes.count > 0 {
            (buffer.baseAddress! + used).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
            used += bytes.count
        }
    }

    /// Writes out what is buffered without flushing the sink behind (which, for a
    /// compressor, would end its stream).
    public func drain() throws {
        if used > 0 {
            try inner.write(UnsafeRawBufferPointer(rebasing: buffer[0..<used]))
            used = 0
        }
    }

    public func flush() throws {
        try drain()
        try inner.flush()
    }
}

/// Counts what passes through, for summaries and manifests.
public final class CountingSink: ByteSink {
    private let inner: ByteSink
    public private(set) var count: Int64 = 0
    public var name: String { inner.name }
    public init(_ inner: ByteSink) { self.inner = inner }
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        try inner.write(bytes)
        count += Int64(bytes.count)
    }
    public func flush() throws { try inner.flush() }
}

/// Reads whole files (one message each) into one reused buffer.
public final class WholeFileReader {
    private var storage: UnsafeMutableRawBufferPointer = .allocate(byteCount: 1 << 20, alignment: 64)
    public init() {}
    deinit { storage.deallocate() }

    /// The file's bytes, valid until the next call, and its modification time. Symlinks are not
    /// followed.
    /// A symlink fails with ELOOP and anything but a regular file with `.refused`, without
    /// blocking on a FIFO.
    public func load(_ path: String) throws -> (bytes: UnsafeRawBufferPointer, mtime: Int64) {
        let fd = retryingEINTR { Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK) }
        guard fd >= 0 else { throw ioError(path, "open") }
        let file = FileHandleFD(fd: fd, name: path, owned: true)
        var st = stat()
        guard fstat(file.fd, &st) == 0 else { throw ioError(path, "stat") }
        guard st.st_mode & S_IFMT == S_IFREG else {
            let what = switch st.st_mode & S_IFMT {
            case S_IFDIR: "a directory"
            case S_IFIFO: "a FIFO"
            case S_IFSOCK: "a socket"
            case S_IFCHR, S_IFBLK: "a device"
            default: "not a regular file"
            }
            throw MailKeepError.refused(path: path, reason: "\(what), not a message file; skipped")
        }
        let size = Int(st.st_size)
        if size + 1 > storage.count {
            storage.deallocate()
            storage = .allocate(byteCount: max(size + 1, storage.count * 2), alignment: 64)
        } else if storage.count > 64 << 20 && size < 1 << 20 {
            storage.deallocate()
            storage = .allocate(byteCount: 1 << 20, alignment: 64)
        }
        // Stop at the size fstat gave: a delivered message never changes, and one more read
        // per file to see the end is a syscall per message. A file that shrank ends early.
        var total = 0
        while total < size {
            if total == storage.count {
                let grown = UnsafeMutableRawBufferPointer.allocate(byteCount: storage.count * 2, alignment: 64)
                grown.copyMemory(from: UnsafeRawBufferPointer(storage))
                storage.deallocate()
                storage = grown
            }
            let n = try file.read(into: UnsafeMutableRawBufferPointer(rebasing: storage[total...]))
            if n == 0 { break }
            total += n
        }
        return (UnsafeRawBufferPointer(rebasing: storage[0..<total]), Int64(st.st_mtim.tv_sec))
    }
}

/// Collects bytes in memory (small things: a manifest, a probe of a tar header).
public final class ByteArraySink: ByteSink {
    public let name: String
    public private(set) var bytes: [UInt8] = []
    public init(name: String = "memory") { self.name = name }
    public func write(_ b: UnsafeRawBufferPointer) throws { bytes.append(contentsOf: b) }
    public func flush() throws {}
}
