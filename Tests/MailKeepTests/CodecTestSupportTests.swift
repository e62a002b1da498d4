import Foundation
import Testing
@testable import MailKeepIO
@testable import MailKeepFormats
@testable import MailKeepArchive
@testable import MailKeepPipeline

/// Collects everything written, for comparing with what was expected.
final class MemorySink: ByteSink {
    var bytes: [UInt8] = []
    var flushCount = 0
    let name = "memory"
    func write(_ bytes: UnsafeRawBufferPointer) throws { self.bytes.append(contentsOf: bytes) }
    func flush() throws { flushCount += 1 }
}

/// Serves bytes at most `chunk` at a time, to exercise every chunk boundary a decoder can meet.
final class MemorySource: ByteSource {
    let name: String
    private let bytes: [UInt8]
    private let chunk: Int
    private var position = 0
    init(_ bytes: [UInt8], chunk: Int = 1 << 20, name: String = "input.bin") {
        self.bytes = bytes
        self.chunk = chunk
        self.name = name
    }
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = min(buffer.count, chunk, bytes.count - position)
        bytes.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + position, byteCount: n) }
        position += n
        return n
    }
}

/// Reads a source to its end through a buffer of `bufferSize` bytes.
func readAll(_ source: ByteSource, bufferSize: Int = 1 << 16) throws -> [UInt8] {
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: bufferSize)
    while true {
        let n = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
        if n == 0 { return out }
        out.append(contentsOf: buffer[0..<n])
    }
}

/// Deterministic test data: runs of mail-like text mixed with runs of pseudo-random bytes, so
/// that compressors meet both compressible and incompressible input.
func mixedData(count: Int, seed: UInt64 = 0x9E3779B97F4A7C15) -> [UInt8] {
    var state = seed
    func nextRandom() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
    let text = Array("From alice@example.org Mon Jan  1 00:00:00 2024\nSubject: caf\u{e9} r\u{e9}sum\u{e9}\n\nHello, world.\n".utf8)
    var out: [UInt8] = []
    out.reserveCapacity(count)
    while out.count < count {
        let run = Int(nextRandom() % 4096) + 1
        if nextRandom() % 2 == 0 {
            for index in 0..<run { out.append(text[index % text.count]) }
        } else {
            for _ in 0..<run { out.append(UInt8(truncatingIfNeeded: nextRandom())) }
        }
    }
    return Array(out.prefix(count))
}

/// Writes `bytes` to `sink` in pieces of `chunk` bytes.
func write(_ bytes: [UInt8], to sink: ByteSink, chunk: Int) throws {
    try bytes.withUnsafeBytes { all in
        var offset = 0
        while offset < all.count {
            let end = min(offset + chunk, all.count)
            try sink.write(UnsafeRawBufferPointer(rebasing: all[offset..<end]))
            offset = end
        }
    }
}

/// A scratch directory removed when the value is released.
final class ScratchDirectory {
    let path: String
    init() throws {
        path = NSTemporaryDirectory() + "mailkeep-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { path + "/" + name }
}

/// Runs a tool found on PATH with stdin from `input`, returning its exit status and stdout.
@discardableResult
func runTool(_ arguments: [String], input: [UInt8] = [], in directory: String? = nil) throws -> (status: Int32, output: [UInt8]) {
    let scratch = try ScratchDirectory()
    let inputPath = scratch.file("stdin")
    let outputPath = scratch.file("stdout")
    try writeFile(inputPath, input)
    try writeFile(outputPath, [])
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: inputPath))
    process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    let output = try [UInt8](Data(contentsOf: URL(fileURLWithPath: outputPath)))
    return (process.terminationStatus, output)
}

/// The reason and offset of a malformed-input error, or nil for anything else.
func malformedDetails(_ error: any Error) -> (reason: String, offset: Int64?)? {
    if case let MailKeepError.malformed(_, offset, reason) = error { return (reason, offset) }
    return nil
}

func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}
