import MailKeepIO
/// A Maildir file name: the unique part, then an info separator and `2,FLAGS`.
///
/// The separator is `:` by the spec; FAT, exFAT and NTFS disks reject `:`, so mu and others use
/// `!`, and some tools `;`. All three are read wherever they stand before `2,`, plus whatever
/// the user names with `--info-separator`.
public struct MaildirName: Equatable, Sendable {
    public var unique: String
    public var flags: String
    public var hasInfo: Bool

    public static let standardSeparators: [Character] = [":", "!", ";"]

    public static func parse(_ fileName: String, extraSeparator: Character? = nil) -> MaildirName {
        var separators = standardSeparators
        if let extraSeparator, !separators.contains(extraSeparator) { separators.append(extraSeparator) }
        var index = fileName.endIndex
        while index > fileName.startIndex {
            index = fileName.index(before: index)
            guard separators.contains(fileName[index]) else { continue }
            let rest = fileName[fileName.index(after: index)...]
            if rest.hasPrefix("2,") {
                return MaildirName(unique: String(fileName[..<index]), flags: normalizedFlags(rest.dropFirst(2)), hasInfo: true)
            }
        }
        return MaildirName(unique: fileName, flags: "", hasInfo: false)
    }

    /// Flags as the spec wants them: distinct letters in ASCII order. Anything else in the info
    /// part (a stray trailing comma) is dropped.
    public static func normalizedFlags<S: StringProtocol>(_ raw: S) -> String {
        let letters = Set(raw.utf8.filter { ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) })
        return String(decoding: letters.sorted(), as: UTF8.self)
    }

    public static func fileName(unique: String, flags: String, separator: Character) -> String {
        "\(unique)\(separator)2,\(flags)"
    }
}
