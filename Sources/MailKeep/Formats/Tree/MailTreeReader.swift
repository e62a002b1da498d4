#if canImport(Glibc)
import Glibc
#endif

/// Reads the messages of a `MailTree` in order: folder by folder, `cur/` then `new/`, names
/// sorted, so two runs over the same tree see the same sequence.
public final class MailTreeReader: MessageSource {
    public let tree: MailTree
    private let log: WarningLog
    private let extraSeparator: Character?
    private let files = WholeFileReader()

    public init(_ tree: MailTree, extraSeparator: Character? = nil, log: WarningLog) {
        self.tree = tree
        self.extraSeparator = extraSeparator
        self.log = log
    }

    public func forEachMessage(_ body: (MessageMetadata, UnsafeRawBufferPointer) throws -> Void) throws {
        for unit in tree.units {
            switch unit {
            case let .maildir(path, folder):
                for sub in ["cur", "new"] {
                    let dir = FileSystem.join(path, sub)
                    guard try FileSystem.kind(dir) == .directory else { continue }
                    for name in try FileSystem.list(dir) where !name.hasPrefix(".") {
                        let file = FileSystem.join(dir, name)
                        let bytes: UnsafeRawBufferPointer
                        let mtime: Int64
                        do {
                            (bytes, mtime) = try files.load(file)
                        } catch MailKeepError.io(_, _, ELOOP) {
                            log.add(file: file, offset: nil, "symlink not followed")
                            continue
                        } catch MailKeepError.io(_, _, ENOENT) {
                            // Another program moved it (new/ to cur/, or a flag change) while we read.
                            log.add(file: file, offset: nil, "vanished while the folder was read")
                            continue
                        } catch MailKeepError.refused(_, let reason) {
                            log.add(file: file, offset: nil, reason)
                            continue
                        }
                        let parsed = MaildirName.parse(name, extraSeparator: extraSeparator)
                        let meta = MessageMetadata(folder: folder, flags: parsed.flags, isNew: sub == "new",
                                                   received: Self.receivedTime(mtime: mtime, unique: parsed.unique),
                                                   uniqueName: parsed.unique, source: file)
                        try body(meta, bytes)
                    }
                }
            case let .mbox(path, folder):
                try readingOneFile(path, body) { try MboxReader(openSource(path), folder: folder, log: log).forEachMessage($0) }
            case let .message(path, folder):
                try readingOneFile(path, body) { try SingleMessageReader(path: path, folder: folder, files: files).forEachMessage($0) }
            }
        }
    }

    /// Reads one file of the tree. A problem with that file (damaged, unreadable) is reported and
    /// the tree goes on, so one bad mbox does not stop a backup of the rest; a failure to write
    /// what was read (disk full) still stops the run.
    private func readingOneFile(_ path: String, _ body: (MessageMetadata, UnsafeRawBufferPointer) throws -> Void,
                                _ read: ((MessageMetadata, UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        try withoutActuallyEscaping(body) { body in
            do {
                try read { meta, content in
                    do { try body(meta, content) } catch { throw WritingFailed(underlying: error) }
                }
            } catch let failure as WritingFailed {
                throw failure.underlying
            } catch let error as MailKeepError {
                log.add(file: path, offset: nil, "not read to its end: \(error)")
            }
        }
    }

    /// The file's mtime is the received time; where it is unset (0), the unique name's leading
    /// timestamp stands in.
    static func receivedTime(mtime: Int64, unique: String) -> Int64 {
        if mtime > 0 { return mtime }
        let digits = unique.prefix { $0.isASCII && $0.isNumber }
        return Int64(digits) ?? mtime
    }
}

/// One message in a file of its own (`.eml`).
public struct SingleMessageReader: MessageSource {
    let path: String
    let folder: [String]
    let files: WholeFileReader

    public init(path: String, folder: [String], files: WholeFileReader = WholeFileReader()) {
        self.path = path
        self.folder = folder
        self.files = files
    }

    public func forEachMessage(_ body: (MessageMetadata, UnsafeRawBufferPointer) throws -> Void) throws {
        let (bytes, mtime) = try files.load(path)
        try body(MessageMetadata(folder: folder, received: mtime, source: path), bytes)
    }
}

/// The sources named on a command line, read one after the other.
///
/// With one source its folders are kept as they are; with several, each source's folders go
/// under a folder named after it (`a.mbox` -> `a/...`), so two inboxes do not merge.
public final class SourceList: SelectiveSource {
    public enum Kind { case tree(MailTree), mbox(String), message(String), bundle(BundleReader), mboxStream(ByteSource) }
    public let sources: [(path: String, kind: Kind)]
    private let log: WarningLog
    private let nameMboxFolders: Bool
    private let extraSeparator: Character?

    /// With `nameMboxFolders` an mbox always becomes a folder named after its file, even as
    /// the only source (how bundles store mbox files).
    public init(_ paths: [String], extraSeparator: Character? = nil, nameMboxFolders: Bool = false, log: WarningLog) throws {
        self.log = log
        self.extraSeparator = extraSeparator
        self.nameMboxFolders = nameMboxFolders
        var sources: [(String, Kind)] = []
        for path in paths {
            if path == "-" {
                // stdin holds an mbox stream or a bundle; its first bytes say which.
                let stream = try openDecompressed(FileHandleFD.standardInput(), threads: 0)
                let peekable = PeekableSource(stream)
                let prefix = try peekable.peek(512)
                if prefix.withUnsafeBytes(BundleReader.looksLikeTar) {
                    sources.append((path, .bundle(try BundleReader(stream: peekable, log: log))))
                } else {
                    sources.append((path, .mboxStream(peekable)))
                }
                continue
            }
            switch try FileSystem.kind(path, followLinks: true) {
            case .directory:
                sources.append((path, .tree(try MailTree(root: path, log: log))))
            case .regular:
                switch try MessageFileKind.sniff(path) {
                case .mbox: sources.append((path, .mbox(path)))
                case .message: sources.append((path, .message(path)))
                case .bundle: sources.append((path, .bundle(try BundleReader(path: path, log: log))))
                case .other:
                    throw MailKeepError.unrecognized(path: path, reason: "not an mbox, a Maildir, an .eml file or a bundle")
                }
            case .missing:
                throw MailKeepError.io(path: path, operation: "open", errno: 2)
            default:
                throw MailKeepError.unrecognized(path: path, reason: "not a file or directory")
            }
        }
        self.sources = sources
    }

    /// The folder prefix for a source: none when it is the only one.
    private func prefix(_ path: String, isMbox: Bool = false) -> [String] {
        guard sources.count > 1 || (isMbox && nameMboxFolders) else { return [] }
        return [MailTree.stripMboxExtension(FileSystem.baseName(path == "-" ? "stdin" : path))]
    }

    private func isMbox(_ kind: Kind) -> Bool {
        switch kind {
        case .mbox, .mboxStream: return true
        default: return false
        }
    }

    /// Every folder the sources hold (for an mbox: its one folder).
    public var folders: [[String]] {
        sources.flatMap { source -> [[String]] in
            switch source.kind {
            case .tree(let tree): return tree.folders.map { prefix(source.path) + $0 }
            case .bundle(let bundle):
                let folders = Set(bundle.entries.values.map(\.folder)).sorted()
                return folders.map { prefix(source.path) + ($0.isEmpty ? [] : $0.split(separator: "/").map(String.init)) }
            default: return [prefix(source.path, isMbox: isMbox(source.kind))]
            }
        }
    }

    public func forEachMessage(_ body: (MessageMetadata, UnsafeRawBufferPointer) throws -> Void) throws {
        try forEachSource { source, pre in
            try source.forEachMessage { meta, content in
                if pre.isEmpty { return try body(meta, content) }
                var m = meta
                m.folder = pre + meta.folder
                try body(m, content)
            }
        }
    }

    private func forEachSource(_ body: (MessageSource, [String]) throws -> Void) throws {
        for source in sources {
            let pre = prefix(source.path, isMbox: isMbox(source.kind))
            let reader: MessageSource
            switch source.kind {
            case .tree(let tree): reader = MailTreeReader(tree, extraSeparator: extraSeparator, log: log)
            case .mbox(let path): reader = MboxReader(try openSource(path), folder: [], log: log)
            case .mboxStream(let stream): reader = MboxReader(stream, folder: [], log: log)
            case .message(let path): reader = SingleMessageReader(path: path, folder: [])
            case .bundle(let bundle): reader = bundle
            }
            try body(reader, pre)
        }
    }
}

extension SourceList {
    /// Each source selects in its own best way; folder prefixes (several sources) apply before
    /// selection, so `--folder` sees the folder as it will be written.
    public func forEachSelectedDirectly(_ selection: Selection,
                                        _ body: (MessageMetadata, UnsafeRawBufferPointer, LazyFacts) throws -> Void) throws {
        try forEachSource { source, pre in
            if pre.isEmpty {
                try source.forEachSelected(selection, body)
                return
            }
            try source.forEachMessage { meta, content in
                var m = meta
                m.folder = pre + meta.folder
                let facts = LazyFacts(content)
                if selection.matches(m, size: Int64(content.count), facts: { facts.value }) { try body(m, content, facts) }
            }
        }
    }
}

/// Marks an error that came from the consumer of messages, not from the file being read.
private struct WritingFailed: Error {
    let underlying: Error
}
