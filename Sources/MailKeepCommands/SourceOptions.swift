import ArgumentParser
import MailKeepFormats

extension MboxDialect: ExpressibleByArgument {}

/// How sources are read: shared by every tool that reads mail.
public struct SourceOptions: ParsableArguments {
    public init() {}

    @Option(help: ArgumentHelp(
        "How mbox bodies are quoted (default: as the writer is evident, else mboxrd).",
        discussion: "auto reads Thunderbird's messages (From - lines with X-Mozilla-Status) and Apple Mail packages as mboxo (a body line >From stays as it is), and everything else as mboxrd (>From loses one >). A message whose Content-Length ends at the next From_ line is taken as it is in every dialect.",
        valueName: "dialect"))
    public var mboxDialect: MboxDialect = .auto
}
