import Foundation
import Testing
@testable import MailKeepIO
@testable import MailKeepFormats
@testable import MailKeepArchive
@testable import MailKeepPipeline

/// The stores real clients write (fixtures/clients/) read as their clients show them, and the
/// folder names mailkeep writes open in those clients.
@Suite struct ClientStoreTests {
    static let clients = FixtureTests.fixtures + "/clients"

    struct Read {
        var folders: [[String]: [String]] = [:]
        var warnings: [Warning] = []
    }

    /// Every message's subject by folder, and everything the log got.
    static func read(_ root: String, separator: Character? = nil) throws -> Read {
        let log = WarningLog()
        var read = Read()
        let tree = try MailTree(root: root, log: log)
        for folder in tree.folders where read.folders[folder] == nil { read.folders[folder] = [] }
        try MailTreeReader(tree, extraSeparator: separator, log: log).forEachMessage { meta, content in
            let subject = MessageSummary(message: content).subject ?? ""
            read.folders[meta.folder, default: []].append(subject)
        }
        read.warnings = log.warnings
        return read
    }

    static func scratch(_ name: String) -> String {
        NSTemporaryDirectory() + "mailkeep-\(name)-\(UUID().uuidString)"
    }

    static func write(_ text: String, to path: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    // MARK: item 1: a `.` in a folder name

    @Test func dotInANameIsEscapedAsDovecotsListescapeDoes() {
        let plus = FolderNaming()
        #expect(plus.relativeDirectory(["Projects.Alpha"]) == ".Projects\\2eAlpha")
        #expect(plus.relativeDirectory(["Projects.Alpha", "v1.2"]) == ".Projects\\2eAlpha.v1\\2e2")
        #expect(plus.relativeDirectory(["back\\slash"]) == ".back\\5cslash")
        #expect(plus.relativeDirectory(["a/b"]) == ".a\\2fb")
        // Printable ASCII is never modified UTF-7; other characters still are.
        #expect(plus.relativeDirectory(["Entwürfe.2024"]) == ".Entw&APw-rfe\\2e2024")
        #expect(plus.placement(["Projects.Alpha"]).recorded.isEmpty)
        let nested = FolderNaming(layout: .nested)
        #expect(nested.relativeDirectory(["Projects.Alpha"]) == "Projects.Alpha")
        #expect(nested.relativeDirectory([".hidden"]) == "\\2ehidden")
        for name in ["Projects.Alpha", "a\\2eb", "x\\y", "a/b", ".", "..", "Entwürfe.2024", "50% \\5c"] {
            #expect(FolderNaming.decodedName(plus.component(name)) == name, "\(name)")
            #expect(FolderNaming.decodedName(nested.component(name)) == name, "\(name)")
        }
    }

    /// On FAT a backslash is not allowed: the name gets `_`, a hash, and a record, and reads back.
    @Test func fatTargetsRecordTheNameInstead() throws {
        let fat = FolderNaming(infoSeparator: "!")
        let placed = fat.placement(["Projects.Alpha"])
        #expect(!placed.relative.contains("\\") && placed.relative.hasPrefix(".Projects_Alpha~"))
        #expect(placed.recorded.first?.folder == ["Projects.Alpha"])
        for layout in [MaildirLayout.maildirPlusPlus, .nested] {
            let root = Self.scratch("fat-dot")
            let writer = try MaildirWriter(root: root, options: .init(naming: FolderNaming(layout: layout, infoSeparator: "!")), log: WarningLog())
            for (n, folder) in [["Projects.Alpha"], [".hidden"], ["a\\b"]].enumerated() {
                var text = "Subject: \(n)\n\nbody\n"
                _ = try text.withUTF8 { try writer.write(MessageMetadata(folder: folder, received: 5), content: UnsafeRawBufferPointer($0)) }
            }
            try writer.finish()
            let read = try Self.read(root, separator: "!")
            #expect(Set(read.folders.keys) == [[], ["Projects.Alpha"], [".hidden"], ["a\\b"]], "\(layout)")
            let entries = try FileManager.default.subpathsOfDirectory(atPath: root)
            #expect(!entries.contains { $0.contains("\\") }, "\(layout)")
        }
    }

    @Test func dovecotMaildirReadsAsDovecotListsIt() throws {
        let read = try Self.read(Self.clients + "/dovecot-maildir")
        #expect(read.folders == [[]: ["Dovecot inbox"], ["Projects.Alpha"]: ["Alpha, a name with a dot"], ["Trash"]: []])
        #expect(read.warnings.isEmpty, "\(read.warnings)")
    }

    /// Converted, the dotted name is one directory again, named as Dovecot names it.
    @Test func dottedNameRoundTripsThroughMaildirPlusPlus() throws {
        let out = Self.scratch("dot-out")
        let log = WarningLog()
        let sources = try SourceList([Self.clients + "/thunderbird"], log: log)
        _ = try convert(sources, to: out, options: ConvertOptions(format: .maildir), log: log)
        let entries = try FileManager.default.contentsOfDirectory(atPath: out)
        #expect(entries.contains(".Projects\\2eAlpha"))
        #expect(!entries.contains { $0.localizedCaseInsensitiveContains("inbox") }, "\(entries)")
        #expect(try Self.read(out).folders[["Projects.Alpha"]] == ["Thunderbird folder with a dot"])
    }

    // MARK: item 2: folders named like the inbox

    @Test(arguments: ["thunderbird", "dovecot-mbox", "mbsync", "apple-mail"])
    func aTopLevelInboxIsTheInbox(client: String) throws {
        let read = try Self.read(Self.clients + "/" + client)
        #expect(read.folders[[]]?.count == 1, "\(read.folders)")
        #expect(!read.folders.keys.contains { $0.first?.lowercased() == "inbox" }, "\(read.folders)")
    }

    /// Messages at the root and in an `INBOX` folder both land in the INBOX, none replaced,
    /// even where a unique name is the same; the folder's subfolders keep their path.
    @Test func rootAndInboxFolderMerge() throws {
        let src = Self.scratch("inbox-merge")
        try Self.write("Subject: at the root\n\nroot\n", to: src + "/cur/100.M1P1.host:2,S")
        try Self.write("Subject: in INBOX\n\ninbox\n", to: src + "/.INBOX/cur/100.M1P1.host:2,S")
        try Self.write("Subject: in INBOX too\n\ninbox 2\n", to: src + "/.INBOX/new/200.M2P2.host")
        try Self.write("Subject: below INBOX\n\nsub\n", to: src + "/.INBOX.Sub/cur/300.M3P3.host:2,")
        for sub in ["new", "tmp"] { try FileManager.default.createDirectory(atPath: src + "/" + sub, withIntermediateDirectories: true) }
        for format in [OutputFormat.maildir, .mbox] {
            let out = Self.scratch("inbox-merged") + (format == .mbox ? ".mboxes" : "")
            let log = WarningLog()
            let sources = try SourceList([src], log: log)
            let summary = try convert(sources, to: out, options: ConvertOptions(format: format), log: log)
            #expect(summary.counts.stored == 4)
            let read = try Self.read(out)
            #expect(read.folders[[]]?.sorted() == ["at the root", "in INBOX", "in INBOX too"], "\(format)")
            #expect(read.folders[["INBOX", "Sub"]] == ["below INBOX"], "\(format)")
            #expect(read.folders.count == 2, "\(format): \(read.folders.keys)")
        }
    }

    // MARK: item 6: Apple Mail packages

    @Test func appleMailPackagesAreFolders() throws {
        let read = try Self.read(Self.clients + "/apple-mail")
        #expect(read.folders == [[]: ["Apple Mail inbox"], ["Work"]: ["Apple Mail work"],
                                 ["Work", "Clients"]: ["Apple Mail clients"]])
        #expect(read.warnings.isEmpty, "\(read.warnings)")
        // One package given as the source is its folder's messages at the root.
        let one = try Self.read(Self.clients + "/apple-mail/Work.mbox")
        #expect(one.folders == [[]: ["Apple Mail work"], ["Clients"]: ["Apple Mail clients"]])
    }

    // MARK: item 10: index and state files

    @Test(arguments: ["dovecot-maildir", "dovecot-mbox", "thunderbird", "apple-mail", "mbsync"])
    func clientFilesAreSkippedQuietly(client: String) throws {
        let read = try Self.read(Self.clients + "/" + client)
        #expect(read.warnings.isEmpty, "\(client): \(read.warnings)")
    }

    @Test func unknownFilesAreStillReported() throws {
        let root = Self.scratch("unknown")
        try Self.write("Subject: x\n\nx\n", to: root + "/cur/1.M1P1.host:2,S")
        try Self.write("just some notes\n", to: root + "/notes.txt")
        try Self.write("placeholder\n", to: root + "/.cache/db")
        try Self.write("placeholder\n", to: root + "/.notmuch/xapian/iamglass")
        try Self.write("placeholder\n", to: root + "/filterlog.html")
        let read = try Self.read(root)
        let named = read.warnings.map(\.file)
        #expect(named.contains { $0.hasSuffix("/notes.txt") } && named.contains { $0.hasSuffix("/.cache/db") }, "\(read.warnings)")
        #expect(!named.contains { $0.contains(".notmuch") || $0.contains("filterlog") }, "\(read.warnings)")
    }

    @Test func kmailDirectoriesHoldSubfolders() throws {
        let root = Self.scratch("kmail")
        try Self.write("Subject: top\n\nx\n", to: root + "/inbox/cur/1.M1P1.host:2,S")
        try Self.write("Subject: child\n\nx\n", to: root + "/.inbox.directory/Child/cur/2.M2P2.host:2,S")
        try Self.write("placeholder\n", to: root + "/.inbox.directory/.Child.index")
        try Self.write("placeholder\n", to: root + "/.inbox.index.ids")
        let read = try Self.read(root)
        #expect(read.folders == [[]: ["top"], ["inbox", "Child"]: ["child"]], "\(read.folders)")
        #expect(read.warnings.isEmpty, "\(read.warnings)")
    }

    // MARK: item 7: empty folders

    /// Every folder of the Thunderbird and Dovecot trees, empty ones too, in every output.
    @Test(arguments: ["maildir++", "nested", "mbox", "eml"])
    func emptyFoldersComeBackInEveryFormat(layout: String) throws {
        let src = Self.clients + "/thunderbird"
        let out = Self.scratch("empty-" + layout)
        let log = WarningLog()
        let options = layout == "mbox" || layout == "eml" ? ConvertOptions(format: OutputFormat(rawValue: layout)!)
            : ConvertOptions(format: .maildir, naming: FolderNaming(layout: MaildirLayout(rawValue: layout)!))
        _ = try convert(try SourceList([src], log: log), to: out, options: options, log: log)
        if layout == "eml" {
            // A directory per folder, empty or not.
            for folder in ["Templates", "Archives", "Archives/2024", "Projects.Alpha"] {
                var isDirectory: ObjCBool = false
                #expect(FileManager.default.fileExists(atPath: out + "/" + folder, isDirectory: &isDirectory) && isDirectory.boolValue, "\(folder)")
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: out + "/Templates").isEmpty)
            return
        }
        let read = try Self.read(out)
        #expect(read.folders[["Templates"]] == [], "\(read.folders)")
        #expect(read.folders[["Archives"]] == [], "\(read.folders)")
        #expect(read.folders[["Archives", "2024"]] == ["Archived in 2024"])
        #expect(read.folders.count == 5, "\(read.folders.keys)")
        if layout == "mbox" {
            // Thunderbird finds `Archives.sbd/` only beside a file `Archives`.
            #expect(FileManager.default.fileExists(atPath: out + "/Archives"))
            #expect(FileManager.default.fileExists(atPath: out + "/Templates"))
        }
    }

    /// A Thunderbird parent that holds no message still gets its empty file, even when the
    /// source had none (a Maildir tree).
    @Test func aParentWithoutMessagesGetsItsFile() throws {
        let src = Self.scratch("parent")
        try Self.write("Subject: deep\n\nx\n", to: src + "/.Projects.Alpha/cur/1.M1P1.host:2,S")
        try Self.write("Subject: top\n\nx\n", to: src + "/cur/2.M2P2.host:2,S")
        let out = Self.scratch("parent-out")
        let log = WarningLog()
        _ = try convert(try SourceList([src], log: log), to: out, options: ConvertOptions(format: .mbox), log: log)
        var isDirectory: ObjCBool = false
        #expect(FileManager.default.fileExists(atPath: out + "/Projects", isDirectory: &isDirectory) && !isDirectory.boolValue)
        #expect(try Data(contentsOf: URL(fileURLWithPath: out + "/Projects")).isEmpty)
        #expect(FileManager.default.fileExists(atPath: out + "/Projects.sbd/Alpha"))
    }

    /// A bundle lists every folder in its header; unpacking and restoring bring the empty
    /// ones back; a bundle without the list (written before) still reads.
    @Test func bundlesKeepEmptyFolders() throws {
        let log = WarningLog()
        let sources = try SourceList([Self.clients + "/dovecot-maildir"], log: log)
        let bundle = Self.scratch("empty-bundle") + ".tar.xz"
        let writer = try BundleWriter(path: bundle, options: BundleOptions(compression: .xz), sources: ["dovecot-maildir"],
                                      folders: sources.folders, log: log)
        _ = try Pipeline(sources: sources).run(into: writer)
        let reader = try BundleReader(path: bundle, log: log)
        #expect(reader.header?.folders == ["", "Projects.Alpha", "Trash"])
        let packed = try SourceList([bundle], log: log)
        #expect(Set(packed.folders) == [[], ["Projects.Alpha"], ["Trash"]])
        for format in [OutputFormat.maildir, .mbox] {
            let out = Self.scratch("empty-restore")
            let plan = RestorePlan(selection: Selection(), intoFolder: nil, options: ConvertOptions(format: format))
            _ = try plan.restore(packed, into: out, log: log, progress: nil)
            let read = try Self.read(out)
            #expect(read.folders[["Trash"]] == [], "\(format): \(read.folders)")
            #expect(read.folders[["Projects.Alpha"]]?.count == 1, "\(format)")
        }
        // A selection restores what it selects, and makes no empty folder.
        var selection = Selection()
        selection.folders = ["Projects.Alpha"]
        let narrowed = Self.scratch("narrowed")
        _ = try RestorePlan(selection: selection, intoFolder: nil, options: ConvertOptions(format: .maildir))
            .restore(packed, into: narrowed, log: log, progress: nil)
        #expect(try Self.read(narrowed).folders[["Trash"]] == nil)
        // A header without `folders`, as every bundle before had, decodes with none.
        let old = #"{"format":"mailkeep-bundle","version":2,"info_separator":":","sources":["x"]}"#
        #expect(try BundleHeader.read(Array(old.utf8), bundle: "old").folders == nil)
    }
}
