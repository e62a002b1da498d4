/// Minimal JSON writing for manifests and `--json` listings: one object per line, keys in a
/// fixed order, so two runs over the same mail produce the same bytes.
public struct JSONLine {
    private var out = "{"
    private var first = true

    public init() {}

    public mutating func add(_ key: String, _ value: String?) {
        guard let value else { return }
        separator(key)
        JSONLine.appendQuoted(value, to: &out)
    }

    public mutating func add(_ key: String, _ value: Int64?) {
        guard let value else { return }
        separator(key)
        out += String(value)
    }

    public mutating func add(_ key: String, _ value: Bool) {
        separator(key)
        out += value ? "true" : "false"
    }

    public mutating func add(_ key: String, _ values: [String]) {
        separator(key)
        out += "["
        for (i, v) in values.enumerated() {
            if i > 0 { out += "," }
            JSONLine.appendQuoted(v, to: &out)
        }
        out += "]"
    }

    /// Adds a value that is already JSON.
    public mutating func addRaw(_ key: String, _ json: String) {
        separator(key)
        out += json
    }

    private mutating func separator(_ key: String) {
        if !first { out += "," }
        first = false
        JSONLine.appendQuoted(key, to: &out)
        out += ":"
    }

    public var text: String { out + "}" }

    public static func appendQuoted(_ s: String, to out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
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
func civilFromDays(_ z0: Int) -> (Int, Int, Int) {
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
