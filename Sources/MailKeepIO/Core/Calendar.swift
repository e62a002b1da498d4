/// The one place that turns calendar dates into Unix seconds and back: header dates, From_
/// lines, selection dates and the manifest all agree because they all come here.

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
package func daysFromCivil(year: Int, month: Int, day: Int) -> Int64 {
    let shiftedYear = month <= 2 ? year - 1 : year
    let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
    let yearOfEra = shiftedYear - era * 400
    let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
    let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
    return Int64(era * 146097 + dayOfEra - 719468)
}

/// ISO 8601 in UTC, to the second: `2024-03-01T09:30:00Z`.
public func iso8601UTC(_ seconds: Int64) -> String {
    let days = Int(seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400)
    let rest = Int(seconds - Int64(days) * 86400)
    let (y, m, d) = civilFromDays(days)
    func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
    let year = String(y)
    return "\(String(repeating: "0", count: max(0, 4 - year.count)))\(year)-\(two(m))-\(two(d))T\(two(rest / 3600)):\(two(rest / 60 % 60)):\(two(rest % 60))Z"
}

/// The inverse of `daysFromCivil(year:month:day:)`.
package func civilFromDays(_ z0: Int) -> (Int, Int, Int) {
    let z = z0 + 719468
    let era = (z >= 0 ? z : z - 146096) / 146097
    let doe = z - era * 146097
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
    let y = yoe + era * 400
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = doy - (153 * mp + 2) / 5 + 1
    let m = mp < 10 ? mp + 3 : mp - 9
    return (m <= 2 ? y + 1 : y, m, d)
}

/// Parses `YYYY-MM-DDTHH:MM:SSZ` (what mailkeep writes) and `...+HH:MM` offsets.
public func parseISO8601(_ text: String) -> Int64? {
    let b = Array(text.utf8)
    func num(_ from: Int, _ count: Int) -> Int? {
        guard from + count <= b.count else { return nil }
        var v = 0
        for i in from..<(from + count) {
            guard b[i] >= 0x30 && b[i] <= 0x39 else { return nil }
            v = v * 10 + Int(b[i] - 0x30)
        }
        return v
    }
    guard b.count >= 10, let y = num(0, 4), b[4] == 0x2D, let m = num(5, 2), b[7] == 0x2D, let d = num(8, 2),
          (1...12).contains(m), (1...daysIn(month: m, year: y)).contains(d) else { return nil }
    var seconds = daysFromCivil(year: y, month: m, day: d) * 86400
    if b.count == 10 { return seconds }
    guard b.count >= 16, b[10] == 0x54 || b[10] == 0x20, let hh = num(11, 2), b[13] == 0x3A, let mm = num(14, 2),
          hh < 24, mm < 60 else { return nil }
    var i = 16
    var ss = 0
    if i < b.count, b[i] == 0x3A, let s = num(17, 2) {
        // No leap seconds: Unix time has none, and mailkeep never writes :60.
        guard s < 60 else { return nil }
        ss = s
        i = 19
    }
    if i < b.count, b[i] == 0x2E {
        i += 1
        while i < b.count, b[i] >= 0x30 && b[i] <= 0x39 { i += 1 }
    }
    seconds += Int64(hh * 3600 + mm * 60 + ss)
    if i == b.count { return nil }
    if b[i] == 0x5A && i + 1 == b.count { return seconds }
    // The zone is +HH, +HHMM or +HH:MM and ends the text; an offset of 24 hours or more is no zone.
    guard b[i] == 0x2B || b[i] == 0x2D, let zh = num(i + 1, 2), zh < 24 else { return nil }
    var zm = 0
    switch b.count - i {
    case 3: break
    case 5: guard let z = num(i + 3, 2) else { return nil }; zm = z
    case 6: guard b[i + 3] == 0x3A, let z = num(i + 4, 2) else { return nil }; zm = z
    default: return nil
    }
    guard zm < 60 else { return nil }
    let zone = Int64(zh * 3600 + zm * 60)
    return b[i] == 0x2B ? seconds - zone : seconds + zone
}

/// Days in a month of the proleptic Gregorian calendar.
package func daysIn(month: Int, year: Int) -> Int {
    switch month {
    case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
    case 4, 6, 9, 11: return 30
    default: return 31
    }
}
