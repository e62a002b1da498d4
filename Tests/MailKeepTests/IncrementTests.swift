import Foundation
import Testing
@testable import MailKeepIO
@testable import MailKeepFormats
@testable import MailKeepArchive
@testable import MailKeepCommands

/// `mailpack --base` writes increments as docs/bundle-format.md says: only content the chain
/// lacks, a state line per message, the chain named in the header.
@Suite struct IncrementTests {
    /// A bundle taken apart: its header, manifest lines, state lines and tar members.
    struct Unpacked {
        var tar: TarMembers
        var header: BundleHeader
        var manifest: [ManifestEntry]
        var manifestSHA256: String
        var state: [StateLine]
        var sums: String

        init(_ path: String) throws {
            tar = try TarMembers(try systemDecompress(path))
            header = try BundleHeader.read(tar.content(of: try tar.member("/mailkeep-bundle.json")), bundle: path)
            let manifestBytes = tar.content(of: try tar.member("/MANIFEST.jsonl"))
            manifestSHA256 = manifestBytes.withUnsafeBytes { ContentHasher.sha256Hex(of: $0) }
            manifest = try manifestBytes.split(separator: 0x0A).map { try JSONDecoder().decode(ManifestEntry.self, from: Data($0)) }
            sums = String(decoding: tar.content(of: try tar.member("/SHA256SUMS")), as: UTF8.self)
            var lines: [StateLine] = []
            if let member = tar.members.first(where: { $0.path.hasSuffix("/" + StateFile.name) }) {
                let reader = StateFile.Reader(path: StateFile.name, holders: (header.chain?.count ?? 0) + 1) { _, line in lines.append(line) }
                try reader.write(tar.content(of: member))
                try reader.finish()
            }
            state = lines
        }

        var messageMembers: [TarMembers.Member] { tar.members.filter { $0.path.contains("/mail/") && $0.size > 0 } }
    }

    /// Packs `arguments` with mailpack in-process and insists it worked.
    @discardableResult
    static func pack(_ arguments: [String], expecting status: Int32 = 0) -> CommandResult {
        let result = runCommand(MailPack.self, arguments)
        #expect(result.status == status, "\(result.standardError)")
        return result
    }

    static func sha(_ path: String) throws -> String {
        try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))).withUnsafeBytes { ContentHasher.sha256Hex(of: $0) }
    }

    @Test func anUnchangedTreeCostsOnlyItsState() throws {
        let scratch = try ScratchDirectory()
        _ = try makeMaildirTree(at: scratch.file("Mail"), noiseMessageSize: 3000)
        Self.pack([scratch.file("Mail"), "-o", scratch.file("day1.tar.xz")])
        Self.pack([scratch.file("Mail"), "-o", scratch.file("day2.tar.xz"), "--base", scratch.file("day1.tar.xz")])
        let base = try Unpacked(scratch.file("day1.tar.xz"))
        let increment = try Unpacked(scratch.file("day2.tar.xz"))

        #expect(increment.header.version == 3)
        let link = try #require(increment.header.chain?.first)
        #expect(increment.header.chain?.count == 1)
        #expect(link.id == base.header.id && link.manifestSHA256 == base.manifestSHA256)
        #expect(link.name == "day1.tar.xz" && link.created == base.header.created)
        #expect(increment.manifest.isEmpty && increment.messageMembers.isEmpty)
        #expect(increment.header.folders == base.header.folders)

        // Every message, in source order, points at the base's line for its content.
        #expect(increment.state.count == 8)
        for (line, entry) in zip(increment.state, base.manifest) {
            #expect(line.holder == 0)
            #expect(base.manifest[line.entry].sha256 == entry.sha256)
            #expect(line.folder == entry.folder && line.flags == entry.flags && line.isNew == entry.isNew)
            #expect(line.received == entry.received && line.name == nil)
        }

        // STATE.tsv sits between the manifest and SHA256SUMS, which covers it.
        let paths = increment.tar.members.map { FileSystem.baseName($0.path) }
        #expect(Array(paths.suffix(3)) == ["MANIFEST.jsonl", StateFile.name, "SHA256SUMS"])
        let stateHash = increment.tar.content(of: try increment.tar.member("/" + StateFile.name)).withUnsafeBytes { ContentHasher.sha256Hex(of: $0) }
        #expect(increment.sums.contains("\(stateHash)  \(StateFile.name)\n"))
    }

    @Test func changesCostStateLinesAndNewContentIsStoredOnce() throws {
        let scratch = try ScratchDirectory()
        let mail = scratch.file("Mail")
        _ = try makeMaildirTree(at: mail, noiseMessageSize: 3000)
        Self.pack([mail, "-o", scratch.file("day1.tar.xz")])
        let fm = FileManager.default
        // A flag change, a move to another folder, a deletion, and one new message twice.
        try fm.moveItem(atPath: mail + "/cur/1700000001.M1P1.host:2,S", toPath: mail + "/cur/1700000001.M1P1.host:2,FS")
        try fm.moveItem(atPath: mail + "/cur/1700000004.M4P1.host:2,S", toPath: mail + "/.Archive.2024/cur/1700000004.M4P1.host:2,S")
        try fm.removeItem(atPath: mail + "/.Archive.2024/cur/1700000005.M5P1.host:2,DS")
        let fresh = sampleMessage(9, subject: "new today", body: Array("New.\n".utf8))
        try writeFile(mail + "/new/1700000009.M9P1.host", fresh)
        try writeFile(mail + "/.Archive.2024/cur/1700000010.M10P1.host:2,S", fresh)
        Self.pack([mail, "-o", scratch.file("day2.tar.xz"), "--base", scratch.file("day1.tar.xz")])

        let base = try Unpacked(scratch.file("day1.tar.xz"))
        let increment = try Unpacked(scratch.file("day2.tar.xz"))
        #expect(increment.manifest.count == 1)
        #expect(increment.messageMembers.count == 1)
        let freshHash = fresh.withUnsafeBytes { ContentHasher.sha256Hex(of: $0) }
        #expect(increment.manifest.first?.sha256 == freshHash)
        #expect(increment.state.count == 9)
        func line(_ sha: String) -> [StateLine] {
            increment.state.filter { ($0.holder == 0 ? base.manifest[$0.entry] : increment.manifest[$0.entry]).sha256 == sha }
        }
        let flagged = try #require(line(try Self.sha(mail + "/cur/1700000001.M1P1.host:2,FS")).first)
        #expect(flagged.holder == 0 && flagged.flags == "FS" && flagged.folder == "")
        let moved = try #require(line(try Self.sha(mail + "/.Archive.2024/cur/1700000004.M4P1.host:2,S")).first)
        #expect(moved.holder == 0 && moved.folder == "Archive/2024")
        let twice = line(freshHash)
        #expect(twice.count == 2 && twice.allSatisfy { $0.holder == 1 && $0.entry == 0 })
        // The copy that is not the stored file's name says its own name.
        #expect(Set(twice.map { $0.name ?? "" }) == ["", "1700000010.M10P1.host"] || Set(twice.map { $0.name ?? "" }) == ["", "1700000009.M9P1.host"])
        let deletedHash = base.manifest.first { $0.path.contains("1700000005") }?.sha256 ?? ""
        #expect(line(deletedHash).isEmpty)
    }

    /// A file changed in place with its size and mtime kept is what proves a file was not
    /// read: the increment still points at the base's bytes. `--rehash` reads it.
    @Test func unchangedFilesAreNotReadAndRehashReadsThem() throws {
        let scratch = try ScratchDirectory()
        let mail = scratch.file("Mail")
        _ = try makeMaildirTree(at: mail, noiseMessageSize: 3000)
        Self.pack([mail, "-o", scratch.file("day1.tar.xz")])
        let file = mail + "/cur/1700000001.M1P1.host:2,S"
        let before = try FileManager.default.attributesOfItem(atPath: file)[.modificationDate] as? Date
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))
        bytes[bytes.count - 3] ^= 0x20
        try writeFile(file, bytes)
        try FileManager.default.setAttributes([.modificationDate: try #require(before)], ofItemAtPath: file)

        Self.pack([mail, "-o", scratch.file("day2.tar.xz"), "--base", scratch.file("day1.tar.xz")])
        #expect(try Unpacked(scratch.file("day2.tar.xz")).manifest.isEmpty)

        Self.pack([mail, "-o", scratch.file("day2b.tar.xz"), "--base", scratch.file("day1.tar.xz"), "--rehash"])
        let rehashed = try Unpacked(scratch.file("day2b.tar.xz"))
        #expect(rehashed.manifest.map(\.sha256) == [try Self.sha(file)])
    }

    @Test func aChainGrowsAndItsLinksAreFoundByIdWhenRenamed() throws {
        let scratch = try ScratchDirectory()
        let mail = scratch.file("Mail")
        _ = try makeMaildirTree(at: mail, noiseMessageSize: 3000)
        Self.pack([mail, "-o", scratch.file("day1.tar.xz")])
        try writeFile(mail + "/new/1700000009.M9P1.host", sampleMessage(9, body: Array("Two.\n".utf8)))
        Self.pack([mail, "-o", scratch.file("day2.tar.xz"), "--base", scratch.file("day1.tar.xz")])
        try writeFile(mail + "/new/1700000010.M10P1.host", sampleMessage(10, body: Array("Three.\n".utf8)))
        try FileManager.default.moveItem(atPath: scratch.file("day1.tar.xz"), toPath: scratch.file("renamed.tar.xz"))
        Self.pack([mail, "-o", scratch.file("day3.tar.xz"), "--base", scratch.file("day2.tar.xz")])

        let day2 = try Unpacked(scratch.file("day2.tar.xz"))
        let day3 = try Unpacked(scratch.file("day3.tar.xz"))
        #expect(day3.header.chain?.map(\.name) == ["day1.tar.xz", "day2.tar.xz"])
        #expect(day3.header.chain?.last?.manifestSHA256 == day2.manifestSHA256)
        #expect(day3.manifest.count == 1 && day3.state.count == 10)
        #expect(Set(day3.state.map(\.holder)) == [0, 1, 2])

        // --base DIR takes the newest bundle whose chain is there: day3.
        Self.pack([mail, "-o", scratch.file("day4.tar.xz"), "--base", scratch.path])
        #expect(try Unpacked(scratch.file("day4.tar.xz")).header.chain?.last?.name == "day3.tar.xz")
    }

    @Test func aMissingLinkOrABaseThatIsNoBundleIsRefused() throws {
        let scratch = try ScratchDirectory()
        let mail = scratch.file("Mail")
        _ = try makeMaildirTree(at: mail, noiseMessageSize: 3000)
        Self.pack([mail, "-o", scratch.file("day1.tar.xz")])
        Self.pack([mail, "-o", scratch.file("day2.tar.xz"), "--base", scratch.file("day1.tar.xz")])
        try FileManager.default.removeItem(atPath: scratch.file("day1.tar.xz"))
        let missing = Self.pack([mail, "-o", scratch.file("day3.tar.xz"), "--base", scratch.file("day2.tar.xz")], expecting: 2)
        #expect(missing.standardError.contains("link 0 of its chain (day1.tar.xz, id "))
        #expect(!FileManager.default.fileExists(atPath: scratch.file("day3.tar.xz")))

        try writeFile(scratch.file("notes.tar.xz"), Array("not a bundle\n".utf8))
        let notBundle = Self.pack([mail, "-o", scratch.file("day3.tar.xz"), "--base", scratch.file("notes.tar.xz")], expecting: 2)
        #expect(notBundle.standardError.contains("notes.tar.xz"))
        #expect(!FileManager.default.fileExists(atPath: scratch.file("day3.tar.xz")))
    }

    /// A chain consolidated is one full bundle of the newest state: unpacked, it is the
    /// Maildir as it was at the newest increment, names, bytes and mtimes.
    @Test func aConsolidatedChainIsTheNewestStateInFull() throws {
        let scratch = try ScratchDirectory()
        let mail = scratch.file("Mail")
        _ = try makeMaildirTree(at: mail, noiseMessageSize: 3000)
        Self.pack([mail, "-o", scratch.file("day1.tar.xz")])
        let fm = FileManager.default
        try fm.moveItem(atPath: mail + "/cur/1700000001.M1P1.host:2,S", toPath: mail + "/cur/1700000001.M1P1.host:2,FS")
        try fm.removeItem(atPath: mail + "/.Archive.2024/cur/1700000005.M5P1.host:2,DS")
        try writeFile(mail + "/new/1700000009.M9P1.host", sampleMessage(9, body: Array("Two.\n".utf8)))
        Self.pack([mail, "-o", scratch.file("day2.tar.xz"), "--base", scratch.file("day1.tar.xz")])
        try fm.moveItem(atPath: mail + "/cur/1700000004.M4P1.host:2,S", toPath: mail + "/.Archive.2024/cur/1700000004.M4P1.host:2,S")
        try writeFile(mail + "/.Archive.2024/cur/1700000010.M10P1.host:2,S", sampleMessage(9, body: Array("Two.\n".utf8)))
        Self.pack([mail, "-o", scratch.file("day3.tar.xz"), "--base", scratch.file("day2.tar.xz")])
        let now = try maildirSnapshot(mail)

        Self.pack(["--consolidate", scratch.file("day1.tar.xz"), scratch.file("day3.tar.xz"), scratch.file("day2.tar.xz"),
                   "-o", scratch.file("full.tar.xz"), "--verify"])
        let full = try Unpacked(scratch.file("full.tar.xz"))
        #expect(full.header.version == 2 && full.header.chain == nil && full.state.isEmpty)
        #expect(full.manifest.count == now.count)
        try unpackBundle(scratch.file("full.tar.xz"), to: scratch.file("Back"), format: .maildir)
        let back = try maildirSnapshot(scratch.file("Back"))
        #expect(back.keys.sorted() == now.keys.sorted())
        for (path, file) in now { #expect(back[path] == file, "\(path)") }
    }

    @Test func consolidatingWithoutAWholeChainWritesNothing() throws {
        let scratch = try ScratchDirectory()
        let mail = scratch.file("Mail")
        _ = try makeMaildirTree(at: mail, noiseMessageSize: 3000)
        Self.pack([mail, "-o", scratch.file("day1.tar.xz")])
        try writeFile(mail + "/new/1700000009.M9P1.host", sampleMessage(9, body: Array("Two.\n".utf8)))
        Self.pack([mail, "-o", scratch.file("day2.tar.xz"), "--base", scratch.file("day1.tar.xz")])
        try FileManager.default.removeItem(atPath: scratch.file("day1.tar.xz"))
        let result = Self.pack(["--consolidate", scratch.file("day2.tar.xz"), "-o", scratch.file("full.tar.xz")], expecting: 2)
        #expect(result.standardError.contains("day1.tar.xz"))
        #expect(!FileManager.default.fileExists(atPath: scratch.file("full.tar.xz")))
    }
}
