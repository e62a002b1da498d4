import MailKeepIO

/// Chooses the unique part of Maildir file names, for one folder.
///
/// Names are deterministic, so that running the same job twice gives the same names and the
/// second run can see what the first one already wrote: the source's own unique name where it
/// had one (made safe), else `TIME.O<offset in the source>.mailkeep`. TIME is the received time,
/// else the Date header's, else 0, never the clock: an mbox whose From_ lines carry no date
/// (Thunderbird's and GYB's exports) must name its messages the same way on every run. Further
/// messages with the same time and offset (a folder of .eml files all have offset 0) take the
/// next name of `NameCandidates`.
package struct UniqueNamer {
    package let naming: FolderNaming
    private var generatedCounts: [String: Int] = [:]

    package init(naming: FolderNaming) {
        self.naming = naming
    }

    package mutating func name(for meta: MessageMetadata, content: UnsafeRawBufferPointer) -> NameCandidates {
        if let kept = meta.uniqueName.map(safe), !kept.isEmpty { return NameCandidates(kept) }
        let base = "\(Self.time(of: meta, content: content)).O\(meta.sourceOffset).mailkeep"
        // Offsets differ between the messages of an mbox; only whole files (offset 0) can share
        // a base, so only they are counted, and memory does not grow with an mbox's size.
        guard meta.sourceOffset == 0 else { return NameCandidates(base) }
        let n = generatedCounts[base, default: 0]
        generatedCounts[base] = n + 1
        return NameCandidates(base, attempt: n)
    }

    /// The time a generated name starts with: received, else the Date header's, else 0.
    package static func time(of meta: MessageMetadata, content: UnsafeRawBufferPointer) -> Int64 {
        if let received = meta.received { return received }
        return HeaderBlock(message: content).first("date").flatMap { MailDate.parse(rfc5322: $0)?.unixSeconds } ?? 0
    }

    /// A source's unique name minus anything that could leave the folder, clash with the info
    /// separator, or be refused by a FAT disk.
    private func safe(_ name: String) -> String {
        var out = ""
        for scalar in name.unicodeScalars {
            if scalar == "/" || scalar.value < 0x20 || scalar.value == 0x7F || Character(scalar) == naming.infoSeparator
                || (naming.fatSafe && ":<>\"|?*\\".unicodeScalars.contains(scalar)) {
                out.append("_")
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        while out.hasPrefix(".") { out.removeFirst() }
        return out
    }
}

/// The one rule every writer (Maildir, bundle, .eml) follows when a name is taken by other
/// bytes: `NAME`, then `NAME~1`, `NAME~2`, ... in that order. Being one rule, a rerun walks the
/// same names as the run before and finds what it wrote.
package struct NameCandidates {
    package let base: String
    package private(set) var attempt: Int

    package init(_ base: String, attempt: Int = 0) {
        self.base = base
        self.attempt = attempt
    }

    package var name: String { attempt == 0 ? base : "\(base)~\(attempt)" }

    package mutating func next() { attempt += 1 }
}
