import Foundation
import Testing
@testable import MailKeepIO
@testable import MailKeepFormats
@testable import MailKeepArchive
@testable import MailKeepPipeline

/// Every kind of damage a bundle can suffer is found by `verifyBundle`, which names the
/// message hurt; readers never hand on a damaged message.
@Suite struct BundleDamage {
    /// A fresh xz bundle of the test tree, its tar stream and its manifest.
    struct Packed {
        let scratch: ScratchDirectory
        let bundle: String
        let tar: TarMembers
        let manifest: [ManifestEntry]

        init() throws {
            scratch = try ScratchDirectory()
            try makeMaildirTree(at: scratch.file("Mail"))
            bundle = scratch.file("mail.tar.xz")
            try packBundle([scratch.file("Mail")], to: bundle, options: BundleOptions(compression: .xz, blockSize: 64 << 10))
            tar = try TarMembers(try systemDecompress(bundle))
            let reader = try BundleReader(path: bundle, log: WarningLog())
            manifest = reader.order.compactMap { reader.entries[$0] }
        }

        func entry(subject: String) throws -> ManifestEntry {
            try #require(manifest.first { $0.subject == subject })
        }

        /// Writes `tar` recompressed cleanly with the system's xz; returns its path.
        func repacked(_ tar: [UInt8], as name: String) throws -> String {
            let path = scratch.file(name)
            try systemXZ(tar, to: path)
            return path
        }
    }

    func problems(_ report: VerifyReport, at path: String) -> [VerifyReport.Problem] {
        report.problems.filter { $0.path == path }
    }

    @Test func freshBundleIsClean() throws {
        let packed = try Packed()
        let report = try verifyBundle(packed.bundle, log: WarningLog())
        #expect(report.ok, "\(report.humanLines)")
        #expect(report.messagesChecked == packed.manifest.count)
        #expect(report.humanLines.last?.hasSuffix("8 messages checked, all good") == true)
    }

    /// A byte changed inside a message, in a tar that is then compressed properly: the xz
    /// and tar layers are sound, only the manifest can tell.
    @Test func flippedByteInAMessageIsNamed() throws {
        let packed = try Packed()
        let victim = try packed.entry(subject: "attachment")
        var tar = packed.tar.tar
        tar[Int(try #require(victim.offset)) + Int(victim.size) / 2] ^= 0x01
        let damaged = try packed.repacked(tar, as: "damaged.tar.xz")

        let report = try verifyBundle(damaged, log: WarningLog())
        #expect(!report.ok)
        let named = problems(report, at: victim.path)
        #expect(named.contains { $0.messageID == "m6@example.org" && $0.what.contains("SHA-256 differs from the manifest") })
        #expect(report.problems.allSatisfy { $0.path == victim.path }, "\(report.humanLines)")

        // Reading it as a source skips that one message and says which.
        let log = WarningLog()
        var handedOn: [String] = []
        try BundleReader(path: damaged, log: log).forEachMessage { meta, _ in handedOn.append(meta.source) }
        #expect(handedOn.count == packed.manifest.count - 1)
        #expect(!handedOn.contains { $0.hasSuffix(victim.path) })
        #expect(log.warnings.contains { $0.file.hasSuffix("[" + victim.path + "]") && $0.message.contains("<m6@example.org>") })
    }

    /// A changed hash in MANIFEST.jsonl: SHA256SUMS no longer matches the manifest file, and
    /// the message it describes no longer matches its line.
    @Test func flippedByteInTheManifestIsCaught() throws {
        let packed = try Packed()
        let member = try packed.tar.member("/MANIFEST.jsonl")
        let content = packed.tar.content(of: member)
        let key = Array("\"sha256\":\"".utf8)
        let at = try #require((0..<content.count).first { content[$0...].starts(with: key) }) + key.count + 5
        var tar = packed.tar.tar
        tar[member.contentOffset + at] ^= 0x01
        let first = packed.manifest[0]

        let report = try verifyBundle(try packed.repacked(tar, as: "damaged.tar.xz"), log: WarningLog())
        #expect(problems(report, at: "MANIFEST.jsonl").contains { $0.what.contains("SHA256SUMS") })
        #expect(problems(report, at: first.path).contains { $0.messageID == first.messageID && $0.what.contains("manifest") })
    }

    /// A line of the manifest that is no longer JSON: the line is reported, and its message is
    /// in the archive without a manifest entry.
    @Test func unreadableManifestLineIsCaught() throws {
        let packed = try Packed()
        let member = try packed.tar.member("/MANIFEST.jsonl")
        var tar = packed.tar.tar
        #expect(tar[member.contentOffset] == UInt8(ascii: "{"))
        tar[member.contentOffset] ^= 0x01

        let report = try verifyBundle(try packed.repacked(tar, as: "damaged.tar.xz"), log: WarningLog())
        #expect(problems(report, at: "MANIFEST.jsonl").contains { $0.what.contains("line 1 is not a valid entry") })
        #expect(problems(report, at: packed.manifest[0].path).contains { $0.what.contains("not in the manifest") })
    }

    /// A byte changed in the compressed stream is a reported problem, not a crash, for both
    /// codecs.
    @Test(arguments: [Compression.xz, .gzip])
    func flippedByteInTheCompressedStreamIsAProblem(_ compression: Compression) throws {
        let scratch = try ScratchDirectory()
        try makeMaildirTree(at: scratch.file("Mail"))
        let bundle = scratch.file(compression == .xz ? "mail.tar.xz" : "mail.tar.gz")
        try packBundle([scratch.file("Mail")], to: bundle, options: BundleOptions(compression: compression, blockSize: 64 << 10))
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: bundle)))
        bytes[bytes.count / 2] ^= 0x01
        try writeFile(bundle, bytes)

        let report = try verifyBundle(bundle, log: WarningLog())
        #expect(!report.ok)
        #expect(!problems(report, at: "(archive)").isEmpty, "\(report.humanLines)")
    }

    /// Damage in the first xz block costs only the messages in it: the reader goes on from the
    /// next block, and every message of the damaged block is named, none of the others.
    @Test func damageEarlyInAnXZBundleCostsOnlyItsBlock() throws {
        let packed = try Packed()
        let index = try XZBlockIndex(path: packed.bundle)
        let first = try #require(index.blocks.first)
        let lost = Set(packed.manifest.filter { ($0.offset ?? 0) < first.uncompressedOffset + first.uncompressedSize }.map(\.path))
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: packed.bundle)))
        bytes[Int(first.compressedOffset) + 64] ^= 0x01
        try writeFile(packed.bundle, bytes)

        let report = try verifyBundle(packed.bundle, log: WarningLog())
        #expect(!problems(report, at: "(archive)").isEmpty)
        #expect(problems(report, at: "MANIFEST.jsonl").isEmpty, "\(report.humanLines)")
        #expect(report.messagesChecked == packed.manifest.count)
        for entry in packed.manifest {
            let named = problems(report, at: entry.path).contains { $0.messageID == entry.messageID && $0.what.contains("lost in the damage") }
            #expect(named == lost.contains(entry.path), "\(entry.path)")
        }
        #expect(!lost.isEmpty && lost.count < packed.manifest.count)

        let log = WarningLog()
        var handedOn = Set<String>()
        try BundleReader(path: packed.bundle, log: log).forEachMessage { meta, _ in handedOn.insert(meta.source) }
        #expect(handedOn.count == packed.manifest.count - lost.count)
        for path in lost {
            #expect(log.warnings.contains { $0.file.hasSuffix("[" + path + "]") && $0.message.contains("lost in the damage") })
        }
    }

    /// Every xz block mailpack writes starts with a tar header (a message larger than a block
    /// aside), so a reader can pick up the tar walk at any intact block.
    @Test func everyBlockStartsWithATarHeader() throws {
        let scratch = try ScratchDirectory()
        for n in 0..<300 {
            let path = scratch.file("Mail/cur/17000\(n).M\(n)P1.host:2,S")
            try FileManager.default.createDirectory(atPath: scratch.file("Mail/cur"), withIntermediateDirectories: true)
            try writeFile(path, sampleMessage(n, body: Array(Data(noiseBytes(count: 700 + n * 13, seed: UInt64(n))).base64EncodedString().utf8)))
        }
        for dir in ["new", "tmp"] { try FileManager.default.createDirectory(atPath: scratch.file("Mail/" + dir), withIntermediateDirectories: true) }
        let bundle = scratch.file("mail.tar.xz")
        try packBundle([scratch.file("Mail")], to: bundle, options: BundleOptions(compression: .xz, blockSize: 64 << 10))
        let index = try XZBlockIndex(path: bundle)
        #expect(index.blocks.count > 5)
        for block in index.blocks {
            let sink = ByteArraySink()
            try index.read(offset: block.uncompressedOffset, length: min(512, block.uncompressedSize), into: sink)
            #expect(TarHeaderProbe.isHeader(sink.bytes, at: 0), "block at \(block.compressedOffset)")
        }
    }

    /// A volume missing from the middle of a set is named as missing; the messages outside it
    /// are read back from the volumes around it.
    @Test func missingMiddleVolumeIsNamedAndReadAround() throws {
        let scratch = try ScratchDirectory()
        try makeMaildirTree(at: scratch.file("Mail"), noiseMessageSize: 600_000)
        let bundle = scratch.file("mail.tar.xz")
        try packBundle([scratch.file("Mail")], to: bundle, options: BundleOptions(compression: .xz, volumeSize: 150_000, blockSize: 64 << 10))
        let third = VolumeSink.volumePath(bundle, 3)
        #expect(FileManager.default.fileExists(atPath: VolumeSink.volumePath(bundle, 5)))
        try FileManager.default.removeItem(atPath: third)

        let log = WarningLog()
        let reader = try BundleReader(path: VolumeSink.volumePath(bundle, 1), log: log)
        var handedOn = 0
        try reader.forEachMessage { _, _ in handedOn += 1 }
        #expect(log.warnings.contains { $0.file == third && $0.message.contains("missing volume") }, "\(log.warnings)")
        let lost = log.warnings.filter { $0.message.contains("lost in the damage") }
        #expect(handedOn > 0 && !lost.isEmpty && handedOn + lost.count == reader.order.count, "\(log.warnings)")

        let report = try verifyBundle(VolumeSink.volumePath(bundle, 1), log: WarningLog())
        #expect(report.problems.contains { $0.file == third })
        #expect(report.problems.filter { $0.what.contains("lost in the damage") }.count == lost.count)
    }

    /// An entry hidden after SHA256SUMS in a bundle whose manifest still starts an xz block:
    /// the manifest is then not taken from the index, so reading the bundle refuses the entry
    /// by name before any message is handed on.
    @Test func entryHiddenAfterTheManifestIsRefusedBeforeAnyMessage() throws {
        let packed = try Packed()
        let manifest = try packed.tar.member("/MANIFEST.jsonl")
        let fast = try BundleReader(unverifiedPath: packed.bundle, threads: 0, log: WarningLog()).manifestFromXZIndex()
        let whole = BundleManifest(packed.tar.content(of: manifest))
        #expect(!whole.entries.isEmpty)
        #expect(fast.map { $0.manifest.entries.map { [$0.path, $0.sha256] } } == whole.entries.map { [$0.path, $0.sha256] })

        // A copy of the first message's member turned into a symlink.
        let message = try #require(packed.tar.members.first { $0.path.contains("/cur/") })
        var hidden = Array(packed.tar.tar[message.range])
        let header = hidden.count - message.size - TarHeader.padding(after: Int64(message.size)) - TarHeader.blockSize
        hidden[header + 156] = UInt8(ascii: "2")
        for i in 148..<156 { hidden[header + i] = UInt8(ascii: " ") }
        let sum = hidden[header..<(header + TarHeader.blockSize)].reduce(0) { $0 + Int($1) }
        let digits = Array(String(sum, radix: 8).utf8)
        let field = [UInt8](repeating: UInt8(ascii: "0"), count: 6 - digits.count) + digits + [0, UInt8(ascii: " ")]
        hidden.replaceSubrange((header + 148)..<(header + 156), with: field)
        let withoutEnd = Array(packed.tar.tar[..<(packed.tar.members.last?.range.upperBound ?? 0)])
        let tar = withoutEnd + hidden + [UInt8](repeating: 0, count: 1024)
        let blocks = "\(manifest.range.lowerBound),\(tar.count - manifest.range.lowerBound)"
        let compressed = try runTool(["xz", "-c", "-T1", "--block-list=" + blocks], input: tar)
        try #require(compressed.status == 0)
        let damaged = packed.scratch.file("hidden.tar.xz")
        try writeFile(damaged, compressed.output)

        #expect(try BundleReader(unverifiedPath: damaged, threads: 0, log: WarningLog()).manifestFromXZIndex() == nil)
        #expect {
            try BundleReader(path: damaged, log: WarningLog())
        } throws: { error in
            guard case let MailKeepError.unsafeEntry(path, _, reason) = error else { return false }
            return path.contains(message.path) && reason.contains("symbolic link")
        }
    }

    /// Cut at 50%: the stream ends early, and with it the manifest.
    @Test(arguments: [Compression.xz, .gzip, .none])
    func truncatedBundleIsCaught(_ compression: Compression) throws {
        let scratch = try ScratchDirectory()
        try makeMaildirTree(at: scratch.file("Mail"))
        let bundle = scratch.file("mail.tar" + (compression == .xz ? ".xz" : compression == .gzip ? ".gz" : ""))
        try packBundle([scratch.file("Mail")], to: bundle, options: BundleOptions(compression: compression, blockSize: 64 << 10))
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: bundle)))
        try writeFile(bundle, Array(bytes.prefix(bytes.count / 2)))

        let report = try verifyBundle(bundle, log: WarningLog())
        #expect(!problems(report, at: "(archive)").isEmpty, "\(report.humanLines)")
        #expect(problems(report, at: "MANIFEST.jsonl").contains { $0.what.contains("missing") })
        guard compression == .xz else {
            #expect(throws: MailKeepError.self) { try BundleReader(path: bundle, log: WarningLog()) }
            return
        }
        // xz: the messages in whole blocks are checked by the blocks' checks and given back,
        // and the lost manifest is reported.
        let log = WarningLog()
        let reader = try BundleReader(path: bundle, log: log)
        #expect(reader.manifestLost)
        var handedOn = 0
        try reader.forEachMessage { _, _ in handedOn += 1 }
        #expect(handedOn > 0 && handedOn < 8)
        #expect(log.warnings.contains { $0.file.hasSuffix("[MANIFEST.jsonl]") && $0.message.contains("lost in the damage") })
    }

    /// A tar cut exactly at a member boundary, closed with end blocks and compressed properly,
    /// is a valid tar (GNU tar lists it without complaint), but not a whole bundle.
    @Test func bundleCutAtAMemberBoundaryIsCaught() throws {
        let packed = try Packed()
        let members = packed.tar.members
        let cut = try #require(members.firstIndex { $0.path.hasSuffix("1700000006.M6P1.host:2,S") })
        let damaged = try packed.repacked(packed.tar.rebuilt(Array(0..<cut)), as: "cut.tar.xz")
        #expect(try runTool(["tar", "-tJf", damaged]).status == 0)

        let report = try verifyBundle(damaged, log: WarningLog())
        #expect(!report.ok)
        #expect(problems(report, at: "MANIFEST.jsonl").contains { $0.what.contains("missing") })
        #expect(throws: MailKeepError.self) { try BundleReader(path: damaged, log: WarningLog()) }
    }

    /// A message member taken out of an otherwise whole bundle: the manifest names it.
    @Test func missingMessageIsNamedFromTheManifest() throws {
        let packed = try Packed()
        let victim = try packed.entry(subject: "binary")
        let members = packed.tar.members
        let gone = try #require(members.firstIndex { $0.path.hasSuffix("/" + victim.path) })
        let damaged = try packed.repacked(packed.tar.rebuilt(members.indices.filter { $0 != gone }), as: "gap.tar.xz")

        let report = try verifyBundle(damaged, log: WarningLog())
        #expect(problems(report, at: victim.path).contains { $0.messageID == "m4@example.org" && $0.what.contains("not in the archive") })
        #expect(report.problems.allSatisfy { $0.path == victim.path }, "\(report.humanLines)")
    }

    @Test func missingManifestIsCaught() throws {
        let packed = try Packed()
        let members = packed.tar.members
        let manifest = try #require(members.firstIndex { $0.path.hasSuffix("/MANIFEST.jsonl") })
        let damaged = try packed.repacked(packed.tar.rebuilt(members.indices.filter { $0 != manifest }), as: "nomanifest.tar.xz")

        let report = try verifyBundle(damaged, log: WarningLog())
        #expect(problems(report, at: "MANIFEST.jsonl").contains { $0.what.contains("missing") })
        #expect(throws: MailKeepError.self) { try BundleReader(path: damaged, log: WarningLog()) }
    }

    /// The same message twice in the tar: never "last one wins" silently.
    @Test func duplicatedTarEntryIsCaught() throws {
        let packed = try Packed()
        let victim = try packed.entry(subject: "message 2")
        let members = packed.tar.members
        let twice = try #require(members.firstIndex { $0.path.hasSuffix("/" + victim.path) })
        let order = members.indices.flatMap { $0 == twice ? [$0, $0] : [$0] }
        let damaged = try packed.repacked(packed.tar.rebuilt(order), as: "twice.tar.xz")

        let report = try verifyBundle(damaged, log: WarningLog())
        #expect(problems(report, at: victim.path).contains { $0.what.contains("appears twice") }, "\(report.humanLines)")
    }

    /// The same path on two manifest lines (a manifest rewritten with a new member size).
    @Test func duplicatedManifestLineIsCaught() throws {
        let packed = try Packed()
        let manifestMember = try packed.tar.member("/MANIFEST.jsonl")
        let lines = packed.tar.content(of: manifestMember).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true)
        let doubled = (lines + [lines[2]]).flatMap { Array($0) + [UInt8(ascii: "\n")] }
        let damaged = try packed.repacked(try retarred(packed.tar.tar, replacing: "/MANIFEST.jsonl", with: doubled), as: "doubled.tar.xz")
        let third = packed.manifest[2]

        let report = try verifyBundle(damaged, log: WarningLog())
        #expect(problems(report, at: third.path).contains { $0.messageID == third.messageID && $0.what.contains("listed twice in MANIFEST.jsonl") })
        let log = WarningLog()
        _ = try BundleReader(path: damaged, log: log)
        #expect(log.warnings.contains { $0.message.contains("\(third.path) is listed twice") })
    }
}
