// swift-tools-version:6.2
// Benchmarks for swift-mesos, kept out of the main package so its users never build them.
import Foundation
import PackageDescription

// A path dependency is identified by its folder's name, which is whatever the clone was called.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "swift-mesos-benchmarks",
    dependencies: [
        .package(path: "../"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-protobuf.git", exact: "1.39.0"),
    ],
    targets: [
        // Decodes the peers' corpora (../../shared/bench/peers) into typed events; prints the peers' line format.
        .executableTarget(
            name: "DecodeBenchmark",
            dependencies: [
                .product(name: "Mesos", package: root),
                .product(name: "MesosCodecs", package: root),
                .product(name: "MesosRecordIO", package: root),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // Replaces malloc and its kin, counting every allocation, in the one executable that links it.
        .target(name: "CMallocCount"),
        // Heap allocations per decoded event, generated decoders against the reference.
        .executableTarget(
            name: "DecodeAllocations",
            dependencies: [
                "CMallocCount",
                .product(name: "Mesos", package: root),
                .product(name: "MesosCodecs", package: root),
                .product(name: "MesosRecordIO", package: root),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // Times OfferMatcher rounds (10k tasks over 100 to 10k agents), task memory and packing quality.
        .executableTarget(
            name: "MatchBenchmark",
            dependencies: [
                .product(name: "Mesos", package: root),
                .product(name: "MesosOffers", package: root),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // The `bench=` line and duration helpers shared by the benchmarks below.
        .target(
            name: "BenchSupport",
            dependencies: [.product(name: "Mesos", package: root)],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // Launch throughput, allocation rounds, scheduler calls, failover time, mesos-submit latency and many
        // instances with an artifact, against local masters (cluster.sh).
        .executableTarget(
            name: "ClusterBenchmark",
            dependencies: [
                "BenchSupport",
                .product(name: "Mesos", package: root),
                .product(name: "MesosCodecs", package: root),
                .product(name: "MesosRecordIO", package: root),
                .product(name: "MesosHTTP", package: root),
                .product(name: "MesosScheduler", package: root),
                .product(name: "MesosLauncher", package: root),
                .product(name: "MesosLocal", package: root),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // A corpus as an event stream over loopback HTTP, decoded by SchedulerClient, against in-memory decoding
        // (cluster.sh). Needs no local master, so it builds in a fraction of ClusterBenchmark's time.
        .executableTarget(
            name: "StreamBenchmark",
            dependencies: [
                "BenchSupport",
                .product(name: "Mesos", package: root),
                .product(name: "MesosCodecs", package: root),
                .product(name: "MesosRecordIO", package: root),
                .product(name: "MesosScheduler", package: root),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // Serves files with MesosArtifacts for artifacts.sh, which drives it and nginx with wrk.
        .executableTarget(
            name: "ArtifactBenchmark",
            dependencies: [.product(name: "MesosArtifacts", package: root)],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)
