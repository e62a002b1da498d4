import ArgumentParser
import MailKeepIO
import MailKeepFormats
import MailKeepArchive
import MailKeepPipeline

public struct MailVerify: MailKeepCommand {
    public init() {}

    public static let configuration = CommandConfiguration(
        commandName: "mailverify",
        abstract: "Check bundles, checksummed Maildirs and mboxes, naming every bad message.",
        discussion: """
        For a bundle: decompression integrity, tar structure, every message's SHA-256 against \
        the manifest and SHA256SUMS, and the manifest, SHA256SUMS and the archive's entries \
        against each other (missing, extra, duplicated). A directory with a SHA256SUMS (an \
        extracted bundle) is checked file by file. An mbox or a Maildir without checksums is \
        read through and every damaged spot reported.

        Bundles that make a history (a full bundle and its increments, or the directory \
        holding them) are each checked as above, then together: every link of every chain, \
        every state line against the manifest it names, and that the newest state can be \
        restored in full from the chain's bytes. A link not given or not the bundle its \
        increment was made against, or a line that names no message, is a problem.

        --against answers "is my backup complete?": messages in SOURCE that the bundle lacks \
        are a problem; messages only in the bundle are listed as deleted or changed since.

        The report goes to stdout, one line per problem in the diagnostic form \
        'FILE: offset N: what <message-id>' (a message inside a bundle is BUNDLE[member]), \
        then one summary line per target. Errors that stop a check go to stderr.

        Examples:
          mailverify /media/usb/mail-2026-11-29.tar.xz
          mailverify mail.tar.xz --against ~/Maildir
          mailverify --json *.tar.xz | jq 'select(.ok == false)'
          mailverify /backup/bob

        Exit status: 0 all good; 1 a problem was found; 2 could not read a target; 64 usage error.
        """,
        version: mailkeepVersion
    )

    @Argument(help: "Bundles (or their first volume, NAME.001), directories with SHA256SUMS, Maildirs or mboxes.")
    package var targets: [String]

    @OptionGroup package var reading: SourceOptions

    @Option(help: ArgumentHelp("Also check that every message of this live Maildir or mbox is in the bundle.", valueName: "source"))
    package var against: String?

    @Flag(help: "One JSON object per target: target, kind, ok, messages, problems (path, offset, message_id, problem), notes.")
    package var json = false

    @Option(help: "Decompression threads (default: all cores).")
    package var threads: Int = 0

    public func execute(on console: Console) throws -> Int32 {
        let log = console.warningLog()
        var status = ExitStatus.ok
        // A directory holding only bundles is its bundles; bundles that make a history are
        // then checked together too.
        var expanded: [String] = []
        for target in targets {
            if try FileSystem.kind(target, followLinks: true) == .directory,
               try FileSystem.kind(FileSystem.join(target, "SHA256SUMS")) != .regular, let bundles = try SourceList.bundleFiles(in: target) {
                expanded += bundles
            } else {
                expanded.append(target)
            }
        }
        var bundles: [String] = []
        for target in expanded {
            do {
                var report = try verifyTarget(target, log: log)
                if report.kind == "bundle" { bundles.append(target) }
                // A bundle of nothing (packed from an empty or mistyped source) is no backup.
                if report.messagesChecked == 0 && report.problems.isEmpty && !report.isIncrement {
                    report.problems.append(.init(path: target, isInTarget: false, messageID: nil, what: "no mail found"))
                }
                if let against {
                    compareBundle(target, against: try SourceList([against], mboxDialect: reading.mboxDialect, log: log), report: &report, log: log)
                }
                if json {
                    try console.output(report.jsonLine)
                } else {
                    for line in report.humanLines { try console.output(line) }
                }
                if !report.ok && status == ExitStatus.ok { status = ExitStatus.problem }
            } catch let error as MailKeepError {
                status = max(status, console.fail(error))
            }
        }
        if let report = verifyHistory(bundles, threads: threads, log: log) {
            if json {
                try console.output(report.jsonLine)
            } else {
                for line in report.humanLines { try console.output(line) }
            }
            if !report.ok && status == ExitStatus.ok { status = ExitStatus.problem }
        }
        return status
    }

    /// Chooses the check by what the target is.
    package func verifyTarget(_ target: String, log: WarningLog) throws -> VerifyReport {
        switch try FileSystem.kind(target, followLinks: true) {
        case .directory:
            if try FileSystem.kind(FileSystem.join(target, "SHA256SUMS")) == .regular {
                return verifyChecksummedTree(target, log: log)
            }
            return try readThrough(target, kind: "Maildir tree", log: log)
        case .regular:
            if VolumeSink.isFirstVolumeName(target) { return try verifyBundle(target, threads: threads, log: log) }
            switch try MessageFileKind.sniff(target) {
            case .bundle: return try verifyBundle(target, threads: threads, log: log)
            case .mbox: return try readThrough(target, kind: "mbox", log: log)
            case .message: return try readThrough(target, kind: "message", log: log)
            case .other: throw MailKeepError.unrecognized(path: target, reason: "not a bundle, an mbox or a Maildir")
            }
        case .missing:
            throw MailKeepError.io(path: target, operation: "open", errno: 2)
        default:
            throw MailKeepError.unrecognized(path: target, reason: "not a file or directory")
        }
    }

    /// Mail without checksums can only be read through: every warning is a problem.
    package func readThrough(_ target: String, kind: String, log: WarningLog) throws -> VerifyReport {
        var report = VerifyReport(target: target, kind: kind)
        let local = WarningLog { warning in if warning.isNotice { log.add(warning) } }
        let list = try SourceList([target], mboxDialect: reading.mboxDialect, log: local)
        // An empty file where a backup should be (a copy cut to 0 bytes) is not "all good":
        // the source list reports it as "no mail found".
        try list.forEachMessage { _, _ in report.messagesChecked += 1 }
        for w in local.warnings where !w.isNotice {
            report.problems.append(.init(path: w.file, isInTarget: false, offset: w.offset, messageID: nil, what: w.message))
        }
        return report
    }
}
