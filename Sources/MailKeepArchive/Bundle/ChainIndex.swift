import MailKeepIO
import MailKeepFormats
import Foundation

/// Why a base for an increment was refused: a link of its chain that is not beside it, or
/// that is not the bundle the chain was made against (docs/bundle-format.md, "The
/// increment's header").
public enum ChainRefusal: Error, CustomStringConvertible, Equatable {
    /// No bundle with the link's id was found: exit 2, the chain cannot be read.
    case missing(base: String, link: ChainLink, position: Int)
    /// A bundle with the link's id whose manifest is not the one the chain names: exit 1.
    case altered(base: String, link: ChainLink, position: Int, found: String, manifestSHA256: String)

    public var description: String {
        switch self {
        case let .missing(base, link, position):
            return "\(base): link \(position) of its chain (\(Self.describe(link))) is not beside it"
        case let .altered(base, link, position, found, sha):
            return "\(base): link \(position) of its chain (\(Self.describe(link))) is not the bundle the chain was made against: "
                + "\(found) has that id but its MANIFEST.jsonl has SHA-256 \(sha), not \(link.manifestSHA256)"
        }
    }

    public var exitStatus: Int32 {
        switch self {
        case .missing: return ExitStatus.failure
        case .altered: return ExitStatus.problem
        }
    }

    private static func describe(_ link: ChainLink) -> String {
        var parts = [link.name.isEmpty ? "unnamed" : link.name, "id \(link.id)"]
        if let created = link.created { parts.append("created \(iso8601UTC(created))") }
        return parts.joined(separator: ", ")
    }
}

/// What an increment is written against: every bundle of its base's chain and the base, what
/// content they hold, and which Maildir files the base's state already describes.
///
/// Kept compact for a million messages: per manifest line a size, a received time, the
/// SHA-256 (32 bytes) and a 64-bit hash of the unique name; the content index maps the first
/// 64 bits of a SHA-256 to its line and is confirmed against the full digest, so two contents
/// that share a prefix are never taken for each other (the second is then simply stored).
public final class ChainIndex: KnownFiles {
    /// The chain the increment names: the base's chain, then the base.
    public let links: [ChainLink]
    /// True when some bundle of the chain stores a message.
    public var holdsMessages: Bool { members.contains { $0.count > 0 } }
    /// The files of the chain's bundles, in the order of `links`.
    public let paths: [String]
    /// The increment's own number as a holder (`links.count`).
    public var ownHolder: Int { links.count }

    fileprivate struct Member {
        var sizes: [Int64] = []
        var received: [Int64] = []
        var digests: [UInt8] = []
        var nameHashes: [UInt64] = []
        var count: Int { sizes.count }

        mutating func append(size: Int64, received: Int64?, digest: [UInt8], nameHash: UInt64) {
            sizes.append(size)
            self.received.append(received ?? Int64.min)
            digests.append(contentsOf: digest)
            nameHashes.append(nameHash)
        }

        func digestMatches(_ entry: Int, _ digest: [UInt8]) -> Bool {
            digests[(entry * 32)..<(entry * 32 + 32)].elementsEqual(digest)
        }
    }

    /// One per holder: the chain's bundles, the base, then the increment being written.
    private var members: [Member]
    /// The first 64 bits of a content SHA-256 -> holder << 40 | entry.
    private var contents: [UInt64: UInt64] = [:]
    /// A Maildir unique name's hash -> what the base's state says of the file.
    private var files: [UInt64: KnownFile] = [:]

    private struct KnownFile {
        var size: Int64
        var received: Int64
        var holder: Int32
        var entry: Int32
        /// The same name twice in the state (a copy in two folders): read such files.
        var ambiguous: Bool
    }

    /// Opens `base` (a bundle file, or a directory: its newest bundle whose chain is complete
    /// there) and the bundles of its chain, which are looked for beside it: by the link's
    /// `name` first, then by id among the bundles in the same directory. `knowFiles` false
    /// (`--rehash`) leaves out the index of unchanged files, so every file is read.
    public static func open(base: String, knowFiles: Bool = true, log: WarningLog) throws -> ChainIndex {
        let basePath: String
        if try FileSystem.kind(base, followLinks: true) == .directory {
            basePath = try newestComplete(in: base, log: log)
        } else {
            basePath = base
        }
        let listing = try BundleListing(path: basePath)
        return try ChainIndex(basePath: basePath, base: listing, knowFiles: knowFiles, log: log)
    }

    private init(basePath: String, base: BundleListing, knowFiles: Bool, log: WarningLog) throws {
        let chain = base.header.chain ?? []
        var listings: [BundleListing] = []
        var paths: [String] = []
        let directory = FileSystem.directoryName(basePath)
        var others: [String: BundleListing]?
        for (position, link) in chain.enumerated() {
            let found = try Self.locate(link, position: position, beside: basePath, in: directory, others: &others)
            listings.append(found.listing)
            paths.append(found.path)
        }
        listings.append(base)
        self.paths = paths + [basePath]
        links = chain + [ChainLink(id: base.id, manifestSHA256: base.manifestSHA256, name: FileSystem.baseName(basePath),
                                   created: base.header.created)]
        members = listings.map(\.member)
        members.append(Member())
        for (holder, member) in members.enumerated() {
            for entry in 0..<member.count {
                let key = Self.prefix(member.digests, at: entry * 32)
                if contents[key] == nil { contents[key] = UInt64(holder) << 40 | UInt64(entry) }
            }
        }
        guard knowFiles else { return }
        func know(_ nameHash: UInt64, holder: Int, entry: Int, received: Int64?) {
            let file = KnownFile(size: members[holder].sizes[entry], received: received ?? Int64.min,
                                 holder: Int32(holder), entry: Int32(entry), ambiguous: false)
            if files.updateValue(file, forKey: nameHash) != nil { files[nameHash]?.ambiguous = true }
        }
        if let state = base.state {
            for (number, line) in state.enumerated() {
                guard line.holder < listings.count, line.entry < members[line.holder].count else {
                    throw MailKeepError.malformed(path: DiagnosticFormat.member(StateFile.name, of: basePath), offset: nil,
                                                  reason: "line \(number + 2): bundle \(line.holder) has no manifest line \(line.entry)")
                }
                let nameHash = line.nameHash ?? members[line.holder].nameHashes[line.entry]
                know(nameHash, holder: line.holder, entry: line.entry, received: line.received)
            }
        } else {
            let holder = listings.count - 1
            for entry in 0..<members[holder].count {
                let received = members[holder].received[entry]
                know(members[holder].nameHashes[entry], holder: holder, entry: entry, received: received == Int64.min ? nil : received)
            }
        }
    }

    /// The link's bundle: by its name beside the base, else by id among the bundles there.
    private static func locate(_ link: ChainLink, position: Int, beside base: String, in directory: String,
                               others: inout [String: BundleListing]?) throws -> (listing: BundleListing, path: String) {
        var candidate: BundleListing?
        var candidatePath = ""
        let named = FileSystem.join(directory, link.name)
        if !link.name.isEmpty, !link.name.contains("/"), try FileSystem.kind(named, followLinks: true) == .regular,
           let listing = try? BundleListing(path: named), listing.id == link.id {
            candidate = listing
            candidatePath = named
        }
        if candidate == nil {
            if others == nil {
                var found: [String: BundleListing] = [:]
                for path in try bundleFiles(in: directory) where path != base {
                    if let listing = try? BundleListing(path: path) { found[path] = listing }
                }
                others = found
            }
            if let match = others?.filter({ $0.value.id == link.id }).sorted(by: { $0.key < $1.key }).first {
                candidate = match.value
                candidatePath = match.key
            }
        }
        guard let candidate else { throw ChainRefusal.missing(base: base, link: link, position: position) }
        guard candidate.manifestSHA256 == link.manifestSHA256 else {
            throw ChainRefusal.altered(base: base, link: link, position: position, found: candidatePath,
                                       manifestSHA256: candidate.manifestSHA256)
        }
        return (candidate, candidatePath)
    }

    /// The bundle files of a directory (a volume set by its first volume), sorted.
    static func bundleFiles(in directory: String) throws -> [String] {
        try FileSystem.list(directory).filter { name in
            !name.hasPrefix(".") && (BundleOptions.compression(forName: name) != nil || VolumeSource.isFirstVolume(name))
        }.map { FileSystem.join(directory, $0) }.filter { (try? FileSystem.kind($0, followLinks: true)) == .regular }
    }

    /// The bundle files `paths` name: a directory stands for the bundles in it.
    public static func bundleFiles(of paths: [String]) throws -> [String] {
        try paths.flatMap { path in try FileSystem.kind(path, followLinks: true) == .directory ? try bundleFiles(in: path) : [path] }
    }

    /// The id a bundle's header gives it (nil for a bundle packed before ids existed).
    public static func id(of path: String) throws -> String? { try BundleListing.header(of: path).id }

    /// The newest of `paths` (by `created`; in one second, the longest chain). A directory
    /// stands for the bundles in it, as for `--base`. A bundle whose header cannot be read is
    /// an error, in a directory too: it may be the newest, and passing over it would write an
    /// older state as if it were the last.
    public static func newest(of paths: [String]) throws -> String {
        var listed: [(path: String, created: Int64, links: Int)] = []
        for file in try bundleFiles(of: paths) {
            let header = try BundleListing.header(of: file)
            listed.append((file, header.created ?? 0, header.chain?.count ?? 0))
        }
        guard let newest = listed.max(by: { ($0.created, $0.links, $0.path) < ($1.created, $1.links, $1.path) }) else {
            throw MailKeepError.invalidArgument(reason: "no bundle given")
        }
        return newest.path
    }

    /// The newest bundle in `directory` (by `created`) whose chain is complete there.
    private static func newestComplete(in directory: String, log: WarningLog) throws -> String {
        var listed: [(path: String, created: Int64, links: Int)] = []
        for path in try bundleFiles(in: directory) {
            do {
                let header = try BundleListing.header(of: path)
                listed.append((path, header.created ?? 0, header.chain?.count ?? 0))
            } catch {
                log.add(file: path, offset: nil, "passed over as a base: its header cannot be read (\(error))")
            }
        }
        // Packed in the same second, an increment is newer than the bundles of its chain.
        let newestFirst = listed.sorted {
            ($0.created, $0.links, $0.path) > ($1.created, $1.links, $1.path)
        }
        var refusals: [String] = []
        for candidate in newestFirst {
            do {
                let listing = try BundleListing(path: candidate.path)
                var others: [String: BundleListing]?
                for (position, link) in (listing.header.chain ?? []).enumerated() {
                    _ = try locate(link, position: position, beside: candidate.path, in: directory, others: &others)
                }
                for refusal in refusals { log.add(file: directory, offset: nil, "passed over: \(refusal)") }
                return candidate.path
            } catch let refusal as ChainRefusal {
                refusals.append(refusal.description)
            }
        }
        throw MailKeepError.unrecognized(path: directory, reason: refusals.isEmpty
            ? "no bundle to use as the base in this directory"
            : "no bundle here has its whole chain beside it (\(refusals.joined(separator: "; ")))")
    }

    private static func prefix(_ digest: [UInt8], at start: Int) -> UInt64 {
        var value: UInt64 = 0
        for i in start..<(start + 8) { value = value << 8 | UInt64(digest[i]) }
        return value
    }

    /// The SHA-256 of line `entry` of holder `holder`'s manifest, lower-case hex; nil when
    /// the holder has no such line.
    public func sha256(holder: Int, entry: Int) -> String? {
        guard holder < members.count, entry >= 0, entry < members[holder].count else { return nil }
        return hexString(members[holder].digests[(entry * 32)..<(entry * 32 + 32)])
    }

    /// The holder and manifest line of a content the chain (or this increment so far) holds.
    public func holding(sha256 hex: String) -> (holder: Int, entry: Int)? {
        guard let digest = Self.digest(hex), let packed = contents[Self.prefix(digest, at: 0)] else { return nil }
        let holder = Int(packed >> 40), entry = Int(packed & 0xFF_FFFF_FFFF)
        return members[holder].digestMatches(entry, digest) ? (holder, entry) : nil
    }

    /// Records a message the increment stores, as its manifest line `entry`.
    public func stored(sha256 hex: String, size: Int64, uniqueName: String) {
        guard let digest = Self.digest(hex) else { return }
        let holder = members.count - 1
        let entry = members[holder].count
        members[holder].append(size: size, received: nil, digest: digest, nameHash: fnv1a(uniqueName))
        let key = Self.prefix(digest, at: 0)
        if contents[key] == nil { contents[key] = UInt64(holder) << 40 | UInt64(entry) }
    }

    /// The `name` a state line needs: the source's unique name where the holding entry's path
    /// has another.
    public func stateName(_ uniqueName: String?, holder: Int, entry: Int) -> String? {
        guard let uniqueName, members[holder].nameHashes[entry] != fnv1a(uniqueName) else { return nil }
        return uniqueName
    }

    public func known(unique: String, size: Int64, received: Int64) -> KnownContent? {
        guard let file = files[fnv1a(unique)], !file.ambiguous, file.size == size, file.received == received else { return nil }
        return KnownContent(holder: Int(file.holder), entry: Int(file.entry))
    }

    static func digest(_ hex: String) -> [UInt8]? {
        let bytes = Array(hex.utf8)
        guard bytes.count == 64 else { return nil }
        var out = [UInt8](repeating: 0, count: 32)
        for i in 0..<32 {
            guard let high = hexValue(bytes[2 * i]), let low = hexValue(bytes[2 * i + 1]) else { return nil }
            out[i] = high << 4 | low
        }
        return out
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: return byte - 0x30
        case 0x61...0x66: return byte - 0x61 + 10
        default: return nil
        }
    }

    /// A bundle's small files, read without its messages where the xz index allows: the
    /// header, each manifest line's size, SHA-256, received time and unique name, the
    /// manifest's SHA-256, and its state listing when it has one.
    fileprivate struct BundleListing {
        var header: BundleHeader
        var manifestSHA256: String
        var member = Member()
        var state: [StateEntry]?
        var id: String { header.id ?? BundleID.derived(manifestSHA256: manifestSHA256) }

        struct StateEntry {
            var holder: Int
            var entry: Int
            var received: Int64?
            var nameHash: UInt64?
        }

        init(path: String) throws {
            var header: BundleHeader?
            var hasher: ContentHasher?
            var digest: String?
            var lines = ManifestLines(bundle: path)
            var stateLines: [StateEntry]?
            var stateReader: StateFile.Reader?
            var member = Member()
            try Self.walk(path, header: { bytes in header = try BundleHeader.read(bytes, bundle: path) }) { name, bytes in
                switch name {
                case "MANIFEST.jsonl":
                    guard let header else {
                        throw MailKeepError.malformed(path: path, offset: nil, reason: "no mailkeep-bundle.json before its manifest")
                    }
                    if hasher == nil { hasher = ContentHasher() }
                    if let bytes {
                        hasher?.update(bytes)
                        try lines.take(bytes, separator: header.infoSeparator) { member.append(size: $0, received: $1, digest: $2, nameHash: $3) }
                    } else {
                        try lines.finish { member.append(size: $0, received: $1, digest: $2, nameHash: $3) }
                        digest = hasher?.finalizeHex()
                    }
                case StateFile.name:
                    guard let header else { return }
                    if stateReader == nil {
                        stateLines = []
                        stateReader = StateFile.Reader(path: DiagnosticFormat.member(StateFile.name, of: path),
                                                       holders: (header.chain?.count ?? 0) + 1) { _, line in
                            stateLines?.append(StateEntry(holder: line.holder, entry: line.entry, received: line.received,
                                                          nameHash: line.name.map(fnv1a)))
                        }
                    }
                    if let bytes { try stateReader?.write(bytes) } else { try stateReader?.finish() }
                default: break
                }
            }
            guard let header else {
                throw MailKeepError.unrecognized(path: path, reason: "not a mailkeep bundle (no mailkeep-bundle.json)")
            }
            guard let digest else {
                throw MailKeepError.malformed(path: path, offset: nil, reason: "no MANIFEST.jsonl: not a mailkeep bundle, or cut short before its end")
            }
            if header.hasStates, stateLines == nil {
                throw MailKeepError.malformed(path: path, offset: nil, reason: "\(header.isIncrement ? "an increment" : "a bundle with a history") without its \(StateFile.name)")
            }
            self.header = header
            manifestSHA256 = digest
            self.member = member
            state = stateLines
        }

        /// Just the header (the first entry): enough to order a directory's bundles.
        static func header(of path: String) throws -> BundleHeader {
            let reader = try BundleReader(unverifiedPath: path, threads: 1, log: WarningLog())
            let tar = TarReader(try reader.openTar())
            while let entry = try tar.next() {
                guard entry.kind == .file else { continue }
                guard entry.path.hasSuffix("/mailkeep-bundle.json"), entry.size <= 1 << 20 else { break }
                var bytes = [UInt8](repeating: 0, count: Int(entry.size))
                var filled = 0
                while filled < bytes.count {
                    let n = try bytes.withUnsafeMutableBytes { try tar.readContent(into: UnsafeMutableRawBufferPointer(rebasing: $0[filled...])) }
                    if n == 0 { break }
                    filled += n
                }
                return try BundleHeader.read(bytes[0..<filled], bundle: path)
            }
            throw MailKeepError.unrecognized(path: path, reason: "not a mailkeep bundle (no mailkeep-bundle.json)")
        }

        /// Hands over the header's bytes, then the manifest's and the state's in pieces (nil
        /// once a file is complete). An xz bundle with an index is decoded only from the
        /// manifest's block on; anything else is walked whole.
        private static func walk(_ path: String, header: ([UInt8]) throws -> Void,
                                 _ body: (String, UnsafeRawBufferPointer?) throws -> Void) throws {
            let reader = try BundleReader(unverifiedPath: path, threads: 0, log: WarningLog())
            if !VolumeSource.isFirstVolume(path), let index = try? XZBlockIndex(path: path), let tail = try tailStart(index) {
                let start = try decode(index, 0, min(index.uncompressedSize, 1 << 16))
                guard let file = TarHeaderProbe.file(in: start), file.name.hasSuffix("/mailkeep-bundle.json"),
                      file.headerLength + Int(file.size) <= start.count else {
                    throw MailKeepError.unrecognized(path: path, reason: "not a mailkeep bundle (no mailkeep-bundle.json first)")
                }
                try header(Array(start[file.headerLength..<(file.headerLength + Int(file.size))]))
                let spool = try SpoolFile(purpose: "bundle-tail")
                _ = try index.read(offset: tail, length: index.uncompressedSize - tail, into: spool)
                try spool.rewind()
                try entries(TarReader(spool), path: path, header: { _ in }, body)
                return
            }
            try entries(TarReader(try reader.openTar()), path: path, header: header, body)
        }

        /// The offset of the block that starts with the manifest's tar header.
        private static func tailStart(_ index: XZBlockIndex) throws -> Int64? {
            for block in index.blocks.reversed() {
                let probe = try decode(index, block.uncompressedOffset, 2048)
                if let file = TarHeaderProbe.file(in: probe), file.name.hasSuffix("/MANIFEST.jsonl") { return block.uncompressedOffset }
            }
            return nil
        }

        private static func decode(_ index: XZBlockIndex, _ offset: Int64, _ length: Int64) throws -> [UInt8] {
            let sink = ByteArraySink()
            _ = try index.read(offset: offset, length: min(length, index.uncompressedSize - offset), into: sink)
            return sink.bytes
        }

        private static func entries(_ tar: TarReader, path: String, header: ([UInt8]) throws -> Void,
                                    _ body: (String, UnsafeRawBufferPointer?) throws -> Void) throws {
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
            defer { buffer.deallocate() }
            while let entry = try tar.next() {
                guard entry.kind == .file else { continue }
                let name = FileSystem.baseName(entry.path)
                if entry.path.hasSuffix("/mailkeep-bundle.json") {
                    guard entry.size <= 1 << 20 else { throw MailKeepError.malformed(path: path, offset: entry.headerOffset, reason: "a header of \(entry.size) bytes") }
                    var bytes: [UInt8] = []
                    while true {
                        let n = try tar.readContent(into: buffer)
                        if n == 0 { break }
                        bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                    }
                    try header(bytes)
                    continue
                }
                guard entry.path.split(separator: "/").count == 2, name == "MANIFEST.jsonl" || name == StateFile.name else { continue }
                while true {
                    let n = try tar.readContent(into: buffer)
                    if n == 0 { break }
                    try body(name, UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                }
                try body(name, nil)
            }
        }
    }

    /// Splits a manifest into lines and takes from each only what an increment needs, with a
    /// byte scan for the keys mailkeep writes (a quote inside a JSON string is always escaped,
    /// so `"sha256":"` occurs only as a key); a line the scan cannot take is decoded in full.
    fileprivate struct ManifestLines {
        let bundle: String
        var pending: [UInt8] = []
        var number = 0

        init(bundle: String) { self.bundle = bundle }

        typealias Taker = (Int64, Int64?, [UInt8], UInt64) -> Void

        mutating func take(_ bytes: UnsafeRawBufferPointer, separator: Character, _ taker: Taker) throws {
            var start = 0
            for i in 0..<bytes.count where bytes[i] == 0x0A {
                pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start..<i]))
                try line(separator: separator, taker)
                pending.removeAll(keepingCapacity: true)
                start = i + 1
            }
            pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start...]))
            self.separator = separator
        }

        private var separator: Character = ":"

        mutating func finish(_ taker: Taker) throws {
            guard !pending.isEmpty else { return }
            try line(separator: separator, taker)
            pending.removeAll()
        }

        private mutating func line(separator: Character, _ taker: Taker) throws {
            number += 1
            let quick = pending.withUnsafeBytes { bytes -> (path: String, size: Int64, sha: String, received: Int64?)? in
                guard let path = Self.string(bytes, after: "\"path\":\""), !path.contains("\\"),
                      let sha = Self.string(bytes, after: "\"sha256\":\""),
                      let size = Self.number(bytes, after: "\"size\":") else { return nil }
                let received = Self.string(bytes, after: "\"received\":\"").flatMap(parseISO8601)
                return (path, size, sha, received)
            }
            let taken: (path: String, size: Int64, sha: String, received: Int64?)
            if let quick {
                taken = quick
            } else {
                do {
                    let entry = try JSONDecoder().decode(ManifestEntry.self, from: Data(pending))
                    taken = (entry.path, entry.size, entry.sha256, entry.received)
                } catch {
                    throw MailKeepError.malformed(path: DiagnosticFormat.member("MANIFEST.jsonl", of: bundle), offset: nil,
                                                  reason: "line \(number): not a manifest line a base can be read by")
                }
            }
            guard let digest = ChainIndex.digest(taken.sha) else {
                throw MailKeepError.malformed(path: DiagnosticFormat.member("MANIFEST.jsonl", of: bundle), offset: nil,
                                              reason: "line \(number): sha256 is not 64 lower-case hex digits")
            }
            let unique = MaildirName.parse(FileSystem.baseName(taken.path), extraSeparator: separator).unique
            taker(taken.size, taken.received, digest, fnv1a(unique))
        }

        private static func find(_ bytes: UnsafeRawBufferPointer, _ key: String) -> Int? {
            let pattern = Array(key.utf8)
            guard bytes.count >= pattern.count else { return nil }
            var i = 0
            while i + pattern.count <= bytes.count {
                guard let hit = memchrIndex(bytes, pattern[0], from: i) else { return nil }
                if hit + pattern.count <= bytes.count, (0..<pattern.count).allSatisfy({ bytes[hit + $0] == pattern[$0] }) {
                    return hit + pattern.count
                }
                i = hit + 1
            }
            return nil
        }

        private static func memchrIndex(_ bytes: UnsafeRawBufferPointer, _ byte: UInt8, from: Int) -> Int? {
            guard from < bytes.count, let base = bytes.baseAddress,
                  let hit = memchr(base + from, Int32(byte), bytes.count - from) else { return nil }
            return UnsafeRawPointer(hit) - base
        }

        private static func string(_ bytes: UnsafeRawBufferPointer, after key: String) -> String? {
            guard let start = find(bytes, key), let end = memchrIndex(bytes, 0x22, from: start) else { return nil }
            return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
        }

        private static func number(_ bytes: UnsafeRawBufferPointer, after key: String) -> Int64? {
            guard let start = find(bytes, key) else { return nil }
            var value: Int64 = 0
            var i = start
            while i < bytes.count, (0x30...0x39).contains(bytes[i]), i - start < 18 {
                value = value * 10 + Int64(bytes[i] - 0x30)
                i += 1
            }
            return i > start ? value : nil
        }
    }
}
