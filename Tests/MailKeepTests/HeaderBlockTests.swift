import Testing
@testable import MailKeepIO
@testable import MailKeepFormats
@testable import MailKeepArchive
@testable import MailKeepPipeline

@Suite struct HeaderBlockTests {
    private func block(_ text: String) -> HeaderBlock { HeaderBlock(Array(text.utf8)) }
    private func text(_ bytes: [UInt8]?) -> String? { bytes.map { String(decoding: $0, as: UTF8.self) } }

    @Test func fieldsInOrderWithLengthLF() {
        let message = "From: a@example.org\nTo: b@example.org\nSubject: hi\n\nbody\n"
        let headers = block(message)
        #expect(headers.fields.map { headers.name(of: $0) } == ["From", "To", "Subject"])
        #expect(headers.length == message.utf8.count - "body\n".utf8.count)
        #expect(text(headers.first("subject")) == "hi")
    }

    @Test func crlfAndFoldingAreUnfolded() {
        let message = "Subject: a long\r\n\tsubject\r\n  line\r\nX-Empty:\r\n\r\nBody: not a header\r\n"
        let headers = block(message)
        #expect(headers.fields.count == 2)
        #expect(text(headers.first("SUBJECT")) == "a long\tsubject  line")
        #expect(Array(headers.rawValue(of: headers.fields[0])) == Array(" a long\r\n\tsubject\r\n  line".utf8))
        #expect(text(headers.first("x-empty")) == "")
        #expect(headers.first("Body") == nil)
        #expect(headers.length == message.utf8.count - "Body: not a header\r\n".utf8.count)
    }

    @Test func allReturnsEveryFieldAnyCase() {
        let headers = block("Received: one\nreceived: two\nRECEIVED: three\nX: y\n\n")
        #expect(headers.all("Received").map { text($0) } == ["one", "two", "three"])
        #expect(headers.all("Nope").isEmpty)
    }

    @Test func malformedLinesAreSkippedNotFatal() {
        let bytes: [UInt8] = Array("no colon here\n continuation of nothing\nBad Name: x\n".utf8)
            + [0x00, 0xFF, 0x3A, 0x20, 0x41, 0x0A] + Array("Name : spaced\nGood: \u{e9}t\u{e9}\n\nrest".utf8)
        let headers = HeaderBlock(bytes)
        #expect(headers.fields.map { headers.name(of: $0) } == ["Name", "Good"])
        #expect(text(headers.first("name")) == "spaced")
        #expect(headers.decoded("good") == "\u{e9}t\u{e9}")
    }

    @Test func noEmptyLineMeansWholeMessageIsHeaders() {
        let headers = block("A: 1\nB: 2")
        #expect(headers.length == 9)
        #expect(text(headers.first("b")) == "2")
    }

    @Test func emptyMessageAndBodyOnly() {
        #expect(block("").fields.isEmpty)
        #expect(block("").length == 0)
        let bodyOnly = block("\nA: 1\n")
        #expect(bodyOnly.fields.isEmpty)
        #expect(bodyOnly.length == 1)
        #expect(block("\r\nA: 1\n").length == 2)
    }

    @Test func leadingFromLineIsNotAField() {
        let headers = block("From someone@example.org Sat Jan  3 01:05:34 1996\nFrom: real@example.org\n\n")
        #expect(headers.fields.count == 1)
        #expect(text(headers.first("from")) == "real@example.org")
    }

    @Test func rawLatin1HeaderFallsBackToWindows1252() {
        let bytes = Array("Subject: caf".utf8) + [0xE9, 0x20, 0x80] + Array("\n\n".utf8)
        #expect(HeaderBlock(bytes).decoded("subject") == "caf\u{e9} \u{20ac}")
    }
}
