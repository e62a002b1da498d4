// swift-tools-version:6.0
import PackageDescription

let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")

/// The executables: each is a few lines that run a command from MailKeepCommands.
let tools = ["mailconvert", "mailpack", "mailverify", "mailscan", "mailpick", "mailrestore"]

/// The libFuzzer executable (docs/fuzzing.md) exists only when MAILKEEP_FUZZ is set, as
/// `scripts/fuzz` sets it for its sanitizer build in `.build-fuzz`: its entry point hands over
/// to libFuzzer's driver, which only `-sanitize=fuzzer` links in, so a plain `swift build` could
/// not link it. The fuzz targets themselves are the library MailKeepFuzzing, which every build
/// compiles and the tests use to replay the inputs that once crashed a reader.
let fuzzing = Context.environment["MAILKEEP_FUZZ"] != nil
let fuzzTargets: [Target] = !fuzzing ? [] : [
    .target(name: "CFuzzerMain"),
    .executableTarget(name: "mailkeep-fuzz", dependencies: ["MailKeepFuzzing", "CFuzzerMain"],
                      swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
]

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
        .target(name: "MailKeepFuzzing", dependencies: ["MailKeepIO", "MailKeepFormats", "MailKeepArchive"]),
        .testTarget(name: "MailKeepTests", dependencies: ["MailKeepIO", "MailKeepFormats", "MailKeepArchive", "MailKeepPipeline", "MailKeepCommands", "MailKeepFuzzing"],
                    exclude: ["Snapshots"]),
    ] + tools.map { .executableTarget(name: $0, dependencies: ["MailKeepCommands"]) } + fuzzTargets
)
