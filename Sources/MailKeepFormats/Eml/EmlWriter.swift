import MailKeepIO
/// Writes one `.eml` file per message, in a directory per folder.
///
/// An `.eml` file holds only the message, so flags and the From_ line are not kept (the file's
/// mtime keeps the received time). Names are deterministic (`TIME-SHA256PREFIX.eml`, then the
/// next name of `NameCandidates`), so a second run finds its files and writes nothing twice,
/// while a message the source holds twice is written twice (`NAME`, `NAME~1`): a file counts as
/// already there for one source message only (see `ContentCensus`).
/// Files are delivered as Maildir messages are (`FileSystem.deliver`): never seen half-written,
/// never replacing anything.
public final class EmlWriter: MessageSink {
    private let root: String
    private let naming: FolderNaming
    /// Who gets what this run creates, when it is not this process (see `FileOwner`).
    private let owner: FileOwner?
    /// The directory of the last message's folder, open: messages come folder by folder.
    private var current: (folder: [String], directory: DirectoryHandle)?
    public private(set) var counts = SinkCounts()
    private let compare = WholeFileReader()
    /// Files that a message of this run has been matched with or written to: each stands for
    /// one source message. (A path per message: .eml trees are not the million-message case.)
    private var taken = Set<String>()

    public init(root: String, naming: FolderNaming) throws {
        self.root = root
        self.naming = FolderNaming(layout: .nested, utf8Names: naming.utf8Names, infoSeparator: naming.infoSeparator)
        owner = FileOwner.inheriting(root)
        try FileSystem.makeDirectory(root, owner: owner)
    }

    @discardableResult
    public func write(_ meta: MessageMetadata, content: UnsafeRawBufferPointer) throws -> DeliveryOutcome {
        counts.counting(try deliver(meta, content: content), bytes: content.count)
    }

    private func deliver(_ meta: MessageMetadata, content: UnsafeRawBufferPointer) throws -> DeliveryOutcome {
        let directory = try directory(for: meta.folder)
        let hash = meta.contentSHA256 ?? ContentHasher.sha256Hex(of: content)
        var candidates = NameCandidates("\(meta.received ?? 0)-\(hash.prefix(16))")
        while true {
            let name = candidates.name + ".eml"
            let path = FileSystem.join(directory.path, name)
            if try FileSystem.kind(path) != .missing {
                let (bytes, _) = try compare.load(path)
                if ContentHasher.sha256Hex(of: bytes) == hash, taken.insert(path).inserted { return .alreadyPresent }
                candidates.next()
                continue
            }
            if try FileSystem.deliver(content, modified: meta.received, as: name, in: directory, staging: directory,
                                      stagingName: "." + name + ".partial", owner: owner) {
                taken.insert(path)
                return candidates.attempt == 0 ? .written : .renamed
            }
        }
    }

    /// An empty folder is an empty directory, made the way a message's folder is.
    public func prepareFolder(_ folder: [String]) throws {
        _ = try directory(for: folder)
    }

    public func finish() throws {
        current = nil
        try FileSystem.syncFileSystem(containing: root)
    }

    /// Each file is whole where it is: nothing to take back.
    public func discard() { current = nil }

    private func directory(for folder: [String]) throws -> DirectoryHandle {
        if let current, current.folder == folder { return current.directory }
        current = nil
        let path = try naming.makeDirectory(for: folder, under: root, owner: owner)
        let directory = try DirectoryHandle(path)
        current = (folder, directory)
        return directory
    }
}
