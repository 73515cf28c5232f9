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
        // Times OfferMatcher rounds (10k tasks over 100 to 10k agents), task memory and packing quality.
        .executableTarget(
            name: "MatchBenchmark",
            dependencies: [
                .product(name: "Mesos", package: root),
                .product(name: "MesosOffers", package: root),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // Times scheduler calls on the client's one keep-alive calls connection against an in-process NIO master.
        .executableTarget(
            name: "SchedulerCallBenchmark",
            dependencies: [
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
