import Foundation
import Testing
@testable import MailKeepIO
@testable import MailKeepFormats
@testable import MailKeepArchive
@testable import MailKeepPipeline

/// Compares `MessageSummary` with Python's `email` package over real third-party mail.
///
/// Python is the reference for dates, From addresses, subjects and Message-IDs. Where Python
/// itself fails (it raises, cannot parse a date, or ends the header block at a malformed line
/// that mailkeep skips), the message is left out of that field's count. Every disagreement is listed in the failure message so it can be judged.
@Suite struct HeaderOracleTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    /// ../shared/corpus beside the repository, wherever it is cloned, unless MAILKEEP_CORPUS names another.
    static let corpus = ProcessInfo.processInfo.environment["MAILKEEP_CORPUS"]
        ?? repository.deletingLastPathComponent().appendingPathComponent("shared/corpus").path
    static let script = repository.appendingPathComponent("scripts/oracle/headers_oracle.py").path
    static let python = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":")
        .map { $0 + "/python3" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    static let available = FileManager.default.fileExists(atPath: corpus + "/spamassassin/t/data/nice") && python != nil
    /// Under CI=true a missing corpus or python3 fails the test; only a run by hand skips it.
    static let required = ProcessInfo.processInfo.environment["CI"] == "true"

    /// All of SpamAssassin's ham and Ruby mail's fixtures, and 1500 linux-mips posts spread
    /// evenly over 1996-2003.
    static func sampleFiles() -> [String] {
        func files(under directory: String) -> [String] {
            let root = corpus + "/" + directory
            guard let walker = FileManager.default.enumerator(atPath: root) else { return [] }
            var found: [String] = []
            while let relative = walker.nextObject() as? String {
                var isDirectory: ObjCBool = false
                let path = root + "/" + relative
                if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
                    !relative.hasSuffix("LICENSE"), !(relative as NSString).lastPathComponent.hasPrefix(".")
                {
                    found.append(path)
                }
            }
            return found.sorted()
        }
        let mips = files(under: "linux-mips-public-inbox/raw")
        let step = max(1, mips.count / 1500)
        let mipsSample = stride(from: 0, to: mips.count, by: step).prefix(1500).map { mips[$0] }
        return files(under: "spamassassin/t/data/nice") + files(under: "ruby-mail") + mipsSample
    }

    static func runOracle(_ files: [String]) throws -> [[String: Any]] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python ?? "python3")
        process.arguments = [script] + files
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    /// Agreement of one field: how many compared, and what disagreed.
    struct Tally {
        var compared = 0
        var disagreements: [String] = []
        var agreement: Double { compared == 0 ? 0 : Double(compared - disagreements.count) / Double(compared) }
        mutating func check(_ file: String, ours: String, python: String) {
            compared += 1
            if ours != python { disagreements.append("\(file): ours \(ours.debugDescription), Python \(python.debugDescription)") }
        }
        var report: String {
            "\(compared - disagreements.count)/\(compared) (\(String(format: "%.1f", agreement * 100))%)"
        }
    }

    static func collapsingWhitespace(_ text: String) -> String {
        text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }).joined(separator: " ")
    }

    @Test(.enabled(if: available || required, "needs ../shared/corpus beside the repository (or MAILKEEP_CORPUS) and python3"))
    func agreesWithPythonEmailPackage() throws {
        try #require(Self.available, "needs \(Self.corpus)/spamassassin/t/data/nice and python3 on PATH")
        let files = Self.sampleFiles()
        let reference = try Self.runOracle(files)
        #expect(reference.count == files.count, "the oracle script answered for \(reference.count) of \(files.count) files")

        var dates = Tally(), senders = Tally(), subjects = Tally(), ids = Tally()
        var pythonDateFailures: [String] = []
        var pythonStoppedEarly: [String] = []
        for entry in reference {
            guard let path = entry["path"] as? String, let bytes = FileManager.default.contents(atPath: path) else { continue }
            let errors = entry["errors"] as? [String] ?? []
            let name = String(path.dropFirst(Self.corpus.count + 1))
            let summary = MessageSummary(Array(bytes))
            if errors.contains("headers") {
                pythonStoppedEarly.append(name)
                continue
            }

            if let seconds = entry["date"] as? Int {
                dates.check(name, ours: summary.date.map { String($0) } ?? "nil", python: String(seconds))
            } else if errors.contains("date") {
                pythonDateFailures.append("\(name): Python failed on \(summary.dateHeader ?? ""), ours \(summary.date.map { String($0) } ?? "nil")")
            }
            if !errors.contains("from"), let addresses = entry["from"] as? [String] {
                let ours = summary.from.map(\.address).filter { !$0.isEmpty }
                senders.check(name, ours: ours.joined(separator: ", "), python: addresses.joined(separator: ", "))
            }
            if !errors.contains("subject") {
                let python = (entry["subject"] as? String).map(Self.collapsingWhitespace) ?? "nil"
                subjects.check(name, ours: summary.subject.map(Self.collapsingWhitespace) ?? "nil", python: python)
            }
            ids.check(name, ours: summary.messageID ?? "nil", python: entry["message_id"] as? String ?? "nil")
        }

        let report = """
            header oracle over \(files.count) messages: dates \(dates.report), From \(senders.report), \
            Subject \(subjects.report), Message-ID \(ids.report); Python failed on \(pythonDateFailures.count) dates \
            and stopped reading headers early at a malformed line in \(pythonStoppedEarly.count) messages \
            (\(pythonStoppedEarly.joined(separator: ", ")))
            """
        print(report + "\n" + pythonDateFailures.joined(separator: "\n"))
        #expect(dates.compared > 1000 && senders.compared > 1000)
        #expect(dates.agreement >= 0.995, "\(report)\n\(dates.disagreements.joined(separator: "\n"))")
        #expect(senders.agreement >= 0.995, "\(report)\n\(senders.disagreements.joined(separator: "\n"))")
        #expect(subjects.agreement >= 0.99, "\(report)\n\(subjects.disagreements.joined(separator: "\n"))")
        #expect(ids.agreement >= 0.995, "\(report)\n\(ids.disagreements.joined(separator: "\n"))")
    }
}
