import Foundation
import Testing
@testable import MailKeepIO
@testable import MailKeepArchive
@testable import MailKeepCommands

/// What a command printed and how it exited, run in-process.
struct CommandResult {
    var status: Int32
    var standardOutput: String
    var standardError: String
}

func runCommand<C: MailKeepCommand>(_ command: C.Type, _ arguments: [String]) -> CommandResult {
    let out = ByteArraySink()
    let err = ByteArraySink()
    let console = Console(tool: C.toolName, standardOutput: out, standardError: err, errorIsTerminal: false)
    let status = C.runInProcess(arguments, on: console)
    return CommandResult(status: status, standardOutput: String(decoding: out.bytes, as: UTF8.self),
                         standardError: String(decoding: err.bytes, as: UTF8.self))
}

/// The six tools, by name, each run in-process.
let allTools: [(String, @Sendable ([String]) -> CommandResult)] = [
    ("mailconvert", { runCommand(MailConvert.self, $0) }),
    ("mailpack", { runCommand(MailPack.self, $0) }),
    ("mailverify", { runCommand(MailVerify.self, $0) }),
    ("mailscan", { runCommand(MailScan.self, $0) }),
    ("mailpick", { runCommand(MailPick.self, $0) }),
    ("mailrestore", { runCommand(MailRestore.self, $0) }),
]

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().path

@Suite struct CommandLineTests {
    /// `--help` is compared with the committed text in Tests/MailKeepTests/Snapshots; set
    /// MAILKEEP_UPDATE_SNAPSHOTS=1 to rewrite them after a deliberate change.
    @Test(arguments: allTools.map(\.0))
    func helpMatchesSnapshot(_ tool: String) throws {
        let run = try #require(allTools.first { $0.0 == tool }).1
        let result = run(["--help"])
        #expect(result.status == 0)
        #expect(result.standardError.isEmpty)
        #expect(result.standardOutput.contains("USAGE: \(tool)"))
        #expect(result.standardOutput.contains("Exit status:"))
        let snapshot = "\(repositoryRoot)/Tests/MailKeepTests/Snapshots/\(tool).help.txt"
        if ProcessInfo.processInfo.environment["MAILKEEP_UPDATE_SNAPSHOTS"] == "1" {
            try result.standardOutput.write(toFile: snapshot, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOfFile: snapshot, encoding: .utf8)
        #expect(result.standardOutput == expected, "--help of \(tool) differs from \(snapshot)")
    }

    @Test(arguments: allTools.map(\.0))
    func versionIsPrinted(_ tool: String) throws {
        let run = try #require(allTools.first { $0.0 == tool }).1
        let result = run(["--version"])
        #expect(result.status == 0)
        #expect(result.standardOutput == mailkeepVersion + "\n")
    }

    /// Unknown options and bad values are usage errors (64) in every tool, said on stderr.
    @Test(arguments: allTools.map(\.0))
    func usageErrorsExit64(_ tool: String) throws {
        let run = try #require(allTools.first { $0.0 == tool }).1
        let unknown = run(["--no-such-option", "x", "-o", "y"])
        #expect(unknown.status == 64)
        #expect(unknown.standardError.contains("--no-such-option"))
        #expect(unknown.standardOutput.isEmpty)
    }

    @Test func badValuesAreUsageErrors() {
        #expect(runCommand(MailScan.self, ["x", "--since", "yesterday"]).status == 64)
        #expect(runCommand(MailScan.self, ["x", "--regex", "--from", "a("]).status == 64)
        // Impossible dates are refused, not rolled over into the next month or day.
        #expect(runCommand(MailScan.self, ["x", "--until", "2024-02-30"]).status == 64)
        #expect(runCommand(MailScan.self, ["x", "--since", "2023-02-29"]).status == 64)
        #expect(runCommand(MailScan.self, ["x", "--since", "2024-03-01T25:61:00Z"]).status == 64)
        #expect(runCommand(MailScan.self, ["x", "--since", "2024-02-29"]).status != 64)
        #expect(runCommand(MailConvert.self, ["x", "-o", "y", "--info-separator", "ab"]).status == 64)
        #expect(runCommand(MailPack.self, ["x", "-o", "y.tar.xz", "--info-separator", "a"]).status == 64)
        #expect(runCommand(MailConvert.self, ["x"]).status == 64)
        #expect(runCommand(MailRestore.self, ["x", "-o", "-"]).status == 64)
        #expect(runCommand(MailPack.self, ["x", "-o", "-", "--verify"]).status == 64)
        #expect(runCommand(MailPack.self, ["x", "-o", "y.tar.gz", "--compression", "xz"]).status == 64)
    }

    /// A missing source is an I/O error (2) in every tool that reads mail, named in the one
    /// diagnostic format.
    @Test func missingSourceIsAnIOError() throws {
        let scratch = try ScratchDirectory()
        let missing = scratch.file("missing.mbox")
        let cases: [(String, CommandResult)] = [
            ("mailconvert", runCommand(MailConvert.self, [missing, "-o", scratch.file("out")])),
            ("mailpack", runCommand(MailPack.self, [missing, "-o", scratch.file("out.tar.xz")])),
            ("mailverify", runCommand(MailVerify.self, [missing])),
            ("mailscan", runCommand(MailScan.self, [missing])),
            ("mailpick", runCommand(MailPick.self, [missing])),
            ("mailrestore", runCommand(MailRestore.self, [missing, "-o", scratch.file("out")])),
        ]
        for (tool, result) in cases {
            #expect(result.status == 2, "\(tool)")
            #expect(result.standardError == "\(tool): \(missing): open: No such file or directory\n", "\(tool)")
        }
        #expect(!FileManager.default.fileExists(atPath: scratch.file("out.tar.xz")))
    }

    /// A warning is `tool: FILE: offset N: what`, and it makes the exit status 1, never 2.
    @Test func warningsHaveOneFormatAndExit1() throws {
        let scratch = try ScratchDirectory()
        // A name with ':' is quoted so that the line still splits at the first ': '.
        let source = scratch.file("odd: name.mbox")
        try FileManager.default.copyItem(atPath: "\(repositoryRoot)/fixtures/mbox/garbage-before.mbox", toPath: source)
        let scan = runCommand(MailScan.self, [source])
        #expect(scan.status == 1)
        let first = try #require(scan.standardError.split(separator: "\n").first)
        #expect(first.hasPrefix("mailscan: '\(source)': offset 0: "), "\(first)")
        let pick = runCommand(MailPick.self, [source])
        #expect(pick.status == 1)
        #expect(pick.standardOutput.contains("Subject: After the garbage"))
        let convert = runCommand(MailConvert.self, [source, "-o", scratch.file("Mail")])
        #expect(convert.status == 1)
        #expect(convert.standardError.hasPrefix("mailconvert: '\(source)': offset 0: "))
    }

    @Test func mailpickExitsOneWhenNothingMatches() throws {
        let fixture = "\(repositoryRoot)/fixtures/mbox/mboxrd.mbox"
        let none = runCommand(MailPick.self, [fixture, "--subject", "no such subject anywhere"])
        #expect(none.status == 1)
        #expect(none.standardOutput.isEmpty)
        let all = runCommand(MailPick.self, [fixture])
        #expect(all.status == 0)
        #expect(all.standardOutput.hasPrefix("From "))
    }

    /// Text from mail never reaches the terminal raw: an escape sequence in a subject is
    /// printed escaped, and a newline in it cannot forge a line.
    @Test func controlCharactersAreEscapedInListings() throws {
        let scratch = try ScratchDirectory()
        let mbox = scratch.file("evil.mbox")
        try writeFile(mbox, Array("""
            From a@example.org Mon Jan  1 10:00:00 2024
            From: a@example.org
            Subject: =?utf-8?q?hi=1B]0;owned=07=0Afake_line?=
            Date: Mon, 01 Jan 2024 10:00:00 +0000

            body

            """.utf8))
        let result = runCommand(MailScan.self, [mbox])
        #expect(result.status == 0)
        #expect(!result.standardOutput.contains("\u{1B}"))
        #expect(!result.standardOutput.contains("\u{07}"))
        #expect(result.standardOutput.split(separator: "\n").count == 1)
        #expect(result.standardOutput.contains("\\x1B]0;owned"))
    }

    /// mailverify's report is on stdout in the diagnostic form, a bundle member as BUNDLE[member].
    @Test func verifyReportNamesMembers() throws {
        let scratch = try ScratchDirectory()
        let bundle = scratch.file("b.tar")
        #expect(runCommand(MailPack.self, ["\(repositoryRoot)/fixtures/mbox/mboxrd.mbox", "-o", bundle]).status == 0)
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: bundle)))
        let marker = Array("Subject:".utf8)
        let at = try #require((0..<(bytes.count - marker.count)).first { Array(bytes[$0..<($0 + marker.count)]) == marker })
        bytes[at] ^= 0x20
        try writeFile(bundle, bytes)
        let result = runCommand(MailVerify.self, [bundle])
        #expect(result.status == 1)
        let lines = result.standardOutput.split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("\(bundle)[mail/mboxrd/") && $0.contains("SHA-256 differs") && $0.hasSuffix(">") })
        #expect(lines.last?.hasPrefix("\(bundle): bundle, ") == true)
    }

    /// A backup cut to nothing is not "all good".
    @Test func verifyCallsAnEmptyFileAProblem() throws {
        let scratch = try ScratchDirectory()
        let empty = scratch.file("empty.tar.xz")
        try writeFile(empty, [])
        let result = runCommand(MailVerify.self, [empty])
        #expect(result.status == 1)
        #expect(result.standardOutput.hasPrefix("\(empty): no mail found\n"))
    }

    /// A source with no mail is a problem (exit 1) in every tool, and nothing is written.
    @Test func emptySourceIsAProblemEverywhere() throws {
        let scratch = try ScratchDirectory()
        let empty = scratch.file("empty.mbox")
        try writeFile(empty, [])
        let runs: [(String, [String])] = [
            ("mailconvert", [empty, "-o", scratch.file("out.mbox")]), ("mailpack", [empty, "-o", scratch.file("b.tar.xz")]),
            ("mailverify", [empty]), ("mailscan", [empty]), ("mailpick", [empty]),
            ("mailrestore", [empty, "-o", scratch.file("restored")]),
        ]
        for (tool, arguments) in runs {
            let run = try #require(allTools.first { $0.0 == tool }?.1)
            let result = run(arguments)
            #expect(result.status == 1, "\(tool)")
            #expect((result.standardError + result.standardOutput).contains("\(empty): no mail found"), "\(tool)")
        }
        #expect(!FileManager.default.fileExists(atPath: scratch.file("b.tar.xz")))
        #expect(!FileManager.default.fileExists(atPath: scratch.file("out.mbox")))
    }

    /// A date that does not exist is a usage error; a file of Message-IDs that cannot be read
    /// is an I/O error; a bundle name that promises another format is a usage error.
    @Test func userInputErrors() throws {
        let mbox = "\(repositoryRoot)/fixtures/mbox/mboxrd.mbox"
        #expect(runCommand(MailScan.self, [mbox, "--since", "2024-02-30"]).status == 64)
        #expect(runCommand(MailScan.self, [mbox, "--until", "2024-01-01T10:00:00+25:00"]).status == 64)
        #expect(runCommand(MailScan.self, [mbox, "--message-ids", NSTemporaryDirectory()]).status == 2)
        let scratch = try ScratchDirectory()
        #expect(runCommand(MailPack.self, [mbox, "-o", scratch.file("x.zip")]).status == 64)
        #expect(runCommand(MailPack.self, [mbox, "-o", scratch.file("x.gz"), "--compression", "xz"]).status == 64)
        #expect(!FileManager.default.fileExists(atPath: scratch.file("x.zip")))
    }

    /// A destination that is a symlink is followed to a directory and refused otherwise.
    @Test func symlinkedDestination() throws {
        let scratch = try ScratchDirectory()
        let mbox = "\(repositoryRoot)/fixtures/mbox/mboxrd.mbox"
        try FileManager.default.createDirectory(atPath: scratch.file("real"), withIntermediateDirectories: false)
        try FileManager.default.createSymbolicLink(atPath: scratch.file("link"), withDestinationPath: "real")
        try FileManager.default.createSymbolicLink(atPath: scratch.file("dangling"), withDestinationPath: "nowhere")
        #expect(runCommand(MailConvert.self, [mbox, "-o", scratch.file("link")]).status == 0)
        let written = try ["cur", "new"].map { try FileManager.default.contentsOfDirectory(atPath: scratch.file("real/\($0)")).count }
        #expect(written.reduce(0, +) == 3)
        let refused = runCommand(MailRestore.self, [mbox, "-o", scratch.file("dangling")])
        #expect(refused.status == 2 && refused.standardError.contains("dangling"))
        #expect(!FileManager.default.fileExists(atPath: scratch.file("nowhere")))
    }
}
