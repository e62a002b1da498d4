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
public final class AtomicOutputFile {
    public let path: String
    public let partialPath: String
    public let handle: FileHandleFD
    private let replacing: Bool

    public init(_ path: String, replacing: Bool = false) throws {
        if !replacing, try FileSystem.kind(path) != .missing {
            throw MailKeepError.refused(path: path, reason: "already exists; mailkeep never overwrites (remove it or choose another name)")
        }
        self.replacing = replacing
        self.path = path
        partialPath = FileSystem.join(FileSystem.directoryName(path), "." + FileSystem.baseName(path) + ".partial")
        handle = try FileHandleFD.create(partialPath, exclusive: false)
    }

    public func commit() throws {
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
