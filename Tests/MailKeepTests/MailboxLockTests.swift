import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import MailKeepIO
@testable import MailKeepFormats

/// A scratch directory for one test.
private func scratchDirectory() throws -> String {
    let dir = NSTemporaryDirectory() + "mailkeep-lock-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

private func append(_ texts: [String], to path: String) throws -> MboxStreamSink {
    let sink = try MboxStreamSink(appendingTo: path, variant: .mboxrd, log: WarningLog())
    for text in texts {
        var t = text
        try t.withUTF8 { try sink.write(MessageMetadata(received: 0), content: UnsafeRawBufferPointer($0)) }
    }
    return sink
}

/// The locks are the ones other mail programs look for, held from opening to commit.
@Suite(.serialized) struct MailboxLocking {
    /// While mailkeep appends, `NAME.lock` exists with its pid, and an fcntl lock from another
    /// process's point of view is held (a child process, as locks are per process).
    @Test func appendingHoldsTheDotLockAndTheFcntlLock() throws {
        let dir = try scratchDirectory()
        let path = dir + "/INBOX"
        let sink = try append(["Subject: a\n\nbody\n"], to: path)
        let lockText = try String(contentsOfFile: path + ".lock", encoding: .utf8)
        #expect(lockText == "\(getpid())\n")
        // Python's mailbox asks the way a client does: a non-blocking exclusive lockf.
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = ["python3", "-c", "import fcntl,sys\nf=open(sys.argv[1],'r+')\ntry:\n fcntl.lockf(f, fcntl.LOCK_EX|fcntl.LOCK_NB)\nexcept OSError:\n sys.exit(3)\n", path]
        try probe.run()
        probe.waitUntilExit()
        #expect(probe.terminationStatus == 3)
        try sink.finish()
        #expect(!FileManager.default.fileExists(atPath: path + ".lock"))
        #expect(try String(contentsOfFile: path, encoding: .utf8).hasSuffix("\n\nbody\n\n"))
    }

    /// A dot-lock held by a live process is waited for, then refused naming it; one whose
    /// process is gone is stale and taken over.
    @Test func heldDotLockIsRefusedAndStaleOneTakenOver() throws {
        let dir = try scratchDirectory()
        let path = dir + "/INBOX"
        setenv("MAILKEEP_LOCK_TIMEOUT", "0.3", 1)
        defer { unsetenv("MAILKEEP_LOCK_TIMEOUT") }
        // pid 1 is alive in every namespace.
        try "1\n".write(toFile: path + ".lock", atomically: false, encoding: .utf8)
        #expect {
            _ = try append(["Subject: a\n\nbody\n"], to: path)
        } throws: { error in
            "\(error)".contains("\(path).lock exists (pid 1)") && (error as? MailKeepError)?.exitStatus == 2
        }
        #expect(!FileManager.default.fileExists(atPath: path))
        // A pid that is not running (beyond pid_max).
        try "99999999\n".write(toFile: path + ".lock", atomically: false, encoding: .utf8)
        let sink = try append(["Subject: a\n\nbody\n"], to: path)
        try sink.finish()
        #expect(!FileManager.default.fileExists(atPath: path + ".lock"))
        #expect(sink.counts.written == 1)
    }

    /// Appending never rewrites what is there: a file with a message lacking its closing empty
    /// line (as Python's mailbox leaves it) gets one, then the new message.
    @Test func appendKeepsEveryExistingByte() throws {
        let dir = try scratchDirectory()
        let path = dir + "/INBOX"
        let old = "From a@x Mon Jan  1 00:00:00 2024\nSubject: old\n\nkeep me\n"
        try old.write(toFile: path, atomically: false, encoding: .utf8)
        let inode = try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? Int
        try append(["Subject: new\n\nadd me\n"], to: path).finish()
        let result = try String(contentsOfFile: path, encoding: .utf8)
        #expect(result.hasPrefix(old + "\nFrom "))
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? Int == inode)
    }

    /// A message Python's mailbox followed with its own empty line (so it reads back with one
    /// more) is still known as present.
    @Test func messageFollowedByAnExtraEmptyLineIsStillPresent() throws {
        let dir = try scratchDirectory()
        let path = dir + "/INBOX"
        try "From a@x Mon Jan  1 00:00:00 2024\nSubject: old\n\nkeep me\n\n\nFrom b@x Mon Jan  1 00:00:00 2024\nSubject: b\n\nb\n"
            .write(toFile: path, atomically: false, encoding: .utf8)
        let sink = try append(["Subject: old\n\nkeep me\n"], to: path)
        try sink.finish()
        #expect(sink.counts.alreadyPresent == 1)
    }

    /// A run that fails leaves only whole messages, and no lock.
    @Test func abandonedAppendLeavesWholeMessagesAndNoLock() throws {
        let dir = try scratchDirectory()
        let path = dir + "/INBOX"
        let sink = try append(["Subject: a\n\nbody\n"], to: path)
        sink.discard()
        #expect(!FileManager.default.fileExists(atPath: path + ".lock"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)).isEmpty)
    }
}

/// The last message of a source that is still being written is left for the next run.
@Suite struct GrowingSource {
    let text = "From a@x Mon Jan  1 00:00:00 2024\nSubject: one\n\none\n\nFrom b@x Mon Jan  1 00:00:00 2024\nSubject: two\n\nhalf of it"

    private func subjects(_ reader: MboxReader) throws -> [String] {
        var out: [String] = []
        try reader.forEachMessage { _, content in out.append(String(decoding: content, as: UTF8.self)) }
        return out
    }

    @Test func unfinishedLastMessageOfAGrowingFileIsLeft() throws {
        let log = WarningLog()
        let reader = MboxReader(MemorySource(Array(text.utf8), chunk: 5, name: "live"), log: log)
        reader.endIsStillGrowing = { true }
        #expect(try subjects(reader) == ["Subject: one\n\none\n"])
        #expect(log.warnings.contains { $0.isNotice && $0.message.contains("still being written") })
        #expect(log.problemCount == 0, "\(log.warnings)")
    }

    /// The empty line after a header looks like the one that ends a message: a growing file's
    /// last message is left even so.
    @Test func lastMessageEndingInAnEmptyLineIsLeftWhileTheFileGrows() throws {
        let cut = "From a@x Mon Jan  1 00:00:00 2024\nSubject: one\n\none\n\nFrom b@x Mon Jan  1 00:00:00 2024\nSubject: two\n\n"
        let reader = MboxReader(MemorySource(Array(cut.utf8), chunk: 5, name: "live"), log: WarningLog())
        reader.endIsStillGrowing = { true }
        #expect(try subjects(reader) == ["Subject: one\n\none\n"])
        let settled = MboxReader(MemorySource(Array(cut.utf8), chunk: 5, name: "quiet"), log: WarningLog())
        settled.endIsStillGrowing = { false }
        #expect(try subjects(settled).count == 2)
    }

    /// A file cut short long ago keeps its last message (reported), as before.
    @Test func quietTruncatedFileKeepsItsLastMessage() throws {
        let dir = try scratchDirectory()
        let path = dir + "/old.mbox"
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        var times = [timeval(tv_sec: 1_000_000_000, tv_usec: 0), timeval(tv_sec: 1_000_000_000, tv_usec: 0)]
        #expect(utimes(path, &times) == 0)
        let log = WarningLog()
        #expect(try subjects(MboxReader.opening(path, log: log)).count == 2)
        #expect(log.problemCount == 1)
    }

    /// A file that grows while it is read: the reader sees the size change.
    @Test func fileThatGrowsDuringTheReadIsNoticed() throws {
        let dir = try scratchDirectory()
        let path = dir + "/live.mbox"
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        let log = WarningLog()
        let reader = try MboxReader.opening(path, log: log)
        var seen: [String] = []
        try reader.forEachMessage { _, content in
            seen.append(String(decoding: content, as: UTF8.self))
            if seen.count == 1 {
                let more = FileHandle(forWritingAtPath: path)!
                more.seekToEndOfFile()
                more.write(" and the rest".data(using: .utf8)!)
                more.closeFile()
            }
        }
        #expect(seen == ["Subject: one\n\none\n"])
    }
}
