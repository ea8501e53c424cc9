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
        .library(name: "CofferARM", targets: ["CofferARM"]),
        .library(name: "CofferServe", targets: ["CofferServe"]),
        .library(name: "CofferARMClient", targets: ["CofferARMClient"]),
        .library(name: "CofferStatePostgres", targets: ["CofferStatePostgres"]),
        .library(name: "CofferCLI", targets: ["CofferCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        // coffer serve: one SwiftNIO stack (DESIGN.md, Dependencies).
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        // The ARM client: one HTTP/1.1 connection pool over the same SwiftNIO stack.
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        // The reconciler's shared state for several watchers.
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
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
        // The system ICU (libicu-dev) behind a header of plain C types: see Sources/CICU/README.md.
        .target(
            name: "CICU",
            exclude: ["README.md"],
            linkerSettings: [.linkedLibrary("icui18n"), .linkedLibrary("icuuc"), .linkedLibrary("icudata")]
        ),

        // Library modules, dependencies pointing down only (see DESIGN.md).
        .target(name: "CofferModel", exclude: ["README.md"]),
        .target(name: "CofferYAML", dependencies: ["CLibYAML"], exclude: ["README.md"]),
        .target(name: "CofferRules", dependencies: ["CICU", "CofferModel"], exclude: ["README.md"]),
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
        .target(name: "CofferARM", dependencies: ["CofferModel"], exclude: ["README.md"]),
        .target(
            name: "CofferServe",
            dependencies: [
                "CofferARM", "CofferModel", "CofferPlatform", "CofferRules", "CofferSystem",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["README.md"]
        ),
        // The ARM REST client: a Provider over any ARM endpoint; never the embedded platform.
        .target(
            name: "CofferARMClient",
            dependencies: [
                "CofferARM", "CofferModel",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["README.md"]
        ),
        // The reconciler's state in PostgreSQL: store, apply lock, leases and fencing for several watchers.
        .target(
            name: "CofferStatePostgres",
            dependencies: [
                "CofferReconciler", "CofferModel",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["README.md"]
        ),
        .target(
            name: "CofferCLI",
            dependencies: [
                "CofferModel", "CofferCrypto", "CofferSnapshot", "CofferPlatform",
                "CofferManifest", "CofferReconciler", "CofferGit", "CofferGitOps", "CofferServe", "CofferARMClient",
                "CofferStatePostgres",
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
        .testTarget(name: "CofferPlatformTests", dependencies: ["CofferPlatform", "CofferRules", "CofferManifest", "CofferYAML", "CofferTestSupport"]),
        .testTarget(name: "CofferManifestTests", dependencies: ["CofferManifest", "CofferRules", "CofferYAML", "CofferTestSupport"]),
        .testTarget(name: "CofferReconcilerTests", dependencies: ["CofferReconciler", "CofferRules", "CofferTestSupport"]),
        // The plan's promise, over generated worlds and manifests, on the embedded platform.
        .testTarget(name: "CofferPlanTruthTests", dependencies: ["CofferPlatform", "CofferManifest", "CofferReconciler", "CofferModel", "CofferRules", "CofferTestSupport"]),
        .testTarget(name: "CofferGitTests", dependencies: ["CofferGit", "CofferTestSupport"]),
        .testTarget(name: "CofferGitOpsTests", dependencies: ["CofferGitOps", "CofferTestSupport"]),
        .testTarget(name: "CofferARMTests", dependencies: ["CofferARM", "CofferTestSupport"]),
        .testTarget(
            name: "CofferServeTests",
            dependencies: [
                "CofferServe", "CofferARM", "CofferPlatform", "CofferTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // The ARM client against a real coffer serve over TLS.
        .testTarget(
            name: "CofferARMClientTests",
            dependencies: [
                "CofferARMClient", "CofferARM", "CofferServe", "CofferPlatform", "CofferModel",
                "CofferManifest", "CofferReconciler", "CofferTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The PostgreSQL store against a real server (COFFER_TEST_POSTGRES, started by scripts/test-postgres.sh).
        .testTarget(name: "CofferStatePostgresTests", dependencies: ["CofferStatePostgres", "CofferReconciler", "CofferGitOps", "CofferGit", "CofferModel", "CofferTestSupport"]),
        .testTarget(name: "CofferCLITests", dependencies: ["CofferCLI", "CofferTestSupport"], exclude: ["Golden"]),
    ]
)
