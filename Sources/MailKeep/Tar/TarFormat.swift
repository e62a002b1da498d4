/// Layout of the 512-byte POSIX ustar header, shared by the writer and the reader.
enum TarHeader {
    static let blockSize = 512
    static let name = 0..<100
    static let mode = 100..<108
    static let uid = 108..<116
    static let gid = 116..<124
    static let size = 124..<136
    static let mtime = 136..<148
    static let checksum = 148..<156
    static let typeflag = 156
    static let magic = 257..<263
    static let version = 263..<265
    static let devMajor = 329..<337
    static let devMinor = 337..<345
    static let prefix = 345..<500

    static let ustarMagic: [UInt8] = Array("ustar\0".utf8)
    /// The largest value an 11-digit octal field (size, mtime) holds: 8 GiB - 1.
    static let maxOctal11: Int64 = 0o77777777777

    /// Sum of the header bytes with the checksum field counted as spaces, as POSIX defines it.
    static func checksum(_ header: UnsafeRawBufferPointer) -> Int {
        var sum = 0
        for (index, byte) in header.enumerated() {
            sum += checksum.contains(index) ? 0x20 : Int(byte)
        }
        return sum
    }

    /// The same sum with bytes taken as signed, which some old writers used.
    static func signedChecksum(_ header: UnsafeRawBufferPointer) -> Int {
        var sum = 0
        for (index, byte) in header.enumerated() {
            sum += checksum.contains(index) ? 0x20 : Int(Int8(bitPattern: byte))
        }
        return sum
    }

    /// Bytes of padding after `size` bytes of content.
    static func padding(after size: Int64) -> Int {
        Int((Int64(blockSize) - size % Int64(blockSize)) % Int64(blockSize))
    }
}

/// The rules a path inside a bundle must follow, so that extracting it can only create
/// something below the target directory.
enum TarPath {
    /// The path's components with empty and `.` components dropped (`./a//b` is `a/b`), or a
    /// reason the path is refused: absolute, a `..` component, or a NUL byte.
    static func components(of path: String) -> Result<[Substring], Refusal> {
        if path.utf8.first == UInt8(ascii: "/") { return .failure(Refusal("absolute path")) }
        if path.utf8.contains(0) { return .failure(Refusal("path contains a NUL byte")) }
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
        if parts.contains("..") { return .failure(Refusal("path has a '..' component")) }
        return .success(parts)
    }

    struct Refusal: Error {
        let reason: String
        init(_ reason: String) { self.reason = reason }
    }
}
