// swift-tools-version:6.2
import PackageDescription

let package = Package(
    name: "swift-mesos",
    products: [
        .library(name: "Mesos", targets: ["Mesos"]),
        .library(name: "MesosRecordIO", targets: ["MesosRecordIO"]),
        .library(name: "MesosCodecs", targets: ["MesosCodecs"]),
        .library(name: "MesosOffers", targets: ["MesosOffers"]),
        .library(name: "MesosArtifacts", targets: ["MesosArtifacts"]),
        .library(name: "MesosHTTP", targets: ["MesosHTTP"]),
        .library(name: "MesosScheduler", targets: ["MesosScheduler"]),
        .library(name: "MesosLocal", targets: ["MesosLocal"]),
        .library(name: "MesosLauncher", targets: ["MesosLauncher"]),
        .library(name: "MesosExecutor", targets: ["MesosExecutor"]),
        .executable(name: "mesos-swift-executor", targets: ["mesos-swift-executor"]),
        .executable(name: "mesos-submit", targets: ["mesos-submit"]),
        .executable(name: "mesos-local", targets: ["mesos-local"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-protobuf.git", exact: "1.39.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        // TLS for the local master's and agents' endpoints (https in MesosLocal), and the TLS test server.
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    ],
    targets: [
        // The Mesos v1 messages (generated from Protos/, committed) and hand-written helpers.
        .target(
            name: "Mesos",
            dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")]
        ),
        // RecordIO framing: encoder and incremental, bounded decoder.
        .target(
            name: "MesosRecordIO",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")]
        ),
        // The two content types (application/json with Mesos conventions, application/x-protobuf)
        // and typed event streams (RecordIO + codec).
        .target(
            name: "MesosCodecs",
            dependencies: [
                "Mesos",
                "MesosRecordIO",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        // The offer-matching engine: pending tasks + offers + constraints + strategy -> placements and operations.
        // Pure and deterministic: no I/O, no concurrency.
        .target(
            name: "MesosOffers",
            dependencies: ["Mesos", .product(name: "SwiftProtobuf", package: "swift-protobuf")]
        ),
        // Test-only helpers shared by the test targets: child processes run off Swift concurrency's threads, and a
        // throw-away PKI made with `openssl`. Not a product.
        .target(name: "MesosTestSupport", dependencies: ["MesosProcess"], path: "Tests/MesosTestSupport"),
        .testTarget(
            name: "MesosTests",
            dependencies: [
                "Mesos",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(
            name: "MesosOffersTests",
            dependencies: [
                "Mesos", "MesosOffers",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        // libcurl (apt: libcurl4-openssl-dev), with a shim for its variadic setopt/getinfo.
        .systemLibrary(name: "CMesosCurl", path: "Sources/CMesosCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        // The HTTP/1.1 transport on libcurl: one multi handle on its own thread, streaming with back-pressure.
        .target(
            name: "MesosHTTP",
            dependencies: [
                "CMesosCurl",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "MesosHTTPTests",
            dependencies: [
                "MesosTestSupport",
                "MesosHTTP",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // The v1 Scheduler API client: subscription, every call and event, leader detection, reconnect, failover.
        .target(
            name: "MesosScheduler",
            dependencies: [
                "Mesos", "MesosCodecs", "MesosHTTP", "MesosRecordIO",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        .testTarget(
            name: "MesosSchedulerTests",
            dependencies: [
                "Mesos", "MesosCodecs", "MesosRecordIO", "MesosHTTP", "MesosScheduler",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ]
        ),
        // zlib, for the deterministic .tar.gz of registered directories (apt: zlib1g-dev).
        .systemLibrary(name: "CMesosZlib", path: "Sources/CMesosZlib", providers: [.apt(["zlib1g-dev"])]),
        // The embedded artifact file server: content-addressed URLs, sendfile, ranges, conditional GETs, limits.
        .target(
            name: "MesosArtifacts",
            dependencies: [
                "Mesos",
                "CMesosZlib",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "MesosArtifactsTests",
            dependencies: [
                "MesosTestSupport",
                "Mesos", "MesosArtifacts",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ]
        ),
        // Child processes as Mesos starts them: own process group, clean descriptors and signal mask, reaped off
        // Swift concurrency's threads. Shared by the local agent and the executor.
        .target(name: "MesosProcess"),
        // A local master with agents that run real processes: for demos and integration tests.
        .target(
            name: "MesosLocal",
            dependencies: [
                "Mesos", "MesosCodecs", "MesosRecordIO", "MesosHTTP", "MesosProcess",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "MesosLocalTests",
            dependencies: [
                "Mesos", "MesosCodecs", "MesosRecordIO", "MesosHTTP", "MesosLocal", "MesosProcess",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The v1 Executor API client: environment, subscribe with what is unacknowledged, reliable updates, recovery.
        .target(
            name: "MesosExecutor",
            dependencies: [
                "Mesos", "MesosCodecs", "MesosHTTP", "MesosProcess", "MesosRecordIO",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        // A ready executor that runs each task's command as a child process.
        .executableTarget(
            name: "mesos-swift-executor",
            dependencies: ["Mesos", "MesosExecutor", "MesosProcess", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "MesosExecutorTests",
            dependencies: [
                "MesosTestSupport",
                "Mesos", "MesosExecutor", "MesosLocal", "MesosScheduler", "mesos-swift-executor",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The framework runtime: task specs with artifacts → offers matched, launched, tracked, retried.
        .target(
            name: "MesosLauncher",
            dependencies: [
                "Mesos", "MesosCodecs", "MesosOffers", "MesosArtifacts", "MesosScheduler",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        .testTarget(
            name: "MesosLauncherTests",
            dependencies: [
                "MesosTestSupport",
                "Mesos", "MesosArtifacts", "MesosCodecs", "MesosHTTP", "MesosLauncher", "MesosLocal", "MesosScheduler",
                "MesosOffers",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Run a command, with its local files, on Mesos (or on a local cluster in the same process).
        .executableTarget(
            name: "mesos-submit",
            dependencies: [
                "Mesos", "MesosArtifacts", "MesosCodecs", "MesosHTTP", "MesosOffers", "MesosScheduler", "MesosLauncher",
                "MesosLocal",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // A local Mesos master with agents, as a command.
        .executableTarget(
            name: "mesos-local",
            dependencies: [
                "Mesos", "MesosLocal",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // End-to-end tests across modules: the client against the local cluster and its faults.
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "Mesos", "MesosCodecs", "MesosScheduler", "MesosLocal", "MesosLauncher", "MesosHTTP",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The seeds' examples, each run by ExamplesTests against a local cluster (or MESOS_MASTER).
        .executableTarget(
            name: "example-library-distribution",
            dependencies: ["Mesos", "MesosLauncher", "MesosLocal", "MesosHTTP", .product(name: "NIOCore", package: "swift-nio")],
            path: "Examples/LibraryDistribution"
        ),
        .executableTarget(
            name: "example-web-server",
            dependencies: ["Mesos", "MesosLauncher", "MesosLocal", "MesosHTTP", .product(name: "NIOCore", package: "swift-nio")],
            path: "Examples/WebServer"
        ),
        .executableTarget(
            name: "example-custom-executor",
            dependencies: ["Mesos", "MesosLauncher", "MesosLocal"],
            path: "Examples/CustomExecutor"
        ),
        .testTarget(
            name: "ExamplesTests",
            dependencies: ["MesosTestSupport", "example-library-distribution", "example-web-server", "example-custom-executor", "mesos-swift-executor"]
        ),
        .testTarget(
            name: "MesosRecordIOTests",
            dependencies: ["MesosRecordIO", .product(name: "NIOCore", package: "swift-nio")]
        ),
        // Writes Sources/MesosCodecs/Generated from the schema (`make codecs`).
        .executableTarget(
            name: "mesos-codegen",
            dependencies: [
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "SwiftProtobufPluginLibrary", package: "swift-protobuf"),
            ]
        ),
        .testTarget(
            name: "MesosCodecsTests",
            dependencies: [
                "Mesos", "MesosCodecs", "MesosRecordIO",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
    ]
)

for target in package.targets where target.type != .system {
    var settings = target.swiftSettings ?? []
    settings.append(.swiftLanguageMode(.v6))
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    settings.append(.enableUpcomingFeature("MemberImportVisibility"))
    settings.append(.enableUpcomingFeature("InternalImportsByDefault"))
    settings.append(.enableUpcomingFeature("NonisolatedNonsendingByDefault"))
    target.swiftSettings = settings
}
