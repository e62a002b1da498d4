import MailKeepIO
import MailKeepFormats
import MailKeepArchive

/// `mailpack --consolidate`: the newest state of a chain as one full bundle, for retention (a
/// chain can then be deleted once the full bundle is verified). With `keepHistory`, the
/// chain's older states are kept too (docs/bundle-format.md, "Consolidating a chain"), so that
/// `--as-of` and `--deleted` still answer for the period the chain covered.
///
/// Each bundle of the chain is read once, in chain order, and each message it holds goes out
/// once for every line of the newest state that names it, with that line's folder, flags,
/// keywords and received time; keeping the history, once for all states, placed as the newest
/// state that held it has it, and every state's lines are then written again naming the new
/// manifest. Memory holds a line per message (and keeping the history, each content's new
/// manifest line), never message bytes beyond the one being copied. A line whose message is
/// not met intact stops the run: a full bundle that silently lacks mail would pass for a
/// backup.
public struct Consolidation {
    public var bundles: [String]
    public var keepHistory: Bool
    public var log: WarningLog

    public init(bundles: [String], keepHistory: Bool = false, log: WarningLog) {
        self.bundles = bundles
        self.keepHistory = keepHistory
        self.log = log
    }

    /// The newest of the bundles given, whose chain (found beside it) is what is merged.
    public func newest() throws -> String { try ChainIndex.newest(of: bundles) }

    /// What the bundle written is opened with: every folder of the newest state for its
    /// header, keeping the history the older states, and the newest bundle's time: the
    /// bundle's own state is that bundle's, and `--as-of` must find it where it found that one.
    public struct Layout {
        public var folders: [[String]]
        public var history: [HistoryState]?
        public var created: Int64?
    }

    /// A state the consolidated bundle is made from: a listing of a bundle of the chain (by
    /// its place there).
    private struct State {
        var holder: Int
        var listing: String
    }

    /// Writes the newest state (and keeping the history, every older one) into the bundle
    /// `makeSink` opens; returns how many messages went in.
    @discardableResult
    public func run(into makeSink: (Layout) throws -> BundleWriter, progress: ProgressReporter? = nil) throws -> Int {
        let newest = try newest()
        let chain = try ChainIndex.open(base: newest, knowFiles: false, log: log)
        // A bundle given that the chain does not hold (another chain's, an older week's) would
        // be left out of the full bundle, and deleted with the chain once it verifies.
        let linked = Set(chain.links.map(\.id))
        for path in try ChainIndex.bundleFiles(of: bundles) {
            guard let id = try ChainIndex.id(of: path), linked.contains(id) else {
                throw MailKeepError.refused(path: path, reason: "not a bundle of the chain of \(newest), the newest given; "
                                            + "nothing written: consolidate one chain at a time, giving its bundles or its directory alone")
            }
        }
        var readers = [BundleReader?](repeating: nil, count: chain.paths.count)
        func reader(_ holder: Int) throws -> BundleReader {
            if let open = readers[holder] { return open }
            let opened = try BundleReader(path: chain.paths[holder], log: log)
            readers[holder] = opened
            return opened
        }
        let (older, origins) = try olderStates(chain, head: reader(0))
        let states = older + [State(holder: chain.paths.count - 1, listing: StateFile.name)]
        // A chain of one full bundle has no older state to keep: it is written as a full bundle.
        let keeping = !older.isEmpty
        // Lines go with the SHA-256 of the content they name: bundles share contents, and the
        // new manifest numbers its entries its own way.
        func forEachLine(of state: State, _ body: @escaping (StateLine, String) throws -> Void) throws {
            let listing = try reader(state.holder)
            try listing.forEachStateLine(of: state.listing) { number, line in
                guard let sha = chain.sha256(holder: line.holder, entry: line.entry) else {
                    throw MailKeepError.malformed(path: DiagnosticFormat.member(state.listing, of: chain.paths[state.holder]), offset: nil,
                                                  reason: "line \(number): bundle \(line.holder) has no manifest line \(line.entry)")
                }
                try body(line, sha)
            }
        }

        // The lines to write messages for, by holder and content; keeping the history, one
        // per content, the newest state's that holds it (states are read newest first).
        var pending: [Int: [String: [StateLine]]] = [:]
        var taken = Set<String>()
        var folders = Set<String>(try reader(chain.paths.count - 1).header?.folders ?? [])
        for (index, state) in states.enumerated().reversed() {
            let isNewest = index == states.count - 1
            try forEachLine(of: state) { line, sha in
                if isNewest { folders.insert(line.folder) }
                guard !keeping || taken.insert(sha).inserted else { return }
                pending[line.holder, default: [:]][sha, default: []].append(line)
            }
        }
        let history = keeping ? origins.enumerated().map { index, origin in
            HistoryState(created: origin.created, id: origin.id, name: origin.name, state: HistoryState.listing(index))
        } : nil
        let folderPaths = folders.sorted().map(StateLine.components(ofFolder:))
        let sink = try makeSink(Layout(folders: folderPaths, history: history, created: chain.links.last?.created))
        do {
            for folder in folderPaths { try sink.prepareFolder(folder) }
            var written = 0
            // Keeping the history: where each content went in the new manifest.
            var renumbered: [String: (entry: Int, uniqueName: String)] = [:]
            for holder in chain.paths.indices where pending[holder] != nil {
                try reader(holder).forEachMessage { meta, content in
                    let sha = meta.contentSHA256 ?? ContentHasher.sha256Hex(of: content)
                    guard let lines = pending[holder]?.removeValue(forKey: sha) else { return }
                    for line in lines {
                        var placed = meta
                        placed.place(as: line)
                        placed.contentSHA256 = sha
                        if keeping {
                            renumbered[sha] = try sink.storeOnce(placed, content: content)
                        } else {
                            try sink.write(placed, content: content)
                        }
                        written += 1
                        CrashPoint.messageWritten(count: written)
                        progress?.update(messages: written, bytes: Int64(content.count))
                    }
                }
                if let missed = pending[holder], let lines = missed.values.first, let line = lines.first {
                    let count = missed.values.reduce(0) { $0 + $1.count }
                    throw MailKeepError.malformed(path: chain.paths[holder], offset: nil,
                                                  reason: "\(count) message(s) of the \(keeping ? "chain's states" : "newest state") are not in it intact (manifest line \(line.entry) first); nothing written")
                }
            }
            if keeping {
                for (index, state) in states.enumerated() {
                    let olderState = index < states.count - 1 ? index : nil
                    try forEachLine(of: state) { line, sha in
                        guard let stored = renumbered[sha] else {
                            throw MailKeepError.malformed(path: DiagnosticFormat.member(state.listing, of: chain.paths[state.holder]), offset: nil,
                                                          reason: "a line names content \(sha) that the state had not named when it was first read")
                        }
                        var kept = line
                        kept.holder = 0
                        kept.entry = stored.entry
                        kept.name = try uniqueName(of: line, unless: stored.uniqueName, chain: chain, reader: reader(line.holder))
                        try sink.writeStateLine(kept, olderState: olderState)
                    }
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

    /// The states kept besides the newest, oldest first, each with the bundle whose state it
    /// was: none, or keeping the history, the older states the chain's first bundle keeps,
    /// then each bundle's own but the newest's.
    private func olderStates(_ chain: ChainIndex, head: BundleReader) throws -> ([State], [HistoryState]) {
        guard keepHistory else { return ([], []) }
        var states: [State] = []
        var origins: [HistoryState] = []
        for kept in head.header?.history ?? [] {
            states.append(State(holder: 0, listing: kept.state))
            origins.append(kept)
        }
        for (holder, link) in chain.links.enumerated().dropLast() {
            guard let created = link.created else {
                throw MailKeepError.malformed(path: chain.paths[holder], offset: nil, reason: "no created time in its header, so its state has no place in a history")
            }
            states.append(State(holder: holder, listing: StateFile.name))
            origins.append(HistoryState(created: created, id: link.id, name: link.name, state: StateFile.name))
        }
        return (states, origins)
    }

    /// The unique name a state line gives its message (its `name`, else the one in the
    /// holding entry's path), for the line that names the message's new entry: nil when the
    /// new entry's path has it.
    private func uniqueName(of line: StateLine, unless stored: String, chain: ChainIndex, reader: BundleReader) throws -> String? {
        if let name = line.name { return name == stored ? nil : name }
        guard chain.stateName(stored, holder: line.holder, entry: line.entry) != nil else { return nil }
        guard let entry = reader.manifest.entry(atLine: line.entry) else {
            throw MailKeepError.malformed(path: reader.bundlePath, offset: nil, reason: "manifest line \(line.entry + 1) cannot be read")
        }
        return MaildirName.parse(FileSystem.baseName(entry.path), extraSeparator: reader.infoSeparator).unique
    }
}
