/// Writes messages into one mbox stream: a file (complete or absent, see `AtomicOutputFile`)
/// or stdout.
public final class MboxStreamSink: MessageSink {
    private let writer: MboxWriter
    private let output: AtomicOutputFile?
    private let counter: CountingSink
    public private(set) var written = 0
    public var bytesWritten: Int64 { counter.count }

    /// `path` `-` is stdout.
    public init(path: String, variant: MboxVariant, log: WarningLog) throws {
        let sink: ByteSink
        if path == "-" {
            output = nil
            sink = FileHandleFD.standardOutput()
        } else {
            let file = try AtomicOutputFile(path)
            output = file
            sink = file.handle
        }
        counter = CountingSink(BufferedSink(sink))
        writer = MboxWriter(counter, variant: variant, log: log)
    }

    public func write(_ metadata: MessageMetadata, content: UnsafeRawBufferPointer) throws {
        try writer.write(metadata, content: content)
        written += 1
    }

    public func finish() throws {
        try writer.flush()
        try output?.commit()
    }

    public func discard() { output?.discard() }
}

/// Writes a folder tree as mbox files, Thunderbird's way: folder `A` is the file `A`, its
/// subfolders live in the directory `A.sbd/`, and the root folder's messages go to `INBOX`.
/// That layout lets a folder hold messages and subfolders at once, and reads back (see
/// `MailTree`) as the same tree.
public final class MboxTreeSink: MessageSink {
    private let root: String
    private let variant: MboxVariant
    private let naming: FolderNaming
    private let log: WarningLog
    private var open: [[String]: MboxStreamSink] = [:]
    public private(set) var written = 0
    public var bytesWritten: Int64 { open.values.reduce(0) { $0 + $1.bytesWritten } }

    public init(root: String, variant: MboxVariant, log: WarningLog) throws {
        self.root = root
        self.variant = variant
        self.log = log
        naming = FolderNaming(layout: .nested, utf8Names: true)
        try FileSystem.makeDirectory(root)
    }

    public func path(for folder: [String]) -> String {
        guard let last = folder.last else { return FileSystem.join(root, "INBOX") }
        var dir = root
        for parent in folder.dropLast() { dir = FileSystem.join(dir, naming.component(parent) + ".sbd") }
        return FileSystem.join(dir, naming.component(last))
    }

    public func write(_ metadata: MessageMetadata, content: UnsafeRawBufferPointer) throws {
        let sink: MboxStreamSink
        if let s = open[metadata.folder] {
            sink = s
        } else {
            let file = path(for: metadata.folder)
            try FileSystem.makeDirectory(FileSystem.directoryName(file))
            sink = try MboxStreamSink(path: file, variant: variant, log: log)
            open[metadata.folder] = sink
        }
        try sink.write(metadata, content: content)
        written += 1
    }

    public func finish() throws {
        for sink in open.values { try sink.finish() }
    }

    public func discard() { open.values.forEach { $0.discard() } }
}
