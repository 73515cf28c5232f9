// A measurement, not a product: what swift-protobuf's storage classes cost the protobuf decode.
//
// `DecodeBenchmark plain <corpus-name> <corpus-file>` decodes the UPDATE events of the peers' updates corpus twice,
// alternating rounds: into swift-protobuf's generated structs with the generated decoder (MessageCodec, as the
// clients do), and into plain value types of our own below (no copy-on-write storage objects, no uniqueness checks,
// fields set in place), read by the same kind of reader: one switch on the whole tag, strings checked as UTF-8 and
// copied, bytes copied into `Data`. Both decode every field these events carry into typed values; the prototype
// covers only those fields (anything else throws). A third round decodes into the plain types with strings shared
// through the generated decoders' per-thread cache (StringInterner), as the generated decoder does. It prints
//   bench=decode-plain-prototype corpus=<name> events=<n> generated_events_per_s=<g> plain_events_per_s=<p> ratio=<p/g>
//     plain_shared_strings_events_per_s=<s> shared_ratio=<s/g>
// (best of five rounds each).
import Foundation
import Mesos
@_spi(Benchmarks) import MesosCodecs
import MesosRecordIO
import NIOCore

struct PlainUnsupported: Error {}

struct PlainContainerID { var value = "" }
struct PlainIPAddress {
    var `protocol`: Int32? = nil
    var ipAddress: String? = nil
}
struct PlainNetworkInfo { var ipAddresses: [PlainIPAddress] = [] }
struct PlainContainerStatus {
    var containerID: PlainContainerID? = nil
    var networkInfos: [PlainNetworkInfo] = []
    var executorPid: UInt32? = nil
}
struct PlainTaskStatus {
    var taskID = PlainContainerID()
    var state: Mesos_V1_TaskState = .taskStaging
    var message: String? = nil
    var source: Mesos_V1_TaskStatus.Source? = nil
    var reason: Mesos_V1_TaskStatus.Reason? = nil
    var agentID: PlainContainerID? = nil
    var executorID: PlainContainerID? = nil
    var timestamp: Double? = nil
    var uuid: Data? = nil
    var healthy: Bool? = nil
    var containerStatus: PlainContainerStatus? = nil
}
struct PlainEvent {
    var type: SchedulerEvent.TypeEnum? = nil
    var status: PlainTaskStatus? = nil
}

struct PlainReader {
    let base: UnsafeRawPointer
    var index: Int
    let end: Int
    /// Set: strings go through the generated decoders' per-thread cache of recent strings, as theirs do.
    var interner: StringInterner? = nil

    @inline(__always) var hasMore: Bool { self.index < self.end }

    @inline(__always) mutating func varint() throws(PlainUnsupported) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard self.index < self.end, shift <= 63 else { throw PlainUnsupported() }
            let byte = self.base.load(fromByteOffset: self.index, as: UInt8.self)
            self.index += 1
            value |= UInt64(byte & 0x7F) &<< shift
            if byte < 0x80 { return value }
            shift += 7
        }
    }

    @inline(__always) mutating func sub() throws(PlainUnsupported) -> PlainReader {
        let length = Int(try self.varint())
        guard length <= self.end - self.index else { throw PlainUnsupported() }
        defer { self.index += length }
        return PlainReader(base: self.base, index: self.index, end: self.index + length, interner: self.interner)
    }

    @inline(__always) mutating func string() throws(PlainUnsupported) -> String {
        let body = try self.sub()
        let bytes = UnsafeBufferPointer(start: body.base.assumingMemoryBound(to: UInt8.self) + body.index, count: body.end - body.index)
        if let interner = self.interner {
            guard let string = interner.string(bytes) else { throw PlainUnsupported() }
            return string
        }
        guard let string = String(validating: bytes, as: UTF8.self) else { throw PlainUnsupported() }
        return string
    }

    @inline(__always) mutating func bytes() throws(PlainUnsupported) -> Data {
        let body = try self.sub()
        return Data(bytes: body.base + body.index, count: body.end - body.index)
    }

    @inline(__always) mutating func double() throws(PlainUnsupported) -> Double {
        guard self.end - self.index >= 8 else { throw PlainUnsupported() }
        defer { self.index += 8 }
        return Double(bitPattern: UInt64(littleEndian: self.base.loadUnaligned(fromByteOffset: self.index, as: UInt64.self)))
    }

    mutating func id() throws(PlainUnsupported) -> PlainContainerID {
        var body = try self.sub()
        var id = PlainContainerID()
        while body.hasMore {
            switch try body.varint() {
            case 10: id.value = try body.string()
            default: throw PlainUnsupported()
            }
        }
        return id
    }

    mutating func containerStatus() throws(PlainUnsupported) -> PlainContainerStatus {
        var body = try self.sub()
        var status = PlainContainerStatus()
        while body.hasMore {
            switch try body.varint() {
            case 34: status.containerID = try body.id()
            case 24: status.executorPid = UInt32(truncatingIfNeeded: try body.varint())
            case 10:
                var info = try body.sub()
                var network = PlainNetworkInfo()
                while info.hasMore {
                    switch try info.varint() {
                    case 42:
                        var entry = try info.sub()
                        var address = PlainIPAddress()
                        while entry.hasMore {
                            switch try entry.varint() {
                            case 8: address.protocol = Int32(truncatingIfNeeded: try entry.varint())
                            case 18: address.ipAddress = try entry.string()
                            default: throw PlainUnsupported()
                            }
                        }
                        network.ipAddresses.append(address)
                    default: throw PlainUnsupported()
                    }
                }
                status.networkInfos.append(network)
            default: throw PlainUnsupported()
            }
        }
        return status
    }

    mutating func taskStatus() throws(PlainUnsupported) -> PlainTaskStatus {
        var body = try self.sub()
        var status = PlainTaskStatus()
        while body.hasMore {
            switch try body.varint() {
            case 10: status.taskID = try body.id()
            case 16:
                guard let state = Mesos_V1_TaskState(rawValue: Int(try body.varint())) else { throw PlainUnsupported() }
                status.state = state
            case 34: status.message = try body.string()
            case 42: status.agentID = try body.id()
            case 49: status.timestamp = try body.double()
            case 58: status.executorID = try body.id()
            case 64: status.healthy = try body.varint() != 0
            case 72:
                guard let source = Mesos_V1_TaskStatus.Source(rawValue: Int(try body.varint())) else { throw PlainUnsupported() }
                status.source = source
            case 80:
                guard let reason = Mesos_V1_TaskStatus.Reason(rawValue: Int(try body.varint())) else { throw PlainUnsupported() }
                status.reason = reason
            case 90: status.uuid = try body.bytes()
            case 106: status.containerStatus = try body.containerStatus()
            default: throw PlainUnsupported()
            }
        }
        return status
    }

    mutating func event() throws(PlainUnsupported) -> PlainEvent {
        var event = PlainEvent()
        while self.hasMore {
            switch try self.varint() {
            case 8:
                guard let type = SchedulerEvent.TypeEnum(rawValue: Int(try self.varint())) else { throw PlainUnsupported() }
                event.type = type
            case 42:
                var update = try self.sub()
                while update.hasMore {
                    switch try update.varint() {
                    case 10: event.status = try update.taskStatus()
                    default: throw PlainUnsupported()
                    }
                }
            default: throw PlainUnsupported()
            }
        }
        return event
    }
}

/// Decodes every record of `stream`; returns events per second. `body` sees each record's bytes.
func plainRound(_ stream: ByteBuffer, _ body: (ByteBuffer) throws -> Int) throws -> (Double, Int) {
    let clock = ContinuousClock()
    var input = stream
    var framing = RecordIODecoder()
    var count = 0
    var check = 0
    let start = clock.now
    while let record = try framing.decode(buffer: &input) {
        check &+= try body(record)
        count += 1
    }
    let elapsed = clock.now - start
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    if check == 42 { print("") }  // keeps the results alive
    return (Double(count) / seconds, count)
}

func plainPrototypeBenchmark(corpus: String, path: String) throws {
    guard let data = FileManager.default.contents(atPath: path) else { fail("cannot read \(path)") }
    var stream = ByteBuffer(bytes: data)
    // The corpus starts with SUBSCRIBED; the prototype reads UPDATE events only.
    var framing = RecordIODecoder()
    _ = try framing.decode(buffer: &stream)
    let codec = MessageCodec(.protobuf)
    var generated = 0.0
    var plain = 0.0
    var plainShared = 0.0
    var events = 0
    for _ in 0..<5 {
        let (g, n) = try plainRound(stream) { record in
            let event = try codec.decode(SchedulerEvent.self, from: record)
            return event.update.status.state.rawValue &+ (event.update.status.hasUuid ? 1 : 0)
        }
        generated = max(generated, g)
        events = n
        for shared in [false, true] {
            let interner = shared ? StringInterner.current : nil
            let (p, _) = try plainRound(stream) { record in
                try record.withUnsafeReadableBytes { bytes throws -> Int in
                    var reader = PlainReader(base: bytes.baseAddress!, index: 0, end: bytes.count, interner: interner)
                    let event = try reader.event()
                    return (event.status?.state.rawValue ?? 0) &+ (event.status?.uuid != nil ? 1 : 0)
                }
            }
            if shared { plainShared = max(plainShared, p) } else { plain = max(plain, p) }
        }
    }
    print(
        "bench=decode-plain-prototype corpus=\(corpus) events=\(events) generated_events_per_s=\(Int(generated))"
            + " plain_events_per_s=\(Int(plain)) ratio=\(format(plain / generated, 2))"
            + " plain_shared_strings_events_per_s=\(Int(plainShared)) shared_ratio=\(format(plainShared / generated, 2))"
    )
}
