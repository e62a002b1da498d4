#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Every line a tool prints about a file has one shape, `tool: FILE: offset N: what`, so that
/// scripts can split it and people can find the spot with `tail -c +N`:
///
/// - FILE is printed as it is when it holds only ordinary characters. A name with `:`, white
///   space, quotes, backslashes or control characters (Maildir names carry `:2,S`) is single-quoted
///   the way a POSIX shell reads it (`'cur/1.host:2,S'`, `'it'\''s'`), so a line always splits
///   at the first `: ` outside quotes.
/// - A message inside a bundle is `BUNDLE[MEMBER]` (quoted as a whole when needed), the member
///   being its path inside the tar.
/// - Control characters anywhere in a line (from file names, subjects, Message-IDs) are written
///   as `\xNN` escapes, so no escape sequence in someone's mail reaches the terminal and no
///   newline in a header forges a line of output.
public enum DiagnosticFormat {
    /// `container[member]`: a file inside an archive.
    public static func member(_ member: String, of container: String) -> String {
        "\(container)[\(member)]"
    }

    /// FILE, quoted when it could not otherwise be split from what follows.
    public static func quoted(_ path: String) -> String {
        let plain = !path.isEmpty && path.unicodeScalars.allSatisfy { s in
            s.value > 0x20 && s.value != 0x7F && !":'\"\\ ".unicodeScalars.contains(s)
                && !(0x80...0x9F).contains(s.value)
        }
        if plain { return path }
        return "'" + path.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
    }

    /// `FILE: offset N` or `FILE`.
    public static func location(_ file: String, offset: Int64?) -> String {
        offset.map { "\(quoted(file)): offset \($0)" } ?? quoted(file)
    }

    /// Text from the input as a diagnostic quotes it: terminal-safe and cut after `limit`
    /// characters (a hostile 200 KB keyword is not echoed whole).
    public static func excerpt(_ text: String, limit: Int = 64) -> String {
        let cut = text.count > limit ? String(text.prefix(limit)) + "..." : text
        return terminalSafe(cut)
    }

    /// The text with C0/C1 control characters (tab included), DEL and the characters of
    /// `isControl` escaped as `\xNN` or `\u{NNNN}`.
    public static func terminalSafe(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var out = ""
        for s in text.unicodeScalars {
            if isControl(s) {
                let hex = String(s.value, radix: 16, uppercase: true)
                out += s.value < 0x100 ? "\\x" + (hex.count < 2 ? "0" + hex : hex) : "\\u{\(hex)}"
            } else {
                out.unicodeScalars.append(s)
            }
        }
        return out
    }

    /// C0 and C1 controls and DEL; also the line and paragraph separators (a newline to some
    /// readers) and the bidirectional overrides and isolates, which reorder what follows them
    /// on the line (a subject could make a warning read backwards).
    package static func isControl(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0..<0x20, 0x7F...0x9F, 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069: return true
        default: return false
        }
    }
}

/// A problem found in the input that did not stop the run: reported on stderr and counted, so
/// the tool can exit 1 at the end.
public struct Warning: Sendable, CustomStringConvertible {
    public var file: String
    public var offset: Int64?
    public var message: String
    /// A notice reports something normal that was left alone (files in tmp/, index files);
    /// it does not make the run fail.
    public var isNotice: Bool
    public init(file: String, offset: Int64?, message: String, isNotice: Bool = false) {
        self.file = file
        self.offset = offset
        self.message = message
        self.isNotice = isNotice
    }
    /// `FILE: offset N: what`, or `FILE: note: what` for a notice.
    public var description: String {
        "\(DiagnosticFormat.location(file, offset: offset)): \(isNotice ? "note: " : "")\(message)"
    }
}

/// Where warnings go. Tools print them as they come and count them for the exit status.
///
/// Only the first `retainedLimit` warnings are kept for callers that list them afterwards, so a
/// hostile input that warns at every line cannot grow memory without bound.
public final class WarningLog: @unchecked Sendable {
    public private(set) var warnings: [Warning] = []
    public private(set) var problemCount = 0
    private let echo: ((Warning) -> Void)?
    private let retainedLimit: Int

    public init(retainedLimit: Int = 10_000, echo: ((Warning) -> Void)? = nil) {
        self.echo = echo
        self.retainedLimit = retainedLimit
    }

    public func add(_ warning: Warning) {
        if !warning.isNotice { problemCount += 1 }
        if warnings.count < retainedLimit { warnings.append(warning) }
        echo?(warning)
    }

    public func add(file: String, offset: Int64?, _ message: String) {
        add(Warning(file: file, offset: offset, message: message))
    }

    public func notice(file: String, _ message: String) {
        add(Warning(file: file, offset: nil, message: message, isNotice: true))
    }
}

/// Where a tool's output goes: stdout for results, stderr for diagnostics and progress. Commands
/// write only through a console, so tests run them in-process and read what they printed.
public final class Console: @unchecked Sendable {
    public let tool: String
    public let standardOutput: ByteSink
    public let standardError: ByteSink
    /// Progress is drawn only on a terminal, so pipelines and logs stay clean.
    public let errorIsTerminal: Bool

    public init(tool: String, standardOutput: ByteSink, standardError: ByteSink, errorIsTerminal: Bool) {
        self.tool = tool
        self.standardOutput = standardOutput
        self.standardError = standardError
        self.errorIsTerminal = errorIsTerminal
    }

    /// The process's own stdout and stderr.
    public static func standard(tool: String) -> Console {
        Console(tool: tool, standardOutput: BufferedSink(FileHandleFD.standardOutput(), capacity: 1 << 16),
                standardError: FileHandleFD.standardError(), errorIsTerminal: isatty(2) == 1)
    }

    /// `tool: text` on stderr, control characters escaped.
    public func diagnose(_ text: String) {
        try? standardError.write("\(tool): \(DiagnosticFormat.terminalSafe(text))\n")
    }

    /// Raw bytes on stderr (progress lines carry their own escape sequences).
    public func drawProgress(_ text: String) {
        try? standardError.write(text)
    }

    /// A result line on stdout.
    public func output(_ line: String) throws {
        try standardOutput.write(line + "\n")
    }

    /// A log that prints each warning as `tool: FILE: offset N: what` as it comes.
    public func warningLog() -> WarningLog {
        WarningLog { [self] warning in diagnose(warning.description) }
    }

    /// Reports a fatal error and returns the exit status it means.
    public func fail(_ error: Error) -> Int32 {
        if let error = error as? any ExitStatusError {
            diagnose(error.description)
            return error.exitStatus
        }
        diagnose("\(error)")
        return ExitStatus.failure
    }
}

/// Exit statuses shared by every tool.
public enum ExitStatus {
    public static let ok: Int32 = 0
    /// Finished, but found a problem (damaged input, a checksum mismatch) and reported it.
    public static let problem: Int32 = 1
    /// Could not do the job: an I/O error or unreadable input.
    public static let failure: Int32 = 2
    /// The command line was wrong (EX_USAGE, as swift-argument-parser exits).
    public static let usage: Int32 = 64
}
