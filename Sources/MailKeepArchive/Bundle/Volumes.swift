#if canImport(Glibc)
import Glibc
#endif
import MailKeepIO
import MailKeepFormats
/// Splits a byte stream into numbered files of at most `volumeSize` bytes (`NAME.001`,
/// `NAME.002`, ...), for FAT32 disks that cannot hold a file of 4 GiB.
///
/// Each volume is written under a temporary name (`AtomicOutputFile`) and renamed only by
/// `commit()`, once every volume is complete and synced: the last volume first and `NAME.001`
/// (the name every reader starts from) last, so a set is a bundle only once it is whole. Each
/// rename is first recorded in `.NAME.commit`; a run killed half-way through the renames leaves
/// that record, and the next run over NAME removes the volumes it lists (by inode, so nothing
/// else is touched) before it starts. A kill at any moment thus leaves the whole set or, after
/// the next start, none of it.
public final class VolumeSink: ByteSink {
    public let name: String
    private let volumeSize: Int64
    private var files: [AtomicOutputFile] = []
    private var used: Int64 = 0

    public init(path: String, volumeSize: Int64) throws {
        precondition(volumeSize > 0)
        name = path
        self.volumeSize = volumeSize
        try Self.undoInterruptedCommit(of: path)
        if try FileSystem.kind(Self.volumePath(path, 1)) != .missing {
            throw MailKeepError.refused(path: Self.volumePath(path, 1), reason: "already exists; mailkeep never overwrites")
        }
        Self.removeAbandonedVolumes(of: path)
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
        for file in files { try file.handle.sync() }
        let journalPath = Self.journalPath(name)
        let journal = try FileHandleFD.create(journalPath)
        var renamed: [String] = []
        do {
            for file in files.reversed() {
                var st = stat()
                guard fstat(file.handle.fd, &st) == 0 else { throw ioError(file.partialPath, "stat") }
                try journal.write(Array("\(st.st_dev) \(st.st_ino) \(FileSystem.baseName(file.path))\n".utf8))
                try journal.sync()
                try file.commit()
                renamed.append(file.path)
                CrashPoint.stepDone("volume-renamed")
            }
        } catch {
            // The volumes renamed so far are this run's: a set without all of them is none.
            renamed.forEach(FileSystem.remove)
            FileSystem.remove(journalPath)
            throw error
        }
        FileSystem.remove(journalPath)
    }

    public func discard() {
        files.forEach { $0.discard() }
    }

    /// `DIR/.NAME.commit`: the volumes a commit has renamed so far.
    private static func journalPath(_ path: String) -> String {
        FileSystem.join(FileSystem.directoryName(path), "." + FileSystem.baseName(path) + ".commit")
    }

    /// Finishes what a killed commit left: when `NAME.001` is missing, the set was not whole,
    /// and the volumes the journal lists (the same file, by device and inode) are removed.
    private static func undoInterruptedCommit(of path: String) throws {
        let journalPath = journalPath(path)
        guard try FileSystem.kind(journalPath) == .regular else { return }
        let journal = try FileHandleFD.open(reading: journalPath, followLinks: false)
        var st = stat()
        guard fstat(journal.fd, &st) == 0, st.st_uid == geteuid() else {
            throw MailKeepError.refused(path: journalPath, reason: "is not this user's; remove it to pack here")
        }
        if try FileSystem.kind(volumePath(path, 1)) == .missing {
            let text = String(decoding: try journal.readAll(limit: 1 << 20), as: UTF8.self)
            for line in text.split(separator: "\n") {
                let fields = line.split(separator: " ", maxSplits: 2)
                guard fields.count == 3, let dev = UInt64(fields[0]), let ino = UInt64(fields[1]),
                      !fields[2].contains("/") else { continue }
                let volume = FileSystem.join(FileSystem.directoryName(path), String(fields[2]))
                var vst = stat()
                if lstat(volume, &vst) == 0, UInt64(vst.st_dev) == dev, UInt64(vst.st_ino) == ino {
                    FileSystem.remove(volume)
                }
            }
        }
        FileSystem.remove(journalPath)
    }

    /// Removes the temporary volumes of NAME that a killed run left (see `AtomicOutputFile`).
    private static func removeAbandonedVolumes(of path: String) {
        let prefix = "." + FileSystem.baseName(path) + "."
        guard let names = try? FileSystem.list(FileSystem.directoryName(path)) else { return }
        var numbers = Set<Int>()
        for name in names where name.hasPrefix(prefix) && name.hasSuffix(".partial") {
            let rest = name.dropFirst(prefix.count).prefix { $0 != "." }
            if let n = Int(rest), n > 0 { numbers.insert(n) }
        }
        for n in numbers.sorted() { AtomicOutputFile.removeAbandonedPartials(of: volumePath(path, n)) }
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
