import MailKeepIO
/// Layout of the 512-byte POSIX ustar header, shared by the writer and the reader.
package enum TarHeader {
    package static let blockSize = 512
    package static let name = 0..<100
    package static let mode = 100..<108
    package static let uid = 108..<116
    package static let gid = 116..<124
    package static let size = 124..<136
    package static let mtime = 136..<148
    package static let checksum = 148..<156
    package static let typeflag = 156
    package static let magic = 257..<263
    package static let version = 263..<265
    package static let devMajor = 329..<337
    package static let devMinor = 337..<345
    package static let prefix = 345..<500

    package static let ustarMagic: [UInt8] = Array("ustar\0".utf8)
    /// The largest value an 11-digit octal field (size, mtime) holds: 8 GiB - 1.
    package static let maxOctal11: Int64 = 0o77777777777

    /// Sum of the header bytes with the checksum field counted as spaces, as POSIX defines it.
    package static func checksum(_ header: UnsafeRawBufferPointer) -> Int {
        var sum = 0
        for (index, byte) in header.enumerated() {
            sum += checksum.contains(index) ? 0x20 : Int(byte)
        }
        return sum
    }

    /// The same sum with bytes taken as signed, which some old writers used.
    package static func signedChecksum(_ header: UnsafeRawBufferPointer) -> Int {
        var sum = 0
        for (index, byte) in header.enumerated() {
            sum += checksum.contains(index) ? 0x20 : Int(Int8(bitPattern: byte))
        }
        return sum
    }

    /// Bytes of padding after `size` bytes of content.
    package static func padding(after size: Int64) -> Int {
        Int((Int64(blockSize) - size % Int64(blockSize)) % Int64(blockSize))
    }
}

/// The rules a path inside a bundle must follow, so that extracting it can only create
/// something below the target directory.
package enum TarPath {
    /// The path's components with empty and `.` components dropped (`./a//b` is `a/b`), or a
    /// reason the path is refused: absolute, a `..` component, or a NUL byte.
    package static func components(of path: String) -> Result<[Substring], Refusal> {
        if path.utf8.first == UInt8(ascii: "/") { return .failure(Refusal("absolute path")) }
        if path.utf8.contains(0) { return .failure(Refusal("path contains a NUL byte")) }
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
        if parts.contains("..") { return .failure(Refusal("path has a '..' component")) }
        return .success(parts)
    }

    package struct Refusal: Error {
        package let reason: String
        package init(_ reason: String) { self.reason = reason }
    }
}

extension TarReader {
    /// True when these first bytes (after decompression) are a tar archive.
    public static func looksLikeTar(_ prefix: UnsafeRawBufferPointer) -> Bool {
        prefix.count >= 262 && prefix[257] == UInt8(ascii: "u") && prefix[258] == UInt8(ascii: "s")
            && prefix[259] == UInt8(ascii: "t") && prefix[260] == UInt8(ascii: "a") && prefix[261] == UInt8(ascii: "r")
    }
}
