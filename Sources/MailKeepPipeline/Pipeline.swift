import MailKeepIO
import MailKeepFormats

/// What a run did: messages read (and selected), and what the sink made of them.
public struct PipelineSummary: Sendable {
    /// Messages handed to the sink (after selection).
    public var messages = 0
    /// Distinct folders among them.
    public var folders = 0
    /// The sink's own account, final after it finished.
    public var counts = SinkCounts()
}

/// The one loop every tool runs: the sources, an optional selection, one sink, progress and a
/// summary. Converting, packing, restoring, listing and picking differ only in their sink;
/// the guarantees around it (the sink is finished only when every message went in, and
/// discarded when anything failed; the interruption hook; progress) live here once.
public struct Pipeline {
    public var sources: SourceList
    public var selection: Selection?
    public var progress: ProgressReporter?
    /// Changes a message's metadata on its way to the sink (restore `--into` a folder).
    public var retarget: ((inout MessageMetadata, UnsafeRawBufferPointer) -> Void)?
    /// Whether every folder of the sources is made in the sink, empty ones too. Only when the
    /// whole tree goes through (no selection narrows it, no `--into` gathers it in one folder).
    public var keepsEmptyFolders = true

    public init(sources: SourceList, selection: Selection? = nil, progress: ProgressReporter? = nil) {
        self.sources = sources
        self.selection = selection
        self.progress = progress
    }

    /// Runs every message (or every selected one) into `sink`. `observe` sees each message
    /// with its facts and what the sink made of it.
    @discardableResult
    public func run(into sink: MessageSink,
                    observe: ((MessageMetadata, UnsafeRawBufferPointer, LazyFacts, DeliveryOutcome) throws -> Void)? = nil)
        throws -> PipelineSummary {
        var summary = PipelineSummary()
        var folders = Set<[String]>()
        func deliver(_ meta: MessageMetadata, _ content: UnsafeRawBufferPointer, _ facts: LazyFacts) throws {
            var meta = meta
            // A folder `Inbox` from a bundle or tree read before this rule is the INBOX too.
            meta.folder = MailTree.inbox(meta.folder)
            retarget?(&meta, content)
            let outcome = try sink.write(meta, content: content)
            summary.messages += 1
            folders.insert(meta.folder)
            CrashPoint.messageWritten(count: summary.messages)
            progress?.update(messages: summary.messages, bytes: Int64(content.count))
            try observe?(meta, content, facts, outcome)
        }
        do {
            if keepsEmptyFolders && selection?.selectsEverything ?? true {
                for folder in sources.folders { try sink.prepareFolder(MailTree.inbox(folder)) }
            }
            if let selection {
                try sources.forEachSelected(selection, deliver)
            } else {
                try sources.forEachMessage { meta, content in try deliver(meta, content, LazyFacts(content)) }
            }
            // No mail in any source: an empty bundle or mbox would pass for a backup.
            if sources.holdsNoMail { sink.discard() } else { try sink.finish() }
        } catch {
            progress?.done()
            sink.discard()
            throw error
        }
        progress?.done()
        summary.folders = folders.count
        summary.counts = sink.counts
        return summary
    }
}
