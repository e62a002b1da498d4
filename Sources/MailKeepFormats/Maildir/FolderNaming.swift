import MailKeepIO
#if canImport(Glibc)
import Glibc
#endif
/// How a folder path (`["Archive", "2024"]`) becomes directories on disk, and back.
public enum MaildirLayout: String, CaseIterable, Sendable {
    /// Courier and Dovecot's default: subfolders are `.Archive.2024` directly under the root.
    case maildirPlusPlus = "maildir++"
    /// One directory per level: `Archive/2024`, each with its own cur/new/tmp.
    case nested
}

/// Turns folder names into safe directory names, and makes sure they read back.
///
/// Every path mailkeep writes is built from names this sanitises, so a hostile folder name
/// (`..`, `a/b`, control characters) cannot escape the target. Names are written in IMAP
/// modified UTF-7 unless `utf8Names` is set; printable ASCII always stands for itself.
///
/// A character a layout cannot hold in a name is written the way Dovecot's `listescape`
/// plugin writes it: a backslash and two hex digits. In Maildir++ a `.` inside a name would
/// start a new level, so `Projects.Alpha` is the directory `.Projects\2eAlpha`; a `/` is `\2f`
/// and a backslash itself `\5c` (in both layouts), and in the nested layout a leading `.` is
/// `\2e` (a dot-directory is not a folder there). Stock Dovecot lists such a directory as one
/// selectable folder (`Projects\2eAlpha`; with `listescape` loaded and `\` as its escape
/// character, as `Projects.Alpha`), and every mailkeep reader gives the original name back
/// (`decodedName`). Modified UTF-7 is never used for printable ASCII: Dovecot decodes `&AC4-`
/// to a `.` and then cannot open the folder.
///
/// On a FAT/exFAT/NTFS target (an info separator other than `:`) a backslash is not allowed,
/// so these characters, and those the file systems reject, become `_`.
///
/// A name is changed only where the target needs it, and two folders never share an entry:
/// where the entry would not read back as the folder's name (a character replaced, a name
/// reserved by the layout such as `cur`, longer than `longestEntry` bytes), a `~` and 12 hex
/// digits of the name's SHA-256 are added (shortened first where needed), and the original is
/// recorded in `.mailkeep-folders` (see `FolderNameRecord`) in the folder's own directory (for
/// an mbox file, in the directory that holds it), which `MailTree` reads back.
public struct FolderNaming: Sendable {
    public var layout: MaildirLayout
    public var utf8Names: Bool
    public var infoSeparator: Character

    /// The longest entry mailkeep writes for a folder, in bytes: 255 (ext4, XFS, btrfs) less
    /// room for `.sbd` and for a temporary `.NAME.<16 hex digits>.partial` beside it.
    public static let longestEntry = 200

    public init(layout: MaildirLayout = .maildirPlusPlus, utf8Names: Bool = false, infoSeparator: Character = ":") {
        self.layout = layout
        self.utf8Names = utf8Names
        self.infoSeparator = infoSeparator
    }

    /// True when the target is a file system that rejects `:` in names.
    public var fatSafe: Bool { infoSeparator != ":" }

    /// Where a folder goes: its directory relative to the root (`""` for the root), and each
    /// entry on the way that does not read back as its folder, for `FolderNameRecord`: the
    /// directory it is in, the entry, and the folder path it stands for, relative to that
    /// directory (one name in the nested layout, the whole path in Maildir++).
    public struct Placement: Sendable {
        public var relative: String
        public var recorded: [(parent: String, entry: String, folder: [String])] = []
    }

    /// Creates `folder`'s directory under `root` (returned) and records, beside each directory
    /// whose name had to change, the name it stands for, so the tree reads back as written.
    /// What it creates is given to `owner` when there is one (see `FileOwner`).
    package func makeDirectory(for folder: [String], under root: String, owner: FileOwner? = nil) throws -> String {
        var placement = placement(folder)
        if fatSafe { placement = try apartInCase(placement, folder, under: root) }
        let path = FileSystem.join(root, placement.relative)
        try FileSystem.makeDirectory(path, owner: owner)
        for (parent, entry, name) in placement.recorded {
            let dir = FileSystem.join(FileSystem.join(root, parent), entry)
            try FileSystem.makeDirectory(dir, owner: owner)
            try FolderNameRecord.note(dir, entry: ".", folder: name, owner: owner)
        }
        return path
    }

    public func placement(_ folder: [String]) -> Placement {
        if folder.isEmpty { return Placement(relative: "") }
        switch layout {
        case .maildirPlusPlus:
            let entries = folder.map { entry($0) }
            var name = "." + entries.map(\.name).joined(separator: ".")
            var exact = entries.allSatisfy(\.exact)
            if name.utf8.count > Self.longestEntry {
                name = Self.distinguished(name, by: folder.joined(separator: "/"))
                exact = false
            }
            return exact ? Placement(relative: name) : Placement(relative: name, recorded: [("", name, folder)])
        case .nested:
            var placement = Placement(relative: "")
            for name in folder {
                let (onDisk, exact) = entry(name, reserved: ["cur", "new", "tmp"], readBack: Self.decodedDirectoryName)
                if !exact { placement.recorded.append((placement.relative, onDisk, [name])) }
                placement.relative = placement.relative.isEmpty ? onDisk : placement.relative + "/" + onDisk
            }
            return placement
        }
    }

    /// `placement` with each entry that differs only in case from one already beside it made
    /// distinct, as `entry` makes a changed name: FAT and exFAT compare names without regard to
    /// case, so `Work` and `work` (`.a_b` and `.A_B`) would be one directory there, and their
    /// messages one folder. The entry on disk decides, so which of the two keeps its name does
    /// not change from run to run; the other's name is recorded in `.mailkeep-folders`.
    private func apartInCase(_ placement: Placement, _ folder: [String], under root: String) throws -> Placement {
        guard !placement.relative.isEmpty else { return placement }
        switch layout {
        case .maildirPlusPlus:
            guard try Self.hasCaseTwin(placement.relative, in: root) else { return placement }
            let name = Self.distinguished(placement.relative, by: folder.joined(separator: "/"))
            return Placement(relative: name, recorded: [("", name, folder)])
        case .nested:
            var apart = Placement(relative: "")
            for (name, onDisk) in zip(folder, placement.relative.split(separator: "/").map(String.init)) {
                var entry = onDisk
                var exact = !placement.recorded.contains { $0.parent == apart.relative && $0.entry == onDisk }
                if try Self.hasCaseTwin(onDisk, in: FileSystem.join(root, apart.relative)) {
                    entry = Self.distinguished(onDisk, by: name)
                    exact = false
                }
                if !exact { apart.recorded.append((apart.relative, entry, [name])) }
                apart.relative = apart.relative.isEmpty ? entry : apart.relative + "/" + entry
            }
            return apart
        }
    }

    /// Whether `directory` holds an entry that differs from `entry` only in case.
    private static func hasCaseTwin(_ entry: String, in directory: String) throws -> Bool {
        guard try FileSystem.kind(directory) == .directory else { return false }
        let folded = entry.lowercased()
        return try FileSystem.list(directory).contains { $0 != entry && $0.lowercased() == folded }
    }

    /// The folder's directory relative to the root; `""` for the root.
    public func relativeDirectory(_ folder: [String]) -> String { placement(folder).relative }

    /// One folder name as an entry, and whether a reader gets `name` back from it: when it
    /// would not (changed for the target, `reserved`, too long), the entry is made distinct.
    public func entry(_ name: String, reserved: Set<String> = [], readBack: (String) -> String = FolderNaming.decodedName) -> (name: String, exact: Bool) {
        let onDisk = component(name)
        if readBack(onDisk) == name && !reserved.contains(onDisk.lowercased()) && onDisk.utf8.count <= Self.longestEntry {
            return (onDisk, true)
        }
        return (Self.distinguished(onDisk, by: name), false)
    }

    /// `entry~HASH`, HASH being 12 hex digits of the SHA-256 of `original`, `entry` shortened
    /// (at a character) so that the whole fits `longestEntry`.
    package static func distinguished(_ entry: String, by original: String) -> String {
        let hash = Array(original.utf8).withUnsafeBytes { ContentHasher.sha256Hex(of: $0) }.prefix(12)
        var kept = ""
        var bytes = 0
        for character in entry {
            let n = character.utf8.count
            if bytes + n > longestEntry - 13 { break }
            kept.append(character)
            bytes += n
        }
        return kept + "~" + hash
    }

    /// One path component, safe to create (but not necessarily reading back: see `entry`).
    public func component(_ name: String) -> String {
        var cleaned = ""
        for scalar in name.unicodeScalars {
            switch scalar {
            case "/", "\\": cleaned.unicodeScalars.append(fatSafe ? "_" : scalar)
            case _ where scalar.value < 0x20 || scalar.value == 0x7F: cleaned.append("_")
            case _ where fatSafe && "<>:\"|?*".unicodeScalars.contains(scalar): cleaned.append("_")
            default: cleaned.unicodeScalars.append(scalar)
            }
        }
        if fatSafe {
            while let last = cleaned.last, last == "." || last == " " { cleaned.removeLast() }
        }
        if cleaned.isEmpty { cleaned = "_" }
        let encoded = utf8Names ? cleaned : ModifiedUTF7.encode(cleaned)
        var escaped = ""
        for (i, scalar) in encoded.unicodeScalars.enumerated() {
            switch scalar {
            case "\\": escaped += "\\5c"
            case "/": escaped += "\\2f"
            case "." where layout == .maildirPlusPlus || i == 0: escaped += fatSafe ? "_" : "\\2e"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }

    /// A nested directory's name read back as `MailTree` does: `NAME.sbd` holds the
    /// subfolders of NAME (Thunderbird's layout), `NAME.mbox` is folder NAME (Apple Mail's).
    package static func decodedDirectoryName(_ onDisk: String) -> String {
        for suffix in [".sbd", ".mbox"] where onDisk.hasSuffix(suffix) && onDisk.count > suffix.count {
            return decodedName(String(onDisk.dropLast(suffix.count)))
        }
        return decodedName(onDisk)
    }

    /// A directory name read from disk, as a folder name: modified UTF-7 decoded where valid,
    /// then `listescape`'s `\XX` (two hex digits) taken back to the character they stand for.
    public static func decodedName(_ onDisk: String) -> String {
        let decoded = ModifiedUTF7.decode(onDisk) ?? onDisk
        guard decoded.utf8.contains(UInt8(ascii: "\\")) else { return decoded }
        var bytes: [UInt8] = []
        let source = Array(decoded.utf8)
        var i = 0
        while i < source.count {
            if source[i] == UInt8(ascii: "\\"), i + 2 < source.count,
               let high = hexValue(source[i + 1]), let low = hexValue(source[i + 2]), high < 8 {
                bytes.append(high << 4 | low)
                i += 3
            } else {
                bytes.append(source[i])
                i += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// `.mailkeep-folders`: in a directory of a folder tree, the folders whose names on disk do not
/// read back as their names (see `FolderNaming.entry`), one line each: the entry (`.` for the
/// directory's own folder, else the name of an mbox file in it), a tab, and the folder's path
/// relative to the directory above (the root for Maildir++) with `/` between names (`%`, `/`,
/// tab, CR and LF within a name written `%25`, `%2F`, `%09`, `%0D`, `%0A`). Mail clients pass
/// over it: beside `cur/`, `new/` and `tmp/` Dovecot and mutt read only those; beside mbox
/// files it is a dot-file, which Thunderbird ignores; notmuch finds no header in it and notes
/// it as a non-mail file. Without it the folder is still there, under its entry's name.
public enum FolderNameRecord {
    public static let fileName = ".mailkeep-folders"

    /// Entry -> folder path, for the directory `dir`; empty without a record.
    public static func load(_ dir: String) -> [String: [String]] {
        guard let file = try? FileHandleFD.open(reading: FileSystem.join(dir, fileName), followLinks: false),
              let bytes = try? file.readAll(limit: 64 << 20) else { return [:] }
        var map: [String: [String]] = [:]
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            guard let tab = line.firstIndex(of: "\t") else { continue }
            let folder = line[line.index(after: tab)...].split(separator: "/", omittingEmptySubsequences: false).map { unescape($0) }
            map[String(line[..<tab])] = folder
        }
        return map
    }

    /// Adds `entry` -> `folder` to the record of `dir`, unless it is there already; a record
    /// it creates is given to `owner` when there is one (see `FileOwner`).
    public static func note(_ dir: String, entry: String, folder: [String], owner: FileOwner? = nil) throws {
        if load(dir)[entry] == folder { return }
        let path = FileSystem.join(dir, fileName)
        let fd = retryingEINTR { open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0o600) }
        guard fd >= 0 else { throw ioError(path, "open") }
        let file = FileHandleFD(fd: fd, name: path, owned: true)
        try owner?.apply(fd: fd, path: path)
        try file.write(entry + "\t" + folder.map(escape).joined(separator: "/") + "\n")
    }

    private static func escape(_ name: String) -> String {
        var out = ""
        for c in name.unicodeScalars {
            switch c {
            case "%": out += "%25"
            case "/": out += "%2F"
            case "\t": out += "%09"
            case "\r": out += "%0D"
            case "\n": out += "%0A"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    private static func unescape(_ text: Substring) -> String {
        String(text).replacingAll("%2F", with: "/").replacingAll("%09", with: "\t").replacingAll("%0D", with: "\r")
            .replacingAll("%0A", with: "\n").replacingAll("%25", with: "%")
    }
}
