import MailKeepIO
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Chooses the unique part of Maildir file names, for one folder.
///
/// Names are deterministic, so that running the same job twice gives the same names and the
/// second run can see what the first one already wrote: the source's own unique name where it
/// had one (made safe), else `TIME.O<offset in the source>.mailkeep`, with `_n` for further
/// messages at the same time and offset (a folder of .eml files all have offset 0).
package struct UniqueNamer {
    package let naming: FolderNaming
    private var generatedCounts: [String: Int] = [:]

    package init(naming: FolderNaming) {
        self.naming = naming
    }

    package mutating func name(for meta: MessageMetadata) -> String {
        if let kept = meta.uniqueName.map(safe), !kept.isEmpty { return kept }
        let base = "\(meta.received ?? Int64(time(nil))).O\(meta.sourceOffset)"
        // Offsets differ between the messages of an mbox; only whole files (offset 0) can share
        // a base, so only they are counted, and memory does not grow with an mbox's size.
        guard meta.sourceOffset == 0 else { return "\(base).mailkeep" }
        let n = generatedCounts[base, default: 0]
        generatedCounts[base] = n + 1
        return n == 0 ? "\(base).mailkeep" : "\(base)_\(n).mailkeep"
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
