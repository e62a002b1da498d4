import MailKeepIO
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns bytes in a named charset into text.
///
/// UTF-8, ASCII and Latin-1 are decoded here; everything else goes through the system's iconv,
/// which on Linux knows far more charsets than Foundation's `String(data:encoding:)`.
///
/// Deliberate choices, as web browsers make them (WHATWG Encoding): labels for ISO-8859-1 and
/// US-ASCII decode as Windows-1252, since mail that says Latin-1 is very often written on Windows;
/// GB2312 and GBK decode as GB18030, Big5 as CP950, Shift_JIS as CP932, EUC-KR and
/// ks_c_5601-1987 as CP949, ISO-2022-JP as ISO-2022-JP-2, each a superset that the labelled
/// text really uses.
public enum CharsetDecoder {
    /// Decodes `bytes` from `charset`; nil when the charset is unknown. Undecodable sequences in
    /// a known charset become U+FFFD rather than failing, so no text is dropped silently.
    public static func decode(_ bytes: some Collection<UInt8>, charset: String) -> String? {
        switch decoding(for: charset) {
        case .utf8: return String(decoding: bytes, as: UTF8.self)
        case .windows1252: return decodeWindows1252(bytes)
        case .iconv(let name): return iconvDecode(Array(bytes), from: name)
        }
    }

    /// Whether `decode` knows `charset`.
    public static func isKnown(_ charset: String) -> Bool {
        guard case .iconv(let name) = decoding(for: charset) else { return true }
        guard !name.isEmpty, let descriptor = iconv_open("UTF-8", name), descriptor != invalidDescriptor else { return false }
        iconv_close(descriptor)
        return true
    }

    private enum Decoding {
        case utf8, windows1252
        case iconv(String)
    }

    private static func decoding(for charset: String) -> Decoding {
        let label = normalizedLabel(charset)
        switch label {
        case "utf-8", "utf8":
            return .utf8
        case "us-ascii", "ascii", "iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "windows-1252", "cp1252",
            "iso_8859-1", "ansi_x3.4-1968", "iso-8859-1:1987":
            return .windows1252
        default:
            return .iconv(iconvName(label))
        }
    }

    private static var invalidDescriptor: UnsafeMutableRawPointer? { UnsafeMutableRawPointer(bitPattern: -1) }

    /// Header bytes outside encoded words: UTF-8 when they are valid UTF-8, else the charset
    /// the message declares for its body (`fallbackCharset`, which is what the sending client
    /// most likely used for its headers too), else Windows-1252.
    public static func decodeRaw(_ bytes: some Collection<UInt8>, fallbackCharset: String? = nil) -> String {
        if bytes.allSatisfy({ $0 < 0x80 }) { return String(decoding: bytes, as: UTF8.self) }
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        if let fallbackCharset, let text = decode(bytes, charset: fallbackCharset) { return text }
        return decodeWindows1252(bytes)
    }

    /// Windows-1252; the five bytes it leaves undefined map to the C1 controls, as in Latin-1.
    package static func decodeWindows1252(_ bytes: some Collection<UInt8>) -> String {
        var scalars = String.UnicodeScalarView()
        for byte in bytes {
            if byte >= 0x80 && byte < 0xA0 {
                let mapped = windows1252High[Int(byte - 0x80)]
                scalars.append(Unicode.Scalar(mapped) ?? Unicode.Scalar(byte))
            } else {
                scalars.append(Unicode.Scalar(byte))
            }
        }
        return String(scalars)
    }

    private static let windows1252High: [UInt32] = [
        0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8D, 0x017D, 0x8F,
        0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178,
    ]

    /// Lowercased label without an RFC 2231 language suffix (`utf-8*en`) or quotes.
    package static func normalizedLabel(_ charset: String) -> String {
        var label = charset.lowercased()
        if let star = label.firstIndex(of: "*") { label = String(label[..<star]) }
        return label.trimmingSpacesAndQuotes()
    }

    private static func iconvName(_ label: String) -> String {
        switch label {
        case "gb2312", "gbk", "x-gbk", "cp936", "euc-cn", "x-euc-cn", "gb_2312-80", "chinese": return "GB18030"
        case "big5", "x-big5", "big-5", "cn-big5": return "CP950"
        case "shift_jis", "shift-jis", "sjis", "x-sjis", "ms_kanji", "csshiftjis", "windows-31j", "x-ms-cp932": return "CP932"
        case "euc-kr", "ks_c_5601-1987", "ks_c_5601", "ksc5601", "ksc_5601", "korean", "windows-949", "x-windows-949", "uhc":
            return "CP949"
        case "x-euc-jp", "euc_jp": return "EUC-JP"
        case "iso-8859-8-i": return "ISO-8859-8"
        case "iso-2022-jp", "csiso2022jp": return "ISO-2022-JP-2"
        case "x-mac-roman", "macintosh", "mac": return "MACINTOSH"
        case "utf-7", "unicode-1-1-utf-7": return "UTF-7"
        default: return label.uppercased()
        }
    }

    /// Decodes with iconv. The conversion descriptor is opened per call: encoded words are rare
    /// enough that caching descriptors (which are not thread-safe) would not pay.
    private static func iconvDecode(_ input: [UInt8], from charset: String) -> String? {
        guard !charset.isEmpty, let descriptor = iconv_open("UTF-8", charset), descriptor != invalidDescriptor else {
            return nil
        }
        defer { iconv_close(descriptor) }
        var output: [UInt8] = []
        output.reserveCapacity(input.count * 3 + 16)
        var chunk = [UInt8](repeating: 0, count: 4096)
        let replacement: [UInt8] = [0xEF, 0xBF, 0xBD]
        input.withUnsafeBytes { inputBuffer in
            chunk.withUnsafeMutableBytes { chunkBuffer in
                guard let inputBase = inputBuffer.baseAddress, let chunkBase = chunkBuffer.baseAddress else { return }
                var inPointer: UnsafeMutablePointer<CChar>? = UnsafeMutablePointer(
                    mutating: inputBase.assumingMemoryBound(to: CChar.self))
                var inLeft = input.count
                var flushing = false
                while true {
                    var outPointer: UnsafeMutablePointer<CChar>? = chunkBase.assumingMemoryBound(to: CChar.self)
                    var outLeft = chunkBuffer.count
                    let result =
                        flushing
                        ? iconv(descriptor, nil, nil, &outPointer, &outLeft)
                        : iconv(descriptor, &inPointer, &inLeft, &outPointer, &outLeft)
                    let failure = result == -1 ? errno : 0
                    output.append(contentsOf: UnsafeRawBufferPointer(start: chunkBase, count: chunkBuffer.count - outLeft))
                    if flushing { break }
                    switch failure {
                    case 0:
                        flushing = true
                    case E2BIG:
                        continue
                    case EILSEQ where inLeft > 0:
                        // One undecodable byte: mark it and carry on after it.
                        output.append(contentsOf: replacement)
                        inPointer = inPointer.map { $0 + 1 }
                        inLeft -= 1
                    default:
                        // A sequence cut off at the end (EINVAL) or anything else unexpected.
                        if inLeft > 0 { output.append(contentsOf: replacement) }
                        flushing = true
                    }
                }
            }
        }
        return String(decoding: output, as: UTF8.self)
    }
}

extension String {
    package func trimmingSpacesAndQuotes() -> String {
        let trimmed = self.drop { $0 == " " || $0 == "\t" || $0 == "\"" }
        var end = trimmed.endIndex
        while end > trimmed.startIndex {
            let before = trimmed.index(before: end)
            guard trimmed[before] == " " || trimmed[before] == "\t" || trimmed[before] == "\"" else { break }
            end = before
        }
        return String(trimmed[..<end])
    }
}
