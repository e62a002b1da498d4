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

    /// What a history gives back, as (folder, flags, content SHA-256) lines, sorted.
    static func census(_ bundles: [String], asOf: Int64?, deleted: Bool = false) throws -> [String] {
        let log = WarningLog()
        let history = try BundleHistory(try bundles.map { try BundleReader(path: $0, log: log) }, asOf: asOf, deleted: deleted, log: log)
        var lines: [String] = []
        try history.forEachMessage { meta, content in
            lines.append("\(meta.folderPath)\t\(meta.flags)\t\(ContentHasher.sha256Hex(of: content))")
        }
        #expect(log.problemCount == 0, "\(log.warnings.map(\.message))")
        return lines.sorted()
    }

    /// Each state of a history as (unique name, folder, flags) lines, sorted: the name a line
    /// gives, else the one in the path of the entry holding the message, as the next
    /// increment's writer reads it to know unchanged files.
    static func names(_ bundles: [String]) throws -> [[String]] {
        let log = WarningLog()
        let history = try BundleHistory(try bundles.map { try BundleReader(path: $0, log: log) }, log: log)
        return try history.members.indices.map { state in
            var lines: [String] = []
            try history.forEachResolvedLine(ofState: state) { _, line, holder, _ in
                let holding = history.members[holder].bundle
                let path = holding.manifest.entry(atLine: line.entry)?.path ?? ""
                let unique = line.name ?? MaildirName.parse(FileSystem.baseName(path), extraSeparator: holding.infoSeparator).unique
                lines.append("\(unique)\t\(line.folder)\t\(line.flags)")
            }
            return lines.sorted()
        }
    }

    @Test func aConsolidatedHistoryAnswersForEveryStateOfTheChain() throws {
        let chain = try BundleHistoryTests.Chain()
        let days = [chain.day1, chain.day2, chain.day3]
        let full = chain.dir.file("full.tar.xz")
        let packed = runCommand(MailPack.self, ["--consolidate", "--keep-history", chain.day3, chain.day1, chain.day2, "-o", full, "--verify"])
        #expect(packed.status == 0, "\(packed.standardError)")

        let reader = try BundleReader(path: full, log: WarningLog())
        let header = try #require(reader.header)
        #expect(header.version == 3 && header.chain == nil)
        // Its own state is day3's, taken when day3 was.
        #expect(header.created == BundleHistoryTests.Chain.created[2])
        #expect(header.history?.map(\.created) == Array(BundleHistoryTests.Chain.created.prefix(2)))
        #expect(header.history?.map(\.id) == chain.links.prefix(2).map(\.id))
        #expect(header.history?.map(\.name) == ["day1.tar.xz", "day2.tar.xz"])
        #expect(header.history?.map(\.state) == ["STATES/000.tsv", "STATES/001.tsv"])
        // Each content once: messages 1 to 5, whichever states held them.
        #expect(reader.manifest.order.count == 5)

        for created in BundleHistoryTests.Chain.created {
            #expect(try Self.census([full], asOf: created) == Self.census(days, asOf: created), "as of \(created)")
            #expect(try Self.census([full], asOf: created, deleted: true) == Self.census(days, asOf: created, deleted: true), "deleted as of \(created)")
        }
        #expect(try Self.census([full], asOf: nil) == Self.census(days, asOf: nil))
        #expect(try Self.census([full], asOf: nil, deleted: true).count == 2)
        #expect(try Self.names([full]) == Self.names(days))

        // Every state's holder is the bundle itself, named by its file; older states go by the
        // names of the bundles they were.
        let history = try BundleHistory([reader], log: WarningLog())
        #expect(history.members.map(\.name) == ["day1.tar.xz", "day2.tar.xz", "full.tar.xz"])
        #expect(history.members.allSatisfy { $0.holders == [2] })
        let first = try #require(try history.lifetime(ofContent: historyMessage(1).content.withUnsafeBytes { ContentHasher.sha256Hex(of: $0) }))
        #expect(first.holders == [2] && first.first == 0 && first.last == 1)
    }

    /// Two messages the chain stored under one name (the first deleted, the second delivered
    /// under its name) cannot share a path in one bundle: the second is renamed, and the state
    /// lines naming it say the name it had.
    @Test func aMessageRenamedInTheConsolidatedBundleKeepsItsNameInEveryState() throws {
        let dir = try ScratchDirectory()
        let unique = "1767225601.M1P1.host"
        let link = try HandMadeBundle(top: "day1", created: 1_767_300_000, messages: [historyMessage(1, unique: unique)])
            .write(to: dir.file("day1.tar.xz"))
        try HandMadeBundle(top: "day2", created: 1_767_400_000, chain: [link], messages: [historyMessage(2, unique: unique)],
                           state: [StateLine(holder: 1, entry: 0, folder: "", flags: "S", isNew: false, received: 1_767_225_600)])
            .write(to: dir.file("day2.tar.xz"))
        let days = [dir.file("day1.tar.xz"), dir.file("day2.tar.xz")]
        let full = dir.file("full.tar.xz")
        let packed = runCommand(MailPack.self, ["--consolidate", "--keep-history"] + days + ["-o", full])
        #expect(packed.status == 0, "\(packed.standardError)")
        let paths = try BundleReader(path: full, log: WarningLog()).manifest.entries.map(\.path)
        #expect(paths.count == 2 && Set(paths).count == 2)
        #expect(try Self.names([full]) == Self.names(days))
        #expect(try Self.names([full]).allSatisfy { $0 == ["\(unique)\t\tS"] })
        for created: Int64 in [1_767_300_000, 1_767_400_000] {
            #expect(try Self.census([full], asOf: created) == Self.census(days, asOf: created))
        }
    }

    /// One full bundle is a chain with no older state: what keeps its history is a full bundle.
    @Test func aChainOfOneFullBundleKeepsNoHistory() throws {
        let chain = try BundleHistoryTests.Chain()
        let full = chain.dir.file("full.tar.xz")
        let packed = runCommand(MailPack.self, ["--consolidate", "--keep-history", chain.day1, "-o", full, "--verify"])
        #expect(packed.status == 0, "\(packed.standardError)")
        let header = try #require(try BundleReader(path: full, log: WarningLog()).header)
        #expect(header.version == 2 && header.history == nil && header.chain == nil)
        #expect(try Self.census([full], asOf: nil) == Self.census([chain.day1], asOf: nil))
    }

    @Test func aConsolidatedHistoryIsConsolidatedAgainWithItsStatesFirst() throws {
        let chain = try BundleHistoryTests.Chain()
        let days = [chain.day1, chain.day2, chain.day3]
        let first = chain.dir.file("first.tar.xz")
        #expect(runCommand(MailPack.self, ["--consolidate", "--keep-history", chain.day1, chain.day2, "-o", first]).status == 0)
        // An increment on the consolidated bundle takes the place day3 had: the same state,
        // naming what it already holds by its own manifest's lines.
        let firstReader = try BundleReader(path: first, log: WarningLog())
        let firstHeader = try #require(firstReader.header)
        let link = ChainLink(id: try #require(firstHeader.id), manifestSHA256: try #require(firstReader.manifestSHA256),
                             name: "first.tar.xz", created: firstHeader.created)
        func entry(holding n: Int) throws -> Int {
            let sha = historyMessage(n).content.withUnsafeBytes { ContentHasher.sha256Hex(of: $0) }
            return try #require((0..<firstReader.manifest.order.count).first { firstReader.manifest.entry(atLine: $0)?.sha256 == sha })
        }
        let state = [
            StateLine(holder: 0, entry: try entry(holding: 3), folder: "Archive", flags: "FS", isNew: false, received: 1_767_225_603),
            StateLine(holder: 0, entry: try entry(holding: 4), folder: "", flags: "S", isNew: false, received: 1_767_225_604),
            StateLine(holder: 1, entry: 0, folder: "", flags: "", isNew: true, received: 1_767_225_605),
        ]
        let next = chain.dir.file("next.tar.xz")
        try HandMadeBundle(top: "next", created: try #require(firstHeader.created) + 10, chain: [link],
                           messages: [historyMessage(5, from: "bob@example.org")], state: state).write(to: next)
        #expect(try Self.census([first, next], asOf: nil) == Self.census(days, asOf: nil))

        let again = chain.dir.file("again.tar.xz")
        let packed = runCommand(MailPack.self, ["--consolidate", "--keep-history", first, next, "-o", again, "--verify"])
        #expect(packed.status == 0, "\(packed.standardError)")
        let header = try #require(try BundleReader(path: again, log: WarningLog()).header)
        #expect(header.history?.map(\.name) == ["day1.tar.xz", "first.tar.xz"])
        #expect(header.history?.map(\.created) == Array(BundleHistoryTests.Chain.created.prefix(2)))
        for created in BundleHistoryTests.Chain.created.prefix(2) {
            #expect(try Self.census([again], asOf: created) == Self.census(days, asOf: created), "as of \(created)")
            #expect(try Self.census([again], asOf: created, deleted: true) == Self.census(days, asOf: created, deleted: true))
        }
        #expect(try Self.census([again], asOf: nil) == Self.census(days, asOf: nil))
        #expect(try Self.census([again], asOf: nil, deleted: true) == Self.census(days, asOf: nil, deleted: true))
    }
}
