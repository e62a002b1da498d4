import MailKeepIO
import MailKeepFormats
import MailKeepArchive
import Foundation

/// What `mailverify` found about one target.
public struct VerifyReport {
    public struct Problem: Sendable {
        /// The file at fault, relative to the target (a bundle member, a file of a checksummed
        /// tree), or a file of its own for mail read through; `(archive)`-style names stand
        /// for the target as a whole.
        public var path: String
        /// False for a file outside the target (`--against`'s source, mail read through).
        public var isInTarget: Bool
        /// The file as an error named it (a tar member, an offset in the stream), printed
        /// instead of `path`.
        public var file: String?
        public var offset: Int64?
        public var messageID: String?
        public var what: String
        public init(path: String, isInTarget: Bool = true, offset: Int64? = nil, messageID: String?, what: String) {
            self.path = path
            self.isInTarget = isInTarget
            self.offset = offset
            self.messageID = messageID
            self.what = what
        }
    }

    public var target: String
    public var kind: String
    public var messagesChecked = 0
    /// An increment stores only what its chain lacked: none at all, for a mailbox that did
    /// not change, is no sign of a bad backup (its state is checked with the chain's).
    public var isIncrement = false
    public var problems: [Problem] = []
    /// Things worth saying that are not failures (messages only in the bundle, say).
    public var notes: [String] = []

    public init(target: String, kind: String) {
        self.target = target
        self.kind = kind
    }

    public var ok: Bool { problems.isEmpty }

    package mutating func problem(_ path: String, _ what: String, messageID: String? = nil, isInTarget: Bool = true) {
        problems.append(Problem(path: path, isInTarget: isInTarget, messageID: messageID, what: what))
    }

    /// An error that stopped part of the check, reported where it says it happened.
    package mutating func problem(_ path: String, from error: Error) {
        guard let error = error as? MailKeepError else { return problem(path, "\(error)") }
        var problem = Problem(path: path, offset: error.offset, messageID: nil, what: error.reason)
        problem.file = error.file
        problems.append(problem)
    }

    /// The file a problem names, in the one diagnostic form: `BUNDLE[member]` inside a bundle,
    /// the joined path inside a directory.
    private func file(of problem: Problem) -> String {
        if let file = problem.file { return file }
        if problem.path.hasPrefix("(") { return target }
        guard problem.isInTarget else { return problem.path }
        switch kind {
        case "bundle": return DiagnosticFormat.member(problem.path, of: target)
        case "checksummed tree": return FileSystem.join(target, problem.path)
        default: return problem.path
        }
    }

    /// `FILE: offset N: what <message-id>` per problem, then a summary line for the target.
    public var humanLines: [String] {
        var lines = problems.map { p in
            DiagnosticFormat.terminalSafe("\(DiagnosticFormat.location(file(of: p), offset: p.offset)): \(p.what)"
                + (p.messageID.flatMap { p.what.contains("<\($0)>") ? nil : " <\($0)>" } ?? ""))
        }
        lines += notes.map { DiagnosticFormat.terminalSafe("\(DiagnosticFormat.quoted(target)): note: \($0)") }
        lines.append("\(DiagnosticFormat.quoted(target)): \(kind), \(messagesChecked) messages checked, "
            + (ok ? "all good" : "\(problems.count) problem\(problems.count == 1 ? "" : "s")"))
        return lines
    }

    public var jsonLine: String {
        var j = JSONLine()
        j.add("target", target)
        j.add("kind", kind)
        j.add("ok", ok)
        j.add("messages", Int64(messagesChecked))
        let items = problems.map { p -> String in
            var o = JSONLine()
            o.add("path", p.path)
            o.add("offset", p.offset)
            o.add("message_id", p.messageID)
            o.add("problem", p.what)
            return o.text
        }
        j.addRaw("problems", "[" + items.joined(separator: ",") + "]")
        j.add("notes", notes)
        return j.text
    }
}

/// Parses coreutils checksum lines (`HASH  PATH`, and the `\`-escaped form).
/// Each `HASH  PATH` line of a SHA256SUMS file in turn, without a copy of the whole list.
package func forEachChecksumLine(_ bytes: [UInt8], _ body: (_ path: String, _ hash: String) -> Void) {
    var start = 0
    while start < bytes.count {
        let end = bytes[start...].firstIndex(of: 0x0A) ?? bytes.count
        defer { start = end + 1 }
        var line = bytes[start..<end]
        let escaped = line.first == UInt8(ascii: "\\")
        if escaped { line = line.dropFirst() }
        guard line.count > 66 else { continue }
        let hash = String(decoding: line.prefix(64), as: UTF8.self)
        var path = String(decoding: line.dropFirst(66), as: UTF8.self)
        if escaped { path = path.replacingAll("\\n", with: "\n").replacingAll("\\\\", with: "\\") }
        body(path, hash)
    }
}

/// A SHA-256 in four words: kept for every message of a bundle, where a hex String would cost
/// a heap allocation each.
private struct Digest: Equatable {
    let words: (UInt64, UInt64, UInt64, UInt64)
    init(hex: String) {
        let utf8 = Array(hex.utf8)
        func word(_ i: Int) -> UInt64 {
            guard utf8.count == 64 else { return 0 }
            return UInt64(String(decoding: utf8[(i * 16)..<(i * 16 + 16)], as: UTF8.self), radix: 16) ?? 0
        }
        words = (word(0), word(1), word(2), word(3))
    }
    static func == (l: Digest, r: Digest) -> Bool { l.words == r.words }
}

/// Checks a bundle end to end: decompression, tar structure, every file against SHA256SUMS,
/// every message against the manifest, and the three lists (manifest, SHA256SUMS, entries)
/// against each other.
public func verifyBundle(_ path: String, threads: Int = 0, log: WarningLog) throws -> VerifyReport {
    var report = VerifyReport(target: path, kind: "bundle")
    var actual: [String: (hash: Digest, size: Int64)] = [:]
    var manifestRead: BundleManifest?
    var sumsBytes: [UInt8]?
    var headerBytes: [UInt8]?
    var top: String?
    var streamComplete = false
    // Damage does not end the check: an xz bundle is read on past it, as every reader does,
    // so the report gives the same account as a restore (docs/recovering.md).
    var damage: [BundleReader.Damage] = []
    // Made before anything is read: a $TMPDIR that cannot hold it is this machine's problem
    // (exit 2), never a finding about the bundle.
    var scratch: BundleManifest.Builder? = try BundleManifest.Builder.spooled()
    do {
        let reader = try BundleReader(unverifiedPath: path, threads: threads, log: log)
        // The manifest streams past into a scratch file and is hashed as it goes: held whole,
        // a large one would take memory in proportion to its size.
        var building: BundleManifest.Builder?
        var manifestHash = ContentHasher()
        let chunked = BundleReader.Chunked(wanted: { $0.hasSuffix("/MANIFEST.jsonl") }) { _, at, bytes in
            if at == 0 {
                if let made = scratch {
                    building = made
                    scratch = nil
                } else {
                    building = try BundleManifest.Builder.spooled()
                }
                manifestHash = ContentHasher()
            }
            building?.append(bytes)
            manifestHash.update(bytes)
        }
        damage = try reader.forEachEntryRecovering(wantContent: { _ in true }, chunked: chunked) { entry, content in
            if top == nil { top = String(entry.path.split(separator: "/").first ?? "") }
            guard let t = top, entry.path.hasPrefix(t + "/") else {
                report.problem(entry.path, "outside the bundle's top directory \(top ?? "")")
                return
            }
            let relative = String(entry.path.dropFirst(t.count + 1))
            if actual[relative] != nil { report.problem(relative, "appears twice in the tar") }
            if relative == "MANIFEST.jsonl" {
                actual[relative] = (Digest(hex: manifestHash.finalizeHex()), entry.size)
                manifestRead = (building ?? BundleManifest.Builder(spool: nil)).finish()
                building = nil
                return
            }
            actual[relative] = (Digest(hex: ContentHasher.sha256Hex(of: content)), Int64(content.count))
            switch relative {
            case "SHA256SUMS": sumsBytes = Array(content)
            case "mailkeep-bundle.json": headerBytes = Array(content)
            default: break
            }
        }
        streamComplete = damage.isEmpty
    } catch {
        report.problem("(archive)", from: error)
    }
    for d in damage {
        var problem = VerifyReport.Problem(path: "(archive)", offset: d.offset, messageID: nil, what: d.description)
        problem.file = d.file
        report.problems.append(problem)
    }
    // An xz bundle damaged before its end can still hold its manifest in a block of its own,
    // found through the xz index: then every message past the damage is named below.
    if !streamComplete, manifestRead == nil,
       let reader = try? BundleReader(unverifiedPath: path, threads: threads, log: log) {
        manifestRead = (try? reader.manifestFromXZIndex())?.manifest
    }

    if let headerBytes {
        do {
            report.isIncrement = try BundleHeader.read(headerBytes, bundle: path).isIncrement
        } catch let error as MailKeepError {
            report.problem("mailkeep-bundle.json", error.reason)
        } catch {
            report.problem("mailkeep-bundle.json", "\(error)")
        }
    } else if streamComplete {
        report.problem("mailkeep-bundle.json", "missing")
    }

    var manifest = BundleManifest().entries
    if let failure = manifestRead?.failure { throw failure }
    if let read = manifestRead {
        manifest = read.entries
        for problem in read.problems {
            if let e = problem.duplicate {
                report.problem(e.path, "listed twice in MANIFEST.jsonl", messageID: e.messageID)
            } else {
                report.problem("MANIFEST.jsonl", problem.what)
            }
        }
    } else {
        report.problem("MANIFEST.jsonl", "missing: the bundle is incomplete (cut short?), so which messages it should hold is unknown")
    }

    var intact = 0
    // In manifest order, decoded one at a time: a sorted copy of a large manifest's paths
    // would take memory in proportion to it.
    for e in manifest.values {
        let path = e.path
        report.messagesChecked += 1
        guard let a = actual[path] else {
            report.problem(path, streamComplete ? "in the manifest but not in the archive"
                           : "lost in the damage (\(BundleReader.describe(e)))", messageID: e.messageID)
            continue
        }
        if a.size != e.size { report.problem(path, "size \(a.size), manifest says \(e.size)", messageID: e.messageID) }
        else if a.hash != Digest(hex: e.sha256) { report.problem(path, "SHA-256 differs from the manifest (content damaged)", messageID: e.messageID) }
        else { intact += 1 }
    }
    if !damage.isEmpty, manifestRead == nil {
        // With the manifest lost, a message counts only when the block holding it passed its
        // xz check: the stream walk above also met messages decoded before the damage was
        // noticed, which a restore does not give back. Read again as a restore reads.
        var intactBlocks = 0
        if let reader = try? BundleReader(path: path, threads: threads, log: WarningLog()), reader.manifestLost {
            _ = try? reader.forEachEntryRecovering(wantContent: { _ in true }) { entry, _ in
                if entry.path.split(separator: "/").dropFirst().first == "mail" { intactBlocks += 1 }
            }
        }
        report.messagesChecked = intactBlocks
        report.notes.append("\(intactBlocks) messages read back from intact blocks, checked by their xz block checks only: the manifest is lost with the damage")
    }
    if !damage.isEmpty, manifestRead != nil {
        report.notes.append("\(intact) of \(manifest.count) messages intact" + (intact < manifest.count ? "; the others are named above" : "") + " (docs/recovering.md)")
    }
    if manifestRead != nil {
        for path in actual.keys.filter({ $0.hasPrefix("mail/") && manifest[$0] == nil }).sorted() {
            report.problem(path, "in the archive but not in the manifest")
        }
    }

    if let sumsBytes {
        // Paths by their hash: one word a message (two paths sharing a 64-bit hash would only
        // make a "listed twice" report wrong).
        var listed = Set<Int>()
        forEachChecksumLine(sumsBytes) { path, hash in
            if !listed.insert(path.hashValue).inserted { report.problem(path, "listed twice in SHA256SUMS") }
            let m = manifest[path]
            guard let a = actual[path] else {
                if streamComplete { report.problem(path, "in SHA256SUMS but not in the archive", messageID: m?.messageID) }
                return
            }
            if a.hash != Digest(hex: hash), m.map({ Digest(hex: $0.sha256) == a.hash }) ?? true {
                report.problem(path, "SHA-256 differs from SHA256SUMS", messageID: m?.messageID)
            }
            if let m, m.sha256 != hash { report.problem(path, "SHA256SUMS and MANIFEST.jsonl disagree", messageID: m.messageID) }
        }
        for e in manifest.values where !listed.contains(e.path.hashValue) {
            report.problem(e.path, "in the manifest but not in SHA256SUMS", messageID: e.messageID)
        }
    } else if streamComplete {
        report.problem("SHA256SUMS", "missing")
    }
    return report
}

/// Checks bundles as one mailbox's history, once each has been checked on its own: every
/// link of every chain (a link not given or not the bundle its increment was made against is
/// a problem here, not an error), every state line of every bundle against the manifest it
/// names, and that the newest state can be given back in full from the chain's bytes (each of
/// its messages read and checked against its SHA-256). Nil when no bundle is an increment or
/// keeps a history (whose every state is checked so too).
public func verifyHistory(_ bundles: [String], threads: Int = 0, log: WarningLog) -> VerifyReport? {
    var report = VerifyReport(target: bundles.last ?? "", kind: "history")
    let local = WarningLog { warning in if warning.isNotice { log.add(warning) } }
    do {
        // Damage a bundle's own check named is named again here when the newest state needs
        // what it cost: the reader reports through the history's log.
        let readers = try bundles.map { try BundleReader(path: $0, threads: threads, log: local) }
        guard readers.contains(where: { $0.header?.hasStates ?? false }) else { return nil }
        let history = try BundleHistory(readers, log: local)
        report.target = history.chosenMember.path
        for state in history.members.indices.dropLast() {
            try history.forEachResolvedLine(ofState: state) { _, _, _, _ in }
        }
        try history.forEachMessage { _, _ in report.messagesChecked += 1 }
        // A consolidated chain that kept its history is one bundle of several states.
        let bundleCount = Set(history.members.map { ObjectIdentifier($0.bundle) }).count
        report.notes.append("\(bundleCount) bundle\(bundleCount == 1 ? "" : "s"), every link checked; the newest state (\(history.chosenMember.name)) "
            + "was read back from the chain: \(report.messagesChecked) messages")
    } catch let error as BundleHistory.ChainError {
        var problem = VerifyReport.Problem(path: "(history)", messageID: nil, what: error.reason)
        problem.file = error.file
        report.problems.append(problem)
    } catch {
        report.problem("(history)", from: error)
    }
    for w in local.warnings where !w.isNotice {
        var problem = VerifyReport.Problem(path: w.file, offset: w.offset, messageID: nil, what: w.message)
        problem.file = w.file
        report.problems.append(problem)
    }
    return report
}

/// Checks a directory against the `SHA256SUMS` in it (an extracted bundle, or any Maildir
/// someone has summed): every listed file must match, and every message file must be listed.
public func verifyChecksummedTree(_ root: String, log: WarningLog) -> VerifyReport {
    var report = VerifyReport(target: root, kind: "checksummed tree")
    let files = WholeFileReader()
    do {
        let (sumBytes, _) = try files.load(FileSystem.join(root, "SHA256SUMS"))
        var listed = Set<String>()
        forEachChecksumLine(Array(sumBytes)) { path, hash in
            listed.insert(path)
            if path.hasPrefix("mail/") || path.contains("/cur/") || path.contains("/new/") { report.messagesChecked += 1 }
            do {
                let (bytes, _) = try files.load(FileSystem.join(root, path))
                if ContentHasher.sha256Hex(of: bytes) != hash { report.problem(path, "SHA-256 differs from SHA256SUMS") }
            } catch {
                report.problem(path, "listed in SHA256SUMS but unreadable: \(error)")
            }
        }
        let tree = try MailTree(root: root, log: log)
        try MailTreeReader(tree, log: log).forEachMessage { meta, _ in
            let relative = meta.source.hasPrefix(root + "/") ? String(meta.source.dropFirst(root.count + 1)) : meta.source
            if !listed.contains(relative) { report.problem(relative, "not covered by SHA256SUMS (added since?)") }
        }
    } catch {
        report.problem("SHA256SUMS", "\(error)")
    }
    return report
}

/// `--against`: is every message of a live mailbox in the bundle? Compared by content hash,
/// so renames and flag changes do not count as differences.
public func compareBundle(_ bundlePath: String, against sources: SourceList, report: inout VerifyReport, log: WarningLog) {
    do {
        let bundle = try BundleReader(path: bundlePath, log: log)
        var inBundle: [String: Int] = [:]
        for e in bundle.entries.values { inBundle[e.sha256, default: 0] += 1 }
        var missing = 0
        try sources.forEachMessage { meta, content in
            let hash = ContentHasher.sha256Hex(of: content)
            if let n = inBundle[hash], n > 0 {
                inBundle[hash] = n - 1
            } else {
                missing += 1
                let id = MessageFacts(content: content).messageID
                report.problem(meta.source, "in the source but not in the bundle", messageID: id, isInTarget: false)
            }
        }
        let onlyInBundle = inBundle.values.reduce(0, +)
        if onlyInBundle > 0 {
            report.notes.append("\(onlyInBundle) messages are only in the bundle: deleted or changed in the source since it was packed")
        }
    } catch {
        report.problem("(against)", from: error)
    }
}
