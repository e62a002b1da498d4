import MailKeepIO
import MailKeepFormats
import Foundation

/// One line of a bundle's `MANIFEST.jsonl` (docs/bundle-format.md).
public struct ManifestEntry: Sendable, Equatable {
    public var path: String
    public var size: Int64
    public var sha256: String
    public var offset: Int64?
    public var folder: String
    public var flags: String
    public var isNew: Bool
    public var received: Int64?
    public var messageID: String?
    public var date: Int64?
    public var from: String?
    public var to: String?
    public var subject: String?
    public var mboxSource: String?
    public var mboxIndex: Int64?
    public var fromLine: [UInt8]?
    public var mboxHeaders: [UInt8]?
    public var mboxHeadersOffset: Int64?

    public init(path: String, size: Int64, sha256: String, folder: String, flags: String, isNew: Bool) {
        self.path = path
        self.size = size
        self.sha256 = sha256
        self.folder = folder
        self.flags = flags
        self.isNew = isNew
    }

    public var jsonLine: String {
        var j = JSONLine()
        j.add("path", path)
        j.add("size", size)
        j.add("sha256", sha256)
        j.add("offset", offset)
        j.add("folder", folder)
        j.add("flags", flags)
        j.add("new", isNew)
        j.add("received", received.map(iso8601UTC))
        j.add("message_id", messageID)
        j.add("date", date.map(iso8601UTC))
        j.add("from", from)
        j.add("to", to)
        j.add("subject", subject)
        j.add("mbox_source", mboxSource)
        j.add("mbox_index", mboxIndex)
        Self.addBytes(&j, "from_line", fromLine)
        Self.addBytes(&j, "mbox_headers", mboxHeaders)
        j.add("mbox_headers_offset", mboxHeaders == nil ? nil : mboxHeadersOffset)
        return j.text
    }

    /// Bytes that are valid UTF-8 go in as a string, others as base64 under `KEY_base64`.
    private static func addBytes(_ j: inout JSONLine, _ key: String, _ bytes: [UInt8]?) {
        guard let bytes else { return }
        if let text = String(validatingUTF8Bytes: bytes) {
            j.add(key, text)
        } else {
            j.add(key + "_base64", Data(bytes).base64EncodedString())
        }
    }

    /// Parses one manifest line; nil when it is not a valid entry.
    public init?(jsonLine line: Substring) {
        guard let data = line.data(using: .utf8),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let path = object["path"] as? String, let size = (object["size"] as? NSNumber)?.int64Value,
              let sha = object["sha256"] as? String
        else { return nil }
        self.init(path: path, size: size, sha256: sha, folder: object["folder"] as? String ?? "",
                  flags: object["flags"] as? String ?? "", isNew: object["new"] as? Bool ?? false)
        offset = (object["offset"] as? NSNumber)?.int64Value
        received = (object["received"] as? String).flatMap(parseISO8601)
        messageID = object["message_id"] as? String
        date = (object["date"] as? String).flatMap(parseISO8601)
        from = object["from"] as? String
        to = object["to"] as? String
        subject = object["subject"] as? String
        mboxSource = object["mbox_source"] as? String
        mboxIndex = (object["mbox_index"] as? NSNumber)?.int64Value
        fromLine = Self.bytes(object, "from_line")
        mboxHeaders = Self.bytes(object, "mbox_headers")
        mboxHeadersOffset = (object["mbox_headers_offset"] as? NSNumber)?.int64Value
    }

    private static func bytes(_ object: [String: Any], _ key: String) -> [UInt8]? {
        if let s = object[key] as? String { return Array(s.utf8) }
        if let b = object[key + "_base64"] as? String, let d = Data(base64Encoded: b) { return Array(d) }
        return nil
    }

    /// The message's metadata as mailkeep carries it between formats.
    public func metadata(source: String) -> MessageMetadata {
        let name = FileSystem.baseName(path)
        let parsed = MaildirName.parse(name)
        return MessageMetadata(folder: folder.isEmpty ? [] : folder.split(separator: "/").map(String.init),
                               flags: flags, isNew: isNew, received: received, fromLine: fromLine,
                               mboxHeaders: mboxHeaders, mboxHeadersOffset: Int(mboxHeadersOffset ?? 0),
                               uniqueName: parsed.unique, source: DiagnosticFormat.member(path, of: source), sourceOffset: offset ?? 0,
                               contentSHA256: sha256)
    }
}

extension String {
    /// nil unless `bytes` are valid UTF-8.
    package init?(validatingUTF8Bytes bytes: [UInt8]) {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var result = ""
        loop: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let s): result.unicodeScalars.append(s)
            case .emptyInput: break loop
            case .error: return nil
            }
        }
        self = result
    }
}

