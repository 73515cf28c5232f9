// swift-tools-version:6.2
// libFuzzer targets. Build and run with `make fuzz` (FuzzTesting/run.sh), which passes -sanitize=fuzzer,address.
import Foundation
import PackageDescription

// A path dependency is identified by its folder's name, which is whatever the clone was called.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

let dependencies: [Target.Dependency] = [
    .product(name: "Mesos", package: root),
    .product(name: "MesosCodecs", package: root),
    .product(name: "MesosRecordIO", package: root),
    .product(name: "NIOCore", package: "swift-nio"),
    .product(name: "SwiftProtobuf", package: "swift-protobuf"),
]

let package = Package(
    name: "swift-mesos-fuzzing",
    dependencies: [
        .package(path: "../"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-protobuf.git", exact: "1.39.0"),
    ],
    targets: [
        // RecordIO framing: any split of the same bytes gives the same records or the same error.
        .executableTarget(name: "FuzzRecordIO", dependencies: dependencies, swiftSettings: [.swiftLanguageMode(.v6)]),
        // JSON events and calls: the fast and the Mesos readers agree; what decodes, round-trips.
        .executableTarget(name: "FuzzJSON", dependencies: dependencies, swiftSettings: [.swiftLanguageMode(.v6)]),
        // Protobuf events and calls: what decodes, re-encodes to bytes that decode to the same value.
        .executableTarget(name: "FuzzProtobuf", dependencies: dependencies, swiftSettings: [.swiftLanguageMode(.v6)]),
    ]
)
