import Mesos
@_spi(Testing) import MesosCodecs
import SwiftProtobuf

/// The reference: swift-protobuf behind the Mesos reader, exactly as the master reads.
let strict = MessageCodec(.json, jsonReading: .exactlyAsMesos, implementation: .reference)
/// The reference's lenient mode: swift-protobuf first, then the Mesos reader.
let lenient = MessageCodec(.json, implementation: .reference)
/// What users get: the generated decoder, the reference behind it for errors.
let generatedStrict = MessageCodec(.json, jsonReading: .exactlyAsMesos)

/// The first byte picks the message type; the rest is the JSON. Never a crash; errors are typed; the generated
/// decoder gives the reference's value or fails where it fails; MessageCodec's errors are the reference's; the
/// lenient reader takes all the master takes; what decodes re-encodes (generated encoders, both content types) to
/// bytes the reference decodes to the same value.
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

func check<M: SwiftProtobuf.Message & Equatable>(_ type: M.Type, _ body: UnsafeRawBufferPointer) {
    let reference = Result { () throws(MesosCodecError) in try strict.decode(type, fromBytes: body) }
    let generated = GeneratedCodecs.decode(type, .json, body)
    switch (reference, generated) {
    case (.success(let expected), .some(let actual)):
        precondition(actual == expected, "the generated JSON decoder and the reference decode different values")
    case (.failure(let error), nil):
        let viaCodec = Result { () throws(MesosCodecError) in try generatedStrict.decode(type, fromBytes: body) }
        guard case .failure(let codecError) = viaCodec else { preconditionFailure("MessageCodec accepts what the reference refuses") }
        precondition(codecError.code == error.code && codecError.fields == error.fields, "MessageCodec's error is not the reference's")
    case (.success, nil):
        preconditionFailure("the generated JSON decoder refuses what the reference accepts")
    case (.failure, .some):
        preconditionFailure("the generated JSON decoder accepts what the reference refuses")
    }
    if case .success(let value) = reference {
        let lenientValue = try? lenient.decode(type, fromBytes: body)
        precondition(lenientValue != nil, "the lenient reader refuses what the Mesos reader accepts")
        guard let json = GeneratedCodecs.encode(value, .json) else { preconditionFailure("a decoded message does not encode (JSON)") }
        guard let again = try? strict.decode(type, from: json) else { preconditionFailure("the generated JSON is refused by the Mesos reader") }
        precondition(again == value.withoutUnknownFields, "JSON round trip changed the value")
        guard let binary = GeneratedCodecs.encode(value, .protobuf) else { preconditionFailure("a decoded message does not encode (protobuf)") }
        guard let back = try? MessageCodec(.protobuf, implementation: .reference).decode(type, from: binary) else {
            preconditionFailure("the generated protobuf is refused by the reference")
        }
        precondition(back == value, "protobuf round trip changed the value")
    }
}

extension SwiftProtobuf.Message {
    /// JSON carries no unknown fields; compare without them.
    var withoutUnknownFields: Self {
        var options = BinaryDecodingOptions()
        options.discardUnknownFields = true
        guard let bytes: [UInt8] = try? self.serializedBytes(partial: true),
            let copy = try? Self(serializedBytes: bytes, partial: true, options: options)
        else { return self }
        return copy
    }
}
