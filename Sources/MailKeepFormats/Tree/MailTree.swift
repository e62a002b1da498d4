import MailKeepIO
/// Reads a directory of mail, whatever layout it has, as one tree of folders.
///
/// A directory is taken apart like this (folder names decoded from modified UTF-7 where valid):
/// - `cur/` and `new/` make it a Maildir folder; `tmp/` holds unfinished deliveries and is
///   skipped (counted in a notice); dot-files there (`.keep`) are ignored.
/// - `.A.B` directories directly under the root are Maildir++ folders `A/B`.
/// - `Name.sbd/` directories hold the subfolders of `Name` (Thunderbird's mbox layout).
/// - A top-level folder named `inbox` in any case (Thunderbird's `Inbox` file, mbsync's `INBOX`
///   directory, Dovecot's `inbox` mbox) is the root folder, the INBOX: a subfolder of that name
///   is one that Dovecot hides behind its own INBOX. Its messages join those at the root, if
///   any; both are kept. Its subfolders keep their path (`INBOX/Sub`).
/// - `Name.mbox/` directories are Apple Mail's export packages: folder `Name`, its messages in
///   the file `mbox` inside, its subfolders in `Sub.mbox/` packages beside it.
/// - `.Name.directory/` holds the subfolders of `Name` (KMail's Maildir layout).
/// - Any other directory is a nested subfolder. A dot-directory below the top is a folder when
///   it is a Maildir (has `cur/` or `new/`); any other (`.git`) is not mail and is skipped with
///   a notice.
/// - Index and state files and directories that mail clients and servers keep beside the mail
///   (`knownMetadataFile`, `knownMetadataDirectory`) are skipped without a word; dot-files are
///   always skipped (KMail's `.Name.index`, mbsync's `.mbsyncstate`, mu's `.noindex`).
/// - A directory holding `mailkeep-bundle.json` and `MANIFEST.jsonl` is an unpacked bundle:
///   below the top it is not read and reported as a problem (exit 1) naming it, so that its
///   messages are never silently left out (`SourceList` reads one
///   named as a source, through its manifest); at the top its header, manifest and checksum
///   list are never taken for mail.
/// - Where a directory holds `.mailkeep-folders` (`FolderNameRecord`), the folders it names
///   (its own, and those of the mbox files and `.sbd` directories in it) are taken from there:
///   mailkeep changed their names to fit the target.
/// - A regular file that starts with `From ` (after decompression) is an mbox folder named after
///   the file; a file that starts like a header block is a single message (`.eml`) of the
///   folder; other files are skipped with a notice naming them.
/// - Symlinks and special files are never followed or opened: each is reported as a problem.
public struct MailTree {
    public enum Unit: Sendable {
        case maildir(path: String, folder: [String])
        case mbox(path: String, folder: [String])
        case message(path: String, folder: [String])
    }

    public let root: String
    public private(set) var units: [Unit] = []

    /// Every folder the tree holds, root first.
    public var folders: [[String]] {
        var seen = Set<[String]>()
        var out: [[String]] = []
        for unit in units {
            let f: [String]
            switch unit {
            case let .maildir(_, folder), let .mbox(_, folder), let .message(_, folder): f = folder
            }
            if seen.insert(f).inserted { out.append(f) }
        }
        return out
    }

    public init(root: String, log: WarningLog) throws {
        self.root = root
        try walk(root, folder: [], base: [], top: true, log: log)
    }

    /// `base` is the folder of the directory above: a record of the directory's own folder
    /// (`FolderNameRecord`) is relative to it.
    private mutating func walk(_ dir: String, folder: [String], base: [String], top: Bool, log: WarningLog) throws {
        var names = try FileSystem.list(dir)
        let recorded = names.contains(FolderNameRecord.fileName) ? FolderNameRecord.load(dir) : [:]
        var folder = folder
        if !top, let own = recorded["."] { folder = base + own }
        if names.contains("mailkeep-bundle.json") && names.contains("MANIFEST.jsonl") {
            guard top else {
                log.add(file: dir, offset: nil,
                        "an unpacked bundle inside the tree, not read: its messages are not in the output; give it as a source of its own")
                return
            }
            names.removeAll { ["mailkeep-bundle.json", "MANIFEST.jsonl", "SHA256SUMS"].contains($0) }
        }
        let isApplePackage = dir.hasSuffix(".mbox") || dir.hasSuffix(".mbox/")
        let isMaildir = try names.contains { try ($0 == "cur" || $0 == "new") && FileSystem.kind(FileSystem.join(dir, $0)) == .directory }
        if isMaildir {
            units.append(.maildir(path: dir, folder: Self.inbox(folder)))
            let tmp = FileSystem.join(dir, "tmp")
            if try FileSystem.kind(tmp) == .directory {
                let pending = try FileSystem.list(tmp).filter { !$0.hasPrefix(".") }
                if !pending.isEmpty {
                    log.notice(file: tmp, "\(pending.count) unfinished deliveries in tmp/ skipped")
                }
            }
        }
        var subdirectories: [(String, [String])] = []
        for name in names {
            let path = FileSystem.join(dir, name)
            if isMaildir && (name == "cur" || name == "new" || name == "tmp") { continue }
            switch try FileSystem.kind(path) {
            case .directory:
                if Self.knownMetadataDirectory(name) { continue }
                if name.hasSuffix(".sbd"), let original = recorded[String(name.dropLast(4))] {
                    subdirectories.append((path, folder + original))
                } else if name.hasPrefix(".") && name.hasSuffix(".directory") && name.count > 11 {
                    subdirectories.append((path, folder + [FolderNaming.decodedName(String(name.dropFirst().dropLast(10)))]))
                } else if top && name.hasPrefix(".") && name.count > 1 && !name.hasPrefix("..") {
                    let parts = name.dropFirst().split(separator: ".", omittingEmptySubsequences: false)
                    if parts.contains(where: \.isEmpty) {
                        log.notice(file: path, "not a mail folder, skipped")
                        continue
                    }
                    subdirectories.append((path, folder + parts.map { FolderNaming.decodedName(String($0)) }))
                } else if name.hasPrefix(".") {
                    if try Self.isMaildir(path) {
                        subdirectories.append((path, folder + [FolderNaming.decodedName(name)]))
                    } else {
                        log.notice(file: path, "not a mail folder, skipped")
                    }
                } else if name.hasSuffix(".sbd") && name.count > 4 {
                    subdirectories.append((path, folder + [FolderNaming.decodedName(String(name.dropLast(4)))]))
                } else if name.hasSuffix(".mbox") && name.count > 5, try !Self.isMaildir(path) {
                    subdirectories.append((path, folder + [FolderNaming.decodedName(String(name.dropLast(5)))]))
                } else {
                    subdirectories.append((path, folder + [FolderNaming.decodedName(name)]))
                }
            case .regular:
                if name.hasPrefix(".") || Self.knownMetadataFile(name) { continue }
                let kind: MessageFileKind
                do {
                    kind = try MessageFileKind.sniff(path)
                } catch let error as MailKeepError {
                    // One unreadable file (a bzip2 archive, no permission) does not stop the tree.
                    log.add(file: path, offset: nil, "skipped: \(error)")
                    continue
                }
                switch kind {
                case .mbox:
                    let mboxFolder = isApplePackage && name == "mbox" ? folder
                        : folder + (recorded[name] ?? [FolderNaming.decodedName(Self.stripMboxExtension(name))])
                    units.append(.mbox(path: path, folder: Self.inbox(mboxFolder)))
                case .message:
                    units.append(.message(path: path, folder: Self.inbox(folder)))
                case .bundle:
                    log.notice(file: path, "a bundle inside the tree, skipped (name it as a source of its own to read it)")
                case .other:
                    log.notice(file: path, "not mail, skipped")
                }
            case .symlink:
                log.add(file: path, offset: nil, "symlink not followed")
            case .other:
                log.add(file: path, offset: nil, "special file (FIFO, device or socket) skipped")
            case .missing:
                log.add(file: path, offset: nil, FileSystem.missingReason(path, vanished: "vanished while the tree was read"))
            }
        }
        for (path, sub) in subdirectories {
            try walk(path, folder: sub, base: folder, top: false, log: log)
        }
    }

    private static func isMaildir(_ path: String) throws -> Bool {
        try FileSystem.kind(FileSystem.join(path, "cur")) == .directory || FileSystem.kind(FileSystem.join(path, "new")) == .directory
    }

    /// A top-level folder named `inbox` in any case is the INBOX, the root folder.
    package static func inbox(_ folder: [String]) -> [String] {
        folder.count == 1 && folder[0].lowercased() == "inbox" ? [] : folder
    }

    /// Index and state files that mail clients and servers keep beside the mail (dot-files
    /// are passed over anyway):
    /// - Dovecot: `dovecot.index*`, `dovecot.list.index*`, `dovecot-uidlist`,
    ///   `dovecot-keywords`, `dovecot-uidvalidity*`, `dovecot.mailbox.log`, `dovecot-acl*`,
    ///   `dovecot-shared`, `subscriptions`, `maildirfolder`;
    /// - Courier: `courierimapuiddb`, `courierimapsubscribed`, `courierimapacl`,
    ///   `courierimapkeywords/`, `courierimaphieracl/`, `courierpop3dsizelist`;
    /// - Thunderbird: `*.msf`, `msgFilterRules.dat`, `filterlog.html`, `junklog.html`,
    ///   `popstate.dat`, `mailViews.dat`, `virtualFolders.dat`;
    /// - Apple Mail packages: `Info.plist`, `table_of_contents`;
    /// - and `Thumbs.db`, `desktop.ini` that file managers leave.
    package static func knownMetadataFile(_ name: String) -> Bool {
        let exact: Set<String> = ["maildirfolder", "subscriptions", "msgFilterRules.dat", "filterlog.html", "junklog.html",
                                  "popstate.dat", "mailViews.dat", "virtualFolders.dat", "Info.plist", "table_of_contents",
                                  "Thumbs.db", "desktop.ini"]
        if exact.contains(name) { return true }
        return name.hasPrefix("dovecot") || name.hasSuffix(".msf") || name.hasPrefix("courierimap") || name.hasPrefix("courierpop3d")
    }

    /// Directories clients keep for their own state: notmuch's `.notmuch/`, Dovecot's mbox
    /// indexes `.imap/`, Courier's `courierimapkeywords/` and `courierimaphieracl/`, and the
    /// `.mozmsgs` search directories Thunderbird keeps beside mbox files on some systems.
    package static func knownMetadataDirectory(_ name: String) -> Bool {
        [".notmuch", ".imap", "courierimapkeywords", "courierimaphieracl"].contains(name) || name.hasSuffix(".mozmsgs")
    }

    package static func stripMboxExtension(_ name: String) -> String {
        for ext in [".mbox.gz", ".mbox.xz", ".mbox", ".mbx", ".gz", ".xz"] where name.count > ext.count && name.hasSuffix(ext) {
            return String(name.dropLast(ext.count))
        }
        return name
    }
}

/// What a single file holds, judged by its first bytes (after decompression).
public enum MessageFileKind: Sendable {
    case mbox, message, bundle, other

    public static func sniff(_ path: String) throws -> MessageFileKind {
        let source = try openSource(path)
        // Only the first bytes matter here; a failed end check is the reader's to report.
        (source as? EndCheckedSource)?.keepsEndCheckApart = true
        var prefix = [UInt8](repeating: 0, count: 65536)
        var total = 0
        do {
            try prefix.withUnsafeMutableBytes { buffer in
                while total < buffer.count {
                    let got = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[total...]))
                    if got == 0 { break }
                    total += got
                }
            }
        } catch {
            // Damage near the start is the readers' to report and read past, not a reason to
            // call the file unreadable: tell its kind from what was decoded, or else from the
            // first intact xz block (each of a bundle's blocks starts at a tar member).
            let kind = prefix.withUnsafeBytes { classify(UnsafeRawBufferPointer(rebasing: $0[0..<total])) }
            if total > 0, kind != .other { return kind }
            if let kind = firstIntactXZBlockKind(path) { return kind }
            throw error
        }
        return prefix.withUnsafeBytes { classify(UnsafeRawBufferPointer(rebasing: $0[0..<total])) }
    }

    /// The kind of the first intact xz block's content that tells one, within the first few.
    private static func firstIntactXZBlockKind(_ path: String) -> MessageFileKind? {
        guard path != "-", let file = try? FileHandleFD.open(reading: path), let walker = try? XZBlockWalker(file) else { return nil }
        for _ in 0..<8 {
            guard let step = walker.next() else { return nil }
            if case let .block(_, content) = step, !content.isEmpty {
                let kind = content.withUnsafeBytes { classify(UnsafeRawBufferPointer(rebasing: $0.prefix(65536))) }
                if kind != .other { return kind }
            }
        }
        return nil
    }

    public static func classify(_ prefix: UnsafeRawBufferPointer) -> MessageFileKind {
        // An empty file is an empty mbox (what mutt and Dovecot create for a new folder).
        if prefix.isEmpty { return .mbox }
        if MboxReader.looksLikeMbox(prefix) { return .mbox }
        if TarReader.looksLikeTar(prefix) { return .bundle }
        // A header, then dated From_ lines after empty lines: an mbox whose first From_ line
        // is missing; a single message holds no such line (its writer escapes it as >From).
        if looksLikeHeader(prefix) { return MboxReader.hasDatedSeparator(prefix) ? .mbox : .message }
        // Text that is not a header, then mbox messages: an mbox damaged at its start.
        return MboxReader.hasDatedSeparator(prefix) ? .mbox : .other
    }

    /// A first line of the form `Name: value`, where the name is printable ASCII without spaces.
    package static func looksLikeHeader(_ prefix: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        while i < prefix.count {
            let b = prefix[i]
            if b == UInt8(ascii: ":") { return i > 0 }
            if b <= 0x20 || b >= 0x7F { return false }
            i += 1
        }
        return false
    }
}

/// Opens a file for reading, decompressing it if its magic bytes say so.
public func openSource(_ path: String) throws -> ByteSource {
    let file = path == "-" ? FileHandleFD.standardInput() : try FileHandleFD.open(reading: path)
    return try openDecompressed(file, threads: 0)
}
