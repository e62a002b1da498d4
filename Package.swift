// swift-tools-version:6.0
import PackageDescription

let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")

/// One library holds the logic; each executable is a thin command over it.
let tools = ["mailconvert", "mailpack", "mailverify", "mailscan", "mailpick", "mailrestore"]

let package = Package(
    name: "mailkeep",
    products: [.library(name: "MailKeep", targets: ["MailKeep"])]
        + tools.map { .executable(name: $0, targets: [$0]) },
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
    ],
    targets: [
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CLZMA", pkgConfig: "liblzma", providers: [.apt(["liblzma-dev"])]),
        .target(name: "CSystemShim"),
        .target(
            name: "MailKeep",
            dependencies: ["CZlib", "CLZMA", "CSystemShim", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // Option groups the tools share (selection, output format), defined once.
        .target(name: "MailKeepCLI", dependencies: ["MailKeep", argumentParser]),
        .testTarget(name: "MailKeepTests", dependencies: ["MailKeep"]),
    ] + tools.map { .executableTarget(name: $0, dependencies: ["MailKeep", "MailKeepCLI", argumentParser]) }
)
