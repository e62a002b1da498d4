import Foundation
import Testing
@testable import MailKeepIO
@testable import MailKeepFormats
@testable import MailKeepArchive
@testable import MailKeepPipeline

@Suite struct TarReaderTests {
    /// Every entry with its content, read through a small buffer to cross chunk boundaries.
    func readEverything(_ tar: [UInt8], sourceChunk: Int = 1 << 20) throws -> [(TarEntry, [UInt8])] {
        let reader = TarReader(MemorySource(tar, chunk: sourceChunk))
        var result: [(TarEntry, [UInt8])] = []
        var buffer = [UInt8](repeating: 0, count: 1000)
        while let entry = try reader.next() {
            var content: [UInt8] = []
            while true {
                let n = try buffer.withUnsafeMutableBytes { try reader.readContent(into: $0) }
                if n == 0 { break }
                content.append(contentsOf: buffer[0..<n])
            }
            result.append((entry, content))
        }
        return result
    }

    func expectMalformed(_ tar: [UInt8], reason: String, offset: Int64? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
        let error = #expect(throws: MailKeepError.self, sourceLocation: sourceLocation) { _ = try readEverything(tar) }
        let details = error.flatMap(malformedDetails)
        #expect(details?.reason == reason, sourceLocation: sourceLocation)
        #expect(details?.offset != nil, sourceLocation: sourceLocation)
        if let offset { #expect(details?.offset == offset, sourceLocation: sourceLocation) }
    }

    @Test func readsWhatTarWriterWrites() throws {
        let (tar, offsets) = try TarWriterTests.writeItems()
        for chunk in [1 << 20, 1] {
            let entries = try readEverything(tar, sourceChunk: chunk)
            #expect(entries.map(\.0.path) == TarWriterTests.items.map(\.path))
            #expect(entries.map(\.1) == TarWriterTests.items.map(\.content))
            #expect(entries.map(\.0.mtime) == TarWriterTests.items.map(\.mtime))
            #expect(entries.map(\.0.kind) == TarWriterTests.items.map { $0.isDirectory ? .directory : .file })
            #expect(entries.map(\.0.mode) == TarWriterTests.items.map { $0.isDirectory ? 0o700 : 0o600 })
            #expect(entries.filter { $0.0.kind == .file }.map(\.0.contentOffset) == offsets)
        }
    }

    @Test func skippingContentLandsOnTheNextHeader() throws {
        let (tar, _) = try TarWriterTests.writeItems()
        let reader = TarReader(MemorySource(tar, chunk: 100))
        var paths: [String] = []
        var buffer = [UInt8](repeating: 0, count: 10)
        while let entry = try reader.next() {
            paths.append(entry.path)
            if entry.size > 10 {
                // Read a little, then leave the rest to next() or skipContent().
                _ = try buffer.withUnsafeMutableBytes { try reader.readContent(into: $0) }
                if paths.count % 2 == 0 { try reader.skipContent() }
            }
        }
        #expect(paths == TarWriterTests.items.map(\.path))
    }

    @Test(arguments: ["pax", "gnu", "ustar"])
    func readsGNUTar(format: String) throws {
        let scratch = try ScratchDirectory()
        let root = scratch.file("root")
        let longDirectory = "Maildir/" + String(repeating: "sub-folder-", count: 8)
        let longFile = longDirectory + "/" + String(repeating: "n", count: 99)
        let utf8File = "Maildir/caf\u{e9}.eml"
        try FileManager.default.createDirectory(atPath: root + "/" + longDirectory, withIntermediateDirectories: true)
        let contents: [String: [UInt8]] = [longFile: mixedData(count: 12_345), utf8File: Array("bonjour\n".utf8), "Maildir/empty": []]
        for (path, bytes) in contents { try writeFile(root + "/" + path, bytes) }
        #expect(try runTool(["find", root, "-exec", "touch", "-h", "-d", "@1700000000", "{}", "+"]).status == 0)
        let tarPath = scratch.file("gnu.tar")
        let made = try runTool(["tar", "--format=\(format)", "--sort=name", "-cf", tarPath, "-C", root, "Maildir"])
        #expect(made.status == 0)
        let entries = try readEverything([UInt8](Data(contentsOf: URL(fileURLWithPath: tarPath))))
        let files = Dictionary(uniqueKeysWithValues: entries.filter { $0.0.kind == .file }.map { ($0.0.path, $0.1) })
        #expect(files == contents)
        #expect(entries.contains { $0.0.path == longDirectory && $0.0.kind == .directory })
        #expect(entries.allSatisfy { $0.0.mtime == 1_700_000_000 })
    }

    @Test(arguments: [
        ("symlink", "symbolic link entries are not accepted"),
        ("hardlink", "hard link entries are not accepted"),
        ("chardev", "character device entries are not accepted"),
        ("blockdev", "block device entries are not accepted"),
        ("fifo", "FIFO entries are not accepted"),
        ("dotdot", "path has a '..' component"),
        ("absolute", "absolute path"),
        ("middle-dotdot", "path has a '..' component"),
        ("setuid", "setuid, setgid or sticky mode 4755 is not accepted"),
        ("sticky-dir", "setuid, setgid or sticky mode 1777 is not accepted"),
    ])
    func hostileEntriesAreRefused(name: String, reason: String) throws {
        let scratch = try ScratchDirectory()
        let script = """
        import io, sys, tarfile
        kind = sys.argv[1]
        with tarfile.open(sys.argv[2], "w", format=tarfile.PAX_FORMAT) as tar:
            ok = tarfile.TarInfo("Maildir/cur/fine:2,S"); ok.size = 3
            tar.addfile(ok, io.BytesIO(b"abc"))
            info = tarfile.TarInfo({"dotdot": "../x", "absolute": "/abs", "middle-dotdot": "a/../../b"}.get(kind, "Maildir/cur/bad"))
            if kind == "symlink": info.type, info.linkname = tarfile.SYMTYPE, "/tmp/victim"
            if kind == "hardlink": info.type, info.linkname = tarfile.LNKTYPE, "../../../tmp/victim/passwd"
            if kind == "chardev": info.type, info.devmajor, info.devminor = tarfile.CHRTYPE, 1, 3
            if kind == "blockdev": info.type, info.devmajor, info.devminor = tarfile.BLKTYPE, 8, 0
            if kind == "fifo": info.type = tarfile.FIFOTYPE
            if kind == "setuid": info.mode = 0o4755
            if kind == "sticky-dir": info.type, info.mode = tarfile.DIRTYPE, 0o1777
            tar.addfile(info)
        """
        let tarPath = scratch.file("hostile.tar")
        #expect(try runTool(["python3", "-c", script, name, tarPath]).status == 0)
        let tar = try [UInt8](Data(contentsOf: URL(fileURLWithPath: tarPath)))
        let reader = TarReader(MemorySource(tar, name: "hostile.tar"))
        #expect(try reader.next()?.path == "Maildir/cur/fine:2,S")
        let error = #expect(throws: MailKeepError.self) { _ = try reader.next() }
        let entryPath = ["dotdot": "../x", "absolute": "/abs", "middle-dotdot": "a/../../b"][name] ?? "Maildir/cur/bad"
        guard case let .unsafeEntry(path, _, message)? = error else {
            Issue.record("expected an unsafe entry, got \(String(describing: error))")
            return
        }
        #expect(path == "hostile.tar[\(entryPath)]" || path == "hostile.tar[\(entryPath)/]")
        #expect(message == reason)
    }

    /// A size no archive can have (base-256 below zero on a pax header, a pax size near
    /// Int64.max) is a typed error, never an arithmetic trap or a negative allocation.
    @Test(arguments: ["negative-pax-header", "huge-pax-size"])
    func impossibleSizesAreErrors(_ kind: String) throws {
        let scratch = try ScratchDirectory()
        let script = """
        import io, sys, tarfile
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
            a = tarfile.TarInfo("a"); a.size = 0
            a.pax_headers = {"comment": "x"} if sys.argv[1] == "negative-pax-header" else {"size": "9223372036854775807"}
            tar.addfile(a, io.BytesIO(b""))
            b = tarfile.TarInfo("b"); b.size = 3
            tar.addfile(b, io.BytesIO(b"abc"))
        data = bytearray(buf.getvalue())
        if sys.argv[1] == "negative-pax-header":
            data[124:136] = b"\\xff" * 12
            data[148:156] = b"        "
            data[148:156] = ("%06o\\0 " % sum(data[0:512])).encode()
        open(sys.argv[2], "wb").write(bytes(data))
        """
        let tarPath = scratch.file("sizes.tar")
        #expect(try runTool(["python3", "-c", script, kind, tarPath]).status == 0)
        let tar = try [UInt8](Data(contentsOf: URL(fileURLWithPath: tarPath)))
        let reader = TarReader(MemorySource(tar, name: "sizes.tar"))
        #expect(throws: MailKeepError.self) { while try reader.next() != nil {} }
    }

    @Test func truncationIsDetectedWherever() throws {
        let items = [TarWriterTests.Item(path: "a", isDirectory: false, mtime: 1, content: mixedData(count: 1000)),
                     TarWriterTests.Item(path: "b", isDirectory: false, mtime: 2, content: [7])]
        let (tar, _) = try TarWriterTests.writeItems(items)
        // a: header 0, content 512..<1512, padding to 1536; b: header 1536, content 2048; end 2560.
        #expect(tar.count == 2560 + 1024)
        expectMalformed(Array(tar.prefix(300)), reason: "tar stream ends inside a header", offset: 0)
        expectMalformed(Array(tar.prefix(1000)), reason: "tar stream ends inside the content of a", offset: 1000)
        expectMalformed(Array(tar.prefix(1520)), reason: "tar stream ends inside the content of a", offset: 1520)
        expectMalformed(Array(tar.prefix(2560)), reason: "tar stream ends without the end-of-archive blocks", offset: 2560)
        expectMalformed(Array(tar.prefix(3072)), reason: "tar stream ends after a single end-of-archive block", offset: 3072)
        expectMalformed([], reason: "tar stream ends without the end-of-archive blocks", offset: 0)
    }

    @Test func damagedHeadersAndTrailingDataAreErrors() throws {
        let (tar, _) = try TarWriterTests.writeItems()
        var damaged = tar
        damaged[3] ^= 0x01
        expectMalformed(damaged, reason: "tar header checksum mismatch", offset: 0)
        expectMalformed(tar + [UInt8](repeating: 0, count: 100) + [1], reason: "data after the end of the tar archive",
                        offset: Int64(tar.count + 100))
        #expect(try readEverything(tar + [UInt8](repeating: 0, count: 10240)).count == TarWriterTests.items.count)
        var loneZero = tar
        loneZero.replaceSubrange((tar.count - 512)..<tar.count, with: tar[0..<512])
        expectMalformed(loneZero, reason: "lone zero block in the middle of the tar stream", offset: Int64(tar.count - 512))
    }

    @Test func readsThroughTheDecompressors() throws {
        let (tar, _) = try TarWriterTests.writeItems()
        let sink = MemorySink()
        let xz = try XZCompressor(sink, options: .init(preset: 0, threads: 2))
        try xz.write(tar)
        try xz.flush()
        let reader = TarReader(try openDecompressed(MemorySource(sink.bytes), threads: 2))
        var count = 0
        while try reader.next() != nil { count += 1 }
        #expect(count == TarWriterTests.items.count)
    }

    /// Sizes and times at the ends of Int64 are errors, never overflow traps: an entry of
    /// Int64.max bytes passed over without being read (its padding overflowed the skip), and a
    /// pax mtime of Int64.min with a fraction (rounding it down overflowed).
    @Test func extremeNumbersAreErrorsNotTraps() throws {
        let crashers = FuzzCrasherTests.fuzzFixtures + "/crashers/tar"
        let huge = try [UInt8](Data(contentsOf: URL(fileURLWithPath: crashers + "/size-int64-max-passed-over.tar")))
        let reader = TarReader(MemorySource(huge))
        #expect(try reader.next()?.path == "a.eml")
        #expect(try reader.next()?.path == "b.eml")
        let passedOver = #expect(throws: MailKeepError.self) { _ = try reader.next() }
        #expect(passedOver.flatMap(malformedDetails)?.reason == "size 9223372036854775807 of entry \"c.eml\" is beyond any archive")

        let mtime = try [UInt8](Data(contentsOf: URL(fileURLWithPath: crashers + "/pax-mtime-int64-min-with-fraction.tar")))
        expectMalformed(mtime, reason: "pax mtime \"-9223372036854775808.5\" is out of range")
    }
}
