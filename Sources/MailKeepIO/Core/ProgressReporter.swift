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
    private let console: Console

    public init?(console: Console) {
        guard console.errorIsTerminal else { return nil }
        self.console = console
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
        console.drawProgress("\r\(console.tool): \(messages) messages, \(formatBytes(self.bytes))\u{1B}[K")
    }

    public func done() {
        if shown { console.drawProgress("\r\u{1B}[K") }
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
