import MailKeepIO
/// How a folder path (`["Archive", "2024"]`) becomes directories on disk, and back.
public enum MaildirLayout: String, CaseIterable, Sendable {
    /// Courier and Dovecot's default: subfolders are `.Archive.2024` directly under the root.
    case maildirPlusPlus = "maildir++"
    /// One directory per level: `Archive/2024`, each with its own cur/new/tmp.
    case nested
}

/// Turns folder names into safe directory names.
///
/// Every path mailkeep writes is built from names this sanitises, so a hostile folder name
/// (`..`, `a/b`, control characters) cannot escape the target. Names are written in IMAP
/// modified UTF-7 unless `utf8Names` is set. On a FAT/exFAT/NTFS target (an info separator
/// other than `:`) characters those file systems reject become `_`. In Maildir++ a `.` inside a
/// name would start a new level, so it is written as `&AC4-` (the UTF-7 form of `.`), which
/// reads back as `.`.
public struct FolderNaming: Sendable {
    public var layout: MaildirLayout
    public var utf8Names: Bool
    public var infoSeparator: Character

    public init(layout: MaildirLayout = .maildirPlusPlus, utf8Names: Bool = false, infoSeparator: Character = ":") {
        self.layout = layout
        self.utf8Names = utf8Names
        self.infoSeparator = infoSeparator
    }

    /// True when the target is a file system that rejects `:` in names.
    public var fatSafe: Bool { infoSeparator != ":" }

    /// The folder's directory relative to the root; `""` for the root.
    public func relativeDirectory(_ folder: [String]) -> String {
        if folder.isEmpty { return "" }
        let names = folder.map { component($0) }
        switch layout {
        case .maildirPlusPlus: return "." + names.joined(separator: ".")
        case .nested: return names.joined(separator: "/")
        }
    }

    /// One path component, safe to create.
    public func component(_ name: String) -> String {
        var cleaned = ""
        for scalar in name.unicodeScalars {
            switch scalar {
            case "/", "\\": cleaned.append("_")
            case _ where scalar.value < 0x20 || scalar.value == 0x7F: cleaned.append("_")
            case "<", ">", ":", "\"", "|", "?", "*" where fatSafe: cleaned.append("_")
            default: cleaned.unicodeScalars.append(scalar)
            }
        }
        if fatSafe {
            while let last = cleaned.last, last == "." || last == " " { cleaned.removeLast() }
        }
        if cleaned.isEmpty || cleaned == "." || cleaned == ".." { cleaned = "_" + cleaned }
        if layout == .nested && ["cur", "new", "tmp"].contains(cleaned) { cleaned = "_" + cleaned }
        var encoded = utf8Names ? cleaned : ModifiedUTF7.encode(cleaned)
        if layout == .maildirPlusPlus {
            encoded = encoded.split(separator: ".", omittingEmptySubsequences: false).joined(separator: "&AC4-")
        } else if encoded.hasPrefix(".") {
            encoded = "&AC4-" + encoded.dropFirst()
        }
        return encoded
    }

    /// A directory name read from disk, as a folder name: modified UTF-7 decoded where valid.
    public static func decodedName(_ onDisk: String) -> String {
        ModifiedUTF7.decode(onDisk) ?? onDisk
    }
}
