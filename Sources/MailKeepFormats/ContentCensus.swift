import MailKeepIO
/// The messages a target held before a run, counted by content: what a restore may skip.
///
/// A multiset, not a set: each message the target already had stands for one source message
/// with the same content and no more. So a source folder that holds one message twice gives a
/// restored folder that holds it twice, while a second run (whose target now holds both) adds
/// nothing. What this run writes is never added: it is not "already there" for the source.
package struct ContentCensus {
    private var counts: [String: Int] = [:]

    package init() {}

    package mutating func add(_ sha256: String) { counts[sha256, default: 0] += 1 }

    /// True when a message with this content was there before the run and has not yet been
    /// matched by another source message; it is then matched by this one.
    package mutating func take(_ sha256: String) -> Bool {
        guard let n = counts[sha256] else { return false }
        if n == 1 { counts[sha256] = nil } else { counts[sha256] = n - 1 }
        return true
    }
}
