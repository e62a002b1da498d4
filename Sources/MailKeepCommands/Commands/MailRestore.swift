import ArgumentParser
import MailKeepIO
import MailKeepArchive
import MailKeepFormats
import MailKeepPipeline

public struct MailRestore: MailKeepCommand {
    public init() {}

    public static let configuration = CommandConfiguration(
        commandName: "mailrestore",
        abstract: "Restore selected messages into a folder tree any mail client can import.",
        discussion: """
        Reads a bundle, mbox, Maildir tree or .eml folder (or - for stdin: an mbox stream or \
        a bundle) and writes the selected messages (all, without selection options) into DIR: \
        a Maildir tree by default, keeping folders, flags and received times.

        Backups over time: give a chain of bundles (a full bundle and its increments, or the \
        directory holding them; several chains too) and the mailbox is restored as the newest \
        bundle saw it, or with --as-of as the last bundle created at or before DATE saw it. \
        --deleted restores what an earlier bundle held and that state no longer does, each \
        message into the folder, with the flags, it last had. Only the bundles (and xz blocks) \
        holding the chosen messages are read.

        Safe to run again: a message whose exact content is already in its target folder is \
        skipped, so a second run, or a run after a crash, restores nothing twice. Two \
        different messages that share a Message-ID are both restored. Folder names are \
        sanitised, symlinks are never followed, and nothing is overwritten.

        Examples:
          mailrestore backup.tar.xz -o Restored --from alice@client.example --since 2024-03-01 --until 2024-07-01
          mailrestore backup.tar.xz -o Restored --message-id 'abc@client.example' --into Recovered
          gpg -d mail.tar.xz.gpg | mailrestore - -o Restored --subject contract --dry-run
          mailrestore /backup/bob -o Restored --as-of 2026-03-01
          mailrestore /backup/bob -o Restored --deleted --from alice@client.example --since 2026-03-01

        Diagnostics: 'mailrestore: FILE: offset N: what' on stderr (see README, Diagnostics).

        Exit status: 0 done; 1 some messages were damaged and not restored, or a chain link \
        is not the bundle its increment was made against; 2 I/O error or unreadable input (a \
        bundle of the chain was not given); 64 usage error.
        """,
        version: mailkeepVersion
    )

    @Argument(help: "Mail to restore from; - for stdin. Several bundles, or a directory of bundles: one mailbox's history.")
    package var sources: [String]

    @OptionGroup package var reading: SourceOptions
    @OptionGroup package var history: HistoryOptions

    @Option(name: .shortAndLong, help: "The folder tree to restore into.")
    package var output: String

    @Option(help: ArgumentHelp("Put every restored message into this one folder (e.g. Recovered, or Archive/Recovered).", valueName: "folder"))
    package var into: String?

    @Flag(help: "Print what would be restored (as mailscan does) and write nothing.")
    package var dryRun = false

    @OptionGroup package var select: SelectionOptions
    @OptionGroup package var writing: WritingOptions

    public func validate() throws {
        try writing.validate(destination: output)
        if output == "-" { throw ValidationError("-o takes a directory: mailrestore always writes a folder tree") }
        if let into, into.split(separator: "/").isEmpty { throw ValidationError("--into: '\(into)' names no folder") }
    }

    public func execute(on console: Console) throws -> Int32 {
        let log = console.warningLog()
        let selection = try select.selection()
        let intoFolder = into.map { $0.split(separator: "/").map(String.init) }
        let target = try resolveDestination(output)
        try checkDestination(target, isOutsideOf: sources)
        let list = try SourceList(sources, extraSeparator: writing.separator, mboxDialect: reading.mboxDialect,
                                  asOf: try history.asOfTime(), deleted: history.deleted, log: log)
        let plan = RestorePlan(selection: selection, intoFolder: intoFolder,
                               options: writing.convertOptions(destination: output, console: console))
        if dryRun {
            let count = try plan.dryRun(list, console: console)
            console.diagnose("\(count) messages would be restored; nothing written (--dry-run)")
        } else {
            let summary = try plan.restore(list, into: target, log: log, progress: ProgressReporter(console: console))
            for line in summary.lines { console.diagnose(line) }
        }
        return log.problemCount > 0 ? ExitStatus.problem : ExitStatus.ok
    }
}
