import Foundation
import Testing
@testable import MailKeepIO
@testable import MailKeepFormats
@testable import MailKeepArchive
@testable import MailKeepPipeline

/// A bundle's state and its manifest's SHA-256, as a history and an increment's writer read
/// them: from the xz index, from a plain tar walk, and from an unpacked bundle directory.
@Suite struct BundleStateReadingTests {
    /// A full bundle of three messages and an increment on it that adds one, moves one and
    /// drops one.
    static func chain(in dir: ScratchDirectory, compression: Compression = .xz) throws -> (full: String, incr: String, link: ChainLink, state: [StateLine]) {
        let ext = compression == .xz ? ".tar.xz" : ".tar"
        let full = HandMadeBundle(top: "day1", created: 1_767_300_000, messages: [historyMessage(1), historyMessage(2), historyMessage(3)])
        let link = try full.write(to: dir.file("day1" + ext), compression: compression)
        let state = [
            StateLine(holder: 0, entry: 0, folder: "", flags: "S", isNew: false, received: 1_767_225_601, name: nil),
            StateLine(holder: 0, entry: 2, folder: "Archive", flags: "FS", isNew: false, received: 1_767_225_603, keywords: ["$Forwarded"]),
            StateLine(holder: 1, entry: 0, folder: "", flags: "", isNew: true, received: 1_767_225_604),
        ]
        let incr = HandMadeBundle(top: "day2", created: 1_767_400_000, chain: [link], messages: [historyMessage(4)], state: state)
        try incr.write(to: dir.file("day2" + ext), compression: compression)
        return (dir.file("day1" + ext), dir.file("day2" + ext), link, state)
    }

    static func stateLines(_ bundle: StoredBundle) throws -> [StateLine] {
        var lines: [StateLine] = []
        try bundle.forEachStateLine { _, line in lines.append(line) }
        return lines
    }

    @Test(arguments: [Compression.xz, .none])
    func incrementStateAndManifestSumAreRead(compression: Compression) throws {
        let dir = try ScratchDirectory()
        let made = try Self.chain(in: dir, compression: compression)
        let log = WarningLog()
        let base = try BundleReader(path: made.full, log: log)
        #expect(base.manifestSHA256 == made.link.manifestSHA256)
        #expect(base.bundleID == made.link.id)
        #expect(!base.hasStateListing)
        // A full bundle's state is its manifest, every line held by the bundle itself.
        let baseState = try Self.stateLines(base)
        #expect(baseState.map(\.entry) == [0, 1, 2])
        #expect(baseState.allSatisfy { $0.holder == 0 && $0.flags == "S" && $0.received != nil })

        let incr = try BundleReader(path: made.incr, log: log)
        #expect(incr.hasStateListing)
        #expect(incr.header?.chain == [made.link])
        #expect(try Self.stateLines(incr) == made.state)
        #expect(incr.entries.count == 1)
        // The manifest of an increment is read whole on both paths, STATE.tsv not taken for mail.
        var messages = 0
        try incr.forEachMessage { _, _ in messages += 1 }
        #expect(messages == 1)
        #expect(log.problemCount == 0)
    }

    @Test func theXZIndexFindsTheStateBehindTheManifest() throws {
        let dir = try ScratchDirectory()
        let made = try Self.chain(in: dir)
        let reader = try BundleReader(unverifiedPath: made.incr, threads: 0, log: WarningLog())
        let fast = try #require(try reader.manifestFromXZIndex())
        #expect(fast.manifest.entries.count == 1)
        #expect(reader.hasStateListing)
        #expect(reader.manifestSHA256 != nil)
    }

    @Test func anUnpackedIncrementReadsItsStateAndSum() throws {
        let dir = try ScratchDirectory()
        let made = try Self.chain(in: dir, compression: .none)
        try FileManager.default.createDirectory(atPath: dir.file("x"), withIntermediateDirectories: true)
        #expect(try runTool(["tar", "-xf", made.incr], in: dir.file("x")).status == 0)
        let log = WarningLog()
        let tree = try BundleTree(root: dir.file("x/day2"), log: log)
        #expect(tree.hasStateListing)
        #expect(try Self.stateLines(tree) == made.state)
        let packed = try BundleReader(path: made.incr, log: WarningLog())
        #expect(tree.manifestSHA256 == packed.manifestSHA256)
        #expect(log.problemCount == 0)
        // A listing changed after packing no longer matches SHA256SUMS, and is reported.
        let edited = try String(contentsOfFile: dir.file("x/day2/STATE.tsv"), encoding: .utf8).replacingOccurrences(of: "Archive", with: "Archivf")
        try writeFile(dir.file("x/day2/STATE.tsv"), Array(edited.utf8))
        _ = try Self.stateLines(tree)
        #expect(log.problemCount == 1)
    }

    @Test func aStateLineThatIsNotOneIsRefusedByNumber() throws {
        let dir = try ScratchDirectory()
        let made = try Self.chain(in: dir)
        let broken = HandMadeBundle(top: "day3", created: 1_767_500_000, chain: [made.link],
                                    stateText: StateFile.firstLine + "\n0\t0\t\tS\t0\t1\t\t\n5\t0\t\tS\t0\t1\t\t\n")
        try broken.write(to: dir.file("day3.tar.xz"))
        let reader = try BundleReader(path: dir.file("day3.tar.xz"), log: WarningLog())
        let error = #expect(throws: MailKeepError.self) { _ = try Self.stateLines(reader) }
        #expect(error?.description.contains("day3.tar.xz[STATE.tsv]") == true)
        #expect(error?.description.contains("line 3: bundle 5") == true)
    }

    @Test func manifestLinesKeepTheirNumbersPastAnUnusableLine() throws {
        let good = #"{"flags":"S","folder":"","new":false,"path":"mail/cur/a:2,S","sha256":"\#(String(repeating: "0", count: 64))","size":1}"#
        let other = good.replacingOccurrences(of: "cur/a", with: "cur/b")
        let manifest = BundleManifest(Array((good + "\nnot json\n" + other + "\n").utf8))
        #expect(manifest.entry(atLine: 0)?.path == "mail/cur/a:2,S")
        #expect(manifest.entry(atLine: 1) == nil)
        #expect(manifest.entry(atLine: 2)?.path == "mail/cur/b:2,S")
        #expect(manifest.entry(atLine: 3) == nil)
        var lines: [Int] = []
        manifest.forEachAsState(holder: 0) { number, line in lines.append(line.entry); #expect(number == line.entry + 1) }
        #expect(lines == [0, 2])
    }
}

extension BundleStateReadingTests {
    @Test func contentKeysIndexTheManifestByLine() throws {
        let dir = try ScratchDirectory()
        let made = try Self.chain(in: dir)
        let base = try BundleReader(path: made.full, log: WarningLog())
        var keys: [Int: UInt64] = [:]
        base.manifest.forEachContentKey { line, key in keys[line] = key }
        #expect(keys.count == 3)
        for line in 0..<3 {
            let entry = try #require(base.manifest.entry(atLine: line))
            #expect(keys[line] == ContentKey.of(entry.sha256))
            #expect(base.manifest.contentKey(atLine: line) == keys[line])
        }
    }
}
