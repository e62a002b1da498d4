import MailKeepIO
import MailKeepFormats
/// Splits a byte stream into numbered files of at most `volumeSize` bytes (`NAME.001`,
/// `NAME.002`, ...), for FAT32 disks that cannot hold a file of 4 GiB.
///
/// Each volume is written as `.NAME.00N.partial` and renamed only by `commit()`, once every
/// volume is complete, so an interrupted pack leaves nothing that looks like a finished
/// bundle.
public final class VolumeSink: ByteSink {
    public let name: String
    private let volumeSize: Int64
    private var files: [AtomicOutputFile] = []
    private var used: Int64 = 0

    public init(path: String, volumeSize: Int64) throws {
        precondition(volumeSize > 0)
        name = path
        self.volumeSize = volumeSize
        if try FileSystem.kind(Self.volumePath(path, 1)) != .missing {
            throw MailKeepError.refused(path: Self.volumePath(path, 1), reason: "already exists; mailkeep never overwrites")
        }
        try openNext()
    }

    public static func volumePath(_ path: String, _ number: Int) -> String {
        let digits = String(number)
        return path + "." + String(repeating: "0", count: max(0, 3 - digits.count)) + digits
    }

    public static func isFirstVolumeName(_ path: String) -> Bool { path.hasSuffix(".001") }

    private func openNext() throws {
        files.append(try AtomicOutputFile(Self.volumePath(name, files.count + 1)))
        used = 0
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        var rest = bytes
        while !rest.isEmpty {
            if used == volumeSize { try openNext() }
            let n = Int(min(Int64(rest.count), volumeSize - used))
            guard let current = files.last else { return }
            try current.handle.write(UnsafeRawBufferPointer(rebasing: rest[0..<n]))
            used += Int64(n)
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
        }
    }

    public func flush() throws {}

    public var volumePaths: [String] { files.map(\.path) }

    public func commit() throws {
        for file in files { try file.commit() }
    }

    public func discard() {
        files.forEach { $0.discard() }
    }
}

/// Reads `NAME.001`, `NAME.002`, ... as one stream, given the first.
public final class VolumeSource: ByteSource {
    public let name: String
    private let base: String
    private var number = 1
    private var current: FileHandleFD?

    /// `first` must end in `.001`.
    public init(first: String) throws {
        name = first
        base = String(first.dropLast(4))
        current = try FileHandleFD.open(reading: first)
    }

    public static func isFirstVolume(_ path: String) -> Bool { VolumeSink.isFirstVolumeName(path) }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while let file = current {
            let n = try file.read(into: buffer)
            if n > 0 { return n }
            number += 1
            let next = VolumeSink.volumePath(base, number)
            current = try FileSystem.kind(next) == .regular ? try FileHandleFD.open(reading: next) : nil
        }
        return 0
    }
}
