import Foundation
import Testing
@testable import MailKeepIO
@testable import MailKeepFormats
@testable import MailKeepArchive
@testable import MailKeepPipeline

/// The manifest and header types: what they write reads back, hostile values are refused by
/// line, and bundles of the first format version still read.
@Suite struct ManifestFormat {
    static let fixtures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fixtures").path

    func manifest(_ lines: [String]) -> BundleManifest {
        BundleManifest(Array(lines.joined(separator: "\n").utf8))
    }

    let valid = #"{"path":"mail/cur/a:2,S","size":10,"sha256":"\#(String(repeating: "ab", count: 32))","offset":1024,"folder":"","flags":"S","new":false}"#

    /// A written entry reads back with everything it recorded, including the difference
    /// between "no Date header" (null) and "not recorded" (absent).
    @Test func entryRoundTrips() throws {
        var entry = ManifestEntry(path: "mail/A, B/cur/x:2,FS", size: 42, sha256: String(repeating: "0f", count: 32),
                                  folder: "A, B", flags: "FS", isNew: false)
        entry.offset = 4096
        entry.received = 1_709_280_000
        entry.keywords = ["$Forwarded", "Wichtig"]
        entry.facts = RecordedFacts(date: .recorded(nil), from: .recorded(["\"Martin, Alice\" <alice@example.org>"]),
                                    to: .recorded([]), subject: .recorded("Grüße\u{1}"), messageID: .unrecorded)
        entry.fromLine = Array("From alice@example.org Fri Mar  1 08:00:00 2024".utf8)
        entry.mboxHeaders = [0x53, 0x74, 0xFF, 0x0A]
        entry.mboxHeadersOffset = 7
        let line = try JSONEncoder().encode(entry)
        let text = String(decoding: line, as: UTF8.self)
        #expect(text.contains(#""date":null"#) && !text.contains("message_id") && text.contains("mbox_headers_base64"))

        let read = BundleManifest(Array(line))
        #expect(read.problems.isEmpty)
        let back = try #require(read.entries[entry.path])
        #expect(back.size == 42 && back.offset == 4096 && back.received == entry.received && back.keywords == entry.keywords)
        #expect(back.facts.date == .recorded(nil) && back.facts.messageID == .unrecorded)
        #expect(back.facts.from == .recorded(["\"Martin, Alice\" <alice@example.org>"]) && back.facts.to == .recorded([]))
        #expect(back.facts.subject == .recorded("Grüße\u{1}"))
        #expect(back.fromLine == entry.fromLine && back.mboxHeaders == entry.mboxHeaders && back.mboxHeadersOffset == 7)
    }

    /// A received time no ISO 8601 reader accepts (a Maildir file dated in year 36812) is left
    /// out of the line instead of making the line unreadable.
    @Test func unwritableReceivedTimeIsLeftOut() throws {
        var entry = ManifestEntry(path: "mail/cur/x:2,", size: 1, sha256: String(repeating: "0f", count: 32),
                                  folder: "", flags: "", isNew: false)
        entry.received = 1 << 40
        let read = BundleManifest(Array(try JSONEncoder().encode(entry)))
        #expect(read.problems.isEmpty, "\(read.problems)")
        #expect(read.entries["mail/cur/x:2,"]?.received == nil)
    }

    /// Out-of-range numbers are refused by line number and key when read, so no later sum or
    /// conversion of a manifest value can trap.
    @Test(arguments: [
        (#""size":10"#, #""size":9223372036854775807"#, "size"),
        (#""size":10"#, #""size":-1"#, "size"),
        (#""offset":1024"#, #""offset":9223372036854775296"#, "offset"),
        (#""offset":1024"#, #""offset":1000"#, "offset"),
        (#""offset":1024"#, #""offset":1536.5"#, "not JSON"),
        (#""new":false"#, #""new":false,"mbox_headers":"Status: O\n","mbox_headers_offset":11"#, "mbox_headers_offset"),
        (#""new":false"#, #""new":false,"mbox_index":-3"#, "mbox_index"),
        (#""new":false"#, #""new":false,"received":"yesterday""#, "received"),
        (#""abab"#, #""ABAB"#, "sha256"),
        // Flags become file names on restore: a '/' or an escape sequence there is refused.
        (#""flags":"S""#, #""flags":"S/../x""#, "flags"),
        (#""flags":"S""#, #""flags":"S\u001b[2J""#, "flags"),
    ])
    func outOfRangeValuesAreRefusedByLine(_ original: String, _ replacement: String, _ reason: String) {
        let hostile = valid.replacingOccurrences(of: original, with: replacement)
        #expect(hostile != valid)
        let read = manifest([valid.replacingOccurrences(of: "/a:", with: "/b:"), hostile])
        #expect(Array(read.order) == ["mail/cur/b:2,S"])
        #expect(read.problems.count == 1)
        #expect(read.problems.first?.line == 2)
        // The key at fault is named; Foundation calls a number that is not an integer "not JSON".
        let what = read.problems.first?.what ?? ""
        #expect(what.hasPrefix("line 2 is not a valid entry: \"\(reason)\"") || what == "line 2 is not a valid entry: \(reason)", "\(what)")
    }

    /// A line longer than a reader accepts is passed over by number, without being decoded,
    /// and the lines after it still read.
    @Test func overlongLineIsRefusedByNumber() {
        let huge = valid.replacingOccurrences(of: #""new":false"#, with: #""new":false,"subject":""# + String(repeating: "x", count: BundleManifest.longestLine) + #"""#)
        let read = manifest([valid, huge, valid.replacingOccurrences(of: "/a:", with: "/c:")])
        #expect(Array(read.order) == ["mail/cur/a:2,S", "mail/cur/c:2,S"])
        #expect(read.problems.map(\.line) == [2])
        #expect(read.problems.first?.what == "line 2 is longer than 16 MiB; not read")
    }

    /// A manifest streamed into a scratch file in small pieces reads as the same bytes held
    /// whole: entries by path and in order, a duplicate path reported with its entry, an overlong
    /// line refused by number without being held, a last line without a newline kept.
    @Test func streamedManifestReadsAsWhole() throws {
        let huge = valid.replacingOccurrences(of: #""new":false"#, with: #""new":false,"subject":""# + String(repeating: "x", count: BundleManifest.longestLine + 1) + #"""#)
        let c = valid.replacingOccurrences(of: "/a:", with: "/c:")
        let text = Array(([valid, huge, "", c, valid, "not json"].joined(separator: "\n") + "\n" + c.replacingOccurrences(of: "/c:", with: "/d:")).utf8)
        let builder = try BundleManifest.Builder.spooled()
        for start in stride(from: 0, to: text.count, by: 1 << 16 - 7) {
            text[start..<min(text.count, start + (1 << 16 - 7))].withUnsafeBytes { builder.append($0) }
        }
        let streamed = builder.finish()
        let whole = BundleManifest(text)
        for read in [streamed, whole] {
            #expect(Array(read.order) == ["mail/cur/a:2,S", "mail/cur/c:2,S", "mail/cur/d:2,S"])
            #expect(read.entries.count == 3 && read.entries.map(\.path) == Array(read.order))
            #expect(read.entries["mail/cur/c:2,S"]?.offset == 1024 && read.entries["mail/cur/b:2,S"] == nil)
            #expect(read.problems.map(\.line) == [2, 5, 6])
            #expect(read.problems.first?.what == "line 2 is longer than 16 MiB; not read")
            #expect(read.problems[1].duplicate?.path == "mail/cur/a:2,S" && read.problems[1].what == "line 5: mail/cur/a:2,S is listed twice")
        }
    }

    /// A header with a version above the one this mailkeep knows is refused; unknown keys are
    /// not; a separator that could split names into paths is.
    @Test func headerVersionsAndSeparators() throws {
        let header = BundleHeader(created: 1_700_000_000, top: "mail", infoSeparator: "!", sources: ["/home/a/Mail"])
        let bytes = Array(try JSONEncoder().encode(header))
        #expect(try BundleHeader.read(bytes, bundle: "b.tar.xz") == header)
        let text = String(decoding: bytes, as: UTF8.self)
        let newer = text.replacingOccurrences(of: #""version":2"#, with: #""version":3,"later":{"x":1}"#)
        #expect(newer != text)
        #expect(throws: MailKeepError.self) { try BundleHeader.read(Array(newer.utf8), bundle: "b.tar.xz") }
        let extra = text.replacingOccurrences(of: #""version":2"#, with: #""version":2,"later":{"x":1}"#)
        #expect(try BundleHeader.read(Array(extra.utf8), bundle: "b.tar.xz").infoSeparator == "!")
        let slash = text.replacingOccurrences(of: #""info_separator":"!""#, with: #""info_separator":"/""#)
        #expect(slash != text)
        #expect(throws: MailKeepError.self) { try BundleHeader.read(Array(slash.utf8), bundle: "b.tar.xz") }
    }

    /// A manifest whose sizes and offsets are near Int64.max, in a bundle every tool reads:
    /// nothing traps, each bad line is named, and its message is still restored by name.
    @Test func hostileManifestValuesDoNotTrap() throws {
        let scratch = try ScratchDirectory()
        try makeMaildirTree(at: scratch.file("Mail"))
        let bundle = scratch.file("mail.tar")
        try packBundle([scratch.file("Mail")], to: bundle, options: BundleOptions(compression: .none))
        let tar = try TarMembers(try [UInt8](Data(contentsOf: URL(fileURLWithPath: bundle))))
        var lines = tar.content(of: try tar.member("/MANIFEST.jsonl")).split(separator: UInt8(ascii: "\n")).map { String(decoding: $0, as: UTF8.self) }
        let victim = try #require(BundleManifest(Array(lines[1].utf8)).order.first)
        lines[1] = lines[1].replacingOccurrences(of: #""size":\d+"#, with: #""size":9223372036854775807"#, options: .regularExpression)
        lines[2] = lines[2].replacingOccurrences(of: #""offset":\d+"#, with: #""offset":9223372036854775296"#, options: .regularExpression)
        let hostile = scratch.file("hostile.tar.xz")
        try systemXZ(try retarred(tar.tar, replacing: "/MANIFEST.jsonl", with: Array((lines.joined(separator: "\n") + "\n").utf8)), to: hostile)

        let log = WarningLog()
        let reader = try BundleReader(path: hostile, log: log)
        #expect(log.warnings.filter { $0.message.contains("is not a valid entry") }.map(\.message).map { $0.prefix(7) } == ["line 2 ", "line 3 "])
        var underOneMiB = Selection()
        underOneMiB.maxSize = 1 << 20
        var restored: [String] = []
        try reader.forEachSelected(underOneMiB) { meta, _, _ in restored.append(meta.source) }
        #expect(restored.count == 8)
        #expect(log.warnings.contains { $0.file.hasSuffix("[" + victim + "]") && $0.message.contains("not in the manifest") })

        let report = try verifyBundle(hostile, log: WarningLog())
        #expect(report.problems.contains { $0.path == "MANIFEST.jsonl" && $0.what.hasPrefix("line 2 is not a valid entry: \"size\"") })
        #expect(report.problems.contains { $0.path == "MANIFEST.jsonl" && $0.what.hasPrefix("line 3 is not a valid entry: \"offset\"") })
    }

    /// fixtures/bundle/version-1.tar.xz, packed by the first mailpack (format version 1: from
    /// and to joined into one string, no null for a missing Date or Message-ID), reads: every
    /// message comes back, and a selection on addresses reads the messages instead of trusting
    /// the joined strings.
    @Test func versionOneBundleStillReads() throws {
        let path = Self.fixtures + "/bundle/version-1.tar.xz"
        let log = WarningLog()
        let reader = try BundleReader(path: path, log: log)
        #expect(log.problemCount == 0, "\(log.warnings)")
        #expect(reader.header?.version == 1 && reader.order.count == 14)
        for entry in reader.entries.values {
            #expect(entry.facts.from == .unrecorded && entry.facts.to == .unrecorded, "\(entry.path)")
            #expect(entry.facts.subject != .unrecorded)
        }
        #expect(try verifyBundle(path, log: WarningLog()).ok)

        // "Team" is the first address of a message also sent to bob: the joined string starts
        // with the first, yet `--to ^bob` is about each address.
        var toBob = Selection()
        toBob.to = [try TextPattern("^bob@", regex: true)]
        let candidates = try #require(reader.candidates(for: toBob))
        #expect(candidates.count == reader.order.count)
        var viaManifest: [String] = []
        try reader.forEachSelected(toBob, among: candidates, index: try XZBlockIndex(path: path)) { meta, _, _ in
            viaManifest.append(meta.source)
        }
        var byReading: [String] = []
        try reader.forEachSelectedByReading(toBob) { meta, _, _ in byReading.append(meta.source) }
        #expect(viaManifest.sorted() == byReading.sorted())
        #expect(byReading.contains { $0.hasSuffix("/several-recipients.eml") || $0.contains("several") }, "\(byReading)")

        let scratch = try ScratchDirectory()
        let restoreLog = try unpackBundle(path, to: scratch.file("Back"), format: .maildir)
        #expect(restoreLog.problemCount == 0)
        #expect(try maildirSnapshot(scratch.file("Back")).count == 14)
    }
}
