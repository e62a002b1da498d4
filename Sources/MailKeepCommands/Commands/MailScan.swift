import ArgumentParser
import MailKeepIO
import MailKeepArchive
import MailKeepFormats
import MailKeepPipeline

public struct MailScan: MailKeepCommand {
    public init() {}

    public static let configuration = CommandConfiguration(
        commandName: "mailscan",
        abstract: "List messages, one line each (or JSON lines), selected by date, sender, subject and more.",
        discussion: """
        SOURCE is anything mailkeep reads: an mbox (plain, .gz, .xz), a Maildir tree, .eml \
        files, a bundle, or - for stdin (an mbox stream or a bundle, told apart by their \
        first bytes). Selection options combine with AND; repeating one ORs its values.

        Several bundles that make one mailbox's history (a full bundle and its increments, or \
        their directory) list the newest state, or --as-of's; --deleted lists what an earlier \
        state held and that one does not.

        Examples:
          mailscan Mail --from alice@client.example --since 2024-03-01 --until 2024-07-01
          mailscan backup.tar.xz --json | jq -r .message_id
          gpg -d mail.tar.xz.gpg | mailscan - --subject contract
          mailscan /backup/bob --deleted --since 2026-03-01

        Diagnostics: 'mailscan: FILE: offset N: what' on stderr (see README, Diagnostics).

        Exit status: 0 done; 1 some input was damaged and reported; 2 I/O error or \
        unreadable input; 64 usage error.
        """,
        version: mailkeepVersion
    )

    @Argument(help: "Mail to read; - for stdin.")
    package var sources: [String] = ["-"]

    @OptionGroup package var reading: SourceOptions
    @OptionGroup package var history: HistoryOptions

    @OptionGroup package var select: SelectionOptions

    @Flag(help: "One JSON object per line, with folder, flags, date, received, from, to, subject, message_id, size, sha256; over a history also bundles (those holding its bytes), first_state and last_state (each bundle and created).")
    package var json = false

    public func execute(on console: Console) throws -> Int32 {
        let log = console.warningLog()
        let selection = try select.selection()
        let list = try SourceList(sources, mboxDialect: reading.mboxDialect, asOf: try history.asOfTime(), deleted: history.deleted, log: log)
        let pipeline = Pipeline(sources: list, selection: selection)
        try pipeline.run(into: ListingSink(console: console, json: json, history: list.history))
        return log.problemCount > 0 ? ExitStatus.problem : ExitStatus.ok
    }
}
