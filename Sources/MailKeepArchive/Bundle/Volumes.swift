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

    /// The largest file FAT32 holds: 4 GiB less one byte.
    public static let largestFAT32File: Int64 = (1 << 32) - 1

    /// The volume size used for `requested`: 4 GiB exactly, asked as `4G` or `4096M` to fit a
    /// FAT32 disk, is one byte more than FAT32 holds, so it is taken as FAT32's largest file.
    public static func volumeSize(fitting requested: Int64) -> Int64 {
        requested == 1 << 32 ? largestFAT32File : requested
    }

    public init(path: String, volumeSize: Int64) throws {
        precondition(volumeSize > 0)
        name = path
        self.volumeSize = Self.volumeSize(fitting: volumeSize)
        try Self.undoInterruptedCommit(of: path)
        // Any NAME.NNN, not just .001: a stray .018 beside a new 17-volume set would be read
        // as part of it by `cat NAME.0*`.
        let base = FileSystem.baseName(path) + "."
        let directory = FileSystem.directoryName(path)
        for existing in try FileSystem.list(directory)
        where existing.hasPrefix(base) && existing.count > base.count && existing.dropFirst(base.count).allSatisfy({ $0.isASCII && $0.isNumber }) {
            throw MailKeepError.refused(path: FileSystem.join(directory, existing), reason: "already exists; mailkeep never overwrites a volume set or adds to another")
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

/// The volumes of a set, `NAME.001` up to the highest number present, as one byte range.
///
/// Every volume but the last has the size of the first (`VolumeSink` fills each before
/// opening the next), so a volume missing from the middle is a hole of known size: reading it
/// throws, naming the volume as missing, and everything after it stays where it was. A missing
/// last volume cannot be told from a set that ends there; the stream then ends early.
public final class VolumeSet: RandomAccessSource {
    public let name: String
    /// Each volume's path, and its file when present.
    public let volumes: [(path: String, file: FileHandleFD?)]
    private let volumeSize: Int64
    private let total: Int64

    /// `first` must end in `.001`.
    public init(first: String) throws {
        name = first
        let base = String(first.dropLast(4))
        let firstFile = try FileHandleFD.open(reading: first)
        // The highest number present: look a few numbers past each gap, so one or two missing
        // volumes in the middle are found and named.
        var present: [Int: FileHandleFD] = [1: firstFile]
        var number = 2
        var last = 1
        while number <= last + 8 {
            let path = VolumeSink.volumePath(base, number)
            if try FileSystem.kind(path) == .regular {
                present[number] = try FileHandleFD.open(reading: path)
                last = number
            }
            number += 1
        }
        volumes = (1...last).map { (VolumeSink.volumePath(base, $0), present[$0]) }
        // Every volume but the last is full, so the largest of them gives the volume size: a
        // first volume cut short must not shift every later one.
        var sizes: [Int64?] = []
        for volume in volumes { sizes.append(try volume.file?.size()) }
        volumeSize = max(try firstFile.size(), sizes.dropLast().compactMap { $0 }.max() ?? 0)
        self.sizes = sizes
        total = volumeSize * Int64(last - 1) + (sizes[last - 1] ?? 0)
    }

    /// Each volume's size, nil where it is missing.
    private let sizes: [Int64?]

    /// The part of volume `index` that is not there: all of a missing one, the tail of one
    /// that is shorter than the set's volume size (but the last).
    private func hole(_ index: Int) -> Range<Int64>? {
        guard index < volumes.count - 1 || sizes[index] == nil else { return nil }
        let size = sizes[index] ?? 0
        return size < volumeSize ? size..<volumeSize : nil
    }

    /// The volumes that are missing, by path.
    public var missing: [String] { volumes.filter { $0.file == nil }.map(\.path) }

    /// The volume holding byte `offset` of the set, and the offset within it.
    public func locate(_ offset: Int64) -> (path: String, offset: Int64) {
        guard volumeSize > 0 else { return (name, offset) }
        let index = min(Int(offset / volumeSize), volumes.count - 1)
        return (volumes[index].path, offset - Int64(index) * volumeSize)
    }

    /// The volume after the last one present, when that last one is full: a set cut short
    /// there has most likely lost its next volume, not been cut inside the last.
    public var nextWhenLastIsFull: String? {
        guard let last = volumes.last?.file, (try? last.size()) == volumeSize else { return nil }
        return VolumeSink.volumePath(String(name.dropLast(4)), volumes.count + 1)
    }

    public func size() throws -> Int64 { total }

    public func readable(from offset: Int64) -> Int64 {
        guard volumeSize > 0 else { return offset }
        var at = offset
        while at < total {
            let index = Int(at / volumeSize)
            let within = at - Int64(index) * volumeSize
            guard index < volumes.count, let missing = hole(index), missing.contains(within) else { break }
            at = Int64(index + 1) * volumeSize
        }
        return at
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        var filled = 0
        var at = offset
        while filled < buffer.count, at < total, volumeSize > 0 {
            let index = Int(at / volumeSize)
            let within = at - Int64(index) * volumeSize
            guard index < volumes.count else { break }
            if let missing = hole(index), missing.contains(within) {
                // What was read before the hole is returned; the next read starts in it.
                if filled > 0 { break }
                guard volumes[index].file != nil else {
                    throw MailKeepError.malformed(path: volumes[index].path, offset: nil, reason: "missing volume")
                }
                throw MailKeepError.malformed(path: volumes[index].path, offset: missing.lowerBound,
                                              reason: "cut short: \(missing.lowerBound) bytes, where the set's other volumes have \(volumeSize)")
            }
            guard let file = volumes[index].file else { break }
            let room = Int(min(Int64(buffer.count - filled), volumeSize - within))
            let n = try file.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled..<(filled + room)]), at: within)
            if n == 0 { break }
            filled += n
            at += Int64(n)
        }
        return filled
    }
}

/// Reads `NAME.001`, `NAME.002`, ... as one stream, given the first; a missing volume with
/// later ones present is an error naming it.
public final class VolumeSource: ByteSource {
    public let name: String
    private let set: VolumeSet
    private var position: Int64 = 0

    /// `first` must end in `.001`.
    public init(first: String) throws {
        name = first
        set = try VolumeSet(first: first)
    }

    public static func isFirstVolume(_ path: String) -> Bool { VolumeSink.isFirstVolumeName(path) }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = try set.read(into: buffer, at: position)
        position += Int64(n)
        return n
    }
}
