// swift-tools-version:6.2
import PackageDescription

let package = Package(
    name: "swift-mesos",
    products: [
        .library(name: "Mesos", targets: ["Mesos"]),
        .library(name: "MesosRecordIO", targets: ["MesosRecordIO"]),
        .library(name: "MesosCodecs", targets: ["MesosCodecs"]),
        .library(name: "MesosOffers", targets: ["MesosOffers"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-protobuf.git", exact: "1.39.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
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
        .testTarget(
            name: "MesosOffersTests",
            dependencies: [
                "Mesos", "MesosOffers",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(
            name: "MesosRecordIOTests",
            dependencies: ["MesosRecordIO", .product(name: "NIOCore", package: "swift-nio")]
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

for target in package.targets {
    var settings = target.swiftSettings ?? []
    settings.append(.swiftLanguageMode(.v6))
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    settings.append(.enableUpcomingFeature("MemberImportVisibility"))
    settings.append(.enableUpcomingFeature("InternalImportsByDefault"))
    settings.append(.enableUpcomingFeature("NonisolatedNonsendingByDefault"))
    target.swiftSettings = settings
}
