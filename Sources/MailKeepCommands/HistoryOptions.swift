import ArgumentParser
import MailKeepIO
import MailKeepFormats

/// Which state of a history a tool reads: shared by `mailrestore` and `mailscan`.
public struct HistoryOptions: ParsableArguments {
    public init() {}

    @Option(help: ArgumentHelp("The mailbox as it was at DATE: the state of the last bundle created at or before it.",
                               discussion: "Dates as for --since; YYYY-MM-DD means the end of that day (the backups made on it count). Reads the bundles as one history.",
                               valueName: "date"))
    public var asOf: String?

    @Flag(help: "Messages an earlier state held and the chosen state (the newest, or --as-of's) does not: what was deleted. Combines with every selection option.")
    public var deleted = false

    public mutating func validate() throws {
        _ = try asOfTime()
    }

    /// `--as-of` as a time: a full ISO 8601 time as it is, a day as its last second.
    public func asOfTime() throws -> Int64? {
        guard let asOf else { return nil }
        guard let t = parseSelectionDate(asOf) else { throw ValidationError("--as-of: '\(asOf)' is not YYYY-MM-DD or ISO 8601 with a zone") }
        guard asOf.utf8.count == 10, let utcMidnight = parseISO8601(asOf),
              let next = parseSelectionDate(String(iso8601UTC(utcMidnight + 86_400).prefix(10))) else { return t }
        return next - 1
    }
}
