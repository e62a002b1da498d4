import Testing
@testable import MailKeepIO
@testable import MailKeepFormats
@testable import MailKeepArchive
@testable import MailKeepPipeline

@Suite struct CodecXZTests {
    func compress(_ data: [UInt8], chunk: Int = 1 << 20, options: XZCompressor.Options = .init(preset: 1, threads: 2)) throws -> [UInt8] {
        let sink = MemorySink()
        let compressor = try XZCompressor(sink, options: options)
        try write(data, to: compressor, chunk: chunk)
        try compressor.flush()
        #expect(compressor.compressedByteCount == Int64(sink.bytes.count))
        #expect(sink.flushCount == 1)
        return sink.bytes
    }

    func decompress(_ data: [UInt8], inputChunk: Int = 1 << 20, outputBuffer: Int = 1 << 16) throws -> [UInt8] {
        try readAll(XZDecompressor(MemorySource(data, chunk: inputChunk), threads: 2), bufferSize: outputBuffer)
    }

    @Test(arguments: [0, 1, 100, 3_000_000])
    func roundTrip(size: Int) throws {
        let original = mixedData(count: size)
        for chunk in [1 << 20, 7] {
            let compressed = try compress(original, chunk: chunk)
            #expect(try decompress(compressed) == original)
        }
    }

    @Test func oneByteChunksBothWays() throws {
        let original = mixedData(count: 20_000)
        let compressed = try compress(original, chunk: 1)
        #expect(try decompress(compressed, inputChunk: 1, outputBuffer: 1) == original)
    }

    @Test func oneMebibyteChunksAcrossSeveralBlocks() throws {
        let original = mixedData(count: 5 << 20)
        let compressed = try compress(original, chunk: 1 << 20, options: .init(preset: 0, threads: 2, blockSize: 1 << 20))
        #expect(try decompress(compressed, inputChunk: 1 << 20, outputBuffer: 1 << 20) == original)
    }

    @Test func concatenatedStreamsWithPaddingAreOneStream() throws {
        let first = mixedData(count: 10_000, seed: 1)
        let second = mixedData(count: 20_000, seed: 2)
        let joined = try compress(first) + [0, 0, 0, 0] + compress(second)
        #expect(try decompress(joined) == first + second)
        #expect(try decompress(joined, inputChunk: 3, outputBuffer: 5) == first + second)
    }

    @Test func truncatedStreamIsAnError() throws {
        let compressed = try compress(mixedData(count: 100_000))
        for cut in [compressed.count - 1, compressed.count / 2, 12, 3] {
            let error = #expect(throws: MailKeepError.self) { try decompress(Array(compressed.prefix(cut))) }
            let details = try #require(error.flatMap(malformedDetails))
            #expect(details.reason == "truncated xz stream")
            #expect(details.offset != nil)
            #expect(details.offset! <= Int64(cut))
        }
    }

    @Test func corruptDataIsAnErrorWithOffset() throws {
        var compressed = try compress(mixedData(count: 200_000))
        compressed[compressed.count / 2] ^= 0x55
        let error = #expect(throws: MailKeepError.self) { try decompress(compressed) }
        let details = try #require(error.flatMap(malformedDetails))
        #expect(details.reason == "corrupt xz data")
        #expect(details.offset != nil)
    }

    @Test func garbageAfterTheStreamIsAnError() throws {
        let compressed = try compress(mixedData(count: 5_000))
        for garbage: [UInt8] in [Array("junk".utf8), [0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8], [0xFD]] {
            let error = #expect(throws: MailKeepError.self) { try decompress(compressed + garbage) }
            let details = try #require(error.flatMap(malformedDetails))
            #expect(details.reason == "garbage after the end of the xz stream")
            #expect(details.offset == Int64(compressed.count + garbage.prefix { $0 == 0 }.count))
        }
        let error = #expect(throws: MailKeepError.self) { try decompress(compressed + [0, 0]) }
        #expect(error.flatMap(malformedDetails)?.reason == "xz stream padding is not a multiple of four bytes")
    }

    @Test func notXZAtAllIsAFormatError() throws {
        let error = #expect(throws: MailKeepError.self) { try decompress(Array("From someone\n".utf8)) }
        #expect(error.flatMap(malformedDetails)?.reason == "not an xz stream")
    }

    @Test func writeAfterFinishIsRefused() throws {
        let compressor = try XZCompressor(MemorySink(), options: .init(preset: 0, threads: 1))
        try compressor.flush()
        #expect(throws: MailKeepError.self) { try compressor.write([1, 2, 3]) }
    }

    @Test func endBlockStartsANewBlock() throws {
        let sink = MemorySink()
        let compressor = try XZCompressor(sink, options: .init(preset: 0, threads: 2))
        for seed in 1...3 {
            try compressor.write(mixedData(count: 50_000, seed: UInt64(seed)))
            try compressor.endBlock()
        }
        try compressor.flush()
        let scratch = try ScratchDirectory()
        let path = scratch.file("blocks.xz")
        try writeFile(path, sink.bytes)
        let robot = String(decoding: try runTool(["xz", "--robot", "--list", path]).output, as: UTF8.self)
        let totals = try #require(robot.split(separator: "\n").first { $0.hasPrefix("totals") })
        // totals <streams> <blocks> ...
        #expect(totals.split(separator: "\t")[2] == "3")
    }

    @Test func ourOutputDecodesWithXZ() throws {
        let original = mixedData(count: 1_500_000)
        let compressed = try compress(original, options: .init(preset: 6, extreme: true, threads: 2))
        let result = try runTool(["xz", "-dc"], input: compressed)
        #expect(result.status == 0)
        #expect(result.output == original)
    }

    @Test func xzOutputDecodesWithOurs() throws {
        let original = mixedData(count: 1_500_000)
        let single = try runTool(["xz", "-c", "-1"], input: original)
        #expect(single.status == 0)
        #expect(try decompress(single.output) == original)
        let threaded = try runTool(["xz", "-c", "-1", "-T2", "--block-size=100000"], input: original)
        #expect(try decompress(threaded.output) == original)
    }
}

/// A cut or damaged stream gives its reader every byte decoded before the damage, then the
/// error: an mbox read through it keeps every whole message before the damage.
@Suite struct CodecDamageTests {
    static let codecs: [String] = ["xz", "gzip"]

    @Test(arguments: codecs) func truncatedStreamGivesEverythingBeforeTheCutThenTheError(codec: String) throws {
        let original = mixedData(count: 2_000_000)
        let sink = MemorySink()
        let compressor: ByteSink = codec == "xz" ? try XZCompressor(sink, options: .init(preset: 1, threads: 1)) : try GzipCompressor(sink)
        try write(original, to: compressor, chunk: 1 << 20)
        try compressor.flush()
        let cut = MemorySource(Array(sink.bytes.prefix(sink.bytes.count * 3 / 4)))
        let decoder: ByteSource = codec == "xz" ? try XZDecompressor(cut, threads: 1) : try GzipDecompressor(cut)
        var got: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var failure: Error?
        do {
            while true {
                let n = try buffer.withUnsafeMutableBytes { try decoder.read(into: $0) }
                if n == 0 { break }
                got += buffer[0..<n]
            }
        } catch {
            failure = error
        }
        #expect(failure != nil)
        #expect(got.count > original.count / 2)
        #expect(Array(original.prefix(got.count)) == got)
    }
}
