import MailKeepIO

/// How an mbox's bodies are quoted, as given on the command line (`--mbox-dialect`).
///
/// A message whose `Content-Length` ends at a separator is taken as counted, whatever the
/// dialect. The others differ only in what a `>From ` line means: mboxrd quoted one more `>`
/// (taken off on reading), mboxo and mboxcl2 left it as the author wrote it.
public enum MboxDialect: String, CaseIterable, Sendable {
    /// mboxo where the writer is evident (Thunderbird's messages, an Apple Mail package),
    /// else mboxrd.
    case auto
    case mboxo
    case mboxrd
    case mboxcl2

    /// True when `>From ` lines of a message read in this dialect lose a `>`.
    package func unquotes(fromLine: UnsafeRawBufferPointer, mozillaStatus: Bool) -> Bool {
        switch self {
        case .mboxrd: return true
        case .mboxo, .mboxcl2: return false
        case .auto: return !Self.isThunderbird(fromLine: fromLine, mozillaStatus: mozillaStatus)
        }
    }

    /// A message Thunderbird wrote: a `From - ` separator and an `X-Mozilla-Status` field.
    /// Thunderbird (before it wrote mboxrd) quotes as mboxo, so its `>From ` lines are the
    /// author's; the writer keeps such a message readable the same way.
    package static func isThunderbird(fromLine: UnsafeRawBufferPointer, mozillaStatus: Bool) -> Bool {
        mozillaStatus && fromLine.starts(with: "From - ".utf8)
    }

    package static func isThunderbird(fromLine: [UInt8], mozillaStatus: Bool) -> Bool {
        fromLine.withUnsafeBytes { isThunderbird(fromLine: $0, mozillaStatus: mozillaStatus) }
    }

    /// The byte range of the `Content-Length` field (with continuation lines) in metadata
    /// header lines.
    package static func contentLengthLine(in lines: [UInt8]) -> Range<Int>? {
        var start = 0
        var found: Range<Int>?
        var inField = false
        while start < lines.count {
            let end = (lines[start...].firstIndex(of: 0x0A) ?? lines.count - 1) + 1
            let first = lines[start]
            if first == 0x20 || first == 0x09 {
                if inField, let f = found { found = f.lowerBound..<end }
            } else {
                inField = isContentLength(lines[start..<end])
                if inField { found = start..<end }
            }
            start = end
        }
        return found
    }

    private static func isContentLength(_ line: ArraySlice<UInt8>) -> Bool {
        let name = Array("content-length".utf8)
        guard line.count > name.count else { return false }
        for (i, c) in name.enumerated() where line[line.startIndex + i] | 0x20 != c { return false }
        var j = line.startIndex + name.count
        while j < line.endIndex, line[j] == 0x20 { j += 1 }
        return j < line.endIndex && line[j] == 0x3A
    }

    /// `lines` with its `Content-Length` saying `length` (added at the end when missing, left
    /// byte for byte when it already says so), or without one for nil.
    package static func settingContentLength(_ length: Int?, in lines: [UInt8], eol: [UInt8]) -> [UInt8] {
        let range = contentLengthLine(in: lines)
        guard let length else {
            guard let range else { return lines }
            var out = lines
            out.removeSubrange(range)
            return out
        }
        if let range {
            let value = lines[range].drop { $0 != 0x3A }.dropFirst().filter { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D && $0 != 0x0A }
            if value.elementsEqual("\(length)".utf8) { return lines }
            let lineEnd: [UInt8] = lines[range].suffix(2) == [0x0D, 0x0A] ? [0x0D, 0x0A] : [0x0A]
            var out = lines
            out.replaceSubrange(range, with: Array("Content-Length: \(length)".utf8) + lineEnd)
            return out
        }
        return lines + Array("Content-Length: \(length)".utf8) + eol
    }
}
