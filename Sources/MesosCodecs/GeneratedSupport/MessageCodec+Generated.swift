import FoundationEssentials
internal import Mesos
public import SwiftProtobuf
internal import NIOCore

extension MessageCodec {
    /// The generated decoder's value for `bytes`, or nil when `M` is not covered or the input is not a valid
    /// message (the reference then decodes it, to give its value or its error).
    @inline(__always)
    static func decodeGenerated<M: SwiftProtobuf.Message>(
        _: M.Type,
        _ contentType: ContentType,
        _ bytes: UnsafeRawBufferPointer
    ) -> M? {
        // The event types first, by identity: no conformance lookup on the hot path.
        if M.self == Mesos_V1_Scheduler_Event.self {
            return Self.decode(Mesos_V1_Scheduler_Event.self, contentType, bytes).map { unsafeBitCast($0, to: M.self) }
        }
        if M.self == Mesos_V1_Executor_Event.self {
            return Self.decode(Mesos_V1_Executor_Event.self, contentType, bytes).map { unsafeBitCast($0, to: M.self) }
        }
        guard let covered = M.self as? any GeneratedCodable.Type else { return nil }
        return Self.decode(covered, contentType, bytes) as? M
    }

    /// The scheduler or executor event in the readable bytes of `buffer`: the generated decoder's value, or, for
    /// input it refuses, the reference's value or error. Concrete, so nothing is looked up at run time.
    func decodeEvent<G: GeneratedCodable & SwiftProtobuf.Message>(_: G.Type, _ buffer: ByteBuffer) throws(MesosCodecError) -> G {
        let contentType = self.contentType
        let result: Result<G, MesosCodecError> = buffer.withUnsafeReadableBytes { bytes in
            if let event = Self.decode(G.self, contentType, bytes) { return .success(event) }
            return Result { () throws(MesosCodecError) in try self.decodeReference(G.self, fromBytes: bytes) }
        }
        return try result.get()
    }

    @inline(__always)
    static func decode<G: GeneratedCodable>(_: G.Type, _ contentType: ContentType, _ bytes: UnsafeRawBufferPointer) -> G? {
        switch contentType {
        case .json: try? G.generatedDecodeJSON(bytes)
        case .protobuf: try? G.generatedDecodeBinary(bytes)
        }
    }

    /// The generated encoder's bytes, or nil when the type is not covered or a required field is missing (the
    /// reference then says which).
    static func encodeGenerated<M: SwiftProtobuf.Message>(_ message: M, _ contentType: ContentType) -> [UInt8]? {
        // The call types first, by identity: no existential box, no conformance lookup.
        if M.self == Mesos_V1_Scheduler_Call.self {
            return Self.encode(unsafeBitCast(message, to: Mesos_V1_Scheduler_Call.self), contentType)
        }
        if M.self == Mesos_V1_Executor_Call.self {
            return Self.encode(unsafeBitCast(message, to: Mesos_V1_Executor_Call.self), contentType)
        }
        guard let covered = message as? any GeneratedCodable else { return nil }
        return Self.encode(covered, contentType)
    }

    private static func encode<G: GeneratedCodable>(_ message: G, _ contentType: ContentType) -> [UInt8]? {
        switch contentType {
        case .json: return G.generatedEncodeJSON(message)
        case .protobuf: return G.generatedEncodeBinary(message)
        }
    }
}

/// The generated decoders alone, without the reference behind them: for the differential fuzz targets and tests,
/// which compare the two. nil means "not a valid message" (or a type the generated codecs do not cover).
@_spi(Testing)
public enum GeneratedCodecs {
    public static func decode<M: SwiftProtobuf.Message>(_ type: M.Type, _ contentType: ContentType, _ bytes: UnsafeRawBufferPointer) -> M? {
        MessageCodec.decodeGenerated(type, contentType, bytes)
    }

    public static func encode<M: SwiftProtobuf.Message>(_ message: M, _ contentType: ContentType) -> [UInt8]? {
        MessageCodec.encodeGenerated(message, contentType)
    }

    /// Whether the generated codecs cover `type`.
    public static func covers(_ type: any SwiftProtobuf.Message.Type) -> Bool { type is any GeneratedCodable.Type }
}
