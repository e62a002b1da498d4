import MailKeepIO
import MailKeepFormats
import Foundation

/// A bundle's header, `mailkeep-bundle.json` (docs/bundle-format.md).
///
/// Keys a reader does not know are ignored, so a later version can add what it needs without
/// breaking older readers; `version` goes up only when an older reader would misread the
/// bundle, and a reader refuses a version above the one it knows.
public struct BundleHeader: Codable, Sendable, Equatable {
    public static let format = "mailkeep-bundle"
    /// 3: an increment: its manifest holds only the messages new to its chain, and its state
    /// is `STATE.tsv` (an older reader would take the manifest for the whole mailbox); or a
    /// chain consolidated with its history, whose manifest holds messages of older states too.
    /// 2: the manifest records addresses as arrays and a missing Date or Message-ID as null.
    /// 1: addresses as one joined string, header facts only where present.
    public static let currentVersion = 3
    /// What a full bundle is written as: older readers read it whole.
    public static let fullBundleVersion = 2

    public var version: Int
    /// When the bundle was packed, Unix seconds.
    public var created: Int64?
    public var tool: String?
    public var top: String?
    /// The character between a message file's unique name and `2,FLAGS` inside the bundle.
    public var infoSeparator: Character
    public var sources: [String]
    /// Every folder of the packed tree, as the manifest's `folder` names them (`""` the root),
    /// empty ones too: they hold no message, so the manifest alone cannot bring them back.
    /// Absent in bundles written before (their folders are those of their messages); older
    /// readers pass over it, so the version stays.
    public var folders: [String]?
    /// The bundle's identity (32 lower-case hex digits), which increments name in their chain.
    /// Absent in bundles packed before; `BundleChain` names those by their manifest's SHA-256.
    public var id: String?
    /// An increment's chain: the bundles it depends on, the full one first and its base last.
    /// nil for a full bundle.
    public var chain: [ChainLink]?
    /// A consolidated chain's older states, oldest first (docs/bundle-format.md,
    /// "Consolidating a chain"); nil for every other bundle.
    public var history: [HistoryState]?

    /// True for an increment: its manifest holds only what its chain lacked.
    public var isIncrement: Bool { chain != nil }
    /// True when the manifest is not the bundle's state (an increment, or a bundle with a
    /// history): it is read as a history, whose states say what the mailbox held when.
    public var hasStates: Bool { chain != nil || history != nil }

    public init(created: Int64, top: String, infoSeparator: Character, sources: [String], folders: [String]? = nil,
                id: String? = nil, chain: [ChainLink]? = nil, history: [HistoryState]? = nil) {
        version = chain == nil && history == nil ? Self.fullBundleVersion : Self.currentVersion
        self.id = id
        self.chain = chain
        self.history = history
        self.created = created
        tool = "mailkeep \(mailkeepVersion)"
        self.top = top
        self.infoSeparator = infoSeparator
        self.sources = sources
        self.folders = folders
    }

    package enum CodingKeys: String, CodingKey {
        case format, version, created, tool, top, infoSeparator = "info_separator", sources, folders, id, chain, history
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        guard try c.decode(String.self, forKey: .format) == Self.format else {
            throw DecodingError.dataCorruptedError(forKey: .format, in: c, debugDescription: "not \"\(Self.format)\"")
        }
        version = try c.decode(Int.self, forKey: .version)
        created = try c.decodeIfPresent(String.self, forKey: .created).map { try isoTime($0, .created, c) }
        tool = try c.decodeIfPresent(String.self, forKey: .tool)
        top = try c.decodeIfPresent(String.self, forKey: .top)
        let separator = try c.decodeIfPresent(String.self, forKey: .infoSeparator) ?? ":"
        // It splits file names the reader then writes: one ASCII punctuation character.
        guard separator.count == 1, let first = separator.first, first.isASCII, first.isPunctuation || first.isSymbol,
              first != "/", first != "." else {
            throw DecodingError.dataCorruptedError(forKey: .infoSeparator, in: c, debugDescription: "\"\(separator)\" is not one punctuation character")
        }
        infoSeparator = first
        sources = try c.decodeIfPresent([String].self, forKey: .sources) ?? []
        folders = try c.decodeIfPresent([String].self, forKey: .folders)
        id = try c.decodeIfPresent(String.self, forKey: .id)
        if let id, !BundleID.isValid(id) {
            throw DecodingError.dataCorruptedError(forKey: .id, in: c, debugDescription: "not 32 lower-case hex digits")
        }
        chain = try c.decodeIfPresent([ChainLink].self, forKey: .chain)
        history = try c.decodeIfPresent([HistoryState].self, forKey: .history)
        if version < 3, chain != nil {
            throw DecodingError.dataCorruptedError(forKey: .chain, in: c, debugDescription: "only an increment (version 3) has a chain")
        }
        if version < 3, history != nil {
            throw DecodingError.dataCorruptedError(forKey: .history, in: c, debugDescription: "only a version 3 bundle has a history")
        }
        if let history {
            // A history belongs to a consolidated chain, which starts a chain of its own.
            guard chain == nil else {
                throw DecodingError.dataCorruptedError(forKey: .history, in: c, debugDescription: "an increment (with a chain) has no history")
            }
            guard !history.isEmpty else {
                throw DecodingError.dataCorruptedError(forKey: .history, in: c, debugDescription: "an empty history")
            }
            guard Set(history.map(\.state)).count == history.count else {
                throw DecodingError.dataCorruptedError(forKey: .history, in: c, debugDescription: "two states in one file")
            }
        } else if version >= 3, chain?.isEmpty ?? true {
            // Version 3 without a history is an increment; one without its chain could not be read at all.
            throw DecodingError.dataCorruptedError(forKey: .chain, in: c, debugDescription: "an increment (version \(version)) must name its chain")
        }
        // Each link is another bundle: one named twice, or the bundle itself, would make two
        // holders of one manifest and state lines that mean two things.
        var linked = Set<String>()
        for link in chain ?? [] where link.id == id || !linked.insert(link.id).inserted {
            throw DecodingError.dataCorruptedError(forKey: .chain, in: c, debugDescription: link.id == id
                ? "the chain names the bundle itself (id \(link.id))" : "the chain names bundle \(link.id) twice")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.format, forKey: .format)
        try c.encode(version, forKey: .version)
        try c.encodeIfPresent(created.map(iso8601UTC), forKey: .created)
        try c.encodeIfPresent(tool, forKey: .tool)
        try c.encodeIfPresent(top, forKey: .top)
        try c.encode(String(infoSeparator), forKey: .infoSeparator)
        try c.encode(sources, forKey: .sources)
        try c.encodeIfPresent(folders, forKey: .folders)
        try c.encodeIfPresent(id, forKey: .id)
        try c.encodeIfPresent(chain, forKey: .chain)
        try c.encodeIfPresent(history, forKey: .history)
    }

    /// Reads a header file; a version this mailkeep does not know is refused.
    public static func read(_ bytes: some Sequence<UInt8>, bundle: String) throws -> BundleHeader {
        let header: BundleHeader
        do {
            header = try JSONDecoder().decode(BundleHeader.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw MailKeepError.malformed(path: DiagnosticFormat.member("mailkeep-bundle.json", of: bundle), offset: nil, reason: "not a mailkeep bundle header: \(describe(error))")
        }
        guard (1...currentVersion).contains(header.version) else {
            throw MailKeepError.unrecognized(path: bundle, reason: "bundle format version \(header.version) is not one this mailkeep understands (1 to \(currentVersion))")
        }
        return header
    }
}

/// A bundle's identity: 128 random bits as 32 lower-case hex digits.
public enum BundleID {
    public static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<2).map { _ in
            let hex = String(generator.next() as UInt64, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
    }

    /// The id of a bundle packed before ids existed: its manifest's SHA-256, shortened.
    public static func derived(manifestSHA256: String) -> String { String(manifestSHA256.prefix(32)) }

    public static func isValid(_ text: String) -> Bool {
        text.utf8.count == 32 && text.utf8.allSatisfy(isLowerHex)
    }

    static func isLowerHex(_ byte: UInt8) -> Bool { (0x30...0x39).contains(byte) || (0x61...0x66).contains(byte) }
}

/// One bundle an increment depends on (docs/bundle-format.md, "The increment's header").
public struct ChainLink: Codable, Sendable, Equatable {
    public var id: String
    /// SHA-256 of that bundle's `MANIFEST.jsonl`: a bundle with the same id but other content
    /// is not the one the increment was made against.
    public var manifestSHA256: String
    /// Its file name when the increment was packed: a hint for finding it, nothing more.
    public var name: String
    public var created: Int64?

    public init(id: String, manifestSHA256: String, name: String, created: Int64?) {
        self.id = id
        self.manifestSHA256 = manifestSHA256
        self.name = name
        self.created = created
    }

    enum CodingKeys: String, CodingKey {
        case id, manifestSHA256 = "manifest_sha256", name, created
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        guard BundleID.isValid(id) else {
            throw DecodingError.dataCorruptedError(forKey: .id, in: c, debugDescription: "not 32 lower-case hex digits")
        }
        manifestSHA256 = try c.decode(String.self, forKey: .manifestSHA256)
        guard manifestSHA256.utf8.count == 64, manifestSHA256.utf8.allSatisfy(BundleID.isLowerHex) else {
            throw DecodingError.dataCorruptedError(forKey: .manifestSHA256, in: c, debugDescription: "not 64 lower-case hex digits")
        }
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? ""
        created = try c.decodeIfPresent(String.self, forKey: .created).map { try isoTime($0, .created, c) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(manifestSHA256, forKey: .manifestSHA256)
        try c.encode(name, forKey: .name)
        try c.encodeIfPresent(created.map(iso8601UTC), forKey: .created)
    }
}

/// An older state a consolidated chain keeps (docs/bundle-format.md, "Consolidating a
/// chain"): the bundle whose state it was, and the file in this bundle that holds it.
public struct HistoryState: Codable, Sendable, Equatable {
    public var created: Int64
    public var id: String
    /// That bundle's file name (a name for the state, nothing more).
    public var name: String
    /// The state listing below the bundle's top directory: `STATES/NNN.tsv`.
    public var state: String

    public init(created: Int64, id: String, name: String, state: String) {
        self.created = created
        self.id = id
        self.name = name
        self.state = state
    }

    /// The listing of the `index`th older state (from 0): `STATES/000.tsv`, ...
    public static func listing(_ index: Int) -> String {
        let digits = String(index)
        return "STATES/" + String(repeating: "0", count: max(0, 3 - digits.count)) + digits + ".tsv"
    }

    /// A name a reader may open below the top directory: `STATES/`, digits, `.tsv`.
    public static func isListing(_ name: String) -> Bool {
        guard name.hasPrefix("STATES/"), name.hasSuffix(".tsv") else { return false }
        let digits = name.utf8.dropFirst("STATES/".utf8.count).dropLast(".tsv".utf8.count)
        return (3...9).contains(digits.count) && digits.allSatisfy { (0x30...0x39).contains($0) }
    }

    enum CodingKeys: String, CodingKey {
        case created, id, name, state
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        created = try isoTime(try c.decode(String.self, forKey: .created), .created, c)
        id = try c.decode(String.self, forKey: .id)
        guard BundleID.isValid(id) else {
            throw DecodingError.dataCorruptedError(forKey: .id, in: c, debugDescription: "not 32 lower-case hex digits")
        }
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? ""
        state = try c.decode(String.self, forKey: .state)
        guard Self.isListing(state) else {
            throw DecodingError.dataCorruptedError(forKey: .state, in: c, debugDescription: "\(state.debugDescription) is not STATES/NNN.tsv")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(iso8601UTC(created), forKey: .created)
        try c.encode(id, forKey: .id)
        try c.encode(name, forKey: .name)
        try c.encode(state, forKey: .state)
    }
}

/// One line of a bundle's `MANIFEST.jsonl` (docs/bundle-format.md): where a message is in the
/// archive, its folder and flags, and what its headers said when it was packed.
///
/// Every number is checked against what a bundle can hold when the line is read, so no value
/// from a manifest can overflow arithmetic later.
public struct ManifestEntry: Codable, Sendable {
    public var path: String
    public var size: Int64
    public var sha256: String
    public var offset: Int64?
    public var folder: String
    public var flags: String
    public var isNew: Bool
    public var received: Int64?
    /// IMAP keyword names (`$Forwarded`, `Wichtig`); empty when the message has none.
    public var keywords: [String] = []
    /// What the headers said, as far as the line records it: selection through the manifest
    /// rules a message out only on these.
    public var facts: RecordedFacts = .none
    public var mboxSource: String?
    public var mboxIndex: Int64?
    public var fromLine: [UInt8]?
    public var mboxHeaders: [UInt8]?
    public var mboxHeadersOffset: Int64?
    /// The message was read as mboxo (`MessageMetadata.quotedAsMboxo`): `mbox_quoting` "mboxo".
    public var quotedAsMboxo = false

    /// The largest message file a bundle may hold: mail servers refuse messages of a tenth of
    /// it, and readers hold one message whole.
    public static let largestSize: Int64 = 512 << 20
    /// Content offsets in the tar stream are 512-byte aligned and below this (1 EiB), so that
    /// `offset + size` never overflows.
    public static let largestOffset: Int64 = 1 << 60

    public init(path: String, size: Int64, sha256: String, folder: String, flags: String, isNew: Bool) {
        self.path = path
        self.size = size
        self.sha256 = sha256
        self.folder = folder
        self.flags = flags
        self.isNew = isNew
    }

    /// The Message-ID, when the line records one.
    public var messageID: String? { facts.messageID.value ?? nil }
    public var subject: String? { facts.subject.value }

    package enum CodingKeys: String, CodingKey {
        case path, size, sha256, offset, folder, flags, isNew = "new", received, keywords, date, from, to, subject
        case messageID = "message_id", mboxSource = "mbox_source", mboxIndex = "mbox_index"
        case fromLine = "from_line", fromLineBase64 = "from_line_base64"
        case mboxHeaders = "mbox_headers", mboxHeadersBase64 = "mbox_headers_base64"
        case mboxHeadersOffset = "mbox_headers_offset"
        case mboxQuoting = "mbox_quoting"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func invalid(_ key: CodingKeys, _ what: String) -> DecodingError {
            .dataCorruptedError(forKey: key, in: c, debugDescription: what)
        }
        path = try c.decode(String.self, forKey: .path)
        size = try c.decode(Int64.self, forKey: .size)
        guard (0...Self.largestSize).contains(size) else { throw invalid(.size, "\(size) is outside 0 to \(Self.largestSize)") }
        sha256 = try c.decode(String.self, forKey: .sha256)
        guard sha256.utf8.count == 64, sha256.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else {
            throw invalid(.sha256, "not 64 lower-case hex digits")
        }
        offset = try c.decodeIfPresent(Int64.self, forKey: .offset)
        if let offset, !(0...Self.largestOffset).contains(offset) || offset % 512 != 0 {
            throw invalid(.offset, "\(offset) is not a tar content offset")
        }
        folder = try c.decodeIfPresent(String.self, forKey: .folder) ?? ""
        flags = try c.decodeIfPresent(String.self, forKey: .flags) ?? ""
        // Flags become part of file names a reader writes: Maildir flag and keyword letters only.
        guard flags.utf8.allSatisfy({ (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }) else {
            throw invalid(.flags, "not Maildir flag letters")
        }
        isNew = try c.decodeIfPresent(Bool.self, forKey: .isNew) ?? false
        received = try c.decodeIfPresent(String.self, forKey: .received).map { try isoTime($0, .received, c) }
        keywords = try c.decodeIfPresent([String].self, forKey: .keywords) ?? []
        // Keyword names become lines of `dovecot-keywords` and header words a reader writes.
        if let bad = keywords.first(where: { !DovecotKeywords.isValidName($0) }) {
            throw invalid(.keywords, "\(bad.debugDescription) is not an IMAP keyword")
        }

        // An absent key records nothing; null records that the message has no such header.
        func nullable<T: Sendable & Equatable>(_ key: CodingKeys, _ read: () throws -> T) throws -> Recorded<T?> {
            guard c.contains(key) else { return .unrecorded }
            return try c.decodeNil(forKey: key) ? .recorded(nil) : .recorded(read())
        }
        // Version 1 joined the addresses into one string, which cannot be split back exactly
        // (a display name may hold a comma): such a line records no addresses.
        func addresses(_ key: CodingKeys) throws -> Recorded<[String]> {
            guard c.contains(key) else { return .unrecorded }
            if let list = try? c.decode([String].self, forKey: key) { return .recorded(list) }
            _ = try c.decode(String.self, forKey: key)
            return .unrecorded
        }
        var subject = Recorded<String>.unrecorded
        if c.contains(.subject) { subject = .recorded(try c.decodeIfPresent(String.self, forKey: .subject) ?? "") }
        facts = RecordedFacts(
            date: try nullable(.date) { try isoTime(try c.decode(String.self, forKey: .date), .date, c) },
            from: try addresses(.from), to: try addresses(.to), subject: subject,
            messageID: try nullable(.messageID) { try c.decode(String.self, forKey: .messageID) })

        mboxSource = try c.decodeIfPresent(String.self, forKey: .mboxSource)
        mboxIndex = try c.decodeIfPresent(Int64.self, forKey: .mboxIndex)
        if let mboxIndex, mboxIndex < 0 { throw invalid(.mboxIndex, "\(mboxIndex) is negative") }
        fromLine = try Self.bytes(c, .fromLine, .fromLineBase64)
        mboxHeaders = try Self.bytes(c, .mboxHeaders, .mboxHeadersBase64)
        mboxHeadersOffset = try c.decodeIfPresent(Int64.self, forKey: .mboxHeadersOffset)
        if let at = mboxHeadersOffset, !(0...size).contains(at) {
            throw invalid(.mboxHeadersOffset, "\(at) is outside the message's \(size) bytes")
        }
        switch try c.decodeIfPresent(String.self, forKey: .mboxQuoting) {
        case nil, "mboxrd": quotedAsMboxo = false
        case "mboxo": quotedAsMboxo = true
        case let other?: throw invalid(.mboxQuoting, "\(other) is not mboxo or mboxrd")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(path, forKey: .path)
        try c.encode(size, forKey: .size)
        try c.encode(sha256, forKey: .sha256)
        try c.encodeIfPresent(offset, forKey: .offset)
        try c.encode(folder, forKey: .folder)
        try c.encode(flags, forKey: .flags)
        try c.encode(isNew, forKey: .isNew)
        // A file time outside years 0000-9999 (a Maildir mtime can be anything) has no ISO 8601
        // form a reader accepts: it is left out rather than written unreadable.
        try c.encodeIfPresent(received.map(iso8601UTC).flatMap { parseISO8601($0) == received ? $0 : nil }, forKey: .received)
        if !keywords.isEmpty { try c.encode(keywords, forKey: .keywords) }
        if case .recorded(let date) = facts.date { try c.encode(date.map(iso8601UTC), forKey: .date) }
        if case .recorded(let id) = facts.messageID { try c.encode(id, forKey: .messageID) }
        try c.encodeIfPresent(facts.from.value, forKey: .from)
        try c.encodeIfPresent(facts.to.value, forKey: .to)
        try c.encodeIfPresent(facts.subject.value, forKey: .subject)
        try c.encodeIfPresent(mboxSource, forKey: .mboxSource)
        try c.encodeIfPresent(mboxIndex, forKey: .mboxIndex)
        try Self.encodeBytes(&c, fromLine, .fromLine, .fromLineBase64)
        try Self.encodeBytes(&c, mboxHeaders, .mboxHeaders, .mboxHeadersBase64)
        if mboxHeaders != nil { try c.encodeIfPresent(mboxHeadersOffset, forKey: .mboxHeadersOffset) }
        if quotedAsMboxo && fromLine != nil { try c.encode("mboxo", forKey: .mboxQuoting) }
    }

    /// Bytes that are valid UTF-8 go in as a string, others as base64 under `KEY_base64`.
    private static func encodeBytes(_ c: inout KeyedEncodingContainer<CodingKeys>, _ bytes: [UInt8]?,
                                    _ key: CodingKeys, _ base64Key: CodingKeys) throws {
        guard let bytes else { return }
        if let text = String(validatingUTF8Bytes: bytes) {
            try c.encode(text, forKey: key)
        } else {
            try c.encode(Data(bytes).base64EncodedString(), forKey: base64Key)
        }
    }

    private static func bytes(_ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys, _ base64Key: CodingKeys) throws -> [UInt8]? {
        if let text = try c.decodeIfPresent(String.self, forKey: key) { return Array(text.utf8) }
        guard let encoded = try c.decodeIfPresent(String.self, forKey: base64Key) else { return nil }
        guard let data = Data(base64Encoded: encoded) else {
            throw DecodingError.dataCorruptedError(forKey: base64Key, in: c, debugDescription: "not base64")
        }
        return Array(data)
    }

    /// The message's metadata as mailkeep carries it between formats. `separator` is the
    /// bundle's info separator, which splits the file name into unique name and flags.
    public func metadata(source: String, separator: Character) -> MessageMetadata {
        let parsed = MaildirName.parse(FileSystem.baseName(path), extraSeparator: separator)
        var meta = MessageMetadata(folder: folder.isEmpty ? [] : folder.split(separator: "/").map(String.init),
                               flags: flags, keywords: keywords, isNew: isNew, received: received, fromLine: fromLine,
                               mboxHeaders: mboxHeaders, mboxHeadersOffset: Int(mboxHeadersOffset ?? 0),
                               uniqueName: parsed.unique, source: DiagnosticFormat.member(path, of: source), sourceOffset: offset ?? 0,
                               contentSHA256: sha256)
        meta.quotedAsMboxo = quotedAsMboxo
        return meta
    }
}

/// A bundle's manifest as every tool reads it: the entries by path in manifest order, and each
/// line that could not be used, by number, with the reason.
///
/// It is held in bounded memory: the usable lines are kept in a scratch file (or, for a
/// manifest given as bytes, in one array), and per entry only where its line is and a 64-bit
/// hash of its path (about 30 bytes); an entry is decoded again from its line when asked for.
/// A line longer than `longestLine` is passed over as it streams past, never held: no manifest
/// line mailkeep writes is that long (`BundleWriter` leaves out what would make it so).
public struct BundleManifest: Sendable {
    public struct Problem: Sendable {
        /// 1-based line number in MANIFEST.jsonl.
        public var line: Int
        /// The entry, when the line was valid but its path was already listed.
        public var duplicate: ManifestEntry?
        public var what: String
    }

    public static let longestLine = 16 << 20

    private let store: Store
    public var problems: [Problem] { store.problems }
    /// Why the manifest could not be kept in its scratch file, if it could not: the manifest
    /// is then incomplete, and no reader goes on with it.
    public var failure: Error? { store.failure }
    /// The entries by path; iterating gives them in manifest order.
    public var entries: Entries { Entries(store: store) }
    /// The entries' paths in manifest order.
    public var order: Order { Order(store: store) }

    public init() { store = Store(spool: nil) }

    /// Reads the bytes of MANIFEST.jsonl.
    public init(_ bytes: UnsafeRawBufferPointer) {
        let builder = Builder(spool: nil)
        builder.append(bytes)
        self = builder.finish()
    }

    public init(_ bytes: [UInt8]) {
        self = bytes.withUnsafeBytes { BundleManifest($0) }
    }

    fileprivate init(store: Store) { self.store = store }

    /// The entries by path, and in manifest order when iterated.
    public struct Entries: Sequence, Sendable {
        fileprivate let store: Store
        public var count: Int { store.offsets.count }
        public var isEmpty: Bool { store.offsets.isEmpty }
        public subscript(path: String) -> ManifestEntry? { store.find(path).map(\.entry) }
        /// Every entry, in manifest order.
        public var values: Entries { self }
        /// The paths, in manifest order.
        public var keys: Order { Order(store: store) }
        public func makeIterator() -> AnyIterator<ManifestEntry> {
            var i = 0
            return AnyIterator {
                while i < store.offsets.count {
                    defer { i += 1 }
                    if let entry = store.entry(at: i) { return entry }
                }
                return nil
            }
        }
    }

    /// The paths in manifest order, each decoded from its line when asked for.
    public struct Order: RandomAccessCollection, Sendable {
        fileprivate let store: Store
        public var startIndex: Int { 0 }
        public var endIndex: Int { store.offsets.count }
        public subscript(position: Int) -> String { store.entry(at: position)?.path ?? "" }
    }

    /// The entry on line `line` of MANIFEST.jsonl, counted from 0 (how `STATE.tsv` names
    /// entries); nil when there is no such line or it was not usable.
    public func entry(atLine line: Int) -> ManifestEntry? {
        store.number(ofLine: line).flatMap { store.entry(at: $0) }
    }

    /// The line (from 0) and the entry that lists `path`.
    public func lineAndEntry(ofPath path: String) -> (line: Int, entry: ManifestEntry)? {
        store.find(path).map { (Int(store.lines[$0.number]), $0.entry) }
    }

    /// The line (from 0) of the `number`th kept entry, in manifest order.
    public func line(ofEntryAt number: Int) -> Int { Int(store.lines[number]) }

    /// The content key (`ContentKey.of` its `sha256`) of the entry on line `line`, from
    /// 0, without decoding the line again; nil when there is no usable entry there.
    public func contentKey(atLine line: Int) -> UInt64? {
        store.number(ofLine: line).map { store.contentKeys[$0] }
    }

    /// Every usable entry's line (from 0) and content key, in manifest order: a history's and
    /// an increment's index of what a chain holds, 8 bytes a message.
    public func forEachContentKey(_ body: (Int, UInt64) throws -> Void) rethrows {
        for number in 0..<store.lines.count { try body(Int(store.lines[number]), store.contentKeys[number]) }
    }

    /// Reads MANIFEST.jsonl as it streams past, in chunks of any size.
    public final class Builder: ByteSink {
        private let store: Store
        private let decoder = JSONDecoder()
        private var line: [UInt8] = []
        private var overlong = false
        private var lineNumber = 0

        /// `spool`: where the usable lines are kept; nil keeps them in memory.
        public init(spool: SpoolFile?) { store = Store(spool: spool) }

        /// A builder whose lines go to a new scratch file.
        public static func spooled() throws -> Builder { Builder(spool: try SpoolFile(purpose: "manifest")) }

        public func append(_ bytes: UnsafeRawBufferPointer) {
            var start = 0
            while start < bytes.count {
                let newline = bytes[start...].firstIndex(of: 0x0A)
                let end = newline ?? bytes.count
                if !overlong {
                    if line.count + (end - start) > BundleManifest.longestLine {
                        overlong = true
                        line = []
                    } else {
                        line.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
                    }
                }
                guard newline != nil else { break }
                endLine()
                start = end + 1
            }
        }

        public var name: String { "MANIFEST.jsonl" }
        public func write(_ bytes: UnsafeRawBufferPointer) { append(bytes) }
        public func flush() {}

        /// The manifest read; a last line without a newline counts.
        public func finish() -> BundleManifest {
            if overlong || !line.isEmpty { endLine() }
            line = []
            return BundleManifest(store: store)
        }

        private func endLine() {
            lineNumber += 1
            guard store.failure == nil else { return }
            defer { line.removeAll(keepingCapacity: line.count <= 1 << 16); overlong = false }
            if overlong {
                store.problems.append(Problem(line: lineNumber, what: "line \(lineNumber) is longer than \(BundleManifest.longestLine >> 20) MiB; not read"))
                return
            }
            guard !line.isEmpty else { return }
            let entry: ManifestEntry
            do {
                entry = try decoder.decode(ManifestEntry.self, from: Data(line))
            } catch let error as DecodingError {
                store.problems.append(Problem(line: lineNumber, what: "line \(lineNumber) is not a valid entry: \(describe(error))"))
                return
            } catch {
                store.problems.append(Problem(line: lineNumber, what: "line \(lineNumber) is not a valid entry: \(error)"))
                return
            }
            guard store.find(entry.path) == nil else {
                store.problems.append(Problem(line: lineNumber, duplicate: entry, what: "line \(lineNumber): \(entry.path) is listed twice"))
                return
            }
            do {
                try store.add(line, hash: Store.hash(entry.path), lineNumber: lineNumber, content: ContentKey.of(entry.sha256))
            } catch {
                // The scratch file failed (a full or unwritable $TMPDIR): nothing after this
                // line can be kept either, and the reader stops with this error.
                store.failure = error
            }
        }
    }

    /// The kept lines and their index. Written only while the builder reads; read-only after.
    fileprivate final class Store: @unchecked Sendable {
        let spool: SpoolFile?
        var memory: [UInt8] = []
        /// Where each entry's line starts, in manifest order, and its length.
        var offsets: [Int64] = []
        var lengths: [UInt32] = []
        /// Each kept entry's line in MANIFEST.jsonl, from 0 (ascending): a state line names an
        /// entry by its line, and unusable or empty lines are not kept.
        var lines: [Int32] = []
        /// Each kept entry's `ContentKey`.
        var contentKeys: [UInt64] = []
        /// Path hash to the entry's number; hashes shared by several paths list the others in
        /// `more`, and a lookup compares the paths decoded from the lines.
        var index: [UInt64: Int32] = [:]
        var more: [UInt64: [Int32]] = [:]
        var problems: [Problem] = []
        var failure: Error?

        init(spool: SpoolFile?) { self.spool = spool }

        /// FNV-1a over the path's bytes: the same in every run.
        static func hash(_ path: String) -> UInt64 {
            var h: UInt64 = 0xcbf29ce484222325
            for byte in path.utf8 { h = (h ^ UInt64(byte)) &* 0x100000001b3 }
            return h
        }

        func add(_ line: [UInt8], hash: UInt64, lineNumber: Int, content: UInt64) throws {
            let number = Int32(offsets.count)
            if let spool {
                let at = spool.size
                try line.withUnsafeBytes { try spool.write($0) }
                offsets.append(at)
            } else {
                offsets.append(Int64(memory.count))
                memory.append(contentsOf: line)
            }
            lengths.append(UInt32(line.count))
            lines.append(Int32(truncatingIfNeeded: lineNumber - 1))
            contentKeys.append(content)
            if index[hash] == nil { index[hash] = number } else { more[hash, default: []].append(number) }
        }

        func find(_ path: String) -> (number: Int, entry: ManifestEntry)? {
            let h = Self.hash(path)
            guard let first = index[h] else { return nil }
            for number in [first] + (more[h] ?? []) {
                if let entry = entry(at: Int(number)), entry.path == path { return (Int(number), entry) }
            }
            return nil
        }

        /// The kept entry on manifest line `line` (from 0), by binary search.
        func number(ofLine line: Int) -> Int? {
            guard line >= 0, line <= Int(Int32.max) else { return nil }
            var low = 0, high = lines.count
            while low < high {
                let mid = (low + high) / 2
                if Int(lines[mid]) < line { low = mid + 1 } else { high = mid }
            }
            return low < lines.count && Int(lines[low]) == line ? low : nil
        }

        /// The entry on kept line `number`, decoded again (it decoded when it was read).
        func entry(at number: Int) -> ManifestEntry? {
            let length = Int(lengths[number])
            let bytes: Data
            if let spool {
                var buffer = Data(count: length)
                let n = (try? buffer.withUnsafeMutableBytes { try spool.read(into: $0, at: offsets[number]) }) ?? -1
                guard n == length else { return nil }
                bytes = buffer
            } else {
                let start = Int(offsets[number])
                bytes = Data(memory[start..<start + length])
            }
            return try? JSONDecoder().decode(ManifestEntry.self, from: bytes)
        }
    }
}

/// A message's identity in a history: the first 64 bits of its content's SHA-256 (hex), so
/// that sets and maps of messages hold integers, not strings. Two contents sharing a key are
/// told apart by comparing their full `sha256` where it matters.
public enum ContentKey {
    public static func of(_ sha256: String) -> UInt64 { UInt64(sha256.prefix(16), radix: 16) ?? 0 }
}

/// A time as the format writes it (ISO 8601, see `parseISO8601`), or a decoding error.
private func isoTime<K: CodingKey>(_ text: String, _ key: K, _ c: KeyedDecodingContainer<K>) throws -> Int64 {
    guard let seconds = parseISO8601(text) else {
        throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "\"\(text)\" is not an ISO 8601 time")
    }
    return seconds
}

/// A decoding error as one line: which key, and what is wrong with it.
package func describe(_ error: DecodingError) -> String {
    func key(_ path: [CodingKey]) -> String {
        path.isEmpty ? "" : "\"" + path.map(\.stringValue).joined(separator: ".") + "\": "
    }
    switch error {
    case let .keyNotFound(k, context): return key(context.codingPath) + "no \"\(k.stringValue)\""
    case let .typeMismatch(type, context): return key(context.codingPath) + "not of type \(type)"
    case let .valueNotFound(_, context): return key(context.codingPath) + "null"
    case let .dataCorrupted(context):
        return context.codingPath.isEmpty ? "not JSON" : key(context.codingPath) + context.debugDescription
    @unknown default: return "\(error)"
    }
}

extension String {
    /// nil unless `bytes` are valid UTF-8.
    package init?(validatingUTF8Bytes bytes: [UInt8]) {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var result = ""
        loop: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let s): result.unicodeScalars.append(s)
            case .emptyInput: break loop
            case .error: return nil
            }
        }
        self = result
    }
}

