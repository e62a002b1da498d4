import MailKeepIO
/// IMAP's modified UTF-7 (RFC 3501 §5.1.3), the folder-name encoding Dovecot and Courier use on
/// disk: printable ASCII stands for itself (`&` as `&-`), anything else is UTF-16 in base64
/// with `,` for `/`, between `&` and `-`.
public enum ModifiedUTF7 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,".utf8)

    public static func encode(_ name: String) -> String {
        var out: [UInt8] = []
        var pending: [UInt16] = []
        func flush() {
            guard !pending.isEmpty else { return }
            out.append(UInt8(ascii: "&"))
            var bytes: [UInt8] = []
            for u in pending { bytes.append(UInt8(u >> 8)); bytes.append(UInt8(u & 0xFF)) }
            var i = 0
            while i < bytes.count {
                let b0 = bytes[i], b1 = i + 1 < bytes.count ? bytes[i + 1] : 0, b2 = i + 2 < bytes.count ? bytes[i + 2] : 0
                out.append(alphabet[Int(b0 >> 2)])
                out.append(alphabet[Int((b0 & 3) << 4 | b1 >> 4)])
                if i + 1 < bytes.count { out.append(alphabet[Int((b1 & 15) << 2 | b2 >> 6)]) }
                if i + 2 < bytes.count { out.append(alphabet[Int(b2 & 63)]) }
                i += 3
            }
            out.append(UInt8(ascii: "-"))
            pending.removeAll()
        }
        for scalar in name.unicodeScalars {
            if scalar.value >= 0x20 && scalar.value <= 0x7E {
                flush()
                out.append(UInt8(scalar.value))
                if scalar == "&" { out.append(UInt8(ascii: "-")) }
            } else {
                pending.append(contentsOf: String(scalar).utf16)
            }
        }
        flush()
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes a name; nil when it is not valid modified UTF-7 (then it is used as it is).
    public static func decode(_ name: String) -> String? {
        let bytes = Array(name.utf8)
        guard bytes.contains(UInt8(ascii: "&")) else { return name }
        var out = ""
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            guard b >= 0x20 && b <= 0x7E else { return nil }
            if b != UInt8(ascii: "&") {
                out.unicodeScalars.append(Unicode.Scalar(b))
                i += 1
                continue
            }
            guard let end = bytes[(i + 1)...].firstIndex(of: UInt8(ascii: "-")) else { return nil }
            if end == i + 1 {
                out.append("&")
                i = end + 1
                continue
            }
            var bits = 0
            var acc = 0
            var units: [UInt16] = []
            var pendingByte: UInt8?
            for c in bytes[(i + 1)..<end] {
                guard let v = alphabet.firstIndex(of: c) else { return nil }
                acc = acc << 6 | v
                bits += 6
                if bits >= 8 {
                    bits -= 8
                    let byte = UInt8((acc >> bits) & 0xFF)
                    if let hi = pendingByte {
                        units.append(UInt16(hi) << 8 | UInt16(byte))
                        pendingByte = nil
                    } else {
                        pendingByte = byte
                    }
                }
            }
            guard pendingByte == nil, let decoded = String(utf16CodeUnits: units) else { return nil }
            out += decoded
            i = end + 1
        }
        return out
    }
}

extension String {
    package init?(utf16CodeUnits units: [UInt16]) {
        var result = ""
        for scalar in Unicode.UTF16.decode(units) {
            guard let scalar else { return nil }
            result.unicodeScalars.append(scalar)
        }
        self = result
    }
}

extension Unicode.UTF16 {
    package static func decode(_ units: [UInt16]) -> [Unicode.Scalar?] {
        var iterator = units.makeIterator()
        var decoder = Unicode.UTF16()
        var out: [Unicode.Scalar?] = []
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let s): out.append(s)
            case .emptyInput: return out
            case .error: out.append(nil)
            }
        }
    }
}
