import Foundation
import Testing
@testable import MailKeepIO
@testable import MailKeepFormats
@testable import MailKeepArchive
@testable import MailKeepPipeline

@Suite struct BundleRoundTrip {
    /// Maildir -> bundle -> Maildir gives back the same files: names (so folders and flags),
    /// bytes and mtimes, whatever the compression. Small xz blocks make the messages straddle
    /// block boundaries.
    @Test(arguments: [Compression.xz, .gzip, .none])
    func maildirTreeComesBackIdentical(_ compression: Compression) throws {
        let scratch = try ScratchDirectory()
        let original = try makeMaildirTree(at: scratch.file("Mail"))
        #expect(original.count == 8)
        let bundle = scratch.file("mail.tar" + [Compression.xz: ".xz", .gzip: ".gz", .none: ""][compression, default: ""])
        let packLog = try packBundle([scratch.file("Mail")], to: bundle,
                                     options: BundleOptions(compression: compression, blockSize: 64 << 10))
        #expect(packLog.problemCount == 0)

        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: bundle)))
        let magic: [UInt8] = [Compression.xz: [0xFD, 0x37, 0x7A], .gzip: [0x1F, 0x8B]][compression, default: []]
        #expect(bytes.starts(with: magic))

        let unpackLog = try unpackBundle(bundle, to: scratch.file("Back"), format: .maildir)
        #expect(unpackLog.problemCount == 0)
        let back = try maildirSnapshot(scratch.file("Back"))
        #expect(back.keys.sorted() == original.keys.sorted())
        for (path, file) in original {
            #expect(back[path] == file, "\(path)")
        }

        let report = try verifyBundle(bundle, log: WarningLog())
        #expect(report.ok, "\(report.humanLines)")
        #expect(report.messagesChecked == 8)
    }

    /// The bundle's own Maildir is what the format says: nested UTF-8 folders, flags in the
    /// names, one manifest line per message with its offset pointing at its bytes.
    @Test func layoutAndManifestFollowTheFormat() throws {
        let scratch = try ScratchDirectory()
        let original = try makeMaildirTree(at: scratch.file("Mail"))
        let bundle = scratch.file("mail-2026-11-29.tar")
        try packBundle([scratch.file("Mail")], to: bundle, options: BundleOptions(compression: .none))
        let tar = try TarMembers(try [UInt8](Data(contentsOf: URL(fileURLWithPath: bundle))))
        #expect(tar.members.first?.path == "mail-2026-11-29")
        #expect(tar.members.last?.path == "mail-2026-11-29/SHA256SUMS")
        let files = tar.members.filter { $0.path.contains("/mail/") && ($0.path.contains("/cur/") || $0.path.contains("/new/")) }
        #expect(Set(files.map(\.path)) == [
            "mail-2026-11-29/mail/cur/1700000001.M1P1.host:2,S",
            "mail-2026-11-29/mail/cur/1700000002.M2P1.host:2,FRS",
            "mail-2026-11-29/mail/new/1700000003.M3P1.host",
            "mail-2026-11-29/mail/cur/1700000004.M4P1.host:2,S",
            "mail-2026-11-29/mail/Archive/2024/cur/1700000005.M5P1.host:2,DS",
            "mail-2026-11-29/mail/Archive/2024/cur/1700000006.M6P1.host:2,S",
            "mail-2026-11-29/mail/Archive/2024/new/1700000007.M7P1.host",
            "mail-2026-11-29/mail/Entwürfe/cur/1700000008.M8P1.host:2,D",
        ])

        let reader = try BundleReader(path: bundle, log: WarningLog())
        #expect(reader.order.count == 8)
        for path in reader.order {
            let entry = try #require(reader.entries[path])
            let offset = Int(try #require(entry.offset))
            let stored = Array(tar.tar[offset..<(offset + Int(entry.size))])
            #expect(stored.withUnsafeBytes { ContentHasher.sha256Hex(of: $0) } == entry.sha256)
            let member = try tar.member("/" + path)
            #expect(member.contentOffset == offset)
        }
        let draft = try #require(reader.entries["mail/Entwürfe/cur/1700000008.M8P1.host:2,D"])
        #expect(draft.folder == "Entwürfe" && draft.flags == "D" && draft.messageID == "m8@example.org")
        let eighthFileTime: Int64 = 1_700_000_000 + 7 * 3600
        #expect(draft.received == eighthFileTime)
        let unread = try #require(reader.entries["mail/new/1700000003.M3P1.host"])
        #expect(unread.isNew && unread.subject == "message 3")
        #expect(original.count == reader.entries.count)
    }

    /// A bundle packed with another info separator records it in its header, and every reader
    /// splits the bundle's file names there: a restore gives back the original names, with the
    /// flags once, through the manifest and through the stream alike.
    @Test(arguments: ["!", "#", ","] as [Character])
    func infoSeparatorIsReadBack(_ separator: Character) throws {
        let scratch = try ScratchDirectory()
        let original = try makeMaildirTree(at: scratch.file("Mail"))
        let bundle = scratch.file("fat.tar.xz")
        try packBundle([scratch.file("Mail")], to: bundle, options: BundleOptions(compression: .xz, infoSeparator: separator))
        let reader = try BundleReader(path: bundle, log: WarningLog())
        #expect(reader.infoSeparator == separator)
        #expect(reader.entries["mail/cur/1700000002.M2P1.host\(separator)2,FRS"]?.flags == "FRS")

        let log = WarningLog()
        let restore = RestorePlan(selection: Selection(), intoFolder: nil, options: ConvertOptions(format: .maildir))
        let summary = try restore.restore(SourceList([bundle], log: log), into: scratch.file("Back"), log: log, progress: nil)
        #expect(summary.restored == original.count && log.problemCount == 0)
        #expect(try maildirSnapshot(scratch.file("Back")) == original)

        // A small selection goes through the manifest and the xz index instead of the stream.
        var flagged = Selection()
        flagged.withFlags = ["F"]
        let few = RestorePlan(selection: flagged, intoFolder: nil, options: ConvertOptions(format: .maildir))
        _ = try few.restore(SourceList([bundle], log: log), into: scratch.file("Flagged"), log: log, progress: nil)
        #expect(try maildirSnapshot(scratch.file("Flagged")).keys.sorted() == ["cur/1700000002.M2P1.host:2,FRS"])
    }

    /// An mboxrd file with Status/X-Status headers in the middle of the header block, quoted
    /// `>From ` body lines and a From_ line with text after the date comes back byte for byte.
    @Test func mboxComesBackByteIdentical() throws {
        let scratch = try ScratchDirectory()
        let mbox = """
            From alice@example.org Mon Jan  1 10:00:00 2024
            From: Alice <alice@example.org>
            Status: RO
            X-Status: AF
            Subject: first
            Message-ID: <first@example.org>
            Date: Mon, 1 Jan 2024 10:00:00 +0000

            Body line.
            >From the quoted line
            >>From a doubly quoted line

            From bob@example.org Tue Feb 13 11:00:00 2024 remote from gateway
            From: Bob <bob@example.org>
            Subject: second
            Status: O
            Message-ID: <second@example.org>

            Unread, no Date header.

            From carol@example.org Wed Mar  6 12:30:00 2024
            From: Carol <carol@example.org>
            Subject: third, never seen
            Message-ID: <third@example.org>

            Last one.


            """
        let source = scratch.file("Archive.mbox")
        try writeFile(source, Array(mbox.utf8))
        let bundle = scratch.file("archive.tar.xz")
        let packLog = try packBundle([source], to: bundle, options: BundleOptions(compression: .xz))
        #expect(packLog.problemCount == 0, "\(packLog.warnings)")

        let reader = try BundleReader(path: bundle, log: WarningLog())
        let entries = reader.order.compactMap { reader.entries[$0] }
        #expect(entries.map(\.mboxIndex) == [0, 1, 2])
        #expect(entries.map(\.folder) == ["Archive", "Archive", "Archive"])
        #expect(entries[1].fromLine == Array("From bob@example.org Tue Feb 13 11:00:00 2024 remote from gateway".utf8))
        #expect(entries[0].mboxHeaders == Array("Status: RO\nX-Status: AF\n".utf8))
        #expect(entries[0].flags == "FRS")

        try unpackBundle(bundle, to: scratch.file("back.mbox"), format: .mbox)
        let back = try [UInt8](Data(contentsOf: URL(fileURLWithPath: scratch.file("back.mbox"))))
        #expect(String(decoding: back, as: UTF8.self) == mbox)
        #expect(try verifyBundle(bundle, log: WarningLog()).ok)
    }

    /// A bundle cut into 1 MiB volumes reads back from its first volume, and the volumes
    /// concatenated are one xz stream.
    @Test func volumesReadBackFromTheFirst() throws {
        let scratch = try ScratchDirectory()
        let mail = scratch.file("Mail")
        for sub in ["cur", "new", "tmp"] {
            try FileManager.default.createDirectory(atPath: "\(mail)/\(sub)", withIntermediateDirectories: true)
        }
        // 5 MB of noise, which xz cannot shrink.
        for n in 0..<20 {
            try writeFile("\(mail)/cur/17000000\(n).M\(n)P1.host:2,S", sampleMessage(n, body: noiseBytes(count: 256 << 10, seed: UInt64(n + 100))))
        }
        let original = try maildirSnapshot(mail)
        let bundle = scratch.file("mail.tar.xz")
        try packBundle([mail], to: bundle, options: BundleOptions(compression: .xz, level: 0, volumeSize: 1 << 20))

        let fm = FileManager.default
        #expect(!fm.fileExists(atPath: bundle))
        let volumes = try fm.contentsOfDirectory(atPath: scratch.path).filter { $0.hasPrefix("mail.tar.xz.") }.sorted()
        #expect(volumes.count >= 5)
        #expect(volumes == (1...volumes.count).map { String(format: "mail.tar.xz.%03d", $0) })
        var joined: [UInt8] = []
        for (index, name) in volumes.enumerated() {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: scratch.file(name))))
            if index < volumes.count - 1 { #expect(bytes.count == 1 << 20, "\(name)") } else { #expect(bytes.count <= 1 << 20) }
            joined += bytes
        }
        #expect(try runTool(["xz", "-t"], input: joined).status == 0)

        let first = scratch.file("mail.tar.xz.001")
        let report = try verifyBundle(first, log: WarningLog())
        #expect(report.ok, "\(report.humanLines)")
        #expect(report.messagesChecked == 20)
        try unpackBundle(first, to: scratch.file("Back"), format: .maildir)
        #expect(try maildirSnapshot(scratch.file("Back")) == original)
    }
}
