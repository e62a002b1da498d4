import MailKeepIO
/// Writes a POSIX pax tar stream (readable as plain ustar where no extension is needed).
///
/// Entries are regular files and directories only, owned by uid/gid 0 with no user or group
/// names, mode 0600 for files and 0700 for directories: a bundle carries mail, not a system's
/// ownership. A pax extended header is added for any entry whose name is not ASCII or does not
/// fit ustar's name/prefix split, whose size needs more than 11 octal digits, or whose mtime is
/// negative or too large; the ustar header then holds an ASCII stand-in for older readers.
///
/// Small writes go straight to the sink; put a `BufferedSink` (or a compressor) in between.
public final class TarWriter {
    /// Bytes of tar stream written so far; also the offset the next header will have.
    public private(set) var bytesWritten: Int64 = 0
    private let sink: ByteSink
    private var header = [UInt8](repeating: 0, count: TarHeader.blockSize)
    private var openFile: (path: String, declared: Int64, written: Int64)?
    private var finished = false
    private static let zeros = [UInt8](repeating: 0, count: 2 * TarHeader.blockSize)

    public init(_ sink: ByteSink) { self.sink = sink }

    public func addDirectory(path: String, mtime: Int64) throws {
        try requireNoOpenFile(adding: path)
        try writeHeaders(path: path, isDirectory: true, size: 0, mtime: mtime)
    }

    /// Starts a file of `size` bytes; its content follows with `writeContent` and `endFile`.
    /// Returns the offset of the content in the tar stream, where a reader can seek to it.
    @discardableResult
    public func addFile(path: String, size: Int64, mtime: Int64) throws -> Int64 {
        try requireNoOpenFile(adding: path)
        guard size >= 0 else {
            throw MailKeepError.refused(path: path, reason: "negative file size \(size)")
        }
        try writeHeaders(path: path, isDirectory: false, size: size, mtime: mtime)
        openFile = (path, size, 0)
        return bytesWritten
    }

    public func writeContent(_ bytes: UnsafeRawBufferPointer) throws {
        guard let file = openFile else {
            throw MailKeepError.refused(path: sink.name, reason: "tar content written outside a file entry")
        }
        guard file.written + Int64(bytes.count) <= file.declared else {
            throw MailKeepError.malformed(path: file.path, offset: file.written,
                                          reason: "content is longer than the declared \(file.declared) bytes")
        }
        try emit(bytes)
        openFile?.written += Int64(bytes.count)
    }

    /// Ends the current file: checks that exactly the declared size was written, then pads to
    /// the next 512-byte block.
    public func endFile() throws {
        guard let file = openFile else {
            throw MailKeepError.refused(path: sink.name, reason: "endFile without an open tar file entry")
        }
        guard file.written == file.declared else {
            throw MailKeepError.malformed(path: file.path, offset: file.written,
                                          reason: "content is \(file.written) bytes but \(file.declared) were declared")
        }
        try emitZeros(TarHeader.padding(after: file.declared))
        openFile = nil
    }

    /// A whole file in one call. Returns the offset of its content in the tar stream.
    @discardableResult
    public func addFile(path: String, mtime: Int64, content: UnsafeRawBufferPointer) throws -> Int64 {
        let offset = try addFile(path: path, size: Int64(content.count), mtime: mtime)
        try writeContent(content)
        try endFile()
        return offset
    }

    /// Writes the two zero blocks that end a tar stream. Does not flush or close the sink.
    public func finish() throws {
        try requireNoOpenFile(adding: nil)
        try emitZeros(2 * TarHeader.blockSize)
        finished = true
    }

    private func requireNoOpenFile(adding path: String?) throws {
        if let file = openFile {
            throw MailKeepError.refused(path: file.path, reason: "tar file entry not ended before the next one")
        }
        if finished {
            throw MailKeepError.refused(path: path ?? sink.name, reason: "tar stream already finished")
        }
    }

    private func writeHeaders(path: String, isDirectory: Bool, size: Int64, mtime: Int64) throws {
        switch TarPath.components(of: path) {
        case let .failure(refusal):
            throw MailKeepError.refused(path: path, reason: refusal.reason)
        case let .success(parts):
            guard !parts.isEmpty, parts.joined(separator: "/") == path else {
                throw MailKeepError.refused(path: path, reason: "tar entry path must be relative and normalized (no empty or '.' components)")
            }
        }
        let fullName = Array(path.utf8) + (isDirectory ? [UInt8(ascii: "/")] : [])
        var extended: [(key: String, value: String)] = []
        let ustarName: (prefix: [UInt8], name: [UInt8])
        if fullName.allSatisfy({ $0 < 0x80 }), let split = Self.ustarSplit(fullName) {
            ustarName = split
        } else {
            extended.append(("path", String(decoding: fullName, as: UTF8.self)))
            let standIn = fullName.map { $0 < 0x80 ? $0 : UInt8(ascii: "_") }
            ustarName = Self.ustarSplit(standIn) ?? ([], Array(standIn.suffix(100)))
        }
        if size > TarHeader.maxOctal11 { extended.append(("size", String(size))) }
        if mtime < 0 || mtime > TarHeader.maxOctal11 { extended.append(("mtime", String(mtime))) }
        let headerMtime = min(max(mtime, 0), TarHeader.maxOctal11)

        if !extended.isEmpty {
            let records = extended.flatMap { Self.paxRecord(key: $0.key, value: $0.value) }
            try emitHeader(prefix: [], name: Array("././@PaxHeader".utf8), typeflag: UInt8(ascii: "x"),
                           mode: 0o600, size: Int64(records.count), mtime: headerMtime)
            try records.withUnsafeBytes { try emit($0) }
            try emitZeros(TarHeader.padding(after: Int64(records.count)))
        }
        try emitHeader(prefix: ustarName.prefix, name: ustarName.name, typeflag: UInt8(ascii: isDirectory ? "5" : "0"),
                       mode: isDirectory ? 0o700 : 0o600, size: size <= TarHeader.maxOctal11 ? size : 0,
                       mtime: headerMtime)
    }

    /// ustar keeps a name of up to 100 bytes, or splits a longer one at a `/` into a prefix of
    /// up to 155 bytes and a name of up to 100. Nil when neither fits.
    package static func ustarSplit(_ path: [UInt8]) -> (prefix: [UInt8], name: [UInt8])? {
        if path.count <= 100 { return ([], path) }
        // A trailing slash (directory) cannot be the split point: the name would be empty.
        for index in path.indices where path[index] == UInt8(ascii: "/") && index < path.count - 1 {
            if index <= 155 && path.count - index - 1 <= 100 {
                return (Array(path[..<index]), Array(path[(index + 1)...]))
            }
        }
        return nil
    }

    /// One pax record, "<length> <key>=<value>\n", where the length counts its own digits.
    package static func paxRecord(key: String, value: String) -> [UInt8] {
        let body = Array(" \(key)=\(value)\n".utf8)
        var digits = 1
        while String(body.count + digits).utf8.count != digits { digits += 1 }
        return Array(String(body.count + digits).utf8) + body
    }

    private func emitHeader(prefix: [UInt8], name: [UInt8], typeflag: UInt8, mode: Int64, size: Int64, mtime: Int64) throws {
        header.withUnsafeMutableBytes { header in
            header.initializeMemory(as: UInt8.self, repeating: 0)
            func put(_ bytes: [UInt8], _ field: Range<Int>) {
                for (index, byte) in bytes.prefix(field.count).enumerated() { header[field.lowerBound + index] = byte }
            }
            func octal(_ value: Int64, _ field: Range<Int>) {
                let digits = String(value, radix: 8)
                put(Array((String(repeating: "0", count: field.count - 1 - digits.count) + digits).utf8), field)
            }
            put(name, TarHeader.name)
            octal(mode, TarHeader.mode)
            octal(0, TarHeader.uid)
            octal(0, TarHeader.gid)
            octal(size, TarHeader.size)
            octal(mtime, TarHeader.mtime)
            header[TarHeader.typeflag] = typeflag
            put(TarHeader.ustarMagic, TarHeader.magic)
            put(Array("00".utf8), TarHeader.version)
            octal(0, TarHeader.devMajor)
            octal(0, TarHeader.devMinor)
            put(prefix, TarHeader.prefix)
            let sum = TarHeader.checksum(UnsafeRawBufferPointer(header))
            let digits = String(sum, radix: 8)
            put(Array((String(repeating: "0", count: 6 - digits.count) + digits).utf8) + [0, 0x20], TarHeader.checksum)
        }
        try header.withUnsafeBytes { try emit($0) }
    }

    private func emit(_ bytes: UnsafeRawBufferPointer) throws {
        try sink.write(bytes)
        bytesWritten += Int64(bytes.count)
    }

    private func emitZeros(_ count: Int) throws {
        try Self.zeros.withUnsafeBytes { try emit(UnsafeRawBufferPointer(rebasing: $0.prefix(count))) }
    }
}
