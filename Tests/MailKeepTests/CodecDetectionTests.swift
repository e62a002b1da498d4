import Testing
@testable import MailKeepIO
@testable import MailKeepFormats
@testable import MailKeepArchive
@testable import MailKeepPipeline

@Suite struct CodecDetectionTests {
    let mail = Array("From alice@example.org Mon Jan  1 00:00:00 2024\nSubject: hi\n\nbody\n".utf8)

    @Test func detectsByMagicBytes() {
        #expect([UInt8]([0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00, 1]).withUnsafeBytes(Compression.detect) == .xz)
        #expect([UInt8]([0x1F, 0x8B, 8]).withUnsafeBytes(Compression.detect) == .gzip)
        #expect(mail.withUnsafeBytes(Compression.detect) == .none)
        #expect([UInt8]([0x1F]).withUnsafeBytes(Compression.detect) == .none)
        #expect([UInt8]().withUnsafeBytes(Compression.detect) == .none)
    }

    @Test func peekDoesNotConsume() throws {
        let source = PeekableSource(MemorySource(mail, chunk: 3))
        #expect(try source.peek(4) == Array(mail.prefix(4)))
        #expect(try source.peek(10) == Array(mail.prefix(10)))
        #expect(try readAll(source, bufferSize: 7) == mail)
        #expect(try PeekableSource(MemorySource([1, 2])).peek(10) == [1, 2])
    }

    @Test func openDecompressedChoosesByContent() throws {
        let xzSink = MemorySink()
        let xz = try XZCompressor(xzSink, options: .init(preset: 0, threads: 1))
        try xz.write(mail)
        try xz.flush()
        let gzSink = MemorySink()
        let gz = try GzipCompressor(gzSink)
        try gz.write(mail)
        try gz.flush()
        for input in [xzSink.bytes, gzSink.bytes, mail, []] {
            #expect(try readAll(openDecompressed(MemorySource(input, chunk: 2), threads: 1)) == (input.isEmpty ? [] : mail))
        }
        #expect(try openDecompressed(MemorySource(xzSink.bytes), threads: 1) is XZDecompressor)
        #expect(try openDecompressed(MemorySource(gzSink.bytes), threads: 1) is GzipDecompressor)
    }

    @Test(arguments: [("bzip2", "bzip2 is not supported; decompress with bunzip2 first"),
                      ("zstd", "zstd is not supported; decompress with unzstd first")])
    func otherCompressorsAreRefusedByName(tool: String, reason: String) throws {
        let compressed = try runTool([tool, "-c"], input: mail)
        #expect(compressed.status == 0)
        let empty = try runTool([tool, "-c"], input: [])
        for input in [compressed.output, empty.output] {
            let error = #expect(throws: MailKeepError.self) { try openDecompressed(MemorySource(input, name: "mail.x"), threads: 1) }
            #expect(error == .unrecognized(path: "mail.x", reason: reason))
        }
    }

    @Test func mailStartingLikeBzip2IsStillMail() throws {
        let text = Array("BZh9 is not a compressed file\n".utf8)
        #expect(try readAll(openDecompressed(MemorySource(text), threads: 1)) == text)
    }
}
