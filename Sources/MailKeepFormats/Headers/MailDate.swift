import MailKeepIO
/// A point in time read from a message: a `Date:` header or an mbox From_ line.
///
/// Both parsers work on bytes without allocating, since the mbox reader calls the From_ line
/// parser once per message. They accept what real mail contains, not only what RFC 5322
/// allows: the obsolete forms of its §4.3 (two- and three-digit years, named and military zones,
/// comments and extra whitespace anywhere), missing seconds or weekday, full or any-case month
/// and day names, day and month in either order, `AM`/`PM`, and garbage after the zone.
///
/// Zones: named US zones have their offsets; `UT`, `GMT`, `Z`, military letters and any zone name
/// not known here count as +0000, which is what RFC 5322 says for the letters and what Python's
/// `email.utils` does for unknown names. Two-digit years follow RFC 5322 (00-49 → 20xx,
/// 50-99 → 19xx); three-digit years add 1900.
public struct MailDate: Sendable, Equatable {
    /// Seconds since 1970-01-01T00:00:00Z.
    public var unixSeconds: Int64
    /// The zone the date was written in, in minutes east of UTC (0 when none was given).
    public var zoneOffsetMinutes: Int

    public init(unixSeconds: Int64, zoneOffsetMinutes: Int) {
        self.unixSeconds = unixSeconds
        self.zoneOffsetMinutes = zoneOffsetMinutes
    }

    /// Parses the value of a `Date:` header (RFC 5322 and its obsolete forms); nil when no
    /// valid day, month and year can be found.
    public static func parse(rfc5322 text: UnsafeRawBufferPointer) -> MailDate? {
        DateScanner.read(text)
    }

    /// Parses the date of an mbox From_ line in `asctime` form (`Sat Jan  3 01:05:34 1996`),
    /// with an optional zone before or after the year and anything after it ignored. Without a
    /// zone the time counts as UTC, since the From_ line does not say. The same scanner as for
    /// `Date:` headers reads it, since that scanner takes day, month, time and year in any order.
    public static func parse(asctime text: UnsafeRawBufferPointer) -> MailDate? {
        DateScanner.read(text)
    }

    /// Parses the date of a whole From_ line (`From sender Sat Jan  3 01:05:34 1996`, line end
    /// optional). The sender is skipped first, so a sender such as `jan@mar.org` cannot be taken
    /// for a month; when a weekday name followed by a month name appears, parsing starts there.
    public static func parse(fromLine line: UnsafeRawBufferPointer) -> MailDate? {
        var start = 0
        if line.count >= 5 && line[0] == 0x46 && line[1] == 0x72 && line[2] == 0x6F && line[3] == 0x6D { start = 4 }
        while start < line.count && isSpace(line[start]) { start += 1 }
        if start < line.count && line[start] == 0x22 {
            start += 1
            while start < line.count && line[start] != 0x22 { start += 1 }
        }
        while start < line.count && !isSpace(line[start]) { start += 1 }
        let rest = UnsafeRawBufferPointer(rebasing: line[start...])
        let from = weekdayMonthStart(rest) ?? 0
        return parse(asctime: UnsafeRawBufferPointer(rebasing: rest[from...]))
    }

    public static func parse(rfc5322 text: some Collection<UInt8>) -> MailDate? {
        Array(text).withUnsafeBytes { parse(rfc5322: $0) }
    }

    public static func parse(rfc5322 text: String) -> MailDate? {
        parse(rfc5322: Array(text.utf8))
    }

    public static func parse(asctime text: String) -> MailDate? {
        Array(text.utf8).withUnsafeBytes { parse(asctime: $0) }
    }

    public static func parse(fromLine text: String) -> MailDate? {
        Array(text.utf8).withUnsafeBytes { parse(fromLine: $0) }
    }

    /// The offset of the first `Www Mmm` pair (three-letter weekday, whitespace, month name).
    private static func weekdayMonthStart(_ text: UnsafeRawBufferPointer) -> Int? {
        var index = 0
        while index + 7 <= text.count {
            if isLetter(text[index]), index == 0 || !isLetter(text[index - 1]),
                weekdayIndex(letters(text, index, 3)) != nil
            {
                var next = index + 3
                while next < text.count && isLetter(text[next]) { next += 1 }
                var monthStart = next
                while monthStart < text.count && isSpace(text[monthStart]) { monthStart += 1 }
                if monthStart > next, monthStart + 3 <= text.count, monthIndex(letters(text, monthStart, 3)) != nil {
                    return index
                }
            }
            index += 1
        }
        return nil
    }
}

// MARK: - Scanner

/// Walks the text once, filling in whichever date fields each token can be.
private struct DateScanner {
    let text: UnsafeRawBufferPointer
    var index = 0
    var year: Int? = nil
    var yearDigits = 0
    var month: Int? = nil
    var day: Int? = nil
    var hour: Int? = nil
    var minute = 0
    var second = 0
    var zoneMinutes: Int? = nil

    init(_ text: UnsafeRawBufferPointer) { self.text = text }

    static func read(_ text: UnsafeRawBufferPointer) -> MailDate? {
        var scanner = DateScanner(text)
        return scanner.scan()
    }

    var isComplete: Bool { year != nil && month != nil && day != nil && hour != nil && zoneMinutes != nil }

    mutating func scan() -> MailDate? {
        while index < text.count && !isComplete {
            let byte = text[index]
            if byte == 0x28 {
                index = commentEnd(from: index)
            } else if isLetter(byte) {
                if !word() { break }
            } else if isDigit(byte) {
                number()
            } else if (byte == 0x2B || byte == 0x2D) && hour != nil && zoneMinutes == nil
                && index + 1 < text.count && isDigit(text[index + 1])
            {
                index += 1
                let (value, digits) = digitRun()
                guard digits <= 4 else { break }
                // An impossible offset (-3100, +0075) says nothing reliable: count it as +0000,
                // as a missing zone is, rather than moving the date by a day or more.
                let minutes = value / 100 < 24 && value % 100 < 60 ? value / 100 * 60 + value % 100 : 0
                zoneMinutes = byte == 0x2D ? -minutes : minutes
            } else {
                index += 1
            }
        }
        return result()
    }

    /// Handles a run of letters; false when it is garbage after a complete date and time.
    private mutating func word() -> Bool {
        let start = index
        while index < text.count && isLetter(text[index]) { index += 1 }
        let length = index - start
        let key = letters(text, start, min(length, 8))
        if length >= 3 && length <= 9, let found = monthIndex(letters(text, start, 3)), month == nil {
            month = found + 1
            return true
        }
        if length >= 3 && length <= 9 && weekdayIndex(letters(text, start, 3)) != nil { return true }
        guard let hourValue = hour else { return true }
        if key == amKey || key == pmKey {
            if key == pmKey && hourValue < 12 { hour = hourValue + 12 }
            if key == amKey && hourValue == 12 { hour = 0 }
            return true
        }
        guard zoneMinutes == nil else { return year == nil }
        if length <= 8, let offset = namedZones.first(where: { $0.key == key })?.minutes {
            zoneMinutes = offset
            return true
        }
        if length <= 5 {
            // A military letter or an unknown zone name: RFC 5322 says treat it as -0000.
            zoneMinutes = 0
            return true
        }
        return year == nil
    }

    private mutating func number() {
        let (value, digits) = digitRun()
        if hour == nil && digits <= 2, let minuteStart = afterColon(from: index) {
            hour = value
            index = minuteStart
            minute = digitRun().value
            if let secondStart = afterColon(from: index) {
                index = secondStart
                second = digitRun().value
            }
            // Fractions of a second are dropped.
            if index + 1 < text.count && text[index] == 0x2E && isDigit(text[index + 1]) {
                index += 1
                _ = digitRun()
            }
            return
        }
        if digits >= 3 {
            if year == nil { (year, yearDigits) = (value, digits) }
        } else if day == nil {
            day = value
        } else if year == nil {
            (year, yearDigits) = (value, digits)
        }
    }

    /// Where the digits after a `:` start, when the text at `start` is a colon and digits with
    /// only whitespace or comments around the colon (the obsolete syntax allows both).
    private func afterColon(from start: Int) -> Int? {
        let colon = afterSpaceAndComments(from: start)
        guard colon < text.count && text[colon] == 0x3A else { return nil }
        let digits = afterSpaceAndComments(from: colon + 1)
        return digits < text.count && isDigit(text[digits]) ? digits : nil
    }

    private func afterSpaceAndComments(from start: Int) -> Int {
        var position = start
        while position < text.count {
            if text[position] == 0x28 {
                position = commentEnd(from: position)
            } else if isSpace(text[position]) {
                position += 1
            } else {
                break
            }
        }
        return position
    }

    /// Reads digits at `index` (at most nine count towards the value).
    private mutating func digitRun() -> (value: Int, digits: Int) {
        var value = 0
        var digits = 0
        while index < text.count && isDigit(text[index]) {
            if digits < 9 { value = value * 10 + Int(text[index] - 0x30) }
            digits += 1
            index += 1
        }
        return (value, digits)
    }

    /// The offset just after the (possibly nested) comment that opens at `start`.
    private func commentEnd(from start: Int) -> Int {
        var depth = 0
        var position = start
        while position < text.count {
            switch text[position] {
            case 0x5C: position += 1
            case 0x28: depth += 1
            case 0x29:
                depth -= 1
                if depth == 0 { return position + 1 }
            default: break
            }
            position += 1
        }
        return position
    }

    private func result() -> MailDate? {
        guard var year, let month, let day else { return nil }
        if yearDigits <= 2 {
            year += year < 50 ? 2000 : 1900
        } else if yearDigits == 3 {
            year += 1900
        }
        let hour = hour ?? 0
        guard year >= 1000 && year <= 9999, day >= 1, day <= daysIn(month: month, year: year),
            hour < 24, minute < 60, second <= 60
        else { return nil }
        let zone = zoneMinutes ?? 0
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86400 + Int64(hour * 3600 + minute * 60 + second) - Int64(zone * 60)
        return MailDate(unixSeconds: seconds, zoneOffsetMinutes: zone)
    }
}

// MARK: - Calendar and names



/// Up to eight letters at `start`, lowercased and packed into one integer, so that names
/// compare without building strings.
@inline(__always)
private func letters(_ text: UnsafeRawBufferPointer, _ start: Int, _ count: Int) -> UInt64 {
    var key: UInt64 = 0
    var index = start
    while index < start + count && index < text.count {
        key = key << 8 | UInt64(asciiLower(text[index]))
        index += 1
    }
    return key
}

private func packed(_ name: String) -> UInt64 {
    name.utf8.reduce(0) { $0 << 8 | UInt64($1) }
}

private let amKey = packed("am")
private let pmKey = packed("pm")
private let monthKeys: [UInt64] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"].map { packed($0) }
private let weekdayKeys: [UInt64] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].map { packed($0) }
private let namedZones: [(key: UInt64, minutes: Int)] = [
    ("ut", 0), ("utc", 0), ("gmt", 0), ("z", 0), ("est", -300), ("edt", -240), ("cst", -360), ("cdt", -300),
    ("mst", -420), ("mdt", -360), ("pst", -480), ("pdt", -420), ("ast", -240), ("adt", -180),
].map { (packed($0.0), $0.1) }

@inline(__always)
private func monthIndex(_ key: UInt64) -> Int? { monthKeys.firstIndex(of: key) }

@inline(__always)
private func weekdayIndex(_ key: UInt64) -> Int? { weekdayKeys.firstIndex(of: key) }

@inline(__always)
private func isLetter(_ byte: UInt8) -> Bool { (byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A }

@inline(__always)
private func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

@inline(__always)
private func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A }
