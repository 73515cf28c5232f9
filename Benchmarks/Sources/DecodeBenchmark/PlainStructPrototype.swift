// A measurement, not a product: what swift-protobuf's storage classes cost the protobuf decode.
//
// `DecodeBenchmark plain <corpus-name> <corpus-file>` decodes the UPDATE events of the peers' updates corpus in
// alternating rounds: into swift-protobuf's generated structs with the generated decoder (MessageCodec, as the
// clients do), and into plain value types of our own below (no copy-on-write storage objects, no uniqueness checks,
// fields set in place), read by the same kind of reader: one switch on the whole tag, strings checked as UTF-8 and
// copied, bytes copied into `Data`. Both decode every field these events carry into typed values; the prototype's
// reader covers only those fields (anything else throws), while its types hold every field of their messages (see
// below). Two more rounds use the same plain types with strings and bytes held otherwise:
//   - shared: strings through the generated decoders' per-thread cache (StringInterner), as theirs go;
//   - views: strings and bytes as offsets into the record, which the event keeps (one retain of the stream's buffer
//     per event, no copy); every string is still checked as UTF-8 while decoding, so only making a `String` is left
//     to whoever reads it.
// It prints
//   bench=decode-plain-prototype corpus=<name> events=<n> generated_events_per_s=<g> plain_events_per_s=<p> ratio=<p/g>
//     plain_shared_strings_events_per_s=<s> shared_ratio=<s/g> plain_views_events_per_s=<v> views_ratio=<v/g>
//     plain_event_bytes=<size of the plain event> plain_task_status_bytes=<size of the plain TaskStatus>
// (best of five rounds each).
import Foundation
import Mesos
@_spi(Benchmarks) import MesosCodecs
import MesosRecordIO
import NIOCore

struct PlainUnsupported: Error {}

/// How the plain types hold strings and bytes (`String`/`Data`, or offsets into the record).
protocol PlainText {
    associatedtype Bytes
    /// Whether the values point into the record, which the event must then keep.
    static var pointsIntoRecord: Bool { get }
    static func string(
        _ base: UnsafeRawPointer, _ start: Int, _ end: Int, _ interner: StringInterner?
    ) throws(PlainUnsupported) -> Self
    static func bytes(_ base: UnsafeRawPointer, _ start: Int, _ end: Int) -> Bytes
}

extension String: PlainText {
    static var pointsIntoRecord: Bool { false }

    @inline(__always)
    static func string(
        _ base: UnsafeRawPointer, _ start: Int, _ end: Int, _ interner: StringInterner?
    ) throws(PlainUnsupported) -> String {
        let bytes = UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt8.self) + start, count: end - start)
        if let interner {
            guard let string = interner.table.string(bytes) else { throw PlainUnsupported() }
            return string
        }
        // As the generated decoder makes a string it has not seen: the project's check, then a specialized copy.
        guard UTF8Check.isValid(bytes) else { throw PlainUnsupported() }
        return String(decoding: bytes, as: UTF8.self)
    }

    @inline(__always) static func bytes(_ base: UnsafeRawPointer, _ start: Int, _ end: Int) -> Data {
        Data(bytes: base + start, count: end - start)
    }
}

/// A checked UTF-8 string or a bytes field left where it is in the record: its offsets.
struct PlainView: PlainText {
    var start: Int32
    var end: Int32

    static var pointsIntoRecord: Bool { true }

    @inline(__always)
    static func string(
        _ base: UnsafeRawPointer, _ start: Int, _ end: Int, _ interner: StringInterner?
    ) throws(PlainUnsupported) -> PlainView {
        let bytes = UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt8.self) + start, count: end - start)
        guard UTF8Check.isValid(bytes) else { throw PlainUnsupported() }
        return PlainView(start: Int32(start), end: Int32(end))
    }

    @inline(__always) static func bytes(_ base: UnsafeRawPointer, _ start: Int, _ end: Int) -> PlainView {
        PlainView(start: Int32(start), end: Int32(end))
    }
}

// Every field of the messages an UPDATE carries is here, not only those the corpus sets, with their unknown fields
// (a `Data`, empty unless set): own types would have them all, and what they cost (a larger value to initialize,
// move and destroy) belongs in the measurement. Fields outside the UPDATE path keep swift-protobuf's types, which
// gives them a realistic size; a recursive field (ContainerID.parent) is boxed, as it would have to be.
final class PlainBox<Value> {
    var value: Value
    init(_ value: Value) { self.value = value }
}
struct PlainContainerID<T: PlainText> {
    var value: T? = nil
    var parent: PlainBox<PlainContainerID<T>>? = nil
    var unknownFields = Data()
}
struct PlainIPAddress<T: PlainText> {
    var `protocol`: Int32? = nil
    var ipAddress: T? = nil
    var unknownFields = Data()
}
struct PlainNetworkInfo<T: PlainText> {
    var ipAddresses: [PlainIPAddress<T>] = []
    var name: T? = nil
    var groups: [T] = []
    var labels: Mesos_V1_Labels? = nil
    var portMappings: [Mesos_V1_NetworkInfo.PortMapping] = []
    var unknownFields = Data()
}
struct PlainContainerStatus<T: PlainText> {
    var containerID: PlainContainerID<T>? = nil
    var networkInfos: [PlainNetworkInfo<T>] = []
    var cgroupInfo: Mesos_V1_CgroupInfo? = nil
    var executorPid: UInt32? = nil
    var unknownFields = Data()
}
struct PlainTaskStatus<T: PlainText> {
    var taskID = PlainContainerID<T>()
    var state: Mesos_V1_TaskState = .taskStaging
    var message: T? = nil
    var source: Mesos_V1_TaskStatus.Source? = nil
    var reason: Mesos_V1_TaskStatus.Reason? = nil
    var data: T.Bytes? = nil
    var agentID: PlainContainerID<T>? = nil
    var executorID: PlainContainerID<T>? = nil
    var timestamp: Double? = nil
    var uuid: T.Bytes? = nil
    var healthy: Bool? = nil
    var checkStatus: Mesos_V1_CheckStatusInfo? = nil
    var labels: Mesos_V1_Labels? = nil
    var containerStatus: PlainContainerStatus<T>? = nil
    var unreachableTime: Mesos_V1_TimeInfo? = nil
    var limitation: Mesos_V1_TaskResourceLimitation? = nil
    var unknownFields = Data()
}
struct PlainEvent<T: PlainText> {
    var type: SchedulerEvent.TypeEnum? = nil
    var subscribed: SchedulerEvent.Subscribed? = nil
    var offers: SchedulerEvent.Offers? = nil
    var inverseOffers: SchedulerEvent.InverseOffers? = nil
    var rescind: SchedulerEvent.Rescind? = nil
    var rescindInverseOffer: SchedulerEvent.RescindInverseOffer? = nil
    /// Event.update, whose only field is its status: boxed (one allocation when set), as own types would box a
    /// large message so that the event stays small to initialize, move and destroy.
    var status: PlainBox<PlainTaskStatus<T>>? = nil
    var updateOperationStatus: SchedulerEvent.UpdateOperationStatus? = nil
    var message: SchedulerEvent.Message? = nil
    var failure: SchedulerEvent.Failure? = nil
    var error: SchedulerEvent.Error? = nil
    var unknownFields = Data()
    /// The record, for views into it (nil when strings and bytes were copied out).
    var record: ByteBuffer? = nil
}

struct PlainReader<T: PlainText> {
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

    @inline(__always) mutating func string() throws(PlainUnsupported) -> T {
        let body = try self.sub()
        return try T.string(self.base, body.index, body.end, self.interner)
    }

    @inline(__always) mutating func bytes() throws(PlainUnsupported) -> T.Bytes {
        let body = try self.sub()
        return T.bytes(self.base, body.index, body.end)
    }

    @inline(__always) mutating func double() throws(PlainUnsupported) -> Double {
        guard self.end - self.index >= 8 else { throw PlainUnsupported() }
        defer { self.index += 8 }
        return Double(bitPattern: UInt64(littleEndian: self.base.loadUnaligned(fromByteOffset: self.index, as: UInt64.self)))
    }

    mutating func id() throws(PlainUnsupported) -> PlainContainerID<T> {
        var body = try self.sub()
        var id = PlainContainerID<T>()
        while body.hasMore {
            switch try body.varint() {
            case 10: id.value = try body.string()
            default: throw PlainUnsupported()
            }
        }
        return id
    }

    mutating func containerStatus() throws(PlainUnsupported) -> PlainContainerStatus<T> {
        var body = try self.sub()
        var status = PlainContainerStatus<T>()
        while body.hasMore {
            switch try body.varint() {
            case 34: status.containerID = try body.id()
            case 24: status.executorPid = UInt32(truncatingIfNeeded: try body.varint())
            case 10:
                var info = try body.sub()
                var network = PlainNetworkInfo<T>()
                while info.hasMore {
                    switch try info.varint() {
                    case 42:
                        var entry = try info.sub()
                        var address = PlainIPAddress<T>()
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

    mutating func taskStatus() throws(PlainUnsupported) -> PlainTaskStatus<T> {
        var body = try self.sub()
        var status = PlainTaskStatus<T>()
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

    mutating func event() throws(PlainUnsupported) -> PlainEvent<T> {
        var event = PlainEvent<T>()
        while self.hasMore {
            switch try self.varint() {
            case 8:
                guard let type = SchedulerEvent.TypeEnum(rawValue: Int(try self.varint())) else { throw PlainUnsupported() }
                event.type = type
            case 42:
                var update = try self.sub()
                while update.hasMore {
                    switch try update.varint() {
                    case 10: event.status = PlainBox(try update.taskStatus())
                    default: throw PlainUnsupported()
                    }
                }
            default: throw PlainUnsupported()
            }
        }
        return event
    }
}

/// Decodes every record of `pieces` but the first (SUBSCRIBED; the prototype reads UPDATE events only); returns
/// events per second. `body` sees each record.
func plainRound(_ pieces: [ByteBuffer], _ body: (ByteBuffer) throws -> Int) throws -> (Double, Int) {
    let clock = ContinuousClock()
    var framing = RecordIODecoder()
    var count = -1
    var check = 0
    let start = clock.now
    for piece in pieces {
        var input = piece
        while let record = try framing.decode(buffer: &input) {
            count += 1
            if count > 0 { check &+= try body(record) }
        }
    }
    let elapsed = clock.now - start
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    if check == 42 { print("") }  // keeps the results alive
    return (Double(count) / seconds, count)
}

/// One plain round with strings and bytes held as `T` says.
func plainRound<T: PlainText>(_ pieces: [ByteBuffer], _: T.Type, interner: StringInterner?) throws -> Double {
    try plainRound(pieces) { record in
        var event = try record.withUnsafeReadableBytes { bytes throws -> PlainEvent<T> in
            var reader = PlainReader<T>(base: bytes.baseAddress!, index: 0, end: bytes.count, interner: interner)
            return try reader.event()
        }
        if T.pointsIntoRecord { event.record = record }
        let state = event.status?.value.state.rawValue ?? 0
        return state &+ (event.status?.value.uuid != nil ? 1 : 0) &+ (event.record == nil ? 0 : 1)
    }.0
}

func plainPrototypeBenchmark(corpus: String, path: String) throws {
    let (pieces, _) = corpusPieces(path)
    let codec = MessageCodec(.protobuf)
    var generated = 0.0
    var plain = 0.0
    var plainShared = 0.0
    var plainViews = 0.0
    var events = 0
    for _ in 0..<5 {
        let (g, n) = try plainRound(pieces) { record in
            let event = try codec.decode(SchedulerEvent.self, from: record)
            return event.update.status.state.rawValue &+ (event.update.status.hasUuid ? 1 : 0)
        }
        generated = max(generated, g)
        events = n
        plain = max(plain, try plainRound(pieces, String.self, interner: nil))
        plainShared = max(plainShared, try plainRound(pieces, String.self, interner: StringInterner.current))
        plainViews = max(plainViews, try plainRound(pieces, PlainView.self, interner: nil))
    }
    print(
        "bench=decode-plain-prototype corpus=\(corpus) events=\(events) generated_events_per_s=\(Int(generated))"
            + " plain_events_per_s=\(Int(plain)) ratio=\(format(plain / generated, 2))"
            + " plain_shared_strings_events_per_s=\(Int(plainShared))"
            + " shared_ratio=\(format(plainShared / generated, 2))"
            + " plain_views_events_per_s=\(Int(plainViews)) views_ratio=\(format(plainViews / generated, 2))"
            + " plain_event_bytes=\(MemoryLayout<PlainEvent<String>>.size)"
            + " plain_task_status_bytes=\(MemoryLayout<PlainTaskStatus<String>>.size)"
    )
}
