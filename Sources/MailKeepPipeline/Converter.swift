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
    public var mboxVariant: MboxVariant?
    /// Where `-` writes.
    public var standardOutput: ByteSink
    public init(format: OutputFormat, naming: FolderNaming = FolderNaming(), mboxVariant: MboxVariant? = nil,
                standardOutput: ByteSink = FileHandleFD.standardOutput()) {
        self.format = format
        self.naming = naming
        self.mboxVariant = mboxVariant
        self.standardOutput = standardOutput
    }
}

/// The sink for a destination: a Maildir tree, `.eml` files, or mbox (one file, stdout, or a
/// Thunderbird-style tree of files when the messages span several folders).
public func makeSink(destination: String, folderCount: Int, options: ConvertOptions, log: WarningLog,
                     skipExistingContent: Bool = false) throws -> any MessageSink {
    switch options.format {
    case .maildir:
        return try MaildirWriter(root: destination, options: .init(naming: options.naming, skipExistingContent: skipExistingContent), log: log)
    case .eml:
        return try EmlWriter(root: destination, naming: options.naming)
    case .mbox:
        if destination == "-" || folderCount <= 1 {
            if skipExistingContent && destination != "-" {
                return try MboxStreamSink(restoringInto: destination, variant: options.mboxVariant, log: log)
            }
            return try MboxStreamSink(path: destination, variant: options.mboxVariant, log: log, standardOutput: options.standardOutput)
        }
        return try MboxTreeSink(root: destination, variant: options.mboxVariant, log: log, skipExistingContent: skipExistingContent)
    }
}

/// The destination as named, or, when it is a symlink to a directory, that directory: a
/// user's `~/Maildir` is often a link to another disk. A link to anything else is refused with
/// the reason, as mailkeep never writes through a link to a file (or creates what a dangling
/// link names).
public func resolveDestination(_ destination: String) throws -> String {
    guard destination != "-", try FileSystem.kind(destination) == .symlink else { return destination }
    switch try FileSystem.kind(destination, followLinks: true) {
    case .directory:
        return FileSystem.absolutePath(destination)
    case .missing:
        throw MailKeepError.refused(path: destination, reason: "is a symlink to nothing (dangling); mailkeep follows a link only to an existing directory")
    default:
        throw MailKeepError.refused(path: destination, reason: "is a symlink to something that is not a directory; mailkeep never writes through a link to a file")
    }
}

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
                    progress: ProgressReporter? = nil) throws -> PipelineSummary {
    let sink = try makeSink(destination: destination, folderCount: sources.folders.count, options: options, log: log)
    return try Pipeline(sources: sources, progress: progress).run(into: sink)
}
