import MailKeepIO
import MailKeepFormats
import MailKeepArchive
#if canImport(Glibc)
import Glibc
#endif

/// The readers that take bytes nobody vouches for, each behind one entry point that accepts any
/// input and must return, whatever the bytes: a reader may refuse its input with an error, never
/// trap. libFuzzer drives these entry points (`scripts/fuzz`, docs/fuzzing.md); the tests feed
/// them every input that once made one crash (`fixtures/fuzz/crashers`), without the sanitizer.
///
/// Each calls the reader's public entry point as the tools do, not its internals, and checks
/// only what must hold for every input (a message or entry lies inside the input).
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// `MboxReader`: splitting, Content-Length, quoting, From_ lines and their dates.
    case mbox
    /// `MessageSummary` (header block, RFC 2047 encoded words, addresses, dates), and the date
    /// and From_ line parsers on the first line.
    case headers
    /// `TarReader`: every entry, reading, skipping or passing over its content. Header checksums
    /// are put right first.
    case tar
    /// `BundleManifest` (MANIFEST.jsonl) and `BundleHeader` (mailkeep-bundle.json).
    case manifest
    /// `XZBlockIndex` over the input as a file, decoding every block, and `XZDecompressor` over
    /// it as a stream.
    case xz

    /// The largest output an xz input is decoded to: enough for any block the fuzzer can build,
    /// small enough that a decompression bomb costs milliseconds.
    static let decodedLimit = 4 << 20

    public func run(_ input: UnsafeRawBufferPointer) {
        switch self {
        case .mbox: Self.mbox(input)
        case .headers: Self.headers(input)
        case .tar: Self.tar(input)
        case .manifest: Self.manifest(input)
        case .xz: Self.xz(input)
        }
    }

    public func run(_ input: [UInt8]) {
        input.withUnsafeBytes { run($0) }
    }

    private static func mbox(_ input: UnsafeRawBufferPointer) {
        let reader = MboxReader(PieceSource(input), log: WarningLog(retainedLimit: 0))
        try? reader.forEachMessage { metadata, message in
            check(message.count <= input.count, "a message longer than its mbox")
            check((0...Int64(input.count)).contains(metadata.sourceOffset), "a message offset outside the mbox")
        }
    }

    private static func headers(_ input: UnsafeRawBufferPointer) {
        let summary = MessageSummary(message: input)
        for field in summary.headers.fields {
            let value = summary.headers.value(of: field)
            _ = summary.headers.decode(value)
            _ = MailDate.parse(rfc5322: value)
            _ = MailAddress.parseList(value)
        }
        let firstLine = UnsafeRawBufferPointer(rebasing: input[..<(input.firstIndex(of: 0x0A) ?? input.count)])
        _ = MailDate.parse(fromLine: firstLine)
        if firstLine.count >= 5 { _ = FromLine.parse(UnsafeRawBufferPointer(rebasing: firstLine[5...])) }
    }

    private static func tar(_ input: UnsafeRawBufferPointer) {
        // Mutations almost always break a header's checksum, and the reader stops there: every
        // block that says "ustar" has its checksum put right, so the fuzzer reaches the fields.
        var bytes = Array(input)
        var block = 0
        while block + 512 <= bytes.count {
            if bytes[(block + 257)..<(block + 262)].elementsEqual("ustar".utf8) {
                for index in (block + 148)..<(block + 156) { bytes[index] = 0x20 }
                let sum = bytes[block..<(block + 512)].reduce(0) { $0 + Int($1) }
                let digits = Array(String(sum, radix: 8).utf8)
                let field = [UInt8](repeating: 0x30, count: max(0, 6 - digits.count)) + digits.suffix(6) + [0, 0x20]
                bytes.replaceSubrange((block + 148)..<(block + 156), with: field)
            }
            block += 512
        }
        bytes.withUnsafeBytes { readTar($0) }
    }

    private static func readTar(_ input: UnsafeRawBufferPointer) {
        let reader = TarReader(PieceSource(input))
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
        defer { buffer.deallocate() }
        // Readers read some entries' content, skip others and leave others unread, as a
        // selective restore does: each way of moving on must cope with any size.
        var index = 0
        do {
            while let entry = try reader.next() {
                switch index % 3 {
                case 0:
                    var read: Int64 = 0
                    while case let n = try reader.readContent(into: buffer), n > 0 { read += Int64(n) }
                    check(read == entry.size && entry.contentOffset + entry.size <= Int64(input.count), "an entry's content outside the tar")
                case 1:
                    try reader.skipContent()
                default:
                    break
                }
                index += 1
            }
        } catch {}
    }

    private static func manifest(_ input: UnsafeRawBufferPointer) {
        let manifest = BundleManifest(input)
        check(manifest.order.count == manifest.entries.count, "manifest order and entries disagree")
        for path in manifest.order {
            _ = manifest.entries[path]?.metadata(source: "fuzz.tar.xz", separator: ":")
        }
        _ = try? BundleHeader.read(input, bundle: "fuzz.tar.xz")
    }

    private static func xz(_ input: UnsafeRawBufferPointer) {
        if let decoder = try? XZDecompressor(PieceSource(input), threads: 1) {
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
            defer { buffer.deallocate() }
            var total = 0
            while total < decodedLimit, let n = try? decoder.read(into: buffer), n > 0 { total += n }
        }
        // The index is read from a file, as the tools read it: the input is written to one.
        guard let path = try? temporaryFile(holding: input) else { return }
        defer { unlink(path) }
        guard let index = try? XZBlockIndex(path: path) else { return }
        check(index.blocks.allSatisfy { $0.uncompressedOffset + $0.uncompressedSize <= index.uncompressedSize },
              "a block outside the uncompressed size")
        if index.uncompressedSize <= Int64(decodedLimit) {
            _ = try? index.read(offset: 0, length: index.uncompressedSize, into: DiscardingSink())
        }
    }

    private static func temporaryFile(holding input: UnsafeRawBufferPointer) throws -> String {
        let directory = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        let path = "\(directory)/mailkeep-fuzz-\(getpid()).xz"
        unlink(path)
        let file = try FileHandleFD.create(path)
        try file.write(input)
        return path
    }

    /// An invariant of every reader: breaking it is a bug whatever the input, so it stops the run
    /// where libFuzzer (or the replaying test) sees it.
    private static func check(_ condition: Bool, _ what: String) {
        if !condition { fatalError("fuzz invariant broken: \(what)") }
    }
}

/// Serves the input in pieces of a size taken from the input's length, so that readers meet
/// their stream ending at awkward places inside their buffers, as they do with pipes and
/// decompressors; the same input is always served the same way, so a crash replays.
final class PieceSource: ByteSource {
    let name = "fuzz-input"
    private let input: UnsafeRawBufferPointer
    private let piece: Int
    private var position = 0

    init(_ input: UnsafeRawBufferPointer) {
        self.input = input
        piece = 1 + (input.count &* 2_654_435_761) % 4096
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = min(buffer.count, piece, input.count - position)
        guard n > 0, let base = input.baseAddress else { return 0 }
        buffer.baseAddress!.copyMemory(from: base + position, byteCount: n)
        position += n
        return n
    }
}

final class DiscardingSink: ByteSink {
    let name = "discard"
    func write(_ bytes: UnsafeRawBufferPointer) throws {}
    func flush() throws {}
}
