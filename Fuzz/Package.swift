// swift-tools-version: 6.1
import PackageDescription

// libFuzzer harnesses over Strata's decoders: a separate package (like Benchmarks/) so its
// sanitized build stays in Fuzz/.build and users of the library never build it. Build and run
// through `make fuzz` (see docs/fuzzing.md): the sanitizer flags must reach every module, so they
// are given on the command line, not here.
let package = Package(
    name: "strata-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "strata", path: ".."),
    ],
    targets: [
        // One executable for every harness (one link of the whole graph instead of one per harness);
        // `STRATA_FUZZ_HARNESS` picks the harness.
        .executableTarget(
            name: "StrataFuzz",
            dependencies: [
                .product(name: "StrataModel", package: "strata"),
                .product(name: "StrataEncoding", package: "strata"),
                .product(name: "StrataStorage", package: "strata"),
                .product(name: "StrataRemote", package: "strata"),
                .product(name: "StrataRuntime", package: "strata"),
                .product(name: "StrataPromQLParser", package: "strata"),
                .product(name: "StrataBlock", package: "strata"),
                .product(name: "StrataTSDB", package: "strata"),
                .product(name: "StrataObjectStore", package: "strata"),
                .product(name: "StrataServer", package: "strata"),
                .product(name: "StrataRules", package: "strata"),
                .product(name: "StrataTestSupport", package: "strata"),
            ],
            path: "Sources/StrataFuzz",
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
        ),
    ]
)
