import ArgumentParser
import MailKeepIO
import MailKeepFormats
import MailKeepPipeline

extension OutputFormat: ExpressibleByArgument {}
extension MaildirLayout: ExpressibleByArgument {}
extension MboxVariant: ExpressibleByArgument {}

/// `--info-separator`, shared by every tool that writes Maildir names (mailconvert, mailrestore,
/// mailpack), declared and validated here once.
public struct InfoSeparatorOption: ParsableArguments {
    public init() {}

    @Option(help: ArgumentHelp(
        "Character between a Maildir name and its flags: ':' (standard), or '!' or ';' for FAT, exFAT and NTFS disks, which reject ':'.",
        discussion: "Files written with it are read back with it; ':', '!' and ';' are always recognised on input.",
        valueName: "char"))
    public var infoSeparator: String = ":"

    public mutating func validate() throws {
        guard infoSeparator.count == 1, let c = infoSeparator.first, c != "/", c != ".", c.isASCII,
              c.isPunctuation || c.isSymbol else {
            throw ValidationError("--info-separator takes one punctuation character, such as ':', '!' or ';'")
        }
    }

    public var separator: Character { infoSeparator.first ?? ":" }
}

/// How mail is written: shared by `mailconvert` and `mailrestore`.
public struct WritingOptions: ParsableArguments {
    public init() {}

    @Option(help: "Output format: maildir, mbox or eml (default: mbox for - and *.mbox, else maildir).")
    public var format: OutputFormat?

    @Option(help: "Maildir folder layout: maildir++ (.Sub.Folder, Dovecot and Courier) or nested (Sub/Folder).")
    public var layout: MaildirLayout = .maildirPlusPlus

    @Option(help: ArgumentHelp(
        "mbox dialect to write: mboxrd (reversible quoting), mboxo or mboxcl2 (Content-Length, no quoting).",
        discussion: "Default: each message as it came, so an mbox rebuilt from a bundle is the original file: one that had a Content-Length is counted (right length, no quoting), the others mboxrd."))
    public var mboxVariant: MboxVariant?

    @OptionGroup public var infoSeparator: InfoSeparatorOption

    @Flag(help: "Write folder names in UTF-8 instead of IMAP modified UTF-7 (what Dovecot and Courier expect).")
    public var utf8Names = false

    public var separator: Character { infoSeparator.separator }

    /// Maildir and .eml output are trees of files; only mbox can go to stdout.
    public func validate(destination: String) throws {
        if destination == "-", let format, format != .mbox {
            throw ValidationError("-o - writes an mbox stream; --format \(format.rawValue) needs a directory")
        }
    }

    public func convertOptions(destination: String, console: Console) -> ConvertOptions {
        ConvertOptions(format: format ?? .implied(by: destination),
                       naming: FolderNaming(layout: layout, utf8Names: utf8Names, infoSeparator: separator),
                       mboxVariant: mboxVariant, standardOutput: console.standardOutput)
    }
}
