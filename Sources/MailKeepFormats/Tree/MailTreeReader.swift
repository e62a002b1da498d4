import MailKeepIO
#if canImport(Glibc)
import Glibc
#endif

/// Reads the messages of a `MailTree` in order: folder by folder, `cur/` then `new/`, names
/// sorted, so two runs over the same tree see the same sequence.
public final class MailTreeReader: MessageSource {
    public let tree: MailTree
    private let log: WarningLog
    private let extraSeparator: Character?
    private let mboxDialect: MboxDialect
    private let files = WholeFileReader()
    /// Asked before each Maildir file is read: a file it recognises is handed on unread, with
    /// `MessageMetadata.known` (an increment over an earlier backup).
    public var knownFiles: KnownFiles?

    public init(_ tree: MailTree, extraSeparator: Character? = nil, mboxDialect: MboxDialect = .auto, log: WarningLog) {
        self.tree = tree
        self.mboxDialect = mboxDialect
        self.extraSeparator = extraSeparator
        self.log = log
    }

    public func forEachMessage(_ body: (MessageMetadata, UnsafeRawBufferPointer) throws -> Void) throws {
        for unit in tree.units {
            switch unit {
            case let .maildir(path, folder):
                let record = MboxOrderRecord.load(path)
                let keywordNames: DovecotKeywords
                do {
                    keywordNames = try DovecotKeywords.load(folder: path)
                } catch {
                    log.add(file: FileSystem.join(path, DovecotKeywords.fileName), offset: nil,
                            "not read (\(error)); keyword letters stay letters")
                    keywordNames = DovecotKeywords()
                }
                // Files read, as "sub/name": one a client renamed can be met again under its new name.
                var read = Set<String>()
                for (listedSub, listedName, unique) in try messageFiles(path, record: record) where !read.contains(listedSub + "/" + listedName) {
                    var (sub, name) = (listedSub, listedName)
                    var lookedAgain = 0
                    readingTheFile: while true {
                        let file = FileSystem.join(FileSystem.join(path, sub), name)
                        let parsed = MaildirName.parse(name, extraSeparator: extraSeparator)
                        let (flags, keywords) = keywordNames.split(parsed.flags)
                        if let knownFiles, let stat = FileSystem.regularFileTimeAndSize(file),
                           let known = knownFiles.known(unique: parsed.unique, size: stat.size,
                                                        received: Self.receivedTime(mtime: stat.mtime, unique: parsed.unique)) {
                            var meta = MessageMetadata(folder: folder, flags: flags, keywords: keywords, isNew: sub == "new",
                                                       received: Self.receivedTime(mtime: stat.mtime, unique: parsed.unique),
                                                       uniqueName: parsed.unique, source: file)
                            meta.known = known
                            read.insert(sub + "/" + name)
                            try body(meta, UnsafeRawBufferPointer(start: nil, count: 0))
                            break readingTheFile
                        }
                        let bytes: UnsafeRawBufferPointer
                        let mtime: Int64
                        do {
                            (bytes, mtime) = try files.load(file)
                        } catch MailKeepError.io(_, _, ELOOP) {
                            log.add(file: file, offset: nil, "symlink not followed")
                            break readingTheFile
                        } catch MailKeepError.io(_, _, ENOENT) {
                            // A client renamed it while we read (new/ to cur/, or a flag change):
                            // the message is still there under its unique name, with its new flags.
                            if lookedAgain < 3, let moved = try renamedFile(path, unique: parsed.unique) {
                                guard !read.contains(moved.sub + "/" + moved.name) else { break readingTheFile }
                                (sub, name) = moved
                                lookedAgain += 1
                                continue readingTheFile
                            }
                            log.add(file: file, offset: nil, FileSystem.missingReason(file, vanished: "vanished while the folder was read"))
                            break readingTheFile
                        } catch MailKeepError.refused(_, let reason) {
                            log.add(file: file, offset: nil, reason)
                            break readingTheFile
                        }
                        var fromLine = record[unique]?.fromLine
                        if let line = fromLine, !MboxOrderRecord.isFromLine(line) {
                            log.add(file: FileSystem.join(path, MboxOrderRecord.fileName), offset: nil,
                                    "the From_ line recorded for \(unique) is not a From_ line; the default one is used")
                            fromLine = nil
                        }
                        var meta = MessageMetadata(folder: folder, flags: flags, keywords: keywords, isNew: sub == "new",
                                                   received: Self.receivedTime(mtime: mtime, unique: parsed.unique),
                                                   fromLine: fromLine, uniqueName: parsed.unique, source: file)
                        if fromLine != nil, let headers = record[unique]?.headers {
                            meta.mboxHeaders = headers
                            meta.mboxHeadersOffset = record[unique]?.headersOffset ?? 0
                        }
                        meta.quotedAsMboxo = fromLine != nil && record[unique]?.mboxo == true
                        read.insert(sub + "/" + name)
                        try body(meta, bytes)
                        break readingTheFile
                    }
                }
            case let .mbox(path, folder):
                try readingOneFile(path, body) { try MboxReader.opening(path, folder: folder, dialect: mboxDialect, log: log).forEachMessage($0) }
            case let .message(path, folder):
                try readingOneFile(path, body) { try SingleMessageReader(path: path, folder: folder, files: files).forEachMessage($0) }
            }
        }
    }

    /// Where the message with unique name `unique` is now in the Maildir folder `path`, after
    /// a client renamed it.
    private func renamedFile(_ path: String, unique: String) throws -> (sub: String, name: String)? {
        for sub in ["cur", "new"] {
            let dir = FileSystem.join(path, sub)
            guard try FileSystem.kind(dir) == .directory else { continue }
            if let name = try FileSystem.list(dir).first(where: { !$0.hasPrefix(".") && MaildirName.parse($0, extraSeparator: extraSeparator).unique == unique }) {
                return (sub, name)
            }
        }
        return nil
    }

    /// The message files of a Maildir folder: `cur/` then `new/`, names sorted; where the
    /// folder came from an mbox (`MboxOrderRecord`), the recorded ones first, in mbox order.
    private func messageFiles(_ path: String, record: [String: MboxOrderRecord.Entry]) throws
        -> [(sub: String, name: String, unique: String)] {
        // new/ is listed before cur/: a message a client moves from new/ to cur/ between the two
        // listings is then met twice (read once, see forEachMessage), never missed.
        var listed: [String: [(sub: String, name: String, unique: String)]] = [:]
        for sub in ["new", "cur"] {
            let dir = FileSystem.join(path, sub)
            guard try FileSystem.kind(dir) == .directory else { continue }
            for name in try FileSystem.list(dir) where !name.hasPrefix(".") {
                listed[sub, default: []].append((sub, name, MaildirName.parse(name, extraSeparator: extraSeparator).unique))
            }
        }
        let out = (listed["cur"] ?? []) + (listed["new"] ?? [])
        guard !record.isEmpty else { return out }
        return out.enumerated().sorted { a, b in
            let (x, y) = (record[a.element.unique]?.index ?? Int.max, record[b.element.unique]?.index ?? Int.max)
            return x != y ? x < y : a.offset < b.offset
        }.map(\.element)
    }

    /// Reads one file of the tree. A problem with that file (damaged, unreadable) is reported and
    /// the tree goes on, so one bad mbox does not stop a backup of the rest; a failure to write
    /// what was read (disk full) still stops the run.
    private func readingOneFile(_ path: String, _ body: (MessageMetadata, UnsafeRawBufferPointer) throws -> Void,
                                _ read: ((MessageMetadata, UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        try withoutActuallyEscaping(body) { body in
            do {
                try read { meta, content in
                    do { try body(meta, content) } catch { throw WritingFailed(underlying: error) }
                }
            } catch let failure as WritingFailed {
                throw failure.underlying
            } catch let error as MailKeepError {
                log.add(file: path, offset: nil, "not read to its end: \(error)")
            }
        }
    }

    /// The file's mtime is the received time; where it is unset (0), the unique name's leading
    /// timestamp stands in.
    package static func receivedTime(mtime: Int64, unique: String) -> Int64 {
        if mtime > 0 { return mtime }
        let digits = unique.prefix { $0.isASCII && $0.isNumber }
        return Int64(digits) ?? mtime
    }
}

/// One message in a file of its own (`.eml`).
public struct SingleMessageReader: MessageSource {
    package let path: String
    package let folder: [String]
    package let files: WholeFileReader

    public init(path: String, folder: [String], files: WholeFileReader = WholeFileReader()) {
        self.path = path
        self.folder = folder
        self.files = files
    }

    public func forEachMessage(_ body: (MessageMetadata, UnsafeRawBufferPointer) throws -> Void) throws {
        let (bytes, mtime) = try files.load(path)
        try body(MessageMetadata(folder: folder, received: mtime, source: path), bytes)
    }
}

/// Marks an error that came from the consumer of messages, not from the file being read.
private struct WritingFailed: Error {
    let underlying: Error
}
