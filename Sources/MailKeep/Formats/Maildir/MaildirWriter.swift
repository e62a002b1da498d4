#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Delivers messages into a Maildir tree the careful way.
///
/// Each message is written to `tmp/`, its mtime set to the received time, then renamed into
/// `cur/` (or `new/` for a new message without flags) with a rename that refuses to replace
/// anything. There is no fsync per message (it costs more than the rest of the work); instead
/// `finish()` syncs the file system once, and only then does the tool report success. A run
/// killed half-way leaves whole messages and, at worst, a file in `tmp/`; running it again
/// converges, because names are deterministic (see `UniqueNamer`), and a message already
/// present under its name with the same bytes is skipped, never written twice and never
/// overwritten; different bytes under a taken name get the next name of `NameCandidates` instead.
public final class MaildirWriter: MessageSink {
    public struct Options: Sendable {
        public var naming: FolderNaming
        /// Skip a message whose exact bytes are already anywhere in its target folder (restore).
        public var skipExistingContent: Bool
        public init(naming: FolderNaming = FolderNaming(), skipExistingContent: Bool = false) {
            self.naming = naming
            self.skipExistingContent = skipExistingContent
        }
    }

    private final class Folder {
        let path: String
        /// unique name -> path relative to the folder (`cur/NAME:2,FS`), for the files that were
        /// there before this run (and names found taken during it). What this run writes is not
        /// added: its names do not repeat, and the rename refuses a taken one anyway, so memory
        /// stays flat however many messages pass.
        var existing: [String: String] = [:]
        var existingHashes: Set<String>?
        var namer: UniqueNamer
        init(path: String, namer: UniqueNamer) {
            self.path = path
            self.namer = namer
        }
    }

    public let root: String
    private let options: Options
    private let log: WarningLog
    private var folders: [[String]: Folder] = [:]
    private let compare = WholeFileReader()
    public private(set) var written = 0
    public private(set) var skipped = 0
    public private(set) var bytesWritten: Int64 = 0
    /// Folder path -> (written, skipped), for summaries.
    public private(set) var perFolder: [String: (written: Int, skipped: Int)] = [:]

    public init(root: String, options: Options = Options(), log: WarningLog) throws {
        self.root = root
        self.options = options
        self.log = log
        try FileSystem.makeDirectory(root)
        // The top folder is a Maildir even when no message lands in it, so that clients (and
        // Python's mailbox) open the tree at its root.
        _ = try openFolder([])
    }

    public func write(_ meta: MessageMetadata, content: UnsafeRawBufferPointer) throws {
        let folder = try openFolder(meta.folder)
        var hash: String?
        if options.skipExistingContent {
            let h = meta.contentSHA256 ?? ContentHasher.sha256Hex(of: content)
            hash = h
            if try existingHashes(folder).contains(h) {
                count(meta, written: false)
                return
            }
        }
        var candidates = folder.namer.name(for: meta, content: content)
        while true {
            let unique = candidates.name
            if let present = folder.existing[unique] {
                if try sameBytes(FileSystem.join(folder.path, present), content) {
                    count(meta, written: false)
                    return
                }
                candidates.next()
                continue
            }
            let final = meta.isNew && meta.flags.isEmpty
                ? "new/" + unique
                : "cur/" + MaildirName.fileName(unique: unique, flags: meta.flags, separator: options.naming.infoSeparator)
            let tmp = FileSystem.join(folder.path, "tmp/" + unique)
            try writeTemporary(tmp, content: content, received: meta.received)
            if try FileSystem.renameNoReplace(tmp, FileSystem.join(folder.path, final)) {
                folder.existingHashes?.insert(hash ?? meta.contentSHA256 ?? ContentHasher.sha256Hex(of: content))
                bytesWritten += Int64(content.count)
                count(meta, written: true)
                return
            }
            FileSystem.remove(tmp)
            folder.existing[unique] = final
        }
    }

    public func finish() throws {
        try FileSystem.syncFileSystem(containing: root)
    }

    private func count(_ meta: MessageMetadata, written isWritten: Bool) {
        var entry = perFolder[meta.folderPath, default: (0, 0)]
        if isWritten {
            written += 1
            entry.written += 1
        } else {
            skipped += 1
            entry.skipped += 1
        }
        perFolder[meta.folderPath] = entry
    }

    private func writeTemporary(_ path: String, content: UnsafeRawBufferPointer, received: Int64?) throws {
        let file: FileHandleFD
        do {
            file = try FileHandleFD.create(path)
        } catch MailKeepError.io(_, _, EEXIST) {
            // A leftover of an interrupted run under the same deterministic name.
            FileSystem.remove(path)
            file = try FileHandleFD.create(path)
        }
        do {
            try file.write(content)
            if let received { try file.setModificationTime(received) }
        } catch {
            FileSystem.remove(path)
            throw error
        }
    }

    private func openFolder(_ folder: [String]) throws -> Folder {
        if let f = folders[folder] { return f }
        let path = FileSystem.join(root, options.naming.relativeDirectory(folder))
        let f = Folder(path: path, namer: UniqueNamer(naming: options.naming))
        for sub in ["cur", "new", "tmp"] {
            let dir = FileSystem.join(path, sub)
            if try FileSystem.kind(dir) == .symlink {
                throw MailKeepError.refused(path: dir, reason: "is a symlink; refusing to write through it")
            }
            try FileSystem.makeDirectory(dir)
        }
        for sub in ["cur", "new"] {
            for name in try FileSystem.list(FileSystem.join(path, sub)) where !name.hasPrefix(".") {
                f.existing[MaildirName.parse(name, extraSeparator: options.naming.infoSeparator).unique] = sub + "/" + name
            }
        }
        folders[folder] = f
        return f
    }

    private func existingHashes(_ folder: Folder) throws -> Set<String> {
        if let h = folder.existingHashes { return h }
        var hashes = Set<String>()
        for relative in folder.existing.values {
            let (bytes, _) = try compare.load(FileSystem.join(folder.path, relative))
            hashes.insert(ContentHasher.sha256Hex(of: bytes))
        }
        folder.existingHashes = hashes
        return hashes
    }

    private func sameBytes(_ path: String, _ content: UnsafeRawBufferPointer) throws -> Bool {
        let (bytes, _) = try compare.load(path)
        return bytes.count == content.count && (bytes.count == 0 || memcmp(bytes.baseAddress!, content.baseAddress!, bytes.count) == 0)
    }
}
