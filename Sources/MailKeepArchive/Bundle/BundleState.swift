import MailKeepIO
import MailKeepFormats

/// One message of a bundle's state (docs/bundle-format.md, "`STATE.tsv`"): where its bytes
/// are in the chain, and its folder, flags, keywords and received time at that moment.
public struct StateLine: Sendable, Equatable {
    /// The bundle that holds the bytes: 0 the chain's full bundle, ..., `chain.count` the
    /// bundle this state belongs to.
    public var holder: Int
    /// The message's line in the holder's `MANIFEST.jsonl`, from 0.
    public var entry: Int
    public var folder: String
    public var flags: String
    public var isNew: Bool
    public var received: Int64?
    public var keywords: [String]
    /// The source file's Maildir unique name where it differs from the holding entry's path:
    /// what lets the next increment know an unchanged file without reading it.
    public var name: String?

    public init(holder: Int, entry: Int, folder: String, flags: String, isNew: Bool, received: Int64?,
                keywords: [String] = [], name: String? = nil) {
        self.holder = holder
        self.entry = entry
        self.folder = folder
        self.flags = flags
        self.isNew = isNew
        self.received = received
        self.keywords = keywords
        self.name = name
    }
}

extension StateLine {
    /// A `/`-separated folder path as components, `""` the INBOX (as a manifest's `folder` reads).
    public static func components(ofFolder path: String) -> [String] {
        path.isEmpty ? [] : path.split(separator: "/").map(String.init)
    }
}

extension MessageMetadata {
    /// The message as a state line places it: that line's folder, flags, keywords and times;
    /// the rest (From_ line, source) stays what the entry holding its bytes said.
    public mutating func place(as line: StateLine) {
        folder = StateLine.components(ofFolder: line.folder)
        flags = line.flags
        isNew = line.isNew
        received = line.received
        keywords = line.keywords
        if let name = line.name { uniqueName = name }
    }
}

/// Writes and reads `STATE.tsv`: tab-separated text, so that a state of a million messages
/// compresses to a few bytes a line and reads at the speed of a byte scan, and stays legible
/// to `awk` in twenty years.
public enum StateFile {
    public static let name = "STATE.tsv"

    /// Whether a file below a bundle's top directory is a state listing: `STATE.tsv`, or an
    /// older state's `STATES/NNN.tsv`.
    public static func isListing(_ relative: String) -> Bool {
        relative == name || HistoryState.isListing(relative)
    }
    public static let firstLine = "#mailkeep-state 1\tbundle\tentry\tfolder\tflags\tnew\treceived\tkeywords\tname"
    static let fieldCount = 8

    /// The line for one message, LF included.
    public static func encode(_ line: StateLine) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 + line.folder.utf8.count)
        out.append(contentsOf: String(line.holder).utf8)
        out.append(0x09)
        out.append(contentsOf: String(line.entry).utf8)
        out.append(0x09)
        escape(line.folder, into: &out)
        out.append(0x09)
        out.append(contentsOf: line.flags.utf8)
        out.append(0x09)
        out.append(line.isNew ? 0x31 : 0x30)
        out.append(0x09)
        if let received = line.received { out.append(contentsOf: String(received).utf8) }
        out.append(0x09)
        escape(line.keywords.joined(separator: " "), into: &out)
        out.append(0x09)
        if let name = line.name { escape(name, into: &out) }
        out.append(0x0A)
        return out
    }

    private static func escape(_ text: String, into out: inout [UInt8]) {
        for byte in text.utf8 {
            switch byte {
            case 0x5C: out.append(0x5C); out.append(0x5C)
            case 0x09: out.append(0x5C); out.append(0x74)
            case 0x0A: out.append(0x5C); out.append(0x6E)
            case 0x0D: out.append(0x5C); out.append(0x72)
            default: out.append(byte)
            }
        }
    }

    /// Why a line was refused; the caller names the file and line.
    public struct LineError: Error, Sendable, Equatable {
        public var reason: String
    }

    /// Parses one line (without its LF). `holders` is the number of bundles a line may name
    /// (the chain and the bundle itself); whether `entry` exists is the caller's to check.
    public static func parse(_ bytes: UnsafeRawBufferPointer, holders: Int) throws(LineError) -> StateLine {
        var fields: [Range<Int>] = []
        fields.reserveCapacity(fieldCount)
        var start = 0
        for i in 0..<bytes.count where bytes[i] == 0x09 {
            fields.append(start..<i)
            start = i + 1
        }
        fields.append(start..<bytes.count)
        guard fields.count == fieldCount else {
            throw LineError(reason: "\(fields.count) fields where there are \(fieldCount)")
        }
        func number(_ range: Range<Int>, _ what: String) throws(LineError) -> Int64 {
            var value: Int64 = 0
            var negative = false
            var digits = 0
            for i in range {
                let byte = bytes[i]
                if i == range.lowerBound, byte == 0x2D { negative = true; continue }
                guard (0x30...0x39).contains(byte), digits < 18 else { throw LineError(reason: "\(what) is not a number") }
                value = value * 10 + Int64(byte - 0x30)
                digits += 1
            }
            guard digits > 0 else { throw LineError(reason: "\(what) is not a number") }
            return negative ? -value : value
        }
        func text(_ range: Range<Int>, _ what: String) throws(LineError) -> String {
            var out: [UInt8] = []
            out.reserveCapacity(range.count)
            var i = range.lowerBound
            while i < range.upperBound {
                let byte = bytes[i]
                if byte == 0x5C {
                    guard i + 1 < range.upperBound else { throw LineError(reason: "\(what) ends in a lone backslash") }
                    switch bytes[i + 1] {
                    case 0x5C: out.append(0x5C)
                    case 0x74: out.append(0x09)
                    case 0x6E: out.append(0x0A)
                    case 0x72: out.append(0x0D)
                    default: throw LineError(reason: "\(what) has an unknown escape")
                    }
                    i += 2
                } else {
                    out.append(byte)
                    i += 1
                }
            }
            guard let string = String(validatingUTF8Bytes: out) else { throw LineError(reason: "\(what) is not UTF-8") }
            return string
        }

        let holder = try number(fields[0], "bundle")
        guard (0..<Int64(holders)).contains(holder) else {
            throw LineError(reason: "bundle \(holder) is not one of the chain's \(holders)")
        }
        let entry = try number(fields[1], "entry")
        guard entry >= 0 else { throw LineError(reason: "entry \(entry) is negative") }
        let folder = try text(fields[2], "folder")
        let flags = try text(fields[3], "flags")
        // Flags become part of file names a reader writes: Maildir flag and keyword letters only.
        guard flags.utf8.allSatisfy({ (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }) else {
            throw LineError(reason: "flags are not Maildir flag letters")
        }
        let newField = fields[4]
        guard newField.count == 1, bytes[newField.lowerBound] == 0x30 || bytes[newField.lowerBound] == 0x31 else {
            throw LineError(reason: "new is neither 0 nor 1")
        }
        let received: Int64? = fields[5].isEmpty ? nil : try number(fields[5], "received")
        let keywordText = try text(fields[6], "keywords")
        let keywords = keywordText.isEmpty ? [] : keywordText.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        if let bad = keywords.first(where: { !DovecotKeywords.isValidName($0) }) {
            throw LineError(reason: "\(bad.debugDescription) is not an IMAP keyword")
        }
        let name = fields[7].isEmpty ? nil : try text(fields[7], "name")
        return StateLine(holder: Int(holder), entry: Int(entry), folder: folder, flags: flags,
                         isNew: bytes[newField.lowerBound] == 0x31, received: received, keywords: keywords, name: name)
    }

    /// Reads a whole `STATE.tsv` as it streams past, calling `body` with each line and its
    /// number (the column line is 1). A line over `BundleManifest.longestLine` is refused
    /// without being held. `path` names the file in errors.
    public final class Reader: ByteSink {
        private let path: String
        private let holders: Int
        private let body: (Int, StateLine) throws -> Void
        private var pending: [UInt8] = []
        private var lineNumber = 0
        private var overlong = false

        public var name: String { path }

        public init(path: String, holders: Int, _ body: @escaping (Int, StateLine) throws -> Void) {
            self.path = path
            self.holders = holders
            self.body = body
        }

        public func write(_ bytes: UnsafeRawBufferPointer) throws {
            var start = 0
            for i in 0..<bytes.count where bytes[i] == 0x0A {
                try take(UnsafeRawBufferPointer(rebasing: bytes[start..<i]), ended: true)
                start = i + 1
            }
            if start < bytes.count { try take(UnsafeRawBufferPointer(rebasing: bytes[start...]), ended: false) }
        }

        private func take(_ piece: UnsafeRawBufferPointer, ended: Bool) throws {
            if !overlong {
                if pending.count + piece.count > BundleManifest.longestLine {
                    overlong = true
                    pending = []
                } else {
                    pending.append(contentsOf: piece)
                }
            }
            guard ended else { return }
            lineNumber += 1
            defer { pending.removeAll(keepingCapacity: true); overlong = false }
            if overlong { throw refusal("longer than \(BundleManifest.longestLine) bytes") }
            if lineNumber == 1 {
                guard pending.starts(with: Array("#mailkeep-state 1\t".utf8)) else {
                    throw MailKeepError.unrecognized(path: path, reason: "not a mailkeep state listing")
                }
                return
            }
            let parsed: Result<StateLine, LineError> = pending.withUnsafeBytes { bytes in
                Result { () throws(LineError) in try StateFile.parse(bytes, holders: holders) }
            }
            let line: StateLine
            switch parsed {
            case .success(let value): line = value
            case .failure(let error): throw refusal(error.reason)
            }
            try body(lineNumber, line)
        }

        private func refusal(_ reason: String) -> MailKeepError {
            .malformed(path: path, offset: nil, reason: "line \(lineNumber): \(reason)")
        }

        public func flush() throws {}

        /// Ends the listing: a last line without its LF means the file was cut short.
        public func finish() throws {
            if !pending.isEmpty || overlong { throw refusal("cut short (no line end)") }
            if lineNumber == 0 { throw MailKeepError.malformed(path: path, offset: nil, reason: "empty state listing") }
        }
    }
}
