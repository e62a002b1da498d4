import MailKeepIO
/// The messages a target held before a run, counted by content: what a restore may skip.
///
/// A multiset, not a set: each message the target already had stands for one source message
/// with the same content and no more. So a source folder that holds one message twice gives a
/// restored folder that holds it twice, while a second run (whose target now holds both) adds
/// nothing. What this run writes is never added: it is not "already there" for the source.
package struct ContentCensus {
    private var counts: [String: Int] = [:]
    /// Messages that read back as either of two contents (see `add(_:or:)`): for each hash,
    /// the hashes it is paired with and how many messages are so paired.
    private var pairs: [String: [String: Int]] = [:]

    package init() {}

    package mutating func add(_ sha256: String) { counts[sha256, default: 0] += 1 }

    /// One message that matches a source message of either content, but only one of them: an
    /// mbox message that another program ended with one more empty line than mailkeep wrote.
    package mutating func add(_ sha256: String, or alternative: String) {
        guard alternative != sha256 else { return add(sha256) }
        pairs[sha256, default: [:]][alternative, default: 0] += 1
        pairs[alternative, default: [:]][sha256, default: 0] += 1
    }

    /// True when a message with this content was there before the run and has not yet been
    /// matched by another source message; it is then matched by this one.
    package mutating func take(_ sha256: String) -> Bool {
        if let n = counts[sha256] {
            counts[sha256] = n == 1 ? nil : n - 1
            return true
        }
        guard let other = pairs[sha256]?.keys.first else { return false }
        Self.removeOne(&pairs, sha256, other)
        Self.removeOne(&pairs, other, sha256)
        return true
    }

    private static func removeOne(_ pairs: inout [String: [String: Int]], _ a: String, _ b: String) {
        guard let n = pairs[a]?[b] else { return }
        if n > 1 {
            pairs[a]?[b] = n - 1
        } else {
            pairs[a]?[b] = nil
            if pairs[a]?.isEmpty == true { pairs[a] = nil }
        }
    }
}
