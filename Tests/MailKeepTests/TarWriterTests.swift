import Foundation
import Testing
@testable import MailKeepIO
@testable import MailKeepFormats
@testable import MailKeepArchive
@testable import MailKeepPipeline

@Suite struct TarWriterTests {
    /// 150 bytes of UTF-8 in the last component: too long for ustar's 100-byte name field.
    static let longUTF8Name = "Maildir/cur/" + String(repeating: "\u{e9}t\u{e9}-", count: 23) + "m:2,S"
    static let longASCIIName = "Maildir/" + String(repeating: "deep/", count: 40) + "message.eml"

    struct Item {
        let path: String
        let isDirectory: Bool
        let mtime: Int64
        let content: [UInt8]
    }

    static let items: [Item] = [
        Item(path: "Maildir", isDirectory: true, mtime: 1_600_000_000, content: []),
        Item(path: "Maildir/cur", isDirectory: true, mtime: 1_600_000_100, content: []),
        Item(path: longUTF8Name, isDirectory: false, mtime: 1_700_000_000, content: mixedData(count: 70_001, seed: 5)),
        Item(path: "Maildir/cur/empty:2,", isDirectory: false, mtime: 1_700_000_001, content: []),
        Item(path: "Maildir/cur/block:2,", isDirectory: false, mtime: 1_700_000_002, content: mixedData(count: 512, seed: 6)),
        Item(path: longASCIIName, isDirectory: false, mtime: 1_700_000_003, content: Array("hello\n".utf8)),
    ]

    /// Writes the items; returns the tar bytes and the content offsets addFile reported.
    static func writeItems(_ items: [Item] = items, chunk: Int = 1000) throws -> ([UInt8], [Int64]) {
        let sink = MemorySink()
        let writer = TarWriter(sink)
        var offsets: [Int64] = []
        for item in items {
            if item.isDirectory {
                try writer.addDirectory(path: item.path, mtime: item.mtime)
            } else {
                offsets.append(try writer.addFile(path: item.path, size: Int64(item.content.count), mtime: item.mtime))
                try item.content.withUnsafeBytes { all in
                    for start in stride(from: 0, to: all.count, by: chunk) {
                        try writer.writeContent(UnsafeRawBufferPointer(rebasing: all[start..<min(start + chunk, all.count)]))
                    }
                }
                try writer.endFile()
            }
        }
        try writer.finish()
        #expect(writer.bytesWritten == Int64(sink.bytes.count))
        #expect(sink.bytes.count % 512 == 0)
        #expect(sink.flushCount == 0)
        return (sink.bytes, offsets)
    }

    @Test func gnuTarListsAndExtractsWhatWeWrite() throws {
        let (tar, _) = try Self.writeItems()
        let scratch = try ScratchDirectory()
        let tarPath = scratch.file("bundle.tar")
        try writeFile(tarPath, tar)
        let listing = try runTool(["tar", "-tf", tarPath])
        #expect(listing.status == 0)
        let listed = String(decoding: listing.output, as: UTF8.self).split(separator: "\n").map(String.init)
        #expect(listed == Self.items.map { $0.isDirectory ? $0.path + "/" : $0.path })

        let target = scratch.file("out")
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: false)
        #expect(try runTool(["tar", "-xf", tarPath, "-C", target]).status == 0)
        // Files first, then directories: extracting into a directory changes its mtime.
        for item in Self.items.reversed() {
            let path = target + "/" + item.path
            if !item.isDirectory {
                #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))) == item.content)
            }
            #expect(try FileSystem.modificationTimeAndSize(path).mtime == item.mtime)
        }
    }

    @Test func contentOffsetsPointAtTheContent() throws {
        let (tar, offsets) = try Self.writeItems()
        let files = Self.items.filter { !$0.isDirectory }
        for (item, offset) in zip(files, offsets) {
            #expect(offset % 512 == 0)
            #expect(Array(tar[Int(offset)..<Int(offset) + item.content.count]) == item.content)
        }
    }

    @Test func paxCarriesTimesAndNamesUstarCannot() throws {
        let items = [
            Item(path: "old", isDirectory: false, mtime: -86_400, content: [1]),
            Item(path: "future", isDirectory: false, mtime: 10_000_000_000, content: [2]),
            Item(path: "caf\u{e9}", isDirectory: true, mtime: 0, content: []),
        ]
        let (tar, _) = try Self.writeItems(items)
        let reader = TarReader(MemorySource(tar))
        for item in items {
            let entry = try #require(try reader.next())
            #expect(entry.path == item.path)
            #expect(entry.mtime == item.mtime)
        }
        #expect(try reader.next() == nil)
        let scratch = try ScratchDirectory()
        try writeFile(scratch.file("t.tar"), tar)
        let verbose = String(decoding: try runTool(["tar", "--utc", "-tvf", scratch.file("t.tar")]).output, as: UTF8.self)
        #expect(verbose.contains("1969-12-31 00:00 old"))
        #expect(verbose.contains("2286-11-20 17:46 future"))
    }

    @Test func sizesBeyondOctalGoToPax() throws {
        let sink = MemorySink()
        let writer = TarWriter(sink)
        let size: Int64 = 9 << 30
        let offset = try writer.addFile(path: "huge", size: size, mtime: 1)
        #expect(offset == 3 * 512)
        let records = String(decoding: sink.bytes[512..<1024].prefix { $0 != 0 }, as: UTF8.self)
        #expect(records == "19 size=\(size)\n")
        #expect(sink.bytes[156] == UInt8(ascii: "x"))
        #expect(sink.bytes[1024 + 156] == UInt8(ascii: "0"))
    }

    @Test func declaredSizeIsEnforced() throws {
        let writer = TarWriter(MemorySink())
        try writer.addFile(path: "a", size: 3, mtime: 0)
        try writer.write([1, 2])
        let short = #expect(throws: MailKeepError.self) { try writer.endFile() }
        #expect(short.flatMap(malformedDetails)?.reason == "content is 2 bytes but 3 were declared")
        #expect(throws: MailKeepError.self) { try writer.write([3, 4]) }
        #expect(throws: MailKeepError.self) { try writer.addDirectory(path: "b", mtime: 0) }
        try writer.write([3])
        try writer.endFile()
        try writer.finish()
        #expect(throws: MailKeepError.self) { try writer.addDirectory(path: "c", mtime: 0) }
    }

    @Test(arguments: ["../x", "/abs", "a/../b", "a//b", "./a", "", "a/"])
    func unsafeOrUnnormalizedPathsAreRefused(path: String) throws {
        let writer = TarWriter(MemorySink())
        let error = #expect(throws: MailKeepError.self) { try writer.addDirectory(path: path, mtime: 0) }
        guard case .refused(path, _)? = error else {
            Issue.record("expected a refusal for \(path), got \(String(describing: error))")
            return
        }
    }

    @Test func paxRecordLengthCountsItsOwnDigits() {
        // 98 bytes after the length: 2 digits would make 100, which needs 3, so 101.
        let record = TarWriter.paxRecord(key: "path", value: String(repeating: "x", count: 91))
        #expect(record.count == 101)
        #expect(String(decoding: record.prefix(4), as: UTF8.self) == "101 ")
        #expect(TarWriter.paxRecord(key: "size", value: "1") == Array("9 size=1\n".utf8))
    }
}

extension TarWriter {
    func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try writeContent($0) } }
}
