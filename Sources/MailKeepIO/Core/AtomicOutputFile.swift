#if canImport(Glibc)
import Glibc
#endif

/// A file that appears under its name only when it is complete.
///
/// Bytes go to `.NAME.partial` beside the target; `commit()` syncs it and renames it into place,
/// refusing to replace an existing file. An interrupted run leaves only the `.partial` file,
/// which the next run starts over.
///
/// With `replacing`, an existing file may be replaced, atomically: for a caller that has copied
/// every byte of it into the new one first (adding messages to an mbox).
public final class AtomicOutputFile: ByteSink {
    public let path: String
    public let partialPath: String
    /// The open partial file; after `suspend()`, a stand-in until the next write reopens it.
    public private(set) var handle: FileHandleFD
    private let replacing: Bool
    /// The partial file's device and inode, so that a reopen finds the same file.
    private var identity: (dev_t, ino_t)?
    public var name: String { path }

    public init(_ path: String, replacing: Bool = false) throws {
        if !replacing, try FileSystem.kind(path) != .missing {
            throw MailKeepError.refused(path: path, reason: "already exists; mailkeep never overwrites (remove it or choose another name)")
        }
        self.replacing = replacing
        self.path = path
        partialPath = FileSystem.join(FileSystem.directoryName(path), "." + FileSystem.baseName(path) + ".partial")
        handle = try FileHandleFD.create(partialPath, exclusive: false)
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        if identity != nil { try resume() }
        try handle.write(bytes)
    }

    public func flush() throws {}

    /// Closes the descriptor until the next write: a tree of thousands of mbox files cannot
    /// keep one open for each under a descriptor limit of 1024 (or 256).
    public func suspend() throws {
        guard identity == nil else { return }
        var st = stat()
        guard fstat(handle.fd, &st) == 0 else { throw ioError(partialPath, "stat") }
        identity = (st.st_dev, st.st_ino)
        handle = FileHandleFD(fd: -1, name: partialPath, owned: false)
    }

    /// Reopens the partial file at its end, refusing a symlink or any file but the one it was.
    private func resume() throws {
        guard let (device, inode) = identity else { return }
        let fd = retryingEINTR { open(partialPath, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC) }
        guard fd >= 0 else { throw ioError(partialPath, "reopen") }
        let file = FileHandleFD(fd: fd, name: partialPath, owned: true)
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw ioError(partialPath, "stat") }
        guard st.st_dev == device, st.st_ino == inode else {
            throw MailKeepError.refused(path: partialPath, reason: "was replaced by another file while it was being written")
        }
        handle = file
        identity = nil
    }

    public func commit() throws {
        try resume()
        try handle.sync()
        if replacing {
            guard rename(partialPath, path) == 0 else { throw ioError(path, "rename \(partialPath)") }
            return
        }
        guard try FileSystem.renameNoReplace(partialPath, path) else {
            throw MailKeepError.refused(path: path, reason: "appeared while it was being written; the new copy is left at \(partialPath)")
        }
    }

    /// Removes the partial file after a failure.
    public func discard() {
        FileSystem.remove(partialPath)
    }
}
