import ArgumentParser
import MailKeep
import MailKeepCLI

@main
struct MailPick: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mailpick",
        abstract: "Filter an mbox stream: write the selected messages to stdout, like grep for mail.",
        discussion: """
        Reads an mbox stream on stdin (or the SOURCEs: anything mailkeep reads) and writes \
        the messages that match as an mbox stream (mboxrd) on stdout, with their From_ lines \
        and flags. Chains with itself, mailscan and mailconvert:

          mailpick --from alice < a.mbox | mailpick --since 2024-03-01 | mailconvert - -o Dir

        Exit status: 0 something matched; 1 nothing matched (like grep); 2 error; 64 usage.
        """
    )

    @Argument(help: "Mail to read (default: stdin).")
    var sources: [String] = ["-"]

    @OptionGroup var select: SelectionOptions

    @Option(help: "mbox dialect to write.")
    var mboxVariant: MboxVariant = .mboxrd

    func run() throws {
        let log = makeWarningLog(tool: "mailpick")
        let selection = try select.selection()
        var matched = 0
        do {
            let list = try SourceList(sources, log: log)
            let sink = try MboxStreamSink(path: "-", variant: mboxVariant, log: log)
            try list.forEachSelected(selection) { meta, content, _ in
                try sink.write(meta, content: content)
                matched += 1
            }
            try sink.finish()
        } catch let error as MailKeepError {
            printError("mailpick: error: \(error)")
            throw ExitCode(ExitStatus.failure)
        }
        if log.problemCount > 0 { throw ExitCode(ExitStatus.failure) }
        if matched == 0 { throw ExitCode(ExitStatus.problem) }
    }
}
