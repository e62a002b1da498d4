import MailKeepIO
import CSystemShim
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes messages into one mbox stream: a new file (complete or absent, see
/// `AtomicOutputFile`), stdout, or (`appendingTo`, what `mailrestore` asks for) a live mailbox
/// added to in place (see `MboxAppender`), where a message whose content is already in the
/// file is skipped, so restoring twice adds nothing. Each message in the file stands for one
/// source message (see `ContentCensus`): a source that holds a message twice gives two copies.
public final class MboxStreamSink: MessageSink {
    private let writer: MboxWriter
    private let output: AtomicOutputFile?
    private let appender: MboxAppender?
    private let counter: CountingSink
    /// The dot-lock of a new file a restore makes, held until it is named (`restoringInto`).
    private var newFileLock: DotLock?
    private var newFileLockGuard: Int32 = -1
    /// The messages in the file being added to that no source message has matched yet.
    private var present: ContentCensus?
    /// The contents this run wrote to that file or matched in it, and how many of each: once
    /// the file is let go and read again, it holds these too, and they are not there for a
    /// later source message.
    private var delivered: [String: Int] = [:]
    public private(set) var counts = SinkCounts()

    /// `path` `-` is `standardOutput`.
    /// `bufferSize` is smaller for the many files of a tree (see `MboxTreeSink`).
    /// A new file belongs to the owner of the directory it is made in (see `FileOwner`).
    public init(path: String, variant: MboxVariant?, log: WarningLog, standardOutput: ByteSink = FileHandleFD.standardOutput(),
                bufferSize: Int = 1 << 20) throws {
        let sink: ByteSink
        appender = nil
        if path == "-" {
            output = nil
            sink = standardOutput
        } else {
            let file = try AtomicOutputFile(path, owner: FileOwner.inheriting(FileSystem.directoryName(path)))
            output = file
            sink = file
        }
        counter = CountingSink(BufferedSink(sink, capacity: bufferSize))
        writer = MboxWriter(counter, variant: variant, log: log)
    }

    /// Adds to the mbox at `path` (created if missing) under its locks, skipping what it holds.
    public init(appendingTo path: String, variant: MboxVariant?, log: WarningLog) throws {
        let appender = try MboxAppender(path, log: log)
        self.appender = appender
        output = nil
        present = appender.census
        counter = CountingSink(appender)
        writer = MboxWriter(counter, variant: variant, log: log)
    }

    /// What a restore writes into: an mbox that is there is added to (`appendingTo`); one that
    /// is not is made as a new file, complete or absent, which can list its keyword names for
    /// Dovecot (see `MboxWriter`). Its dot-lock is held from the moment the file is found
    /// missing until the file has its name, so another program that locks the mailbox (a second
    /// mailkeep, Dovecot, procmail) waits as it would for an append, and then adds to the file.
    public convenience init(restoringInto path: String, variant: MboxVariant?, log: WarningLog, bufferSize: Int = 1 << 20) throws {
        if let lock = try DotLock.acquire(for: path) {
            if try FileSystem.kind(path) == .missing {
                do {
                    try self.init(path: path, variant: variant, log: log, bufferSize: bufferSize)
                } catch {
                    lock.release()
                    throw error
                }
                newFileLock = lock
                // SIGINT, SIGTERM and SIGHUP take the lock away, as for an append.
                newFileLockGuard = mk_guard_mailbox(lock.path, -1, -1)
                return
            }
            lock.release()
        }
        try self.init(appendingTo: path, variant: variant, log: log)
    }

    @discardableResult
    public func write(_ metadata: MessageMetadata, content: UnsafeRawBufferPointer) throws -> DeliveryOutcome {
        guard let appender else {
            newFileLock?.keepFresh()
            try writer.write(metadata, content: content)
            counts.add(.written, bytes: content.count)
            return .written
        }
        if !appender.isOpen {
            var census = try appender.reopen()
            for (hash, n) in delivered { for _ in 0..<n { _ = census.take(hash) } }
            present = census
        }
        let hash = metadata.contentSHA256 ?? ContentHasher.sha256Hex(of: content)
        delivered[hash, default: 0] += 1
        if present?.take(hash) == true {
            counts.add(.alreadyPresent, bytes: content.count)
            return .alreadyPresent
        }
        try writer.write(metadata, content: content)
        try appender.endOfMessage()
        counts.add(.written, bytes: content.count)
        return .written
    }

    public func finish() throws {
        try writer.flush()
        try listKeywords()
        defer { releaseNewFileLock() }
        try output?.commit()
        try appender?.commit()
    }

    private func releaseNewFileLock() {
        guard let lock = newFileLock else { return }
        mk_unguard_mailbox(newFileLockGuard)
        newFileLockGuard = -1
        lock.release()
        newFileLock = nil
    }

    /// Writes out what is buffered and syncs it, short of naming the file, and lets it go
    /// until `finish()` (a tree names its files only once every one is written out).
    fileprivate func writeOut() throws {
        guard let output else { return }
        try writer.flush()
        try listKeywords()
        try output.sync()
        try output.suspend()
    }

    /// Lists the file's keyword names in its first message's `X-IMAPbase`, so that Dovecot
    /// shows them (see `MboxWriter`). Only a new file can be changed there before it is named:
    /// on stdout, and in an mbox being added to (whose bytes are never rewritten), Dovecot shows
    /// only names it knew (README, Keywords).
    private func listKeywords() throws {
        guard let output, let patch = writer.keywordListPatch() else { return }
        try output.replace(at: patch.offset, count: patch.replacing, with: patch.line)
    }

    /// Writes out what is buffered and closes the file until the next message (an mbox being
    /// added to is let go, locks and all, and locked and read again then).
    public func suspend() throws {
        try writer.flush()
        try output?.suspend()
        try appender?.commit()
    }

    public func discard() {
        output?.discard()
        appender?.abandon()
        releaseNewFileLock()
    }
}

/// Adds messages to the end of an mbox that other programs may be using at the same time: a
/// mail client, a delivery agent (procmail, Dovecot's LDA, Postfix local), another mailkeep.
///
/// It holds the locks they honour (see `MailboxLock`: the dot-lock, then an exclusive `fcntl`
/// lock) from the moment it opens the file until `commit()`; meanwhile it reads the content
/// hashes of the messages there, then only appends: bytes already in the file are never
/// rewritten, so nothing delivered before or after can be lost. Messages go out whole, in one
/// `write(2)` per batch of at most 1 MiB of whole messages (or per larger message), so a run
/// that stops leaves only whole messages; a failed write, and SIGINT, SIGTERM or SIGHUP, cut the
/// file back to the end of the last whole message, as Dovecot does after a failed append. Only
/// `kill -9` in the middle of one `write(2)` can leave part of a message, as for any writer.
public final class MboxAppender: ByteSink {
    public let name: String
    private let log: WarningLog
    /// The open file, or nil before `reopen()` once let go.
    private var file: FileHandleFD?
    private var dotLock: DotLock?
    private var guardSlot: Int32 = -1
    /// The end of the last whole message in the file.
    private var committed: Int64 = 0
    private var pending: [UInt8] = []
    /// What must precede the first new message: an empty line where the file lacks one.
    private var separatorNeeded: [UInt8] = []
    /// The messages the file held when it was locked, by content.
    package private(set) var census = ContentCensus()

    public init(_ path: String, log: WarningLog) throws {
        name = path
        self.log = log
        census = try reopen()
    }

    deinit { abandon() }

    public var isOpen: Bool { file != nil }

    /// Locks and opens the file (creating it if missing) and returns the census of the
    /// messages it holds. Called again after `commit()` (a tree of many mbox files lets some go
    /// for a while): others may have added to it meanwhile.
    package func reopen() throws -> ContentCensus {
        let path = name
        if try FileSystem.kind(path) == .symlink {
            throw MailKeepError.refused(path: path, reason: "is a symlink; refusing to write through it")
        }
        dotLock = try DotLock.acquire(for: path)
        if dotLock == nil { log.notice(file: path, "cannot create \(path).lock here (no write access to the directory); locked with fcntl only") }
        // Made here, the file belongs to the owner of its directory (see `FileOwner`).
        var created = true
        var fd = retryingEINTR { Glibc.open(path, O_RDWR | O_CREAT | O_EXCL | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0o600) }
        if fd < 0 && errno == EEXIST {
            created = false
            fd = retryingEINTR { Glibc.open(path, O_RDWR | O_APPEND | O_NOFOLLOW | O_CLOEXEC) }
        }
        guard fd >= 0 else {
            let error = ioError(path, "open for appending")
            dotLock?.release()
            dotLock = nil
            throw error
        }
        // Closed by `release()`, which every way out of here and `deinit` reach.
        let file = FileHandleFD(fd: fd, name: path, owned: false)
        self.file = file
        do {
            var st = stat()
            guard fstat(fd, &st) == 0 else { throw ioError(path, "stat") }
            guard st.st_mode & S_IFMT == S_IFREG else { throw MailKeepError.refused(path: path, reason: "is not a regular file") }
            if st.st_size == 0 && umaskClearsOwnerBits { _ = fchmod(fd, 0o600) }
            if created { try FileOwner.inheriting(FileSystem.directoryName(path))?.apply(fd: fd, path: path) }
            if !(try MailboxLock.lock(fd, path: path, exclusive: true)) {
                log.notice(file: path, "the file system has no fcntl locks; only \(dotLock == nil ? "nothing" : path + ".lock") keeps other programs out")
            }
            committed = try file.size()
            guardSlot = mk_guard_mailbox(dotLock?.path, fd, committed)
            return try readExisting(file)
        } catch {
            abandon()
            throw error
        }
    }

    /// Hashes the messages already in the file, and notes what must precede the first new
    /// one: an mbox whose last message lacks its empty line gets it, so the next From_ line
    /// counts as a separator.
    private func readExisting(_ file: FileHandleFD) throws -> ContentCensus {
        separatorNeeded = []
        var hashes = ContentCensus()
        guard committed > 0 else { return hashes }
        guard lseek(file.fd, 0, SEEK_SET) == 0 else { throw ioError(name, "seek") }
        try MboxReader(LimitedSource(file, limit: committed), log: log).forEachMessage { _, content in
            let hash = ContentHasher.sha256Hex(of: content)
            // Python's mailbox writes an empty line before each From_ line, even after the
            // one that ends every message mailkeep writes; the message before then reads back
            // with one more empty line, and is still the message mailkeep wrote. It stands for
            // one source message of either content, not one of each.
            if content.count >= 2, content[content.count - 1] == 0x0A, content[content.count - 2] == 0x0A {
                hashes.add(hash, or: ContentHasher.sha256Hex(of: UnsafeRawBufferPointer(rebasing: content[..<(content.count - 1)])))
            } else {
                hashes.add(hash)
            }
        }
        var tail: [UInt8] = [0, 0]
        let want = Int(min(committed, 2))
        let got = tail.withUnsafeMutableBytes { pread(file.fd, $0.baseAddress! + (2 - want), want, off_t(committed) - off_t(want)) }
        guard got == want else { throw ioError(name, "read") }
        if tail != [0x0A, 0x0A] { separatorNeeded = tail[1] == 0x0A ? [0x0A] : [0x0A, 0x0A] }
        return hashes
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        if !separatorNeeded.isEmpty {
            pending += separatorNeeded
            separatorNeeded = []
        }
        pending.append(contentsOf: bytes)
    }

    public func flush() throws {}

    /// Called after each whole message: writes out the batch once it is large enough.
    public func endOfMessage() throws {
        if pending.count >= 1 << 20 { try writePending() }
    }

    private func writePending() throws {
        guard !pending.isEmpty, let file else { return }
        let ok = pending.withUnsafeBytes { writeAll(file.fd, $0) }
        guard ok else {
            let error = ioError(name, "append")
            _ = ftruncate(file.fd, off_t(committed))
            pending = []
            throw error
        }
        committed += Int64(pending.count)
        mk_guard_keep(guardSlot, committed)
        pending.removeAll(keepingCapacity: pending.capacity <= 4 << 20)
        dotLock?.keepFresh()
    }

    /// Writes what is left, syncs, and lets other programs in.
    public func commit() throws {
        do {
            try writePending()
            try file?.sync()
        } catch {
            abandon()
            throw error
        }
        release()
    }

    /// Drops messages not yet written and lets other programs in; the file keeps only whole
    /// messages.
    public func abandon() {
        pending = []
        release()
    }

    private func release() {
        guard let file else { return }
        self.file = nil
        mk_unguard_mailbox(guardSlot)
        guardSlot = -1
        // Closing the descriptor drops the fcntl lock; the dot-lock goes after it, so that a
        // program taking them in the usual order never sees one without the other.
        _ = Glibc.close(file.fd)
        dotLock?.release()
        dotLock = nil
    }
}

/// The first `limit` bytes of a source: the part of a locked mbox that was there when it was
/// locked.
private final class LimitedSource: ByteSource {
    private let inner: ByteSource
    private var left: Int64
    var name: String { inner.name }
    init(_ inner: ByteSource, limit: Int64) {
        self.inner = inner
        left = limit
    }
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard left > 0 else { return 0 }
        let n = try inner.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<Int(min(Int64(buffer.count), left))]))
        left -= Int64(n)
        return n
    }
}

/// Writes a folder tree as mbox files, Thunderbird's way: folder `A` is the file `A`, its
/// subfolders live in the directory `A.sbd/`, and the root folder's messages go to `INBOX`
/// (a folder named `INBOX` beside them goes under another name, recorded in `.mailkeep-folders`).
/// That layout lets a folder hold messages and subfolders at once, and reads back (see
/// `MailTree`) as the same tree.
public final class MboxTreeSink: MessageSink {
    private let root: String
    private let variant: MboxVariant?
    private let naming: FolderNaming
    private let log: WarningLog
    private var sinks: [[String]: MboxStreamSink] = [:]
    /// Folders whose file is open, least recently written first: at most `openLimit`, so a
    /// tree of any number of folders is written under a low descriptor limit.
    private var recent: [[String]] = []
    private let openLimit: Int
    public private(set) var counts = SinkCounts()

    private let skipExistingContent: Bool
    /// Who gets what this run creates, when it is not this process (see `FileOwner`).
    private let owner: FileOwner?

    public init(root: String, variant: MboxVariant?, log: WarningLog, skipExistingContent: Bool = false, openLimit: Int = 64) throws {
        self.root = root
        self.openLimit = max(1, openLimit)
        self.variant = variant
        self.log = log
        self.skipExistingContent = skipExistingContent
        naming = FolderNaming(layout: .nested, utf8Names: true)
        owner = FileOwner.inheriting(root)
        try FileSystem.makeDirectory(root, owner: owner)
    }

    public func path(for folder: [String]) -> String { placement(for: folder).path }

    /// The folder's mbox file, and the entries on the way that do not read back as their folder
    /// (see `FolderNaming.entry`): at the top, `INBOX` is the root folder's (and `INBOX.sbd/`
    /// holds its subfolders, as Thunderbird's `Inbox.sbd/`); an entry ending in
    /// `.sbd` would be taken for a directory of subfolders; a mail extension would be dropped.
    ///
    /// A subfolder of a top-level `inbox` in any case (Thunderbird's `Inbox.sbd/Sub`) is one of
    /// the INBOX's, which is the root folder (`MailTree`): it goes in `INBOX.sbd/`, beside the
    /// root's `INBOX` file, where Thunderbird looks for it, and a spelling other than `INBOX`
    /// is recorded for `INBOX`, so `Inbox/Sub` reads back as `Inbox/Sub`.
    private func placement(for folder: [String]) -> (path: String, recorded: [(dir: String, entry: String, name: String)]) {
        guard !folder.isEmpty else { return (FileSystem.join(root, "INBOX"), []) }
        var dir = root
        var recorded: [(String, String, String)] = []
        let underInbox = folder.count > 1 && MailTree.inbox([folder[0]]).isEmpty
        if underInbox {
            dir = FileSystem.join(root, "INBOX.sbd")
            if folder[0] != "INBOX" { recorded.append((root, "INBOX", folder[0])) }
        }
        for (i, name) in folder.enumerated() where !(underInbox && i == 0) {
            let (entry, exact) = naming.entry(name, reserved: folder.count == 1 ? ["inbox"] : []) {
                $0.hasSuffix(".sbd") ? "" : FolderNaming.decodedName(MailTree.stripMboxExtension($0))
            }
            if !exact { recorded.append((dir, entry, name)) }
            if i == folder.count - 1 { return (FileSystem.join(dir, entry), recorded) }
            dir = FileSystem.join(dir, entry + ".sbd")
        }
        return (dir, recorded)
    }

    @discardableResult
    public func write(_ metadata: MessageMetadata, content: UnsafeRawBufferPointer) throws -> DeliveryOutcome {
        let outcome = try sink(for: metadata.folder).write(metadata, content: content)
        counts.add(outcome, bytes: content.count)
        return outcome
    }

    /// An empty folder is an empty file.
    public func prepareFolder(_ folder: [String]) throws {
        _ = try sink(for: folder)
    }

    /// The folder's file, opened (created) on first need. A subfolder's parent gets its file
    /// too, empty where it holds no message: Thunderbird finds `A.sbd/` only beside a file `A`.
    private func sink(for folder: [String]) throws -> MboxStreamSink {
        let sink: MboxStreamSink
        if let s = sinks[folder] {
            sink = s
        } else {
            if folder.count > 1 { _ = try self.sink(for: MailTree.inbox(Array(folder.dropLast()))) }
            let (file, recorded) = placement(for: folder)
            try FileSystem.makeDirectory(FileSystem.directoryName(file), owner: owner)
            for (dir, entry, name) in recorded { try FolderNameRecord.note(dir, entry: entry, folder: [name], owner: owner) }
            sink = skipExistingContent ? try MboxStreamSink(restoringInto: file, variant: variant, log: log, bufferSize: 64 << 10)
                                       : try MboxStreamSink(path: file, variant: variant, log: log, bufferSize: 64 << 10)
            sinks[folder] = sink
        }
        // Messages come folder by folder, so the list is short and its last entry usually hits.
        if recent.last != folder {
            if let at = recent.firstIndex(of: folder) { recent.remove(at: at) }
            recent.append(folder)
            if recent.count > openLimit { try sinks[recent.removeFirst()]?.suspend() }
        }
        return sink
    }

    /// Every file is written out and synced before any gets its name, so a run that fails (a
    /// full disk) names none of them. Each file is let go after each step, so the descriptors
    /// stay under the limit; an mbox being added to has no name to wait for.
    public func finish() throws {
        for sink in sinks.values { try sink.writeOut() }
        for folder in Array(sinks.keys) {
            try sinks[folder]?.finish()
            sinks[folder] = nil
        }
    }

    public func discard() { sinks.values.forEach { $0.discard() } }
}
