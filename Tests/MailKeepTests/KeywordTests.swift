import Foundation
import Testing
@testable import MailKeepIO
@testable import MailKeepFormats
@testable import MailKeepArchive
@testable import MailKeepCommands

/// Keyword names end to end, and Dovecot's mbox state, on what Dovecot itself wrote
/// (fixtures/dovecot/: a Maildir whose folders give the same names different letters, and the
/// same mail in Dovecot's mbox format).
@Suite struct KeywordTests {
    static let dovecot = FixtureTests.fixtures + "/dovecot"

    func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "mailkeep-keywords-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    struct Read {
        var messages: [(meta: MessageMetadata, text: String)] = []
        var problems = 0
        /// Keyword names of the message with this subject, in the order read.
        func keywords(_ subject: String) -> [String]? {
            messages.first { $0.text.contains("Subject: \(subject)\n") }?.meta.keywords
        }
        func flags(_ subject: String) -> String? {
            messages.first { $0.text.contains("Subject: \(subject)\n") }?.meta.flags
        }
    }

    func read(_ path: String) throws -> Read {
        let log = WarningLog()
        var read = Read()
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        let source: MessageSource = isDirectory.boolValue
            ? MailTreeReader(try MailTree(root: path, log: log), log: log) : try MboxReader(openSource(path), log: log)
        try source.forEachMessage { meta, content in
            read.messages.append((meta, String(decoding: content, as: UTF8.self)))
        }
        read.problems = log.problemCount
        return read
    }

    func bytes(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }

    @Test func dovecotKeywordsFileReadsAsDovecotReadsIt() {
        let names = DovecotKeywords(parsing: Array("0 $Forwarded\nno space\n26 TooFar\n2 $Junk\r\n1 \nx Bad\n3 Wichtig\n".utf8))
        #expect(names.names.compactMap { $0 } == ["$Forwarded", "$Junk", "Wichtig"])
        #expect(names.letter(for: "$junk") == UInt8(ascii: "c"))
        let split = names.split("FSacz")
        #expect(split.flags == "FSz" && split.keywords == ["$Forwarded", "$Junk"])
        #expect(String(decoding: names.fileBytes, as: UTF8.self) == "0 $Forwarded\n2 $Junk\n3 Wichtig\n")
        var full = DovecotKeywords()
        for i in 0..<26 { #expect(full.add("k\(i)") != nil) }
        #expect(full.add("K3") == UInt8(ascii: "d"))
        #expect(full.add("one-too-many") == nil)
    }

    /// The same letters mean different names in the two folders Dovecot wrote.
    @Test func dovecotMaildirLettersBecomeNamesPerFolder() throws {
        let read = try read(Self.dovecot + "/Maildir")
        #expect(read.problems == 0)
        #expect(read.keywords("one") == ["$Forwarded", "Wichtig"] && read.flags("one") == "S")
        #expect(read.keywords("two") == ["$Junk"] && read.flags("two") == "")
        #expect(read.keywords("three") == ["$label1", "Wichtig"] && read.flags("three") == "")
        #expect(read.keywords("four") == ["$Forwarded"] && read.flags("four") == "F")
    }

    /// Converting into a live tree merges into its dovecot-keywords: existing names keep their
    /// letters, new ones take free letters, files carry the target's letters.
    @Test func convertingIntoALiveFolderMergesItsKeywords() throws {
        let target = try temporaryDirectory() + "/Maildir"
        for dir in ["cur", "new", "tmp", ".Work/cur", ".Work/new", ".Work/tmp"] {
            try FileManager.default.createDirectory(atPath: "\(target)/\(dir)", withIntermediateDirectories: true)
        }
        try Data("0 $Junk\n1 Wichtig\n".utf8).write(to: URL(fileURLWithPath: target + "/.Work/dovecot-keywords"))
        #expect(runCommand(MailConvert.self, [Self.dovecot + "/Maildir", "-o", target]).status == 0)
        #expect(String(decoding: try bytes(target + "/.Work/dovecot-keywords"), as: UTF8.self)
                == "0 $Junk\n1 Wichtig\n2 $label1\n3 $Forwarded\n")
        #expect(String(decoding: try bytes(target + "/dovecot-keywords"), as: UTF8.self) == "0 $Forwarded\n1 Wichtig\n2 $Junk\n")
        // As Dovecot left them: the unseen one without flags in new/, the flagged one in cur/.
        #expect(try FileManager.default.contentsOfDirectory(atPath: target + "/.Work/new").map { $0.suffix(5) } == [":2,bc"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: target + "/.Work/cur").map { $0.suffix(5) } == [":2,Fd"])
        #expect(!FileManager.default.fileExists(atPath: target + "/.Work/dovecot-keywords.lock"))
        let back = try read(target)
        #expect(back.keywords("three") == ["Wichtig", "$label1"] && back.keywords("four") == ["$Forwarded"])
        #expect(back.keywords("two") == ["$Junk"])
        // A second run adds nothing and changes no letter.
        #expect(runCommand(MailConvert.self, [Self.dovecot + "/Maildir", "-o", target]).status == 0)
        #expect(String(decoding: try bytes(target + "/.Work/dovecot-keywords"), as: UTF8.self)
                == "0 $Junk\n1 Wichtig\n2 $label1\n3 $Forwarded\n")
    }

    /// A message read from Dovecot's mbox is the message Dovecot serves (its Maildir file), and
    /// its keywords come from X-Keywords.
    @Test func dovecotMboxStateHeadersAreNotContent() throws {
        let mbox = try read(Self.dovecot + "/mail/inbox")
        let maildir = try read(Self.dovecot + "/Maildir")
        #expect(mbox.problems == 0)
        for subject in ["one", "two"] {
            let a = mbox.messages.first { $0.text.contains("Subject: \(subject)\n") }
            let b = maildir.messages.first { $0.text.contains("Subject: \(subject)\n") }
            #expect(a != nil && a?.text == b?.text)
            #expect(a?.meta.keywords == b?.meta.keywords && a?.meta.flags == b?.meta.flags)
        }
    }

    /// mbox -> Maildir -> mbox and mbox -> bundle -> mbox give Dovecot's file back byte for byte.
    @Test(arguments: ["inbox", "Work"])
    func dovecotMboxRoundTripsByteExact(name: String) throws {
        let dir = try temporaryDirectory()
        let original = Self.dovecot + "/mail/" + name
        #expect(runCommand(MailConvert.self, [original, "-o", dir + "/Maildir"]).status == 0)
        #expect(runCommand(MailConvert.self, [dir + "/Maildir", "-o", dir + "/back.mbox"]).status == 0)
        #expect(try bytes(dir + "/back.mbox") == bytes(original))
        #expect(runCommand(MailPack.self, [original, "-o", dir + "/b.tar.xz"]).status == 0)
        var fromBundle: [[String]] = []
        try BundleReader(path: dir + "/b.tar.xz", log: WarningLog()).forEachMessage { meta, _ in fromBundle.append(meta.keywords) }
        #expect(fromBundle == (name == "inbox" ? [["$Forwarded", "Wichtig"], ["$Junk"]] : [["$label1", "Wichtig"], ["$Forwarded"]]))
        #expect(runCommand(MailConvert.self, [dir + "/b.tar.xz", "-o", dir + "/rebuilt.mbox"]).status == 0)
        #expect(try bytes(dir + "/rebuilt.mbox") == bytes(original))
    }

    /// Maildir -> mbox writes X-Keywords as Dovecot does; reading it back gives the names.
    @Test func maildirKeywordsBecomeXKeywordsInAnMbox() throws {
        let dir = try temporaryDirectory()
        let result = runCommand(MailPick.self, [Self.dovecot + "/Maildir/.Work"])
        #expect(result.status == 0)
        #expect(result.standardOutput.contains("X-Keywords: $label1 Wichtig\n"))
        #expect(result.standardOutput.contains("X-Status: F\nX-Keywords: $Forwarded\n"))
        try Data(result.standardOutput.utf8).write(to: URL(fileURLWithPath: dir + "/work.mbox"))
        let back = try read(dir + "/work.mbox")
        #expect(back.keywords("three") == ["$label1", "Wichtig"] && back.keywords("four") == ["$Forwarded"])
        #expect(!back.messages.contains { $0.text.contains("X-Keywords") })
    }

    @Test func keywordSelectsAcrossFoldersWhateverTheLetter() throws {
        let wichtig = runCommand(MailPick.self, [Self.dovecot + "/Maildir", "--keyword", "wichtig"])
        #expect(wichtig.status == 0)
        #expect(wichtig.standardOutput.components(separatedBy: "\nSubject: ").count - 1 == 2)
        #expect(wichtig.standardOutput.contains("Subject: one\n") && wichtig.standardOutput.contains("Subject: three\n"))
        let either = runCommand(MailPick.self, [Self.dovecot + "/mail", "--keyword", "$Junk", "--keyword", "$label1"])
        #expect(either.standardOutput.contains("Subject: two\n") && either.standardOutput.contains("Subject: three\n"))
        #expect(either.standardOutput.components(separatedBy: "\nSubject: ").count - 1 == 2)
    }

    @Test func thunderbirdKeysAreKeywords() throws {
        let dir = try temporaryDirectory()
        let mbox = "From - Mon Jan  1 00:00:00 2024\nX-Mozilla-Status: 0001\nX-Mozilla-Keys: $label1 todo                 \nSubject: t\n\nx\n\n"
        try Data(mbox.utf8).write(to: URL(fileURLWithPath: dir + "/tb"))
        let read = try read(dir + "/tb")
        #expect(read.keywords("t") == ["$label1", "todo"])
        #expect(read.messages.first?.text.contains("X-Mozilla-Keys") == true)
    }

    /// A letter nothing named in the source does not become the target folder's keyword of
    /// that letter: it is `unknown-N`, as Dovecot showed it.
    @Test func anUnnamedLetterDoesNotTakeTheTargetsName() throws {
        let root = try temporaryDirectory() + "/Maildir"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try Data("0 $Junk\n".utf8).write(to: URL(fileURLWithPath: root + "/dovecot-keywords"))
        let writer = try MaildirWriter(root: root, log: WarningLog())
        var text = "Subject: lettered\n\nx\n"
        try text.withUTF8 { try writer.write(MessageMetadata(flags: "Sab", received: 1_700_000_000), content: UnsafeRawBufferPointer($0)) }
        try writer.finish()
        // a is $Junk here: the unnamed a takes a free letter; the unnamed b keeps its own.
        #expect(String(decoding: try bytes(root + "/dovecot-keywords"), as: UTF8.self) == "0 $Junk\n1 unknown-1\n2 unknown-0\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/cur").map { $0.suffix(6) } == [":2,Sbc"])
        #expect(try read(root).keywords("lettered") == ["unknown-1", "unknown-0"])
    }

    /// Past Dovecot's 26 letters a name is reported, never dropped silently, and the bundle keeps it.
    @Test func moreThanTwentySixKeywordsAreReported() throws {
        let root = try temporaryDirectory() + "/Maildir"
        let log = WarningLog()
        let writer = try MaildirWriter(root: root, log: log)
        let names = (0..<28).map { "k\($0)" }
        var text = "Subject: many\n\nx\n"
        try text.withUTF8 { try writer.write(MessageMetadata(keywords: names, received: 1_700_000_000, source: "many.eml"), content: UnsafeRawBufferPointer($0)) }
        try writer.finish()
        #expect(log.warnings.count == 1)
        #expect(log.warnings.contains { $0.description.contains("2 keywords not kept") && $0.description.contains("at most 26: k26 k27") })
        let back = try read(root)
        #expect(back.keywords("many") == Array(names.prefix(26)))
    }

    /// A hostile header does not flood the terminal: one warning per message however many
    /// names (each cut short), names that cannot be keywords reported rather than dropped
    /// silently, and a Content-Length that is no byte count reported like a wrong one.
    @Test func hostileKeywordHeadersGiveOneShortWarningEach() throws {
        let names = (0..<10_000).map { "k\($0)" } + [String(repeating: "L", count: 200_000)]
        let text = "From a@b Mon Jan  1 00:00:00 2024\nX-Keywords: \(names.joined(separator: " ")) bad\u{1}ctl\nSubject: k\n\nbody\n\n"
            + "From a@b Mon Jan  1 00:00:00 2024\nContent-Length: -10\nSubject: n\n\nb\n\n"
            + "From a@b Mon Jan  1 00:00:00 2024\nContent-Length: 12345678901234567890\nSubject: n\n\nb\n\n"
        let root = try temporaryDirectory() + "/Maildir"
        let log = WarningLog()
        let writer = try MaildirWriter(root: root, log: log)
        try MboxReader(MemorySource(Array(text.utf8), chunk: 1 << 16, name: "k.mbox"), log: log).forEachMessage { meta, content in
            try writer.write(meta, content: content)
        }
        try writer.finish()
        let lines = log.warnings.map(\.description)
        #expect(lines.count == 4, "\(lines.map { $0.prefix(200) })")
        #expect(lines.allSatisfy { $0.utf8.count < 400 })
        #expect(lines.contains { $0.contains("1 keyword left out") && $0.contains("bad\\x01ctl") })
        #expect(lines.contains { $0.contains("9975 keywords not kept") && $0.contains("and 9970 more") })
        #expect(lines.contains { $0.contains("Content-Length \"-10\" is not a byte count") })
        #expect(lines.contains { $0.contains("Content-Length \"12345678901234567890\" is not a byte count") })
    }
}
