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
        #expect(plus.relativeDirectory(["v1.2"]) == ".v1\\2e2")
        #expect(plus.relativeDirectory([".."]) == ".\\2e\\2e")
        #expect(plus.component("a/b") == "a\\2fb")
        #expect(FolderNaming.decodedName("v1\\2e2") == "v1.2")
        // Trees written before the listescape form still read back.
        #expect(FolderNaming.decodedName("v1&AC4-2") == "v1.2")
        let nested = FolderNaming(layout: .nested, utf8Names: true, infoSeparator: "!")
        let parts = nested.relativeDirectory(["..", "x:y", "cur"]).split(separator: "/")
        #expect(parts.count == 3 && parts[0].hasPrefix("_~") && parts[1].hasPrefix("x_y~") && parts[2].hasPrefix("cur~"), "\(parts)")
    }

    /// Names that differ only in what a target rejects never share an entry; a name is
    /// changed only where the target needs it, and each changed one is recorded.
    @Test func foldersNeverMerge() {
        let names = ["a:b", "a?b", "a_b", "a*b", "a<b", "a\"b", "a|b", "a>b"]
        for naming in [FolderNaming(), FolderNaming(infoSeparator: "!"), FolderNaming(layout: .nested, utf8Names: true),
                       FolderNaming(layout: .nested, utf8Names: true, infoSeparator: "!")] {
            let placed = names.map { naming.placement([$0]) }
            #expect(Set(placed.map(\.relative)).count == names.count, "\(naming)")
            for (name, p) in zip(names, placed) where !p.recorded.isEmpty {
                #expect(naming.fatSafe, "\(name) changed for a target that takes it")
                #expect(!p.relative.contains(":") && !p.relative.contains("?"))
            }
        }
        // Only `*` was FAT-safe before: `:` and `?` became `_` even where the target takes them.
        #expect(FolderNaming(layout: .nested, utf8Names: true).relativeDirectory(["a:b"]) == "a:b")
        #expect(FolderNaming(layout: .nested, utf8Names: true).relativeDirectory(["a_b"]) == "a_b")
    }

    @Test func longNamesFitAndStayApart() {
        let long = String(repeating: "é", count: 120)
        for naming in [FolderNaming(), FolderNaming(layout: .nested)] {
            let a = naming.placement([long]), b = naming.placement([long + "x"])
            #expect(a.relative.utf8.count <= FolderNaming.longestEntry && b.relative.utf8.count <= FolderNaming.longestEntry)
            #expect(a.relative != b.relative)
            #expect(a.recorded.count == 1)
        }
        let deep = FolderNaming().placement(Array(repeating: "folder-name", count: 30))
        #expect(deep.relative.utf8.count <= FolderNaming.longestEntry && deep.recorded.first?.folder.count == 30)
    }

    /// Written, then read back as the original names: Maildir (both layouts) and mbox trees.
    @Test func changedNamesReadBack() throws {
        let names = ["a:b", "a?b", "a_b", "cur", String(repeating: "ü", count: 150), "INBOX", "x.mbox", "y.sbd"]
        let written = Set(names.map { [$0] } + [["a:b", "sub?"]])
        // A top-level `INBOX` is the root folder.
        let expected = Set(written.map { $0 == ["INBOX"] ? [] : $0 })
        let base = NSTemporaryDirectory() + "mailkeep-names-\(UUID().uuidString)"
        for (i, layout) in [MaildirLayout.maildirPlusPlus, .nested, nil].enumerated() {
            let root = base + "/\(i)"
            let log = WarningLog()
            let sink: MessageSink = try layout.map {
                try MaildirWriter(root: root, options: .init(naming: FolderNaming(layout: $0, infoSeparator: "!")), log: log)
            } ?? MboxTreeSink(root: root, variant: .mboxrd, log: log)
            for (n, folder) in written.sorted(by: { $0.joined(separator: "/") < $1.joined(separator: "/") }).enumerated() {
                var text = "Subject: \(n)\n\nbody\n"
                _ = try text.withUTF8 { try sink.write(MessageMetadata(folder: folder, received: Int64(n + 1)), content: UnsafeRawBufferPointer($0)) }
            }
            try sink.finish()
            var read = Set<[String]>()
            try MailTreeReader(try MailTree(root: root, log: log), extraSeparator: "!", log: log).forEachMessage { meta, _ in
                read.insert(meta.folder)
            }
            #expect(read == expected, "layout \(String(describing: layout))")
        }
    }
}

extension MaildirNaming {
    /// FAT and exFAT take names that differ only in case for one: written for such a disk,
    /// `Work` and `work` get entries apart in case in both layouts, read back under their own
    /// names, and a rerun finds every message where the first run put it.
    @Test func namesApartOnlyInCaseStayApartForFAT() throws {
        let base = NSTemporaryDirectory() + "mailkeep-case-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: base) }
        let written: [[String]] = [["Work"], ["work"], ["Work", "Sub"], ["work", "sub"], ["a_b"], ["A_B"]]
        for layout in [MaildirLayout.maildirPlusPlus, .nested] {
            let root = base + "/\(layout.rawValue)"
            for run in 0..<2 {
                let log = WarningLog()
                let writer = try MaildirWriter(root: root, options: .init(naming: FolderNaming(layout: layout, infoSeparator: "!")), log: log)
                for (n, folder) in written.enumerated() {
                    var text = "Subject: \(n)\n\nbody\n"
                    _ = try text.withUTF8 { try writer.write(MessageMetadata(folder: folder, received: Int64(n + 1)), content: UnsafeRawBufferPointer($0)) }
                }
                try writer.finish()
                #expect(writer.counts.alreadyPresent == (run == 0 ? 0 : written.count), "\(layout) run \(run)")
                var read: [[String]: Int] = [:]
                try MailTreeReader(try MailTree(root: root, log: log), extraSeparator: "!", log: log).forEachMessage { meta, _ in
                    read[meta.folder, default: 0] += 1
                }
                #expect(read == Dictionary(uniqueKeysWithValues: written.map { ($0, 1) }), "\(layout) run \(run)")
            }
            var paths = Set<String>()
            let walker = FileManager.default.enumerator(atPath: root)
            while let path = walker?.nextObject() as? String {
                guard path.hasSuffix("/cur") || path == "cur" else { continue }
                #expect(paths.insert(path.lowercased()).inserted, "\(layout): \(path) shares a FAT directory")
            }
            #expect(paths.count == written.count + 1, "\(layout): \(paths.sorted())")
        }
    }
}

@Suite struct RestoreDuplicates {
    /// Dedupe skips what the target had before the run, not a message the source holds twice.
    @Test func aMessageTwiceInTheSourceIsRestoredTwice() throws {
        var census = ContentCensus()
        census.add("h")
        let first = census.take("h"), second = census.take("h")
        #expect(first && !second)
        let root = NSTemporaryDirectory() + "mailkeep-twins-\(UUID().uuidString)"
        for run in 0..<2 {
            let writer = try MaildirWriter(root: root, options: .init(skipExistingContent: true), log: WarningLog())
            for offset in [0, 100] as [Int64] {
                var text = "Subject: twin\n\nsame\n"
                _ = try text.withUTF8 {
                    try writer.write(MessageMetadata(received: 5, sourceOffset: offset), content: UnsafeRawBufferPointer($0))
                }
            }
            try writer.finish()
            #expect(writer.counts.stored == (run == 0 ? 2 : 0))
            #expect(writer.counts.alreadyPresent == (run == 0 ? 0 : 2))
        }
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

    /// A client renames messages while the tree is read (Dovecot moving new/ to cur/, mutt
    /// setting a flag): each is read once, under its new name, with its new flags; none is lost.
    @Test func messagesRenamedWhileReadAreReadUnderTheirNewNames() throws {
        let scratch = try ScratchDirectory()
        let root = scratch.file("M")
        for sub in ["cur", "new", "tmp"] { try FileManager.default.createDirectory(atPath: root + "/" + sub, withIntermediateDirectories: true) }
        let names = ["cur/1700000001.M1P1.host:2,S", "cur/1700000002.M2P1.host:2,S", "new/1700000003.M3P1.host", "new/1700000004.M4P1.host"]
        for (n, name) in names.enumerated() { try writeFile(root + "/" + name, Array("Subject: \(n)\n\nbody \(n)\n".utf8)) }
        let log = WarningLog()
        var seen: [String: (flags: String, isNew: Bool, body: String)] = [:]
        try MailTreeReader(try MailTree(root: root, log: log), log: log).forEachMessage { meta, content in
            if meta.uniqueName == "1700000001.M1P1.host" {
                // While the first is handed on: a flag change on the second, and the fourth
                // moved from new/ to cur/ as it is opened.
                rename(root + "/cur/1700000002.M2P1.host:2,S", root + "/cur/1700000002.M2P1.host:2,FS")
                rename(root + "/new/1700000004.M4P1.host", root + "/cur/1700000004.M4P1.host:2,")
            }
            #expect(seen[meta.uniqueName ?? ""] == nil, "read twice: \(meta.uniqueName ?? "")")
            seen[meta.uniqueName ?? ""] = (meta.flags, meta.isNew, String(decoding: content, as: UTF8.self))
        }
        #expect(seen.count == 4)
        #expect(seen["1700000002.M2P1.host"]?.flags == "FS")
        #expect(seen["1700000004.M4P1.host"]?.isNew == false)
        #expect(seen["1700000004.M4P1.host"]?.body == "Subject: 3\n\nbody 3\n")
        #expect(log.problemCount == 0, "\(log.warnings)")
    }
}

@Suite struct MboxShapeChecks {
    @Test func recordedFromLineMustBeOne() {
        #expect(MboxOrderRecord.isFromLine(Array("From a@b Mon Jan  1 00:00:00 2024".utf8)))
        #expect(!MboxOrderRecord.isFromLine(Array("Subject: injected\r".utf8)))
        #expect(!MboxOrderRecord.isFromLine(Array("From a@b\rSubject: x".utf8)))
        #expect(!MboxOrderRecord.isFromLine([]))
    }

    @Test func headerFirstWithFromLinesIsAnMbox() {
        let mbox = Array("Subject: zero\n\nbody0\n\nFrom a@b Mon Jan  1 00:00:00 2024\nSubject: one\n\nx\n".utf8)
        let eml = Array("Subject: alone\n\nFrom here on, a body.\n\n>From a@b Mon Jan  1 00:00:00 2024\n".utf8)
        #expect(mbox.withUnsafeBytes { MessageFileKind.classify($0) } == .mbox)
        #expect(eml.withUnsafeBytes { MessageFileKind.classify($0) } == .message)
    }
}

/// Restoring as root into a Maildir a server serves as another user (uid 65534 here).
@Suite(.enabled(if: geteuid() == 0, "changing owners needs root"))
struct MaildirIntoServedTree {
    let owner = FileOwner(uid: 65534, gid: 65534)

    /// A Dovecot user's Maildir: its own files, and one message already there (seen).
    func servedTree() throws -> (root: String, serverFiles: [String: Data]) {
        let root = NSTemporaryDirectory() + "mailkeep-served-\(UUID().uuidString)/Maildir"
        let files: [String: Data] = [
            "dovecot-uidlist": Data("3 V1700000000 N2 G0123\n1 :1.M1P1.host,S=17:2,S\n".utf8),
            "dovecot.index": Data([0x07, 0x02, 0x00, 0x01, 0xFF]),
            "dovecot.index.log": Data([0x01, 0x02, 0x28, 0x00]),
            "dovecot-keywords": Data("0 $Forwarded\n1 Wichtig\n".utf8),
            "cur/1.M1P1.host,S=17:2,S": Data("Subject: a\n\nkept\n".utf8),
        ]
        for dir in ["", "cur", "new", "tmp"] {
            try FileManager.default.createDirectory(atPath: root + "/" + dir, withIntermediateDirectories: true)
            #expect(chown(root + "/" + dir, owner.uid, owner.gid) == 0 && chmod(root + "/" + dir, 0o700) == 0)
        }
        for (name, bytes) in files {
            try bytes.write(to: URL(fileURLWithPath: root + "/" + name))
            #expect(chown(root + "/" + name, owner.uid, owner.gid) == 0 && chmod(root + "/" + name, 0o600) == 0)
        }
        return (root, files)
    }

    @Test func whatIsAddedBelongsToTheTreesOwnerAndTheServersFilesStay() throws {
        let (root, serverFiles) = try servedTree()
        let before = try serverFiles.keys.map { ($0, try FileSystem.modificationTimeAndSize(root + "/" + $0).mtime) }
        #expect(FileOwner.inheriting(root) == owner)
        let writer = try MaildirWriter(root: root, options: .init(skipExistingContent: true), log: WarningLog())
        let messages: [(MessageMetadata, String)] = [
            // Present already, under another name and with other flags: not written again.
            (MessageMetadata(flags: "FS", received: 1_700_000_000), "Subject: a\n\nkept\n"),
            (MessageMetadata(flags: "S", received: 1_700_000_100), "Subject: b\n\nback\n"),
            (MessageMetadata(folder: ["Archive", "2024"], received: 1_700_000_200,
                             fromLine: Array("From a@example.org Tue Nov 14 22:16:40 2023".utf8)), "Subject: c\n\nmbox\n"),
            (MessageMetadata(folder: [".."], flags: "R", received: 1_700_000_300), "Subject: d\n\nrenamed folder\n"),
        ]
        for (meta, text) in messages {
            var t = text
            try t.withUTF8 { try writer.write(meta, content: UnsafeRawBufferPointer($0)) }
        }
        try writer.finish()
        #expect(writer.counts.written == 3 && writer.counts.alreadyPresent == 1)

        for (name, mtime) in before {
            #expect(FileManager.default.contents(atPath: root + "/" + name) == serverFiles[name], "\(name) changed")
            #expect(try FileSystem.modificationTimeAndSize(root + "/" + name).mtime == mtime, "\(name) touched")
        }
        var created = 0
        let walker = FileManager.default.enumerator(atPath: root)!
        while let relative = walker.nextObject() as? String {
            var st = stat()
            #expect(lstat(root + "/" + relative, &st) == 0)
            #expect(st.st_uid == owner.uid && st.st_gid == owner.gid, "\(relative) is \(st.st_uid):\(st.st_gid)")
            let isDirectory = st.st_mode & S_IFMT == S_IFDIR
            #expect(st.st_mode & 0o7777 == (isDirectory ? 0o700 : 0o600), "\(relative) has mode \(String(st.st_mode & 0o7777, radix: 8))")
            if serverFiles[relative] == nil && !["cur", "new", "tmp"].contains(relative) { created += 1 }
        }
        // .Archive.2024 and the directory of `..`, with cur/new/tmp, three messages,
        // .mailkeep-mbox, and .mailkeep-folders where `..` needs its name recorded.
        #expect(created == (FolderNaming().placement([".."]).recorded.isEmpty ? 12 : 13))
    }

    @Test func aTreeOfRootsOwnStaysRoots() throws {
        let root = NSTemporaryDirectory() + "mailkeep-own-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        #expect(FileOwner.inheriting(root) == nil)
        #expect(FileOwner.inheriting(root + "/not/made/yet") == nil)
        #expect(chown(root, owner.uid, owner.gid) == 0)
        #expect(FileOwner.inheriting(root + "/not/made/yet") == owner)
    }
}

/// What a FAT disk does to files, and what mailkeep does about it.
@Suite struct ExternalDisks {
    /// `--volume-size 4G` makes volumes FAT32 can hold: 4 GiB is one byte too many.
    @Test func fourGigabyteVolumesFitFAT32() {
        #expect(VolumeSink.volumeSize(fitting: 4 << 30) == 4_294_967_295)
        #expect(VolumeSink.volumeSize(fitting: parseSize("4G")!) == VolumeSink.largestFAT32File)
        #expect(VolumeSink.volumeSize(fitting: parseSize("4096M")!) == VolumeSink.largestFAT32File)
        #expect(VolumeSink.volumeSize(fitting: parseSize("3900M")!) == 3900 << 20)
        #expect(VolumeSink.volumeSize(fitting: parseSize("8G")!) == 8 << 30)
    }

    /// After `dropCachedPages` none of the file is in memory, so reading it again goes to the
    /// device (mincore(2) tells which pages of a mapping are resident).
    @Test func verifyReadsFromTheDevice() throws {
        let path = NSTemporaryDirectory() + "mailkeep-cache-\(UUID().uuidString)"
        defer { unlink(path) }
        // The file system the file is on, the mount with the longest matching path.
        let mounts = (try? String(contentsOfFile: "/proc/mounts", encoding: .utf8)) ?? ""
        var type = "", longest = -1
        for line in mounts.split(separator: "\n") {
            let fields = line.split(separator: " ").map(String.init)
            guard fields.count > 2 else { continue }
            let point = fields[1].hasSuffix("/") ? fields[1] : fields[1] + "/"
            if path.hasPrefix(point) && point.count > longest {
                longest = point.count
                type = fields[2]
            }
        }
        try #require(type != "tmpfs", "tmpfs keeps files only in memory")
        let size = 4 << 20
        try Data(repeating: 0x61, count: size).write(to: URL(fileURLWithPath: path))
        func residentPages() throws -> Int {
            let fd = open(path, O_RDONLY)
            defer { close(fd) }
            let map = try #require(mmap(nil, size, PROT_READ, MAP_SHARED, fd, 0))
            defer { munmap(map, size) }
            let pages = size / Int(sysconf(Int32(_SC_PAGESIZE)))
            var vector = [UInt8](repeating: 0, count: pages)
            #expect(mincore(map, size, &vector) == 0)
            return vector.filter { $0 & 1 == 1 }.count
        }
        #expect(try residentPages() > 0)
        try FileSystem.dropCachedPages(path)
        #expect(try residentPages() == 0)
    }
}
