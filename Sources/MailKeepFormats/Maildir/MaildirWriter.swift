import MailKeepIO
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Delivers messages into a Maildir tree the careful way.
///
/// Each message is written unnamed in `tmp/` (or under its name in `tmp/` where the file system
/// has no unnamed files), its mtime set to the received time, then given its name in `cur/` (or
/// `new/` for a new message without flags) in a way that refuses to replace anything (see
/// `FileSystem.deliver`). There is no fsync per message (it costs more than the rest of the
/// work); instead `finish()` syncs the file system once, and only then does the tool report
/// success. A run killed half-way leaves whole messages; running it again converges, because
/// names are deterministic (see `UniqueNamer`), and a message that was present under its name
/// with the same bytes before the run is skipped, never written twice and never overwritten;
/// different bytes under a taken name get the next name of `NameCandidates` instead.
///
/// Within one run a unique name is given once per folder, whatever the flags: folders that
/// merge into one (the INBOX under its names `INBOX`, `Inbox`, `inbox`; two entries that decode
/// to one name) can bring the same source name twice, and two files `1.a:2,S` and `1.a:2,RS`
/// in one `cur/` would be one message to Dovecot, which keys its uidlist on the part before
/// the separator. The second gets the next name instead, even when its bytes equal the
/// first's: a message the source holds twice is written twice, as in every other format, and
/// a rerun walks the same names and finds both.
///
/// Restoring into a tree a mail server serves adds files and directories beside the server's:
/// the writer never touches a file it did not create (`dovecot-uidlist`, `dovecot.index*`,
/// `dovecot-keywords` and the like stay as they are), and run as root in a tree that belongs to
/// another user, it gives what it creates to that user (`FileOwner`), so that the server can
/// read the messages at once.
public final class MaildirWriter: MessageSink {
    public struct Options: Sendable {
        public var naming: FolderNaming
        /// Skip a message whose exact bytes were in its target folder before the run (restore);
        /// see `ContentCensus`.
        public var skipExistingContent: Bool
        public init(naming: FolderNaming = FolderNaming(), skipExistingContent: Bool = false) {
            self.naming = naming
            self.skipExistingContent = skipExistingContent
        }
    }

    private final class Folder {
        let path: String
        /// unique name -> path relative to the folder (`cur/NAME:2,FS`), for the files that were
        /// there before this run. What this run writes is kept apart (`given`), so that only a
        /// file from before the run can make a message "already present"; a name another
        /// program takes meanwhile is found when the link refuses it (`Deliverer`).
        var existing: [String: String] = [:]
        /// The unique names this run gave in the folder, as 64-bit FNV-1a hashes (8 bytes a
        /// message rather than the name). The hash is deterministic, so on the rare false match
        /// a rerun passes over the same name again and still converges.
        var given: Set<UInt64> = []
        var census: ContentCensus?
        var namer: UniqueNamer
        /// Opened for the first message that came from an mbox.
        var mboxOrder: MboxOrderRecord?
        /// The folder's `dovecot-keywords`, read for the first message with keywords.
        var keywords: DovecotKeywords?
        /// Names that found no letter here (all 26 taken), each reported once.
        var keywordsLeftOut: Set<String> = []
        init(path: String, namer: UniqueNamer) {
            self.path = path
            self.namer = namer
        }
    }

    public let root: String
    private let options: Options
    /// Who gets what this run creates, when it is not this process (see `FileOwner`).
    private let owner: FileOwner?
    private let log: WarningLog
    private var folders: [[String]: Folder] = [:]
    fileprivate typealias Directories = (cur: DirectoryHandle, new: DirectoryHandle, tmp: DirectoryHandle)
    /// The folder of the last message, with its directories open: messages come folder by
    /// folder, and only one folder's are open, so a tree of thousands of folders does not run
    /// out of descriptors.
    private var current: (key: [String], folder: Folder, directories: Directories)?
    /// Folder changes since the writing thread last emptied its queue: each queued message
    /// holds its folder's three directories open, so the queue is emptied every
    /// `foldersPerDrain` folders to bound the descriptors held (1,500 folders under
    /// `ulimit -n 256`).
    private var foldersSinceDrain = 0
    private let foldersPerDrain = 16
    private let compare = WholeFileReader()
    private let deliverer: Deliverer
    /// Set when there is a second core to write on.
    private let thread: DeliveryThread?
    /// With a writing thread, a message counts as written when handed to it, and `finish()`
    /// moves those found there already by then to `alreadyPresent`.
    public private(set) var counts = SinkCounts()

    public init(root: String, options: Options = Options(), log: WarningLog) throws {
        self.root = root
        self.options = options
        self.log = log
        owner = FileOwner.inheriting(root)
        deliverer = Deliverer(separator: options.naming.infoSeparator, owner: owner)
        thread = sysconf(Int32(_SC_NPROCESSORS_ONLN)) > 1
            ? try DeliveryThread(separator: options.naming.infoSeparator, owner: owner) : nil
        try FileSystem.makeDirectory(root, owner: owner)
        // The top folder is a Maildir even when no message lands in it, so that clients (and
        // Python's mailbox) open the tree at its root.
        _ = try openFolder([])
    }

    @discardableResult
    public func write(_ meta: MessageMetadata, content: UnsafeRawBufferPointer) throws -> DeliveryOutcome {
        counts.counting(try deliver(meta, content: content), bytes: content.count)
    }

    private func deliver(_ meta: MessageMetadata, content: UnsafeRawBufferPointer) throws -> DeliveryOutcome {
        let (folder, directories) = try currentFolder(meta.folder)
        if options.skipExistingContent {
            let hash = meta.contentSHA256 ?? ContentHasher.sha256Hex(of: content)
            if try takeFromCensus(folder, hash) { return .alreadyPresent }
        }
        var candidates = folder.namer.name(for: meta, content: content)
        let asked = candidates.name
        while true {
            let given = Self.nameHash(candidates.name)
            if folder.given.contains(given) {
                candidates.next()
                continue
            }
            if !folder.existing.isEmpty, let present = folder.existing[candidates.name] {
                if try !deliverer.holdsSameBytes(FileSystem.join(folder.path, present), content) {
                    candidates.next()
                    continue
                }
                folder.given.insert(given)
                try recordMboxOrder(meta, candidates.name, in: folder)
                return .alreadyPresent
            }
            folder.given.insert(given)
            break
        }
        try recordMboxOrder(meta, candidates.name, in: folder)
        let flags = try flagsWithKeywordLetters(meta, in: folder)
        let delivery = Delivery(candidates: candidates, isNew: meta.isNew && meta.flags.isEmpty, flags: flags,
                                received: meta.received, directories: directories)
        if let thread {
            try thread.submit(delivery, content: content)
            return candidates.name == asked ? .written : .renamed
        }
        let outcome = try deliverer.deliver(delivery, content: content)
        if outcome == .alreadyPresent { return outcome }
        return outcome == .renamed || candidates.name != asked ? .renamed : .written
    }

    /// 64-bit FNV-1a of a unique name (see `Folder.given`).
    private static func nameHash(_ name: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return hash
    }

    /// The message's flags plus the letters its keywords have in this folder: the letters of
    /// the folder's `dovecot-keywords`, which gets the names it lacks (`DovecotKeywords.merge`)
    /// before any file uses their letters. A name that does not fit in Dovecot's 26 letters
    /// is reported, once per folder, and the message is stored without it.
    ///
    /// A letter the source left unnamed becomes `unknown-N`, the name Dovecot shows for it
    /// (and writes into its own `dovecot-keywords` when it meets one), keeping its letter where
    /// that is free here: so it never takes on this folder's keyword of the same letter, and
    /// no later name takes its letter.
    private func flagsWithKeywordLetters(_ meta: MessageMetadata, in folder: Folder) throws -> String {
        let hasLetters = meta.flags.utf8.contains { $0 >= 0x61 && $0 <= 0x7A }
        guard !meta.keywords.isEmpty || hasLetters else { return meta.flags }
        var names = try folder.keywords ?? DovecotKeywords.load(folder: folder.path)
        var letters: [UInt8] = []
        var wanted: [(name: String, preferred: UInt8?)] = meta.keywords.map { ($0, nil) }
        for b in meta.flags.utf8 {
            if b >= 0x61, b <= 0x7A {
                wanted.append(("unknown-\(b - 0x61)", b))
            } else {
                letters.append(b)
            }
        }
        if wanted.contains(where: { names.letter(for: $0.name) == nil }) {
            names = try DovecotKeywords.merge(wanted, intoFolder: folder.path, log: log, owner: owner)
        }
        folder.keywords = names
        var leftOut: [String] = []
        for (name, _) in wanted {
            if let letter = names.letter(for: name) {
                letters.append(letter)
            } else if folder.keywordsLeftOut.insert(name.lowercased()).inserted {
                leftOut.append(name)
            }
        }
        if !leftOut.isEmpty {
            let record = FileSystem.join(folder.path, DovecotKeywords.fileName)
            log.add(file: meta.source, offset: meta.sourceOffset,
                    "\(leftOut.count) keyword\(leftOut.count == 1 ? "" : "s") not kept with this message or later ones in \(DiagnosticFormat.quoted(record)): a Maildir folder holds at most \(DovecotKeywords.limit): \(MessageMetadata.listed(leftOut))")
        }
        return MaildirName.normalizedFlags(String(decoding: letters, as: UTF8.self))
    }

    /// Keeps the message's place in its mbox, its From_ line and state headers (`MboxOrderRecord`).
    private func recordMboxOrder(_ meta: MessageMetadata, _ unique: String, in folder: Folder) throws {
        guard let fromLine = meta.fromLine else { return }
        if folder.mboxOrder == nil { folder.mboxOrder = MboxOrderRecord(folder: folder.path, owner: owner) }
        try folder.mboxOrder?.note(unique: unique, fromLine: fromLine, headers: meta.mboxHeaders, headersOffset: meta.mboxHeadersOffset,
                                   mboxo: meta.quotedAsMboxo)
    }

    /// An empty folder is a Maildir with empty `cur/`, `new/` and `tmp/`.
    public func prepareFolder(_ folder: [String]) throws {
        _ = try openFolder(folder)
    }

    public func finish() throws {
        try current?.folder.mboxOrder?.flush()
        current = nil
        if let corrections = try thread?.finish() {
            counts.written -= corrections.alreadyPresent + corrections.renamed
            counts.alreadyPresent += corrections.alreadyPresent
            counts.renamed += corrections.renamed
            counts.bytesWritten -= corrections.bytesWritten
        }
        try FileSystem.syncFileSystem(containing: root)
    }

    /// Every message handed over is whole where it is; what the thread holds is still delivered.
    public func discard() {
        try? current?.folder.mboxOrder?.flush()
        current = nil
        _ = try? thread?.finish()
    }

    deinit {
        // A run that stopped early still delivers what it handed over, as it would without the thread.
        _ = try? thread?.finish()
    }

    /// The folder `key` with its cur/, new/ and tmp/ open; the previous folder's are closed.
    private func currentFolder(_ key: [String]) throws -> (Folder, Directories) {
        if let current, current.key == key { return (current.folder, current.directories) }
        try current?.folder.mboxOrder?.flush()
        current?.folder.mboxOrder = nil
        current = nil
        foldersSinceDrain += 1
        if foldersSinceDrain >= foldersPerDrain {
            foldersSinceDrain = 0
            try thread?.drain()
        }
        let folder = try openFolder(key)
        let directories = Directories(cur: try DirectoryHandle(FileSystem.join(folder.path, "cur")),
                                      new: try DirectoryHandle(FileSystem.join(folder.path, "new")),
                                      tmp: try DirectoryHandle(FileSystem.join(folder.path, "tmp")))
        current = (key, folder, directories)
        return (folder, directories)
    }

    private func openFolder(_ folder: [String]) throws -> Folder {
        if let f = folders[folder] { return f }
        let path = try options.naming.makeDirectory(for: folder, under: root, owner: owner)
        let f = Folder(path: path, namer: UniqueNamer(naming: options.naming))
        for sub in ["cur", "new", "tmp"] {
            let dir = FileSystem.join(path, sub)
            if try FileSystem.kind(dir) == .symlink {
                throw MailKeepError.refused(path: dir, reason: "is a symlink; refusing to write through it")
            }
            try FileSystem.makeDirectory(dir, owner: owner)
        }
        for sub in ["cur", "new"] {
            for name in try FileSystem.list(FileSystem.join(path, sub)) where !name.hasPrefix(".") {
                f.existing[MaildirName.parse(name, extraSeparator: options.naming.infoSeparator).unique] = sub + "/" + name
            }
        }
        folders[folder] = f
        return f
    }

    /// Whether the folder held this content before the run (read once, on first need).
    private func takeFromCensus(_ folder: Folder, _ hash: String) throws -> Bool {
        if folder.census == nil {
            var census = ContentCensus()
            for relative in folder.existing.values {
                let (bytes, _) = try compare.load(FileSystem.join(folder.path, relative))
                census.add(ContentHasher.sha256Hex(of: bytes))
            }
            folder.census = census
        }
        return folder.census?.take(hash) == true
    }
}

/// One message on its way into a folder: the rest of `MaildirWriter.write` after the names
/// known to be taken have been passed over.
private struct Delivery {
    let candidates: NameCandidates
    let isNew: Bool
    let flags: String
    let received: Int64?
    let directories: MaildirWriter.Directories
}

/// Delivers messages, and decides what a name taken meanwhile means: the same bytes already
/// there (the same message given twice, or another program delivering), or other bytes, which
/// send the message on to its next name.
private final class Deliverer {
    private let separator: Character
    private let owner: FileOwner?
    private let compare = WholeFileReader()

    init(separator: Character, owner: FileOwner?) {
        self.separator = separator
        self.owner = owner
    }

    /// Written under the first candidate name, under a later one, or found there already.
    func deliver(_ delivery: Delivery, content: UnsafeRawBufferPointer) throws -> DeliveryOutcome {
        let first = delivery.candidates.attempt
        var candidates = delivery.candidates
        let directory = delivery.isNew ? delivery.directories.new : delivery.directories.cur
        while true {
            let unique = candidates.name
            // A new message with keywords keeps them in `new/`, as Dovecot saves one.
            let fileName = delivery.isNew && delivery.flags.isEmpty
                ? unique : MaildirName.fileName(unique: unique, flags: delivery.flags, separator: separator)
            if try FileSystem.deliver(content, modified: delivery.received, as: fileName, in: directory,
                                      staging: delivery.directories.tmp, stagingName: unique, owner: owner) {
                return candidates.attempt == first ? .written : .renamed
            }
            if try holdsSameBytes(FileSystem.join(directory.path, fileName), content) { return .alreadyPresent }
            candidates.next()
        }
    }

    func holdsSameBytes(_ path: String, _ content: UnsafeRawBufferPointer) throws -> Bool {
        let (bytes, _) = try compare.load(path)
        return bytes.count == content.count && (bytes.count == 0 || memcmp(bytes.baseAddress!, content.baseAddress!, bytes.count) == 0)
    }
}

/// Delivers messages on a second thread, so that on two cores the source is read and split
/// while the messages before are written (the system calls of a delivery cost about as much
/// as the reading). Each message waits as a copy, at most `budget` bytes of them at once, so
/// memory stays flat. A failure stops the thread; the writer reports it at its next call.
///
/// Either side sleeps only when it must (nothing queued; the budget full) and is woken only
/// in batches (`batch` bytes queued; the queue down to half the budget): a wake-up per
/// message would cost more system calls than the delivery itself.
private final class DeliveryThread: @unchecked Sendable {
    private struct Job {
        let delivery: Delivery
        let content: UnsafeMutableRawBufferPointer
    }

    private let deliverer: Deliverer
    private let budget = 8 << 20
    private let batch = 1 << 20
    private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let changed = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var thread = pthread_t()
    // Guarded by `lock`.
    private var jobs: [Job] = []
    private var head = 0
    private var queuedBytes = 0
    private var closed = false
    private var writerWaits = false
    private var submitterWaits = false
    /// A job taken off the queue and not yet delivered.
    private var inFlight = false
    /// Set while `drain()` waits: the writer delivers without waiting for a full batch.
    private var draining = false
    private var failure: Error?
    /// What deliveries turned out to be, beyond the `.written` the writer assumed; its
    /// `bytesWritten` are the bytes of messages found present, which were not written after all.
    private var corrections = SinkCounts()
    private var joined = false

    init(separator: Character, owner: FileOwner?) throws {
        deliverer = Deliverer(separator: separator, owner: owner)
        pthread_mutex_init(lock, nil)
        pthread_cond_init(changed, nil)
        let context = Unmanaged.passRetained(self).toOpaque()
        let created = pthread_create(&thread, nil, { context in
            let this = Unmanaged<DeliveryThread>.fromOpaque(context!).takeRetainedValue()
            this.run()
            return nil
        }, context)
        guard created == 0 else {
            Unmanaged<DeliveryThread>.fromOpaque(context).release()
            throw MailKeepError.io(path: "-", operation: "start a writing thread", errno: created)
        }
    }

    deinit {
        for job in jobs[head...] { job.content.deallocate() }
        pthread_cond_destroy(changed)
        pthread_mutex_destroy(lock)
        changed.deallocate()
        lock.deallocate()
    }

    /// Queues a copy of `content`; throws the failure of an earlier delivery, if any.
    func submit(_ delivery: Delivery, content: UnsafeRawBufferPointer) throws {
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: max(content.count, 1), alignment: 16)
        if content.count > 0 { copy.baseAddress!.copyMemory(from: content.baseAddress!, byteCount: content.count) }
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        if failure == nil && queuedBytes > 0 && queuedBytes + content.count > budget {
            submitterWaits = true
            while failure == nil && queuedBytes > budget / 2 { pthread_cond_wait(changed, lock) }
            submitterWaits = false
        }
        if let failure {
            copy.deallocate()
            throw failure
        }
        jobs.append(Job(delivery: delivery, content: UnsafeMutableRawBufferPointer(rebasing: copy[0..<content.count])))
        queuedBytes += content.count
        if writerWaits && queuedBytes >= batch { pthread_cond_signal(changed) }
    }

    /// Waits until every queued message is delivered (and lets go of the queue, which holds
    /// their directories open); throws the failure of a delivery, if any.
    func drain() throws {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        draining = true
        pthread_cond_broadcast(changed)
        while failure == nil && (head < jobs.count || inFlight) {
            submitterWaits = true
            pthread_cond_wait(changed, lock)
        }
        submitterWaits = false
        draining = false
        if let failure { throw failure }
        jobs.removeAll()
        head = 0
    }

    /// Waits until every queued message is delivered and stops the thread. Returns the messages
    /// that turned out to be there already or went under another name; throws the first failure.
    func finish() throws -> SinkCounts {
        guard !joined else { return SinkCounts() }
        joined = true
        pthread_mutex_lock(lock)
        closed = true
        pthread_cond_broadcast(changed)
        pthread_mutex_unlock(lock)
        pthread_join(thread, nil)
        if let failure { throw failure }
        return corrections
    }

    private func run() {
        pthread_mutex_lock(lock)
        while true {
            if head == jobs.count && !closed {
                writerWaits = true
                while (head == jobs.count || (queuedBytes < batch && !draining)) && !closed { pthread_cond_wait(changed, lock) }
                writerWaits = false
            }
            if head == jobs.count || failure != nil { break }
            let job = jobs[head]
            head += 1
            inFlight = true
            if head >= 1024 && head * 2 >= jobs.count {
                jobs.removeFirst(head)
                head = 0
            }
            pthread_mutex_unlock(lock)
            var result: Result<DeliveryOutcome, Error>
            do {
                result = .success(try deliverer.deliver(job.delivery, content: UnsafeRawBufferPointer(job.content)))
            } catch {
                result = .failure(error)
            }
            let size = job.content.count
            job.content.deallocate()
            pthread_mutex_lock(lock)
            inFlight = false
            queuedBytes -= size
            switch result {
            case .success(.written): break
            case .success(.renamed): corrections.renamed += 1
            case .success(.alreadyPresent):
                corrections.alreadyPresent += 1
                corrections.bytesWritten += Int64(size)
            case .failure(let error): failure = error
            }
            if submitterWaits && (queuedBytes <= budget / 2 || failure != nil || draining) { pthread_cond_signal(changed) }
        }
        pthread_mutex_unlock(lock)
    }
}
