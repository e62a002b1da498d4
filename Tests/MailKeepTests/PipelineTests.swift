import Foundation
import Testing
@testable import MailKeepIO
@testable import MailKeepFormats
@testable import MailKeepPipeline

/// The one loop: what each sink made of each message reaches the summary, and a failed run
/// discards the sink instead of finishing it.
@Suite struct PipelineTests {
    let mbox = FixtureTests.fixtures + "/mbox/mboxrd.mbox"

    @Test func outcomesAreCountedAcrossRuns() throws {
        let scratch = try ScratchDirectory()
        let root = scratch.file("Mail")
        var seen: [DeliveryOutcome] = []
        for run in 0..<2 {
            let log = WarningLog()
            let sink = try MaildirWriter(root: root, log: log)
            let summary = try Pipeline(sources: SourceList([mbox], log: log)).run(into: sink) { _, _, _, outcome in
                seen.append(outcome)
            }
            #expect(summary.messages == 3)
            #expect(summary.folders == 1)
            #expect(summary.counts.written == (run == 0 ? 3 : 0))
            #expect(summary.counts.alreadyPresent == (run == 0 ? 0 : 3))
        }
        #expect(seen == [.written, .written, .written, .alreadyPresent, .alreadyPresent, .alreadyPresent])
    }

    @Test func selectionNarrowsWhatReachesTheSink() throws {
        let log = WarningLog()
        var selection = Selection()
        selection.subject = [try TextPattern("quoted", regex: false)]
        let sink = RecordingSink()
        let summary = try Pipeline(sources: SourceList([mbox], log: log), selection: selection).run(into: sink)
        #expect(summary.messages == sink.subjects.count)
        #expect(summary.messages > 0 && summary.messages < 3)
        #expect(sink.subjects.allSatisfy { $0.lowercased().contains("quoted") })
        #expect(sink.finished && !sink.discarded)
    }

    @Test func aFailedRunDiscardsTheSink() throws {
        let log = WarningLog()
        let sink = RecordingSink(failAt: 2)
        #expect(throws: MailKeepError.self) {
            try Pipeline(sources: SourceList([mbox], log: log)).run(into: sink)
        }
        #expect(sink.discarded && !sink.finished)
        // A partial mbox under its final name would look complete: the real sink removes it.
        let scratch = try ScratchDirectory()
        let path = scratch.file("out.mbox")
        let mboxSink = try MboxStreamSink(path: path, variant: .mboxrd, log: log)
        let failing = RecordingSink(failAt: 2, inner: mboxSink)
        #expect(throws: MailKeepError.self) {
            try Pipeline(sources: SourceList([mbox], log: log)).run(into: failing)
        }
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path).isEmpty)
    }
}

/// Records what it is given; fails at the n-th message when asked to.
final class RecordingSink: MessageSink {
    var subjects: [String] = []
    var finished = false
    var discarded = false
    let failAt: Int?
    let inner: MessageSink?
    private(set) var counts = SinkCounts()

    init(failAt: Int? = nil, inner: MessageSink? = nil) {
        self.failAt = failAt
        self.inner = inner
    }

    func write(_ metadata: MessageMetadata, content: UnsafeRawBufferPointer) throws -> DeliveryOutcome {
        if subjects.count + 1 == failAt { throw MailKeepError.io(path: "sink", operation: "write", errno: ENOSPC) }
        subjects.append(MessageFacts(content: content).subject)
        try inner?.write(metadata, content: content)
        counts.add(.written, bytes: content.count)
        return .written
    }

    func finish() throws {
        finished = true
        try inner?.finish()
    }

    func discard() {
        discarded = true
        inner?.discard()
    }
}
