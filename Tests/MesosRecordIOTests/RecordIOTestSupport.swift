import Foundation
import MesosRecordIO
import NIOCore

enum RecordIOTestSupport {
    static func frame(_ records: [[UInt8]]) -> [UInt8] {
        var out: [UInt8] = []
        for record in records {
            out += Array("\(record.count)\n".utf8)
            out += record
        }
        return out
    }

    static func chunk(_ bytes: [UInt8], by size: Int) -> [[UInt8]] {
        stride(from: 0, to: bytes.count, by: min(size, max(bytes.count, 1))).map {
            Array(bytes[$0..<min(bytes.count, $0 &+ size)])
        }
    }

    /// Feeds the chunks one by one, as a network would deliver them, and collects the records.
    static func decode(_ chunks: [[UInt8]], maximumRecordSize: Int = 1 << 20) throws -> [[UInt8]] {
        let processor = NIOSingleStepByteToMessageProcessor(RecordIODecoder(maximumRecordSize: maximumRecordSize))
        var records: [[UInt8]] = []
        for chunk in chunks {
            try processor.process(buffer: ByteBuffer(bytes: chunk)) { records.append(Array($0.readableBytesView)) }
        }
        try processor.finishProcessing(seenEOF: true) { records.append(Array($0.readableBytesView)) }
        return records
    }

    /// The same through ``RecordIOChunks``, as the scheduler and executor clients read their streams (no end-of-stream
    /// check: a stream that ends inside a record just yields no more).
    static func decodeChunked(_ chunks: [[UInt8]], maximumRecordSize: Int = 1 << 20) throws -> [[UInt8]] {
        var decoder = RecordIODecoder(maximumRecordSize: maximumRecordSize)
        var stream = RecordIOChunks()
        var records: [[UInt8]] = []
        for chunk in chunks {
            var buffer = ByteBuffer(bytes: chunk)
            stream.append(&buffer)
            while let record = try decoder.decode(chunks: &stream) { records.append(Array(record.readableBytesView)) }
        }
        return records
    }

    static func fixture(_ path: String) throws -> [UInt8] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return Array(try Data(contentsOf: root.appendingPathComponent("Fixtures").appendingPathComponent(path)))
    }
}

/// A small seeded generator, so a failing random split can be replayed.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { self.state = seed }
    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
