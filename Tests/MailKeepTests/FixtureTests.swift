import Foundation
import Testing
@testable import MailKeepIO
@testable import MailKeepFormats
@testable import MailKeepArchive
@testable import MailKeepPipeline

/// The samples in fixtures/ read through the library as fixtures/README.md says they should.
@Suite struct FixtureTests {
    /// fixtures/ at the repository root, found from this file's path so any clone works.
    static let fixtures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fixtures").path

    struct Read {
        var messages: [(meta: MessageMetadata, text: String)] = []
        var problems = 0
    }

    static func readMbox(_ name: String) throws -> Read {
        let log = WarningLog()
        var read = Read()
        try MboxReader(openSource("\(fixtures)/mbox/\(name)"), log: log).forEachMessage { meta, content in
            read.messages.append((meta, String(decoding: content, as: UTF8.self)))
        }
        read.problems = log.problemCount
        return read
    }

    static func readTree(_ name: String) throws -> Read {
        let log = WarningLog()
        var read = Read()
        let tree = try MailTree(root: "\(fixtures)/maildir/\(name)", log: log)
        try MailTreeReader(tree, log: log).forEachMessage { meta, content in
            read.messages.append((meta, String(decoding: content, as: UTF8.self)))
        }
        read.problems = log.problemCount
        return read
    }

    @Test(arguments: [
        ("mboxrd.mbox", 3, 0), ("mboxo.mbox", 2, 0), ("mboxcl2.mbox", 2, 0), ("content-length-wrong.mbox", 3, 2),
        ("thunderbird.mbox", 3, 0), ("bare-from.mbox", 3, 1), ("crlf.mbox", 2, 0), ("no-final-newline.mbox", 2, 1),
        ("status.mbox", 7, 0), ("ambiguous.mbox", 2, 1), ("empty.mbox", 0, 0),
    ])
    func mboxMessageAndProblemCounts(name: String, messages: Int, problems: Int) throws {
        let read = try Self.readMbox(name)
        #expect(read.messages.count == messages)
        #expect(read.problems == problems)
    }

    @Test func mboxrdQuotingIsUndoneOneLevel() throws {
        let body = try Self.readMbox("mboxrd.mbox").messages[1].text
        #expect(body.contains("\nFrom here on, one level of quoting.\n"))
        #expect(body.contains("\n>From there, a line that was already quoted once.\n"))
        #expect(body.contains("\n\nFrom the desk of Carol, after an empty line.\n"))
        #expect(body.contains("\n>>From deeper still.\n"))
    }

    @Test func mboxcl2BodyWithFromLineStaysOneMessage() throws {
        let first = try Self.readMbox("mboxcl2.mbox").messages[0].text
        #expect(first.contains("\nFrom alice@example.org Mon Jan  1 10:00:00 2024\nand it is still one message"))
        #expect(!first.contains("Content-Length:"))
    }

    @Test func statusHeadersBecomeFlags() throws {
        let read = try Self.readMbox("status.mbox")
        let states = read.messages.map { ($0.meta.isNew, $0.meta.flags) }
        #expect(states.map(\.0) == [true, false, false, false, false, false, false])
        #expect(states.map(\.1) == ["", "", "S", "RS", "FS", "D", "ST"])
        #expect(read.messages.allSatisfy { !$0.text.contains("Status:") })
    }

    @Test func crlfBytesAreKept() throws {
        let read = try Self.readMbox("crlf.mbox")
        #expect(read.messages.allSatisfy { $0.text.hasSuffix("\r\n") && !$0.text.replacingOccurrences(of: "\r\n", with: "").contains("\n") })
    }

    @Test func lastMessageWithoutNewlineKeepsItsBytes() throws {
        let last = try Self.readMbox("no-final-newline.mbox").messages[1].text
        #expect(last.hasSuffix("The last line of this file has no newline"))
    }

    @Test func receivedTimeComesFromTheFromLine() throws {
        let read = try Self.readMbox("mboxrd.mbox")
        #expect(read.messages.map(\.meta.received) == [1_704_103_200, 1_704_106_800, 1_704_110_400])
    }

    @Test func maildirPlusPlusTree() throws {
        let read = try Self.readTree("plusplus")
        let seen = read.messages.map { "\($0.meta.folder.joined(separator: "/"))|\($0.meta.isNew ? "new" : "cur")|\($0.meta.flags)" }
        #expect(seen.sorted() == [
            "Archive/2024|cur|S", "Archive/2024|cur|ST", "Entwürfe|cur|DS", "Sent|cur|S",
            "|cur|", "|cur|FRS", "|new|",
        ].sorted())
        #expect(!read.messages.contains { $0.text.contains("unfinished del") })
    }

    @Test func nestedTree() throws {
        let read = try Self.readTree("nested")
        let seen = read.messages.map { "\($0.meta.folder.joined(separator: "/"))|\($0.meta.isNew ? "new" : "cur")|\($0.meta.flags)" }
        #expect(seen.sorted() == [
            "|cur|S", "Personal|cur|", "Projects/Alpha|cur|RS", "Projects/Alpha|new|", "Projects/Beta|cur|FS",
        ].sorted())
        #expect(read.problems == 0)
    }

    @Test func fatTreeWithBangSeparator() throws {
        let read = try Self.readTree("fat")
        let seen = read.messages.map { "\($0.meta.folder.joined(separator: "/"))|\($0.meta.isNew ? "new" : "cur")|\($0.meta.flags)" }
        #expect(seen.sorted() == ["|cur|FR", "|cur|S", "|new|", "Sent|cur|S"].sorted())
        #expect(read.messages.allSatisfy { $0.meta.uniqueName?.contains("!") == false })
    }
}
