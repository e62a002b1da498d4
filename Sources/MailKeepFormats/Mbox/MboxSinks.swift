import MailKeepIO
/// Writes messages into one mbox stream: a file (complete or absent, see `AtomicOutputFile`)
/// or stdout.
///
/// With `skipExistingContent` (what `mailrestore` asks for) an existing file is kept and added
/// to: its bytes are copied into the new file first, and a message whose content is already in
/// it is skipped, so restoring twice adds nothing. The new file replaces the old one in one
/// rename, so a crash leaves the old file as it was.
public final class MboxStreamSink: MessageSink {
    private let writer: MboxWriter
    private let output: AtomicOutputFile?
    private let counter: CountingSink
    private var present: Set<String>?
    public private(set) var counts = SinkCounts()

    /// `path` `-` is `standardOutput`.
    /// `bufferSize` is smaller for the many files of a tree (see `MboxTreeSink`).
    public init(path: String, variant: MboxVariant, log: WarningLog, skipExistingContent: Bool = false,
                standardOutput: ByteSink = FileHandleFD.standardOutput(), bufferSize: Int = 1 << 20) throws {
        let sink: ByteSink
        if path == "-" {
            output = nil
            sink = standardOutput
        } else if skipExistingContent, try FileSystem.kind(path) == .regular {
            let file = try AtomicOutputFile(path, replacing: true)
            output = file
            sink = file
            present = try Self.copyExisting(path, into: file.handle, log: log)
        } else {
            let file = try AtomicOutputFile(path)
            output = file
            sink = file
        }
        counter = CountingSink(BufferedSink(sink, capacity: bufferSize))
        writer = MboxWriter(counter, variant: variant, log: log)
    }

    /// Copies an existing mbox byte for byte (ending it with an empty line if it lacks one, so
    /// the next From_ line counts) and returns the content hashes of its messages.
    private static func copyExisting(_ path: String, into handle: FileHandleFD, log: WarningLog) throws -> Set<String> {
        let source = try FileHandleFD.open(reading: path)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var tail: [UInt8] = []
        while true {
            let n = try source.read(into: buffer)
            if n == 0 { break }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
            try handle.write(chunk)
            tail = Array((tail + chunk).suffix(2))
        }
        if !tail.isEmpty && tail != [0x0A, 0x0A] { try handle.write(tail.last == 0x0A ? [0x0A] : [0x0A, 0x0A]) }
        var hashes = Set<String>()
        try MboxReader(openSource(path), log: log).forEachMessage { _, content in
            hashes.insert(ContentHasher.sha256Hex(of: content))
        }
        return hashes
    }

    @discardableResult
    public func write(_ metadata: MessageMetadata, content: UnsafeRawBufferPointer) throws -> DeliveryOutcome {
        if present != nil,
           present?.insert(metadata.contentSHA256 ?? ContentHasher.sha256Hex(of: content)).inserted != true {
            counts.add(.alreadyPresent, bytes: content.count)
            return .alreadyPresent
        }
        try writer.write(metadata, content: content)
        counts.add(.written, bytes: content.count)
        return .written
    }

    public func finish() throws {
        try writer.flush()
        try output?.commit()
    }

    /// Writes out what is buffered and closes the file until the next message.
    public func suspend() throws {
        try writer.flush()
        try output?.suspend()
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
    private var sinks: [[String]: MboxStreamSink] = [:]
    /// Folders whose file is open, least recently written first: at most `openLimit`, so a
    /// tree of any number of folders is written under a low descriptor limit.
    private var recent: [[String]] = []
    private let openLimit: Int
    public private(set) var counts = SinkCounts()

    private let skipExistingContent: Bool

    public init(root: String, variant: MboxVariant, log: WarningLog, skipExistingContent: Bool = false, openLimit: Int = 64) throws {
        self.root = root
        self.openLimit = max(1, openLimit)
        self.variant = variant
        self.log = log
        self.skipExistingContent = skipExistingContent
        naming = FolderNaming(layout: .nested, utf8Names: true)
        try FileSystem.makeDirectory(root)
    }

    public func path(for folder: [String]) -> String {
        guard let last = folder.last else { return FileSystem.join(root, "INBOX") }
        var dir = root
        for parent in folder.dropLast() { dir = FileSystem.join(dir, naming.component(parent) + ".sbd") }
        return FileSystem.join(dir, naming.component(last))
    }

    @discardableResult
    public func write(_ metadata: MessageMetadata, content: UnsafeRawBufferPointer) throws -> DeliveryOutcome {
        let sink: MboxStreamSink
        if let s = sinks[metadata.folder] {
            sink = s
        } else {
            let file = path(for: metadata.folder)
            try FileSystem.makeDirectory(FileSystem.directoryName(file))
            sink = try MboxStreamSink(path: file, variant: variant, log: log, skipExistingContent: skipExistingContent,
                                      bufferSize: 64 << 10)
            sinks[metadata.folder] = sink
        }
        // Messages come folder by folder, so the list is short and its last entry usually hits.
        if recent.last != metadata.folder {
            if let at = recent.firstIndex(of: metadata.folder) { recent.remove(at: at) }
            recent.append(metadata.folder)
            if recent.count > openLimit { try sinks[recent.removeFirst()]?.suspend() }
        }
        let outcome = try sink.write(metadata, content: content)
        counts.add(outcome, bytes: content.count)
        return outcome
    }

    public func finish() throws {
        // Each file is let go once committed, so the commits too stay under the descriptor limit.
        for folder in Array(sinks.keys) {
            try sinks[folder]?.finish()
            sinks[folder] = nil
        }
    }

    public func discard() { sinks.values.forEach { $0.discard() } }
}
