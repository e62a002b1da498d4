import MailKeepIO
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The header block of an RFC 5322 message: its fields in order, as byte ranges.
///
/// Parsing runs once per message on the hot path of every selecting tool, so it copies the header
/// bytes once, finds line ends with `memchr`, and records only ranges. Names and values become
/// strings only when somebody asks for them.
///
/// Malformed input never fails the parse: a line without a colon (or with a space inside the
/// name) is skipped, a continuation line before any field is skipped, and a block without an
/// empty line runs to the end of the message. A leading mbox `From ` line is not a field and is
/// skipped too, so `.eml` files saved with their envelope line still parse.
public struct HeaderBlock: Sendable {
    /// One field: where its name and its raw value (everything after the colon up to the final
    /// line ending, folds included) stand in `bytes`.
    public struct Field: Sendable, Equatable {
        public let nameRange: Range<Int>
        public let valueRange: Range<Int>
    }

    /// The header bytes from the start of the message up to (not including) the empty line.
    public let bytes: [UInt8]
    /// The fields in the order they appear.
    public let fields: [Field]
    /// Byte length of the header block including the empty line that ends it: the offset at
    /// which the body starts. Equals the message length when there is no empty line.
    public let length: Int

    public init(message: UnsafeRawBufferPointer) {
        let (fieldsEnd, blockEnd) = Self.findEnd(of: message)
        let copy = Array(UnsafeRawBufferPointer(rebasing: message[0..<fieldsEnd]))
        self.bytes = copy
        self.length = blockEnd
        self.fields = copy.withUnsafeBytes { Self.scanFields($0) }
    }

    public init(_ message: [UInt8]) {
        self = message.withUnsafeBytes { HeaderBlock(message: $0) }
    }

    /// Where the fields end and where the whole block (with its empty line) ends.
    private static func findEnd(of message: UnsafeRawBufferPointer) -> (Int, Int) {
        guard let base = message.baseAddress else { return (0, 0) }
        let count = message.count
        // A message that starts with an empty line has no headers at all.
        if count > 0 && message[0] == 0x0A { return (0, 1) }
        if count > 1 && message[0] == 0x0D && message[1] == 0x0A { return (0, 2) }
        var lineStart = 0
        while lineStart < count {
            guard let hit = memchr(base + lineStart, 0x0A, count - lineStart) else { break }
            let newline = base.distance(to: UnsafeRawPointer(hit))
            let next = newline + 1
            if next < count && message[next] == 0x0A { return (next, next + 1) }
            if next + 1 < count && message[next] == 0x0D && message[next + 1] == 0x0A {
                return (next, next + 2)
            }
            lineStart = next
        }
        return (count, count)
    }

    private static func scanFields(_ block: UnsafeRawBufferPointer) -> [Field] {
        guard let base = block.baseAddress else { return [] }
        let count = block.count
        var fields: [Field] = []
        fields.reserveCapacity(24)
        var lineStart = 0
        if count >= 5 && block[0] == 0x46 && block[1] == 0x72 && block[2] == 0x6F && block[3] == 0x6D
            && block[4] == 0x20
        {
            lineStart = lineEnd(base, count, from: 0).next
        }
        var lastFieldIndex: Int? = nil
        while lineStart < count {
            let (contentEnd, next) = lineEnd(base, count, from: lineStart)
            let first = block[lineStart]
            if first == 0x20 || first == 0x09 {
                // A continuation line extends the value of the field before it.
                if let index = lastFieldIndex {
                    let field = fields[index]
                    fields[index] = Field(nameRange: field.nameRange, valueRange: field.valueRange.lowerBound..<contentEnd)
                }
            } else if let colon = fieldNameEnd(block, from: lineStart, to: contentEnd) {
                var nameEnd = colon
                while nameEnd > lineStart && (block[nameEnd - 1] == 0x20 || block[nameEnd - 1] == 0x09) { nameEnd -= 1 }
                fields.append(Field(nameRange: lineStart..<nameEnd, valueRange: (colon + 1)..<contentEnd))
                lastFieldIndex = fields.count - 1
            } else {
                lastFieldIndex = nil
            }
            lineStart = next
        }
        return fields
    }

    /// The end of a line's content (before CR LF or LF) and the start of the next line.
    @inline(__always)
    private static func lineEnd(_ base: UnsafeRawPointer, _ count: Int, from start: Int) -> (content: Int, next: Int) {
        guard let hit = memchr(base + start, 0x0A, count - start) else { return (count, count) }
        let newline = base.distance(to: UnsafeRawPointer(hit))
        let content = newline > start && base.load(fromByteOffset: newline - 1, as: UInt8.self) == 0x0D ? newline - 1 : newline
        return (content, newline + 1)
    }

    /// The colon's offset when the line is `name:` with a name of printable non-space bytes
    /// (whitespace just before the colon is allowed, as the obsolete syntax does); nil otherwise.
    private static func fieldNameEnd(_ block: UnsafeRawBufferPointer, from start: Int, to end: Int) -> Int? {
        var index = start
        var sawSpace = false
        while index < end {
            let byte = block[index]
            if byte == 0x3A { return index > start ? index : nil }
            if byte == 0x20 || byte == 0x09 {
                sawSpace = true
            } else if sawSpace || byte < 0x21 || byte > 0x7E {
                return nil
            }
            index += 1
        }
        return nil
    }

    // MARK: Access

    /// The field's name as written.
    public func name(of field: Field) -> String {
        String(decoding: bytes[field.nameRange], as: UTF8.self)
    }

    /// The field's value bytes exactly as they stand, folds and surrounding whitespace included.
    public func rawValue(of field: Field) -> ArraySlice<UInt8> {
        bytes[field.valueRange]
    }

    /// The field's value unfolded (line breaks before continuation whitespace removed) and
    /// trimmed of surrounding whitespace.
    public func value(of field: Field) -> [UInt8] {
        let raw = bytes[field.valueRange]
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        for byte in raw where byte != 0x0D && byte != 0x0A { out.append(byte) }
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 }
        guard let first = out.firstIndex(where: { !isSpace($0) }), let last = out.lastIndex(where: { !isSpace($0) }) else {
            return []
        }
        return Array(out[first...last])
    }

    /// Whether the field's name equals `name` ignoring ASCII case.
    public func field(_ field: Field, isNamed name: String) -> Bool {
        var wanted = name.utf8.makeIterator()
        for byte in bytes[field.nameRange] {
            guard let other = wanted.next(), asciiLower(byte) == asciiLower(other) else { return false }
        }
        return wanted.next() == nil
    }

    /// The unfolded, trimmed value of the first field named `name` (any case).
    public func first(_ name: String) -> [UInt8]? {
        fields.first { field($0, isNamed: name) }.map { value(of: $0) }
    }

    /// The unfolded, trimmed values of every field named `name` (any case), in order.
    public func all(_ name: String) -> [[UInt8]] {
        fields.filter { field($0, isNamed: name) }.map { value(of: $0) }
    }

    /// The first field named `name` as text, with RFC 2047 encoded words and raw 8-bit bytes
    /// decoded.
    public func decoded(_ name: String) -> String? {
        first(name).map { decode($0) }
    }

    /// Decodes a value of this block: encoded words by their charsets, raw 8-bit bytes as
    /// UTF-8 when valid, else in the charset the Content-Type declares, else as Windows-1252.
    public func decode(_ value: [UInt8]) -> String {
        EncodedWords.decode(value, rawCharset: value.contains { $0 >= 0x80 } ? declaredCharset : nil)
    }

    /// The `charset` parameter of the Content-Type header, lowercased; nil when absent.
    public var declaredCharset: String? {
        guard let contentType = first("Content-Type") else { return nil }
        let lowered = contentType.map(asciiLower)
        let key = Array("charset".utf8)
        var index = 0
        while index + key.count < lowered.count {
            defer { index += 1 }
            guard lowered[index..<(index + key.count)].elementsEqual(key),
                index == 0 || lowered[index - 1] == 0x3B || lowered[index - 1] == 0x20 || lowered[index - 1] == 0x09
            else { continue }
            var position = index + key.count
            while position < lowered.count && (lowered[position] == 0x20 || lowered[position] == 0x09) { position += 1 }
            guard position < lowered.count && lowered[position] == 0x3D else { continue }
            position += 1
            while position < lowered.count && (lowered[position] == 0x20 || lowered[position] == 0x09) { position += 1 }
            let quoted = position < lowered.count && lowered[position] == 0x22
            if quoted { position += 1 }
            let start = position
            while position < lowered.count {
                let byte = lowered[position]
                if quoted ? byte == 0x22 : (byte == 0x3B || byte == 0x20 || byte == 0x09) { break }
                position += 1
            }
            let charset = String(decoding: lowered[start..<position], as: UTF8.self)
            return charset.isEmpty ? nil : charset
        }
        return nil
    }
}

@inline(__always)
package func asciiLower(_ byte: UInt8) -> UInt8 {
    byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
}
