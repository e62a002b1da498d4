import Testing
@testable import MailKeepIO
@testable import MailKeepFormats
@testable import MailKeepArchive
@testable import MailKeepPipeline

@Suite struct SelectionSemantics {
    let facts = MessageFacts(date: 1_709_280_000, from: ["Alice Martin <alice@client.example>"], to: ["bob@example.net"],
                             subject: "Signed contract", messageID: "abc@client.example")

    func matches(_ s: Selection, flags: String = "S", folder: [String] = [], size: Int64 = 1000) -> Bool {
        s.matches(MessageMetadata(folder: folder, flags: flags, received: 0), size: size, facts: { facts })
    }

    @Test func differentOptionsAndRepeatedOnesOr() throws {
        var s = Selection()
        s.from = [try TextPattern("ALICE", regex: false), try TextPattern("nobody", regex: false)]
        #expect(matches(s))
        s.subject = [try TextPattern("invoice", regex: false)]
        #expect(!matches(s))
        s.subject.append(try TextPattern("contract", regex: false))
        #expect(matches(s))
    }

    @Test func flagsAndFoldersAndSizes() {
        var s = Selection()
        s.withFlags = ["FS"]
        #expect(!matches(s, flags: "S"))
        #expect(matches(s, flags: "FRS"))
        s.withFlags = ["F", "R"]
        #expect(!matches(s, flags: "S"))
        #expect(matches(s, flags: "RS"))
        s.withFlags = []
        s.withoutFlags = ["T"]
        #expect(!matches(s, flags: "ST"))
        s.withoutFlags = []
        s.folders = ["Archive/*"]
        #expect(matches(s, folder: ["Archive", "2024"]))
        #expect(!matches(s, folder: []))
        s.folders = ["INBOX"]
        #expect(matches(s, folder: []))
        s.folders = []
        s.minSize = 2000
        #expect(!matches(s))
    }

    @Test func datesAreInclusiveSinceExclusiveUntil() {
        var s = Selection()
        s.since = 1_709_280_000
        #expect(matches(s))
        s.until = 1_709_280_000
        #expect(!matches(s))
    }

    @Test func messageIDsAndRegex() throws {
        var s = Selection()
        s.messageIDs = [normalizedMessageID(" <abc@client.example> ")]
        #expect(matches(s))
        s.messageIDs = []
        s.subject = [try TextPattern("^signed (contract|deal)$", regex: true)]
        #expect(matches(s))
        #expect(throws: MailKeepError.self) { _ = try TextPattern("(", regex: true) }
    }

    @Test func sizesAndDates() {
        #expect(parseSize("10k") == Int64(10_240))
        #expect(parseSize("5M") == Int64(5_242_880))
        #expect(parseSize("-1") == nil)
        #expect(parseISO8601("2024-03-01T09:30:00+01:00") == 1_709_281_800)
        #expect(parseISO8601("2024-03-01T08:30:00Z") == 1_709_281_800)
        #expect(parseISO8601("2024-03-01T10:30:00+0200") == 1_709_281_800)
        #expect(parseISO8601("2024-03-01T09:30:00+01") == 1_709_281_800)
    }

    /// Impossible dates, times and zones are refused, never rolled over into another time.
    @Test(arguments: ["2024-02-30", "2023-02-29", "2024-13-01", "2024-01-01T24:00:00Z", "2024-01-01T10:60:00Z",
                      "2024-01-01T10:00:60Z", "2024-01-01T10:00:00+25:00", "2024-01-01T10:00:00+01:60",
                      "2024-01-01T10:00:00+01:00junk", "2024-01-01T10:00:00Zjunk", "2024-01-01T10:00:00+1"])
    func impossibleTimesAreRefused(_ text: String) {
        #expect(parseISO8601(text) == nil)
        #expect(parseSelectionDate(text) == nil)
    }
}
