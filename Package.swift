// swift-tools-version: 6.1
// coffer: a declarative, GitOps-style reconciler for the backup of encrypted virtual machines.
import PackageDescription

let package = Package(
    name: "coffer",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "coffer", targets: ["coffer"]),
        .library(name: "CofferModel", targets: ["CofferModel"]),
        .library(name: "CofferYAML", targets: ["CofferYAML"]),
        .library(name: "CofferCrypto", targets: ["CofferCrypto"]),
        .library(name: "CofferSystem", targets: ["CofferSystem"]),
        .library(name: "CofferSnapshot", targets: ["CofferSnapshot"]),
        .library(name: "CofferPlatform", targets: ["CofferPlatform"]),
        .library(name: "CofferRules", targets: ["CofferRules"]),
        .library(name: "CofferManifest", targets: ["CofferManifest"]),
        .library(name: "CofferReconciler", targets: ["CofferReconciler"]),
        .library(name: "CofferGit", targets: ["CofferGit"]),
        .library(name: "CofferGitOps", targets: ["CofferGitOps"]),
        .library(name: "CofferCLI", targets: ["CofferCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
    ],
    targets: [
        // C libraries from the system, found through pkg-config.
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .systemLibrary(
            name: "CGit2",
            pkgConfig: "libgit2",
            providers: [.apt(["libgit2-dev"])]
        ),
        .systemLibrary(
            name: "CLibYAML",
            pkgConfig: "yaml-0.1",
            providers: [.apt(["libyaml-dev"])]
        ),

        // Library modules, dependencies pointing down only (see DESIGN.md).
        .target(name: "CofferModel", exclude: ["README.md"]),
        .target(name: "CofferYAML", dependencies: ["CLibYAML"], exclude: ["README.md"]),
        .target(name: "CofferRules", dependencies: ["CofferModel"], exclude: ["README.md"]),
        .target(name: "CofferSystem", exclude: ["README.md"]),
        .target(name: "CofferCrypto", dependencies: ["COpenSSL", "CofferModel"], exclude: ["README.md"]),
        .target(name: "CofferSnapshot", dependencies: ["CofferSystem", "CofferCrypto", "CofferModel"], exclude: ["README.md"]),
        .target(
            name: "CofferPlatform",
            dependencies: [
                "CofferModel", "CofferRules", "CofferSystem", "CofferSnapshot", "CofferCrypto", "CofferYAML",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            exclude: ["README.md"]
        ),
        .target(
            name: "CofferManifest",
            dependencies: ["CofferModel", "CofferRules", "CofferYAML"],
            exclude: ["README.md"]
        ),
        .target(name: "CofferReconciler", dependencies: ["CofferModel", "CofferRules", "CofferSystem"], exclude: ["README.md"]),
        .target(name: "CofferGit", dependencies: ["CGit2", "CofferModel"], exclude: ["README.md"]),
        .target(
            name: "CofferGitOps",
            dependencies: ["CofferReconciler", "CofferGit", "CofferManifest", "CofferModel"],
            exclude: ["README.md"]
        ),
        .target(
            name: "CofferCLI",
            dependencies: [
                "CofferModel", "CofferCrypto", "CofferSnapshot", "CofferPlatform",
                "CofferManifest", "CofferReconciler", "CofferGit", "CofferGitOps",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["README.md"]
        ),
        .executableTarget(name: "coffer", dependencies: ["CofferCLI"], exclude: ["README.md"]),
        .executableTarget(name: "coffer-git-bench", dependencies: ["CofferGit"], exclude: ["README.md"]),
        .executableTarget(name: "coffer-bench", dependencies: ["CofferSnapshot", "CofferCrypto"], exclude: ["README.md"]),
        .target(name: "CofferTestSupport", dependencies: ["CofferModel", "CofferRules", "CofferSystem"], exclude: ["README.md"]),

        // One test target per library module.
        .testTarget(name: "CofferModelTests", dependencies: ["CofferModel", "CofferTestSupport"]),
        .testTarget(name: "CofferRulesTests", dependencies: ["CofferRules", "CofferTestSupport"]),
        .testTarget(name: "CofferYAMLTests", dependencies: ["CofferYAML", "CofferTestSupport"]),
        .testTarget(name: "CofferSystemTests", dependencies: ["CofferSystem", "CofferTestSupport"]),
        .testTarget(name: "CofferCryptoTests", dependencies: ["CofferCrypto", "CofferTestSupport"]),
        .testTarget(name: "CofferSnapshotTests", dependencies: ["CofferSnapshot", "CofferTestSupport"]),
        // The platform's tests also load the shipped manifests, to drive its provider with them.
        .testTarget(name: "CofferPlatformTests", dependencies: ["CofferPlatform", "CofferManifest", "CofferYAML", "CofferTestSupport"]),
        .testTarget(name: "CofferManifestTests", dependencies: ["CofferManifest", "CofferYAML", "CofferTestSupport"]),
        .testTarget(name: "CofferReconcilerTests", dependencies: ["CofferReconciler", "CofferTestSupport"]),
        .testTarget(name: "CofferGitTests", dependencies: ["CofferGit", "CofferTestSupport"]),
        .testTarget(name: "CofferGitOpsTests", dependencies: ["CofferGitOps", "CofferTestSupport"]),
        .testTarget(name: "CofferCLITests", dependencies: ["CofferCLI", "CofferTestSupport"], exclude: ["Golden"]),
    ]
)
