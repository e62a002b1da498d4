import MailKeepIO
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A text pattern: a case-insensitive substring, or a POSIX extended regular expression
/// (case-insensitive too) when the user asked for `--regex`.
public final class TextPattern: @unchecked Sendable {
    public let text: String
    private let folded: String
    private var compiled: regex_t?

    public init(_ text: String, regex: Bool) throws {
        self.text = text
        folded = text.lowercased()
        if regex {
            var r = regex_t()
            let code = regcomp(&r, text, REG_EXTENDED | REG_ICASE | REG_NOSUB)
            guard code == 0 else {
                var message = [CChar](repeating: 0, count: 256)
                regerror(code, &r, &message, message.count)
                throw MailKeepError.invalidArgument(reason: "'\(text)' is not a valid regular expression: \(String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))")
            }
            compiled = r
        }
    }

    deinit {
        if compiled != nil { regfree(&compiled!) }
    }

    public func matches(_ value: String) -> Bool {
        if compiled != nil { return regexec(&compiled!, value, 0, nil, 0) == 0 }
        return value.lowercased().contains(folded)
    }
}

/// What selection looks at in a message, computed only when some criterion needs it.
public struct MessageFacts: Sendable {
    /// The Date header, parsed; nil when absent or unreadable.
    public var date: Int64?
    /// Each sender as `Display Name <address>` (decoded), or the address alone.
    public var from: [String]
    /// Each To, Cc and Bcc recipient likewise.
    public var to: [String]
    public var subject: String
    public var messageID: String?
    /// The parsed headers, for `--header`.
    public var summary: MessageSummary?

    public init(date: Int64?, from: [String], to: [String], subject: String, messageID: String?, summary: MessageSummary? = nil) {
        self.date = date
        self.from = from
        self.to = to
        self.subject = subject
        self.messageID = messageID
        self.summary = summary
    }

    /// Reads what selection needs from a message's header block.
    public init(content: UnsafeRawBufferPointer) {
        let s = MessageSummary(message: content)
        self.init(date: s.date, from: s.from.map(\.description), to: (s.to + s.cc + s.bcc).map(\.description),
                  subject: s.subject ?? "", messageID: s.messageID, summary: s)
    }

}

/// A fact about a message that a source may not have recorded.
public enum Recorded<Value: Sendable & Equatable>: Sendable, Equatable {
    case recorded(Value)
    case unrecorded

    public var value: Value? {
        if case .recorded(let value) = self { return value }
        return nil
    }
}

/// What a source knows about a message's headers without reading it (a bundle manifest), or
/// everything, for a message that was read. Selection rules a message out only on what is
/// recorded here, so a source that records less selects more candidates, never fewer.
public struct RecordedFacts: Sendable {
    /// The Date header; `.recorded(nil)` when the message has none that parses.
    public var date: Recorded<Int64?>
    public var from: Recorded<[String]>
    public var to: Recorded<[String]>
    public var subject: Recorded<String>
    public var messageID: Recorded<String?>
    /// The parsed headers, for `--header`; only a message that was read has them.
    public var summary: MessageSummary?

    public init(date: Recorded<Int64?>, from: Recorded<[String]>, to: Recorded<[String]>, subject: Recorded<String>,
                messageID: Recorded<String?>, summary: MessageSummary? = nil) {
        self.date = date
        self.from = from
        self.to = to
        self.subject = subject
        self.messageID = messageID
        self.summary = summary
    }

    /// Everything a read message says (facts made without headers have none to match).
    public init(_ facts: MessageFacts) {
        self.init(date: .recorded(facts.date), from: .recorded(facts.from), to: .recorded(facts.to),
                  subject: .recorded(facts.subject), messageID: .recorded(facts.messageID),
                  summary: facts.summary ?? MessageSummary([]))
    }

    /// Nothing recorded: only folder, flags, keywords and size can decide.
    public static let none = RecordedFacts(date: .unrecorded, from: .unrecorded, to: .unrecorded, subject: .unrecorded,
                                           messageID: .unrecorded)
}

/// Which messages a tool acts on: the options every selecting tool shares, as data.
///
/// Criteria combine with AND; the values of one repeated criterion combine with OR. A message
/// whose headers do not parse is still selectable by everything that did parse (and by
/// folder, flags and size, which never depend on headers).
public struct Selection: Sendable {
    public enum DateSource: String, Sendable, CaseIterable { case header, received }

    public var since: Int64?
    public var until: Int64?
    public var dateSource: DateSource = .header
    public var from: [TextPattern] = []
    public var to: [TextPattern] = []
    public var subject: [TextPattern] = []
    public var headers: [(name: String, pattern: TextPattern)] = []
    public var messageIDs: Set<String> = []
    public var folders: [String] = []
    /// Each value is a set of flag letters a message must all have (`--flag FS`: flagged and
    /// seen); repeated values OR, like every other repeated option.
    public var withFlags: [String] = []
    /// Each value is a set of flag letters a message must all lack; repeated values OR.
    public var withoutFlags: [String] = []
    /// IMAP keyword names a message must have one of (`--keyword`, case aside).
    public var keywords: [String] = [] {
        didSet { foldedKeywords = Set(keywords.map { $0.lowercased() }) }
    }
    private var foldedKeywords: Set<String> = []
    public var minSize: Int64?
    public var maxSize: Int64?

    public init() {}

    /// True when no criterion is set: every message is selected.
    public var selectsEverything: Bool {
        !needsHeaders && folders.isEmpty && withFlags.isEmpty && withoutFlags.isEmpty && minSize == nil && maxSize == nil
    }

    /// True when a criterion needs the message's headers.
    public var needsHeaders: Bool {
        since != nil || until != nil || !from.isEmpty || !to.isEmpty || !subject.isEmpty || !headers.isEmpty || !messageIDs.isEmpty
    }

    /// The date selection uses: the Date header, else the received time (or only the received
    /// time with `--date-source received`); `.unrecorded` when the Date header is not known.
    package func effectiveDate(_ headerDate: Recorded<Int64?>, received: Int64?) -> Recorded<Int64?> {
        switch (dateSource, headerDate) {
        case (.received, _): return .recorded(received)
        case (.header, .recorded(let date)): return .recorded(date ?? received)
        case (.header, .unrecorded): return .unrecorded
        }
    }

    /// Whether a message that was read is selected.
    public func matches(_ meta: MessageMetadata, size: Int64, facts: () -> MessageFacts) -> Bool {
        admits(meta, size: size) { RecordedFacts(facts()) }
    }

    /// False when what is recorded rules the message out. With everything recorded (a message
    /// that was read) this is the selection's answer; with less (a manifest line) it keeps every
    /// message the full answer would keep, so it can narrow candidates but never decide alone
    /// what it did not record.
    public func admits(_ meta: MessageMetadata, size: Int64, facts: () -> RecordedFacts) -> Bool {
        if let minSize, size < minSize { return false }
        if let maxSize, size > maxSize { return false }
        if !withFlags.isEmpty, !withFlags.contains(where: { $0.allSatisfy(meta.flags.contains) }) { return false }
        if !withoutFlags.isEmpty, !withoutFlags.contains(where: { !$0.contains(where: meta.flags.contains) }) { return false }
        if !foldedKeywords.isEmpty, !meta.keywords.contains(where: { foldedKeywords.contains($0.lowercased()) }) { return false }
        if !folders.isEmpty {
            let path = meta.folderPath.isEmpty ? "INBOX" : meta.folderPath
            guard folders.contains(where: { fnmatch($0, path, 0) == 0 }) else { return false }
        }
        guard needsHeaders else { return true }
        let f = facts()
        if since != nil || until != nil, case .recorded(let date) = effectiveDate(f.date, received: meta.received) {
            guard let date else { return false }
            if let since, date < since { return false }
            if let until, date >= until { return false }
        }
        if !from.isEmpty, case .recorded(let senders) = f.from,
           !from.contains(where: { p in senders.contains(where: p.matches) }) { return false }
        if !to.isEmpty, case .recorded(let recipients) = f.to,
           !to.contains(where: { p in recipients.contains(where: p.matches) }) { return false }
        if !subject.isEmpty, case .recorded(let text) = f.subject, !subject.contains(where: { $0.matches(text) }) { return false }
        if !messageIDs.isEmpty, case .recorded(let id) = f.messageID {
            guard let id = id.map(normalizedMessageID), messageIDs.contains(id) else { return false }
        }
        if !headers.isEmpty, let summary = f.summary {
            let byName = Dictionary(grouping: headers, by: { $0.name })
            for (name, patterns) in byName {
                let values = summary.decodedHeaders(named: name)
                guard patterns.contains(where: { p in values.contains(where: p.pattern.matches) }) else { return false }
            }
        }
        return true
    }
}

/// Message-IDs compare without angle brackets and surrounding space.
public func normalizedMessageID(_ raw: String) -> String {
    var s = Substring(raw)
    while let c = s.first, c == " " || c == "\t" || c == "<" { s = s.dropFirst() }
    while let c = s.last, c == " " || c == "\t" || c == ">" { s = s.dropLast() }
    return String(s)
}

/// Sizes as people write them: `500`, `10k`, `5M`, `1G` (powers of 1024).
public func parseSize(_ text: String) -> Int64? {
    guard let last = text.last else { return nil }
    let multipliers: [Character: Int64] = ["k": 1 << 10, "K": 1 << 10, "m": 1 << 20, "M": 1 << 20, "g": 1 << 30, "G": 1 << 30, "t": 1 << 40, "T": 1 << 40]
    if let m = multipliers[last] {
        guard let n = Int64(text.dropLast()), n >= 0 else { return nil }
        let (bytes, overflow) = n.multipliedReportingOverflow(by: m)
        return overflow ? nil : bytes
    }
    return Int64(text).flatMap { $0 >= 0 ? $0 : nil }
}

/// `YYYY-MM-DD` as midnight in the local time zone (`TZ`), or full ISO 8601 with a zone.
public func parseSelectionDate(_ text: String) -> Int64? {
    let b = Array(text.utf8)
    if b.count == 10, let utcMidnight = parseISO8601(text) {
        var t = time_t(utcMidnight)
        var parts = tm()
        gmtime_r(&t, &parts)
        parts.tm_isdst = -1
        return Int64(mktime(&parts))
    }
    return parseISO8601(text)
}

/// Reads a message's facts at most once, and only if something asks.
public final class LazyFacts {
    private let content: UnsafeRawBufferPointer
    private var cached: MessageFacts?
    package init(_ content: UnsafeRawBufferPointer) { self.content = content }
    public var value: MessageFacts {
        if let cached { return cached }
        let facts = MessageFacts(content: content)
        cached = facts
        return facts
    }
}

extension MessageSource {
    /// Calls `body` for each message `selection` selects, with its facts on demand. Sources
    /// that can select without reading every message (a seekable bundle) do so.
    public func forEachSelected(_ selection: Selection,
                                _ body: (MessageMetadata, UnsafeRawBufferPointer, LazyFacts) throws -> Void) throws {
        if let selective = self as? SelectiveSource {
            try selective.forEachSelectedDirectly(selection, body)
        } else {
            try forEachSelectedByReading(selection, body)
        }
    }

    /// The plain way: read every message and test it.
    public func forEachSelectedByReading(_ selection: Selection,
                                _ body: (MessageMetadata, UnsafeRawBufferPointer, LazyFacts) throws -> Void) throws {
        try forEachMessage { meta, content in
            let facts = LazyFacts(content)
            if selection.matches(meta, size: Int64(content.count), facts: { facts.value }) {
                try body(meta, content, facts)
            }
        }
    }
}

/// A source that can find selected messages without reading all of them.
public protocol SelectiveSource: MessageSource {
    func forEachSelectedDirectly(_ selection: Selection,
                                 _ body: (MessageMetadata, UnsafeRawBufferPointer, LazyFacts) throws -> Void) throws
}
