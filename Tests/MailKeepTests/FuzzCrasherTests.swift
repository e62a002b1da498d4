import Foundation
import Testing
import MailKeepFuzzing

/// Every input that once made a reader crash under libFuzzer (fixtures/fuzz/crashers/TARGET,
/// written by scripts/fuzz) goes through the same entry point again, here without the
/// sanitizer, and so do the committed seeds (fixtures/fuzz/TARGET). A reader that traps on one
/// of them again stops the test run inside the case that names the file.
struct FuzzCrasherTests {
    static let fuzzFixtures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fixtures/fuzz").path

    /// "TARGET/FILE" for every file below `directory`/TARGET.
    static func inputs(under directory: String) -> [String] {
        FuzzTarget.allCases.flatMap { target in
            let names = (try? FileManager.default.contentsOfDirectory(atPath: "\(directory)/\(target.rawValue)")) ?? []
            return names.filter { !$0.hasPrefix(".") }.sorted().map { "\(target.rawValue)/\($0)" }
        }
    }

    static func replay(_ input: String, under directory: String) throws {
        let target = try #require(FuzzTarget(rawValue: String(input.prefix { $0 != "/" })))
        target.run(Array(try Data(contentsOf: URL(fileURLWithPath: "\(directory)/\(input)"))))
    }

    @Test(arguments: inputs(under: "\(fuzzFixtures)/crashers"))
    func crasherIsReadWithoutTrapping(_ input: String) throws {
        try Self.replay(input, under: "\(Self.fuzzFixtures)/crashers")
    }

    @Test(arguments: inputs(under: fuzzFixtures))
    func seedIsReadWithoutTrapping(_ input: String) throws {
        try Self.replay(input, under: Self.fuzzFixtures)
    }

    @Test func everyTargetHasSeeds() {
        let seeds = Self.inputs(under: Self.fuzzFixtures)
        for target in FuzzTarget.allCases {
            #expect(seeds.filter { $0.hasPrefix("\(target.rawValue)/") }.count >= 4, "fixtures/fuzz/\(target.rawValue)")
        }
    }
}
