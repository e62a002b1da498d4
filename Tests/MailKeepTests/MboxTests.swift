import Foundation
import Testing
@testable import MailKeepIO
@testable import MailKeepFormats
@testable import MailKeepArchive
@testable import MailKeepPipeline

struct ReadMessage {
    var meta: MessageMetadata
    var text: String
}

func readMbox(_ text: String, piece: Int = 7) throws -> (messages: [ReadMessage], log: WarningLog) {
    let log = WarningLog()
    var out: [ReadMessage] = []
    try MboxReader(MemorySource(Array(text.utf8), chunk: piece, name: "memory"), log: log).forEachMessage { meta, content in
        out.append(ReadMessage(meta: meta, text: String(decoding: content, as: UTF8.self)))
    }
    return (out, log)
}

func writeMbox(_ messages: [ReadMessage], variant: MboxVariant? = .mboxrd) throws -> String {
    let sink = MemorySink()
    let writer = MboxWriter(sink, variant: variant, log: WarningLog())
    for m in messages {
        var text = m.text
        try text.withUTF8 { try writer.write(m.meta, content: UnsafeRawBufferPointer($0)) }
    }
    return String(decoding: sink.bytes, as: UTF8.self)
}

@Suite struct MboxReading {
    let mboxrd = """
    From alice@example.com Sat Jan  3 01:05:34 2004
    From: alice@example.com
    Subject: one

    >From the desk of Alice
    >>From a quoted quote
    body

    From bob@example.com Sun Jan  4 10:00:00 2004
    From: bob@example.com
    Subject: two

    second


    """

    @Test(arguments: [1, 7, 4096])
    func splitsAndUnquotesMboxrd(piece: Int) throws {
        let (messages, log) = try readMbox(mboxrd, piece: piece)
        #expect(messages.count == 2)
        #expect(messages[0].text.contains("\nFrom the desk of Alice\n>From a quoted quote\nbody\n"))
        #expect(messages[0].text.hasSuffix("body\n"))
        #expect(messages[1].text == "From: bob@example.com\nSubject: two\n\nsecond\n")
        #expect(messages[0].meta.fromLine == Array("From alice@example.com Sat Jan  3 01:05:34 2004".utf8))
        #expect(messages[0].meta.received == 1073091934)
        #expect(messages[0].meta.isNew)
        #expect(log.problemCount == 0)
    }

    @Test func mboxrdRoundTripIsByteIdentical() throws {
        let (messages, _) = try readMbox(mboxrd)
        #expect(try writeMbox(messages) == mboxrd)
    }

    @Test func datedSeparatorsDoNotSplitOnBodyText() throws {
        let text = """
        From a@x Mon Jan  1 00:00:00 2024
        Subject: a

        hello

        From the desk of nobody in particular
        more

        From b@x Mon Jan  1 00:00:01 2024
        Subject: b

        x

        """
        let (messages, log) = try readMbox(text)
        #expect(messages.count == 2)
        #expect(messages[0].text.contains("\nFrom the desk of nobody in particular\n"))
        #expect(log.problemCount == 1)
        let bodyLine = text.range(of: "From the desk")?.lowerBound
        #expect(log.warnings[0].offset == bodyLine.map { Int64(text.utf8.distance(from: text.startIndex, to: $0)) })
    }

    @Test func thunderbirdAndBareSeparators() throws {
        let thunderbird = "From - Mon Jan  1 00:00:00 2024\nX-Mozilla-Status: 0001\nSubject: a\n\nx\n\nFrom - Tue Jan  2 00:00:00 2024\nSubject: b\n\ny\n\n"
        let (t, _) = try readMbox(thunderbird)
        #expect(t.count == 2)
        #expect(t[0].meta.flags == "S")
        #expect(t[0].text.hasPrefix("X-Mozilla-Status: 0001\n"))
        let bare = "From \nSubject: a\n\nx\n\nFrom here on, text\n\nFrom \nSubject: b\n\ny\n\n"
        let (b, log) = try readMbox(bare)
        #expect(b.count == 2)
        #expect(b[0].text.contains("From here on, text"))
        #expect(log.problemCount == 1)
    }

    @Test func contentLengthIsTrustedOnlyWhenItEndsAtABoundary() throws {
        let body = "line\n\nFrom an unquoted line\n"
        let good = "From a@x Mon Jan  1 00:00:00 2024\nContent-Length: \(body.utf8.count)\nSubject: a\n\n\(body)\nFrom b@x Mon Jan  1 00:00:00 2024\nSubject: b\n\ny\n\n"
        let (g, glog) = try readMbox(good)
        #expect(g.count == 2)
        #expect(g[0].text == "Subject: a\n\n\(body)")
        #expect(g[0].meta.mboxHeaders == Array("Content-Length: \(body.utf8.count)\n".utf8))
        #expect(glog.problemCount == 0)
        let rewritten = try writeMbox(g, variant: .mboxcl2)
        // mboxcl2 counts every body; the kept header of the first message goes back verbatim.
        #expect(rewritten == good.replacingOccurrences(of: "Subject: b\n", with: "Subject: b\nContent-Length: 2\n"))

        let bad = good.replacingOccurrences(of: "Content-Length: \(body.utf8.count)", with: "Content-Length: 7")
        let (m, log) = try readMbox(bad)
        #expect(log.warnings.contains { $0.message.contains("Content-Length 7") })
        #expect(m.map(\.text).joined().contains("line"))
        #expect(m.count >= 2)
    }

    @Test func crlfFilesKeepTheirLineEndings() throws {
        let text = "From a@x Mon Jan  1 00:00:00 2024\r\nSubject: a\r\n\r\nx\r\n\r\nFrom b@x Mon Jan  1 00:00:01 2024\r\nSubject: b\r\n\r\ny\r\n\r\n"
        let (messages, _) = try readMbox(text)
        #expect(messages.map(\.text) == ["Subject: a\r\n\r\nx\r\n", "Subject: b\r\n\r\ny\r\n"])
        #expect(try writeMbox(messages) == text)
    }

    @Test func statusHeadersBecomeFlagsAndComeBack() throws {
        let text = "From a@x Mon Jan  1 00:00:00 2024\nSubject: a\nStatus: RO\nX-Status: AF\n\nx\n\n"
        let (messages, _) = try readMbox(text)
        #expect(messages[0].meta.flags == "FRS")
        #expect(!messages[0].meta.isNew)
        #expect(messages[0].text == "Subject: a\n\nx\n")
        #expect(try writeMbox(messages) == text)
        var changed = messages
        changed[0].meta.flags = "DPS"
        let rewritten = try writeMbox(changed)
        #expect(rewritten.contains("Status: RO\nX-Status: TP\n\nx\n"))
        let (back, _) = try readMbox(rewritten)
        #expect(back[0].meta.flags == "DPS")
    }

    @Test func missingFinalNewlineIsKeptAndReported() throws {
        let (messages, log) = try readMbox("From a@x Mon Jan  1 00:00:00 2024\nSubject: a\n\nno newline")
        #expect(messages.count == 1)
        #expect(messages[0].text == "Subject: a\n\nno newline")
        #expect(log.problemCount == 1)
    }

    @Test func notAnMboxIsAnErrorWithOffset() throws {
        #expect(throws: MailKeepError.malformed(path: "memory", offset: 0, reason: "not an mbox: the first line does not start with \"From \"")) {
            _ = try readMbox("garbage\nFrom a@x Mon Jan  1 00:00:00 2024\n\nx\n")
        }
    }

    @Test func fromLineForMessagesWithoutOne() {
        let message = Array("Return-Path: <alice@example.com>\nFrom: Alice <a@x>\n\nx\n".utf8)
        let line = message.withUnsafeBytes {
            MboxWriter.fromLine(for: MessageMetadata(received: 1073091934), content: $0, zone: .offset(0))
        }
        #expect(String(decoding: line, as: UTF8.self) == "From alice@example.com Sat Jan  3 01:05:34 2004")
    }
}

@Suite struct MboxMetadataOwnership {
    /// A Maildir message that kept a Status line of its own (saved from an mbox long ago)
    /// survives Maildir -> mbox -> Maildir byte for byte, and its flags are the Maildir's.
    @Test func contentOwnStatusSurvivesTheMbox() throws {
        let content = "Subject: a\nStatus: RO\nContent-Length: 2\n\nx\n"
        let mbox = try writeMbox([ReadMessage(meta: MessageMetadata(flags: "F", received: 0), text: content)])
        #expect(mbox.contains("Status: RO\nContent-Length: 2\nStatus: O\nX-Status: F\nContent-Length: 2\n\nx\n"))
        let (back, log) = try readMbox(mbox)
        #expect(back.map(\.text) == [content])
        #expect(back[0].meta.flags == "F")
        #expect(log.problemCount == 0)
    }
}

@Suite struct MboxLoneCR {
    /// Classic Mac OS mboxes end lines in a lone CR: read as lines, messages keep their CRs.
    @Test(arguments: [3, 4096])
    func loneCRFilesAreSplitIntoLines(piece: Int) throws {
        let messages = ["From: a@x\rSubject: one\r\rbody\r", "From: b@x\rSubject: two\r\r>From quoted\r"]
        let text = messages.enumerated().map { "From a@x Mon Jan  1 00:00:0\($0.offset) 2001\r" + $0.element }.joined(separator: "\r")
        let (back, _) = try readMbox(text, piece: piece)
        #expect(back.map(\.text) == ["From: a@x\rSubject: one\r\rbody\r", "From: b@x\rSubject: two\r\rFrom quoted\r"])
        #expect(back.first?.meta.fromLine == Array("From a@x Mon Jan  1 00:00:00 2001".utf8))
    }
}

@Suite struct MboxRestoreInto {
    /// Restoring into an existing mbox keeps every byte of it, adds only what is new, and a
    /// second run adds nothing.
    @Test func addsOnlyNewMessagesAndKeepsTheOldBytes() throws {
        let dir = NSTemporaryDirectory() + "mailkeep-mbox-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/Recovered"
        let old = "From a@x Mon Jan  1 00:00:00 2024\nSubject: old\n\nkeep me\n"
        try old.write(toFile: path, atomically: false, encoding: .utf8)
        let messages = ["Subject: old\n\nkeep me\n", "Subject: new\n\nadd me\n"]
        for run in 0..<2 {
            let sink = try MboxStreamSink(appendingTo: path, variant: .mboxrd, log: WarningLog())
            for text in messages {
                var t = text
                try t.withUTF8 { try sink.write(MessageMetadata(received: 0), content: UnsafeRawBufferPointer($0)) }
            }
            try sink.finish()
            #expect(sink.counts.written == (run == 0 ? 1 : 0))
        }
        let result = try String(contentsOfFile: path, encoding: .utf8)
        #expect(result.hasPrefix(old + "\n"))
        let (back, _) = try readMbox(result)
        #expect(back.map(\.text) == messages)
    }
}

extension MboxRestoreInto {
    private static func restore(_ messages: [(folder: String, text: String)], into sink: MessageSink) throws -> SinkCounts {
        var counts = SinkCounts()
        for (folder, text) in messages {
            let outcome = try Array(text.utf8).withUnsafeBytes {
                try sink.write(MessageMetadata(folder: folder.isEmpty ? [] : [folder], received: 0), content: $0)
            }
            counts.add(outcome, bytes: text.utf8.count)
        }
        try sink.finish()
        return counts
    }

    /// A message the source holds twice is two messages in the mbox; a second run adds none.
    @Test func aMessageTheSourceHoldsTwiceIsWrittenTwice() throws {
        let scratch = try ScratchDirectory()
        let path = scratch.file("Twins")
        let messages = [("", "Subject: twin\n\nsame\n"), ("", "Subject: other\n\nx\n"), ("", "Subject: twin\n\nsame\n")]
        for run in 0..<2 {
            let counts = try Self.restore(messages, into: try MboxStreamSink(appendingTo: path, variant: .mboxrd, log: WarningLog()))
            #expect(counts.written == (run == 0 ? 3 : 0))
        }
        let (back, _) = try readMbox(try String(contentsOfFile: path, encoding: .utf8))
        #expect(back.map(\.text) == messages.map(\.1))
    }

    /// A message another program ended with one more empty line (Python's mailbox) still
    /// matches the message mailkeep wrote, but stands for one source message, not two.
    @Test func aMessageWithAnExtraEmptyLineMatchesOneTwinOnly() throws {
        let scratch = try ScratchDirectory()
        let path = scratch.file("Python")
        try "From a@x Mon Jan  1 00:00:00 2024\nSubject: twin\n\nsame\n\n\nFrom a@x Mon Jan  1 00:00:00 2024\nSubject: last\n\nz\n"
            .write(toFile: path, atomically: false, encoding: .utf8)
        let twins = [("", "Subject: twin\n\nsame\n"), ("", "Subject: twin\n\nsame\n")]
        #expect(try Self.restore(twins, into: try MboxStreamSink(appendingTo: path, variant: .mboxrd, log: WarningLog())).written == 1)
        // The source holding the message both ways: the file's one message matches one of them.
        let path2 = scratch.file("Python2")
        try "From a@x Mon Jan  1 00:00:00 2024\nSubject: twin\n\nsame\n\n\n".write(toFile: path2, atomically: false, encoding: .utf8)
        let both = [("", "Subject: twin\n\nsame\n"), ("", "Subject: twin\n\nsame\n\n")]
        #expect(try Self.restore(both, into: try MboxStreamSink(appendingTo: path2, variant: .mboxrd, log: WarningLog())).written == 1)
        #expect(try Self.restore(both, into: try MboxStreamSink(appendingTo: path2, variant: .mboxrd, log: WarningLog())).written == 0)
    }

    /// Through a tree that lets files go and reads them again (room for two open files), what
    /// this run wrote is not taken for what the file held: twins far apart are both written,
    /// and a second run adds nothing.
    @Test func twinsAreKeptThroughAFileThatIsLetGoAndReadAgain() throws {
        let scratch = try ScratchDirectory()
        let messages = ["a", "b", "c", "a", "b", "c", "a"].enumerated().map { i, folder in
            (folder, i < 3 ? "Subject: twin in \(folder)\n\nsame\n" : "Subject: \(i % 2 == 0 ? "twin in \(folder)" : "n\(i)")\n\nsame\n")
        }
        for run in 0..<2 {
            let sink = try MboxTreeSink(root: scratch.file("tree"), variant: .mboxrd, log: WarningLog(), skipExistingContent: true, openLimit: 2)
            #expect(try Self.restore(messages, into: sink).written == (run == 0 ? messages.count : 0))
        }
        for folder in ["a", "b", "c"] {
            let (back, _) = try readMbox(try String(contentsOfFile: scratch.file("tree/\(folder)"), encoding: .utf8))
            #expect(back.map(\.text) == messages.filter { $0.0 == folder }.map(\.1))
        }
    }
}

@Suite struct MboxTreeDescriptors {
    /// With room for two open files, messages that come back to a folder whose file was closed
    /// still land in it, in order, and every file is complete at the end.
    @Test func foldersBeyondTheOpenLimitAreReopened() throws {
        let scratch = try ScratchDirectory()
        let sink = try MboxTreeSink(root: scratch.file("tree"), variant: .mboxrd, log: WarningLog(), openLimit: 2)
        let folders = ["a", "b", "c", "a", "c", "b", "a"]
        for (i, folder) in folders.enumerated() {
            let text = "Subject: \(i)\n\nbody \(i)\n"
            try Array(text.utf8).withUnsafeBytes { try sink.write(MessageMetadata(folder: [folder], received: Int64(i)), content: $0) }
        }
        try sink.finish()
        for folder in ["a", "b", "c"] {
            let (back, _) = try readMbox(String(decoding: try Data(contentsOf: URL(fileURLWithPath: scratch.file("tree/\(folder)"))), as: UTF8.self))
            let expected = folders.indices.filter { folders[$0] == folder }.map { "Subject: \($0)\n\nbody \($0)\n" }
            #expect(back.map(\.text) == expected)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.file("tree")).sorted() == ["a", "b", "c"])
    }
}

@Suite struct MboxKeywordList {
    private static func write(_ messages: [(folder: String, keywords: [String], text: String)], into sink: MessageSink) throws {
        for (folder, keywords, text) in messages {
            try Array(text.utf8).withUnsafeBytes {
                _ = try sink.write(MessageMetadata(folder: [folder], flags: "S", keywords: keywords, received: 0), content: $0)
            }
        }
        try sink.finish()
    }

    /// Dovecot's mbox driver honours only the keyword names the first message's X-IMAPbase
    /// lists: a new file lists every name its messages use there, before the other state
    /// lines, even when the first message has none and the rest of the file (here more than
    /// the buffer that moves it) has to move; the messages read back as they were written.
    @Test(arguments: [false, true])
    func theFirstMessageListsEveryKeywordName(restoring: Bool) throws {
        let scratch = try ScratchDirectory()
        let big = String(repeating: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\n", count: 40_000)
        let messages = [("a", [String](), "Subject: first\n\n" + big), ("b", ["Wichtig"], "Subject: other\n\nx\n"),
                        ("a", ["$Forwarded", "Wichtig"], "Subject: second\n\n" + big), ("a", ["$junk", "wichtig"], "Subject: third\n\ny\n")]
        // Room for one open file: each is let go and reopened before it is completed.
        try Self.write(messages, into: try MboxTreeSink(root: scratch.file("tree"), variant: nil, log: WarningLog(),
                                                       skipExistingContent: restoring, openLimit: 1))
        let a = try String(contentsOfFile: scratch.file("tree/a"), encoding: .utf8)
        let head = a.prefix(while: { $0 != "\n" }).count + 1
        let firstHeader = a.dropFirst(head).prefix(200)
        let base = try #require(firstHeader.split(separator: "\n").first { $0.hasPrefix("X-IMAPbase: ") })
        let words = base.split(separator: " ")
        #expect(words.count == 6 && Int(words[1])! > 0 && words[2] == "0000000000")
        #expect(words.dropFirst(3) == ["$Forwarded", "Wichtig", "$junk"])
        #expect(firstHeader.hasPrefix("Subject: first\n\(base)\nStatus: RO\n\n"))
        let (back, log) = try readMbox(a, piece: 4096)
        #expect(back.map(\.text) == messages.filter { $0.0 == "a" }.map(\.2))
        #expect(back.map(\.meta.keywords) == [[], ["$Forwarded", "Wichtig"], ["$junk", "wichtig"]])
        #expect(log.warnings.isEmpty)
        let b = try String(contentsOfFile: scratch.file("tree/b"), encoding: .utf8)
        #expect(b.contains("Subject: other\nX-IMAPbase: ") && b.contains(" 0000000000 Wichtig\nStatus: RO\nX-Keywords: Wichtig\n"))
    }

    /// A file whose messages have no keywords gets no X-IMAPbase; one whose first message
    /// lists them all already (a Dovecot mbox rebuilt) keeps its line as it was.
    @Test func aListThatIsCompleteOrNotNeededIsLeftAlone() throws {
        let scratch = try ScratchDirectory()
        try Self.write([("a", [], "Subject: plain\n\nx\n")], into: try MboxTreeSink(root: scratch.file("plain"), variant: nil, log: WarningLog()))
        #expect(!(try String(contentsOfFile: scratch.file("plain/a"), encoding: .utf8)).contains("X-IMAPbase"))
        let dovecot = try String(contentsOfFile: "\(repositoryRoot)/fixtures/dovecot/mail/inbox", encoding: .utf8)
        let (messages, _) = try readMbox(dovecot)
        #expect(messages.first?.meta.mboxHeaders.map { String(decoding: $0, as: UTF8.self) }?.contains("X-IMAPbase: 1796183104 0000000002 $Forwarded Wichtig $Junk\n") == true)
        let sink = try MboxStreamSink(path: scratch.file("inbox"), variant: nil, log: WarningLog())
        for m in messages {
            try Array(m.text.utf8).withUnsafeBytes { _ = try sink.write(m.meta, content: $0) }
        }
        try sink.finish()
        #expect(try String(contentsOfFile: scratch.file("inbox"), encoding: .utf8) == dovecot)
    }
}
