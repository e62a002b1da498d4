import CSystemShim
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// File-system operations mailkeep needs, each failing with a typed error that names the path.
public enum FileSystem {
    public enum Kind: Sendable { case regular, directory, symlink, other, missing }

    /// The kind of `path`. A final symlink is reported as such unless `followLinks` is set
    /// (for paths the user named on the command line).
    public static func kind(_ path: String, followLinks: Bool = false) throws -> Kind {
        var st = stat()
        if (followLinks ? stat(path, &st) : lstat(path, &st)) != 0 {
            if errno == ENOENT || errno == ENOTDIR { return .missing }
            throw ioError(path, "stat")
        }
        return kind(mode: st.st_mode)
    }

    package static func kind(mode: mode_t) -> Kind {
        switch mode & S_IFMT {
        case S_IFREG: return .regular
        case S_IFDIR: return .directory
        case S_IFLNK: return .symlink
        default: return .other
        }
    }

    /// Modification time (seconds) and size of a file, not following a final symlink.
    public static func modificationTimeAndSize(_ path: String) throws -> (mtime: Int64, size: Int64) {
        var st = stat()
        guard lstat(path, &st) == 0 else { throw ioError(path, "stat") }
        return (Int64(st.st_mtim.tv_sec), Int64(st.st_size))
    }

    /// Modification time and size of a regular file (not a symlink); nil for anything else or
    /// a file that cannot be looked at, which the caller then reads the ordinary way.
    public static func regularFileTimeAndSize(_ path: String) -> (mtime: Int64, size: Int64)? {
        var st = stat()
        guard lstat(path, &st) == 0, kind(mode: st.st_mode) == .regular else { return nil }
        return (Int64(st.st_mtim.tv_sec), Int64(st.st_size))
    }

    /// The names in a directory, sorted bytewise so that every run sees the same order.
    /// `.` and `..` are left out.
    public static func list(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw ioError(path, "open directory") }
        defer { closedir(dir) }
        var names: [String] = []
        while true {
            errno = 0
            guard let entry = readdir(dir) else {
                if errno != 0 { throw ioError(path, "read directory") }
                break
            }
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        names.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        return names
    }

    /// Why a listed name could not be opened: names are read as UTF-8, and a name that is not
    /// (Latin-1 from an old system, say) comes back with U+FFFD in place of its bad bytes, so it
    /// no longer names the file. Such a file is reported as unreadable, never as vanished.
    public static func missingReason(_ path: String, vanished: String) -> String {
        guard path.unicodeScalars.contains("\u{FFFD}") else { return vanished }
        return "its name is not valid UTF-8, which mailkeep cannot read yet; not read (rename it, e.g. with convmv, and run again)"
    }

    /// Creates a private directory (0700 whatever the umask) and its missing parents, each
    /// given to `owner` when there is one (see `FileOwner`). An existing directory is fine
    /// (and keeps its owner); an existing file or symlink in the way is an error.
    public static func makeDirectory(_ path: String, owner: FileOwner? = nil) throws {
        if try kind(path) == .directory { return }
        let parent = directoryName(path)
        if parent != path && !parent.isEmpty { try makeDirectory(parent, owner: owner) }
        if mkdir(path, 0o700) != 0 {
            if errno == EEXIST, try kind(path) == .directory { return }
            throw ioError(path, "create directory")
        }
        _ = chmod(path, 0o700)
        try owner?.apply(path: path)
    }

    /// Renames `from` to `to` only if `to` does not exist, so an existing message is never
    /// overwritten. Returns false when `to` exists.
    public static func renameNoReplace(_ from: String, _ to: String) throws -> Bool {
        #if os(Linux)
        if mk_rename_noreplace(from, to) == 0 { return true }
        if errno == EEXIST { return false }
        if errno != EINVAL && errno != ENOSYS { throw ioError(to, "rename \(from)") }
        #endif
        // File systems without RENAME_NOREPLACE (some FUSE and FAT drivers): link then unlink
        // gives the same guarantee where hard links work; otherwise check, then rename.
        if link(from, to) == 0 {
            unlink(from)
            return true
        }
        if errno == EEXIST { return false }
        if access(to, F_OK) == 0 { return false }
        guard rename(from, to) == 0 else { throw ioError(to, "rename \(from)") }
        return true
    }

    public static func remove(_ path: String) {
        unlink(path)
    }

    /// Flushes the whole file system holding `path` to disk: one call at the end of a run
    /// instead of an fsync per message.
    public static func syncFileSystem(containing path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ioError(path, "open for sync") }
        defer { close(fd) }
        #if os(Linux)
        guard mk_syncfs(fd) == 0 else { throw ioError(path, "syncfs") }
        #else
        guard fsync(fd) == 0 else { throw ioError(path, "fsync") }
        #endif
    }

    /// Writes what the cache holds of `path` to the device and asks the kernel to forget it, so
    /// that the next read of the file comes from the device: a check that reads back what was
    /// just written then sees what the disk holds, not the copy in memory. Linux drops the clean
    /// pages (POSIX_FADV_DONTNEED); a system that ignores the advice serves the read from memory.
    public static func dropCachedPages(_ path: String) throws {
        let fd = retryingEINTR { open(path, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { throw ioError(path, "open") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw ioError(path, "fsync") }
        #if os(Linux)
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)
        #endif
    }

    /// `path` made absolute and resolved as far as it exists (a destination may not exist yet:
    /// its existing parent is resolved and the rest appended).
    public static func absolutePath(_ path: String) -> String {
        if let resolved = realpath(path, nil) {
            defer { free(resolved) }
            return String(decoding: UnsafeRawBufferPointer(start: resolved, count: strlen(resolved)), as: UTF8.self)
        }
        let parent = directoryName(path)
        if parent == path || parent == "." && !path.contains("/") {
            return join(absolutePath("."), path)
        }
        return join(absolutePath(parent), baseName(path))
    }

    public static func directoryName(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    public static func baseName(_ path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return String(trimmed) }
        return String(trimmed[trimmed.index(after: slash)...])
    }

    public static func join(_ a: String, _ b: String) -> String {
        if a.isEmpty || a == "." { return b }
        return a.hasSuffix("/") ? a + b : a + "/" + b
    }
}

/// A directory held open, so that files are created and named relative to it: no path walk per
/// file, and nothing can swap the directory for a symlink half-way through a run.
public final class DirectoryHandle {
    public let path: String
    public let fd: Int32
    /// Cleared once the file system refuses unnamed files (O_TMPFILE: FAT, some FUSE and network
    /// file systems); files are then written under a temporary name and renamed.
    fileprivate var unnamedFiles = true

    /// Opens the directory `path`; a symlink there is refused.
    public init(_ path: String) throws {
        let fd = retryingEINTR { open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        guard fd >= 0 else {
            if errno == ELOOP || errno == ENOTDIR, try FileSystem.kind(path) == .symlink {
                throw MailKeepError.refused(path: path, reason: "is a symlink; refusing to write through it")
            }
            throw ioError(path, "open directory")
        }
        self.path = path
        self.fd = fd
    }

    deinit { close(fd) }
}

extension FileSystem {
    /// Creates the private file `name` in `directory` holding `content`, with `modified` as its
    /// mtime, the way mail is delivered: nobody ever sees part of it under `name`, and an
    /// existing `name` is never replaced (then the answer is false and nothing is left behind).
    ///
    /// The file is written unnamed (O_TMPFILE) in `staging` and linked in as `name`: the link
    /// fails on an existing name instead of replacing it, it costs one directory entry and no
    /// rename, and a run killed half-way leaves nothing to clean up. Where the file system has
    /// no unnamed files, the file is written as `stagingName` in `staging` and renamed.
    /// The file is given to `owner` when there is one (see `FileOwner`).
    public static func deliver(_ content: UnsafeRawBufferPointer, modified: Int64?, as name: String,
                               in directory: DirectoryHandle, staging: DirectoryHandle, stagingName: String,
                               owner: FileOwner? = nil) throws -> Bool {
        if staging.unnamedFiles {
            let fd = mk_open_unnamed(staging.fd)
            if fd >= 0 {
                defer { close(fd) }
                try fill(fd, content, modified: modified, owner: owner) { join(directory.path, name) }
                if mk_link_unnamed(fd, directory.fd, name) == 0 { return true }
                if errno == EEXIST { return false }
                // No hard links here, or no way to name an open file (no /proc): go the long way.
                guard errno == EPERM || errno == ENOENT || errno == EOPNOTSUPP else {
                    throw ioError(join(directory.path, name), "link")
                }
            } else if errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL {
                throw ioError(staging.path, "create a file in")
            }
            staging.unnamedFiles = false
        }
        // The process id keeps two runs writing the same message at once (two conversions
        // into one Maildir) off each other's temporary file; a file already under this name
        // is a leftover of a killed run that had our pid.
        let temporary = join(staging.path, stagingName + "." + String(getpid()))
        let file: FileHandleFD
        do {
            file = try FileHandleFD.create(temporary)
        } catch MailKeepError.io(_, _, EEXIST) {
            remove(temporary)
            file = try FileHandleFD.create(temporary)
        }
        do {
            try fill(file.fd, content, modified: modified, owner: owner) { temporary }
            if try renameNoReplace(temporary, join(directory.path, name)) { return true }
        } catch {
            remove(temporary)
            throw error
        }
        remove(temporary)
        return false
    }

    /// Writes `content` to the new file `fd`, gives it to `owner` and sets its mtime; `path`
    /// names it in an error.
    private static func fill(_ fd: Int32, _ content: UnsafeRawBufferPointer, modified: Int64?, owner: FileOwner?,
                             path: () -> String) throws {
        if umaskClearsOwnerBits { _ = fchmod(fd, 0o600) }
        try owner?.apply(fd: fd, path: path())
        guard writeAll(fd, content) else { throw ioError(path(), "write") }
        if let modified, !setFileTimes(fd, modified) { throw ioError(path(), "set mtime") }
    }
}
