import ArgumentParser
import MailKeepIO
import MailKeepArchive
import MailKeepPipeline

public struct MailConvert: MailKeepCommand {
    public init() {}

    public static let configuration = CommandConfiguration(
        commandName: "mailconvert",
        abstract: "Convert mail between mbox, Maildir and .eml, losing nothing.",
        discussion: """
        SOURCE is an mbox file (plain, .gz or .xz; any dialect: mboxo, mboxrd, mboxcl2, \
        Thunderbird, CRLF), a Maildir folder or tree (Maildir++ or nested), a folder tree of \
        mbox files, an .eml file or folder, a bundle from mailpack, or - for stdin (an mbox \
        stream or a bundle). With several sources, each goes into a folder named after it.

        DEST - writes an mbox stream to stdout. A Maildir is written through tmp/ with \
        unique names that a second run recognises, so re-running after an interruption adds \
        nothing twice. Nothing existing is ever overwritten.

        Examples:
          mailconvert Archive.mbox -o Maildir
          mailconvert ~/Maildir -o backup --format mbox
          mailconvert Maildir -o /media/usb/Mail --info-separator '!'
          gzip -dc old.mbox.gz | mailconvert - -o - --mbox-variant mboxcl2
          mailconvert mail-2026-11-29.tar.xz -o Archive.mbox --format mbox

        Diagnostics: 'mailconvert: FILE: offset N: what' on stderr (see README, Diagnostics).

        Exit status: 0 done; 1 done, but some input was damaged and reported; \
        2 I/O error or unreadable input; 64 usage error.
        """,
        version: mailkeepVersion
    )

    @Argument(help: "Mail to read: mbox, Maildir, .eml, a bundle, or - for stdin.")
    package var sources: [String]

    @OptionGroup package var reading: SourceOptions

    @Option(name: .shortAndLong, help: "Where to write; - for an mbox stream on stdout.")
    package var output: String

    @OptionGroup package var writing: WritingOptions

    public func validate() throws {
        try writing.validate(destination: output)
    }

    public func execute(on console: Console) throws -> Int32 {
        let log = console.warningLog()
        let target = try resolveDestination(output)
        try checkDestination(target, isOutsideOf: sources)
        let list = try SourceList(sources, extraSeparator: writing.separator, mboxDialect: reading.mboxDialect, log: log)
        let options = writing.convertOptions(destination: output, console: console)
        let summary = try convert(list, to: target, options: options, log: log, progress: ProgressReporter(console: console))
        console.diagnose("\(summary.messages) messages in \(summary.folders) folders, \(formatBytes(summary.counts.bytesWritten)) written"
            + (summary.counts.alreadyPresent > 0 ? ", \(summary.counts.alreadyPresent) already present" : "")
            + (log.problemCount > 0 ? ", \(log.problemCount) warnings" : ""))
        return log.problemCount > 0 ? ExitStatus.problem : ExitStatus.ok
    }
}
