import MailKeepIO
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Finds the lines of a message that mbox quoting is about: those matching `^>*From `.
///
/// It jumps from line start to line start with memchr, which is several times faster than a
/// substring search over mail that is mostly base64 (whose lines never start with `From ` and
/// rarely with `>`), and looks at a line only when its first byte is `F` or `>`.
package enum FromLineScan {
    /// Calls `body(lineStart, quoteDepth)` for every line of `bytes` matching `^>*From `, in
    /// order. `atLineStart` says whether `bytes` begins at the start of a line.
    package static func forEach(in bytes: UnsafeRawBufferPointer, atLineStart: Bool = true, _ body: (Int, Int) throws -> Void) rethrows {
        guard let base = bytes.baseAddress else { return }
        let n = bytes.count
        var line = 0
        if !atLineStart {
            guard let nl = memchr(base, 0x0A, n) else { return }
            line = UnsafeRawPointer(nl) - base + 1
        }
        while line < n {
            let first = bytes[line]
            if first == UInt8(ascii: "F") || first == UInt8(ascii: ">") {
                var i = line
                while i < n, bytes[i] == UInt8(ascii: ">") { i += 1 }
                if i + 5 <= n, bytes[i] == UInt8(ascii: "F"), bytes[i + 1] == UInt8(ascii: "r"), bytes[i + 2] == UInt8(ascii: "o"),
                   bytes[i + 3] == UInt8(ascii: "m"), bytes[i + 4] == UInt8(ascii: " ") {
                    try body(line, i - line)
                }
            }
            guard let nl = memchr(base + line, 0x0A, n - line) else { return }
            line = UnsafeRawPointer(nl) - base + 1
        }
    }
}
