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
                return "\(folder.isEmpty ? "INBOX" : DiagnosticFormat.quoted(folder)): \(c.restored) restored, \(c.skipped) already present"
            }
            for id in sharedMessageIDs { out.append("note: Message-ID <\(id)> belongs to several different messages; all were restored") }
            out.append("\(restored) restored, \(alreadyPresent) skipped as already present")
            return out
        }
    }

    /// The pipeline with this plan's selection, sending messages `--into` their folder.
    private func pipeline(_ sources: SourceList, progress: ProgressReporter?) -> Pipeline {
        var pipeline = Pipeline(sources: sources, selection: selection, progress: progress)
        pipeline.keepsEmptyFolders = intoFolder == nil
        pipeline.retarget = { [intoFolder] meta, content in
            if let intoFolder { meta.folder = intoFolder }
            // Hashed once here (or known from the bundle) and handed to the sink with the message.
            if meta.contentSHA256 == nil { meta.contentSHA256 = ContentHasher.sha256Hex(of: content) }
        }
        return pipeline
    }

    /// Lists what would be restored on `console`; returns how many.
    public func dryRun(_ sources: SourceList, console: Console) throws -> Int {
        try pipeline(sources, progress: nil).run(into: ListingSink(console: console, json: false)).messages
    }

    public func restore(_ sources: SourceList, into destination: String, log: WarningLog,
                        progress: ProgressReporter?) throws -> Summary {
        var summary = Summary()
        // DIR is always a folder tree, even for one folder (mbox: DIR/NAME files).
        let sink = try makeSink(destination: destination, folderCount: 2, options: options, log: log, skipExistingContent: true)
        // Message-ID to content, both as 64-bit hashes: a few bytes a message, whatever the count.
        var idHashes: [Int: UInt64] = [:]
        var shared = Set<String>()
        let run = try pipeline(sources, progress: progress).run(into: sink) { meta, _, facts, outcome in
            var c = summary.perFolder[meta.folderPath, default: (0, 0)]
            if outcome == .alreadyPresent { c.skipped += 1 } else { c.restored += 1 }
            summary.perFolder[meta.folderPath] = c
            if let id = facts.value.messageID, let hash = meta.contentSHA256.flatMap({ UInt64($0.prefix(16), radix: 16) }) {
                if let other = idHashes[id.hashValue], other != hash { shared.insert(id) } else { idHashes[id.hashValue] = hash }
            }
        }
        summary.restored = run.counts.stored
        summary.alreadyPresent = run.counts.alreadyPresent
        summary.sharedMessageIDs = shared.sorted()
        return summary
    }
}
