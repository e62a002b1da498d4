import MailKeepIO
import MailKeepFormats

/// A bundle unpacked with `tar -x`: the top directory with `mailkeep-bundle.json`,
/// `MANIFEST.jsonl`, `SHA256SUMS` and `mail/`, read as the bundle it was.
///
/// Its messages are read through the manifest, as from the packed bundle: each is checked
/// against its SHA-256 before it is handed on (a damaged or missing one is reported, never
/// used), and the manifest itself against `SHA256SUMS`. The header, manifest and checksum
/// files are never taken for mail. A file in `mail/` that the manifest does not list is
/// reported and read with what its name says, as `BundleReader` does.
public final class BundleTree: MessageSource, StoredBundle {
    /// The top directory.
    public let root: String
    public let manifest: BundleManifest
    public let header: BundleHeader?
    public let manifestSHA256: String?
    public var bundlePath: String { root }
    public var hasStateListing: Bool { (try? FileSystem.kind(FileSystem.join(root, StateFile.name))) == .regular }
    private let log: WarningLog
    private let files = WholeFileReader()

    public static let markers = ["mailkeep-bundle.json", "MANIFEST.jsonl"]

    /// The top directory of an unpacked bundle at `path`: `path` itself, or its only
    /// subdirectory (the directory `tar -x` ran in); nil when it is neither.
    public static func top(at path: String) throws -> String? {
        if try isTop(path) { return path }
        let names = try FileSystem.list(path).filter { !$0.hasPrefix(".") }
        guard names.count == 1 else { return nil }
        let only = FileSystem.join(path, names[0])
        return try FileSystem.kind(only) == .directory && isTop(only) ? only : nil
    }

    private static func isTop(_ dir: String) throws -> Bool {
        try markers.allSatisfy { try FileSystem.kind(FileSystem.join(dir, $0)) == .regular }
    }

    public init(root: String, log: WarningLog) throws {
        self.root = root
        self.log = log
        let manifestPath = FileSystem.join(root, "MANIFEST.jsonl")
        // Streamed into a scratch file and hashed as it is read: never held whole.
        let manifestFile = try FileHandleFD.open(reading: manifestPath, followLinks: false)
        let building = try BundleManifest.Builder.spooled()
        var manifestHash = ContentHasher()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = try manifestFile.read(into: buffer)
            if n == 0 { break }
            let piece = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
            building.append(piece)
            manifestHash.update(piece)
        }
        let headerPath = FileSystem.join(root, "mailkeep-bundle.json")
        let headerBytes = try FileHandleFD.open(reading: headerPath, followLinks: false).readAll(limit: 1 << 20)
        do {
            header = try BundleHeader.read(headerBytes, bundle: root)
        } catch MailKeepError.malformed(let file, _, let reason) {
            log.add(file: file, offset: nil, reason + "; read as if it said info separator \":\"")
            header = nil
        }
        manifest = building.finish()
        if let failure = manifest.failure { throw failure }
        for problem in manifest.problems {
            log.add(file: manifestPath, offset: nil, problem.what)
        }
        let manifestSum = manifestHash.finalizeHex()
        manifestSHA256 = manifestSum
        try checkListedSum(of: "MANIFEST.jsonl", sha256: manifestSum)
    }

    /// Read from the listing's file when the bundle has it, checked against its line in
    /// SHA256SUMS as it streams past (a mismatch is reported once the listing has been read).
    public func forEachStateLine(of listing: String, _ body: @escaping (Int, StateLine) throws -> Void) throws {
        if listing == StateFile.name, !hasStateListing { return try manifest.forEachAsState(holder: stateHolders - 1, body) }
        let listingPath = FileSystem.join(root, listing)
        let reader = StateFile.Reader(path: listingPath, holders: stateHolders, body)
        let file = try FileHandleFD.open(reading: listingPath, followLinks: false)
        var hash = ContentHasher()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = try file.read(into: buffer)
            if n == 0 { break }
            let piece = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
            hash.update(piece)
            try reader.write(piece)
        }
        try reader.finish()
        try checkListedSum(of: listing, sha256: hash.finalizeHex())
    }

    public var infoSeparator: Character { header?.infoSeparator ?? ":" }

    /// Checks a file against its line in SHA256SUMS; a missing list or line is reported.
    private func checkListedSum(of name: String, sha256 actual: String) throws {
        let sumsPath = FileSystem.join(root, "SHA256SUMS")
        guard let sums = try? FileHandleFD.open(reading: sumsPath, followLinks: false).readAll(limit: 1 << 30) else {
            log.add(file: sumsPath, offset: nil, "missing or unreadable; \(name) not checked")
            return
        }
        let listed = String(decoding: sums, as: UTF8.self).split(separator: "\n").first { $0.hasSuffix("  " + name) }
        guard let listed else {
            log.add(file: sumsPath, offset: nil, "does not list \(name)")
            return
        }
        if !listed.hasPrefix(actual + "  ") {
            log.add(file: FileSystem.join(root, name), offset: nil, "does not match its checksum in SHA256SUMS; damaged")
        }
    }

    public func forEachMessage(_ body: (MessageMetadata, UnsafeRawBufferPointer) throws -> Void) throws {
        for listed in manifest.entries {
            guard let content = try intactContent(of: listed) else { continue }
            var meta = listed.metadata(source: root, separator: infoSeparator)
            meta.source = FileSystem.join(root, listed.path)
            try body(meta, content)
        }
        try forEachUnlisted(body)
    }

    public func forEachContent(ofLines lines: [Int], _ body: (Int, ManifestEntry, UnsafeRawBufferPointer) throws -> Void) throws {
        for line in lines {
            guard let listed = manifest.entry(atLine: line), let content = try intactContent(of: listed) else { continue }
            try body(line, listed, content)
        }
    }

    /// A listed message's content when it may be read and matches its checksum; otherwise
    /// nil, and the reason is reported.
    private func intactContent(of listed: ManifestEntry) throws -> UnsafeRawBufferPointer? {
        let relative = listed.path
        let file = FileSystem.join(root, relative)
        if let refusal = try refusal(of: relative) {
            log.add(file: FileSystem.join(root, "MANIFEST.jsonl"), offset: nil,
                    "lists \"\(relative)\", \(refusal); not read")
            return nil
        }
        let content: UnsafeRawBufferPointer
        do {
            content = try files.load(file).bytes
        } catch let error as MailKeepError {
            log.add(file: file, offset: nil, "listed in the manifest but not readable (\(error)); lost")
            return nil
        }
        guard Int64(content.count) == listed.size, ContentHasher.sha256Hex(of: content) == listed.sha256 else {
            log.add(file: file, offset: nil,
                    "checksum mismatch (Message-ID \(listed.messageID.map { "<\($0)>" } ?? "none")); damaged, not used")
            return nil
        }
        return content
    }

    /// Why a manifest path may not be read, or nil: it must be a plain relative path under
    /// `mail/` (no `..`, `.` or empty component), and no directory on the way to it may be a
    /// symlink, so that nothing outside the bundle directory is ever read. The file itself is
    /// opened without following a symlink.
    private func refusal(of relative: String) throws -> String? {
        let parts = relative.split(separator: "/", omittingEmptySubsequences: false)
        guard !relative.hasPrefix("/"), parts.count >= 2, parts[0] == "mail" else { return "a path not under mail/" }
        guard !parts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else { return "a path that could leave the bundle" }
        var dir = root
        for part in parts.dropLast() {
            dir = FileSystem.join(dir, String(part))
            switch try FileSystem.kind(dir) {
            case .directory: continue
            case .symlink: return "through the symlink \(dir) (not followed)"
            case .missing: return nil  // reported as not readable when it is opened
            default: return "through \(dir), which is not a directory"
            }
        }
        return nil
    }

    /// Files in `mail/` the manifest does not list.
    private func forEachUnlisted(_ body: (MessageMetadata, UnsafeRawBufferPointer) throws -> Void) throws {
        let mail = FileSystem.join(root, "mail")
        guard try FileSystem.kind(mail) == .directory else { return }
        var pending = ["mail"]
        while let relativeDir = pending.popLast() {
            for name in try FileSystem.list(FileSystem.join(root, relativeDir)) {
                let relative = relativeDir + "/" + name
                let path = FileSystem.join(root, relative)
                switch try FileSystem.kind(path) {
                case .directory: pending.append(relative)
                case .regular:
                    guard manifest.entries[relative] == nil, relativeDir.hasSuffix("/cur") || relativeDir.hasSuffix("/new") else { continue }
                    log.add(file: path, offset: nil, "not in the manifest; given back as its name describes it")
                    let (content, mtime) = try files.load(path)
                    let parsed = MaildirName.parse(name, extraSeparator: infoSeparator)
                    let folder = relative.split(separator: "/").dropFirst().dropLast(2).map(String.init)
                    try body(MessageMetadata(folder: folder, flags: parsed.flags, isNew: relativeDir.hasSuffix("new"),
                                             received: mtime, uniqueName: parsed.unique, source: path), content)
                default:
                    log.add(file: path, offset: nil, "not a regular file; skipped")
                }
            }
        }
    }
}
