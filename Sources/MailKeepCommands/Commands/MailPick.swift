import ArgumentParser
import MailKeepIO
import MailKeepArchive
import MailKeepFormats
import MailKeepPipeline

public struct MailPick: MailKeepCommand {
    public init() {}

    public static let configuration = CommandConfiguration(
        commandName: "mailpick",
        abstract: "Filter an mbox stream: write the selected messages to stdout, like grep for mail.",
        discussion: """
        Reads an mbox stream on stdin (or the SOURCEs: anything mailkeep reads) and writes \
        the messages that match as an mbox stream (mboxrd) on stdout, with their From_ lines \
        and flags. Chains with itself, mailscan and mailconvert:

          mailpick --from alice < a.mbox | mailpick --since 2024-03-01 | mailconvert - -o Dir

        Diagnostics: 'mailpick: FILE: offset N: what' on stderr (see README, Diagnostics).

        Exit status: 0 something matched; 1 nothing matched (like grep), or some input was \
        damaged and reported; 2 I/O error or unreadable input; 64 usage error.
        """,
        version: mailkeepVersion
    )

    @Argument(help: "Mail to read (default: stdin).")
    package var sources: [String] = ["-"]

    @OptionGroup package var reading: SourceOptions

    @OptionGroup package var select: SelectionOptions

    @Option(help: "mbox dialect to write: mboxrd, mboxo or mboxcl2 (default: each message as it came, else mboxrd).")
    package var mboxVariant: MboxVariant?

    public func execute(on console: Console) throws -> Int32 {
        let log = console.warningLog()
        let selection = try select.selection()
        let pipeline = Pipeline(sources: try SourceList(sources, mboxDialect: reading.mboxDialect, log: log), selection: selection)
        let sink = try MboxStreamSink(path: "-", variant: mboxVariant, log: log, standardOutput: console.standardOutput)
        let matched = try pipeline.run(into: sink).messages
        return matched == 0 || log.problemCount > 0 ? ExitStatus.problem : ExitStatus.ok
    }
}
