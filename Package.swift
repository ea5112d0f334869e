// swift-tools-version: 6.1
import PackageDescription

// Every existential is spelled `any`, so a protocol hop on a hot path is visible in review.
let settings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    // Release builds skip the run-time exclusivity checks: on the ingest path they were ~10% of
    // the CPU (begin/end access and their thread-local access sets, per sample). Debug builds,
    // which every test runs, keep them, so a violation still fails there.
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "strata",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "strata", targets: ["strata"]),
        .library(name: "StrataModel", targets: ["StrataModel"]),
        .library(name: "StrataEncoding", targets: ["StrataEncoding"]),
        .library(name: "StrataStorage", targets: ["StrataStorage"]),
        .library(name: "StrataRuntime", targets: ["StrataRuntime"]),
        .library(name: "StrataBlock", targets: ["StrataBlock"]),
        .library(name: "StrataTSDB", targets: ["StrataTSDB"]),
        .library(name: "StrataPromQLParser", targets: ["StrataPromQLParser"]),
        .library(name: "StrataPromQL", targets: ["StrataPromQL"]),
        .library(name: "StrataRemote", targets: ["StrataRemote"]),
        .library(name: "StrataHTTPAPI", targets: ["StrataHTTPAPI"]),
        .library(name: "StrataGoYAML", targets: ["StrataGoYAML"]),
        .library(name: "StrataObjectStore", targets: ["StrataObjectStore"]),
        .library(name: "StrataBlockStore", targets: ["StrataBlockStore"]),
        .library(name: "StrataRules", targets: ["StrataRules"]),
        .library(name: "StrataServer", targets: ["StrataServer"]),
        .library(name: "StrataTools", targets: ["StrataTools"]),
        .library(name: "StrataTestSupport", targets: ["StrataTestSupport"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        // Strata's own /metrics: swift-metrics (already used by Hummingbird) with the Prometheus backend.
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        // The S3, GCS and Azure buckets' HTTP client (and, in tests, a real client for tests that
        // drive a separately started `strata` process).
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        // objstore configuration files are YAML (Thanos' format, unchanged).
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        // SigV4 (S3) and Shared Key (Azure) signing, RS256 for GCS; already in the graph through
        // async-http-client.
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3" ..< "5.0.0"),
        // TLS for --web.config.file (already in the graph through async-http-client), and bcrypt
        // for its basic_auth_users.
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
    ],
    targets: [
        // System libraries (installed by scripts/bootstrap.sh).
        .systemLibrary(name: "CSnappy", pkgConfig: "snappy", providers: [.apt(["libsnappy-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        // C only where Swift cannot reach the instruction or the libc call (CRC32C via SSE4.2,
        // prefetch, malloc_trim, copy_file_range).
        .target(name: "CStrataSupport"),

        .target(name: "StrataModel", swiftSettings: settings),
        .target(name: "StrataEncoding",
                dependencies: ["StrataModel", "CSnappy", "CZlib", "CStrataSupport"],
                swiftSettings: settings),
        .target(name: "StrataStorage", dependencies: ["StrataModel"], swiftSettings: settings),
        // What servers need besides HTTP: threads for blocking work, the concurrency gate,
        // cancellation, start-up state. No Swift dependencies, so the engine can use it too.
        .target(name: "StrataRuntime", dependencies: ["CStrataSupport"], swiftSettings: settings),
        // The block format (Prometheus' tsdb/index, tsdb/chunks, meta.json): shared by the local
        // TSDB and, later, readers of blocks in a bucket.
        .target(name: "StrataBlock",
                dependencies: ["StrataModel", "StrataEncoding", "StrataStorage"],
                swiftSettings: settings),
        .target(name: "StrataTSDB",
                dependencies: ["StrataModel", "StrataEncoding", "StrataStorage", "StrataBlock", "CStrataSupport"],
                swiftSettings: settings),
        .target(name: "StrataPromQLParser", dependencies: ["StrataModel"], swiftSettings: settings),
        .target(name: "StrataPromQL",
                dependencies: ["StrataModel", "StrataStorage", "StrataPromQLParser", "StrataRuntime"],
                swiftSettings: settings),
        .target(name: "StrataRemote",
                dependencies: ["StrataModel", "StrataEncoding", "StrataStorage"],
                swiftSettings: settings),
        // Go programs' YAML configuration files read as yaml.v2's UnmarshalStrict reads them:
        // objstore, web config, limits.
        .target(name: "StrataGoYAML", dependencies: [.product(name: "Yams", package: "Yams")], swiftSettings: settings),
        // Buckets: the Bucket protocol, its backends, Thanos' objstore YAML.
        .target(name: "StrataObjectStore",
                dependencies: [
                    "StrataRuntime", "CStrataSupport", "StrataGoYAML",
                    .product(name: "Yams", package: "Yams"),
                    .product(name: "AsyncHTTPClient", package: "async-http-client"),
                    .product(name: "Crypto", package: "swift-crypto"),
                    // RSA (RS256) for GCS service-account JWTs.
                    .product(name: "_CryptoExtras", package: "swift-crypto"),
                    .product(name: "NIOCore", package: "swift-nio"),
                    .product(name: "NIOHTTP1", package: "swift-nio"),
                ],
                swiftSettings: settings),
        // What moves blocks between the data directory and a bucket: the shipper, and the SQLite
        // catalog of local and bucket blocks.
        .target(name: "StrataBlockStore",
                dependencies: ["StrataModel", "StrataBlock", "StrataObjectStore", "StrataStorage", "StrataRuntime", "CSQLite"],
                swiftSettings: settings),
        // Prometheus rule files: checked as promtool checks them, evaluated on the PromQL engine,
        // alerts rendered with Go-template labels and annotations and sent to Alertmanager.
        .target(name: "StrataRules",
                dependencies: [
                    "StrataModel", "StrataStorage", "StrataPromQL", "StrataPromQLParser", "StrataRuntime", "StrataGoYAML",
                    .product(name: "Yams", package: "Yams"),
                    .product(name: "Logging", package: "swift-log"),
                    // The notifier's client to Alertmanager.
                    .product(name: "AsyncHTTPClient", package: "async-http-client"),
                    .product(name: "NIOCore", package: "swift-nio"),
                    .product(name: "NIOHTTP1", package: "swift-nio"),
                    .product(name: "NIOSSL", package: "swift-nio-ssl"),
                ],
                swiftSettings: settings),
        .target(name: "StrataUI",
                dependencies: [.product(name: "Hummingbird", package: "hummingbird")],
                swiftSettings: settings),
        .target(name: "StrataHTTPAPI",
                dependencies: [
                    "StrataModel", "StrataStorage", "StrataRemote", "StrataEncoding", "StrataPromQL", "StrataPromQLParser", "StrataRuntime",
                    "StrataRules",
                    .product(name: "Hummingbird", package: "hummingbird"),
                    .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                    .product(name: "Crypto", package: "swift-crypto"),
                    .product(name: "HTTPTypes", package: "swift-http-types"),
                    .product(name: "Logging", package: "swift-log"),
                    .product(name: "NIOCore", package: "swift-nio"),
                ],
                swiftSettings: settings),
        .target(name: "StrataServer",
                dependencies: [
                    "StrataModel", "StrataStorage", "StrataTSDB", "StrataRemote", "StrataHTTPAPI", "StrataRuntime",
                    "StrataObjectStore", "StrataBlockStore", "StrataPromQLParser", "StrataGoYAML", "StrataPromQL", "StrataRules", "StrataUI",
                    // `/api/v1/blocks/inspect` serves `strata bucket inspect`'s report.
                    "StrataTools",
                    .product(name: "Hummingbird", package: "hummingbird"),
                    .product(name: "HummingbirdCore", package: "hummingbird"),
                    .product(name: "NIOSSL", package: "swift-nio-ssl"),
                    .product(name: "NIOTLS", package: "swift-nio"),
                    .product(name: "Logging", package: "swift-log"),
                    .product(name: "NIOCore", package: "swift-nio"),
                    .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                    .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                    .product(name: "Metrics", package: "swift-metrics"),
                    .product(name: "Prometheus", package: "swift-prometheus"),
                ],
                swiftSettings: settings),
        // promtool-like reports and importers, as Prometheus keeps them in cmd/promtool.
        .target(name: "StrataTools",
                dependencies: ["StrataModel", "StrataEncoding", "StrataStorage", "StrataBlock", "StrataTSDB",
                               "StrataObjectStore", "StrataBlockStore",
                               // `strata loadgen`: profile files, and remote write and queries over HTTP(S).
                               .product(name: "Yams", package: "Yams"),
                               .product(name: "AsyncHTTPClient", package: "async-http-client"),
                               .product(name: "NIOCore", package: "swift-nio"),
                               .product(name: "NIOHTTP1", package: "swift-nio"),
                               .product(name: "NIOSSL", package: "swift-nio-ssl")],
                swiftSettings: settings),
        .executableTarget(name: "strata",
                          dependencies: [
                              "StrataServer", "StrataHTTPAPI", "StrataTools", "StrataTSDB", "StrataModel", "StrataPromQLParser", "StrataObjectStore",
                              "StrataBlock", "StrataBlockStore", "StrataRuntime", "StrataRules",
                              .product(name: "ArgumentParser", package: "swift-argument-parser"),
                              .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                              .product(name: "Metrics", package: "swift-metrics"),
                              .product(name: "Prometheus", package: "swift-prometheus"),
                              .product(name: "Logging", package: "swift-log"),
                          ],
                          swiftSettings: settings),
        .target(name: "StrataTestSupport",
                dependencies: ["StrataModel", "StrataEncoding", "StrataStorage", "StrataBlock", "StrataPromQLParser", "StrataPromQL", "StrataObjectStore"],
                swiftSettings: settings),

        .testTarget(name: "StrataModelTests", dependencies: ["StrataModel"], swiftSettings: settings),
        .testTarget(name: "StrataEncodingTests", dependencies: ["StrataEncoding", "StrataTestSupport"], swiftSettings: settings),
        .testTarget(name: "StrataStorageTests", dependencies: ["StrataStorage", "StrataTestSupport"], swiftSettings: settings),
        .testTarget(name: "StrataObjectStoreTests",
                    dependencies: [
                        "StrataObjectStore", "StrataTestSupport",
                        .product(name: "Crypto", package: "swift-crypto"),
                        .product(name: "_CryptoExtras", package: "swift-crypto"),
                    ],
                    swiftSettings: settings),
        .testTarget(name: "StrataBlockStoreTests",
                    dependencies: ["StrataBlockStore", "StrataObjectStore", "StrataBlock", "StrataTSDB", "StrataRuntime", "StrataTestSupport"],
                    swiftSettings: settings),
        .testTarget(name: "StrataRuntimeTests", dependencies: ["StrataRuntime"], swiftSettings: settings),
        .testTarget(name: "StrataBlockTests", dependencies: ["StrataBlock", "StrataEncoding", "StrataStorage", "StrataTestSupport"], swiftSettings: settings),
        .testTarget(name: "StrataTSDBTests",
                    dependencies: ["StrataTSDB", "StrataBlock", "StrataTools", "StrataObjectStore", "StrataBlockStore", "StrataEncoding", "StrataTestSupport", "StrataPromQL", "StrataPromQLParser", "StrataRuntime", "CStrataSupport"],
                    swiftSettings: settings),
        .testTarget(name: "StrataPromQLParserTests", dependencies: ["StrataPromQLParser"], swiftSettings: settings),
        .testTarget(name: "StrataPromQLTests",
                    dependencies: ["StrataPromQL", "StrataPromQLParser", "StrataStorage", "StrataTestSupport"],
                    swiftSettings: settings),
        .testTarget(name: "StrataRulesTests",
                    dependencies: ["StrataRules", "StrataPromQL", "StrataPromQLParser", "StrataStorage", "StrataTestSupport"],
                    swiftSettings: settings),
        .testTarget(name: "StrataToolsTests",
                    dependencies: ["StrataTools", "StrataRemote", "StrataStorage", "StrataModel", "StrataTestSupport",
                                   .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")],
                    swiftSettings: settings),
        .testTarget(name: "StrataRemoteTests", dependencies: ["StrataRemote", "StrataTSDB", "StrataTestSupport"], swiftSettings: settings),
        .testTarget(name: "StrataHTTPAPITests",
                    dependencies: [
                        "StrataHTTPAPI", "StrataTSDB", "StrataBlock", "StrataTestSupport", "StrataEncoding",
                        .product(name: "HummingbirdTesting", package: "hummingbird"),
                        .product(name: "HTTPTypes", package: "swift-http-types"),
                    ],
                    swiftSettings: settings),
        .testTarget(name: "StrataServerTests",
                    dependencies: [
                        "StrataServer", "StrataTestSupport", "StrataEncoding", "StrataBlock", "StrataBlockStore", "StrataObjectStore",
                        "StrataTSDB", "StrataStorage", "StrataRuntime", "StrataTools", "StrataRemote",
                        .product(name: "HummingbirdTesting", package: "hummingbird"),
                        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                        .product(name: "Logging", package: "swift-log"),
                        .product(name: "AsyncHTTPClient", package: "async-http-client"),
                        .product(name: "NIOHTTP1", package: "swift-nio"),
                        .product(name: "NIOFoundationCompat", package: "swift-nio"),
                        "StrataModel",
                    ],
                    swiftSettings: settings),
    ]
)
