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
            // C1 controls (0x9B is a one-byte CSI to some terminals), line and paragraph
            // separators and bidirectional overrides are escaped too: JSON read the same, and
            // `--json` on a terminal shows nothing a message did not mean as text.
            case _ where scalar.value < 0x20 || DiagnosticFormat.isControl(scalar):
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}

