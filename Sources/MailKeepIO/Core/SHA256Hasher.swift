import Crypto

/// SHA-256 of message content, as lower-case hex: the identity of a message everywhere in
/// mailkeep (bundle manifests, restore de-duplication, `mailscan --json`).
public struct ContentHasher {
    private var hasher = SHA256()
    public init() {}
    public mutating func update(_ bytes: UnsafeRawBufferPointer) { hasher.update(bufferPointer: bytes) }
    public mutating func finalizeHex() -> String { hexString(hasher.finalize()) }

    public static func sha256Hex(of bytes: UnsafeRawBufferPointer) -> String {
        var h = ContentHasher()
        h.update(bytes)
        return h.finalizeHex()
    }
}

private let hexDigits = Array("0123456789abcdef".utf8)

package func hexString<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
    var out: [UInt8] = []
    out.reserveCapacity(64)
    for b in bytes {
        out.append(hexDigits[Int(b >> 4)])
        out.append(hexDigits[Int(b & 15)])
    }
    return String(decoding: out, as: UTF8.self)
}
