#if canImport(Glibc)
import Glibc
#endif

/// A file that appears under its name only when it is complete.
///
/// Bytes go to `.NAME.RANDOM.partial` beside the target, created with `O_EXCL | O_NOFOLLOW`
/// under a name nobody can guess in advance, so nothing planted there (a symlink, a hard link
/// to another file) is ever written through. `commit()` syncs it and renames it into place,
/// refusing to replace an existing file; `discard()` removes it. The file is locked (`flock`)
/// while it is written: a later run removes the partial files of NAME that nobody holds (left
/// by a run that was killed) and leaves alone those of a run still going.
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

    /// The partial file (and so the file) is given to `owner` when there is one (see `FileOwner`).
    public init(_ path: String, replacing: Bool = false, owner: FileOwner? = nil) throws {
        if !replacing, try FileSystem.kind(path) != .missing {
            throw MailKeepError.refused(path: path, reason: "already exists; mailkeep never overwrites (remove it or choose another name)")
        }
        self.replacing = replacing
        self.path = path
        Self.removeAbandonedPartials(of: path)
        (handle, partialPath) = try Self.createPartial(of: path, owner: owner)
        _ = flock(handle.fd, LOCK_EX | LOCK_NB)
    }

    private static func createPartial(of path: String, owner: FileOwner?) throws -> (FileHandleFD, String) {
        var attempts = 0
        while true {
            let candidate = partialPrefix(of: path) + randomTag() + ".partial"
            do {
                return (try FileHandleFD.create(candidate, exclusive: true, owner: owner), candidate)
            } catch MailKeepError.io(_, _, EEXIST) where attempts < 8 {
                attempts += 1
            } catch MailKeepError.io(_, _, let code) where code == ENOENT || code == ENOTDIR {
                // The user named the file, not the hidden partial one: say which directory is missing.
                throw MailKeepError.io(path: path, operation: "write into \(FileSystem.directoryName(path))", errno: code)
            }
        }
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
        // Locked again, so a run started meanwhile does not take it for a killed run's.
        _ = flock(fd, LOCK_EX | LOCK_NB)
        handle = file
        identity = nil
    }

    /// Syncs what is written so far (reopening a suspended file), short of naming it.
    public func sync() throws {
        try resume()
        try handle.sync()
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

    /// Replaces the `count` bytes at `offset` with `bytes` (at least as many), moving what
    /// follows them further on, in bounded memory: for a writer that learns only at the end what
    /// an earlier part of the file must say (see `MboxWriter.keywordListPatch`). The file has no
    /// name yet, so a run stopped halfway leaves only a partial file, which the next run removes.
    public func replace(at offset: Int64, count: Int, with bytes: [UInt8]) throws {
        try resume()
        // The descriptor written through appends; moving bytes needs one that does not.
        let fd = retryingEINTR { open(partialPath, O_RDWR | O_NOFOLLOW | O_CLOEXEC) }
        guard fd >= 0 else { throw ioError(partialPath, "reopen") }
        defer { close(fd) }
        var st = stat(), written = stat()
        guard fstat(fd, &st) == 0, fstat(handle.fd, &written) == 0 else { throw ioError(partialPath, "stat") }
        guard st.st_dev == written.st_dev, st.st_ino == written.st_ino else {
            throw MailKeepError.refused(path: partialPath, reason: "was replaced by another file while it was being written")
        }
        let shift = Int64(bytes.count - count), tailStart = offset + Int64(count)
        guard shift >= 0, tailStart <= Int64(st.st_size) else { throw MailKeepError.io(path: partialPath, operation: "rewrite", errno: EINVAL) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var end = Int64(st.st_size)
        while shift > 0 && end > tailStart {
            let start = max(tailStart, end - Int64(buffer.count))
            let piece = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<Int(end - start)])
            try Self.transfer(fd, piece, at: start, reading: true, path: partialPath)
            try Self.transfer(fd, piece, at: start + shift, reading: false, path: partialPath)
            end = start
        }
        try bytes.withUnsafeBytes { try Self.transfer(fd, UnsafeMutableRawBufferPointer(mutating: $0), at: offset, reading: false, path: partialPath) }
    }

    /// Reads or writes all of `buffer` at `offset`.
    private static func transfer(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, at offset: Int64, reading: Bool, path: String) throws {
        var done = 0
        while done < buffer.count {
            let n = retryingEINTR {
                reading ? pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
                        : pwrite(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            }
            guard n > 0 else {
                if n == 0 { throw MailKeepError.io(path: path, operation: "read", errno: EIO) }
                throw ioError(path, reading ? "read" : "write")
            }
            done += n
        }
    }

    /// Removes the partial file after a failure.
    public func discard() {
        FileSystem.remove(partialPath)
    }

    /// `DIR/.NAME.`: what every partial file of `DIR/NAME` starts with.
    private static func partialPrefix(of path: String) -> String {
        FileSystem.join(FileSystem.directoryName(path), "." + FileSystem.baseName(path) + ".")
    }

    private static func randomTag() -> String {
        var generator = SystemRandomNumberGenerator()
        let value = generator.next() as UInt64
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// Removes the partial files of `path` that a killed run left: regular files of ours, with
    /// one link, that no running process holds locked.
    package static func removeAbandonedPartials(of path: String) {
        let directory = FileSystem.directoryName(path)
        let prefix = "." + FileSystem.baseName(path) + "."
        guard let names = try? FileSystem.list(directory) else { return }
        for name in names where name.hasPrefix(prefix) && name.hasSuffix(".partial")
            && name.utf8.count == prefix.utf8.count + 16 + 8 {
            let partial = FileSystem.join(directory, name)
            let fd = open(partial, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            var st = stat()
            guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG, st.st_uid == geteuid(), st.st_nlink == 1,
                  flock(fd, LOCK_EX | LOCK_NB) == 0 else { continue }
            unlink(partial)
        }
    }
}
