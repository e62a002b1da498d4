import MailKeepIO
import MailKeepFormats
import MailKeepArchive
/// Output formats of `mailconvert` and `mailrestore`.
public enum OutputFormat: String, CaseIterable, Sendable {
    case maildir, mbox, eml

    /// The format a destination implies when none is named: an mbox for stdout and `*.mbox`
    /// files, a Maildir tree otherwise.
    public static func implied(by destination: String) -> OutputFormat {
        destination == "-" || destination.hasSuffix(".mbox") ? .mbox : .maildir
    }
}

public struct ConvertOptions {
    public var format: OutputFormat
    public var naming: FolderNaming
    public var mboxVariant: MboxVariant
    /// Where `-` writes.
    public var standardOutput: ByteSink
    public init(format: OutputFormat, naming: FolderNaming = FolderNaming(), mboxVariant: MboxVariant = .mboxrd,
                standardOutput: ByteSink = FileHandleFD.standardOutput()) {
        self.format = format
        self.naming = naming
        self.mboxVariant = mboxVariant
        self.standardOutput = standardOutput
    }
}

public struct ConvertSummary: Sendable {
    public var messages = 0
    public var skipped = 0
    public var folders = 0
    public var bytes: Int64 = 0
}

/// The sink for a destination: a Maildir tree, `.eml` files, or mbox (one file, stdout, or a
/// Thunderbird-style tree of files when the messages span several folders).
public func makeSink(destination: String, folderCount: Int, options: ConvertOptions, log: WarningLog,
                     skipExistingContent: Bool = false) throws -> any CountedSink {
    switch options.format {
    case .maildir:
        return try MaildirWriter(root: destination, options: .init(naming: options.naming, skipExistingContent: skipExistingContent), log: log)
    case .eml:
        return try EmlWriter(root: destination, naming: options.naming)
    case .mbox:
        if destination == "-" || folderCount <= 1 {
            return try MboxStreamSink(path: destination, variant: options.mboxVariant, log: log, skipExistingContent: skipExistingContent,
                                      standardOutput: options.standardOutput)
        }
        return try MboxTreeSink(root: destination, variant: options.mboxVariant, log: log, skipExistingContent: skipExistingContent)
    }
}

/// A sink that can say what it did.
public protocol CountedSink: MessageSink {
    var written: Int { get }
    var bytesWritten: Int64 { get }
}

extension MaildirWriter: CountedSink {}
extension EmlWriter: CountedSink {}
extension MboxStreamSink: CountedSink {}
extension MboxTreeSink: CountedSink {}

/// Refuses a destination inside one of the source directories: the run would read what it
/// writes.
public func checkDestination(_ destination: String, isOutsideOf sources: [String]) throws {
    guard destination != "-" else { return }
    let target = FileSystem.absolutePath(destination)
    for source in sources where source != "-" {
        let root = FileSystem.absolutePath(source)
        if target == root || target.hasPrefix(root.hasSuffix("/") ? root : root + "/") {
            throw MailKeepError.refused(path: destination, reason: "is inside the source \(source); choose a destination outside it")
        }
    }
}

/// Copies every message of `sources` into `destination`.
public func convert(_ sources: SourceList, to destination: String, options: ConvertOptions, log: WarningLog,
                    progress: ProgressReporter? = nil) throws -> ConvertSummary {
    let folders = sources.folders
    let sink = try makeSink(destination: destination, folderCount: folders.count, options: options, log: log)
    var seenFolders = Set<[String]>()
    var summary = ConvertSummary()
    try sources.forEachMessage { meta, content in
        try sink.write(meta, content: content)
        seenFolders.insert(meta.folder)
        summary.messages += 1
        CrashPoint.messageWritten(count: summary.messages)
        progress?.update(messages: summary.messages, bytes: Int64(content.count))
    }
    try sink.finish()
    progress?.done()
    summary.folders = seenFolders.count
    summary.skipped = summary.messages - sink.written
    summary.bytes = sink.bytesWritten
    return summary
}
