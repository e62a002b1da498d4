import Foundation
import Testing
@testable import MailKeepIO
@testable import MailKeepFormats
@testable import MailKeepArchive
@testable import MailKeepPipeline

@Suite struct MaildirNaming {
    @Test func parsesInfoWithAnySeparator() {
        #expect(MaildirName.parse("123.M1P2.host:2,SR") == MaildirName(unique: "123.M1P2.host", flags: "RS", hasInfo: true))
        #expect(MaildirName.parse("x,S=12,W=13;2,RDF,").flags == "DFR")
        #expect(MaildirName.parse("mindcrime!2,PS").unique == "mindcrime")
        #expect(MaildirName.parse("plain").hasInfo == false)
        #expect(MaildirName.parse("hottie,2,S", extraSeparator: ",").flags == "S")
    }

    @Test func modifiedUTF7() {
        #expect(ModifiedUTF7.encode("Entwürfe") == "Entw&APw-rfe")
        #expect(ModifiedUTF7.decode("Entw&APw-rfe") == "Entwürfe")
        #expect(ModifiedUTF7.encode("R&D") == "R&-D")
        #expect(ModifiedUTF7.decode("R&-D") == "R&D")
        #expect(ModifiedUTF7.decode(ModifiedUTF7.encode("日本語 🚀")) == "日本語 🚀")
        #expect(ModifiedUTF7.decode("R&D") == nil)
    }

    @Test func folderNamesAreSanitised() {
        let plus = FolderNaming()
        #expect(plus.relativeDirectory(["Archive", "2024"]) == ".Archive.2024")
        #expect(plus.relativeDirectory(["v1.2"]) == ".v1&AC4-2")
        #expect(plus.relativeDirectory([".."]) == "._&AC4-&AC4-")
        #expect(plus.component("a/b") == "a_b")
        #expect(FolderNaming.decodedName("v1&AC4-2") == "v1.2")
        let nested = FolderNaming(layout: .nested, utf8Names: true, infoSeparator: "!")
        #expect(nested.relativeDirectory(["..", "x:y", "cur"]) == "_/x_y/_cur")
    }
}

@Suite struct MaildirRoundTrip {
    func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "mailkeep-test-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func writesPrivateFilesAndConvergesOnRerun() throws {
        let root = try temporaryDirectory() + "/Mail"
        let messages: [(MessageMetadata, String)] = [
            (MessageMetadata(folder: [], flags: "", isNew: true, received: 1_700_000_000), "Subject: new\n\nx\n"),
            (MessageMetadata(folder: ["Archive", "2024"], flags: "FS", received: 1_700_000_100), "Subject: old\n\ny\n"),
            (MessageMetadata(folder: ["Entwürfe"], flags: "D", received: 1_700_000_200, uniqueName: "1700000200.M1P1.host"), "Subject: d\n\nz\n"),
        ]
        for run in 0..<2 {
            let writer = try MaildirWriter(root: root, log: WarningLog())
            for (meta, text) in messages {
                var t = text
                try t.withUTF8 { try writer.write(meta, content: UnsafeRawBufferPointer($0)) }
            }
            try writer.finish()
            #expect(writer.counts.written == (run == 0 ? 3 : 0))
            #expect(writer.counts.alreadyPresent == (run == 0 ? 0 : 3))
        }
        let fm = FileManager.default
        #expect(try fm.contentsOfDirectory(atPath: root + "/new").count == 1)
        let archived = try fm.contentsOfDirectory(atPath: root + "/.Archive.2024/cur")
        #expect(archived.count == 1 && archived[0].hasSuffix(":2,FS"))
        #expect(try fm.contentsOfDirectory(atPath: root + "/.Entw&APw-rfe/cur") == ["1700000200.M1P1.host:2,D"])
        let attributes = try fm.attributesOfItem(atPath: root + "/.Archive.2024/cur/" + archived[0])
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect((attributes[.modificationDate] as? Date)?.timeIntervalSince1970 == 1_700_000_100)
        #expect((try fm.attributesOfItem(atPath: root + "/.Archive.2024")[.posixPermissions] as? Int) == 0o700)

        // Read back: same folders, flags, times and bytes.
        let log = WarningLog()
        var back: [String: (MessageMetadata, String)] = [:]
        try MailTreeReader(MailTree(root: root, log: log), log: log).forEachMessage { meta, content in
            back[meta.folderPath] = (meta, String(decoding: content, as: UTF8.self))
        }
        #expect(back.count == 3)
        #expect(back["Archive/2024"]?.0.flags == "FS")
        #expect(back["Archive/2024"]?.1 == "Subject: old\n\ny\n")
        #expect(back[""]?.0.isNew == true)
        #expect(back["Entwürfe"]?.0.received == 1_700_000_200)
    }

    @Test func differentBytesUnderAnExistingNameAreKeptBoth() throws {
        let root = try temporaryDirectory()
        let meta = MessageMetadata(flags: "S", received: 1, uniqueName: "same")
        let writer = try MaildirWriter(root: root, log: WarningLog())
        for text in ["Subject: a\n\n1\n", "Subject: b\n\n2\n"] {
            var t = text
            try t.withUTF8 { try writer.write(meta, content: UnsafeRawBufferPointer($0)) }
        }
        try writer.finish()
        #expect(writer.counts.written == 1)
        #expect(writer.counts.renamed == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/cur").sorted() == ["same:2,S", "same~1:2,S"])
    }

    /// An mbox whose From_ lines carry no usable date (GYB's `From ID@host`, an invalid date)
    /// gets the same names on every run: converted twice into one Maildir, it is not doubled.
    @Test func undatedMboxConvertedTwiceIsNotDoubled() throws {
        let root = try temporaryDirectory() + "/Mail"
        let mbox = FixtureTests.fixtures + "/mbox/undated.mbox"
        var names: [[String]] = []
        for run in 0..<2 {
            let log = WarningLog()
            let summary = try convert(SourceList([mbox], log: log), to: root, options: ConvertOptions(format: .maildir), log: log)
            #expect(summary.messages == 3)
            #expect(summary.counts.alreadyPresent == (run == 0 ? 0 : 3))
            let fm = FileManager.default
            names.append(try (fm.contentsOfDirectory(atPath: root + "/cur") + fm.contentsOfDirectory(atPath: root + "/new")).sorted())
            // The second run starts in a later second than the first ended, so a name taken
            // from the clock would differ.
            let ended = time(nil)
            while time(nil) == ended { usleep(10_000) }
        }
        #expect(names[0].count == 3)
        #expect(names[1] == names[0])
        // The time a name starts with: the Date header's where there is one, else 0.
        #expect(names[0].map { String($0.prefix { $0 != "." }) }.sorted() == ["0", "1704103200", "1704184200"])
    }
}
