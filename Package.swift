// swift-tools-version:6.0
import PackageDescription

let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")

/// The executables: each is a few lines that run a command from MailKeepCommands.
let tools = ["mailconvert", "mailpack", "mailverify", "mailscan", "mailpick", "mailrestore"]

/// The library is layered, each target depending only on those above it:
/// I/O (files, errors, codecs) -> formats (messages, headers, mbox, Maildir, .eml, tar,
/// selection criteria) -> archive (bundles) -> pipeline (sources, sinks, convert, restore,
/// scan, verify) -> commands (the six tools' arguments and exit codes).
let package = Package(
    name: "mailkeep",
    products: [
        .library(name: "MailKeep", targets: ["MailKeepIO", "MailKeepFormats", "MailKeepArchive", "MailKeepPipeline", "MailKeepCommands"]),
    ] + tools.map { .executable(name: $0, targets: [$0]) },
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
    ],
    targets: [
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CLZMA", pkgConfig: "liblzma", providers: [.apt(["liblzma-dev"])]),
        .target(name: "CSystemShim"),
        .target(name: "MailKeepIO", dependencies: ["CZlib", "CLZMA", "CSystemShim", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "MailKeepFormats", dependencies: ["MailKeepIO", "CSystemShim"]),
        .target(name: "MailKeepArchive", dependencies: ["MailKeepIO", "MailKeepFormats"]),
        .target(name: "MailKeepPipeline", dependencies: ["MailKeepIO", "MailKeepFormats", "MailKeepArchive"]),
        .target(name: "MailKeepCommands", dependencies: ["MailKeepIO", "MailKeepFormats", "MailKeepArchive", "MailKeepPipeline", argumentParser]),
        .testTarget(name: "MailKeepTests", dependencies: ["MailKeepIO", "MailKeepFormats", "MailKeepArchive", "MailKeepPipeline", "MailKeepCommands"],
                    exclude: ["Snapshots"]),
    ] + tools.map { .executableTarget(name: $0, dependencies: ["MailKeepCommands"]) }
)
