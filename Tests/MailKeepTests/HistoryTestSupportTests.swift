import Foundation
import Testing
@testable import MailKeepIO
@testable import MailKeepFormats
@testable import MailKeepArchive

/// A bundle written by hand, as docs/bundle-format.md describes a full bundle or an
/// increment, so that readers are tested against the format rather than against the writer.
struct HandMadeBundle {
    struct Message {
        var folder: String = ""
        var flags: String = "S"
        var unique: String
        var content: [UInt8]
        var received: Int64
    }

    var top: String
    var created: Int64
    /// nil: a full bundle (version 2).
    var chain: [ChainLink]?
    var messages: [Message] = []
    /// Written as STATE.tsv when set.
    var state: [StateLine]?
    /// STATE.tsv's text as given, for listings no writer makes.
    var stateText: String?
    var id = BundleID.make()
    var folders: [String]?
    /// Each message in an xz block of its own, so damage to one block costs one message.
    var blockPerMessage = false

    /// Writes the bundle (xz with the manifest, STATE.tsv and SHA256SUMS each starting a
    /// block, as mailpack writes them; or plain tar) and returns the chain link naming it.
    @discardableResult
    func write(to path: String, compression: Compression = .xz) throws -> ChainLink {
        let file = ByteArraySink()
        let xz = compression == .xz ? try XZCompressor(file, options: .init(preset: 0)) : nil
        let tar = TarWriter(xz ?? file)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var sums = ""
        func add(_ name: String, _ bytes: [UInt8]) throws -> Int64 {
            sums += "\(bytes.withUnsafeBytes { ContentHasher.sha256Hex(of: $0) })  \(name)\n"
            return try bytes.withUnsafeBytes { try tar.addFile(path: "\(top)/\(name)", mtime: created, content: $0) }
        }
        try tar.addDirectory(path: top, mtime: created)
        let header = BundleHeader(created: created, top: top, infoSeparator: ":", sources: ["Maildir"],
                                  folders: folders ?? Set(messages.map(\.folder)).sorted(), id: id, chain: chain)
        _ = try add("mailkeep-bundle.json", Array(try encoder.encode(header)) + [0x0A])
        var manifest: [UInt8] = []
        for message in messages {
            if blockPerMessage { try xz?.endBlock() }
            let dir = message.folder.isEmpty ? "mail" : "mail/" + message.folder
            let relative = "\(dir)/cur/\(message.unique):2,\(message.flags)"
            let offset = try add(relative, message.content)
            var entry = ManifestEntry(path: relative, size: Int64(message.content.count),
                                      sha256: message.content.withUnsafeBytes { ContentHasher.sha256Hex(of: $0) },
                                      folder: message.folder, flags: message.flags, isNew: false)
            entry.offset = offset
            entry.received = message.received
            entry.facts = message.content.withUnsafeBytes { RecordedFacts(MessageFacts(content: $0)) }
            manifest += Array(try encoder.encode(entry)) + [0x0A]
        }
        try xz?.endBlock()
        let manifestSum = manifest.withUnsafeBytes { ContentHasher.sha256Hex(of: $0) }
        _ = try add("MANIFEST.jsonl", manifest)
        if let text = stateText ?? state.map({ StateFile.firstLine + "\n" + $0.map { String(decoding: StateFile.encode($0), as: UTF8.self) }.joined() }) {
            try xz?.endBlock()
            _ = try add(StateFile.name, Array(text.utf8))
        }
        try xz?.endBlock()
        let sumsBytes = Array(sums.utf8)
        _ = try sumsBytes.withUnsafeBytes { try tar.addFile(path: "\(top)/SHA256SUMS", mtime: created, content: $0) }
        try tar.finish()
        try xz?.flush()
        try writeFile(path, file.bytes)
        return ChainLink(id: id, manifestSHA256: manifestSum, name: FileSystem.baseName(path), created: created)
    }
}

/// A small message with a Message-ID, a sender and a subject that selection can see.
func historyMessage(_ n: Int, unique: String? = nil, folder: String = "", flags: String = "S", from: String = "alice@example.org",
                    received: Int64 = 1_767_225_600) -> HandMadeBundle.Message {
    let content = Array("""
        From: Sender <\(from)>\r
        To: bob@example.org\r
        Subject: history \(n)\r
        Date: Thu, 1 Jan 2026 10:00:00 +0000\r
        Message-ID: <h\(n)@example.org>\r
        \r
        Message \(n).\r

        """.utf8)
    return .init(folder: folder, flags: flags, unique: unique ?? "17672256\(String(format: "%02d", n % 100)).M\(n)P1.host", content: content,
                 received: received + Int64(n))
}
