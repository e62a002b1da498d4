import Testing
@testable import MailKeepIO
@testable import MailKeepFormats
@testable import MailKeepArchive
@testable import MailKeepPipeline

@Suite struct CodecXZBlockIndexTests {
    static let blockSize = 256 << 10

    func compressToFile(_ parts: [[UInt8]], in scratch: ScratchDirectory) throws -> String {
        var bytes: [UInt8] = []
        for part in parts {
            let sink = MemorySink()
            let compressor = try XZCompressor(sink, options: .init(preset: 0, threads: 2, blockSize: UInt64(Self.blockSize)))
            try write(part, to: compressor, chunk: 1 << 20)
            try compressor.flush()
            bytes += sink.bytes + [0, 0, 0, 0]
        }
        let path = scratch.file("data.xz")
        try writeFile(path, bytes)
        return path
    }

    @Test func randomRangesDecodeOnlyTheirBlocks() throws {
        let original = mixedData(count: 20 << 20)
        let scratch = try ScratchDirectory()
        let index = try XZBlockIndex(path: compressToFile([original], in: scratch))
        #expect(index.uncompressedSize == Int64(original.count))
        #expect(index.blocks.count == original.count / Self.blockSize)
        #expect(index.blocks.allSatisfy { $0.uncompressedSize == Int64(Self.blockSize) })

        var state: UInt64 = 12345
        func random(_ bound: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(bound))
        }
        var ranges = [(0, 1), (original.count - 1, 1), (Self.blockSize - 10, 20), (0, 0), (Self.blockSize, Self.blockSize)]
        for _ in 0..<30 {
            let length = random(600_000)
            ranges.append((random(original.count - length), length))
        }
        for (offset, length) in ranges {
            let sink = MemorySink()
            let decoded = try index.read(offset: Int64(offset), length: Int64(length), into: sink)
            #expect(sink.bytes == Array(original[offset..<(offset + length)]))
            let expectedBlocks = length == 0 ? 0 : (offset + length - 1) / Self.blockSize - offset / Self.blockSize + 1
            #expect(decoded == expectedBlocks)
        }
    }

    @Test func concatenatedStreamsFormOneIndex() throws {
        let first = mixedData(count: 700_000, seed: 3)
        let second = mixedData(count: 300_000, seed: 4)
        let scratch = try ScratchDirectory()
        let index = try XZBlockIndex(path: compressToFile([first, second], in: scratch))
        #expect(index.uncompressedSize == Int64(first.count + second.count))
        #expect(index.blocks.count == 3 + 2)
        let all = first + second
        let sink = MemorySink()
        let offset = first.count - 1000
        #expect(try index.read(offset: Int64(offset), length: 5000, into: sink) == 2)
        #expect(sink.bytes == Array(all[offset..<(offset + 5000)]))
    }

    @Test func rangesOutsideTheFileAndDamagedFilesAreErrors() throws {
        let original = mixedData(count: 600_000)
        let scratch = try ScratchDirectory()
        let path = try compressToFile([original], in: scratch)
        let index = try XZBlockIndex(path: path)
        #expect(throws: MailKeepError.self) { try index.read(offset: 599_999, length: 2, into: MemorySink()) }

        var damaged = try FileHandleFD.open(reading: path).readAll()
        damaged[damaged.count - 20] ^= 0xFF
        let damagedPath = scratch.file("damaged.xz")
        try writeFile(damagedPath, damaged)
        let error = #expect(throws: MailKeepError.self) { try XZBlockIndex(path: damagedPath) }
        #expect(error.flatMap(malformedDetails)?.reason.hasPrefix("cannot read the xz index") == true)

        var corruptBlock = try FileHandleFD.open(reading: path).readAll()
        let second = index.blocks[1]
        corruptBlock[Int(second.compressedOffset + second.totalSize / 2)] ^= 0x10
        let corruptPath = scratch.file("corrupt-block.xz")
        try writeFile(corruptPath, corruptBlock)
        let corruptIndex = try XZBlockIndex(path: corruptPath)
        #expect(try corruptIndex.read(offset: 0, length: 1000, into: MemorySink()) == 1)
        let blockError = #expect(throws: MailKeepError.self) {
            try corruptIndex.read(offset: second.uncompressedOffset, length: 1000, into: MemorySink())
        }
        #expect(blockError.flatMap(malformedDetails)?.offset == second.compressedOffset)
    }

    /// liblzma makes room for every record an index claims before reading one; the limit set
    /// from the file's size turns a 36-byte file claiming 2^46 blocks into a plain error, and
    /// still reads the densest real files: thousands of empty streams, or one-byte blocks.
    @Test func anIndexClaimingMoreBlocksThanTheFileHoldsIsAnError() throws {
        let hostile = FuzzCrasherTests.fuzzFixtures + "/crashers/xz/index-claims-2-to-the-46-blocks.xz"
        let error = #expect(throws: MailKeepError.self) { try XZBlockIndex(path: hostile) }
        #expect(error.flatMap(malformedDetails)?.reason.contains("claims more blocks than a file of 36 bytes") == true)

        let scratch = try ScratchDirectory()
        var emptyStreams: [UInt8] = []
        for _ in 0..<3000 {
            let sink = MemorySink()
            try XZCompressor(sink, options: .init(preset: 0, threads: 1, blockSize: 1 << 20)).flush()
            emptyStreams += sink.bytes
        }
        let emptyPath = scratch.file("empty-streams.xz")
        try writeFile(emptyPath, emptyStreams)
        #expect(try XZBlockIndex(path: emptyPath).uncompressedSize == 0)

        let tiny = mixedData(count: 5000, seed: 5)
        let sink = MemorySink()
        let compressor = try XZCompressor(sink, options: .init(preset: 0, threads: 1, blockSize: 1))
        try write(tiny, to: compressor, chunk: 1 << 20)
        try compressor.flush()
        let tinyPath = scratch.file("one-byte-blocks.xz")
        try writeFile(tinyPath, sink.bytes)
        let tinyIndex = try XZBlockIndex(path: tinyPath)
        #expect(tinyIndex.blocks.count == tiny.count)
    }
}
