import ArgumentParser
import MailKeepIO
import MailKeepFormats
import MailKeepArchive
import MailKeepPipeline

extension Compression: ExpressibleByArgument {}

public struct MailPack: MailKeepCommand {
    public init() {}

    public static let configuration = CommandConfiguration(
        commandName: "mailpack",
        abstract: "Pack mail into a compressed bundle that stays a plain tar, with a SHA-256 manifest.",
        discussion: """
        A bundle holds the mail as a Maildir tree (so tar -x alone gives back a tree any \
        client opens), SHA256SUMS (so sha256sum -c alone checks it) and MANIFEST.jsonl (what \
        every message is, and how to rebuild an original mbox byte for byte). The format is \
        described in docs/bundle-format.md.

        The bundle is written under a temporary name and renamed when complete and synced: an \
        interrupted pack never leaves something that looks finished.

        With --base, the bundle is an increment over an earlier one (or the newest complete \
        one in a directory): it stores only messages whose content the base's chain does not \
        hold, and the state of the whole source now (every message's folder, flags and which \
        bundle holds it). Maildir files whose name, size and mtime the base's state records \
        are not read (--rehash reads them all). The chain's bundles must be beside the base.

        With --consolidate, the sources are a chain's bundles (or their directory): the newest \
        one's state (its chain found beside it) is written as one full bundle, for retention. With \
        --keep-history, the bundle keeps every older state of the chain too (each message's \
        bytes once), so that mailrestore --as-of and --deleted still answer for the period.

        Examples:
          mailpack ~/Maildir Archive.mbox -o mail-2026-11-29.tar.xz --verify
          mailpack ~/Maildir -o /media/usb/mail.tar.xz --volume-size 3900M
          mailpack ~/Maildir -o - | gpg -c > mail.tar.xz.gpg
          mailpack ~/Maildir -o backups/mail-2026-11-30.tar.xz --base backups/mail-2026-11-29.tar.xz
          mailpack --consolidate backups/mail-2026-11-3*.tar.xz -o mail-full-2026-11-30.tar.xz
          mailpack --consolidate --keep-history backups/mail-2026-11-*.tar.xz -o mail-2026-11.tar.xz

        Diagnostics: 'mailpack: FILE: offset N: what' on stderr (see README, Diagnostics).

        Exit status: 0 done; 1 done, but some input was damaged and reported, or --verify \
        found a problem, or a link of the base's chain is not the bundle it names; 2 I/O \
        error, unreadable input, or a link of the base's chain missing; 64 usage error.
        """,
        version: mailkeepVersion
    )

    @Argument(help: "Mail to pack: mbox, Maildir, .eml, a bundle, or - for stdin.")
    package var sources: [String]

    @OptionGroup package var reading: SourceOptions

    @Option(name: .shortAndLong, help: "The bundle to write (.tar.xz, .tar.gz or .tar); - for stdout.")
    package var output: String

    @Option(help: "xz, gzip or none (default: from the output name, else xz).")
    package var compression: Compression?

    @Option(help: "Compression level: xz preset 0-9 (default 1, see README) or gzip level 1-9 (default 6).")
    package var level: Int?

    @Option(help: "Compression threads (default: all cores).")
    package var threads: Int = 0

    @Option(help: ArgumentHelp("Split the output into files of at most SIZE (4G, 3900M) named BUNDLE.001, .002, ...", valueName: "size"))
    package var volumeSize: String?

    @OptionGroup package var infoSeparator: InfoSeparatorOption

    @Flag(help: "Read the written bundle back from disk and verify it before exiting.")
    package var verify = false

    @Option(help: ArgumentHelp("Write an increment over this bundle (or the newest bundle in this directory whose chain is all there).", valueName: "bundle-or-dir"))
    package var base: String?

    @Flag(help: "With --base: read and hash every file, even those the base's state records unchanged.")
    package var rehash = false

    @Flag(help: "The sources are a chain of bundles: write the newest one's state as one full bundle.")
    package var consolidate = false

    @Flag(help: "With --consolidate: keep the chain's older states too, for --as-of and --deleted.")
    package var keepHistory = false

    public func validate() throws {
        if let level, !(0...9).contains(level) { throw ValidationError("--level must be 0-9") }
        if let volumeSize, parseSize(volumeSize).map({ $0 < 1 << 20 }) ?? true {
            throw ValidationError("--volume-size: '\(volumeSize)' is not a size of at least 1M (such as 4G or 3900M)")
        }
        if volumeSize != nil && output == "-" { throw ValidationError("--volume-size needs a file name, not -") }
        if verify && output == "-" { throw ValidationError("--verify needs a file name, not -") }
        if rehash && base == nil { throw ValidationError("--rehash goes with --base") }
        if consolidate && base != nil { throw ValidationError("--consolidate writes a full bundle; it does not take --base") }
        if keepHistory && !consolidate { throw ValidationError("--keep-history goes with --consolidate") }
        if let ext = BundleOptions.foreignArchiveKind(forName: output) {
            throw ValidationError("-o \(output): mailpack writes a tar bundle (.tar.xz, .tar.gz or .tar), not a \(ext) file")
        }
        if let compression, let named = BundleOptions.compression(forName: output), named != compression {
            throw ValidationError("--compression \(compression.rawValue) contradicts the name \(output), which says \(named.rawValue)")
        }
    }

    public func execute(on console: Console) throws -> Int32 {
        let log = console.warningLog()
        let chosen = compression ?? BundleOptions.compression(forName: output) ?? .xz
        let options = BundleOptions(compression: chosen, level: level, threads: threads,
                                    volumeSize: volumeSize.flatMap(parseSize), infoSeparator: infoSeparator.separator)
        try checkDestination(output, isOutsideOf: sources)
        if consolidate { return try consolidateChain(options: options, log: log, console: console) }
        let list = try SourceList(sources, nameMboxFolders: true, mboxDialect: reading.mboxDialect, log: log)
        var chain: ChainIndex?
        if let base {
            do {
                chain = try ChainIndex.open(base: base, knowFiles: !rehash, log: log)
            } catch let refusal as ChainRefusal {
                console.diagnose(refusal.description)
                return refusal.exitStatus
            }
            if !rehash { list.knownFiles = chain }
        }
        let bundle = try BundleWriter(path: output, options: options, sources: sources,
                                      folders: list.folders.map(MailTree.inbox), chain: chain, log: log)
        let summary = try Pipeline(sources: list, progress: ProgressReporter(console: console)).run(into: bundle)
        if list.holdsNoMail {
            console.diagnose("no bundle written")
            return ExitStatus.problem
        }
        let held = chain == nil ? "" : " (\(summary.counts.alreadyPresent) already in the chain)"
        // A mailbox shares most messages with yesterday's backup of it; sharing none, the base
        // is most likely another mailbox's, and restoring --deleted from it would list all.
        if let chain, let base, chain.holdsMessages, summary.messages > 0, summary.counts.alreadyPresent == 0 {
            log.add(file: base, offset: nil, "the base shares no message with the sources: another mailbox's chain? "
                    + "\(output) is written as its increment; start a new chain (without --base) if it is not")
        }
        console.diagnose("\(summary.messages) messages\(held), \(formatBytes(summary.counts.bytesWritten)) packed into "
            + "\(formatBytes(bundle.bundleBytes)) (\(chosen.rawValue))"
            + (log.problemCount > 0 ? ", \(log.problemCount) warnings" : ""))
        let status = log.problemCount > 0 ? ExitStatus.problem : ExitStatus.ok
        return try verifyWritten(status, options: options, log: log, console: console)
    }

    /// With --verify, reads the bundle back from the disk and checks it; the exit status.
    private func verifyWritten(_ status: Int32, options: BundleOptions, log: WarningLog, console: Console) throws -> Int32 {
        var status = status
        if verify {
            let first = options.volumeSize == nil ? output : VolumeSink.volumePath(output, 1)
            // Read back from the disk, not from the page cache that still holds what was written.
            var written = [first]
            while options.volumeSize != nil, try FileSystem.kind(VolumeSink.volumePath(output, written.count + 1)) == .regular {
                written.append(VolumeSink.volumePath(output, written.count + 1))
            }
            for path in written { try FileSystem.dropCachedPages(path) }
            let report = try verifyBundle(first, threads: threads, log: log)
            for line in report.humanLines { console.diagnose("verify: \(line)") }
            if !report.ok { status = ExitStatus.problem }
        }
        return status
    }

    private func consolidateChain(options: BundleOptions, log: WarningLog, console: Console) throws -> Int32 {
        var bundle: BundleWriter?
        let count: Int
        do {
            count = try Consolidation(bundles: sources, keepHistory: keepHistory, log: log).run(into: { layout in
                let writer = try BundleWriter(path: output, options: options, sources: sources, folders: layout.folders,
                                              history: layout.history, created: layout.created, log: log)
                bundle = writer
                return writer
            }, progress: ProgressReporter(console: console))
        } catch let refusal as ChainRefusal {
            console.diagnose(refusal.description)
            return refusal.exitStatus
        }
        console.diagnose("\(count) messages of \(keepHistory ? "the chain's states" : "the newest state") packed into \(formatBytes(bundle?.bundleBytes ?? 0))"
            + (log.problemCount > 0 ? ", \(log.problemCount) warnings" : ""))
        return try verifyWritten(log.problemCount > 0 ? ExitStatus.problem : ExitStatus.ok, options: options, log: log, console: console)
    }
}
