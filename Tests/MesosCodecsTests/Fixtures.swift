import Foundation
import MesosCodecs
import MesosRecordIO
import NIOCore
import Testing

/// The traffic recorded from a real Apache Mesos 1.11 master and agent, under Fixtures/mesos-1.11.
enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/mesos-1.11")

    static func bytes(_ path: String) throws -> [UInt8] {
        Array(try Data(contentsOf: root.appendingPathComponent(path)))
    }

    static func text(_ path: String) throws -> String {
        String(decoding: try bytes(path), as: UTF8.self)
    }

    /// One JSON document per line.
    static func lines(_ path: String) throws -> [[UInt8]] {
        try bytes(path).split(separator: UInt8(ascii: "\n")).map(Array.init)
    }

    /// A recorded exchange: the request sent and the master's answer.
    struct Exchange: @unchecked Sendable, CustomTestStringConvertible {
        var name: String
        var status: Int?
        var requestBody: String?
        var textFormat: String?
        var contentType: String?
        var responseBody: String
        var testDescription: String { self.name }
    }

    static func exchanges(_ path: String) throws -> [Exchange] {
        let list = try JSONSerialization.jsonObject(with: Data(bytes(path))) as? [[String: Any]] ?? []
        return list.map { entry in
            let request = entry["request"] as? [String: Any] ?? [:]
            let headers = request["headers"] as? [String: String] ?? [:]
            return Exchange(
                name: entry["name"] as? String ?? "?",
                status: entry["status"] as? Int,
                requestBody: request["body"] as? String,
                textFormat: request["text_format"] as? String,
                contentType: headers["Content-Type"],
                responseBody: entry["body"] as? String ?? ""
            )
        }
    }

    /// Splits a RecordIO stream (the whole file) into records.
    static func records(_ path: String) throws -> [[UInt8]] {
        try RecordIODecoder.records(in: ByteBuffer(bytes: bytes(path))).map { Array($0.readableBytesView) }
    }
}
