#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A crash on request, so that the interruption test knows where a run stopped instead of
/// hoping that a timer landed mid-run: with `MAILKEEP_STOP_AFTER_MESSAGES=N` in the
/// environment, the process kills itself with SIGKILL right after the N-th message was handed
/// to its output. Nothing is cleaned up or flushed, as after a power cut or `kill -9`.
/// `MAILKEEP_STOP_AT=STEP:N` does the same when a named step of a commit is reached for the
/// N-th time (`volume-renamed:2`: after the second volume of a set got its final name).
package enum CrashPoint {
    /// Read once: the writing loops ask after every message.
    private static let stopAfter: Int? = getenv("MAILKEEP_STOP_AFTER_MESSAGES")
        .flatMap { Int(String(cString: $0)) }
        .flatMap { $0 > 0 ? $0 : nil }

    /// Called by a writing loop once `count` messages have been handed to its output.
    package static func messageWritten(count: Int) {
        if count == stopAfter { raise(SIGKILL) }
    }

    private static let stopAt: (step: String, count: Int)? = getenv("MAILKEEP_STOP_AT").flatMap {
        let parts = String(cString: $0).split(separator: ":")
        guard parts.count == 2, let n = Int(parts[1]) else { return nil }
        return (String(parts[0]), n)
    }
    nonisolated(unsafe) private static var reached: [String: Int] = [:]

    /// Called by a commit each time it completes `step`.
    package static func stepDone(_ step: String) {
        guard let stopAt, stopAt.step == step else { return }
        let n = reached[step, default: 0] + 1
        reached[step] = n
        if n == stopAt.count { raise(SIGKILL) }
    }
}
