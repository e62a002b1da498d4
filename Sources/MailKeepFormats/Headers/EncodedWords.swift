import MailKeepIO
/// RFC 2047 encoded words (`=?charset?B|Q?text?=`) in header text.
///
/// Decoding is as lenient as real mail needs: encoded words are recognised also inside quoted
/// strings and glued to other text (which RFC 2047 forbids but many clients write), and the text
/// of a word may hold any byte except a line break. Whitespace between two encoded words is
/// dropped; adjacent words in the same charset are joined as bytes before decoding, since
/// clients split multibyte characters across words. An unknown charset or undecodable base64
/// keeps the word exactly as written.
public enum EncodedWords {
    /// Decodes header text: encoded words via their charset, other bytes via
    /// `CharsetDecoder.decodeRaw` (UTF-8 if valid, else `rawCharset`, else Windows-1252).
    public static func decode(_ text: some Collection<UInt8>, rawCharset: String? = nil) -> String {
        let bytes = Array(text)
        guard bytes.count >= 8, containsMarker(bytes) else {
            return CharsetDecoder.decodeRaw(bytes, fallbackCharset: rawCharset)
        }

        var result = ""
        var pendingBytes: [UInt8] = []
        var pendingCharset: String? = nil
        var plainStart = 0
        var index = 0
        var afterWord = false

        func flushPending() {
            guard let charset = pendingCharset else { return }
            result += CharsetDecoder.decode(pendingBytes, charset: charset) ?? ""
            pendingBytes.removeAll(keepingCapacity: true)
            pendingCharset = nil
        }

        while index + 1 < bytes.count {
            guard bytes[index] == 0x3D, bytes[index + 1] == 0x3F, let word = parseWord(bytes, at: index) else {
                index += 1
                continue
            }
            guard let payload = word.payload(bytes), CharsetDecoder.isKnown(word.charset) else {
                // Unknown charset or broken payload: the word stays as written, as plain text.
                index = word.end
                continue
            }
            let between = bytes[plainStart..<index]
            if !(afterWord && between.allSatisfy { $0 == 0x20 || $0 == 0x09 }) {
                flushPending()
                result += CharsetDecoder.decodeRaw(between, fallbackCharset: rawCharset)
            }
            let label = CharsetDecoder.normalizedLabel(word.charset)
            if pendingCharset != label { flushPending() }
            pendingCharset = label
            pendingBytes.append(contentsOf: payload)
            index = word.end
            plainStart = index
            afterWord = true
        }
        flushPending()
        result += CharsetDecoder.decodeRaw(bytes[plainStart...], fallbackCharset: rawCharset)
        return result
    }

    private static func containsMarker(_ bytes: [UInt8]) -> Bool {
        var index = 0
        while index + 1 < bytes.count {
            if bytes[index] == 0x3D && bytes[index + 1] == 0x3F { return true }
            index += 1
        }
        return false
    }

    private struct Word {
        var charset: String
        var isBase64: Bool
        var text: Range<Int>
        var end: Int

        func payload(_ bytes: [UInt8]) -> [UInt8]? {
            isBase64 ? decodeBase64(bytes[text]) : decodeQ(bytes[text])
        }
    }

    /// Parses `=?charset?X?text?=` starting at `start` (which holds `=?`).
    private static func parseWord(_ bytes: [UInt8], at start: Int) -> Word? {
        var index = start + 2
        let charsetStart = index
        while index < bytes.count, bytes[index] != 0x3F {
            let byte = bytes[index]
            if byte <= 0x20 || byte >= 0x7F || byte == 0x3D { return nil }
            index += 1
        }
        guard index > charsetStart, index + 2 < bytes.count, bytes[index + 2] == 0x3F else { return nil }
        let encoding = asciiLower(bytes[index + 1])
        guard encoding == 0x62 || encoding == 0x71 else { return nil }
        let textStart = index + 3
        index = textStart
        while index + 1 < bytes.count {
            let byte = bytes[index]
            if byte == 0x0D || byte == 0x0A { return nil }
            if byte == 0x3F && bytes[index + 1] == 0x3D {
                return Word(
                    charset: String(decoding: bytes[charsetStart..<(textStart - 3)], as: UTF8.self),
                    isBase64: encoding == 0x62, text: textStart..<index, end: index + 2)
            }
            index += 1
        }
        return nil
    }

    /// The Q encoding: `_` is a space, `=XX` a byte; a lone `=` stays itself.
    package static func decodeQ(_ text: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.count)
        var index = text.startIndex
        while index < text.endIndex {
            let byte = text[index]
            if byte == 0x5F {
                out.append(0x20)
            } else if byte == 0x3D, index + 2 < text.endIndex, let high = hexValue(text[index + 1]), let low = hexValue(text[index + 2]) {
                out.append(high << 4 | low)
                index += 2
            } else {
                out.append(byte)
            }
            index += 1
        }
        return out
    }

    /// Base64 that tolerates missing padding and embedded whitespace; nil for any other byte
    /// outside the alphabet or for a dangling single character.
    package static func decodeBase64(_ text: ArraySlice<UInt8>) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(text.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        var sextets = 0
        var sawPadding = false
        for byte in text {
            if byte == 0x20 || byte == 0x09 { continue }
            if byte == 0x3D {
                sawPadding = true
                continue
            }
            guard !sawPadding, let value = base64Value(byte) else { return nil }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            sextets += 1
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        return sextets % 4 == 1 ? nil : out
    }

    @inline(__always)
    private static func base64Value(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x41...0x5A: return byte - 0x41
        case 0x61...0x7A: return byte - 0x61 + 26
        case 0x30...0x39: return byte - 0x30 + 52
        case 0x2B: return 62
        case 0x2F: return 63
        default: return nil
        }
    }

    @inline(__always)
    package static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: return byte - 0x30
        case 0x41...0x46: return byte - 0x41 + 10
        case 0x61...0x66: return byte - 0x61 + 10
        default: return nil
        }
    }
}
