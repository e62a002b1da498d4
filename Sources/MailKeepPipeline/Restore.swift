import MailKeepIO
import MailKeepFormats
import MailKeepArchive
/// What `mailrestore` does, as a value: which messages, and where they go.
public struct RestorePlan {
    public var selection: Selection
    /// When set, every message goes into this folder instead of its own.
    public var intoFolder: [String]?
    public var options: ConvertOptions

    public init(selection: Selection, intoFolder: [String]?, options: ConvertOptions) {
        self.selection = selection
        self.intoFolder = intoFolder
        self.options = options
    }

    public struct Summary {
        public var restored = 0
        public var alreadyPresent = 0
        public var perFolder: [String: (restored: Int, skipped: Int)] = [:]
        /// Message-IDs seen with more than one distinct content, all restored.
        public var sharedMessageIDs: [String] = []

        public var lines: [String] {
            var out = perFolder.keys.sorted().map { folder -> String in
                let c = perFolder[folder] ?? (0, 0)
                return "\(folder.isEmpty ? "INBOX" : folder): \(c.restored) restored, \(c.skipped) already present"
            }
            for id in sharedMessageIDs { out.append("note: Message-ID <\(id)> belongs to several different messages; all were restored") }
            out.append("\(restored) restored, \(alreadyPresent) skipped as already present")
            return out
        }
    }

    private func target(_ meta: MessageMetadata) -> MessageMetadata {
        guard let intoFolder else { return meta }
        var m = meta
        m.folder = intoFolder
        return m
    }

    /// Lists what would be restored; returns how many.
    public func dryRun(_ source: MessageSource, _ emit: (ScanRecord) throws -> Void) throws -> Int {
        var count = 0
        try source.forEachSelected(selection) { meta, content, facts in
            try emit(ScanRecord(meta: target(meta), facts: facts.value, size: Int64(content.count), sha256: nil))
            count += 1
        }
        return count
    }

    public func restore(_ source: MessageSource, into destination: String, log: WarningLog,
                        progress: ProgressReporter?) throws -> Summary {
        var summary = Summary()
        // DIR is always a folder tree, even for one folder (mbox: DIR/NAME files).
        let sink = try makeSink(destination: destination, folderCount: 2, options: options, log: log, skipExistingContent: true)
        var idHashes: [String: String] = [:]
        var shared = Set<String>()
        var seen = 0
        try source.forEachSelected(selection) { meta, content, facts in
            // Hashed once here (or known from the bundle) and handed to the sink with the message.
            var m = target(meta)
            let hash = m.contentSHA256 ?? ContentHasher.sha256Hex(of: content)
            m.contentSHA256 = hash
            let before = sink.written
            try sink.write(m, content: content)
            let wrote = sink.written > before
            var c = summary.perFolder[m.folderPath, default: (0, 0)]
            if wrote { c.restored += 1; summary.restored += 1 } else { c.skipped += 1; summary.alreadyPresent += 1 }
            summary.perFolder[m.folderPath] = c
            if let id = facts.value.messageID {
                if let other = idHashes[id], other != hash { shared.insert(id) } else { idHashes[id] = hash }
            }
            seen += 1
            progress?.update(messages: seen, bytes: Int64(content.count))
        }
        try sink.finish()
        progress?.done()
        summary.sharedMessageIDs = shared.sorted()
        return summary
    }
}
