import MailKeepIO
import MailKeepFormats
import Foundation

/// Reads a bundle (docs/bundle-format.md) as a source of messages.
///
/// The manifest sits at the end of the tar, but its metadata (From_ lines, mbox headers) is
/// needed as each message goes past; so the reader first loads the manifest (for an xz bundle
/// by decoding only the blocks that hold it, see `XZBlockIndex`; otherwise in a pass that skips
/// message content), then streams the messages. Every message's SHA-256 is checked against the
/// manifest before it is handed on: a damaged message is reported, never restored.
///
/// A damaged bundle gives back everything that survived (docs/recovering.md): when the stream
/// meets damage (a corrupt or cut xz block, a missing volume), an xz bundle is read on from
/// the next intact block that starts a tar entry, each block decoded on its own with its check
/// verified (`XZBlockWalker`); every manifest entry that was not met is named as lost.
public final class BundleReader: MessageSource, StoredBundle {
    public let path: String
    /// A bundle that came on stdin, spooled to a scratch file so it can be read twice.
    private let spool: SpoolFile?
    private let log: WarningLog
    private let threads: Int
    public private(set) var manifest = BundleManifest()
    public private(set) var header: BundleHeader?
    public private(set) var top: String?
    /// Manifest entries by path (in manifest order when iterated).
    public var entries: BundleManifest.Entries { manifest.entries }
    /// Their paths in manifest order.
    public var order: BundleManifest.Order { manifest.order }
    /// True when no manifest survived (an xz bundle cut or damaged where its manifest was):
    /// messages are then checked by the xz block checks alone and described by their file
    /// names and mtimes.
    public private(set) var manifestLost = false
    /// The info separator of the bundle's file names, from its header.
    public var infoSeparator: Character { header?.infoSeparator ?? ":" }
    /// SHA-256 of the bundle's `MANIFEST.jsonl`, lower-case hex: what an increment's chain
    /// link records of its base. Nil when the manifest was lost.
    public private(set) var manifestSHA256: String?
    /// Where the bundle's state listings are (`STATE.tsv`, and a consolidated chain's
    /// `STATES/NNN.tsv`), by name below the top: spans of the tar stream (found from the xz
    /// index), or scratch copies made as the tar walk went past them.
    private var stateListings: [String: StateListing] = [:]
    private enum StateListing {
        case span(offset: Int64, size: Int64)
        case spooled(SpoolFile)
    }
    /// True when the bundle carries a `STATE.tsv` (an increment); its state is then that
    /// listing, not its manifest.
    public var hasStateListing: Bool { stateListings[StateFile.name] != nil }

    public init(path: String, threads: Int = 0, log: WarningLog) throws {
        self.path = path
        self.log = log
        self.threads = threads
        spool = nil
        try loadManifest()
    }

    /// A reader that has not loaded the manifest, for walking a bundle that may be damaged.
    package init(unverifiedPath path: String, threads: Int, log: WarningLog) throws {
        self.path = path
        self.log = log
        self.threads = threads
        spool = nil
    }

    /// Reads a bundle from a stream (stdin): its bytes are copied to a scratch file first.
    public init(stream: ByteSource, threads: Int = 0, log: WarningLog) throws {
        let file = try SpoolFile(purpose: "bundle")
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = try stream.read(into: buffer)
            if n == 0 { break }
            try file.write(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
        path = stream.name
        spool = file
        self.log = log
        self.threads = threads
        try loadManifest()
    }

    /// The raw (possibly compressed) bytes, following volumes.
    package func openRaw() throws -> ByteSource {
        if let spool {
            try spool.rewind()
            return spool
        }
        return VolumeSource.isFirstVolume(path) ? try VolumeSource(first: path) : try FileHandleFD.open(reading: path)
    }

    /// The tar stream.
    package func openTar() throws -> ByteSource {
        try openDecompressed(openRaw(), threads: threads)
    }

    private func loadManifest() throws {
        var manifestBytes: [UInt8]?
        var streamed: BundleManifest?
        var headerBytes: [UInt8]?
        if let fast = try? manifestFromXZIndex() {
            streamed = fast.manifest
            manifestBytes = []
            headerBytes = fast.header
        } else {
            // The manifest streams into a scratch file as it goes past, hashed on the way: held
            // whole, a large one would take memory in proportion to its size. Each state
            // listing is copied to a scratch file likewise, to be read when it is asked for.
            var building: BundleManifest.Builder?
            var hasher = ContentHasher()
            var state: SpoolFile?
            let isManifest = { (path: String) in path.hasSuffix("/MANIFEST.jsonl") }
            let isState = { (path: String) in Self.stateListing(atTarPath: path) != nil }
            let chunked = Chunked(wanted: { isManifest($0) || isState($0) }) { entry, at, bytes in
                if isState(entry.path) {
                    if at == 0 { state = try SpoolFile(purpose: "state") }
                    try state?.write(bytes)
                    return
                }
                if at == 0 {
                    building = try BundleManifest.Builder.spooled()
                    hasher = ContentHasher()
                }
                building?.append(bytes)
                hasher.update(bytes)
            }
            let damage = try forEachEntryRecovering(wantContent: { isManifest($0) || isState($0) || $0.hasSuffix("/mailkeep-bundle.json") },
                                                    chunked: chunked) { entry, content in
                if isManifest(entry.path) {
                    if building == nil {
                        building = BundleManifest.Builder(spool: nil)
                        hasher = ContentHasher()
                    }
                    streamed = building?.finish()
                    manifestSHA256 = hasher.finalizeHex()
                    building = nil
                    manifestBytes = []
                } else if let listing = Self.stateListing(atTarPath: entry.path) {
                    stateListings[listing] = .spooled(try state ?? SpoolFile(purpose: "state"))
                    state = nil
                } else {
                    headerBytes = Array(content)
                }
            }
            // Damaged where the manifest was: an xz bundle's messages can still be checked by
            // their blocks' checks, and are given back described by their names.
            if manifestBytes == nil, !damage.isEmpty, try randomAccessXZ() != nil {
                manifestLost = true
                log.add(file: DiagnosticFormat.member("MANIFEST.jsonl", of: path), offset: nil,
                        "lost in the damage: messages are checked by the xz block checks only, and described by their file names and times")
                manifestBytes = []
            }
        }
        guard let manifestBytes else {
            throw MailKeepError.malformed(path: path, offset: nil, reason: "no MANIFEST.jsonl: not a mailkeep bundle, or cut short before its end")
        }
        if let headerBytes {
            do {
                header = try BundleHeader.read(headerBytes, bundle: path)
            } catch MailKeepError.malformed(let file, _, let reason) {
                // The messages are still there: read them with the standard separator.
                log.add(file: file, offset: nil, reason + "; read as if it said info separator \":\"")
            }
        }
        manifest = streamed ?? BundleManifest(manifestBytes)
        if let failure = manifest.failure { throw failure }
        for problem in manifest.problems {
            log.add(file: DiagnosticFormat.member("MANIFEST.jsonl", of: path), offset: nil, problem.what)
        }
    }

    /// Decodes just the tail of an xz bundle: the manifest starts an xz block of its own, so
    /// the reader looks at block starts from the last one back until one begins with the
    /// manifest's tar header. The header file is read from the first block the same way. The
    /// manifest streams into a scratch file, never held whole.
    package func manifestFromXZIndex() throws -> (manifest: BundleManifest, header: [UInt8]?)? {
        guard spool == nil, !VolumeSource.isFirstVolume(path) else { return nil }
        let index = try XZBlockIndex(path: path)
        // Tar headers at block starts and the bundle's header are glanced at, decoding each block
        // only as far as they go: the state listing's block, say, is decoded whole only when read.
        func decode(_ offset: Int64, _ length: Int64) throws -> [UInt8] {
            let sink = ByteArraySink()
            _ = try index.read(offset: offset, length: min(length, index.uncompressedSize - offset), into: sink, stoppingEarly: true)
            return sink.bytes
        }
        for block in index.blocks.reversed() {
            let probe = try decode(block.uncompressedOffset, 2048)
            guard let file = TarHeaderProbe.file(in: probe), file.name.hasSuffix("/MANIFEST.jsonl") else { continue }
            let manifestTop = String(file.name.dropLast("/MANIFEST.jsonl".count))
            // Only state listings (an increment's STATE.tsv, a consolidated chain's
            // STATES/NNN.tsv), SHA256SUMS and the end of the archive may follow the manifest:
            // an entry hidden after them is met only by reading everything, which refuses it
            // by name before any message is handed on.
            let contentStart = block.uncompressedOffset + Int64(file.headerLength)
            var sumsStart = contentStart + file.size + Int64(TarHeader.padding(after: file.size))
            guard sumsStart < index.uncompressedSize, var sums = TarHeaderProbe.file(in: try decode(sumsStart, 2048)) else { return nil }
            var states: [String: StateListing] = [:]
            while let listing = Self.stateListing(atTarPath: sums.name), sums.name.hasPrefix(manifestTop + "/"), states[listing] == nil {
                states[listing] = .span(offset: sumsStart + Int64(sums.headerLength), size: sums.size)
                sumsStart += Int64(sums.headerLength) + sums.size + Int64(TarHeader.padding(after: sums.size))
                guard sumsStart < index.uncompressedSize, let next = TarHeaderProbe.file(in: try decode(sumsStart, 2048)) else { return nil }
                sums = next
            }
            guard sums.name == "\(manifestTop)/SHA256SUMS" else { return nil }
            let sumsEnd = sumsStart + Int64(sums.headerLength) + sums.size + Int64(TarHeader.padding(after: sums.size))
            let endLength = index.uncompressedSize - sumsEnd
            guard endLength >= 2 * Int64(TarHeader.blockSize), endLength <= 1 << 20,
                  try decode(sumsEnd, endLength).allSatisfy({ $0 == 0 }) else { return nil }
            let building = try BundleManifest.Builder.spooled()
            let hashing = HashingSink(building)
            _ = try index.read(offset: contentStart, length: file.size, into: hashing)
            manifestSHA256 = hashing.finalizeHex()
            stateListings = states
            // The header is a nicety here: damage in the first block must not hide the manifest.
            // Only its own bytes are decoded: damage in a message after it must not hide the
            // header, whose id places the bundle in a history.
            var header: [UInt8]?
            if let start = try? decode(0, 2048), let f = TarHeaderProbe.file(in: start), f.name.hasSuffix("/mailkeep-bundle.json"),
               f.size <= 1 << 20 {
                header = try? decode(Int64(f.headerLength), f.size)
            }
            top = manifestTop
            return (building.finish(), header)
        }
        return nil
    }

    public var bundlePath: String { path }

    /// A tar member's name below the top directory when it is a state listing.
    private static func stateListing(atTarPath path: String) -> String? {
        guard let slash = path.firstIndex(of: "/") else { return nil }
        let relative = String(path[path.index(after: slash)...])
        return StateFile.isListing(relative) ? relative : nil
    }

    public func forEachStateLine(of listing: String, _ body: @escaping (Int, StateLine) throws -> Void) throws {
        let reader = StateFile.Reader(path: DiagnosticFormat.member(listing, of: path), holders: stateHolders, body)
        switch stateListings[listing] {
        case nil:
            guard listing == StateFile.name else {
                throw MailKeepError.malformed(path: path, offset: nil, reason: "its header names the state \(listing), which is not in it (lost in damage, or left out)")
            }
            return try manifest.forEachAsState(holder: stateHolders - 1, body)
        case let .span(offset, size)?:
            let index = try XZBlockIndex(path: path)
            guard offset + size <= index.uncompressedSize else {
                throw MailKeepError.malformed(path: path, offset: offset, reason: "\(listing) runs past the archive's end")
            }
            _ = try index.read(offset: offset, length: size, into: reader)
        case .spooled(let spool)?:
            try spool.copy { try reader.write($0) }
        }
        try reader.finish()
    }

    /// Walks the tar, handing over the content of the files `wantContent` asks for (others
    /// are skipped without being kept). Tar structure errors stop the walk with a typed error.
    public func forEachEntry(wantContent: (String) -> Bool, _ body: (TarEntry, UnsafeRawBufferPointer) throws -> Void) throws {
        try walk(TarReader(try openTar()), base: 0, wantContent: wantContent, body, reached: { _ in })
    }

    /// The offset in the whole tar of the stream the current walk reads (nil when unknown, past
    /// damage whose size is unknown): entries' offsets are relative to it.
    private var walkBase: Int64? = 0

    /// The offset of `offset` of the current walk in the whole tar stream.
    package func tarOffset(_ offset: Int64) -> Int64? { walkBase.map { $0 + offset } }

    /// An error from the code a walk hands entries to, kept apart from the walk's own errors so
    /// that it is never taken for damage.
    private struct HandlerError: Error { let error: Error }

    /// Files whose content is handed over in pieces as it streams past (`body` hears each
    /// piece with its offset in the file, then the walk's own body hears the file with no
    /// bytes once it has been read to its end).
    package struct Chunked {
        var wanted: (String) -> Bool
        var body: (TarEntry, Int64, UnsafeRawBufferPointer) throws -> Void
        package init(wanted: @escaping (String) -> Bool, body: @escaping (TarEntry, Int64, UnsafeRawBufferPointer) throws -> Void) {
            self.wanted = wanted
            self.body = body
        }
    }

    /// The entries of one tar stream (or one intact stretch of it); `reached` hears the tar
    /// offset after each whole entry, `base` is the stream's offset in the whole tar.
    private func walk(_ reader: TarReader, base: Int64?, wantContent: (String) -> Bool, chunked: Chunked? = nil,
                      _ body: (TarEntry, UnsafeRawBufferPointer) throws -> Void, reached: (Int64) -> Void) throws {
        var buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
        defer { buffer.deallocate() }
        walkBase = base
        while let entry = try reader.next() {
            if top == nil, let slash = entry.path.firstIndex(of: "/") { top = String(entry.path[..<slash]) }
            let end = (base ?? 0) + entry.contentOffset + entry.size + Int64(TarHeader.padding(after: entry.size))
            guard entry.kind == .file, wantContent(entry.path) else {
                try reader.skipContent()
                reached(end)
                continue
            }
            if let chunked, chunked.wanted(entry.path) {
                // Handed over as it streams past, never held whole: no size cap applies.
                var at: Int64 = 0
                while at < entry.size {
                    let n = try reader.readContent(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<Int(min(Int64(buffer.count), entry.size - at))]))
                    if n == 0 { break }
                    do {
                        try chunked.body(entry, at, UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                    } catch {
                        throw HandlerError(error: error)
                    }
                    at += Int64(n)
                }
                do {
                    try body(entry, UnsafeRawBufferPointer(start: nil, count: 0))
                } catch {
                    throw HandlerError(error: error)
                }
                reached(end)
                continue
            }
            // A hostile header can claim any size; nothing in a bundle is legitimately this big
            // (mail servers refuse messages of a tenth of it), and the content is held whole.
            guard entry.size <= ManifestEntry.largestSize else {
                throw MailKeepError.unsafeEntry(path: DiagnosticFormat.member(entry.path, of: path), offset: entry.headerOffset,
                                                reason: "claims \(entry.size) bytes, more than the \(ManifestEntry.largestSize >> 20) MiB a bundle entry may have")
            }
            if entry.size > buffer.count {
                buffer.deallocate()
                buffer = .allocate(byteCount: Int(entry.size), alignment: 64)
            }
            var filled = 0
            while filled < entry.size {
                let n = try reader.readContent(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled..<Int(entry.size)]))
                if n == 0 { break }
                filled += n
            }
            do {
                try body(entry, UnsafeRawBufferPointer(rebasing: buffer[0..<filled]))
            } catch {
                throw HandlerError(error: error)
            }
            reached(end)
            if buffer.count > 64 << 20 && filled < 1 << 20 {
                buffer.deallocate()
                buffer = .allocate(byteCount: 1 << 20, alignment: 64)
            }
        }
    }

    /// A stretch of the bundle that could not be read.
    public struct Damage: Sendable {
        /// The file at fault: the bundle, or a missing volume.
        public var file: String
        /// Where the damage starts in the compressed file (volumes counted as one), if known.
        public var offset: Int64?
        public var what: String
        public init(file: String, offset: Int64?, what: String, start: Int64? = nil, end: Int64? = nil) {
            self.file = file
            self.offset = offset
            self.what = what
            self.start = start
            self.end = end
        }
        /// Where it starts and ends in the compressed file (volumes counted as one).
        package var start: Int64?
        package var end: Int64?
        /// Where `file` starts in the compressed bytes (a volume's place in its set).
        package var startOfFile: Int64 = 0

        /// `what`, with the extent of the damage.
        public var description: String {
            guard let start, let end, end > start else { return what }
            return "\(what); compressed bytes \(start - startOfFile) to \(end - startOfFile) unreadable"
        }
    }

    /// Like `forEachEntry`, but damage does not end the walk: an xz bundle is read on past
    /// it, from the next intact block that starts a tar entry. Returns the damage met (empty
    /// for a sound bundle). Unsafe entries are still refused by throwing, as are errors from
    /// `body`.
    public func forEachEntryRecovering(wantContent: (String) -> Bool, _ body: (TarEntry, UnsafeRawBufferPointer) throws -> Void) throws -> [Damage] {
        try forEachEntryRecovering(wantContent: wantContent, chunked: nil, body)
    }

    package func forEachEntryRecovering(wantContent: (String) -> Bool, chunked: Chunked?, _ body: (TarEntry, UnsafeRawBufferPointer) throws -> Void) throws -> [Damage] {
        var resumeAt: Int64 = 0
        var damage: [Damage] = []
        do {
            if manifestLost, let source = try randomAccessXZ() {
                // Nothing here is checked by the manifest: every byte comes from a verified block.
                return try recover(source, from: 0, wantContent: wantContent, chunked: chunked, body)
            }
            try walk(TarReader(try openTar()), base: 0, wantContent: wantContent, chunked: chunked, body, reached: { resumeAt = $0 })
            return []
        } catch let error as HandlerError {
            throw error.error
        } catch let error as MailKeepError {
            switch error {
            case .malformed, .io: break
            default: throw error
            }
            damage.append(Damage(file: error.file ?? path, offset: error.offset, what: error.reason))
        }
        guard let source = try randomAccessXZ() else { return damage }
        do {
            // The stream decoder names where it noticed the damage; the block walk says where it is.
            let found = try recover(source, from: resumeAt, wantContent: wantContent, chunked: chunked, body)
            return found.isEmpty ? damage : found
        } catch let error as HandlerError {
            throw error.error
        }
    }

    /// The bundle's bytes for reading blocks on their own, when it is an xz file or volume set.
    package func randomAccessXZ() throws -> RandomAccessSource? {
        let source: RandomAccessSource
        if spool != nil {
            return nil
        } else if VolumeSource.isFirstVolume(path) {
            source = try VolumeSet(first: path)
        } else {
            source = try FileHandleFD.open(reading: path)
        }
        var magic = [UInt8](repeating: 0, count: 6)
        let n = try magic.withUnsafeMutableBytes { try source.read(into: $0, at: 0) }
        return n == 6 && magic == [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00] ? source : nil
    }

    /// The block-by-block walk: entries from `resumeAt` on, in stretches of intact blocks.
    private func recover(_ source: RandomAccessSource, from resumeAt: Int64, wantContent: (String) -> Bool, chunked: Chunked? = nil,
                         _ body: (TarEntry, UnsafeRawBufferPointer) throws -> Void) throws -> [Damage] {
        let walker = try XZBlockWalker(source)
        var damage: [Damage] = []
        var pendingStart: (content: [UInt8], base: Int64?)?
        var sawDamage = false
        func note(_ compressed: Range<Int64>, _ reason: String) {
            var volume = (source as? VolumeSet)?.missing.first { reason.hasPrefix($0 + ":") }
            if volume == nil, reason.hasSuffix("(cut short)"), let set = source as? VolumeSet,
               compressed.upperBound == (try? set.size()), let next = set.nextWhenLastIsFull {
                volume = next
            }
            // Damage inside a volume set is named by the volume holding it and the offset there.
            let located = (source as? VolumeSet)?.locate(compressed.lowerBound) ?? (path: path, offset: compressed.lowerBound)
            let file = volume ?? located.path
            if let last = damage.last, last.file == file, last.end == compressed.lowerBound {
                damage[damage.count - 1].end = compressed.upperBound
                return
            }
            var found = Damage(file: file, offset: volume == nil ? located.offset : nil,
                               what: volume == nil ? reason : "missing volume", start: compressed.lowerBound, end: compressed.upperBound)
            if volume == nil { found.startOfFile = compressed.lowerBound - located.offset } else { found.start = nil }
            damage.append(found)
        }
        stepping: while let step = walker.next(decode: { block in
            guard !sawDamage, let offset = block.uncompressedOffset, let size = block.uncompressedSize else { return true }
            return offset + size > resumeAt
        }) {
            switch step {
            case let .damage(compressed, _, reason):
                sawDamage = true
                note(compressed, reason)
            case let .block(block, content):
                if content.isEmpty { continue stepping }
                if !sawDamage, let offset = block.uncompressedOffset {
                    // Still before the damage: start exactly where the stream walk stopped.
                    guard offset + Int64(content.count) > resumeAt else { continue stepping }
                    let skip = Int(max(0, resumeAt - offset))
                    pendingStart = (Array(content[skip...]), offset + Int64(skip))
                } else {
                    // Past damage: the first tar header in this block, if any.
                    let alignment = block.uncompressedOffset.map { Int((512 - $0 % 512) % 512) } ?? 0
                    var at = alignment
                    while at + 512 <= content.count, !TarHeaderProbe.isHeader(content, at: at) { at += 512 }
                    guard at + 512 <= content.count else { continue stepping }
                    pendingStart = (Array(content[at...]), block.uncompressedOffset.map { $0 + Int64(at) })
                }
                guard let start = pendingStart else { continue stepping }
                pendingStart = nil
                sawDamage = false
                let run = BlockRunSource(name: path, first: start.content, walker: walker)
                do {
                    try walk(TarReader(run), base: start.base, wantContent: wantContent, chunked: chunked, body, reached: { _ in })
                } catch let error as MailKeepError {
                    switch error {
                    case .malformed, .io: break
                    default: throw error
                    }
                    if run.damage == nil {
                        damage.append(Damage(file: path, offset: nil, what: "\(error.reason) (past the damage)"))
                    }
                }
                if let (compressed, reason) = run.damage {
                    sawDamage = true
                    note(compressed, reason)
                } else if run.ended {
                    break stepping
                }
            }
        }
        return damage
    }

    /// The path of a message entry relative to the top directory, or nil for other entries.
    package func messagePath(_ tarPath: String) -> String? {
        guard let top, tarPath.hasPrefix(top + "/mail/") else { return nil }
        return String(tarPath.dropFirst(top.count + 1))
    }

    public func forEachMessage(_ body: (MessageMetadata, UnsafeRawBufferPointer) throws -> Void) throws {
        var met = Set<String>()
        let damage = try forEachEntryRecovering(wantContent: { self.messagePath($0) != nil }) { entry, content in
            guard let relative = messagePath(entry.path) else { return }
            met.insert(relative)
            let offset = tarOffset(entry.contentOffset)
            guard let listed = entries[relative] else {
                if !manifestLost {
                    log.add(file: DiagnosticFormat.member(relative, of: path), offset: offset, "not in the manifest; given back as its name describes it")
                }
                let parsed = MaildirName.parse(FileSystem.baseName(relative), extraSeparator: infoSeparator)
                let folder = relative.split(separator: "/").dropFirst().dropLast(2).map(String.init)
                try body(MessageMetadata(folder: folder, flags: parsed.flags, isNew: relative.contains("/new/"),
                                         received: entry.mtime, uniqueName: parsed.unique, source: DiagnosticFormat.member(relative, of: path),
                                         sourceOffset: offset ?? 0), content)
                return
            }
            let hash = ContentHasher.sha256Hex(of: content)
            guard hash == listed.sha256, Int64(content.count) == listed.size else {
                log.add(file: DiagnosticFormat.member(relative, of: path), offset: offset,
                        "checksum mismatch (\(Self.describe(listed))); damaged, not used")
                return
            }
            try body(listed.metadata(source: path, separator: infoSeparator), content)
        }
        reportLost(damage: damage, met: met, among: AnySequence(entries))
    }

    /// Reports the damage, then every listed message among `paths` that was not met: lost in
    /// the damage, or missing from an archive that is otherwise whole.
    private func reportLost(damage: [Damage], met: Set<String>, among listed: AnySequence<ManifestEntry>) {
        for d in damage { log.add(file: d.file, offset: d.offset, d.description) }
        var lost = 0
        for entry in listed where !met.contains(entry.path) {
            let relative = entry.path
            lost += 1
            log.add(file: DiagnosticFormat.member(relative, of: path), offset: entry.offset,
                    (damage.isEmpty ? "in the manifest but not in the archive" : "lost in the damage") + " (\(Self.describe(entry))); not given back")
        }
        if !damage.isEmpty {
            log.add(file: path, offset: nil, manifestLost
                ? "damaged: \(met.count) messages read back from intact blocks; the manifest is lost, so messages lost with it cannot be named"
                : lost == 0 ? "damaged, but every one of the \(order.count) listed messages was read; any that failed its checksum is named above; see docs/recovering.md"
                : "damaged: \(lost) of \(order.count) listed messages lost (named above), the rest read back; see docs/recovering.md")
        }
    }

    /// A listed message as a person finds it: folder, Message-ID, subject.
    package static func describe(_ entry: ManifestEntry) -> String {
        let folder = entry.folder.isEmpty ? "INBOX" : entry.folder
        let subject = entry.subject.map { "subject \"\($0)\"" } ?? "no subject recorded"
        return "folder \(folder), Message-ID \(entry.messageID.map { "<\($0)>" } ?? "none"), \(subject)"
    }
}

/// Consecutive intact xz blocks as one stream, for a tar walk past damage: it ends at the
/// next damaged block (kept in `damage`) or at the end of the file.
private final class BlockRunSource: ByteSource {
    let name: String
    private var current: [UInt8]
    private var at = 0
    private let walker: XZBlockWalker
    private(set) var damage: (Range<Int64>, String)?
    private(set) var ended = false

    init(name: String, first: [UInt8], walker: XZBlockWalker) {
        self.name = name
        current = first
        self.walker = walker
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while at == current.count {
            guard damage == nil, !ended else { return 0 }
            switch walker.next() {
            case nil:
                ended = true
                return 0
            case let .damage(compressed, _, reason)?:
                damage = (compressed, reason)
                return 0
            case let .block(_, content)?:
                current = content
                at = 0
            }
        }
        let n = min(buffer.count, current.count - at)
        current.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + at, byteCount: n) }
        at += n
        return n
    }
}

/// Reads the first file's tar header in some bytes (directory entries before it are passed
/// over): its name (a pax `path` record wins), where its content starts, and its size.
package enum TarHeaderProbe {
    package static func file(in bytes: [UInt8]) -> (name: String, headerLength: Int, size: Int64)? {
        var at = 0
        var paxPath: String?
        while at + 512 <= bytes.count {
            let block = Array(bytes[at..<(at + 512)])
            guard block[257..<262].elementsEqual("ustar".utf8) else { return nil }
            let type = block[156]
            let size = octal(block[124..<136])
            if type == UInt8(ascii: "x") {
                let recordsEnd = at + 512 + Int(size)
                guard recordsEnd <= bytes.count else { return nil }
                let records = String(decoding: bytes[(at + 512)..<recordsEnd], as: UTF8.self)
                for record in records.split(separator: "\n") {
                    if let eq = record.firstIndex(of: "="), record[..<eq].hasSuffix(" path") { paxPath = String(record[record.index(after: eq)...]) }
                }
                at = at + 512 + (Int(size) + 511) / 512 * 512
                continue
            }
            if type == UInt8(ascii: "5") {
                paxPath = nil
                at += 512
                continue
            }
            guard type == UInt8(ascii: "0") || type == 0 else { return nil }
            let name = paxPath ?? {
                let n = String(decoding: block[0..<100].prefix { $0 != 0 }, as: UTF8.self)
                let p = String(decoding: block[345..<500].prefix { $0 != 0 }, as: UTF8.self)
                return p.isEmpty ? n : p + "/" + n
            }()
            return (name, at + 512, size)
        }
        return nil
    }

    /// True when a valid tar header (ustar magic, right checksum) starts at `at`.
    package static func isHeader(_ bytes: [UInt8], at: Int) -> Bool {
        guard at + 512 <= bytes.count, bytes[(at + 257)..<(at + 262)].elementsEqual("ustar".utf8) else { return false }
        let stored = octal(bytes[(at + 148)..<(at + 156)])
        let sum = bytes[at..<(at + 512)].enumerated().reduce(0) { total, item in
            total + ((148..<156).contains(item.offset) ? 0x20 : Int64(item.element))
        }
        return stored == sum
    }

    private static func octal(_ field: ArraySlice<UInt8>) -> Int64 {
        var v: Int64 = 0
        for b in field where b >= 0x30 && b <= 0x37 { v = v * 8 + Int64(b - 0x30) }
        return v
    }
}

extension BundleReader: SelectiveSource {
    /// Selects through the manifest and decodes only the xz blocks that hold the candidates,
    /// so a handful of messages come out of a large bundle without decompressing all of it.
    /// Bundles that are not a single seekable xz file, manifests that cannot narrow, and
    /// selections of most of the bundle read the stream instead.
    public func forEachSelectedDirectly(_ selection: Selection,
                                        _ body: (MessageMetadata, UnsafeRawBufferPointer, LazyFacts) throws -> Void) throws {
        // With the manifest lost there is nothing to select through: read block by block.
        guard spool == nil, !manifestLost, !VolumeSource.isFirstVolume(path), let index = try? XZBlockIndex(path: path),
              let candidates = self.candidates(for: selection),
              // Reading most of the archive one message at a time would decode blocks many times.
              candidates.count <= max(64, order.count / 10) else {
            return try forEachSelectedByReading(selection, body)
        }
        try forEachSelected(selection, among: candidates, index: index, body)
    }

    /// The entries the manifest cannot rule out, in manifest order; nil when it cannot narrow
    /// exactly (a line was unusable, or a candidate has no offset), as the messages behind such
    /// lines are found only by reading the stream.
    package func candidates(for selection: Selection) -> [ManifestEntry]? {
        guard manifest.problems.isEmpty, !manifestLost else { return nil }
        var chosen: [ManifestEntry] = []
        for entry in entries {
            if selection.admits(entry.metadata(source: self.path, separator: infoSeparator), size: entry.size, facts: { entry.facts }) {
                guard entry.offset != nil else { return nil }
                chosen.append(entry)
            }
        }
        return chosen
    }

    /// Decodes the candidates' messages, checks each against its checksum, and hands on those
    /// the selection keeps when read: the manifest narrows, the message decides.
    package func forEachSelected(_ selection: Selection, among candidates: [ManifestEntry], index: XZBlockIndex,
                         _ body: (MessageMetadata, UnsafeRawBufferPointer, LazyFacts) throws -> Void) throws {
        log.notice(file: path, "only the blocks holding the selected messages were read and checked; the rest of the bundle was not (mailverify reads everything)")
        try forEachListed(candidates, index: index) { entry, content in
            let meta = entry.metadata(source: path, separator: infoSeparator)
            let facts = LazyFacts(content)
            if selection.matches(meta, size: entry.size, facts: { facts.value }) { try body(meta, content, facts) }
        }
    }

    /// Decodes the messages of `candidates` (in archive order, each with an offset) through
    /// the xz index, and hands on each that matches its checksum; the others are named.
    private func forEachListed(_ candidates: [ManifestEntry], index: XZBlockIndex,
                               _ body: (ManifestEntry, UnsafeRawBufferPointer) throws -> Void) throws {
        // Messages close together are decoded in one run, so no block is decoded twice. A run
        // is held whole, so it spans at most `largestRun` (one message may be larger, up to the
        // entry cap), and only messages that follow one another in the archive join one.
        // Offsets and sizes are bounded when the manifest is read, so these sums cannot overflow.
        let largestRun: Int64 = 64 << 20
        var runs: [[(entry: ManifestEntry, offset: Int64)]] = []
        for entry in candidates {
            guard let offset = entry.offset, entry.size <= ManifestEntry.largestSize else { continue }
            if let last = runs.last?.last, let first = runs.last?.first, offset >= last.offset + last.entry.size,
               offset - (last.offset + last.entry.size) < 2 << 20, offset + entry.size - first.offset <= largestRun {
                runs[runs.count - 1].append((entry, offset))
            } else {
                runs.append([(entry, offset)])
            }
        }
        // Messages that do not verify where the manifest places them (a bundle re-packed with
        // tar, whose offsets moved, or damage) are looked for in the stream before being
        // called damaged, so a selective read and a full read never disagree.
        var retry: [String: ManifestEntry] = [:]
        for run in runs {
            guard let first = run.first?.offset, let last = run.last else { continue }
            let length = last.offset + last.entry.size - first
            let sink = ByteArraySink()
            do {
                guard length >= 0, first + length <= index.uncompressedSize else {
                    throw MailKeepError.malformed(path: path, offset: first, reason: "the manifest places messages beyond the archive's end")
                }
                _ = try index.read(offset: first, length: length, into: sink)
            } catch {
                for (entry, _) in run { retry[entry.path] = entry }
                continue
            }
            try sink.bytes.withUnsafeBytes { bytes in
                for (entry, offset) in run {
                    let start = Int(offset - first)
                    let end = start + Int(entry.size)
                    guard start >= 0, end <= bytes.count else {
                        retry[entry.path] = entry
                        continue
                    }
                    let content = UnsafeRawBufferPointer(rebasing: bytes[start..<end])
                    guard ContentHasher.sha256Hex(of: content) == entry.sha256 else {
                        retry[entry.path] = entry
                        continue
                    }
                    try body(entry, content)
                }
            }
        }
        guard !retry.isEmpty else { return }
        try forEachListedByWalking(want: { retry[$0] }, unmet: { met in retry.values.filter { !met.contains($0.path) } }, body)
    }

    /// Reads the stream for the messages `want` names (given a path relative to the top, the
    /// entry when it is wanted), checks each against its checksum, hands on the intact ones
    /// and names the others, and then those of `unmet` (given the paths met) as lost.
    private func forEachListedByWalking(want: (String) -> ManifestEntry?, unmet: (Set<String>) -> [ManifestEntry],
                                        _ body: (ManifestEntry, UnsafeRawBufferPointer) throws -> Void) throws {
        var met = Set<String>()
        // The entry found when the walk asked whether to read a file, for its content next.
        var asked: (path: String, entry: ManifestEntry)?
        let damage = try forEachEntryRecovering(wantContent: { tarPath in
            guard let relative = self.messagePath(tarPath), let entry = want(relative) else { return false }
            asked = (relative, entry)
            return true
        }) { entry, content in
            guard let relative = messagePath(entry.path), let listed = asked?.path == relative ? asked?.entry : want(relative) else { return }
            met.insert(relative)
            guard ContentHasher.sha256Hex(of: content) == listed.sha256, Int64(content.count) == listed.size else {
                log.add(file: DiagnosticFormat.member(relative, of: path), offset: tarOffset(entry.contentOffset),
                        "checksum mismatch (\(Self.describe(listed))); damaged, not used")
                return
            }
            try body(listed, content)
        }
        reportLost(damage: damage, met: met, among: AnySequence(unmet(met).sorted { ($0.offset ?? 0) < ($1.offset ?? 0) }))
    }

    /// Reads the messages on `lines` of the manifest (from 0; how STATE.tsv names them), each
    /// checked against its SHA-256 before `body` hears it with its line and entry: through the
    /// xz index, decoding only the blocks that hold them, when the bundle is one seekable xz
    /// file and they are a few of its messages; otherwise by reading the stream. A damaged or
    /// missing message is named (a problem) and not handed on; a line with no usable entry is
    /// passed over, as the caller named it when it resolved the line.
    public func forEachContent(ofLines lines: [Int], _ body: (Int, ManifestEntry, UnsafeRawBufferPointer) throws -> Void) throws {
        guard !lines.isEmpty, !manifestLost else { return }
        var lineOf: [String: Int] = [:]
        if spool == nil, !VolumeSource.isFirstVolume(path), lines.count <= max(64, order.count / 10),
           let index = try? XZBlockIndex(path: path) {
            var entries: [ManifestEntry] = []
            for line in lines {
                guard let entry = manifest.entry(atLine: line) else { continue }
                entries.append(entry)
                lineOf[entry.path] = line
            }
            if entries.allSatisfy({ $0.offset != nil }) {
                entries.sort { ($0.offset ?? 0) < ($1.offset ?? 0) }
                return try forEachListed(entries, index: index) { entry, content in
                    if let line = lineOf[entry.path] { try body(line, entry, content) }
                }
            }
        }
        // Read the whole stream, each message's entry found by its path as it goes past; a
        // set of line numbers is all that is held.
        let wanted = Set(lines)
        var lineMet: (path: String, line: Int)?
        var linesMet = Set<Int>()
        try forEachListedByWalking(want: { relative in
            guard let found = self.manifest.lineAndEntry(ofPath: relative), wanted.contains(found.line) else { return nil }
            lineMet = (relative, found.line)
            linesMet.insert(found.line)
            return found.entry
        }, unmet: { _ in
            wanted.subtracting(linesMet).sorted().compactMap { self.manifest.entry(atLine: $0) }
        }) { entry, content in
            if let met = lineMet, met.path == entry.path { try body(met.line, entry, content) }
        }
    }
}
