import MailKeepIO
import MailKeepFormats
import MailKeepArchive
/// One line of `mailscan` output for a message.
public struct ScanRecord {
    public var meta: MessageMetadata
    public var facts: MessageFacts
    public var size: Int64
    public var sha256: String?

    /// Over a history: the message's lifetime there, as `--json` reports it.
    public var lifetime: (BundleHistory.Lifetime, BundleHistory)?

    public init(meta: MessageMetadata, facts: MessageFacts, size: Int64, sha256: String?) {
        self.meta = meta
        self.facts = facts
        self.size = size
        self.sha256 = sha256
    }

    /// `date  from  subject  folder  size`, tab-free and one line, for people.
    public var humanLine: String {
        let date = (facts.date ?? meta.received).map { String(iso8601UTC($0).prefix(16)).replacingAll("T", with: " ") } ?? "????-??-?? ??:??"
        let from = oneLine(facts.from.first ?? "")
        let folder = meta.folderPath.isEmpty ? "INBOX" : oneLine(meta.folderPath)
        return "\(date)  \(pad(from, 28))  \(pad(oneLine(facts.subject), 50))  \(folder)  \(formatBytes(size))"
    }

    /// The `--json` object: the keys of the bundle manifest that describe a message.
    public var jsonLine: String {
        var j = JSONLine()
        j.add("folder", meta.folderPath)
        j.add("flags", meta.flags)
        if !meta.keywords.isEmpty { j.add("keywords", meta.keywords) }
        j.add("date", facts.date.map(iso8601UTC))
        j.add("received", meta.received.map(iso8601UTC))
        j.add("from", facts.from.joined(separator: ", "))
        j.add("to", facts.to.joined(separator: ", "))
        j.add("subject", facts.subject)
        j.add("message_id", facts.messageID)
        j.add("size", size)
        j.add("sha256", sha256)
        j.add("source", meta.source)
        if let (lifetime, history) = lifetime {
            j.add("bundles", lifetime.holders.map { history.members[$0].name })
            func state(_ index: Int) -> String {
                var o = JSONLine()
                o.add("bundle", history.members[index].name)
                o.add("created", iso8601UTC(history.members[index].created))
                return o.text
            }
            j.addRaw("first_state", state(lifetime.first))
            j.addRaw("last_state", state(lifetime.last))
        }
        return j.text
    }

    /// Line breaks and tabs become spaces; other control characters are escaped, so no text
    /// from a message can move the cursor or forge a line.
    private func oneLine(_ s: String) -> String {
        DiagnosticFormat.terminalSafe(String(s.map { $0.isNewline || $0 == "\t" ? " " : $0 }))
    }

    private func pad(_ s: String, _ width: Int) -> String {
        if s.count > width { return String(s.prefix(width - 1)) + "…" }
        return s + String(repeating: " ", count: width - s.count)
    }
}

/// Lists each message it is given, one line each or as JSON lines: what `mailscan` writes, and
/// what `mailrestore --dry-run` shows.
public final class ListingSink: MessageSink {
    private let console: Console
    private let json: Bool
    /// With `json`, each message's lifetime in this history is listed too.
    private let history: BundleHistory?
    public private(set) var counts = SinkCounts()

    public init(console: Console, json: Bool, history: BundleHistory? = nil) {
        self.console = console
        self.json = json
        self.history = history
    }

    @discardableResult
    public func write(_ metadata: MessageMetadata, content: UnsafeRawBufferPointer) throws -> DeliveryOutcome {
        var record = ScanRecord(meta: metadata, facts: MessageFacts(content: content), size: Int64(content.count),
                                sha256: json ? metadata.contentSHA256 ?? ContentHasher.sha256Hex(of: content) : nil)
        if let history, let sha256 = record.sha256, let lifetime = try history.lifetime(ofContent: sha256) {
            record.lifetime = (lifetime, history)
        }
        try console.output(json ? record.jsonLine : record.humanLine)
        counts.add(.written, bytes: content.count)
        return .written
    }

    public func finish() throws {}
    public func discard() {}
}
