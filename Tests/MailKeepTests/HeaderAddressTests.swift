import Testing
@testable import MailKeepIO
@testable import MailKeepFormats
@testable import MailKeepArchive
@testable import MailKeepPipeline

@Suite struct HeaderAddressTests {
    private func parse(_ text: String) -> [MailAddress] { MailAddress.parseList(text) }
    private func mailbox(_ name: String?, _ address: String) -> MailAddress { MailAddress(name: name, address: address) }

    @Test func simpleForms() {
        #expect(parse("a@example.org") == [mailbox(nil, "a@example.org")])
        #expect(parse("<a@example.org>") == [mailbox(nil, "a@example.org")])
        #expect(parse("Ann Example <a@example.org>") == [mailbox("Ann Example", "a@example.org")])
        #expect(parse("\"Example, Ann\" <a@example.org>, b@example.org") == [
            mailbox("Example, Ann", "a@example.org"), mailbox(nil, "b@example.org"),
        ])
        #expect(parse("John Q. Public <john.q.public@example.com>") == [mailbox("John Q. Public", "john.q.public@example.com")])
    }

    @Test func groups() {
        #expect(parse("undisclosed-recipients:;").isEmpty)
        #expect(parse("team: a@x.org, Bee <b@y.org>;, c@z.org") == [
            mailbox(nil, "a@x.org"), mailbox("Bee", "b@y.org"), mailbox(nil, "c@z.org"),
        ])
        // RFC 5322 A.1.3
        #expect(parse("A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;") == [
            mailbox("Ed Jones", "c@a.test"), mailbox(nil, "joe@where.test"), mailbox("John", "jdoe@one.test"),
        ])
        #expect(parse("Undisclosed recipients:;") == [])
    }

    @Test func commentsAndQuotedLocalParts() {
        #expect(parse("a@example.org (Ann Example)") == [mailbox("Ann Example", "a@example.org")])
        #expect(parse("Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>") == [
            mailbox("Pete", "pete@silly.test")
        ])
        #expect(parse("\"john doe\"@example.org") == [mailbox(nil, "\"john doe\"@example.org")])
        #expect(parse("<\"a\\\"b\"@example.org>") == [mailbox(nil, "\"a\\\"b\"@example.org")])
        // RFC 5322 A.6.3: whitespace and comments in obsolete places
        #expect(parse("John Doe <jdoe@machine(comment).  example>") == [mailbox("John Doe", "jdoe@machine.example")])
        #expect(parse("Mary Smith\r\n     <mary@example.net>") == [mailbox("Mary Smith", "mary@example.net")])
    }

    @Test func obsoleteRoutesAndSpacing() {
        #expect(parse("Joe <@relay.test,@other.test:joe@where.test>") == [mailbox("Joe", "joe@where.test")])
        #expect(parse("john . doe @ example . org") == [mailbox(nil, "john.doe@example.org")])
    }

    @Test func encodedDisplayNames() {
        #expect(parse("=?utf-8?q?J=C3=B6rg?= <j@example.org>") == [mailbox("Jörg", "j@example.org")])
        #expect(parse("\"=?ISO-8859-1?Q?Andr=E9?= Pirard\" <PIRARD@vm1.ulg.ac.be>") == [
            mailbox("André Pirard", "PIRARD@vm1.ulg.ac.be")
        ])
        #expect(parse("=?KOI8-R?B?8NLJ18XU?= <p@example.ru>") == [mailbox("Привет", "p@example.ru")])
    }

    @Test func malformedInputStillYieldsWhatItCan() {
        #expect(parse("Big Bug bb@bug.com") == [mailbox("Big Bug", "bb@bug.com")])
        #expect(parse("tim@a.com concierge@a.com") == [mailbox(nil, "tim@a.com"), mailbox(nil, "concierge@a.com")])
        #expect(parse("Mail Delivery Subsystem") == [mailbox("Mail Delivery Subsystem", "")])
        #expect(parse("root") == [mailbox(nil, "root")])
        #expect(parse("<>") == [])
        #expect(parse(",,, ; :") == [])
        #expect(parse("\"unterminated <a@b.c>") == [mailbox("unterminated", "a@b.c")])
        #expect(parse("Ann <a@example.org") == [mailbox("Ann", "a@example.org")])
        #expect(MailAddress.parseList([0x41, 0xE9, 0x20, 0x3C, 0x61, 0x40, 0x62, 0x3E]) == [mailbox("A\u{e9}", "a@b")])
    }
}
