#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A crash on request, so that the interruption test knows where a run stopped instead of
/// hoping that a timer landed mid-run: with `MAILKEEP_STOP_AFTER_MESSAGES=N` in the
/// environment, the process kills itself with SIGKILL right after the N-th message was handed
/// to its output. Nothing is cleaned up or flushed, as after a power cut or `kill -9`.
package enum CrashPoint {
    /// Read once: the writing loops ask after every message.
    private static let stopAfter: Int? = getenv("MAILKEEP_STOP_AFTER_MESSAGES")
        .flatMap { Int(String(cString: $0)) }
        .flatMap { $0 > 0 ? $0 : nil }

    /// Called by a writing loop once `count` messages have been handed to its output.
    package static func messageWritten(count: Int) {
        if count == stopAfter { raise(SIGKILL) }
    }
}
