import MailKeepIO
import MailKeepFormats

/// One mailbox's history (docs/bundle-format.md, "Histories"): full bundles and increments
/// read together, each bundle a state of the mailbox, in the order they were created. A
/// consolidated chain that kept its history is a state for each older state it keeps, at
/// that state's own time, and its own state; it holds the bytes of them all.
///
/// Links are checked when the history is made: every bundle an increment's chain names must
/// be among those given (by id) and be the very bundle it was made against (its manifest's
/// SHA-256). A state's lines are resolved to the bundle holding the bytes and the entry of its
/// manifest; a line that names no entry is reported, and its message cannot be given back.
///
/// As a source of messages the history gives one state: the newest, or the last created at
/// or before `--as-of`; with `--deleted`, the messages an earlier state held and that state
/// does not, each as the last state that held it left it. A message's identity is its
/// content's SHA-256 (`ContentKey`: its first 64 bits, so per-message sets hold integers).
/// Only the bundles holding the selected messages are read, and of an xz bundle only the
/// blocks holding them.
public final class BundleHistory: SelectiveSource {
    public struct Member {
        public let bundle: StoredBundle
        public let created: Int64
        /// The members that hold the bytes its state lines name: `holders[line.holder]`, the
        /// bundle's own member last; nil for a bundle of its chain that was given but whose
        /// manifest was lost, named in `lostHolders`.
        public let holders: [Int?]
        public let lostHolders: [Int: String]
        /// The older state of a consolidated chain this member is; nil for the bundle's own.
        public let kept: HistoryState?
        public var name: String { kept.map { $0.name.isEmpty ? $0.state : $0.name } ?? bundle.linkName }
        public var path: String { bundle.bundlePath }
        /// The state listing in the bundle.
        public var listing: String { kept?.state ?? StateFile.name }
        /// True when the state is a listing, not the bundle's manifest.
        public var hasListing: Bool { kept != nil || bundle.hasStateListing }
        /// True for an increment (or consolidated history) whose own STATE.tsv was lost in
        /// damage: its manifest holds only what it stored, and must not pass for its state.
        public var stateLost: Bool { kept == nil && (bundle.header?.version ?? 0) >= 3 && !bundle.hasStateListing }
    }

    /// A chain that cannot be read as it is: the link named.
    public struct ChainError: ExitStatusError {
        public let file: String
        public let reason: String
        public let exitStatus: Int32
        public var description: String { "\(file): \(reason)" }
    }

    /// The bundles in `created` order.
    public let members: [Member]
    /// The state given: an index into `members`.
    public let chosen: Int
    /// True: the messages earlier states held and the chosen one does not.
    public let deleted: Bool
    private let log: WarningLog
    /// The states that cannot be read: a listing lost or damaged.
    private let lostStates: Set<Int>
    /// The older states lost or cut short in damage that have been reported.
    private var reportedLost = Set<Int>()
    /// The states whose lines held by a bundle with a lost manifest have been counted.
    private var reportedUnplaced = Set<Int>()

    /// `asOf`: the state of the last bundle created at or before it (nil: the newest).
    public init(_ bundles: [StoredBundle], asOf: Int64? = nil, deleted: Bool = false, log: WarningLog) throws {
        self.log = log
        self.deleted = deleted
        // The same bundle given twice (by its file and by its directory) counts once. Of two
        // bundles with one id and different manifests, the one a chain records is kept.
        let recorded = Set(bundles.flatMap { ($0.header?.chain ?? []).map(\.manifestSHA256) })
        var kept: [StoredBundle] = []
        var lost: [String: String] = [:]
        var seen: [String: Int] = [:]
        for bundle in bundles {
            guard let id = bundle.bundleID, bundle.manifestSHA256 != nil else {
                log.add(file: bundle.bundlePath, offset: nil, "its manifest is lost, so it cannot take its place in the history; "
                        + "the messages of later states it holds cannot be placed (mailrestore \(bundle.bundlePath) alone gives back what it holds, by file name)")
                if let id = bundle.header?.id { lost[id] = bundle.bundlePath }
                continue
            }
            if let other = seen[id] {
                if kept[other].manifestSHA256 != bundle.manifestSHA256 {
                    let (keep, leave) = !recorded.contains(kept[other].manifestSHA256 ?? "") && recorded.contains(bundle.manifestSHA256 ?? "")
                        ? (bundle, kept[other]) : (kept[other], bundle)
                    log.add(file: leave.bundlePath, offset: nil, "has the id of \(keep.bundlePath) but another manifest, which no chain given records; left out")
                    kept[other] = keep
                }
                continue
            }
            seen[id] = kept.count
            kept.append(bundle)
        }
        // A bundle whose header was lost in damage is still the bundle a link names when its
        // manifest has the SHA-256 the link records; it takes the time the link records.
        // Unnamed, a full bundle is taken as the oldest state; an increment, whose chain only its
        // header knew, cannot be read at all.
        var linked: [String: ChainLink] = [:]
        for bundle in kept { for link in bundle.header?.chain ?? [] { linked[link.manifestSHA256] = link } }
        var created: [Int64] = []
        kept = kept.filter { bundle in
            if let time = bundle.header?.created {
                created.append(time)
                return true
            }
            let link = bundle.manifestSHA256.flatMap { linked[$0] }
            if link == nil, bundle.hasStateListing {
                log.add(file: bundle.bundlePath, offset: nil, "its header is lost and no chain given names it: an increment whose chain is unknown; left out")
                return false
            }
            log.add(file: bundle.bundlePath, offset: nil, link.map { "its header is lost; it is \($0.name) of the chain by its manifest's SHA-256" }
                    ?? "its header is lost and no chain given names it; taken as the oldest state")
            created.append(link?.created ?? Int64.min)
            return true
        }
        let order = kept.indices.sorted { a, b in created[a] != created[b] ? created[a] < created[b] : a < b }
        let sorted = order.map { kept[$0] }
        var position: [String: Int] = [:]
        var byManifest: [String: Int] = [:]
        for (at, bundle) in sorted.enumerated() {
            position[bundle.bundleID ?? ""] = at
            if let sha = bundle.manifestSHA256 { byManifest[sha] = at }
        }
        // Each bundle's states: the older ones its history keeps, then its own, in time order.
        var states: [(bundle: Int, kept: HistoryState?, created: Int64)] = []
        for (at, bundle) in sorted.enumerated() {
            for kept in bundle.header?.history ?? [] { states.append((at, kept, kept.created)) }
            states.append((at, nil, created[order[at]]))
        }
        let placed = states.indices.sorted { a, b in states[a].created != states[b].created ? states[a].created < states[b].created : a < b }
        // The member of each bundle's own state, which holds the bundle's bytes and which a
        // later increment's chain link names.
        var own = [Int](repeating: 0, count: sorted.count)
        for (index, state) in placed.enumerated() where states[state].kept == nil { own[states[state].bundle] = index }
        var members: [Member] = []
        for state in placed {
            let (at, keptState, stateCreated) = states[state]
            let bundle = sorted[at]
            var holders: [Int?] = []
            var lostHolders: [Int: String] = [:]
            for (n, link) in (bundle.header?.chain ?? []).enumerated() {
                let named = "\(link.name) (id \(link.id)), bundle \(n) of its chain"
                if let lostPath = lost[link.id] {
                    // The rest of the state is still given back; those lines are counted.
                    holders.append(nil)
                    lostHolders[n] = lostPath
                    continue
                }
                guard let found = position[link.id] ?? byManifest[link.manifestSHA256] else {
                    throw ChainError(file: bundle.bundlePath, reason: "needs \(named), which was not given; give every bundle of the chain (or their directory)",
                                     exitStatus: ExitStatus.failure)
                }
                guard sorted[found].manifestSHA256 == link.manifestSHA256 else {
                    throw ChainError(file: bundle.bundlePath, reason: "needs \(named), but \(sorted[found].bundlePath) has another manifest "
                        + "(SHA-256 \(sorted[found].manifestSHA256 ?? "?"), the chain records \(link.manifestSHA256)): it is not the bundle this increment was made against",
                        exitStatus: ExitStatus.problem)
                }
                holders.append(own[found])
            }
            holders.append(own[at])
            members.append(Member(bundle: bundle, created: stateCreated, holders: holders, lostHolders: lostHolders, kept: keptState))
        }
        guard !members.isEmpty else {
            throw MailKeepError.unrecognized(path: bundles.first?.bundlePath ?? "", reason: "no bundle of the history can be read")
        }
        self.members = members
        var last = members.count - 1
        if let asOf {
            guard let atOrBefore = members.lastIndex(where: { $0.created <= asOf }) else {
                throw MailKeepError.invalidArgument(reason: "--as-of \(iso8601UTC(asOf)): the history begins later, with \(members[0].name), created \(iso8601UTC(members[0].created))")
            }
            last = atOrBefore
        }
        (chosen, lostStates) = try Self.lastReadableState(atOrBefore: last, of: members, log: log)
        try warnOfUnrelatedFullBundles()
    }

    /// The state to give: `last`, or where its listing was lost in damage, the newest state
    /// before it that can be read, the user told which. Each listing tried is read through
    /// once, as a damaged one stops partway. Also returns every state known lost.
    private static func lastReadableState(atOrBefore last: Int, of members: [Member], log: WarningLog) throws -> (Int, Set<Int>) {
        var given = last
        var lostStates = Set(members.indices.filter { members[$0].stateLost })
        while given >= 0 {
            let member = members[given]
            var reason = ""
            if !member.stateLost, member.hasListing {
                do {
                    try member.bundle.forEachStateLine(of: member.listing) { _, _ in }
                } catch let error as MailKeepError where error.isDamage {
                    reason = " (\(error.reason))"
                    lostStates.insert(given)
                }
            }
            guard lostStates.contains(given) else { break }
            log.add(file: DiagnosticFormat.member(member.listing, of: member.path), offset: nil,
                    "lost in the damage: the state of \(member.name) cannot be given" + reason)
            given -= 1
        }
        guard given >= 0 else {
            throw MailKeepError.malformed(path: members[last].path, offset: nil, reason: "no state of the history up to this bundle can be read")
        }
        if given < last {
            log.notice(file: members[given].path, "the state of \(members[given].name) (\(iso8601UTC(members[given].created))) is given instead, "
                       + "without what the \(last - given) lost state(s) after it changed")
        }
        return (given, lostStates)
    }

    /// A full bundle after another state starts a new chain of the same mailbox (the weekly
    /// full backup) and shares most of its messages with the state before it. One that shares
    /// none is most likely another mailbox's bundle given by mistake; it is still taken as the
    /// newer state, so the user is told. A consolidated chain's states after its first hold
    /// its own messages: only the first is compared with what came before.
    private func warnOfUnrelatedFullBundles() throws {
        for at in members.indices.dropFirst() where members[at].bundle.header?.chain == nil && members[at - 1].bundle !== members[at].bundle {
            var before = Set<UInt64>()
            try forEachResolvedLine(ofState: at - 1) { _, _, _, key in before.insert(key) }
            var shared = false
            members[at].bundle.manifest.forEachContentKey { _, key in shared = shared || before.contains(key) }
            if !shared, !before.isEmpty, !members[at].bundle.manifest.order.isEmpty {
                log.add(file: members[at].path, offset: nil,
                        "a full bundle that shares no message with the state before it (\(members[at - 1].name)): another mailbox's? It is taken as the newer state of this one")
            }
        }
    }

    /// The chosen state's bundle.
    public var chosenMember: Member { members[chosen] }

    /// Each line of state `state` that resolves, with the member holding its bytes and its
    /// content key; a line naming no manifest entry is reported and passed over.
    public func forEachResolvedLine(ofState state: Int, _ body: (Int, StateLine, Int, UInt64) throws -> Void) throws {
        let member = members[state]
        let listing = member.hasListing ? DiagnosticFormat.member(member.listing, of: member.path) : member.path
        // An older state lost in damage is passed over, as what it held is still met in the
        // states around it; the user is told once that answers leave it out.
        guard !lostStates.contains(state) else {
            if reportedLost.insert(state).inserted {
                log.add(file: listing, offset: nil, "lost in the damage: the state of \(member.name) is left out of what the history tells")
            }
            return
        }
        var unplaced: [Int: Int] = [:]
        var lastLine = 1
        do {
            try withoutActuallyEscaping(body) { body in
                try member.bundle.forEachStateLine(of: member.listing) { number, line in
                    lastLine = number
                    guard let holder = member.holders[line.holder] else {
                        unplaced[line.holder, default: 0] += 1
                        return
                    }
                    guard let key = self.members[holder].bundle.manifest.contentKey(atLine: line.entry) else {
                        self.log.add(file: listing, offset: nil,
                                     "line \(number): entry \(line.entry) of \(self.members[holder].name)'s manifest (bundle \(line.holder) of the chain) does not exist; "
                                     + "the message in folder \(line.folder.isEmpty ? "INBOX" : line.folder) cannot be given back")
                        return
                    }
                    try body(number, line, holder, key)
                }
            }
        } catch let error as MailKeepError where error.isDamage && state != chosen {
            if reportedLost.insert(state).inserted {
                log.add(file: listing, offset: error.offset, (lastLine > 1 ? "cannot be read past line \(lastLine)" : "cannot be read")
                        + " (\(error.reason)): the rest of the state of \(member.name) is left out of what the history tells")
            }
        }
        // Once per state, however often it is read.
        if !unplaced.isEmpty, reportedUnplaced.insert(state).inserted {
            for (link, count) in unplaced.sorted(by: { $0.key < $1.key }) {
                log.add(file: listing, offset: nil, "\(count) message(s) of this state are held by \(member.lostHolders[link] ?? "bundle \(link) of the chain"), "
                        + "whose manifest is lost; not given back from the history")
            }
        }
    }

    /// A message of the state given, before its bytes are read.
    private struct Pick {
        var holder: Int32
        var entry: Int32
        var line: StateLine
    }

    public func forEachMessage(_ body: (MessageMetadata, UnsafeRawBufferPointer) throws -> Void) throws {
        try forEachSelectedDirectly(Selection()) { meta, content, _ in try body(meta, content) }
    }

    public func forEachSelectedDirectly(_ selection: Selection,
                                        _ body: (MessageMetadata, UnsafeRawBufferPointer, LazyFacts) throws -> Void) throws {
        var picks: [Pick] = []
        if deleted {
            try forEachDeleted(narrowedBy: selection) { line, holder, _ in
                if admits(selection, line, holder: holder) { picks.append(Pick(holder: Int32(holder), entry: Int32(line.entry), line: line)) }
            }
        } else {
            try forEachResolvedLine(ofState: chosen) { _, line, holder, _ in
                if admits(selection, line, holder: holder) { picks.append(Pick(holder: Int32(holder), entry: Int32(line.entry), line: line)) }
            }
        }
        // Bundle by bundle, each read once for all the messages it holds.
        picks.sort { ($0.holder, $0.entry) < ($1.holder, $1.entry) }
        var start = 0
        while start < picks.count {
            let holder = Int(picks[start].holder)
            var end = start
            while end < picks.count, picks[end].holder == picks[start].holder { end += 1 }
            let group = picks[start..<end]
            var lines: [Int] = []
            for pick in group where lines.last != Int(pick.entry) { lines.append(Int(pick.entry)) }
            let bundle = members[holder].bundle
            var readBack = Set<Int>()
            try bundle.forEachContent(ofLines: lines) { entryLine, entry, content in
                readBack.insert(entryLine)
                // The picks of this entry: one per copy of the message in the state.
                var low = group.startIndex, high = group.endIndex
                while low < high {
                    let mid = (low + high) / 2
                    if Int(group[mid].entry) < entryLine { low = mid + 1 } else { high = mid }
                }
                var at = low
                while at < group.endIndex, Int(group[at].entry) == entryLine {
                    let meta = metadata(group[at].line, entry: entry, bundle: bundle)
                    let facts = LazyFacts(content)
                    if selection.matches(meta, size: Int64(content.count), facts: { facts.value }) { try body(meta, content, facts) }
                    at += 1
                }
            }
            // Every message of the state that did not come back is named here, with the folder
            // the state has it in (where the user will look; the bundle knows only the folder
            // it was stored in, and does not name every message a damaged block took).
            for pick in group where !readBack.contains(Int(pick.entry)) {
                let state = deleted ? "an earlier state" : "state \(chosenMember.name)"
                let id = bundle.manifest.entry(atLine: Int(pick.entry))?.messageID.map { ", Message-ID \($0)" } ?? ""
                log.add(file: bundle.bundlePath, offset: nil,
                        "manifest line \(pick.entry + 1)\(id): \(state) has this message in folder \(pick.line.folder.isEmpty ? "INBOX" : pick.line.folder); not given back")
            }
            start = end
        }
    }

    /// The messages some state before the chosen one held and the chosen one does not, each
    /// with the line of the last state that held it: `body` hears the line, the member holding
    /// the bytes and the state's index.
    /// With a `selection`, only messages whose header facts and size it admits are looked
    /// for (what a state says of them is judged by the caller): a handful of Message-IDs
    /// stops the walk back through older states as soon as each has been met.
    public func forEachDeleted(narrowedBy selection: Selection? = nil, _ body: (StateLine, Int, Int) throws -> Void) throws {
        var now = Set<UInt64>()
        try forEachResolvedLine(ofState: chosen) { _, _, _, key in now.insert(key) }
        // Every message a state held is in the manifest of that bundle or of one before it.
        var headerOnly = selection
        headerOnly?.folders = []
        headerOnly?.withFlags = []
        headerOnly?.withoutFlags = []
        headerOnly?.keywords = []
        let narrows = headerOnly.map { $0.needsHeaders || $0.minSize != nil || $0.maxSize != nil } ?? false
        var pending = Set<UInt64>()
        // A consolidated chain's states share one manifest: it is read once.
        var read = Set<ObjectIdentifier>()
        for member in members[...chosen] where read.insert(ObjectIdentifier(member.bundle)).inserted {
            let manifest = member.bundle.manifest
            manifest.forEachContentKey { line, key in
                guard !now.contains(key), !pending.contains(key) else { return }
                if narrows, let headerOnly, let entry = manifest.entry(atLine: line),
                   !headerOnly.admits(MessageMetadata(received: entry.received), size: entry.size, facts: { entry.facts }) {
                    return
                }
                pending.insert(key)
            }
        }
        var state = chosen - 1
        while !pending.isEmpty, state >= 0 {
            let bundle = members[state].bundle
            if members[state].hasListing || lostStates.contains(state) {
                try forEachResolvedLine(ofState: state) { _, line, holder, key in
                    guard pending.remove(key) != nil else { return }
                    try body(line, holder, state)
                }
            } else {
                // A full bundle's state is its manifest: only the lines of messages looked for
                // are decoded.
                var found: [(line: Int, key: UInt64)] = []
                bundle.manifest.forEachContentKey { line, key in
                    if pending.contains(key) { found.append((line, key)) }
                }
                for (line, key) in found where pending.remove(key) != nil {
                    guard let entry = bundle.manifest.entry(atLine: line) else { continue }
                    try body(StateLine(holder: bundle.stateHolders - 1, entry: line, folder: entry.folder, flags: entry.flags,
                                       isNew: entry.isNew, received: entry.received, keywords: entry.keywords), state, state)
                }
            }
            state -= 1
        }
    }

    /// Whether what the state line and the holder's manifest record can rule the message in.
    private func admits(_ selection: Selection, _ line: StateLine, holder: Int) -> Bool {
        let meta = MessageMetadata(folder: StateLine.components(ofFolder: line.folder), flags: line.flags, keywords: line.keywords, isNew: line.isNew,
                                   received: line.received)
        guard selection.needsHeaders || selection.minSize != nil || selection.maxSize != nil else {
            return selection.admits(meta, size: 0) { .none }
        }
        guard let entry = members[holder].bundle.manifest.entry(atLine: line.entry) else { return true }
        return selection.admits(meta, size: entry.size) { entry.facts }
    }

    /// The message as the state has it: its folder, flags, keywords and times from the state
    /// line, the rest (mbox From_ line, the unique name) from the entry holding its bytes.
    private func metadata(_ line: StateLine, entry: ManifestEntry, bundle: StoredBundle) -> MessageMetadata {
        var meta = entry.metadata(source: bundle.bundlePath, separator: bundle.infoSeparator)
        meta.place(as: line)
        return meta
    }

    /// Where a message is in the history: the bundles holding its bytes and the first and
    /// last states (members) that held it.
    public struct Lifetime: Sendable {
        public var holders: [Int]
        public var first: Int
        public var last: Int
    }

    /// Every message's lifetime by content key, made on first use by reading every state;
    /// about 24 bytes a message.
    private var lifetimes: (spans: [UInt64: (first: Int32, last: Int32)], holder: [UInt64: Int32], moreHolders: [UInt64: [Int32]])?

    /// The lifetime of the message with content `sha256` (nil when no state held it).
    public func lifetime(ofContent sha256: String) throws -> Lifetime? {
        if lifetimes == nil {
            var spans: [UInt64: (first: Int32, last: Int32)] = [:]
            var holder: [UInt64: Int32] = [:]
            var more: [UInt64: [Int32]] = [:]
            for (index, member) in members.enumerated() {
                // A bundle's bytes are held by its own member, whatever states it keeps.
                if member.kept == nil {
                    member.bundle.manifest.forEachContentKey { _, key in
                        if holder[key] == nil { holder[key] = Int32(index) } else if holder[key] != Int32(index) { more[key, default: []].append(Int32(index)) }
                    }
                }
                try forEachResolvedLine(ofState: index) { _, _, _, key in
                    if let span = spans[key] { spans[key] = (span.first, Int32(index)) } else { spans[key] = (Int32(index), Int32(index)) }
                }
            }
            lifetimes = (spans, holder, more)
        }
        let key = ContentKey.of(sha256)
        guard let lifetimes, let span = lifetimes.spans[key] else { return nil }
        let holders = (lifetimes.holder[key].map { [Int($0)] } ?? []) + (lifetimes.moreHolders[key] ?? []).map(Int.init)
        return Lifetime(holders: Array(Set(holders)).sorted(), first: Int(span.first), last: Int(span.last))
    }

    /// The folders of the state given, empty ones too (none for `--deleted`, which gives back
    /// messages, not a tree).
    public var folders: [[String]] {
        // An older state a consolidated chain keeps has the folders of its messages.
        guard !deleted, chosenMember.kept == nil else { return [] }
        let bundle = chosenMember.bundle
        var names = Set(bundle.header?.folders ?? [])
        if !bundle.hasStateListing { names.formUnion(bundle.manifest.entries.values.map(\.folder)) }
        return names.sorted().map(StateLine.components(ofFolder:))
    }
}
