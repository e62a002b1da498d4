import Testing
@testable import MailKeepIO
@testable import MailKeepFormats
@testable import MailKeepArchive
@testable import MailKeepPipeline

@Suite struct HeaderDateTests {
    /// 1997-11-21 09:55:06 UTC, the moment of most RFC 5322 appendix examples.
    static let rfcExampleUTC: Int64 = 880_106_106

    static let rfc5322Cases: [(String, Int64, Int)] = [
        // RFC 5322 appendix A
        ("Fri, 21 Nov 1997 09:55:06 -0600", rfcExampleUTC + 6 * 3600, -360),
        ("Tue, 1 Jul 2003 10:52:37 +0200", 1_057_056_757 - 2 * 3600, 120),
        ("Thu,\r\n      13\r\n        Feb\r\n          1969\r\n      23:32\r\n               -0330 (Newfoundland Time)",
         -27_736_080 + 3 * 3600 + 1800, -210),
        // RFC 5322 §4.3 obsolete forms
        ("21 Nov 97 09:55:06 GMT", rfcExampleUTC, 0),
        ("Fri, 21 Nov 1997 09(comment):   55  :  06 -0600", rfcExampleUTC + 6 * 3600, -360),
        ("Fri, 21 Nov 097 09:55:06 UT", rfcExampleUTC, 0),
        ("Fri, 21 Nov 1997 09:55:06 EST", rfcExampleUTC + 5 * 3600, -300),
        ("Fri, 21 Nov 1997 09:55:06 EDT", rfcExampleUTC + 4 * 3600, -240),
        ("Fri, 21 Nov 1997 09:55:06 CST", rfcExampleUTC + 6 * 3600, -360),
        ("Fri, 21 Nov 1997 09:55:06 MDT", rfcExampleUTC + 6 * 3600, -360),
        ("Fri, 21 Nov 1997 09:55:06 pst", rfcExampleUTC + 8 * 3600, -480),
        ("Fri, 21 Nov 1997 09:55:06 PDT", rfcExampleUTC + 7 * 3600, -420),
        ("Fri, 21 Nov 1997 09:55:06 Q", rfcExampleUTC, 0),
        ("Fri, 21 Nov 1997 09:55:06 -0000", rfcExampleUTC, 0),
        // Real-world shapes
        ("Fri, 21 Nov 1997 09:55 +0000", rfcExampleUTC - 6, 0),
        ("21 Nov 1997 09:55:06 +0000", rfcExampleUTC, 0),
        ("  Fri,   21   NOV   1997   09:55:06   +0000  ", rfcExampleUTC, 0),
        ("fri, 21 nov 1997 09:55:06 +0000 (UTC)", rfcExampleUTC, 0),
        ("Fri, 21 Nov 1997 09:55:06 +0100 (CET) garbage 12:00 1999", rfcExampleUTC - 3600, 60),
        ("Friday, 21 November 1997 09:55:06 +0000", rfcExampleUTC, 0),
        ("Fri, 21 Nov 1997 09:55:06.123 +0000", rfcExampleUTC, 0),
        ("Fri, 21 Nov 1997 9:55:06 PM +0000", rfcExampleUTC + 12 * 3600, 0),
        ("Fri Nov 21 09:55:06 1997", rfcExampleUTC, 0),
        ("Fri, 21 Nov 1997 09:55:06 MET", rfcExampleUTC, 0),
        ("Fri, 21-Nov-1997 09:55:06 +0000", rfcExampleUTC, 0),
        ("Sun, 29 Feb 2004 12:00:00 +0000", 1_078_056_000, 0),
        ("1 Jan 49 00:00:00 +0000", 2_493_072_000, 0),
        ("1 Jan 50 00:00:00 +0000", -631_152_000, 0),
        ("1 Jan 03 00:00 +0000", 1_041_379_200, 0),
    ]

    @Test(arguments: rfc5322Cases)
    func parsesRFC5322(_ text: String, _ seconds: Int64, _ offset: Int) {
        let date = MailDate.parse(rfc5322: text)
        #expect(date == MailDate(unixSeconds: seconds, zoneOffsetMinutes: offset), "\(text)")
    }

    @Test(arguments: [
        "", "garbage", "Fri, 31 Feb 1997 09:55:06 +0000", "Fri, 21 Nov 1997 25:55:06 +0000",
        "Fri, 21 1997 09:55:06 +0000", "Fri, 0 Nov 1997 10:00 +0000", "\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}",
    ])
    func rejectsInvalid(_ text: String) {
        #expect(MailDate.parse(rfc5322: text) == nil, "\(text)")
    }

    static let asctimeCases: [(String, Int64, Int)] = [
        ("Sat Jan  3 01:05:34 1996", 820_631_134, 0),
        ("Sat Jan 3 01:05:34 1996", 820_631_134, 0),
        ("Sat Jan  3 01:05:34 1996 +0100", 820_631_134 - 3600, 60),
        ("Sat Jan  3 01:05:34 PST 1996", 820_631_134 + 8 * 3600, -480),
        ("Sat Jan  3 01:05:34 1996 remote from nowhere", 820_631_134, 0),
        ("Sat Jan  3 01:05 1996", 820_631_134 - 34, 0),
    ]

    @Test(arguments: asctimeCases)
    func parsesAsctime(_ text: String, _ seconds: Int64, _ offset: Int) {
        #expect(MailDate.parse(asctime: text) == MailDate(unixSeconds: seconds, zoneOffsetMinutes: offset), "\(text)")
    }

    @Test(arguments: [
        "From jan@mar.org Sat Jan  3 01:05:34 1996",
        "From jan@mar.org Sat Jan  3 01:05:34 1996\n",
        "From - Sat Jan  3 01:05:34 1996\r\n",
        "From \"Mar Jan\"@example.org  Sat Jan  3 01:05:34 1996",
        "From MAILER-DAEMON Sat Jan 3 01:05:34 1996",
        "From jan at mar.org  Sat Jan  3 01:05:34 1996",
    ])
    func parsesFromLines(_ line: String) {
        #expect(MailDate.parse(fromLine: line)?.unixSeconds == 820_631_134, "\(line)")
    }

    @Test func fromLineWithoutDateIsNil() {
        #expect(MailDate.parse(fromLine: "From someone") == nil)
        #expect(MailDate.parse(fromLine: "From ") == nil)
    }

    @Test func civilDaysMatchKnownDates() {
        #expect(daysFromCivil(year: 1970, month: 1, day: 1) == 0)
        #expect(daysFromCivil(year: 2000, month: 3, day: 1) == 11_017)
        #expect(daysFromCivil(year: 1969, month: 12, day: 31) == -1)
    }
}

@Test func impossibleZoneOffsetCountsAsUTC() {
    // Seen in the linux-mips archive: "-3100 (PDT)".
    #expect(MailDate.parse(rfc5322: "Tue, 30 Sep 1997 18:02:51 -3100 (PDT)")?.unixSeconds == 875_642_571)
}
