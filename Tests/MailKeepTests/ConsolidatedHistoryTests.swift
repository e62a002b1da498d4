import Foundation
import Testing
@testable import MailKeepIO
@testable import MailKeepFormats
@testable import MailKeepArchive
@testable import MailKeepPipeline
@testable import MailKeepCommands

/// `mailpack --consolidate --keep-history` (docs/bundle-format.md, "Consolidating a chain"):
/// one bundle that answers for every state of the chain it replaces.
@Suite struct ConsolidatedHistoryTests {
    static func header(_ fields: String) -> [UInt8] {
        Array(#"{"format":"mailkeep-bundle","sources":[],"#.utf8) + Array(fields.utf8) + [0x7D]
    }

    static let kept = #"{"created":"2026-01-02T00:00:00Z","id":"0123456789abcdef0123456789abcdef","name":"day1.tar.xz","state":"STATES/000.tsv"}"#
    static let link = #"{"created":"2026-01-02T00:00:00Z","id":"0123456789abcdef0123456789abcdef","manifest_sha256":"\#(String(repeating: "a", count: 64))","name":"day1.tar.xz"}"#

    @Test func aVersion3HeaderWithoutAChainNeedsAHistory() throws {
        let read = try BundleHeader.read(Self.header(#""version":3,"history":[\#(Self.kept)]"#), bundle: "full.tar.xz")
        #expect(read.history == [HistoryState(created: 1_767_312_000, id: "0123456789abcdef0123456789abcdef", name: "day1.tar.xz", state: "STATES/000.tsv")])
        #expect(read.chain == nil && read.hasStates && !read.isIncrement)
        // What the header rule refuses: version 3 with neither, a history in a version 2
        // header, an empty history, a history beside a chain, a state file outside STATES/,
        // and two states in one file.
        for refused in [
            #""version":3"#,
            #""version":2,"history":[\#(Self.kept)]"#,
            #""version":3,"history":[]"#,
            #""version":3,"history":[\#(Self.kept)],"chain":[\#(Self.link)]"#,
            #""version":3,"history":[\#(Self.kept.replacingOccurrences(of: "STATES/000.tsv", with: "../000.tsv"))]"#,
            #""version":3,"history":[\#(Self.kept),\#(Self.kept)]"#,
        ] {
            #expect(throws: MailKeepError.self, "\(refused)") { try BundleHeader.read(Self.header(refused), bundle: "full.tar.xz") }
        }
        // Written, it reads back the same.
        let written = BundleHeader(created: 1_767_400_000, top: "full", infoSeparator: ":", sources: [], id: BundleID.make(),
                                   history: read.history)
        #expect(written.version == 3)
        let encoder = JSONEncoder()
        #expect(try BundleHeader.read(Array(try encoder.encode(written)), bundle: "full.tar.xz") == written)
    }
}
