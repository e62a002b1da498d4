import MailKeepIO
/// What mailkeep knows about a message besides its content bytes.
///
/// The content is the RFC 5322 message as its author's client would see it: for a message read
/// from an mbox that is the bytes after the From_ line, with mboxrd `>From ` quoting removed and
/// the mbox metadata headers (`Status`, `X-Status`, `Content-Length`) taken out into
/// `mboxHeaders`. So the same message has the same content (and the same SHA-256) in an mbox,
/// a Maildir or an `.eml` file.
public struct MessageMetadata: Sendable, Equatable {
    /// Folder path below the root of the tree, in UTF-8; empty for the root (INBOX) folder.
    public var folder: [String]
    /// Maildir flags: the sorted, distinct ASCII letters of the `:2,` info part.
    public var flags: String
    /// IMAP keyword names (`$Forwarded`, `Wichtig`), in the order the source gave them, each
    /// once (compared without regard to case, as IMAP servers do). Maildir keeps them as the
    /// letters `a`-`z` of `flags` named by the folder's `dovecot-keywords`: a reader turns the
    /// letters it can name into names here, and a writer gives the names its target folder's
    /// letters. A letter no file names stays in `flags`.
    public var keywords: [String]
    /// True for a message nobody has looked at yet (Maildir `new/`, mbox without `Status: O`).
    public var isNew: Bool
    /// Received time, Unix seconds (Maildir file mtime, the mbox From_ line's date).
    public var received: Int64?
    /// The From_ line as it stood in the source mbox, without its line ending.
    public var fromLine: [UInt8]?
    /// mbox metadata header lines, verbatim with their line endings, taken out of the content.
    public var mboxHeaders: [UInt8]?
    /// Where `mboxHeaders` stood: a byte offset into the content's header block.
    public var mboxHeadersOffset: Int
    /// True when the source mbox was read as mboxo (`--mbox-dialect mboxo`, an Apple Mail
    /// package, Thunderbird's messages): its `>From ` lines are the author's, not quoting. A
    /// writer that keeps each message's form quotes it as mboxo again, so the mbox comes back
    /// byte for byte; the bundle manifest keeps it as `mbox_quoting`.
    public var quotedAsMboxo = false
    /// The Maildir unique name (the part before the info separator), when the source had one.
    public var uniqueName: String?
    /// The file this message came from and its byte offset there, for error messages.
    public var source: String
    public var sourceOffset: Int64
    /// SHA-256 of the content when it is already known (a bundle reader checks every message
    /// against its manifest; restore hashes once), so writers do not hash the same bytes again.
    public var contentSHA256: String?
    /// Set for a file the reader recognised from an earlier backup (`KnownFiles`) and did not
    /// read: the content handed on with it is empty, and the sink (an increment) refers to the
    /// bundle that holds the bytes.
    public var known: KnownContent?

    public init(
        folder: [String] = [], flags: String = "", keywords: [String] = [], isNew: Bool = false, received: Int64? = nil,
        fromLine: [UInt8]? = nil, mboxHeaders: [UInt8]? = nil, mboxHeadersOffset: Int = 0,
        uniqueName: String? = nil, source: String = "", sourceOffset: Int64 = 0, contentSHA256: String? = nil
    ) {
        self.folder = folder
        self.flags = flags
        self.keywords = keywords
        self.isNew = isNew
        self.received = received
        self.fromLine = fromLine
        self.mboxHeaders = mboxHeaders
        self.mboxHeadersOffset = mboxHeadersOffset
        self.uniqueName = uniqueName
        self.source = source
        self.sourceOffset = sourceOffset
        self.contentSHA256 = contentSHA256
    }

    /// Names (keywords) as a diagnostic lists them: the first few, each cut short, and how
    /// many more, so that a hostile header does not print thousands of lines or kilobytes.
    package static func listed(_ names: [String], first: Int = 5) -> String {
        let shown = names.prefix(first).map { DiagnosticFormat.excerpt($0) }.joined(separator: " ")
        return names.count > first ? shown + " and \(names.count - first) more" : shown
    }

    /// The folder as one slash-separated path, `""` for the root.
    public var folderPath: String { folder.joined(separator: "/") }
}

/// Where an earlier backup holds a message's bytes: a bundle of an increment's chain (0 the
/// full one) and the line of its manifest.
public struct KnownContent: Sendable, Equatable {
    public var holder: Int
    public var entry: Int
    public init(holder: Int, entry: Int) {
        self.holder = holder
        self.entry = entry
    }
}

/// Asked by the Maildir reader before it reads a file: a file the previous backup's state
/// describes with the same unique name, size and received time is taken as unchanged and
/// not read (`mailpack --base`; `--rehash` does without). A file changed in place with its
/// size and mtime kept is not noticed that way.
public protocol KnownFiles: AnyObject {
    func known(unique: String, size: Int64, received: Int64) -> KnownContent?
}

/// Something that hands out messages one at a time.
///
/// The content buffer is only valid during the call: sources reuse one buffer so that memory stays
/// flat however large the input.
public protocol MessageSource {
    func forEachMessage(_ body: (MessageMetadata, UnsafeRawBufferPointer) throws -> Void) throws
}

/// What became of one message handed to a sink.
public enum DeliveryOutcome: Sendable, Equatable {
    /// Stored under the name the message asked for.
    case written
    /// The same bytes were there already (a rerun, a restore into a tree that has it): nothing written.
    case alreadyPresent
    /// Stored, but under another name: different bytes held the one it asked for.
    case renamed
}

/// What a sink did, counted by the sink itself (it alone knows, for instance, when a writing
/// thread found a message already present), final once `finish()` has returned.
public struct SinkCounts: Sendable, Equatable {
    public var written = 0
    public var alreadyPresent = 0
    public var renamed = 0
    /// Bytes of message content stored (not container overhead).
    public var bytesWritten: Int64 = 0
    public init() {}

    /// Counts one message's outcome.
    public mutating func add(_ outcome: DeliveryOutcome, bytes: Int) {
        switch outcome {
        case .written: written += 1
        case .alreadyPresent: alreadyPresent += 1
        case .renamed: renamed += 1
        }
        if outcome != .alreadyPresent { bytesWritten += Int64(bytes) }
    }

    /// Counts one message's outcome and hands it on, for a sink's `write` to return.
    public mutating func counting(_ outcome: DeliveryOutcome, bytes: Int) -> DeliveryOutcome {
        add(outcome, bytes: bytes)
        return outcome
    }

    /// Messages stored, under their own name or another.
    public var stored: Int { written + renamed }
}

/// Something that stores messages: a Maildir tree, .eml files, an mbox, a bundle, a listing.
/// Every tool's loop (`Pipeline`) hands each message to one sink, then finishes it, or
/// discards it when the run fails.
public protocol MessageSink: AnyObject {
    /// Stores one message and says what became of it. A sink that writes on another thread
    /// answers for the message when it accepts it; `counts` is corrected by `finish()`.
    @discardableResult
    func write(_ metadata: MessageMetadata, content: UnsafeRawBufferPointer) throws -> DeliveryOutcome
    /// Makes everything written durable; only after it returns may the caller report success.
    func finish() throws
    /// Called instead of `finish()` when the run fails: removes what must not look complete
    /// (a partial mbox or bundle under a temporary name). Messages already delivered to a
    /// Maildir stay: each is whole, and a rerun recognises them.
    func discard()
    /// What the sink did so far.
    var counts: SinkCounts { get }
    /// Makes `folder` exist even if no message goes into it, so that a tree comes back with its
    /// empty folders (an empty Trash, Thunderbird's Templates). Called before any message.
    func prepareFolder(_ folder: [String]) throws
}

extension MessageSink {
    /// A sink without folders (one mbox stream, a listing) has nothing to prepare.
    public func prepareFolder(_ folder: [String]) throws {}
}
