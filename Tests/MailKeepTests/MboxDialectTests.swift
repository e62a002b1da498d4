import Foundation
import Testing
@testable import MailKeepIO
@testable import MailKeepFormats
@testable import MailKeepArchive
@testable import MailKeepPipeline
@testable import MailKeepCommands

@Suite struct MboxDialects {
    /// mutt and Dovecot write mboxcl2-style: a Content-Length, and `From ` lines in bodies as
    /// they are. Whatever dialect it is written in, the copy counts right and reads back the same.
    @Test(arguments: [nil, MboxVariant.mboxrd, .mboxo, .mboxcl2])
    func countedMessagesComeBackWhole(variant: MboxVariant?) throws {
        let original = try String(contentsOfFile: "\(repositoryRoot)/fixtures/mbox/mboxcl2.mbox", encoding: .utf8)
        let (messages, log) = try readMbox(original)
        #expect(messages.count == 2 && log.problemCount == 0)
        #expect(messages[0].text.contains("\n\nFrom alice@example.org Mon Jan  1 10:00:00 2024\n"))
        let written = try writeMbox(messages, variant: variant)
        if variant == nil || variant == .mboxcl2 { #expect(written == original) }
        if variant == .mboxrd {
            // Quoting changed the first body: its Content-Length would be stale, so it is gone.
            #expect(written.contains("\n\n>From alice@example.org Mon Jan  1 10:00:00 2024\n"))
            #expect(written.components(separatedBy: "Content-Length").count == 2)
        }
        // The reader warns about a Content-Length that does not end at the next message.
        let (back, backLog) = try readMbox(written)
        #expect(back.map(\.text) == messages.map(\.text))
        #expect(backLog.problemCount == 0)
    }

    /// A stale Content-Length (another tool quoted the body and kept it) is corrected when the
    /// message is written counted, never copied.
    @Test func staleLengthIsCorrected() throws {
        let text = "From a@x Mon Jan  1 00:00:00 2024\nSubject: a\nContent-Length: 99\n\n>From quoted\n\nFrom b@x Mon Jan  1 00:00:01 2024\nSubject: b\n\ny\n\n"
        let (messages, _) = try readMbox(text)
        #expect(messages[0].text == "Subject: a\n\nFrom quoted\n")
        let written = try writeMbox(messages, variant: nil)
        #expect(written.hasPrefix("From a@x Mon Jan  1 00:00:00 2024\nSubject: a\nContent-Length: 12\n\nFrom quoted\n\n"))
        let (back, log) = try readMbox(written)
        #expect(back.map(\.text) == messages.map(\.text))
        #expect(log.problemCount == 0)
    }

    /// Thunderbird (mboxo) leaves an author's `>From ` as it is; read as mboxrd it would lose
    /// its `>`. Its messages are read as mboxo, and written so they read back the same.
    @Test(arguments: [nil, MboxVariant.mboxrd, .mboxo])
    func thunderbirdMessagesAreMboxo(variant: MboxVariant?) throws {
        let text = "From - Mon Jan  1 00:00:00 2024\nX-Mozilla-Status: 0001\nSubject: a\n\n>From the author, quoted by hand\n\nFrom - Tue Jan  2 00:00:00 2024\nX-Mozilla-Status: 0000\nSubject: b\n\ny\n\n"
        let (messages, _) = try readMbox(text)
        #expect(messages[0].text.contains("\n>From the author"))
        let written = try writeMbox(messages, variant: variant)
        if variant == nil { #expect(written == text) }
        let (back, log) = try readMbox(written)
        #expect(back.map(\.text) == messages.map(\.text))
        #expect(log.problemCount == 0)
        // Without X-Mozilla-Status the writer is not evident: mboxrd, one `>` less.
        let plain = text.replacingOccurrences(of: "X-Mozilla-Status: 0001\n", with: "")
        #expect(try readMbox(plain).messages[0].text.contains("\nFrom the author"))
    }

    /// `--mbox-dialect` says how a file whose writer is not evident is quoted.
    @Test func dialectOptionSetsTheQuoting() throws {
        let text = "From a@x Mon Jan  1 00:00:00 2024\nSubject: a\n\n>From kept\n>>From kept too\n\n"
        func read(_ dialect: MboxDialect) throws -> String {
            var out = ""
            try MboxReader(MemorySource(Array(text.utf8), chunk: 5, name: "m"), dialect: dialect, log: WarningLog()).forEachMessage { _, c in
                out = String(decoding: c, as: UTF8.self)
            }
            return out
        }
        #expect(try read(.mboxo) == "Subject: a\n\n>From kept\n>>From kept too\n")
        #expect(try read(.mboxcl2) == "Subject: a\n\n>From kept\n>>From kept too\n")
        #expect(try read(.mboxrd) == "Subject: a\n\nFrom kept\n>From kept too\n")
        #expect(try read(.auto) == "Subject: a\n\nFrom kept\n>From kept too\n")
        #expect(try MailConvert.parse(["a", "-o", "b", "--mbox-dialect", "mboxo"]).reading.mboxDialect == .mboxo)
        #expect(throws: (any Error).self) { try MailScan.parse(["a", "--mbox-dialect", "mmdf"]) }
    }
}

@Suite struct FromLineTimes {
    private func time(_ line: String, _ zone: FromLine.Zone) -> Int64? {
        Array(line.utf8).withUnsafeBytes { FromLine.parse($0, zone: zone).time }
    }

    /// mutt writes `ctime()`, the local time: a mail received at 10:00 UTC in New York reads
    /// `05:00`, and is 10:00 UTC again when read in New York.
    @Test func zoneLessDatesAreInTheGivenZone() {
        let tenUTC: Int64 = 1704362400  // 2024-01-04 10:00:00 UTC
        #expect(time("sender@x Thu Jan  4 05:00:00 2024", .offset(-5 * 3600)) == tenUTC)
        #expect(time("sender@x Thu Jan  4 10:00:00 2024", .offset(0)) == tenUTC)
        // A numeric zone on the line wins, before or after the year.
        #expect(time("sender@x Thu Jan  4 12:00:00 +0200 2024", .offset(-5 * 3600)) == tenUTC)
        #expect(time("sender@x Thu Jan  4 12:00:00 2024 +0200", .offset(-5 * 3600)) == tenUTC)
        let line = FromLine.format(sender: "s@x", time: tenUTC, zone: .offset(-5 * 3600))
        #expect(String(decoding: line, as: UTF8.self) == "From s@x Thu Jan  4 05:00:00 2024")
    }

    /// Written and read in the local zone, whatever it is, a time comes back as it was.
    @Test func localTimesRoundTrip() {
        for t: Int64 in [0, 1704362400, 1719835200, 951782400] {
            let line = FromLine.format(sender: "s@x", time: t)
            #expect(time(String(decoding: line.dropFirst(5), as: UTF8.self), .local) == t)
        }
    }
}

/// An mbox read as mboxo (`--mbox-dialect mboxo`, an Apple Mail package) is written back as
/// mboxo, whatever the way: mbox to mbox, through a bundle, through a Maildir. A body line
/// `>From ` is the author's there, and must not gain a `>`.
@Suite struct MboxoKept {
    let original = Array(("From a@example.org Mon Jan  1 00:00:00 2024\nSubject: quoted\n\n>From the author\n>>From the author too\n\n"
        + "From b@example.org Mon Jan  1 00:00:01 2024\nSubject: plain\n\nplain\n\n").utf8)

    private func bytes(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }

    private func convertMbox(_ source: String, to destination: String, dialect: MboxDialect = .auto, format: OutputFormat) throws {
        let log = WarningLog()
        _ = try convert(SourceList([source], mboxDialect: dialect, log: log), to: destination, options: ConvertOptions(format: format), log: log)
        #expect(log.problemCount == 0, "\(log.warnings)")
    }

    @Test func everyPathKeepsTheSourcesDialect() throws {
        let dir = try ScratchDirectory()
        try writeFile(dir.file("o.mbox"), original)
        try convertMbox(dir.file("o.mbox"), to: dir.file("direct.mbox"), dialect: .mboxo, format: .mbox)
        #expect(try bytes(dir.file("direct.mbox")) == original)

        let log = WarningLog()
        let list = try SourceList([dir.file("o.mbox")], nameMboxFolders: true, mboxDialect: .mboxo, log: log)
        let writer = try BundleWriter(path: dir.file("o.tar.xz"), options: BundleOptions(compression: .xz), sources: [dir.file("o.mbox")], log: log)
        try list.forEachMessage { meta, content in try writer.write(meta, content: content) }
        try writer.finish()
        try convertMbox(dir.file("o.tar.xz"), to: dir.file("bundle.mbox"), format: .mbox)
        #expect(try bytes(dir.file("bundle.mbox")) == original)

        try convertMbox(dir.file("o.mbox"), to: dir.file("md"), dialect: .mboxo, format: .maildir)
        try convertMbox(dir.file("md"), to: dir.file("md.mbox"), format: .mbox)
        #expect(try bytes(dir.file("md.mbox")) == original)

        try FileManager.default.createDirectory(atPath: dir.file("apple/Work.mbox"), withIntermediateDirectories: true)
        try writeFile(dir.file("apple/Work.mbox/mbox"), original)
        try convertMbox(dir.file("apple"), to: dir.file("apple-out"), format: .mbox)
        #expect(try bytes(dir.file("apple-out")) == original)

        // Asked for mboxrd, the quoting is mboxrd: the content is the same.
        let rd = WarningLog()
        _ = try convert(SourceList([dir.file("o.mbox")], mboxDialect: .mboxo, log: rd), to: dir.file("rd.mbox"),
                        options: ConvertOptions(format: .mbox, mboxVariant: .mboxrd), log: rd)
        #expect(String(decoding: try bytes(dir.file("rd.mbox")), as: UTF8.self).contains("\n>>From the author\n>>>From the author too\n"))
    }
}

/// Thunderbird finds subfolders in `NAME.sbd/` beside the file `NAME`: the INBOX's, whatever
/// the case of its name in the source, go beside the root folder's `INBOX` file.
@Suite struct InboxSubfoldersInMboxTrees {
    @Test func inboxSubfoldersPairWithTheInboxFile() throws {
        let dir = try ScratchDirectory()
        for spelling in ["inbox", "Inbox", "INBOX"] {
            let root = dir.file(spelling)
            let log = WarningLog()
            let sink = try MboxTreeSink(root: root, variant: nil, log: log)
            for (n, folder) in [[], [spelling, "Sub"], [spelling, "Sub", "Deeper"]].enumerated() {
                var text = "Subject: \(n)\n\nbody\n"
                _ = try text.withUTF8 { try sink.write(MessageMetadata(folder: folder, received: Int64(n + 1)), content: UnsafeRawBufferPointer($0)) }
            }
            try sink.finish()
            let top = try FileManager.default.contentsOfDirectory(atPath: root).filter { !$0.hasPrefix(".") }.sorted()
            #expect(top == ["INBOX", "INBOX.sbd"], "\(spelling): \(top)")
            #expect(FileManager.default.fileExists(atPath: root + "/INBOX.sbd/Sub.sbd/Deeper"))
            var read = Set<[String]>()
            try MailTreeReader(try MailTree(root: root, log: log), log: log).forEachMessage { meta, _ in read.insert(meta.folder) }
            #expect(read == [[], [spelling, "Sub"], [spelling, "Sub", "Deeper"]], "\(spelling)")
            #expect(log.problemCount == 0)
        }
    }
}
