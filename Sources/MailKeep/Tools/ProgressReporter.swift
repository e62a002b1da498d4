#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A one-line progress display on stderr, only when stderr is a terminal, at most four times a
/// second, so pipelines and logs stay clean.
public final class ProgressReporter {
    private var messages = 0
    private var bytes: Int64 = 0
    private var last = 0.0
    private var shown = false
    private let label: String

    public init?(label: String) {
        guard isatty(2) == 1 else { return nil }
        self.label = label
    }

    public func update(messages: Int, bytes: Int64) {
        self.messages = messages
        self.bytes += bytes
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let t = Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
        guard t - last >= 0.25 else { return }
        last = t
        shown = true
        printError("\r\(label): \(messages) messages, \(formatBytes(self.bytes))\u{1B}[K", newline: false)
    }

    public func done() {
        if shown { printError("\r\u{1B}[K", newline: false) }
    }
}

public func formatBytes(_ n: Int64) -> String {
    let units = ["B", "KB", "MB", "GB", "TB"]
    var value = Double(n)
    var unit = 0
    while value >= 1000 && unit < units.count - 1 {
        value /= 1000
        unit += 1
    }
    if unit == 0 { return "\(n) B" }
    let rounded = (value * 10).rounded() / 10
    return "\(rounded) \(units[unit])"
}

/// Writes to stderr unbuffered.
public func printError(_ text: String, newline: Bool = true) {
    var line = newline ? text + "\n" : text
    line.withUTF8 { bytes in
        var offset = 0
        while offset < bytes.count {
            let n = write(2, bytes.baseAddress! + offset, bytes.count - offset)
            if n <= 0 { if errno == EINTR { continue }; return }
            offset += n
        }
    }
}

/// The diagnostics a tool prints as it goes: `tool: file: offset N: what` on stderr.
public func makeWarningLog(tool: String) -> WarningLog {
    WarningLog { warning in
        printError("\(tool): \(warning.isNotice ? "note" : "warning"): \(warning)")
    }
}

/// Exit statuses shared by every tool.
public enum ExitStatus {
    public static let ok: Int32 = 0
    /// Finished, but found a problem (damaged input, a checksum mismatch) and reported it.
    public static let problem: Int32 = 1
    /// Could not do the job: an I/O error or unreadable input.
    public static let failure: Int32 = 2
}
