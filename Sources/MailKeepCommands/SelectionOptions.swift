import MailKeepIO
import MailKeepFormats
import MailKeepArchive
import MailKeepPipeline
import ArgumentParser
import Foundation

extension Selection.DateSource: ExpressibleByArgument {}

/// The selection grammar, defined once for `mailscan`, `mailpick` and `mailrestore`.
public struct SelectionOptions: ParsableArguments {
    public init() {}

    @Option(help: ArgumentHelp("Messages dated on or after DATE.", discussion: "YYYY-MM-DD is midnight in the local time zone (TZ); or full ISO 8601 with a zone, e.g. 2024-03-01T09:00:00+01:00.", valueName: "date"))
    public var since: String?

    @Option(help: ArgumentHelp("Messages dated before DATE (exclusive).", valueName: "date"))
    public var until: String?

    @Option(help: "Which date --since/--until compare: header (the Date header, else the received time) or received.")
    public var dateSource: Selection.DateSource = .header

    @Option(name: .customLong("from"), help: ArgumentHelp("Sender address or display name contains P (repeat for OR).", valueName: "P"))
    public var fromPatterns: [String] = []

    @Option(name: .customLong("to"), help: ArgumentHelp("A To, Cc or Bcc recipient contains P.", valueName: "P"))
    public var toPatterns: [String] = []

    @Option(name: .customLong("subject"), help: ArgumentHelp("The decoded Subject contains P.", valueName: "P"))
    public var subjectPatterns: [String] = []

    @Option(name: .customLong("header"), help: ArgumentHelp("Any header: 'Name: P' (the decoded value contains P).", valueName: "Name: P"))
    public var headerPatterns: [String] = []

    @Option(name: .customLong("message-id"), help: ArgumentHelp("This Message-ID, with or without <> (repeatable).", valueName: "id"))
    public var messageIDs: [String] = []

    @Option(name: .customLong("message-ids"), help: ArgumentHelp("Read Message-IDs from FILE, one per line.", valueName: "file"))
    public var messageIDFile: String?

    @Option(name: .customLong("folder"), help: ArgumentHelp("Folder path matches GLOB (INBOX for the top folder), e.g. 'Archive/*'.", valueName: "glob"))
    public var folders: [String] = []

    @Option(name: .customLong("flag"), help: ArgumentHelp("Has Maildir flag F (S seen, R replied, F flagged, T trashed, D draft, P passed); FS means both; repeat for OR.", valueName: "F"))
    public var flags: [String] = []

    @Option(name: .customLong("no-flag"), help: ArgumentHelp("Lacks Maildir flag F (FS: lacks both; repeat for OR).", valueName: "F"))
    public var noFlags: [String] = []

    @Option(name: .customLong("keyword"), help: ArgumentHelp("Has IMAP keyword NAME ($Forwarded, $Junk, Wichtig; case aside); repeat for OR.", valueName: "name"))
    public var keywords: [String] = []

    @Option(help: ArgumentHelp("At least N bytes (10k, 5M).", valueName: "N"))
    public var minSize: String?

    @Option(help: ArgumentHelp("At most N bytes.", valueName: "N"))
    public var maxSize: String?

    @Flag(help: "Every P is a POSIX extended regular expression (case-insensitive) instead of a substring.")
    public var regex = false

    public mutating func validate() throws {
        _ = try selection(readingFiles: false)
    }

    /// The options as a `Selection`; a ValidationError (exit 64) names any bad value. The
    /// `--message-ids` file is read only with `readingFiles`: one that cannot be read is an
    /// I/O error (exit 2), not a usage error.
    public func selection(readingFiles: Bool = true) throws -> Selection {
        var s = Selection()
        s.dateSource = dateSource
        if let since {
            guard let t = parseSelectionDate(since) else { throw ValidationError("--since: '\(since)' is not YYYY-MM-DD or ISO 8601 with a zone") }
            s.since = t
        }
        if let until {
            guard let t = parseSelectionDate(until) else { throw ValidationError("--until: '\(until)' is not YYYY-MM-DD or ISO 8601 with a zone") }
            s.until = t
        }
        func patterns(_ values: [String], _ option: String) throws -> [TextPattern] {
            try values.map { v in
                do { return try TextPattern(v, regex: regex) } catch { throw ValidationError("\(option): \(error)") }
            }
        }
        s.from = try patterns(fromPatterns, "--from")
        s.to = try patterns(toPatterns, "--to")
        s.subject = try patterns(subjectPatterns, "--subject")
        s.headers = try headerPatterns.map { spec in
            guard let colon = spec.firstIndex(of: ":"), colon != spec.startIndex else {
                throw ValidationError("--header: '\(spec)' is not 'Name: pattern'")
            }
            let value = spec[spec.index(after: colon)...].drop { $0 == " " }
            return (spec[..<colon].lowercased(), try patterns([String(value)], "--header")[0])
        }
        var ids = Set(messageIDs.map(normalizedMessageID))
        if let messageIDFile, readingFiles {
            let text = String(decoding: try FileHandleFD.open(reading: messageIDFile).readAll(), as: UTF8.self)
            for line in text.split(whereSeparator: \.isNewline) where !line.trimmingCharacters(in: .whitespaces).isEmpty {
                ids.insert(normalizedMessageID(String(line)))
            }
        }
        s.messageIDs = ids
        s.folders = folders
        func flagLetters(_ values: [String], _ option: String) throws -> [String] {
            try values.map { v in
                guard !v.isEmpty, v.allSatisfy({ $0.isASCII && $0.isLetter }) else { throw ValidationError("\(option): '\(v)' is not flag letters") }
                return v
            }
        }
        s.withFlags = try flagLetters(flags, "--flag")
        s.withoutFlags = try flagLetters(noFlags, "--no-flag")
        s.keywords = keywords
        if let minSize {
            guard let n = parseSize(minSize) else { throw ValidationError("--min-size: '\(minSize)' is not a size like 500, 10k or 5M") }
            s.minSize = n
        }
        if let maxSize {
            guard let n = parseSize(maxSize) else { throw ValidationError("--max-size: '\(maxSize)' is not a size like 500, 10k or 5M") }
            s.maxSize = n
        }
        return s
    }
}
