/// Writes one `.eml` file per message, in a directory per folder.
///
/// An `.eml` file holds only the message, so flags and the From_ line are not kept (the file's
/// mtime keeps the received time). Names are deterministic (`TIME-SHA256PREFIX.eml`, then the
/// next name of `NameCandidates`), so a second run finds its files and writes nothing twice.
public final class EmlWriter: MessageSink {
    private let root: String
    private let naming: FolderNaming
    private var created = Set<[String]>()
    public private(set) var written = 0
    public private(set) var skipped = 0
    public private(set) var bytesWritten: Int64 = 0
    private let compare = WholeFileReader()

    public init(root: String, naming: FolderNaming) throws {
        self.root = root
        self.naming = FolderNaming(layout: .nested, utf8Names: naming.utf8Names, infoSeparator: naming.infoSeparator)
        try FileSystem.makeDirectory(root)
    }

    public func write(_ meta: MessageMetadata, content: UnsafeRawBufferPointer) throws {
        let dir = FileSystem.join(root, naming.relativeDirectory(meta.folder))
        if created.insert(meta.folder).inserted { try FileSystem.makeDirectory(dir) }
        let hash = meta.contentSHA256 ?? ContentHasher.sha256Hex(of: content)
        var candidates = NameCandidates("\(meta.received ?? 0)-\(hash.prefix(16))")
        while true {
            let name = candidates.name + ".eml"
            let path = FileSystem.join(dir, name)
            if try FileSystem.kind(path) != .missing {
                let (bytes, _) = try compare.load(path)
                if ContentHasher.sha256Hex(of: bytes) == hash {
                    skipped += 1
                    return
                }
                candidates.next()
                continue
            }
            let partial = FileSystem.join(dir, "." + name + ".partial")
            let file = try FileHandleFD.create(partial, exclusive: false)
            try file.write(content)
            if let received = meta.received { try file.setModificationTime(received) }
            guard try FileSystem.renameNoReplace(partial, path) else {
                FileSystem.remove(partial)
                continue
            }
            written += 1
            bytesWritten += Int64(content.count)
            return
        }
    }

    public func finish() throws {
        try FileSystem.syncFileSystem(containing: root)
    }
}
