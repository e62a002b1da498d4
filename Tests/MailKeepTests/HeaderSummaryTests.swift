import Testing
@testable import MailKeepIO
@testable import MailKeepFormats
@testable import MailKeepArchive
@testable import MailKeepPipeline

@Suite struct HeaderSummaryTests {
    @Test func summarisesATypicalMessage() {
        let message = """
            Received: from relay.example.org\r
            Date: Fri, 21 Nov 1997 09:55:06 -0600\r
            From: =?ISO-8859-1?Q?Andr=E9?= <andre@example.org>\r
            To: Ann <a@example.org>, team: b@example.org, c@example.org;\r
            To: d@example.org\r
            Cc: undisclosed-recipients:;\r
            Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= aus\r
             =?utf-8?q?M=C3=BCnchen?=\r
            Message-ID:\r
              <1234@local.machine.example> (comment)\r
            X-Mailer: =?KOI8-R?B?8NLJ18XU?=\r
            \r
            Date: not a header\r

            """
        let summary = MessageSummary(Array(message.utf8))
        #expect(summary.date == 880_127_706)
        #expect(summary.dateZoneOffsetMinutes == -360)
        #expect(summary.dateHeader == "Fri, 21 Nov 1997 09:55:06 -0600")
        #expect(summary.from == [MailAddress(name: "André", address: "andre@example.org")])
        #expect(summary.to.map(\.address) == ["a@example.org", "b@example.org", "c@example.org", "d@example.org"])
        #expect(summary.cc.isEmpty)
        #expect(summary.bcc.isEmpty)
        #expect(summary.subject == "Grüße aus München")
        #expect(summary.messageID == "1234@local.machine.example")
        #expect(summary.decodedHeader(named: "x-mailer") == "Привет")
        #expect(summary.decodedHeaders(named: "TO").count == 2)
        #expect(summary.decodedHeader(named: "X-Absent") == nil)
        #expect(summary.headers.length == message.utf8.count - "Date: not a header\r\n".utf8.count)
    }

    @Test func absentOrBrokenFieldsAreNil() {
        let summary = MessageSummary(Array("Date: someday soon\nMessage-ID: <>\n\nbody".utf8))
        #expect(summary.date == nil)
        #expect(summary.dateHeader == "someday soon")
        #expect(summary.messageID == nil)
        #expect(summary.subject == nil)
        #expect(summary.from.isEmpty)
    }

    @Test func messageIDWithoutBrackets() {
        #expect(MessageSummary.messageID(from: Array("  abc@def  ".utf8)) == "abc@def")
        #expect(MessageSummary.messageID(from: Array("<1234   @   local(blah)  .machine .example>".utf8)) == "1234@local.machine.example")
    }

    @Test func rawHeaderBytesUseTheDeclaredBodyCharset() {
        let koi8Subject: [UInt8] = [0xF0, 0xD2, 0xC9, 0xD7, 0xC5, 0xD4]
        let message = Array("Content-Type: text/plain; format=flowed; charset=\"KOI8-R\"\nSubject: ".utf8) + koi8Subject
            + Array("\nFrom: ".utf8) + koi8Subject + Array(" <p@example.ru>\n\n".utf8)
        let summary = MessageSummary(message)
        #expect(summary.headers.declaredCharset == "koi8-r")
        #expect(summary.subject == "Привет")
        #expect(summary.from == [MailAddress(name: "Привет", address: "p@example.ru")])
    }

    @Test func garbageNeverCrashes() {
        let inputs: [[UInt8]] = [
            [], [0x00], Array(repeating: 0xFF, count: 100), Array(":::\n\n".utf8), Array("Subject: =?\n\n".utf8),
            Array("From: (((((\nDate: ((((\nSubject: =?utf-8?B?".utf8), Array(" \n \n\n".utf8),
        ]
        for input in inputs {
            let summary = MessageSummary(input)
            #expect(summary.date == nil)
        }
    }
}
