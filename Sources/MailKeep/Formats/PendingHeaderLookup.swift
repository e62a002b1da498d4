/// Minimal header lookup until the header library lands.
struct HeaderFields {
    private var fields: [(String, String)] = []
    init(_ content: UnsafeRawBufferPointer) {
        let text = String(decoding: content.prefix(65536), as: UTF8.self)
        var current: (String, String)?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let l = line.hasSuffix("\r") ? line.dropLast() : line
            if l.isEmpty { break }
            if l.first == " " || l.first == "\t" {
                current?.1 += String(l)
                continue
            }
            if let c = current { fields.append(c) }
            if let colon = l.firstIndex(of: ":") {
                current = (l[..<colon].lowercased(), String(l[l.index(after: colon)...]).trimmingCharacters(in: " \t").description)
            } else {
                current = nil
            }
        }
        if let c = current { fields.append(c) }
    }
    func value(_ name: String) -> String? { fields.first { $0.0 == name }?.1 }
}

func parseMailDate(_ value: String) -> Int64? { nil }
