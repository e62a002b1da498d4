import MailKeepIO
import MailKeepFormats
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How `mailpack` writes a bundle.
public struct BundleOptions: Sendable {
    public var compression: Compression
    /// xz preset (0-9) or gzip level (1-9); nil for the format's default here (see README).
    public var level: Int?
    public var threads: Int
    public var volumeSize: Int64?
    /// Uncompressed bytes per xz block: what a reader must decode at least to reach one message.
    public var blockSize: Int
    public var infoSeparator: Character

    public init(compression: Compression, level: Int? = nil, threads: Int = 0, volumeSize: Int64? = nil,
                blockSize: Int = 1 << 20, infoSeparator: Character = ":") {
        self.compression = compression
        self.level = level
        self.threads = threads
        self.volumeSize = volumeSize
        self.blockSize = blockSize
        self.infoSeparator = infoSeparator
    }

    /// Compression implied by a bundle's file name.
    public static func compression(forName name: String) -> Compression? {
        if name.hasSuffix(".xz") || name.hasSuffix(".txz") { return .xz }
        if name.hasSuffix(".gz") || name.hasSuffix(".tgz") { return .gzip }
        if name.hasSuffix(".tar") { return Compression.none }
        return nil
    }

    /// The kind of file a name promises when it is an archive or compressed file mailkeep
    /// does not write (`x.zip` would otherwise get an xz tar under a name that lies).
    public static func foreignArchiveKind(forName name: String) -> String? {
        let lowered = name.lowercased()
        let foreign = [".zip", ".7z", ".rar", ".bz2", ".tbz", ".tbz2", ".zst", ".tzst", ".lz", ".lz4", ".lzma", ".tlz", ".z", ".cpio"]
        guard compression(forName: lowered) == nil, let ext = foreign.first(where: { lowered.hasSuffix($0) }) else { return nil }
        return ext
    }

    /// The default xz preset. Real mailboxes are mostly base64 attachments, which no preset
    /// shrinks much: preset 6 takes about 1.6 times as long as preset 1 there for 6% less, and
    /// 7 times as long on text-only mail (measured with scripts/bench-pack; README "Bundle
    /// compression"). `--level` chooses another.
    public static let defaultXZPreset = 1
    public static let defaultGzipLevel = 6
}

/// Writes a bundle (docs/bundle-format.md): a pax tar with the mail as a Maildir tree, a
/// manifest and SHA256SUMS, compressed as a whole, written under a temporary name and renamed
/// only when complete and synced.
public final class BundleWriter: MessageSink {
    public let path: String
    public let top: String
    private let options: BundleOptions
    private let log: WarningLog
    private let tar: TarWriter
    private let buffered: BufferedSink
    private let compressor: ByteSink?
    private let output: AtomicOutputFile?
    private let volumes: VolumeSink?
    private let counted: CountingSink
    private let manifest: SpoolFile
    private let sums: SpoolFile
    /// An increment's chain and what it holds; nil for a full bundle.
    private let chain: ChainIndex?
    /// The state listings in the order they go into the bundle: an increment's `STATE.tsv`
    /// (one line per message in the order they came), or a consolidated chain's `STATE.tsv`
    /// and the `STATES/NNN.tsv` its history names; none for a full bundle.
    private let stateListings: [(name: String, spool: SpoolFile)]
    /// Manifest lines written so far: the next stored message's `entry`.
    private var stored = 0
    private let naming: FolderNaming
    private var namers: [[String]: UniqueNamer] = [:]
    /// Names already in the tar, per directory, as 64-bit FNV-1a hashes: a tar must not hold one
    /// path twice (not even where two folders' names came out alike), and hashes keep this
    /// small for a million messages.
    private var usedNames: [String: Set<UInt64>] = [:]
    private var directories = Set<String>()
    private let created: Int64
    private var mboxIndexes: [String: Int64] = [:]
    /// Sorted keys: two runs over the same mail write the same bytes.
    private let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
    public private(set) var counts = SinkCounts()
    /// The bundle's size so far, compressed.
    public var bundleBytes: Int64 { counted.count }

    /// `path` `-` streams the bundle to stdout.
    /// `folders`: every folder of the sources, empty ones too, for the header.
    /// `chain`: write an increment over that chain (docs/bundle-format.md, "Increments and
    /// chains"): only content the chain lacks is stored, and every message gets a state line.
    /// `history`: write a consolidated chain that keeps its older states (docs/bundle-format.md,
    /// "Consolidating a chain"): messages go in through `storeOnce`, and every state's lines
    /// through `writeStateLine`.
    /// `created`: when the bundle's own state was taken, if not now: a consolidated chain's
    /// state is its newest bundle's, and a history places it at that bundle's time.
    public init(path: String, options: BundleOptions, sources: [String], folders: [[String]]? = nil,
                chain: ChainIndex? = nil, history: [HistoryState]? = nil, created: Int64? = nil, log: WarningLog) throws {
        self.path = path
        self.chain = chain
        self.options = options
        self.log = log
        self.created = created ?? Int64(time(nil))
        // States are ordered by this time: an increment dated before its base would be read as
        // an older state, and the mail it stores would vanish from every restore.
        if let base = chain?.links.last, let baseCreated = base.created, self.created < baseCreated {
            throw MailKeepError.refused(path: path, reason: "the clock says \(iso8601UTC(self.created)), before \(base.name), the base, was made "
                                        + "(\(iso8601UTC(baseCreated))): set the clock right, then pack again")
        }
        top = Self.topDirectory(for: path, created: self.created)
        naming = FolderNaming(layout: .nested, utf8Names: true, infoSeparator: options.infoSeparator)

        let file: ByteSink
        var createdOutput: AtomicOutputFile?
        var createdVolumes: VolumeSink?
        if path == "-" {
            file = FileHandleFD.standardOutput()
        } else if let size = options.volumeSize {
            let v = try VolumeSink(path: path, volumeSize: size)
            createdVolumes = v
            file = v
        } else {
            let o = try AtomicOutputFile(path)
            createdOutput = o
            file = o.handle
        }
        output = createdOutput
        volumes = createdVolumes
        // What fails from here on (a compression option the encoder refuses, no room or no
        // TMPDIR for the spool files) takes the partial output with it.
        do {
            counted = CountingSink(file)
            switch options.compression {
            case .xz:
                let preset = UInt32(options.level ?? BundleOptions.defaultXZPreset)
                // Blocks end at member boundaries (`endBlockAtMemberBoundary`); the encoder cuts
                // on its own only inside a message too large for one block.
                compressor = try XZCompressor(counted, options: .init(preset: preset, threads: options.threads,
                                                                       blockSize: UInt64(Self.encoderBlockSize(options))))
            case .gzip:
                compressor = try GzipCompressor(counted, level: Int32(options.level ?? BundleOptions.defaultGzipLevel))
            case .none:
                compressor = nil
            }
            buffered = BufferedSink(compressor ?? counted)
            tar = TarWriter(buffered)
            manifest = try SpoolFile(purpose: "manifest")
            sums = try SpoolFile(purpose: "sums")
            let listed = chain == nil && history == nil ? [] : [StateFile.name] + (history ?? []).map(\.state)
            stateListings = try listed.map { name in
                let spool = try SpoolFile(purpose: "state")
                try spool.write(StateFile.firstLine + "\n")
                return (name, spool)
            }
        } catch {
            createdOutput?.discard()
            createdVolumes?.discard()
            throw error
        }

        let header = BundleHeader(created: self.created, top: top, infoSeparator: options.infoSeparator, sources: sources,
                                  folders: folders.map { Set($0.map { $0.joined(separator: "/") }).sorted() }, id: BundleID.make(),
                                  chain: chain?.links, history: history)
        do {
            try addDirectory(top)
            try addSmallFile("mailkeep-bundle.json", Array(try encoder.encode(header)) + [0x0A])
        } catch {
            discard()
            throw error
        }
    }

    /// `mail-2026-11-29.tar.xz` -> `mail-2026-11-29`; stdout gets `mailkeep-DATE`.
    package static func topDirectory(for path: String, created: Int64) -> String {
        var name = path == "-" ? "mailkeep-" + String(iso8601UTC(created).prefix(10)) : FileSystem.baseName(path)
        for ext in [".001", ".xz", ".gz", ".txz", ".tgz", ".tar"] where name.hasSuffix(ext) && name.count > ext.count {
            name = String(name.dropLast(ext.count))
        }
        let safe = FolderNaming(layout: .nested, utf8Names: true, infoSeparator: "!").component(name)
        return safe.hasPrefix("_") ? "mailkeep" : safe
    }

    /// An empty folder is its directories in the tar (so that `tar -x` gives it back too); the
    /// header lists it for mailkeep.
    public func prepareFolder(_ folder: [String]) throws {
        _ = try addFolderDirectories(folder)
    }

    /// The folder's directory below the top (`mail/...`), with its cur/, new/ and tmp/ added to
    /// the tar the first time.
    private func addFolderDirectories(_ folder: [String]) throws -> String {
        let folderDir = naming.relativeDirectory(folder)
        let mailDir = folderDir.isEmpty ? "mail" : "mail/" + folderDir
        if !directories.contains("\(top)/\(mailDir)/cur") {
            var prefix = top
            for part in mailDir.split(separator: "/") {
                prefix += "/" + part
                try addDirectory(prefix)
            }
            for sub in ["cur", "new", "tmp"] { try addDirectory("\(top)/\(mailDir)/\(sub)") }
        }
        return mailDir
    }

    private func addDirectory(_ relative: String) throws {
        guard directories.insert(relative).inserted else { return }
        try tar.addDirectory(path: relative, mtime: created)
    }

    private func addSmallFile(_ name: String, _ bytes: [UInt8]) throws {
        let hash = bytes.withUnsafeBytes { ContentHasher.sha256Hex(of: $0) }
        _ = try bytes.withUnsafeBytes { try tar.addFile(path: "\(top)/\(name)", mtime: created, content: $0) }
        try sums.write(Self.sumLine(hash: hash, path: name))
    }

    /// A coreutils checksum line; names with a backslash or newline are escaped the way
    /// `sha256sum` does it.
    package static func sumLine(hash: String, path: String) -> String {
        if path.contains("\\") || path.contains("\n") {
            let escaped = path.replacingAll("\\", with: "\\\\").replacingAll("\n", with: "\\n")
            return "\\\(hash)  \(escaped)\n"
        }
        return "\(hash)  \(path)\n"
    }

    /// The largest xz block the encoder makes by itself: a message up to `blockSize` plus a
    /// block's worth before it always fits, so only larger messages are cut.
    private static func encoderBlockSize(_ options: BundleOptions) -> Int64 { 2 * Int64(max(options.blockSize, 1)) }

    /// Uncompressed offset where the current xz block began.
    private var blockStart: Int64 = 0

    /// Ends the xz block here, between two tar members, once it holds `blockSize` bytes, or
    /// before a message of `blockSize` or more, so that every block starts with a tar header
    /// (only a message larger than a block spans more than one): damage to one block costs the
    /// messages in it, and a reader picks up the tar walk at the next block
    /// (docs/bundle-format.md, "Damage").
    private func endBlockAtMemberBoundary(next size: Int) throws {
        guard let xz = compressor as? XZCompressor else { return }
        let position = tar.bytesWritten
        let cap = Self.encoderBlockSize(options)
        while position - blockStart >= cap { blockStart += cap }
        let held = position - blockStart
        guard held >= Int64(options.blockSize) || (held > 0 && size >= options.blockSize) else { return }
        try buffered.drain()
        try xz.endBlock()
        blockStart = position
    }

    @discardableResult
    public func write(_ meta: MessageMetadata, content: UnsafeRawBufferPointer) throws -> DeliveryOutcome {
        guard let chain else {
            guard meta.known == nil else { throw MailKeepError.refused(path: meta.source, reason: "not read, and a full bundle needs its bytes") }
            return try store(meta, content: content).outcome
        }
        // Held by the chain (or already by this increment): a state line, not a copy.
        var meta = meta
        let held: (holder: Int, entry: Int)?
        if let known = meta.known {
            held = (known.holder, known.entry)
        } else {
            let hash = meta.contentSHA256 ?? ContentHasher.sha256Hex(of: content)
            meta.contentSHA256 = hash
            held = chain.holding(sha256: hash)
        }
        if let held {
            // An mbox's messages keep their positions in it, stored here or not.
            if meta.fromLine != nil { mboxIndexes[meta.source, default: 0] += 1 }
            try writeState(meta, holder: held.holder, entry: held.entry, name: chain.stateName(meta.uniqueName, holder: held.holder, entry: held.entry))
            counts.add(.alreadyPresent, bytes: content.count)
            return .alreadyPresent
        }
        let (outcome, entry) = try store(meta, content: content)
        chain.stored(sha256: entry.sha256, size: entry.size, uniqueName: uniqueName(of: entry))
        try writeState(meta, holder: chain.ownHolder, entry: stored - 1,
                       name: chain.stateName(meta.uniqueName, holder: chain.ownHolder, entry: stored - 1))
        return outcome
    }

    /// Stores a message of a consolidated chain that keeps its history, once for all the
    /// states that hold it: its manifest line and the unique name its file got, which the
    /// state lines naming it go by.
    public func storeOnce(_ meta: MessageMetadata, content: UnsafeRawBufferPointer) throws -> (entry: Int, uniqueName: String) {
        let (_, entry) = try store(meta, content: content)
        return (stored - 1, uniqueName(of: entry))
    }

    private func uniqueName(of entry: ManifestEntry) -> String {
        MaildirName.parse(FileSystem.baseName(entry.path), extraSeparator: options.infoSeparator).unique
    }

    private func writeState(_ meta: MessageMetadata, holder: Int, entry: Int, name: String?) throws {
        try writeStateLine(StateLine(holder: holder, entry: entry, folder: meta.folderPath, flags: meta.flags,
                                     isNew: meta.isNew && meta.flags.isEmpty, received: meta.received, keywords: meta.keywords, name: name))
    }

    /// Adds a line to the bundle's own state, or with `olderState` to that state of its
    /// history (an index into the `history` it was made with).
    public func writeStateLine(_ line: StateLine, olderState: Int? = nil) throws {
        let listing = olderState.map { $0 + 1 } ?? 0
        guard stateListings.indices.contains(listing) else {
            throw MailKeepError.refused(path: path, reason: "no state listing \(listing) in this bundle")
        }
        try StateFile.encode(line).withUnsafeBytes { try stateListings[listing].spool.write($0) }
    }

    /// Adds the message to the tar, SHA256SUMS and the manifest.
    private func store(_ meta: MessageMetadata, content: UnsafeRawBufferPointer) throws -> (outcome: DeliveryOutcome, entry: ManifestEntry) {
        try endBlockAtMemberBoundary(next: content.count)
        let mailDir = try addFolderDirectories(meta.folder)
        // Mutated in place: a copy of a growing set per message would cost O(n) each time.
        var candidates = namers[meta.folder, default: UniqueNamer(naming: naming)].name(for: meta, content: content)
        while !usedNames[mailDir, default: []].insert(fnv1a(candidates.name)).inserted { candidates.next() }
        let unique = candidates.name

        let isNew = meta.isNew && meta.flags.isEmpty
        let name = isNew ? "new/" + unique : "cur/" + MaildirName.fileName(unique: unique, flags: meta.flags, separator: options.infoSeparator)
        let relative = "\(mailDir)/\(name)"
        let offset = try tar.addFile(path: "\(top)/\(relative)", mtime: meta.received ?? created, content: content)
        let hash = meta.contentSHA256 ?? ContentHasher.sha256Hex(of: content)
        try sums.write(Self.sumLine(hash: hash, path: relative))

        var entry = ManifestEntry(path: relative, size: Int64(content.count), sha256: hash, folder: meta.folderPath,
                                  flags: meta.flags, isNew: isNew)
        entry.offset = offset
        entry.received = meta.received
        entry.keywords = meta.keywords
        entry.facts = RecordedFacts(MessageFacts(content: content))
        if let fromLine = meta.fromLine {
            entry.mboxSource = meta.source
            let index = mboxIndexes[meta.source, default: 0]
            mboxIndexes[meta.source] = index + 1
            entry.mboxIndex = index
            entry.fromLine = fromLine
            entry.mboxHeaders = meta.mboxHeaders
            entry.mboxHeadersOffset = Int64(meta.mboxHeadersOffset)
            entry.quotedAsMboxo = meta.quotedAsMboxo
        }
        try manifestLine(entry, relative).withUnsafeBytes { try manifest.write($0) }
        stored += 1
        let outcome: DeliveryOutcome = candidates.attempt == 0 ? .written : .renamed
        counts.add(outcome, bytes: content.count)
        return (outcome, entry)
    }

    /// The entry as one manifest line, never longer than a reader accepts: header facts too
    /// long to record are left out (a reader then reads the message to select it), and as a
    /// last resort the mbox metadata, with a warning.
    private func manifestLine(_ entry: ManifestEntry, _ relative: String) throws -> [UInt8] {
        var entry = entry
        var line = try encoder.encode(entry)
        if line.count > BundleManifest.longestLine {
            entry.facts = RecordedFacts(date: entry.facts.date, from: .unrecorded, to: .unrecorded, subject: .unrecorded,
                                        messageID: .unrecorded)
            line = try encoder.encode(entry)
        }
        if line.count > BundleManifest.longestLine {
            log.add(file: DiagnosticFormat.member(relative, of: path), offset: nil,
                    "its mbox From_ line and headers are too long for the manifest; an mbox rebuilt from this bundle will lack them")
            entry.fromLine = nil
            entry.mboxHeaders = nil
            line = try encoder.encode(entry)
        }
        return Array(line) + [0x0A]
    }

    public func finish() throws {
        // The manifest starts a new xz block, so a reader finds it by looking at block starts.
        try buffered.drain()
        if let xz = compressor as? XZCompressor { try xz.endBlock() }
        try addSpooled("MANIFEST.jsonl", manifest, sumIt: true)
        // Each state listing follows in a block of its own (docs/bundle-format.md).
        for listing in stateListings {
            try buffered.drain()
            if let xz = compressor as? XZCompressor { try xz.endBlock() }
            try addSpooled(listing.name, listing.spool, sumIt: true)
        }
        // SHA256SUMS (which the manifest repeats) gets a block of its own, so a bundle cut
        // short at its end loses it, its xz index and footer before it loses the manifest.
        try buffered.drain()
        if let xz = compressor as? XZCompressor { try xz.endBlock() }
        try addSpooled("SHA256SUMS", sums, sumIt: false)
        try tar.finish()
        // Drains the buffer into the compressor, which then ends its stream.
        try buffered.flush()
        if let output {
            try output.commit()
        } else if let volumes {
            try volumes.commit()
        }
    }

    /// Removes the partial output after a failure.
    public func discard() {
        output?.discard()
        volumes?.discard()
    }

    private func addSpooled(_ name: String, _ spool: SpoolFile, sumIt: Bool) throws {
        var hasher = ContentHasher()
        _ = try tar.addFile(path: "\(top)/\(name)", size: spool.size, mtime: created)
        try spool.copy { bytes in
            hasher.update(bytes)
            try tar.writeContent(bytes)
        }
        try tar.endFile()
        if sumIt { try sums.write(Self.sumLine(hash: hasher.finalizeHex(), path: name)) }
    }
}

/// The version every tool reports and bundles record.
public let mailkeepVersion = "0.7.0"

/// 64-bit FNV-1a: a stable, cheap hash of a name.
package func fnv1a(_ text: String) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in text.utf8 {
        h ^= UInt64(byte)
        h = h &* 0x0000_0100_0000_01B3
    }
    return h
}
