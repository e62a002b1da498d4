import MailKeepIO
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The keyword names of one Maildir folder, as Dovecot keeps them in its `dovecot-keywords`.
///
/// A file name's info part holds keywords as the letters `a`-`z`; letter number N (a = 0) is
/// named by the line `N NAME` of that folder's `dovecot-keywords`, so the same letter means
/// different keywords in different folders. As in Dovecot, names compare without regard to
/// case, a line without a space or with N outside 0...25 is skipped, and there are at most 26
/// names per folder. A letter no line names is left a letter: Dovecot shows it as `unknown-N`,
/// and mailkeep has no better name to give it.
package struct DovecotKeywords: Equatable, Sendable {
    package static let fileName = "dovecot-keywords"
    /// Letters `a`-`z`: Dovecot's `MAILDIR_MAX_KEYWORDS`.
    package static let limit = 26
    /// Dovecot overrides a `dovecot-keywords.lock` older than this (`KEYWORDS_LOCK_STALE_TIMEOUT`).
    static let staleLockSeconds: Int64 = 120

    /// Name of each letter, by index.
    package private(set) var names: [String?] = Array(repeating: nil, count: limit)

    package init() {}

    package init(parsing bytes: [UInt8]) {
        for line in bytes.split(separator: 0x0A, omittingEmptySubsequences: true) {
            var line = line
            if line.last == 0x0D { line = line.dropLast() }
            guard let space = line.firstIndex(of: 0x20) else { continue }
            let digits = line[line.startIndex..<space]
            guard !digits.isEmpty, digits.count <= 2, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                  let index = Int(String(decoding: digits, as: UTF8.self)), index < Self.limit else { continue }
            let name = String(decoding: line[(space + 1)...], as: UTF8.self)
            guard Self.isValidName(name) else { continue }
            names[index] = name
        }
    }

    /// A keyword name that can stand in `dovecot-keywords`, `X-Keywords` and IMAP: an atom
    /// without spaces, control characters or the characters IMAP reserves.
    package static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { b in
            b > 0x20 && b != 0x7F && !"(){%*\"\\]".utf8.contains(b)
        }
    }

    /// Reads the folder's `dovecot-keywords`; none when there is no such file.
    package static func load(folder: String) throws -> DovecotKeywords {
        let path = FileSystem.join(folder, fileName)
        let file: FileHandleFD
        do {
            file = try FileHandleFD.open(reading: path, followLinks: false)
        } catch MailKeepError.io(_, _, ENOENT) {
            return DovecotKeywords()
        }
        return DovecotKeywords(parsing: try file.readAll(limit: 1 << 20))
    }

    package func name(ofLetter letter: UInt8) -> String? {
        guard letter >= 0x61, letter <= 0x7A else { return nil }
        return names[Int(letter - 0x61)]
    }

    package func letter(for name: String) -> UInt8? {
        let folded = name.lowercased()
        guard let index = names.firstIndex(where: { $0?.lowercased() == folded }) else { return nil }
        return UInt8(0x61 + index)
    }

    /// Gives `name` a letter: the one it has, else `preferred` when that is free, else the
    /// first free one; nil when all 26 are taken.
    package mutating func add(_ name: String, preferring preferred: UInt8? = nil) -> UInt8? {
        if let letter = letter(for: name) { return letter }
        if let preferred, let index = Optional(Int(preferred) - 0x61), names.indices.contains(index), names[index] == nil {
            names[index] = name
            return preferred
        }
        guard let free = names.firstIndex(where: { $0 == nil }) else { return nil }
        names[free] = name
        return UInt8(0x61 + free)
    }

    /// The file as Dovecot writes it: `N NAME` lines in index order.
    package var fileBytes: [UInt8] {
        var out: [UInt8] = []
        for (index, name) in names.enumerated() {
            guard let name else { continue }
            out += Array("\(index) \(name)\n".utf8)
        }
        return out
    }

    /// Maildir flags split into the flags that stay letters and the keyword names the letters
    /// stand for (in letter order).
    package func split(_ flags: String) -> (flags: String, keywords: [String]) {
        guard flags.utf8.contains(where: { $0 >= 0x61 && $0 <= 0x7A }) else { return (flags, []) }
        var kept: [UInt8] = []
        var keywords: [String] = []
        for b in flags.utf8 {
            if let name = name(ofLetter: b) { keywords.append(name) } else { kept.append(b) }
        }
        return (String(decoding: kept, as: UTF8.self), keywords)
    }

    /// Adds `wanted` names to the folder's `dovecot-keywords` and returns the folder's names
    /// after that. An existing file is merged, never replaced by a map of our own: the names
    /// it has keep their letters (the messages already there use them), new names take free
    /// letters. The update is Dovecot's own: under its lock `dovecot-keywords.lock`, created
    /// exclusively, written, synced, then renamed over the file, so Dovecot (or a second run)
    /// never sees half a file or loses a name it added meanwhile. Names that do not fit in 26
    /// letters are left out of the result; the caller reports them.
    /// A new file is given to `owner` when there is one (see `FileOwner`), as Dovecot's own is its user's.
    package static func merge(_ wanted: [(name: String, preferred: UInt8?)], intoFolder folder: String,
                              log: WarningLog, owner: FileOwner? = nil) throws -> DovecotKeywords {
        let path = FileSystem.join(folder, fileName)
        let lockPath = path + ".lock"
        let lock = try acquireLock(lockPath, log: log, owner: owner)
        var committed = false
        defer { if !committed { FileSystem.remove(lockPath) } }
        let current = try load(folder: folder)
        var merged = current
        // Letters asked for by name first, so that no other name takes one that was free.
        for (name, preferred) in wanted where preferred != nil && merged.letter(for: name) == nil {
            if let p = preferred, merged.name(ofLetter: p) == nil { _ = merged.add(name, preferring: p) }
        }
        for (name, _) in wanted { _ = merged.add(name) }
        guard merged != current else { return current }
        try merged.fileBytes.withUnsafeBytes { try lock.write($0) }
        // Dovecot re-reads the file only when its mtime (in seconds) changed.
        if let before = try? FileSystem.modificationTimeAndSize(path).mtime, Int64(time(nil)) <= before {
            try lock.setModificationTime(before + 1)
        }
        try lock.sync()
        guard rename(lockPath, path) == 0 else { throw MailKeepError.io(path: path, operation: "rename \(lockPath)", errno: errno) }
        committed = true
        return merged
    }

    /// Creates the lock file, waiting while another program holds it: `MailboxLock.timeout`
    /// seconds (60, or `MAILKEEP_LOCK_TIMEOUT`), as for an mbox's locks, then the run stops
    /// (exit 2) naming the lock. The lock holds no pid (Dovecot writes the new file's content
    /// into it), so its age is all that tells a dead holder: one unchanged for longer than
    /// Dovecot's `staleLockSeconds` is stale, as Dovecot judges it, and is removed with a note.
    private static func acquireLock(_ lockPath: String, log: WarningLog, owner: FileOwner?) throws -> FileHandleFD {
        let timeout = MailboxLock.timeout
        let deadline = MailboxLock.monotonicSeconds() + timeout
        while true {
            do {
                return try FileHandleFD.create(lockPath, owner: owner)
            } catch MailKeepError.io(_, _, EEXIST) {
                var st = stat()
                guard lstat(lockPath, &st) == 0 else { continue }
                let age = Int64(time(nil)) - Int64(st.st_mtim.tv_sec)
                if age > staleLockSeconds {
                    // Only the file judged: a lock taken by someone else meanwhile is left alone.
                    var again = stat()
                    if lstat(lockPath, &again) == 0 && again.st_ino == st.st_ino && again.st_mtim.tv_sec == st.st_mtim.tv_sec {
                        FileSystem.remove(lockPath)
                        log.notice(file: lockPath, "removed a stale lock: unchanged for \(age) s, longer than the \(staleLockSeconds) s after which Dovecot takes it for a dead holder's")
                    }
                    continue
                }
                if MailboxLock.monotonicSeconds() >= deadline {
                    throw MailKeepError.refused(path: lockPath, reason: "is held by another program (changed \(age) s ago); gave up after waiting \(Int(timeout)) s, keyword names were not added (remove it if no program uses the folder)")
                }
                usleep(100_000)
            }
        }
    }
}
