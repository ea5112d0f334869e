// swift-tools-version: 6.1
import PackageDescription

// A separate package so users of the library never build the benchmark stack.
let package = Package(
    name: "strata-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "strata", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "IngestBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "StrataModel", package: "strata"),
                .product(name: "StrataBlock", package: "strata"),
                .product(name: "StrataTSDB", package: "strata"),
                .product(name: "StrataRemote", package: "strata"),
                .product(name: "StrataRuntime", package: "strata"),
                .product(name: "StrataStorage", package: "strata"),
                .product(name: "StrataTestSupport", package: "strata"),
            ],
            path: "Benchmarks/IngestBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "QueryBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "StrataModel", package: "strata"),
                .product(name: "StrataBlock", package: "strata"),
                .product(name: "StrataTSDB", package: "strata"),
                .product(name: "StrataStorage", package: "strata"),
                .product(name: "StrataPromQL", package: "strata"),
                .product(name: "StrataPromQLParser", package: "strata"),
            ],
            path: "Benchmarks/QueryBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
