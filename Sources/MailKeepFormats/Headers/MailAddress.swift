import MailKeepIO
/// One mailbox from an address header: `Name <local@domain>`.
public struct MailAddress: Sendable, Hashable, CustomStringConvertible {
    /// The display name, RFC 2047 decoded and unquoted; nil when there is none.
    public var name: String?
    /// The addr-spec without angle brackets, comments or folding whitespace. Empty when the
    /// header held only a name (`From: Mail Delivery Subsystem`).
    public var address: String

    public init(name: String?, address: String) {
        self.name = name
        self.address = address
    }

    public var description: String {
        guard let name else { return address }
        return "\(name) <\(address)>"
    }

    /// Parses an address-list header value (From, To, Cc, Bcc, Reply-To, Sender).
    ///
    /// Groups contribute their members (`team: a@x, b@y;`) and nothing when empty
    /// (`undisclosed-recipients:;`). Obsolete source routes (`<@relay:user@host>`) are dropped.
    /// A mailbox without a display name takes its comment as the name (`a@x (Ann)`), as old
    /// clients wrote it. Encoded words are decoded in names, including inside quotes, which is
    /// wrong by RFC 2047 but what many clients send.
    ///
    /// Raw 8-bit bytes decode as in `EncodedWords.decode(_:rawCharset:)`.
    public static func parseList(_ value: some Collection<UInt8>, rawCharset: String? = nil) -> [MailAddress] {
        var parser = AddressListParser(tokens: tokenize(Array(value)), rawCharset: rawCharset)
        return parser.parse()
    }

    public static func parseList(_ value: String) -> [MailAddress] {
        parseList(Array(value.utf8))
    }
}

// MARK: - Tokens

private struct AddressToken {
    enum Kind: Equatable {
        case atom, quoted, comment, domainLiteral
        case special(UInt8)
    }
    var kind: Kind
    /// Atom and domain-literal text as written; quoted-string and comment content unescaped.
    var bytes: [UInt8]
    var spaceBefore: Bool
}

private func tokenize(_ text: [UInt8]) -> [AddressToken] {
    var tokens: [AddressToken] = []
    var index = 0
    var spaceBefore = false
    func append(_ kind: AddressToken.Kind, _ bytes: [UInt8]) {
        tokens.append(AddressToken(kind: kind, bytes: bytes, spaceBefore: spaceBefore))
        spaceBefore = false
    }
    while index < text.count {
        let byte = text[index]
        switch byte {
        case 0x20, 0x09, 0x0D, 0x0A:
            spaceBefore = true
            index += 1
        case 0x28:
            var depth = 0
            var content: [UInt8] = []
            while index < text.count {
                let inner = text[index]
                index += 1
                if inner == 0x5C, index < text.count {
                    content.append(text[index])
                    index += 1
                    continue
                }
                if inner == 0x28 {
                    depth += 1
                    if depth == 1 { continue }
                } else if inner == 0x29 {
                    depth -= 1
                    if depth == 0 { break }
                }
                content.append(inner)
            }
            append(.comment, content)
            spaceBefore = true
        case 0x22:
            var content: [UInt8] = []
            var end = index + 1
            while end < text.count && text[end] != 0x22 {
                if text[end] == 0x5C && end + 1 < text.count { end += 1 }
                content.append(text[end])
                end += 1
            }
            if end < text.count {
                append(.quoted, content)
                index = end + 1
            } else {
                // An unterminated quote would swallow the address after it: drop the quote mark.
                spaceBefore = true
                index += 1
            }
        case 0x5B:
            let start = index
            while index < text.count && text[index] != 0x5D { index += 1 }
            index = min(index + 1, text.count)
            append(.domainLiteral, Array(text[start..<index]))
        case 0x3C, 0x3E, 0x2C, 0x3A, 0x3B, 0x40:
            append(.special(byte), [byte])
            index += 1
        default:
            var atom: [UInt8] = []
            while index < text.count {
                let current = text[index]
                if current == 0x5C && index + 1 < text.count {
                    atom.append(text[index + 1])
                    index += 2
                    continue
                }
                if isAddressDelimiter(current) { break }
                atom.append(current)
                index += 1
            }
            append(.atom, atom)
        }
    }
    return tokens
}

@inline(__always)
private func isAddressDelimiter(_ byte: UInt8) -> Bool {
    switch byte {
    case 0x20, 0x09, 0x0D, 0x0A, 0x28, 0x22, 0x5B, 0x3C, 0x3E, 0x2C, 0x3A, 0x3B, 0x40: return true
    default: return false
    }
}

// MARK: - Parser

private struct AddressListParser {
    let tokens: [AddressToken]
    let rawCharset: String?
    var index = 0
    var addresses: [MailAddress] = []
    var phrase: [AddressToken] = []
    var angle: [AddressToken]? = nil
    var comments: [[UInt8]] = []
    var inGroup = false

    init(tokens: [AddressToken], rawCharset: String?) {
        self.tokens = tokens
        self.rawCharset = rawCharset
    }

    private func decode(_ bytes: [UInt8]) -> String? {
        nonEmpty(EncodedWords.decode(bytes, rawCharset: rawCharset))
    }

    mutating func parse() -> [MailAddress] {
        while index < tokens.count {
            let token = tokens[index]
            index += 1
            switch token.kind {
            case .special(0x2C):
                finishMailbox()
            case .special(0x3B):
                finishMailbox()
                inGroup = false
            case .special(0x3A) where !inGroup && angle == nil && !phrase.contains(where: { $0.kind == .special(0x40) }):
                // `name:` opens a group; the group's name is not an address.
                phrase.removeAll()
                comments.removeAll()
                inGroup = true
            case .special(0x3C):
                readAngleAddress()
            case .special(0x3E):
                continue
            case .comment:
                comments.append(token.bytes)
            default:
                phrase.append(token)
            }
        }
        finishMailbox()
        return addresses
    }

    /// Reads up to the closing `>`, keeping only the addr-spec after any source route.
    private mutating func readAngleAddress() {
        var inside: [AddressToken] = []
        while index < tokens.count {
            let token = tokens[index]
            index += 1
            if token.kind == .special(0x3E) { break }
            if token.kind == .comment { continue }
            if token.kind == .special(0x3A) {
                inside.removeAll()
                continue
            }
            inside.append(token)
        }
        if angle == nil { angle = inside }
    }

    private mutating func finishMailbox() {
        defer {
            phrase.removeAll()
            angle = nil
            comments.removeAll()
        }
        let commentName = comments.isEmpty ? nil : decode(joined(comments))
        if let angle {
            let name = phrase.isEmpty ? commentName : decode(phraseBytes(phrase))
            let address = addrSpec(angle)
            if !address.isEmpty || name != nil { addresses.append(MailAddress(name: name, address: address)) }
            return
        }
        guard !phrase.isEmpty else { return }
        // No angle brackets: split into words at whitespace (which `@` and dots bridge, as the
        // obsolete syntax allows `john . doe @ example . org`). Words with an `@` are addresses,
        // the rest a name, so `Big Bug bb@bug.com` and `a@x b@y` come out as a client meant them.
        var words: [[AddressToken]] = []
        for token in phrase {
            let previous = words.last?.last
            let bridged =
                !token.spaceBefore || token.kind == .special(0x40) || previous?.kind == .special(0x40)
                || (token.kind == .atom && token.bytes.first == 0x2E) || (previous?.kind == .atom && previous?.bytes.last == 0x2E)
            if bridged && !words.isEmpty { words[words.count - 1].append(token) } else { words.append([token]) }
        }
        let isAddress: ([AddressToken]) -> Bool = { $0.contains { $0.kind == .special(0x40) } }
        let addressWords = words.filter(isAddress)
        guard !addressWords.isEmpty else {
            if words.count == 1 {
                addresses.append(MailAddress(name: commentName, address: addrSpec(phrase)))
            } else {
                // Words without an address, e.g. `Mail Delivery Subsystem`: keep them as a name.
                addresses.append(MailAddress(name: decode(phraseBytes(phrase)), address: ""))
            }
            return
        }
        let nameTokens = words.filter { !isAddress($0) }.flatMap { $0 }
        let name = nameTokens.isEmpty ? commentName : decode(phraseBytes(nameTokens))
        for word in addressWords {
            addresses.append(MailAddress(name: addressWords.count == 1 ? name : nil, address: addrSpec(word)))
        }
    }

    /// The addr-spec as text: no whitespace, quoted local parts quoted again.
    private func addrSpec(_ tokens: [AddressToken]) -> String {
        var bytes: [UInt8] = []
        for token in tokens {
            if token.kind == .quoted {
                bytes.append(0x22)
                for byte in token.bytes {
                    if byte == 0x22 || byte == 0x5C { bytes.append(0x5C) }
                    bytes.append(byte)
                }
                bytes.append(0x22)
            } else if token.kind != .comment {
                bytes.append(contentsOf: token.bytes)
            }
        }
        return CharsetDecoder.decodeRaw(bytes)
    }

    /// A display name's bytes, words separated by one space where the source had whitespace.
    private func phraseBytes(_ tokens: [AddressToken]) -> [UInt8] {
        var bytes: [UInt8] = []
        for token in tokens {
            if token.spaceBefore && !bytes.isEmpty { bytes.append(0x20) }
            bytes.append(contentsOf: token.bytes)
        }
        return bytes
    }

    private func joined(_ parts: [[UInt8]]) -> [UInt8] {
        Array(parts.joined(separator: [0x20]))
    }

    private func nonEmpty(_ text: String) -> String? {
        let trimmed = text.trimmingSpacesAndQuotes()
        return trimmed.isEmpty ? nil : trimmed
    }
}
