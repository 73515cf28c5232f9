import Mesos
import MesosCodecs
import SwiftProtobuf

let protobuf = MessageCodec(.protobuf)

/// The first byte picks the message type; the rest is the binary message. Never a crash; errors are typed; what
/// decodes re-encodes to bytes that decode to the same value.
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
    guard let value = try? protobuf.decode(type, fromBytes: body) else { return }
    guard let encoded = try? protobuf.encode(value) else { preconditionFailure("a decoded message does not encode") }
    guard let again = try? protobuf.decode(type, from: encoded) else { preconditionFailure("our own bytes do not decode") }
    precondition(again.isEqualTo(message: value), "protobuf round trip changed the value")
    // JSON of anything decoded must be readable by the Mesos reader.
    if let json = try? MessageCodec(.json).encode(value) {
        precondition((try? MessageCodec(.json, jsonReading: .exactlyAsMesos).decode(type, from: json)) != nil,
                     "our JSON for a decoded message is refused")
    }
}
