import Mesos
import MesosCodecs
import SwiftProtobuf

let fast = MessageCodec(.json)
let strict = MessageCodec(.json, jsonReading: .exactlyAsMesos)

/// The first byte picks the message type; the rest is the JSON. Never a crash; errors are typed; the two readers
/// agree on what the master accepts; what decodes re-encodes to JSON that decodes to the same value.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count > 0 else { return 0 }
    let bytes = UnsafeRawBufferPointer(start: start, count: count)
    let body = UnsafeRawBufferPointer(rebasing: bytes.dropFirst())
    switch bytes[0] % 4 {
    case 0: check(SchedulerEvent.self, body)
    case 1: check(SchedulerCall.self, body)
    case 2: check(ExecutorEvent.self, body)
    default: check(ExecutorCall.self, body)
    }
    return 0
}

func check<M: SwiftProtobuf.Message>(_ type: M.Type, _ body: UnsafeRawBufferPointer) {
    let strictResult = Result { () throws(MesosCodecError) in try strict.decode(type, fromBytes: body) }
    let fastResult = Result { () throws(MesosCodecError) in try fast.decode(type, fromBytes: body) }
    if case .success(let value) = strictResult {
        guard case .success(let other) = fastResult else {
            preconditionFailure("the Mesos reader accepts what the fast reader refuses")
        }
        precondition(value.isEqualTo(message: other), "the two readers decode different values")
    }
    if case .success(let value) = fastResult {
        guard let encoded = try? fast.encode(value) else { preconditionFailure("a decoded message does not encode") }
        guard let again = try? strict.decode(type, from: encoded) else {
            preconditionFailure("our own JSON is refused by the Mesos reader")
        }
        precondition(again.isEqualTo(message: value.withoutUnknownFields), "JSON round trip changed the value")
    }
}

extension SwiftProtobuf.Message {
    /// JSON carries no unknown fields; compare without them.
    var withoutUnknownFields: Self {
        guard let bytes: [UInt8] = try? self.serializedBytes(partial: true),
            var copy = try? Self(serializedBytes: bytes, partial: true, options: { var o = BinaryDecodingOptions(); o.discardUnknownFields = true; return o }())
        else { return self }
        copy.unknownFields = UnknownStorage()
        return copy
    }
}
