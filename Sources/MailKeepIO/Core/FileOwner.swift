#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The user and group that what a run creates in a tree must belong to.
///
/// An administrator restores a user's mail as root straight into the tree a mail server
/// serves (`mailrestore backup.tar.xz -o /var/vmail/example.org/bob/Maildir`): files and
/// directories created there as root would be unreadable to the server, which serves the
/// mail as the tree's owner, so the messages would be there and yet not be shown. So, when
/// the process runs as root and the tree belongs to someone else, each directory and file it
/// creates is given to the tree's owner and group, still private (0700, 0600). The tree's
/// owner is that of its top directory, or, for a tree not made yet, of the nearest directory
/// above it that exists (a new folder in a user's home becomes the user's).
public struct FileOwner: Sendable, Equatable {
    public let uid: uid_t
    public let gid: gid_t

    public init(uid: uid_t, gid: gid_t) {
        self.uid = uid
        self.gid = gid
    }

    /// The owner to give what is created under `root`; nil when this process is not root or
    /// the tree is root's own, so that what is created stays the creator's as usual.
    public static func inheriting(_ root: String) -> FileOwner? {
        guard geteuid() == 0 else { return nil }
        var path = root.isEmpty ? "." : root
        var st = stat()
        while lstat(path, &st) != 0 || st.st_mode & S_IFMT != S_IFDIR {
            let parent = FileSystem.directoryName(path)
            if parent == path { return nil }
            path = parent
        }
        if st.st_uid == geteuid() && st.st_gid == getegid() { return nil }
        return FileOwner(uid: st.st_uid, gid: st.st_gid)
    }

    /// Gives the open file `fd` (named `path` in an error) to this owner.
    public func apply(fd: Int32, path: String) throws {
        guard fchown(fd, uid, gid) == 0 else { throw ioError(path, "change the owner of") }
    }

    /// Gives `path` (never a symlink's target) to this owner.
    public func apply(path: String) throws {
        guard lchown(path, uid, gid) == 0 else { throw ioError(path, "change the owner of") }
    }
}
