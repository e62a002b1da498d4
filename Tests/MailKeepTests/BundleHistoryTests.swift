import Foundation
import Testing
@testable import MailKeepIO
@testable import MailKeepFormats
@testable import MailKeepArchive
@testable import MailKeepPipeline
@testable import MailKeepCommands

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

/// Restoring and listing a history: the newest state, a state as of a date, what was deleted,
/// and chains that cannot be read as given.
@Suite struct BundleHistoryTests {
    /// day1 (full): 1, 2, 3. day2: 2 deleted, 3 moved to Archive and flagged, 4 new.
    /// day3: 1 deleted, 5 new (from bob).
    struct Chain {
        let dir: ScratchDirectory
        var day1: String { dir.file("day1.tar.xz") }
        var day2: String { dir.file("day2.tar.xz") }
        var day3: String { dir.file("day3.tar.xz") }
        let links: [ChainLink]
        static let created: [Int64] = [1_767_300_000, 1_767_400_000, 1_767_500_000]

        init(day3State: String? = nil, blockPerMessage: Bool = false) throws {
            dir = try ScratchDirectory()
            var full = HandMadeBundle(top: "day1", created: Self.created[0], messages: [historyMessage(1), historyMessage(2), historyMessage(3)])
            full.blockPerMessage = blockPerMessage
            let link1 = try full.write(to: dir.file("day1.tar.xz"))
            let day2State = [
                StateLine(holder: 0, entry: 0, folder: "", flags: "S", isNew: false, received: 1_767_225_601),
                StateLine(holder: 0, entry: 2, folder: "Archive", flags: "FS", isNew: false, received: 1_767_225_603),
                StateLine(holder: 1, entry: 0, folder: "", flags: "S", isNew: false, received: 1_767_225_604),
            ]
            let link2 = try HandMadeBundle(top: "day2", created: Self.created[1], chain: [link1], messages: [historyMessage(4)],
                                           state: day2State).write(to: dir.file("day2.tar.xz"))
            let day3Lines = [
                StateLine(holder: 0, entry: 2, folder: "Archive", flags: "FS", isNew: false, received: 1_767_225_603),
                StateLine(holder: 1, entry: 0, folder: "", flags: "S", isNew: false, received: 1_767_225_604),
                StateLine(holder: 2, entry: 0, folder: "", flags: "", isNew: true, received: 1_767_225_605),
            ]
            var day3 = HandMadeBundle(top: "day3", created: Self.created[2], chain: [link1, link2],
                                      messages: [historyMessage(5, from: "bob@example.org")], state: day3Lines)
            day3.stateText = day3State
            let link3 = try day3.write(to: dir.file("day3.tar.xz"))
            links = [link1, link2, link3]
        }
    }

    /// The restored messages by subject number, with the folder and flags each came back with.
    static func restored(_ root: String) throws -> [Int: String] {
        var out: [Int: String] = [:]
        for (path, file) in try maildirSnapshot(root) {
            let text = String(decoding: file.bytes, as: UTF8.self)
            guard let range = text.range(of: "Subject: history "), let n = Int(text[range.upperBound...].prefix { $0.isNumber }) else { continue }
            let parts = path.split(separator: "/")
            // Maildir++ (the restore's default layout): `.Archive`.
            let folder = parts.dropLast(2).joined(separator: "/").drop { $0 == "." }
            let name = String(parts.last ?? "")
            let flags = name.range(of: ":2,").map { String(name[$0.upperBound...]) } ?? ""
            out[n] = (folder.isEmpty ? "INBOX" : folder) + " " + (parts[parts.count - 2] == "new" ? "new" : flags)
        }
        return out
    }

    @Test func theNewestStateIsRestoredInAnyOrderOfArguments() throws {
        let chain = try Chain()
        for order in [[chain.day1, chain.day2, chain.day3], [chain.day3, chain.day1, chain.day2]] {
            let out = chain.dir.file("out-\(order[0].hasSuffix("day1.tar.xz") ? "a" : "b")")
            let result = runCommand(MailRestore.self, order + ["-o", out])
            #expect(result.status == 0, "\(result.standardError)")
            let gotout = try Self.restored(out)
        #expect(gotout == [3: "Archive FS", 4: "INBOX S", 5: "INBOX new"])
        }
    }

    @Test func aDirectoryOfBundlesIsTheHistory() throws {
        let chain = try Chain()
        let out = chain.dir.file("../out-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let result = runCommand(MailRestore.self, [chain.dir.path, "-o", out])
        #expect(result.status == 0, "\(result.standardError)")
        let gotout = try Self.restored(out)
        #expect(gotout == [3: "Archive FS", 4: "INBOX S", 5: "INBOX new"])
    }

    @Test func asOfRestoresTheLastStateAtOrBeforeTheDate() throws {
        let chain = try Chain()
        let between = iso8601UTC(Chain.created[1] + 10)
        let out = chain.dir.file("out")
        let result = runCommand(MailRestore.self, [chain.day1, chain.day2, chain.day3, "-o", out, "--as-of", between])
        #expect(result.status == 0, "\(result.standardError)")
        let gotout = try Self.restored(out)
        #expect(gotout == [1: "INBOX S", 3: "Archive FS", 4: "INBOX S"])
        // Before the first bundle there is no state: a usage error that says where the history begins.
        let early = runCommand(MailRestore.self, [chain.day1, chain.day2, "-o", chain.dir.file("none"), "--as-of", "2020-01-01"])
        #expect(early.status == 64)
        #expect(early.standardError.contains("day1.tar.xz"))
    }

    @Test func deletedGivesBackWhatEarlierStatesHeldAsTheyLastHadIt() throws {
        let chain = try Chain()
        let out = chain.dir.file("out")
        let result = runCommand(MailRestore.self, [chain.day1, chain.day2, chain.day3, "-o", out, "--deleted"])
        #expect(result.status == 0, "\(result.standardError)")
        let gotout = try Self.restored(out)
        #expect(gotout == [1: "INBOX S", 2: "INBOX S"])
        // Combined with selection, and with --as-of: as of day2 only message 2 was gone.
        let out2 = chain.dir.path + "-out2"
        defer { try? FileManager.default.removeItem(atPath: out2) }
        try FileManager.default.removeItem(atPath: out)
        let asOf = runCommand(MailRestore.self, [chain.dir.path, "-o", out2, "--deleted", "--as-of", iso8601UTC(Chain.created[1]), "--subject", "history 2"])
        #expect(asOf.status == 0, "\(asOf.standardError)")
        let gotout2 = try Self.restored(out2)
        #expect(gotout2 == [2: "INBOX S"])
        let none = runCommand(MailScan.self, [chain.day1, chain.day2, chain.day3, "--deleted", "--from", "nobody@example.org"])
        #expect(none.status == 0)
        #expect(none.standardOutput.isEmpty)
        let listed = runCommand(MailScan.self, [chain.day1, chain.day2, chain.day3, "--deleted"])
        #expect(listed.standardOutput.split(separator: "\n").count == 2)
    }

    @Test func aMissingLinkIsNamedAndRefused() throws {
        let chain = try Chain()
        let result = runCommand(MailRestore.self, [chain.day1, chain.day3, "-o", chain.dir.file("out")])
        #expect(result.status == 2)
        #expect(result.standardError.contains("day2.tar.xz (id \(chain.links[1].id))"))
        #expect(!FileManager.default.fileExists(atPath: chain.dir.file("out/cur")))
    }

    @Test func aWrongLinkIsNamedAndRefused() throws {
        let chain = try Chain()
        // Another bundle under day2's name and id: not the one day3 was made against.
        var impostor = HandMadeBundle(top: "day2", created: Chain.created[1], chain: [chain.links[0]], messages: [historyMessage(9)],
                                      state: [StateLine(holder: 1, entry: 0, folder: "", flags: "S", isNew: false, received: 1)])
        impostor.id = chain.links[1].id
        try impostor.write(to: chain.day2)
        let result = runCommand(MailRestore.self, [chain.day1, chain.day2, chain.day3, "-o", chain.dir.file("out")])
        #expect(result.status == 1)
        #expect(result.standardError.contains("day2.tar.xz"))
        #expect(result.standardError.contains("not the bundle this increment was made against"))
    }

    @Test func aStateLinePointingPastTheManifestIsNamedAndTheRestRestored() throws {
        let text = StateFile.firstLine + "\n0\t2\tArchive\tFS\t0\t1767225603\t\t\n0\t7\t\tS\t0\t1\t\t\n2\t0\t\t\t1\t1767225605\t\t\n"
        let chain = try Chain(day3State: text)
        let out = chain.dir.file("out")
        let result = runCommand(MailRestore.self, [chain.day1, chain.day2, chain.day3, "-o", out])
        #expect(result.status == 1)
        #expect(result.standardError.contains("day3.tar.xz[STATE.tsv]: line 3: entry 7 of day1.tar.xz's manifest"))
        let gotout = try Self.restored(out)
        #expect(gotout == [3: "Archive FS", 5: "INBOX new"])
    }

    @Test func damageInAnOlderBundleCostsOnlyTheMessagesItHeld() throws {
        let chain = try Chain(blockPerMessage: true)
        // Message 3 (needed by the newest state) sits in day1's third message block.
        let index = try XZBlockIndex(path: chain.day1)
        // Blocks: the header, then one per message, the manifest, SHA256SUMS.
        #expect(index.blocks.count == 6)
        let block = index.blocks[3]
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: chain.day1)))
        bytes[Int(block.compressedOffset + block.totalSize / 2)] ^= 0x55
        try writeFile(chain.day1, bytes)
        let out = chain.dir.file("out")
        let result = runCommand(MailRestore.self, [chain.day1, chain.day2, chain.day3, "-o", out])
        #expect(result.status == 1)
        #expect(result.standardError.contains("day1.tar.xz"))
        #expect(result.standardError.contains("h3@example.org"))
        let gotout = try Self.restored(out)
        #expect(gotout == [4: "INBOX S", 5: "INBOX new"])
    }
}

extension BundleHistoryTests {
    @Test func scanJSONTellsWhereEachMessageLivedInTheHistory() throws {
        let chain = try Chain()
        let result = runCommand(MailScan.self, [chain.day1, chain.day2, chain.day3, "--json"])
        #expect(result.status == 0, "\(result.standardError)")
        let objects = try result.standardOutput.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        func object(_ n: Int) throws -> [String: Any] {
            try #require(objects.first { ($0["subject"] as? String) == "history \(n)" })
        }
        #expect(objects.count == 3)
        let moved = try object(3)
        #expect(moved["folder"] as? String == "Archive")
        #expect(moved["bundles"] as? [String] == ["day1.tar.xz"])
        #expect((moved["first_state"] as? [String: Any])?["bundle"] as? String == "day1.tar.xz")
        #expect((moved["last_state"] as? [String: Any])?["bundle"] as? String == "day3.tar.xz")
        #expect((try object(4)["first_state"] as? [String: Any])?["created"] as? String == iso8601UTC(Chain.created[1]))
        // A deleted message's last state is the last bundle that held it.
        let deleted = runCommand(MailScan.self, [chain.day1, chain.day2, chain.day3, "--json", "--deleted", "--subject", "history 1"])
        let line = try #require(try JSONSerialization.jsonObject(with: Data(deleted.standardOutput.utf8)) as? [String: Any])
        #expect((line["last_state"] as? [String: Any])?["bundle"] as? String == "day2.tar.xz")
    }
}

extension BundleHistoryTests {
    @Test func mailverifyChecksTheChainAndTheNewestStateWhole() throws {
        let chain = try Chain()
        let good = runCommand(MailVerify.self, [chain.dir.path])
        #expect(good.status == 0, "\(good.standardOutput)")
        #expect(good.standardOutput.contains("history, 3 messages checked, all good"))
        // A link not given is a problem found here, named with its id.
        let missing = runCommand(MailVerify.self, [chain.day1, chain.day3])
        #expect(missing.status == 1)
        #expect(missing.standardOutput.contains("day2.tar.xz (id \(chain.links[1].id))"))
    }

    @Test func mailverifyNamesAStateLinePointingNowhere() throws {
        let text = StateFile.firstLine + "\n0\t2\tArchive\tFS\t0\t1767225603\t\t\n1\t4\t\tS\t0\t1\t\t\n"
        let chain = try Chain(day3State: text)
        let result = runCommand(MailVerify.self, [chain.day1, chain.day2, chain.day3])
        #expect(result.status == 1)
        #expect(result.standardOutput.contains("day3.tar.xz[STATE.tsv]: line 3: entry 4 of day2.tar.xz's manifest"))
        // Each bundle on its own is sound.
        #expect(result.standardOutput.components(separatedBy: "all good").count == 4)
    }
}
