import Foundation
import Testing
@testable import MailKeepIO
@testable import MailKeepFormats
@testable import MailKeepArchive
@testable import MailKeepPipeline

/// Packs `sources` into a bundle the way `mailpack` does, returning the warnings.
@discardableResult
func packBundle(_ sources: [String], to path: String, options: BundleOptions) throws -> WarningLog {
    let log = WarningLog()
    let list = try SourceList(sources, nameMboxFolders: true, log: log)
    let writer = try BundleWriter(path: path, options: options, sources: sources, log: log)
    try list.forEachMessage { meta, content in try writer.write(meta, content: content) }
    try writer.finish()
    return log
}

/// Converts a bundle (or any source) into `destination` as `mailconvert` does.
@discardableResult
func unpackBundle(_ bundle: String, to destination: String, format: OutputFormat) throws -> WarningLog {
    let log = WarningLog()
    _ = try convert(SourceList([bundle], log: log), to: destination, options: ConvertOptions(format: format), log: log)
    return log
}

/// A message file of a Maildir tree as the tests compare it.
struct MaildirFile: Equatable, CustomStringConvertible {
    var bytes: [UInt8]
    var mtime: Int64
    var description: String { "\(bytes.count) bytes, mtime \(mtime)" }
}

/// Every message file under a Maildir tree (`cur/` and `new/` of each folder), by path
/// relative to the root: names carry folders and flags, so equal snapshots are equal trees.
func maildirSnapshot(_ root: String) throws -> [String: MaildirFile] {
    let fm = FileManager.default
    var out: [String: MaildirFile] = [:]
    guard let walker = fm.enumerator(atPath: root) else { return out }
    while let relative = walker.nextObject() as? String {
        let parts = relative.split(separator: "/")
        guard parts.count >= 2, ["cur", "new"].contains(parts[parts.count - 2]) else { continue }
        let path = root + "/" + relative
        let attributes = try fm.attributesOfItem(atPath: path)
        guard attributes[.type] as? FileAttributeType == .typeRegular else { continue }
        let mtime = Int64((attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? -1)
        out[relative] = MaildirFile(bytes: try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))), mtime: mtime)
    }
    return out
}

/// Deterministic pseudo-random bytes (xorshift), for content no compressor can shrink much.
func noiseBytes(count: Int, seed: UInt64) -> [UInt8] {
    var state = seed | 1
    var out: [UInt8] = []
    out.reserveCapacity(count)
    while out.count < count {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        withUnsafeBytes(of: state) { out.append(contentsOf: $0) }
    }
    return Array(out.prefix(count))
}

/// A message with the headers selection and the manifest read, and a body of `body`.
func sampleMessage(_ n: Int, subject: String? = nil, body: [UInt8]) -> [UInt8] {
    let header = """
        From: Sender \(n) <sender\(n)@example.org>\r
        To: team@example.org\r
        Subject: \(subject ?? "message \(n)")\r
        Date: Mon, 1 Jan 2024 10:\(String(format: "%02d", n % 60)):00 +0000\r
        Message-ID: <m\(n)@example.org>\r
        \r

        """
    return Array(header.utf8) + body
}

/// A Maildir++ tree with three folders (one with a non-ASCII name), new and flagged messages,
/// an attachment-sized message of noise and one with every byte value, each file's mtime
/// set. Returns its snapshot.
@discardableResult
func makeMaildirTree(at root: String, noiseMessageSize: Int = 300_000) throws -> [String: MaildirFile] {
    let fm = FileManager.default
    let folders = ["", ".Archive.2024", ".Entw&APw-rfe"]
    for folder in folders {
        for sub in ["cur", "new", "tmp"] {
            try fm.createDirectory(atPath: "\(root)/\(folder.isEmpty ? "" : folder + "/")\(sub)", withIntermediateDirectories: true)
        }
    }
    let allBytes = (0..<4).flatMap { _ in (0...255).map { UInt8($0) } }
    let files: [(path: String, content: [UInt8])] = [
        ("cur/1700000001.M1P1.host:2,S", sampleMessage(1, body: Array("Seen.\r\n".utf8))),
        ("cur/1700000002.M2P1.host:2,FRS", sampleMessage(2, body: Array("Replied and flagged.\r\n".utf8))),
        ("new/1700000003.M3P1.host", sampleMessage(3, body: Array("Not read yet.\n".utf8))),
        ("cur/1700000004.M4P1.host:2,S", sampleMessage(4, subject: "binary", body: allBytes)),
        (".Archive.2024/cur/1700000005.M5P1.host:2,DS", sampleMessage(5, body: Array("Archived.\n".utf8))),
        (".Archive.2024/cur/1700000006.M6P1.host:2,S",
         sampleMessage(6, subject: "attachment", body: Array(Data(noiseBytes(count: noiseMessageSize, seed: 6)).base64EncodedString(options: .lineLength76Characters).utf8))),
        (".Archive.2024/new/1700000007.M7P1.host", sampleMessage(7, body: Array("From the desk of nobody\n".utf8))),
        (".Entw&APw-rfe/cur/1700000008.M8P1.host:2,D", sampleMessage(8, subject: "Entwurf", body: Array("Draft.\n".utf8))),
    ]
    for (index, file) in files.enumerated() {
        let path = root + "/" + file.path
        try writeFile(path, file.content)
        try fm.setAttributes([.modificationDate: Date(timeIntervalSince1970: Double(1_700_000_000 + index * 3600))], ofItemAtPath: path)
    }
    return try maildirSnapshot(root)
}

/// A bundle's tar stream taken apart into its members, so tests can damage it the ways a
/// disk, a network or an attacker would and still hand mailkeep a well-formed archive.
struct TarMembers {
    struct Member {
        var path: String
        /// Header (pax header included), content and padding, as they stood in the stream.
        var range: Range<Int>
        var contentOffset: Int
        var size: Int
    }

    let tar: [UInt8]
    let members: [Member]

    init(_ tar: [UInt8]) throws {
        self.tar = tar
        let reader = TarReader(MemorySource(tar))
        var found: [(TarEntry)] = []
        while let entry = try reader.next() { found.append(entry) }
        var members: [Member] = []
        for (index, entry) in found.enumerated() {
            let end = index + 1 < found.count
                ? Int(found[index + 1].headerOffset)
                : Int(entry.contentOffset + entry.size) + TarHeader.padding(after: entry.size)
            members.append(Member(path: entry.path, range: Int(entry.headerOffset)..<end,
                                  contentOffset: Int(entry.contentOffset), size: Int(entry.size)))
        }
        self.members = members
    }

    func member(_ suffix: String) throws -> Member {
        try #require(members.first { $0.path.hasSuffix(suffix) }, "no tar member ending in \(suffix)")
    }

    func content(of member: Member) -> [UInt8] {
        Array(tar[member.contentOffset..<(member.contentOffset + member.size)])
    }

    /// The members in `order` (indexes into `members`, repeats allowed), then the end blocks.
    func rebuilt(_ order: [Int]) -> [UInt8] {
        order.flatMap { tar[members[$0].range] } + [UInt8](repeating: 0, count: 1024)
    }
}

/// The tar stream of a compressed bundle, decompressed by the system's `xz` or `gzip`.
func systemDecompress(_ path: String) throws -> [UInt8] {
    let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
    let tool = bytes.starts(with: [0x1F, 0x8B]) ? "gzip" : "xz"
    let result = try runTool([tool, "-dc"], input: bytes)
    try #require(result.status == 0, "\(tool) -dc \(path) failed")
    return result.output
}

/// A tar stream written again with the member ending in `suffix` given `content` (its size
/// changes with it), as someone editing a bundle by hand would.
func retarred(_ tar: [UInt8], replacing suffix: String, with replacement: [UInt8]) throws -> [UInt8] {
    let sink = MemorySink()
    let writer = TarWriter(sink)
    let reader = TarReader(MemorySource(tar))
    var buffer = [UInt8](repeating: 0, count: 1 << 20)
    while let entry = try reader.next() {
        if entry.kind == .directory {
            try writer.addDirectory(path: entry.path, mtime: entry.mtime)
            continue
        }
        var content: [UInt8] = []
        while true {
            let n = try buffer.withUnsafeMutableBytes { try reader.readContent(into: $0) }
            if n == 0 { break }
            content += buffer[0..<n]
        }
        if entry.path.hasSuffix(suffix) { content = replacement }
        try content.withUnsafeBytes { _ = try writer.addFile(path: entry.path, mtime: entry.mtime, content: $0) }
    }
    try writer.finish()
    return sink.bytes
}

/// Compresses a tar stream with the system's `xz`, as someone repacking a bundle would.
func systemXZ(_ tar: [UInt8], to path: String) throws {
    let result = try runTool(["xz", "-c", "-6"], input: tar)
    try #require(result.status == 0, "xz failed")
    try writeFile(path, result.output)
}
