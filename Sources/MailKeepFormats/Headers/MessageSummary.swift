import MailKeepIO
/// What selection and `mailscan` need to know about one message, read from its header block.
///
/// Built once per message from the raw bytes; every field is already decoded. Headers not
/// summarised here stay undecoded in `headers` until `decodedHeader(named:)` asks for them.
public struct MessageSummary: Sendable {
    public let headers: HeaderBlock
    /// The `Date:` header as Unix seconds; nil when absent or unparseable.
    public let date: Int64?
    /// The zone the `Date:` header was written in, minutes east of UTC.
    public let dateZoneOffsetMinutes: Int?
    /// The `Date:` header's text as written (unfolded).
    public let dateHeader: String?
    public let from: [MailAddress]
    public let to: [MailAddress]
    public let cc: [MailAddress]
    public let bcc: [MailAddress]
    public let replyTo: [MailAddress]
    /// The decoded `Subject:`; nil when there is no Subject header.
    public let subject: String?
    /// The `Message-ID:` without angle brackets and surrounding whitespace.
    public let messageID: String?

    public init(message: UnsafeRawBufferPointer) {
        let headers = HeaderBlock(message: message)
        self.headers = headers
        let dateValue = headers.first("Date")
        let parsedDate = dateValue.flatMap { MailDate.parse(rfc5322: $0) }
        date = parsedDate?.unixSeconds
        dateZoneOffsetMinutes = parsedDate?.zoneOffsetMinutes
        dateHeader = dateValue.map { CharsetDecoder.decodeRaw($0) }
        let rawCharset = headers.declaredCharset
        // Several fields of one kind (seen in the wild for To and Cc) are read as one list.
        func addresses(_ name: String) -> [MailAddress] {
            headers.all(name).flatMap { MailAddress.parseList($0, rawCharset: rawCharset) }
        }
        from = addresses("From")
        to = addresses("To")
        cc = addresses("Cc")
        bcc = addresses("Bcc")
        replyTo = addresses("Reply-To")
        subject = headers.decoded("Subject")
        messageID = headers.first("Message-ID").flatMap(Self.messageID(from:))
    }

    public init(_ message: [UInt8]) {
        self = message.withUnsafeBytes { MessageSummary(message: $0) }
    }

    /// The first header named `name` (any case), unfolded and decoded.
    public func decodedHeader(named name: String) -> String? {
        headers.decoded(name)
    }

    /// Every header named `name` (any case), unfolded and decoded, in order.
    public func decodedHeaders(named name: String) -> [String] {
        headers.all(name).map { headers.decode($0) }
    }

    /// The id between the first `<` and the next `>`, or the whole trimmed value when it has no
    /// brackets; nil when empty.
    /// Inside the brackets, whitespace and comments (which the obsolete syntax allowed around
    /// the `@` and dots) are dropped.
    package static func messageID(from value: [UInt8]) -> String? {
        guard let open = value.firstIndex(of: 0x3C), let close = value[open...].firstIndex(of: 0x3E) else {
            let text = CharsetDecoder.decodeRaw(value).trimmingSpacesAndQuotes()
            return text.isEmpty ? nil : text
        }
        var id: [UInt8] = []
        var commentDepth = 0
        for byte in value[(open + 1)..<close] {
            switch byte {
            case 0x28: commentDepth += 1
            case 0x29: commentDepth = max(0, commentDepth - 1)
            case 0x20, 0x09: continue
            default: if commentDepth == 0 { id.append(byte) }
            }
        }
        return id.isEmpty ? nil : CharsetDecoder.decodeRaw(id)
    }
}
