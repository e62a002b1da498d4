import Foundation
import Testing
@testable import MailKeepIO
@testable import MailKeepFormats
@testable import MailKeepArchive
@testable import MailKeepPipeline

/// A selection means one thing: on real third-party mail packed into a bundle, selecting
/// through the manifest, selecting by reading every message of the bundle, and selecting on
/// the original sources give the same messages, for every selection option, regular
/// expression anchors included.
@Suite(.serialized) struct SelectionThroughTheManifest {
    /// ../shared/corpus beside the repository, found from this file's path.
    static let corpus = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("shared/corpus").path
    /// Maildir trees (nested folders, `!` and `;` separators, flags), mbox files (a Takeout export with
    /// CRLF, a spool with a long To list) and .eml files with broken dates and addresses.
    static let sources = [
        "notmuch/test/corpora/default", "notmuch/test/corpora/lkml", "mu/testdata/testdir",
        "got-your-back/samples/google-takeout/takeout.mbox", "gnu-mailutils/testsuite/spool/teaparty.mbox",
        "gnu-mailutils/testsuite/spool/bigto.mbox", "ruby-mail/spec/fixtures/emails/error_emails",
        "stalwart-mail-parser/resources/maildir",
    ].map { corpus + "/" + $0 }
    static let present = sources.allSatisfy { FileManager.default.fileExists(atPath: $0) }
    static let underCI = ProcessInfo.processInfo.environment["CI"] == "true"

    struct Query: CustomStringConvertible {
        var description: String
        var selection: Selection
        /// A query meant to select nothing.
        var empty = false
    }

    static func patterns(_ values: [String], regex: Bool = true) throws -> [TextPattern] {
        try values.map { try TextPattern($0, regex: regex) }
    }

    static func date(_ text: String) throws -> Int64 { try #require(parseSelectionDate(text)) }

    /// Every option, alone and combined, with values chosen to cut the corpus somewhere in the
    /// middle; `ids` are Message-IDs found in it.
    static func queries(ids: [String]) throws -> [Query] {
        func q(_ description: String, empty: Bool = false, _ build: (inout Selection) throws -> Void) rethrows -> Query {
            var s = Selection()
            try build(&s)
            return Query(description: description, selection: s, empty: empty)
        }
        return [
            try q("--since 2009-01-01") { $0.since = try date("2009-01-01") },
            try q("--until 2005-01-01") { $0.until = try date("2005-01-01") },
            try q("--since 2000-01-01 --until 2009-06-01") { $0.since = try date("2000-01-01"); $0.until = try date("2009-06-01") },
            try q("--date-source received --since 2009-11-01") { $0.dateSource = .received; $0.since = try date("2009-11-01") },
            try q("--date-source received --until 2009-11-18") { $0.dateSource = .received; $0.until = try date("2009-11-18") },
            try q("--regex --from ^[a-k]") { $0.from = try patterns(["^[a-k]"]) },
            try q("--regex --from >$") { $0.from = try patterns([">$"]) },
            try q("--regex --from ^[^<]*$") { $0.from = try patterns(["^[^<]*$"]) },
            try q("--from , (a comma inside one address)") { $0.from = try patterns([","], regex: false) },
            try q("--from gmail --from kernel") { $0.from = try patterns(["gmail", "kernel"], regex: false) },
            try q("--regex --to ^[a-k]") { $0.to = try patterns(["^[a-k]"]) },
            try q("--regex --to \\.org>?$") { $0.to = try patterns(["\\.org>?$"]) },
            try q("--regex --to ^linux") { $0.to = try patterns(["^linux"]) },
            try q("--to , (a comma inside one address)") { $0.to = try patterns([","], regex: false) },
            try q("--regex --subject ^re:") { $0.subject = try patterns(["^re:"]) },
            try q("--regex --subject ^$") { $0.subject = try patterns(["^$"]) },
            try q("--regex --subject patch.*[0-9]$") { $0.subject = try patterns(["patch.*[0-9]$"]) },
            try q("--subject the") { $0.subject = try patterns(["the"], regex: false) },
            try q("--regex --header 'X-Mailer: ^[a-m]'") { $0.headers = [("x-mailer", try TextPattern("^[a-m]", regex: true))] },
            try q("--header 'Content-Type: multipart'") { $0.headers = [("content-type", try TextPattern("multipart", regex: false))] },
            try q("--message-id (\(ids.count) ids)") { $0.messageIDs = Set(ids.map(normalizedMessageID)) },
            try q("--message-id nobody", empty: true) { $0.messageIDs = ["nobody@nowhere.invalid"] },
            q("--folder 'lkml*'") { $0.folders = ["lkml*"] },
            q("--folder '*/*'") { $0.folders = ["*/*"] },
            q("--folder default --folder teaparty") { $0.folders = ["default", "teaparty"] },
            q("--flag S") { $0.withFlags = ["S"] },
            q("--flag F --flag R") { $0.withFlags = ["F", "R"] },
            q("--no-flag S") { $0.withoutFlags = ["S"] },
            q("--min-size 8k") { $0.minSize = 8 << 10 },
            q("--max-size 2k") { $0.maxSize = 2 << 10 },
            q("--min-size 2k --max-size 8k") { $0.minSize = 2 << 10; $0.maxSize = 8 << 10 },
            try q("--regex --to ^[a-k] --since 2009-01-01") { $0.to = try patterns(["^[a-k]"]); $0.since = try date("2009-01-01") },
            try q("--regex --from >$ --flag S --folder 't*'") {
                $0.from = try patterns([">$"]); $0.withFlags = ["S"]; $0.folders = ["t*"]
            },
            try q("--regex --subject ^re: --no-flag S --max-size 4k") {
                $0.subject = try patterns(["^re:"]); $0.withoutFlags = ["S"]; $0.maxSize = 4 << 10
            },
            try q("--regex --header 'Content-Type: ^text' --until 2009-11-18") {
                $0.headers = [("content-type", try TextPattern("^text", regex: true))]; $0.until = try date("2009-11-18")
            },
        ]
    }

    /// A message as the three ways see it: its folder and content.
    static func key(_ meta: MessageMetadata, _ content: UnsafeRawBufferPointer) -> String {
        meta.folderPath + "\t" + ContentHasher.sha256Hex(of: content)
    }

    @Test(.enabled(if: present || underCI, "needs ../shared/corpus beside the repository"))
    func everyOptionSelectsTheSameMessagesEveryWay() throws {
        try #require(Self.present, "missing from ../shared/corpus: \(Self.sources.filter { !FileManager.default.fileExists(atPath: $0) })")
        let scratch = try ScratchDirectory()
        let bundle = scratch.file("corpus.tar.xz")
        try packBundle(Self.sources, to: bundle, options: BundleOptions(compression: .xz, blockSize: 64 << 10))
        let log = WarningLog()
        let reader = try BundleReader(path: bundle, log: log)
        #expect(log.problemCount == 0, "\(log.warnings.prefix(5))")
        let index = try XZBlockIndex(path: bundle)
        let sources = try SourceList(Self.sources, nameMboxFolders: true, log: WarningLog())
        let total = reader.order.count
        #expect(total > 400)

        let allIDs = reader.order.compactMap { reader.entries[$0]?.messageID }
        try #require(allIDs.count > 2)
        let ids = [allIDs[0], allIDs[allIDs.count / 2], allIDs[allIDs.count - 1]]
        for query in try Self.queries(ids: ids) {
            let s = query.selection
            var byReading: [String] = []
            try reader.forEachSelectedByReading(s) { meta, content, _ in byReading.append(Self.key(meta, content)) }
            let candidates = try #require(reader.candidates(for: s))
            var viaManifest: [String] = []
            try reader.forEachSelected(s, among: candidates, index: index) { meta, content, _ in viaManifest.append(Self.key(meta, content)) }
            var fromSources: [String] = []
            try sources.forEachSelected(s) { meta, content, _ in fromSources.append(Self.key(meta, content)) }

            #expect(viaManifest.sorted() == byReading.sorted(), "\(query): manifest \(viaManifest.count), reading \(byReading.count)")
            #expect(fromSources.sorted() == byReading.sorted(), "\(query): sources \(fromSources.count), bundle \(byReading.count)")
            // The manifest decides alone wherever it records the facts: only --header needs reading.
            if s.headers.isEmpty {
                #expect(candidates.count == byReading.count, "\(query): \(candidates.count) candidates for \(byReading.count)")
            }
            if query.empty {
                #expect(byReading.isEmpty, "\(query)")
            } else {
                #expect(byReading.count > 0 && byReading.count < total, "\(query) selects \(byReading.count) of \(total)")
            }
        }
    }
}
