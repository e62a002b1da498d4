import MailKeepIO
#if canImport(Glibc)
import Glibc
#endif

/// `.mailkeep-mbox` in a Maildir folder: the messages that came from an mbox, in the mbox's
/// order, each with its From_ line. A Maildir keeps neither (the order of files in `cur/` is
/// their names' order, `new/` comes apart from `cur/`, and the envelope sender is in no file),
/// and the message files must stay the messages' exact bytes; so mbox -> Maildir -> mbox gives
/// back the mbox, From_ lines and order, only with this record.
///
/// One line per message: its unique name, a tab, the From_ line's bytes (which hold no line
/// end). A message whose mbox state headers (`MboxMetadataHeaders`: Status, X-Keywords, X-UID
/// and the rest) came with it has a second line: a tab, the unique name, a tab, where the
/// headers stood in the content (decimal), a tab, their bytes in hex; so Dovecot's UIDs and
/// padded `X-Keywords` come back byte for byte while flags and keywords still agree. A message
/// read as mboxo (`MessageMetadata.quotedAsMboxo`) has a line: a tab, the unique name, a tab,
/// `mboxo`. (An older reader takes those lines for a message with an empty name, which no file
/// has.) `MailTreeReader` reads a folder's recorded messages first, in the record's order,
/// then any others. Mail clients pass over it: Dovecot and mutt read only `cur/` and `new/`,
/// and notmuch finds no header in it (it notes a non-mail file).
/// Lines are written in batches; a name already recorded is not recorded again, and one
/// missing (a run killed before its batch was written) is added when a rerun meets the message.
package final class MboxOrderRecord {
    package static let fileName = ".mailkeep-mbox"
    private let path: String
    /// Who the record belongs to, if not to this process (see `FileOwner`).
    private let owner: FileOwner?
    private var recorded: Set<String>
    private var pending: [UInt8] = []

    package init(folder: String, owner: FileOwner? = nil) {
        path = FileSystem.join(folder, Self.fileName)
        self.owner = owner
        recorded = Set(Self.load(folder).keys)
    }

    /// Records `unique` with its From_ line and state headers, unless it is recorded already.
    package func note(unique: String, fromLine: [UInt8], headers: [UInt8]? = nil, headersOffset: Int = 0, mboxo: Bool = false) throws {
        guard recorded.insert(unique).inserted else { return }
        pending += Array(unique.utf8) + [0x09] + fromLine.filter { $0 != 0x0A && $0 != 0x0D } + [0x0A]
        if let headers, !headers.isEmpty {
            pending += [0x09] + Array(unique.utf8) + Array("\t\(headersOffset)\t".utf8) + Self.hex(headers) + [0x0A]
        }
        if mboxo { pending += [0x09] + Array(unique.utf8) + Array("\tmboxo\n".utf8) }
        if pending.count >= 1 << 16 { try flush() }
    }

    package func flush() throws {
        guard !pending.isEmpty else { return }
        let fd = retryingEINTR { open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0o600) }
        guard fd >= 0 else { throw ioError(path, "open") }
        let file = FileHandleFD(fd: fd, name: path, owned: true)
        try owner?.apply(fd: fd, path: path)
        try file.write(pending)
        pending.removeAll(keepingCapacity: true)
    }

    /// True when a recorded From_ line can stand as a separator: `From ` and the rest of one
    /// line (the record is a file anyone may edit; a CR inside would end the line early).
    package static func isFromLine(_ line: [UInt8]) -> Bool {
        line.starts(with: Array("From ".utf8)) && !line.contains(0x0D) && !line.contains(0x0A)
    }

    /// One recorded message.
    package struct Entry {
        package var index: Int
        package var fromLine: [UInt8]
        package var headers: [UInt8]?
        package var headersOffset = 0
        package var mboxo = false
    }

    /// Unique name -> what is recorded of it, for the Maildir folder `folder`; empty without a
    /// record. A name recorded twice keeps its first place. Recorded headers that are not
    /// only mbox state fields, one per line, are passed over: the record is a file anyone may
    /// edit, and these bytes go into an mbox as they are.
    package static func load(_ folder: String) -> [String: Entry] {
        guard let file = try? FileHandleFD.open(reading: FileSystem.join(folder, fileName), followLinks: false),
              let bytes = try? file.readAll() else { return [:] }
        var out: [String: Entry] = [:]
        var index = 0
        for line in bytes.split(separator: 0x0A) {
            if line.first == 0x09 {
                let parts = line.dropFirst().split(separator: 0x09, omittingEmptySubsequences: false)
                if parts.count == 2, parts[1].elementsEqual("mboxo".utf8) {
                    out[String(decoding: parts[0], as: UTF8.self)]?.mboxo = true
                    continue
                }
                guard parts.count == 3, let at = Int(String(decoding: parts[1], as: UTF8.self)), at >= 0,
                      let headers = unhex(parts[2]), isStateHeaders(headers) else { continue }
                let unique = String(decoding: parts[0], as: UTF8.self)
                if out[unique] != nil, out[unique]?.headers == nil {
                    out[unique]?.headers = headers
                    out[unique]?.headersOffset = at
                }
                continue
            }
            guard let tab = line.firstIndex(of: 0x09) else { continue }
            let unique = String(decoding: line[..<tab], as: UTF8.self)
            if out[unique] == nil {
                out[unique] = Entry(index: index, fromLine: Array(line[(tab + 1)...]))
                index += 1
            }
        }
        return out
    }

    private static func hex(_ bytes: [UInt8]) -> [UInt8] {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes { out += [digits[Int(b >> 4)], digits[Int(b & 15)]] }
        return out
    }

    private static func unhex(_ text: ArraySlice<UInt8>) -> [UInt8]? {
        guard text.count % 2 == 0 else { return nil }
        func value(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: return c - 0x30
            case 0x61...0x66: return c - 0x61 + 10
            default: return nil
            }
        }
        var out: [UInt8] = []
        var i = text.startIndex
        while i < text.endIndex {
            guard let high = value(text[i]), let low = value(text[i + 1]) else { return nil }
            out.append(high << 4 | low)
            i += 2
        }
        return out
    }

    /// True when `headers` are whole mbox state fields and nothing else.
    private static func isStateHeaders(_ headers: [UInt8]) -> Bool {
        guard headers.last == 0x0A else { return false }
        return headers.withUnsafeBytes { raw in
            let e = MboxMetadataHeaders.extract(raw)
            return e.headerEnd == raw.count && e.ranges.reduce(0) { $0 + $1.count } == raw.count
        }
    }
}
