import MailKeepIO
import MailKeepFormats

/// What a history (and the writer of an increment) needs of one bundle, packed or unpacked:
/// its header, its manifest with that manifest's SHA-256 (what a chain link records), and its
/// state (docs/bundle-format.md, "Increments and chains").
public protocol StoredBundle: AnyObject {
    /// The bundle as named on the command line (a file, a volume set's first volume, or the
    /// top directory of an unpacked bundle).
    var bundlePath: String { get }
    var header: BundleHeader? { get }
    var manifest: BundleManifest { get }
    /// SHA-256 of `MANIFEST.jsonl`, lower-case hex; nil when the manifest was lost.
    var manifestSHA256: String? { get }
    /// True when the bundle carries a `STATE.tsv`.
    var hasStateListing: Bool { get }
    /// The state in `listing` in order: `STATE.tsv`, the bundle's own (`body` hears each line's
    /// number there, the column line being 1), or for a bundle without one its manifest, each
    /// usable entry a message held by the bundle itself (`body` hears the manifest line's
    /// number, from 1); or an older state its header's `history` names (`STATES/NNN.tsv`),
    /// which must be there. Lines are checked as `StateFile` reads them; whether a line's entry
    /// exists in its holder's manifest is the caller's to check, as it needs the chain.
    func forEachStateLine(of listing: String, _ body: @escaping (Int, StateLine) throws -> Void) throws
    /// The messages on `lines` of the manifest (from 0), each handed on with its line and
    /// entry only once it matches its SHA-256; a damaged or missing one is named as a problem.
    func forEachContent(ofLines lines: [Int], _ body: (Int, ManifestEntry, UnsafeRawBufferPointer) throws -> Void) throws
    /// The separator between a message file's unique name and its flags.
    var infoSeparator: Character { get }
}

extension StoredBundle {
    /// The bundle's id: its header's, or for a bundle packed before ids existed the one
    /// derived from its manifest's SHA-256.
    public var bundleID: String? { header?.id ?? manifestSHA256.map { BundleID.derived(manifestSHA256: $0) } }
    /// How many bundles this bundle's state lines may name: its chain and itself.
    public var stateHolders: Int { (header?.chain?.count ?? 0) + 1 }
    /// The file name a chain link records for this bundle.
    public var linkName: String { FileSystem.baseName(bundlePath) }

    /// The bundle's own state (its `STATE.tsv`, else its manifest).
    public func forEachStateLine(_ body: @escaping (Int, StateLine) throws -> Void) throws {
        try forEachStateLine(of: StateFile.name, body)
    }
}

extension BundleManifest {
    /// Every usable entry as a line of state held by bundle `holder`: a full bundle's state.
    public func forEachAsState(holder: Int, _ body: (Int, StateLine) throws -> Void) rethrows {
        for number in 0..<order.count {
            let line = line(ofEntryAt: number)
            guard let entry = entry(atLine: line) else { continue }
            try body(line + 1, StateLine(holder: holder, entry: line, folder: entry.folder, flags: entry.flags, isNew: entry.isNew,
                                         received: entry.received, keywords: entry.keywords))
        }
    }
}

/// Passes bytes on to another sink and hashes them on the way.
package final class HashingSink: ByteSink {
    private let inner: ByteSink
    private var hasher = ContentHasher()
    package var name: String { inner.name }
    package init(_ inner: ByteSink) { self.inner = inner }
    package func write(_ bytes: UnsafeRawBufferPointer) throws {
        hasher.update(bytes)
        try inner.write(bytes)
    }
    package func flush() throws { try inner.flush() }
    package func finalizeHex() -> String { hasher.finalizeHex() }
}
