import MailKeepIO
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The mbox separator line (`From sender date`), parsed and written.
///
/// Files differ in what follows `From `: mutt, Dovecot and mblaze write an envelope sender and an
/// asctime date; Thunderbird writes `From - date`, and some tools write a bare `From `. The
/// reader uses the kind of a file's first separator to decide which later lines split it.
public struct FromLine: Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        /// `From ` and nothing else.
        case bare
        /// A sender and a date (Thunderbird's `From - date` included).
        case dated
        /// Text that is neither: most likely a body line.
        case other
    }

    public var kind: Kind
    /// The envelope sender (`-` for Thunderbird's lines), when the line is dated.
    public var sender: String?
    /// The date as Unix seconds: a line's own numeric zone when it has one, else `zone`'s.
    public var time: Int64?

    /// The zone a From_ line's date is in when the line names none.
    ///
    /// asctime dates carry no zone. mutt (`ctime`) and Dovecot (`localtime`) write the local
    /// time of the machine that delivered, and read a zone-less date back in the local zone of
    /// the machine reading (mutt: `t - mutt_local_tz(t)`; Dovecot's `mbox_from_parse`:
    /// `mktime`), so the user sees the time the mail arrived. Python's `mailbox` writes and
    /// reads UTC. mailkeep does what mutt and Dovecot do: `local` (the `TZ` environment
    /// variable, else the system zone, with its daylight saving time on that date).
    public enum Zone: Equatable, Sendable {
        case local
        /// A fixed offset east of UTC, in seconds (tests, and files known to be in one zone).
        case offset(Int)
    }

    /// Parses the bytes after `From ` up to (not including) the line ending.
    ///
    /// Stricter than `MailDate.parse(fromLine:)` on purpose: here the answer decides where a
    /// message ends, so a line counts as dated only with weekday, month, day, time and year in
    /// asctime order, never from a date found somewhere in body text.
    public static func parse(_ rest: UnsafeRawBufferPointer, zone: Zone = .local) -> FromLine {
        var tokens: [Range<Int>] = []
        var i = 0
        let n = rest.count
        while i < n {
            while i < n, rest[i] == 0x20 || rest[i] == 0x09 || rest[i] == 0x0D { i += 1 }
            let s = i
            while i < n, rest[i] != 0x20, rest[i] != 0x09, rest[i] != 0x0D { i += 1 }
            if i > s { tokens.append(s..<i) }
        }
        if tokens.isEmpty { return FromLine(kind: .bare) }
        // Find `Www Mmm dd hh:mm[:ss] [zone] yyyy`: the weekday may sit after a sender of several
        // words (pipermail's `From alice at example.com Mon ...`).
        for w in 0..<tokens.count where weekday(rest, tokens[w]) {
            guard w + 3 < tokens.count, let month = month(rest, tokens[w + 1]),
                  let day = number(rest, tokens[w + 2]), (1...31).contains(day),
                  let (hh, mm, ss) = clock(rest, tokens[w + 3])
            else { continue }
            var year: Int?
            var named: Int?
            for t in tokens[(w + 4)...].prefix(2) {
                if let y = number(rest, t), t.count == 4 || t.count == 2 {
                    year = t.count == 2 ? (y < 70 ? 2000 + y : 1900 + y) : y
                    break
                }
                if let z = numericZone(rest, t) { named = z }
            }
            guard let year else { continue }
            // A numeric zone after the year (Dovecot accepts `... 2024 +0200`).
            if named == nil, w + 5 < tokens.count, let z = numericZone(rest, tokens[w + 5]) { named = z }
            let sender = w == 0 ? "" : String(decoding: rest[tokens[0].lowerBound..<tokens[w - 1].upperBound], as: UTF8.self)
            let wall = daysFromCivil(year: year, month: month, day: day) * 86400 + Int64(hh * 3600 + mm * 60 + ss)
            let t: Int64
            switch (named, zone) {
            case (let offset?, _), (nil, .offset(let offset)): t = wall - Int64(offset)
            case (nil, .local): t = localToUTC(year: year, month: month, day: day, hour: hh, minute: mm, second: ss) ?? wall
            }
            return FromLine(kind: .dated, sender: sender.isEmpty ? nil : sender, time: t)
        }
        return FromLine(kind: .other)
    }

    public init(kind: Kind, sender: String? = nil, time: Int64? = nil) {
        self.kind = kind
        self.sender = sender
        self.time = time
    }

    /// `From SENDER Www Mmm dd hh:mm:ss yyyy` in `zone` (local by default: what mutt and
    /// Dovecot write, and what they and mailkeep read back as the same time).
    public static func format(sender: String, time: Int64, zone: Zone = .local) -> [UInt8] {
        var t = time_t(time)
        var parts = tm()
        switch zone {
        case .local: localtime_r(&t, &parts)
        case .offset(let offset):
            t += time_t(offset)
            gmtime_r(&t, &parts)
        }
        let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let day = parts.tm_mday < 10 ? " \(parts.tm_mday)" : "\(parts.tm_mday)"
        let line = "From \(sender) \(weekdays[Int(parts.tm_wday)]) \(months[Int(parts.tm_mon)]) \(day) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) \(parts.tm_year + 1900)"
        return Array(line.utf8)
    }

    /// The Unix time of a wall-clock time in the local zone (`mktime`, daylight saving time
    /// decided by the zone's rules for that date), or nil where the C library cannot say.
    private static func localToUTC(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) -> Int64? {
        var parts = tm()
        parts.tm_year = Int32(truncatingIfNeeded: year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        parts.tm_isdst = -1
        let t = mktime(&parts)
        return t == -1 ? nil : Int64(t)
    }

    private static func lower(_ b: UInt8) -> UInt8 { b | 0x20 }

    private static func word3(_ s: UnsafeRawBufferPointer, _ r: Range<Int>) -> UInt32? {
        guard r.count == 3 else { return nil }
        return UInt32(lower(s[r.lowerBound])) << 16 | UInt32(lower(s[r.lowerBound + 1])) << 8 | UInt32(lower(s[r.lowerBound + 2]))
    }

    private static let weekdayCodes: [UInt32] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].map(code)
    private static let monthCodes: [UInt32] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"].map(code)
    private static func code(_ s: String) -> UInt32 {
        s.utf8.reduce(0) { $0 << 8 | UInt32($1) }
    }

    private static func weekday(_ s: UnsafeRawBufferPointer, _ r: Range<Int>) -> Bool {
        guard let w = word3(s, r) else { return false }
        return weekdayCodes.contains(w)
    }

    private static func month(_ s: UnsafeRawBufferPointer, _ r: Range<Int>) -> Int? {
        guard let w = word3(s, r), let m = monthCodes.firstIndex(of: w) else { return nil }
        return m + 1
    }

    private static func number(_ s: UnsafeRawBufferPointer, _ r: Range<Int>) -> Int? {
        guard !r.isEmpty, r.count <= 9 else { return nil }
        var v = 0
        for i in r {
            let d = Int(s[i]) - 48
            guard d >= 0 && d <= 9 else { return nil }
            v = v * 10 + d
        }
        return v
    }

    private static func clock(_ s: UnsafeRawBufferPointer, _ r: Range<Int>) -> (Int, Int, Int)? {
        var parts: [Int] = []
        var start = r.lowerBound
        for i in r.lowerBound...r.upperBound where i == r.upperBound || s[i] == 0x3A {
            guard let v = number(s, start..<i) else { return nil }
            parts.append(v)
            start = i + 1
        }
        guard parts.count == 2 || parts.count == 3, parts[0] < 24, parts[1] < 60 else { return nil }
        let seconds = parts.count == 3 ? parts[2] : 0
        guard seconds <= 60 else { return nil }
        return (parts[0], parts[1], seconds)
    }

    private static func numericZone(_ s: UnsafeRawBufferPointer, _ r: Range<Int>) -> Int? {
        guard r.count == 5, s[r.lowerBound] == 0x2B || s[r.lowerBound] == 0x2D,
              let v = number(s, (r.lowerBound + 1)..<r.upperBound) else { return nil }
        let seconds = (v / 100) * 3600 + (v % 100) * 60
        return s[r.lowerBound] == 0x2D ? -seconds : seconds
    }
}
