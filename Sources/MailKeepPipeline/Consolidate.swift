import MailKeepIO
import MailKeepFormats
import MailKeepArchive

/// `mailpack --consolidate`: the newest state of a chain as one full bundle, for retention (a
/// chain can then be deleted once the full bundle is verified).
///
/// Each bundle of the chain is read once, in chain order, and each message it holds goes out
/// once for every line of the newest state that names it, with that line's folder, flags,
/// keywords and received time; memory holds the state's lines, never message bytes beyond
/// the one being copied. A line whose message is not met intact stops the run: a full bundle
/// that silently lacks mail would pass for a backup.
public struct Consolidation {
    public var bundles: [String]
    public var log: WarningLog

    public init(bundles: [String], log: WarningLog) {
        self.bundles = bundles
        self.log = log
    }

    /// The newest of the bundles given, whose chain (found beside it) is what is merged.
    public func newest() throws -> String { try ChainIndex.newest(of: bundles) }

    /// Writes the newest state into the bundle `makeSink` opens (given every folder of the
    /// state, for the header) and returns how many messages went in.
    @discardableResult
    public func run(into makeSink: ([[String]]) throws -> BundleWriter, progress: ProgressReporter? = nil) throws -> Int {
        let newest = try newest()
        let chain = try ChainIndex.open(base: newest, knowFiles: false, log: log)
        let reader = try BundleReader(path: newest, log: log)
        // The state's lines by holder and content, in state order.
        var pending: [Int: [String: [StateLine]]] = [:]
        var total = 0
        var folders = Set<String>(reader.header?.folders ?? [])
        try reader.forEachStateLine { number, line in
            guard let sha = chain.sha256(holder: line.holder, entry: line.entry) else {
                throw MailKeepError.malformed(path: DiagnosticFormat.member(StateFile.name, of: newest), offset: nil,
                                              reason: "line \(number): bundle \(line.holder) has no manifest line \(line.entry)")
            }
            pending[line.holder, default: [:]][sha, default: []].append(line)
            folders.insert(line.folder)
            total += 1
        }
        let folderPaths = folders.sorted().map(StateLine.components(ofFolder:))
        let sink = try makeSink(folderPaths)
        do {
            for folder in folderPaths { try sink.prepareFolder(folder) }
            var written = 0
            for (holder, path) in chain.paths.enumerated() where pending[holder] != nil {
                let source = holder == chain.paths.count - 1 ? reader : try BundleReader(path: path, log: log)
                try source.forEachMessage { meta, content in
                    let sha = meta.contentSHA256 ?? ContentHasher.sha256Hex(of: content)
                    guard let lines = pending[holder]?.removeValue(forKey: sha) else { return }
                    for line in lines {
                        var placed = meta
                        placed.place(as: line)
                        placed.contentSHA256 = sha
                        try sink.write(placed, content: content)
                        written += 1
                        CrashPoint.messageWritten(count: written)
                        progress?.update(messages: written, bytes: Int64(content.count))
                    }
                }
                if let missed = pending[holder], let lines = missed.values.first, let line = lines.first {
                    let count = missed.values.reduce(0) { $0 + $1.count }
                    throw MailKeepError.malformed(path: path, offset: nil,
                                                  reason: "\(count) message(s) of the newest state are not in it intact (manifest line \(line.entry) first); nothing written")
                }
            }
            try sink.finish()
            progress?.done()
            return written
        } catch {
            progress?.done()
            sink.discard()
            throw error
        }
    }
}
