import CSystemShim
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The locks that programs sharing an mbox file honour, taken the way they take them.
///
/// Writing takes a dot-lock (`NAME.lock`, made with the `link(2)` trick so that it is atomic
/// even on NFS) and then an exclusive `fcntl` lock on the file, in that order, as Dovecot
/// (`mbox_write_locks = dotlock fcntl`), mutt, procmail and Python's `mailbox` do; a program
/// that honours either one waits for the other. Reading takes a shared `fcntl` lock only, as
/// Dovecot's `mbox_read_locks = fcntl` does: readers never need write access to the directory.
///
/// Waiting: a busy lock is tried again every 100 ms for `MailboxLock.timeout` seconds (60, or
/// `MAILKEEP_LOCK_TIMEOUT`), then the run stops with exit 2, naming the lock file and its
/// holder's pid. A dot-lock is stale, and removed, when the process it names is gone (its
/// first line holds the pid, as liblockfile, Dovecot and mailkeep write it) or when it has not
/// changed for 5 minutes (liblockfile's rule; procmail waits 17). A dot-lock mailkeep holds is
/// touched at least once a minute, so that a long restore is never taken for stale.
public enum MailboxLock {
    /// Seconds to wait for a busy lock.
    public static var timeout: Double {
        if let value = getenv("MAILKEEP_LOCK_TIMEOUT").flatMap({ Double(String(cString: $0)) }), value >= 0 { return value }
        return 60
    }

    /// A dot-lock older than this (unchanged), whoever holds it, is stale.
    static let staleAfter: Int64 = 300

    /// Takes an `fcntl` lock on `fd`, waiting while another process holds one that conflicts.
    /// Returns false when the file system has no locks (NFS without lockd, some FUSE); throws
    /// `.refused` naming the holder when the wait runs out.
    public static func lock(_ fd: Int32, path: String, exclusive: Bool) throws -> Bool {
        let deadline = monotonicSeconds() + timeout
        while true {
            if mk_lock_file(fd, exclusive ? 1 : 0) == 0 { return true }
            let code = errno
            if code == ENOLCK || code == EINVAL || code == EOPNOTSUPP || code == ENOSYS { return false }
            guard code == EAGAIN || code == EACCES || code == EINTR else { throw MailKeepError.io(path: path, operation: "lock", errno: code) }
            if monotonicSeconds() >= deadline {
                let holder = mk_lock_holder(fd, exclusive ? 1 : 0)
                throw MailKeepError.refused(path: path, reason: "is locked (fcntl) by another program\(holder > 0 ? " (pid \(holder))" : ""); gave up after waiting \(Int(timeout)) s")
            }
            usleep(100_000)
        }
    }

    public static func monotonicSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }
}

/// `NAME.lock` beside a mailbox, held while it exists (see `MailboxLock` for the rules).
public final class DotLock {
    public let path: String
    /// The lock file's inode, so that release removes only our own lock.
    private let inode: ino_t
    private var touched: Double

    /// Creates `mailbox.lock`, waiting for another holder and removing a stale lock. Returns
    /// nil when the directory does not let us create files (a system mail spool where only a
    /// setgid helper may): the `fcntl` lock is then the only one, and the caller says so.
    public static func acquire(for mailbox: String) throws -> DotLock? {
        let path = mailbox + ".lock"
        let directory = FileSystem.directoryName(path)
        let deadline = MailboxLock.monotonicSeconds() + MailboxLock.timeout
        var attempt = 0
        while true {
            attempt += 1
            // A private name first, then link(2): atomic everywhere, NFS included; the link
            // count says whether it worked even when the reply to link() was lost.
            let scratch = FileSystem.join(directory, ".\(FileSystem.baseName(path)).\(getpid()).\(attempt)")
            let fd = retryingEINTR { Glibc.open(scratch, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644) }
            guard fd >= 0 else {
                if errno == EACCES || errno == EPERM || errno == EROFS { return nil }
                throw ioError(path, "create lock file")
            }
            var pid = Array("\(getpid())\n".utf8)
            let wrote = pid.withUnsafeMutableBytes { writeAll(fd, UnsafeRawBufferPointer($0)) }
            var st = stat()
            _ = fstat(fd, &st)
            Glibc.close(fd)
            if !wrote {
                let code = errno
                unlink(scratch)
                throw MailKeepError.io(path: path, operation: "write lock file", errno: code)
            }
            _ = link(scratch, path)
            var after = stat()
            let linked = stat(scratch, &after) == 0 && after.st_nlink == 2
            unlink(scratch)
            if linked { return DotLock(path: path, inode: st.st_ino) }

            if removeIfStale(path) { continue }
            if MailboxLock.monotonicSeconds() >= deadline {
                let holder = holderPid(path).map { " (pid \($0))" } ?? ""
                throw MailKeepError.refused(path: mailbox, reason: "is locked by another program: \(path) exists\(holder); gave up after waiting \(Int(MailboxLock.timeout)) s (remove it if no program uses the mailbox)")
            }
            usleep(100_000)
        }
    }

    private init(path: String, inode: ino_t) {
        self.path = path
        self.inode = inode
        touched = MailboxLock.monotonicSeconds()
    }

    /// Marks the lock as in use, at most once a minute: a holder that stops touching it is
    /// taken for stale by others after 5 minutes.
    public func keepFresh() {
        let now = MailboxLock.monotonicSeconds()
        guard now - touched >= 60 else { return }
        touched = now
        _ = utimes(path, nil)
    }

    /// Removes the lock if it is still ours.
    public func release() {
        var st = stat()
        if lstat(path, &st) == 0 && st.st_ino == inode { unlink(path) }
    }

    /// The pid on the lock file's first line (`PID` or Dovecot's `PID:HOST`).
    private static func holderPid(_ path: String) -> Int32? {
        guard let file = try? FileHandleFD.open(reading: path, followLinks: false),
              let bytes = try? file.readAll(limit: 256) else { return nil }
        let digits = bytes.prefix { $0 >= 0x30 && $0 <= 0x39 }
        guard !digits.isEmpty, digits.count < 10, let pid = Int32(String(decoding: digits, as: UTF8.self)), pid > 0 else { return nil }
        return pid
    }

    /// Removes `path` when its holder is gone or it is older than `MailboxLock.staleAfter`.
    private static func removeIfStale(_ path: String) -> Bool {
        var st = stat()
        guard lstat(path, &st) == 0 else { return errno == ENOENT }
        var stale = Int64(time(nil)) - Int64(st.st_mtim.tv_sec) > MailboxLock.staleAfter
        if !stale, let pid = holderPid(path), kill(pid, 0) != 0, errno == ESRCH { stale = true }
        guard stale else { return false }
        // Only the file we judged: a lock made by someone else meanwhile is left alone.
        var again = stat()
        if lstat(path, &again) == 0 && again.st_ino == st.st_ino && again.st_mtim.tv_sec == st.st_mtim.tv_sec { unlink(path) }
        return true
    }
}
