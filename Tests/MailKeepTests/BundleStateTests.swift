import Foundation
import Testing
@testable import MailKeepIO
@testable import MailKeepArchive

/// `STATE.tsv` and the increment's header read back exactly what was written, and refuse by
/// line what a writer never produces.
@Suite struct BundleStateTests {
    static func readAll(_ text: String, holders: Int = 3) throws -> [StateLine] {
        var lines: [StateLine] = []
        let reader = StateFile.Reader(path: "b.tar.xz/STATE.tsv", holders: holders) { _, line in lines.append(line) }
        try reader.write(Array(text.utf8))
        try reader.finish()
        return lines
    }

    @Test func linesRoundTripWithEscapes() throws {
        let written = [
            StateLine(holder: 0, entry: 0, folder: "", flags: "S", isNew: false, received: 1_709_285_400),
            StateLine(holder: 2, entry: 17, folder: "Archive/Tab\there\\and\nnewline\r", flags: "FRSa", isNew: false,
                      received: -5, keywords: ["$Forwarded", "Wichtig"], name: "1700000000.M1P2.host"),
            StateLine(holder: 1, entry: 3, folder: "Ünïcode", flags: "", isNew: true, received: nil),
        ]
        var text = StateFile.firstLine + "\n"
        for line in written { text += String(decoding: StateFile.encode(line), as: UTF8.self) }
        #expect(try Self.readAll(text) == written)
    }

    @Test(arguments: [
        ("0\t0\t\tS\t0\t1\t", "where there are 8"), // one field short
        ("3\t0\t\tS\t0\t1\t\t", "bundle 3"),     // a holder the chain lacks
        ("0\t-1\t\tS\t0\t1\t\t", "negative"),
        ("0\t0\t\tS/\t0\t1\t\t", "flag letters"),
        ("0\t0\t\tS\t2\t1\t\t", "new"),
        ("0\t0\t\tS\t0\tnoon\t\t", "received"),
        ("0\t0\tx\\q\tS\t0\t1\t\t", "escape"),
        ("0\t0\t\tS\t0\t1\tbad(name\t", "keyword"),
    ])
    func refusedLinesAreNamed(line: String, reason: String) throws {
        let error = #expect(throws: MailKeepError.self) {
            try Self.readAll(StateFile.firstLine + "\n0\t0\t\t\t0\t\t\t\n" + line + "\n")
        }
        #expect(error?.description.contains("STATE.tsv: line 3: ") == true)
        #expect(error?.description.contains(reason) == true)
    }

    @Test func aListingCutShortIsRefused() throws {
        #expect(throws: MailKeepError.self) { try Self.readAll(StateFile.firstLine + "\n0\t0\t\tS\t0\t1\t\t") }
        #expect(throws: MailKeepError.self) { try Self.readAll("#something else\n") }
    }

    @Test func incrementHeaderNamesItsChain() throws {
        let link = ChainLink(id: BundleID.make(), manifestSHA256: String(repeating: "ab", count: 32), name: "day1.tar.xz",
                             created: 1_764_640_800)
        let header = BundleHeader(created: 1_764_727_200, top: "day2", infoSeparator: ":", sources: ["Maildir"],
                                  id: BundleID.make(), chain: [link])
        #expect(header.version == 3)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let read = try BundleHeader.read(try encoder.encode(header), bundle: "day2.tar.xz")
        #expect(read == header)
        #expect(read.isIncrement)
        // A full bundle stays version 2, which older readers read whole.
        let full = BundleHeader(created: 1, top: "t", infoSeparator: ":", sources: [], id: BundleID.make())
        #expect(full.version == 2)
        #expect(BundleID.isValid(full.id ?? ""))
        // An increment that does not name its chain cannot be read.
        let broken = #"{"format":"mailkeep-bundle","version":3,"sources":[]}"#
        #expect(throws: MailKeepError.self) { try BundleHeader.read(Array(broken.utf8), bundle: "x.tar.xz") }
        // Nor one whose chain names a bundle twice, or names the increment itself.
        let twice = BundleHeader(created: 2, top: "t", infoSeparator: ":", sources: [], id: BundleID.make(), chain: [link, link])
        let error = #expect(throws: MailKeepError.self) { try BundleHeader.read(try encoder.encode(twice), bundle: "x.tar.xz") }
        #expect(String(describing: error).contains("names bundle \(link.id) twice"))
        let ownID = BundleID.make()
        var itself = link
        itself.id = ownID
        let selfNaming = BundleHeader(created: 2, top: "t", infoSeparator: ":", sources: [], id: ownID, chain: [itself])
        let selfError = #expect(throws: MailKeepError.self) { try BundleHeader.read(try encoder.encode(selfNaming), bundle: "x.tar.xz") }
        #expect(String(describing: selfError).contains("names the bundle itself"))
    }
}
