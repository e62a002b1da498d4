import Testing
@testable import MailKeepIO
@testable import MailKeepFormats
@testable import MailKeepArchive
@testable import MailKeepPipeline

@Suite struct CodecGzipTests {
    func compress(_ data: [UInt8], chunk: Int = 1 << 20, level: Int32 = 6) throws -> [UInt8] {
        let sink = MemorySink()
        let compressor = try GzipCompressor(sink, level: level)
        try write(data, to: compressor, chunk: chunk)
        try compressor.flush()
        #expect(compressor.compressedByteCount == Int64(sink.bytes.count))
        #expect(sink.flushCount == 1)
        return sink.bytes
    }

    func decompress(_ data: [UInt8], inputChunk: Int = 1 << 20, outputBuffer: Int = 1 << 16) throws -> [UInt8] {
        try readAll(GzipDecompressor(MemorySource(data, chunk: inputChunk)), bufferSize: outputBuffer)
    }

    @Test(arguments: [0, 1, 100, 3_000_000])
    func roundTrip(size: Int) throws {
        let original = mixedData(count: size)
        for chunk in [1 << 20, 7] {
            #expect(try decompress(compress(original, chunk: chunk)) == original)
        }
    }

    @Test func oneByteChunksBothWays() throws {
        let original = mixedData(count: 20_000)
        let compressed = try compress(original, chunk: 1)
        #expect(try decompress(compressed, inputChunk: 1, outputBuffer: 1) == original)
    }

    @Test func multiMemberInputIsOneStream() throws {
        let parts = (1...3).map { mixedData(count: 10_000 * $0, seed: UInt64($0)) }
        let joined = try parts.flatMap { try compress($0) }
        #expect(try decompress(joined) == parts.flatMap { $0 })
        #expect(try decompress(joined, inputChunk: 1, outputBuffer: 3) == parts.flatMap { $0 })
    }

    @Test func truncatedStreamIsAnError() throws {
        let compressed = try compress(mixedData(count: 100_000))
        for cut in [compressed.count - 1, compressed.count - 8, compressed.count / 2, 5, 0] {
            let error = #expect(throws: MailKeepError.self) { try decompress(Array(compressed.prefix(cut))) }
            let details = try #require(error.flatMap(malformedDetails))
            #expect(details.reason == "truncated gzip stream")
            #expect(details.offset == Int64(cut))
        }
    }

    @Test(arguments: [-6, -2]) // a bit of the CRC32, of the length
    func failedEndCheckKeptApartGivesEverything(at: Int) throws {
        let original = mixedData(count: 200_000)
        let second = mixedData(count: 1_000, seed: 9)
        var first = try compress(original)
        first[first.count + at] ^= 0x01
        let decoder = try GzipDecompressor(MemorySource(first + compress(second), chunk: 7))
        decoder.keepsEndCheckApart = true
        #expect(try readAll(decoder, bufferSize: 1 << 16) == original + second)
        let failed = try #require(decoder.failedEndCheck.flatMap(malformedDetails))
        #expect(failed.reason.hasPrefix("corrupt gzip data: incorrect"))
    }

    @Test func corruptDataIsAnErrorWithOffset() throws {
        var compressed = try compress(mixedData(count: 200_000))
        compressed[compressed.count - 6] ^= 0x01  // inside the CRC32 trailer
        let error = #expect(throws: MailKeepError.self) { try decompress(compressed) }
        let details = try #require(error.flatMap(malformedDetails))
        #expect(details.reason.hasPrefix("corrupt gzip data"))
        #expect(details.offset != nil)
    }

    @Test func garbageAfterTheStreamIsAnError() throws {
        let compressed = try compress(mixedData(count: 5_000))
        for garbage: [UInt8] in [Array("junk".utf8), [0, 0, 0, 0], [0x1F]] {
            let error = #expect(throws: MailKeepError.self) { try decompress(compressed + garbage) }
            let details = try #require(error.flatMap(malformedDetails))
            #expect(details.reason == "garbage after gzip stream")
            #expect(details.offset == Int64(compressed.count))
        }
    }

    @Test func writeAfterFinishIsRefused() throws {
        let compressor = try GzipCompressor(MemorySink())
        try compressor.flush()
        #expect(throws: MailKeepError.self) { try compressor.write([1]) }
    }

    @Test func ourOutputDecodesWithGzip() throws {
        let original = mixedData(count: 1_500_000)
        let result = try runTool(["gzip", "-dc"], input: compress(original, level: 9))
        #expect(result.status == 0)
        #expect(result.output == original)
    }

    @Test func gzipOutputDecodesWithOurs() throws {
        let original = mixedData(count: 1_500_000)
        let result = try runTool(["gzip", "-c", "-1"], input: original)
        #expect(result.status == 0)
        #expect(try decompress(result.output) == original)
    }
}
