import MailKeepIO
import MailKeepFormats
import MailKeepArchive
/// The sources named on a command line, read one after the other.
///
/// With one source its folders are kept as they are; with several, each source's folders go
/// under a folder named after it (`a.mbox` -> `a/...`), so two inboxes do not merge. A
/// directory that is an unpacked bundle (or holds only one) is read as that bundle (`BundleTree`);
/// a directory holding only bundles is read as those bundles.
///
/// Bundles are read as one mailbox's history (`BundleHistory`) when one of them is an
/// increment or a state is asked for (`asOf`, `deleted`); every source must then be a bundle.
public final class SourceList: SelectiveSource {
    public enum Kind {
        case tree(MailTree), mbox(String), message(String), bundle(BundleReader), bundleTree(BundleTree), mboxStream(ByteSource)
        case history(BundleHistory)
    }
    public let sources: [(path: String, kind: Kind)]
    private let log: WarningLog
    private let nameMboxFolders: Bool
    private let extraSeparator: Character?
    private let mboxDialect: MboxDialect
    /// Maildir files an earlier backup describes, which are then not read (`MailTreeReader`).
    public var knownFiles: KnownFiles?

    /// With `nameMboxFolders` an mbox always becomes a folder named after its file, even as
    /// the only source (how bundles store mbox files).
    /// `asOf` and `deleted` read the bundles as a history and give the state they name
    /// (`BundleHistory`).
    public init(_ paths: [String], extraSeparator: Character? = nil, nameMboxFolders: Bool = false,
                mboxDialect: MboxDialect = .auto, asOf: Int64? = nil, deleted: Bool = false, log: WarningLog) throws {
        self.log = log
        self.mboxDialect = mboxDialect
        self.extraSeparator = extraSeparator
        self.nameMboxFolders = nameMboxFolders
        var sources: [(String, Kind)] = []
        for path in paths {
            if path == "-" {
                // stdin holds an mbox stream or a bundle; its first bytes say which.
                let stream = try openDecompressed(FileHandleFD.standardInput(), threads: 0)
                let peekable = PeekableSource(stream)
                let prefix = try peekable.peek(512)
                if prefix.withUnsafeBytes(TarReader.looksLikeTar) {
                    sources.append((path, .bundle(try BundleReader(stream: peekable, log: log))))
                } else {
                    sources.append((path, .mboxStream(peekable)))
                }
                continue
            }
            switch try FileSystem.kind(path, followLinks: true) {
            case .directory:
                if let top = try BundleTree.top(at: path) {
                    sources.append((path, .bundleTree(try BundleTree(root: top, log: log))))
                } else if let bundles = try Self.bundleFiles(in: path) {
                    for bundle in bundles { sources.append((bundle, .bundle(try BundleReader(path: bundle, log: log)))) }
                } else {
                    sources.append((path, .tree(try MailTree(root: path, log: log))))
                }
            case .regular:
                let kind: MessageFileKind
                do {
                    kind = try MessageFileKind.sniff(path)
                } catch {
                    // A volume set damaged at the start of its first volume: the bundle reader
                    // reads past the damage into the next volumes, which the sniff cannot see.
                    guard VolumeSource.isFirstVolume(path) else { throw error }
                    kind = .bundle
                }
                switch kind {
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
        self.sources = try Self.asHistory(sources, asOf: asOf, deleted: deleted, log: log) ?? sources
    }

    /// The bundles as one history, when one is an increment or keeps a history (and its
    /// manifest is there), or a state was asked for; nil when they are sources of their own.
    private static func asHistory(_ sources: [(String, Kind)], asOf: Int64?, deleted: Bool, log: WarningLog) throws -> [(String, Kind)]? {
        var bundles: [StoredBundle] = []
        var others: [String] = []
        for (path, kind) in sources {
            switch kind {
            case .bundle(let bundle): bundles.append(bundle)
            case .bundleTree(let tree): bundles.append(tree)
            default: others.append(path)
            }
        }
        // An increment whose manifest was lost cannot take its place in a history; given on its
        // own it is read as any damaged bundle, its messages given back by their file names.
        guard asOf != nil || deleted || bundles.contains(where: { ($0.header?.hasStates ?? false) && $0.manifestSHA256 != nil }) else { return nil }
        if let other = others.first {
            throw MailKeepError.invalidArgument(reason: "\(other) is not a bundle: a history (increments, --as-of, --deleted) is read from bundles only")
        }
        guard !bundles.isEmpty else { return nil }
        let history = try BundleHistory(bundles, asOf: asOf, deleted: deleted, log: log)
        return [(history.chosenMember.path, .history(history))]
    }

    /// The bundles in a directory that holds nothing else (hidden files aside), in name order,
    /// a volume set by its first volume; nil for any other directory.
    public static func bundleFiles(in dir: String) throws -> [String]? {
        var found: [String] = []
        for name in try FileSystem.list(dir).sorted() where !name.hasPrefix(".") {
            let path = FileSystem.join(dir, name)
            guard try FileSystem.kind(path, followLinks: true) == .regular else { return nil }
            // A later volume of a set is read through its first.
            if let dot = name.lastIndex(of: "."), name[name.index(after: dot)...].count == 3,
               name[name.index(after: dot)...].allSatisfy(\.isNumber) {
                if VolumeSource.isFirstVolume(name) { found.append(path) }
                continue
            }
            guard (try? MessageFileKind.sniff(path)) == .bundle else { return nil }
            found.append(path)
        }
        return found.isEmpty ? nil : found
    }

    /// The history the bundles were read as, if they were.
    public var history: BundleHistory? {
        guard case .history(let history)? = sources.first?.kind else { return nil }
        return history
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
                let folders = Set(bundle.entries.values.map(\.folder)).union(bundle.header?.folders ?? []).sorted()
                return folders.map { prefix(source.path) + ($0.isEmpty ? [] : $0.split(separator: "/").map(String.init)) }
            case .bundleTree(let tree):
                let folders = Set(tree.manifest.entries.values.map(\.folder)).union(tree.header?.folders ?? []).sorted()
                return folders.map { prefix(source.path) + ($0.isEmpty ? [] : $0.split(separator: "/").map(String.init)) }
            case .history(let history): return history.folders
            default: return [prefix(source.path, isMbox: isMbox(source.kind))]
            }
        }
    }

    public func forEachMessage(_ body: (MessageMetadata, UnsafeRawBufferPointer) throws -> Void) throws {
        try forEachSource { source, pre in
            try source.forEachMessage { meta, content in
                handedOn += 1
                if pre.isEmpty { return try body(meta, content) }
                var m = meta
                m.folder = pre + meta.folder
                try body(m, content)
            }
        }
    }

    private func forEachSource(_ body: (MessageSource, [String]) throws -> Void) throws {
        emptySources = []
        for source in sources {
            let pre = prefix(source.path, isMbox: isMbox(source.kind))
            let reader: MessageSource
            switch source.kind {
            case .tree(let tree):
                let treeReader = MailTreeReader(tree, extraSeparator: extraSeparator, mboxDialect: mboxDialect, log: log)
                treeReader.knownFiles = knownFiles
                reader = treeReader
            case .mbox(let path): reader = MboxUpToDamage(try MboxReader.opening(path, dialect: mboxDialect, log: log), log: log)
            case .mboxStream(let stream): reader = MboxUpToDamage(MboxReader(stream, folder: [], dialect: mboxDialect, log: log), log: log)
            case .message(let path): reader = SingleMessageReader(path: path, folder: [])
            case .bundle(let bundle): reader = bundle
            case .bundleTree(let tree): reader = tree
            case .history(let history): reader = history
            }
            // A bundle is counted by its manifest (a selective read hands on only what it picks).
            let counted = CountingSource(reader)
            var listed = 0
            handedOn = 0
            if case .bundle(let bundle) = source.kind {
                listed = bundle.order.count
                try body(reader, pre)
            } else if case .history = source.kind {
                // A state may rightly hold nothing (nothing was deleted): not a mistyped path.
                try body(reader, pre)
                continue
            } else {
                try body(counted, pre)
            }
            // A bundle whose manifest lines were all unusable can still hand on messages.
            if listed + counted.count + handedOn == 0 {
                emptySources.append(source.path)
                log.add(file: source.path, offset: nil, "no mail found")
            }
        }
    }

    /// Messages of the current source handed on by the readers themselves (a bundle's).
    private var handedOn = 0

    /// The sources that held no message at all, once they have been read.
    public private(set) var emptySources: [String] = []

    /// True when every source has been read and none held a message: there is nothing to
    /// write, and what was started is discarded rather than left as an empty backup.
    public var holdsNoMail: Bool { !sources.isEmpty && emptySources.count == sources.count }
}

/// Passes messages through and counts them: a source that holds none is worth a warning, as
/// a mistyped path or an emptied mailbox would otherwise give an empty backup and exit 0.
private final class CountingSource: MessageSource {
    private let inner: MessageSource
    private(set) var count = 0
    init(_ inner: MessageSource) { self.inner = inner }

    func forEachMessage(_ body: (MessageMetadata, UnsafeRawBufferPointer) throws -> Void) throws {
        try inner.forEachMessage { meta, content in
            count += 1
            try body(meta, content)
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
                try source.forEachSelected(selection) { meta, content, facts in
                    handedOn += 1
                    try body(meta, content, facts)
                }
                return
            }
            try source.forEachMessage { meta, content in
                handedOn += 1
                var m = meta
                m.folder = pre + meta.folder
                let facts = LazyFacts(content)
                if selection.matches(m, size: Int64(content.count), facts: { facts.value }) { try body(m, content, facts) }
            }
        }
    }
}

/// An mbox whose (compressed) stream is damaged or cut short: every whole message before the
/// damage is given back, the message the damage cuts is not (it never reaches the reader's
/// end), and the damage is reported where it begins, with the compressed offset; the run goes
/// on and exits 1. Errors that are not the stream's (the sink's) still stop the run.
private final class MboxUpToDamage: MessageSource {
    /// An error from the code messages go to, kept apart from the stream's own.
    private struct HandlerError: Error { let error: Error }
    /// How the decompressors describe damage to their stream (XZ.swift, Gzip.swift).
    private static let damage = ["truncated xz stream", "corrupt xz data", "truncated gzip stream", "corrupt gzip data"]

    private let reader: MessageSource
    private let log: WarningLog

    init(_ reader: MessageSource, log: WarningLog) {
        self.reader = reader
        self.log = log
    }

    func forEachMessage(_ body: (MessageMetadata, UnsafeRawBufferPointer) throws -> Void) throws {
        do {
            try reader.forEachMessage { meta, content in
                do { try body(meta, content) } catch { throw HandlerError(error: error) }
            }
        } catch let error as HandlerError {
            throw error.error
        } catch let error as MailKeepError {
            guard case .malformed = error, Self.damage.contains(where: { error.reason.hasPrefix($0) }) else { throw error }
            log.add(file: error.file ?? "", offset: error.offset,
                    "\(error.reason): the messages before this point were read; the one it cuts and any after it are not")
            return
        }
        if let failed = (reader as? MboxReader)?.endChecked?.failedEndCheck {
            log.add(file: failed.file ?? "", offset: failed.offset,
                    "\(failed.reason): the check of the decoded data failed; every message was decoded and given back")
        }
    }
}
