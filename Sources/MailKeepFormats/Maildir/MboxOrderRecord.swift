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
/// end). `MailTreeReader` reads a folder's recorded messages first, in the record's order,
/// then any others. Mail clients pass over it: Dovecot and mutt read only `cur/` and `new/`,
/// and notmuch finds no header in it (it notes a non-mail file).
/// Lines are written in batches; a name already recorded is not recorded again, and one
/// missing (a run killed before its batch was written) is added when a rerun meets the message.
package final class MboxOrderRecord {
    package static let fileName = ".mailkeep-mbox"
    private let path: String
    private var recorded: Set<String>
    private var pending: [UInt8] = []

    package init(folder: String) {
        path = FileSystem.join(folder, Self.fileName)
        recorded = Set(Self.load(folder).keys)
    }

    /// Records `unique` with its From_ line, unless it is recorded already.
    package func note(unique: String, fromLine: [UInt8]) throws {
        guard recorded.insert(unique).inserted else { return }
        pending += Array(unique.utf8) + [0x09] + fromLine.filter { $0 != 0x0A && $0 != 0x0D } + [0x0A]
        if pending.count >= 1 << 16 { try flush() }
    }

    package func flush() throws {
        guard !pending.isEmpty else { return }
        let fd = retryingEINTR { open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0o600) }
        guard fd >= 0 else { throw ioError(path, "open") }
        let file = FileHandleFD(fd: fd, name: path, owned: true)
        try file.write(pending)
        pending.removeAll(keepingCapacity: true)
    }

    /// True when a recorded From_ line can stand as a separator: `From ` and the rest of one
    /// line (the record is a file anyone may edit; a CR inside would end the line early).
    package static func isFromLine(_ line: [UInt8]) -> Bool {
        line.starts(with: Array("From ".utf8)) && !line.contains(0x0D) && !line.contains(0x0A)
    }

    /// Unique name -> (place in the mbox, From_ line), for the Maildir folder `folder`; empty
    /// without a record. A name recorded twice keeps its first place.
    package static func load(_ folder: String) -> [String: (index: Int, fromLine: [UInt8])] {
        guard let file = try? FileHandleFD.open(reading: FileSystem.join(folder, fileName), followLinks: false),
              let bytes = try? file.readAll() else { return [:] }
        var out: [String: (index: Int, fromLine: [UInt8])] = [:]
        var index = 0
        for line in bytes.split(separator: 0x0A) {
            guard let tab = line.firstIndex(of: 0x09) else { continue }
            let unique = String(decoding: line[..<tab], as: UTF8.self)
            if out[unique] == nil {
                out[unique] = (index, Array(line[(tab + 1)...]))
                index += 1
            }
        }
        return out
    }
}
