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

    /// Creates a private directory (0700 whatever the umask) and its missing parents.
    /// An existing directory is fine; an existing file or symlink in the way is an error.
    public static func makeDirectory(_ path: String) throws {
        if try kind(path) == .directory { return }
        let parent = directoryName(path)
        if parent != path && !parent.isEmpty { try makeDirectory(parent) }
        if mkdir(path, 0o700) != 0 {
            if errno == EEXIST, try kind(path) == .directory { return }
            throw ioError(path, "create directory")
        }
        _ = chmod(path, 0o700)
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
