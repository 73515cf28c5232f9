public import NIOCore
internal import Mesos
public import SwiftProtobuf

/// Turns Mesos messages into bytes of one content type and back.
///
/// **JSON** follows the conventions of the JSON Mesos writes and reads (stout): proto field names in snake_case,
/// enums by name, bytes in standard base64, 64-bit integers as JSON numbers, infinite doubles as the strings
/// `"Infinity"` and `"-Infinity"`. On decoding, unknown keys and unknown enum names (a newer master) are ignored,
/// and every spelling the master itself accepts is read too: numeric strings, booleans as strings, unpadded
/// base64, a single object where a list is expected (see ``JSONReading``).
///
/// **Protobuf** is the binary encoding of the same messages; unknown fields and enum values are kept and written
/// back unchanged.
///
/// Both check `required` fields: a message missing one is an error naming each missing field by path, on decoding
/// and on encoding alike.
public struct MessageCodec: Sendable {
    /// How JSON input is read.
    public enum JSONReading: Sendable, Hashable {
        /// The generated decoder first (``Implementation/generated``), which reads exactly what the master reads;
        /// when it refuses the input (or with ``Implementation/reference``), swift-protobuf's decoder, then the Mesos
        /// reader decide, so every spelling the master accepts is accepted (and a few more, such as an enum given as
        /// its number) and errors name the field.
        case fast
        /// Exactly as the Mesos master reads a request body, refusing what it refuses (an enum given as a number,
        /// say). For a master or agent that must answer as the real one does.
        case exactlyAsMesos
    }

    /// Which codecs do the work.
    public enum Implementation: Sendable, Hashable {
        /// The codecs generated from the schema (`make codecs`) for every message reachable from the scheduler and
        /// executor `Call`s and `Event`s; swift-protobuf's for any other message. Decoding gives the reference's
        /// value and, for malformed input, its error (the reference reads the input again to say what is wrong).
        /// JSON is read exactly as the Mesos master reads it, whatever ``JSONReading`` says, unless that fails:
        /// then ``JSONReading`` decides as it does for `.reference`.
        case generated
        /// swift-protobuf's codecs with the Mesos reader (``JSONReading``): the reference the generated codecs
        /// are checked against.
        case reference
    }

    /// The content type this codec reads and writes.
    public var contentType: ContentType
    /// How JSON input is read. Ignored for protobuf.
    public var jsonReading: JSONReading
    /// Which codecs do the work: the generated ones unless a test asks for the reference.
    public var implementation: Implementation

    public init(_ contentType: ContentType, jsonReading: JSONReading = .fast, implementation: Implementation = .generated) {
        self.contentType = contentType
        self.jsonReading = jsonReading
        self.implementation = implementation
    }

    // MARK: Decoding

    /// Decodes one message from the readable bytes of `buffer`, without copying them.
    ///
    /// - Throws: ``MesosCodecError`` with code `.malformedJSON`, `.malformedProtobuf`, `.invalidFieldValue` or
    ///   `.missingRequiredFields`.
    public func decode<M: SwiftProtobuf.Message>(_ type: M.Type, from buffer: ByteBuffer) throws(MesosCodecError) -> M {
        // The event types, once per record on every stream, go to concrete code. This body names no `Optional` or
        // `Result` of `M`: an unspecialized generic function looks up the metadata of every such local on entry,
        // whichever path it then takes (two lookups, about 660 instructions per record, 6% of decoding an UPDATE).
        if self.implementation == .generated {
            if M.self == Mesos_V1_Scheduler_Event.self {
                return unsafeBitCast(try self.decodeEvent(Mesos_V1_Scheduler_Event.self, buffer), to: M.self)
            }
            if M.self == Mesos_V1_Executor_Event.self {
                return unsafeBitCast(try self.decodeEvent(Mesos_V1_Executor_Event.self, buffer), to: M.self)
            }
        }
        return try self.decodeAny(type, from: buffer)
    }

    /// ``decode(_:from:)-(_,ByteBuffer)`` for any type but the events.
    @inline(never)
    private func decodeAny<M: SwiftProtobuf.Message>(_ type: M.Type, from buffer: ByteBuffer) throws(MesosCodecError) -> M {
        let result: Result<M, MesosCodecError> = buffer.withUnsafeReadableBytes { bytes in
            Result { () throws(MesosCodecError) in try self.decode(type, fromBytes: bytes) }
        }
        return try result.get()
    }

    /// Decodes one message from `bytes`.
    ///
    /// - Throws: ``MesosCodecError`` (see ``decode(_:from:)-(_,ByteBuffer)``).
    public func decode<M: SwiftProtobuf.Message>(_ type: M.Type, from bytes: some Collection<UInt8>) throws(MesosCodecError) -> M {
        let result: Result<M, MesosCodecError>? = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(MesosCodecError) in try self.decode(type, fromBytes: UnsafeRawBufferPointer(buffer)) }
        }
        if let result { return try result.get() }
        return try self.decode(type, from: Array(bytes))
    }

    /// Decodes one message from raw bytes: the entry point every other decode ends in.
    public func decode<M: SwiftProtobuf.Message>(_ type: M.Type, fromBytes bytes: UnsafeRawBufferPointer) throws(MesosCodecError) -> M {
        if self.implementation == .generated, let message = Self.decodeGenerated(M.self, self.contentType, bytes) {
            return message
        }
        return try self.decodeReference(M.self, fromBytes: bytes)
    }

    /// An event refused for a required enum field whose value this schema does not name, decoded all the same: what a
    /// master newer than this schema sends (a new task state, say). Every other field is decoded and checked as
    /// usual, and the enum field is left unset (`has…` is false); in protobuf its number stays in the message's
    /// unknown fields, so nothing is lost and the message encodes back to the same bytes. Throws `refused` when
    /// anything else is wrong with the message.
    ///
    /// The event streams' decoder (``MesosEventDecoder``) does this, so a client can still read, and acknowledge, an
    /// UPDATE carrying a state it does not know, instead of losing the stream to it over and over.
    public func decodeNewerEvent<M: SwiftProtobuf.Message>(
        _ type: M.Type,
        from buffer: ByteBuffer,
        refused: MesosCodecError
    ) throws(MesosCodecError) -> M {
        guard refused.code == .missingRequiredFields || refused.code == .invalidFieldValue else { throw refused }
        let decoded: Result<M, MesosCodecError> = buffer.withUnsafeReadableBytes { bytes in
            Result { () throws(MesosCodecError) in
                try self.decodeReference(M.self, fromBytes: bytes, checkingRequired: false, droppingUnknownEnums: true)
            }
        }
        guard case .success(let message) = decoded, MesosSchema.shared.onlyEnumsMissing(in: message) else { throw refused }
        return message
    }

    /// The reference decoders: swift-protobuf, with the Mesos reader for JSON.
    func decodeReference<M: SwiftProtobuf.Message>(
        _: M.Type,
        fromBytes bytes: UnsafeRawBufferPointer,
        checkingRequired: Bool = true,
        droppingUnknownEnums: Bool = false
    ) throws(MesosCodecError) -> M {
        let message: M
        switch self.contentType {
        case .protobuf:
            do {
                message = try M(serializedBytes: BorrowedBytes(bytes), partial: true)
            } catch {
                throw self.error(.malformedProtobuf, M.self, message: Self.explain(error), underlying: error)
            }
        case .json:
            message = try self.decodeJSON(M.self, bytes, droppingUnknownEnums: droppingUnknownEnums)
        }
        if checkingRequired { try self.checkRequired(message) }
        return message
    }

    private func decodeJSON<M: SwiftProtobuf.Message>(
        _: M.Type,
        _ bytes: UnsafeRawBufferPointer,
        droppingUnknownEnums: Bool = false
    ) throws(MesosCodecError) -> M {
        var firstError: (any Error)?
        if self.jsonReading == .fast && !droppingUnknownEnums {
            do {
                let message = try M(jsonUTF8Bytes: BorrowedBytes(bytes), options: .mesos)
                // A required field left unset may be an enum name the master would name in its error: let the
                // Mesos reader below say what is wrong.
                if message.isInitialized { return message }
            } catch {
                firstError = error
            }
        }
        // The Mesos reader: parse, read as the master does, and hand swift-protobuf the canonical form.
        let document: JSONValue
        do {
            document = try JSONParser.parse(bytes)
        } catch {
            throw self.error(
                .malformedJSON,
                M.self,
                offset: error.offset,
                message: "\(error.message) at line \(Self.line(of: error.offset, in: bytes))",
                underlying: firstError
            )
        }
        let canonical: [UInt8]
        do {
            var reader = MesosJSONReader(schema: .shared)
            reader.dropsUnknownRequiredEnums = droppingUnknownEnums
            canonical = try reader.canonicalJSON(document, typeName: M.protoMessageName)
        } catch {
            let code: MesosCodecError.Code = error.field.isEmpty ? .malformedJSON : .invalidFieldValue
            throw self.error(code, M.self, fields: error.field.isEmpty ? [] : [error.field], message: error.message, underlying: firstError)
        }
        do {
            return try M(jsonUTF8Bytes: canonical, options: .mesos)
        } catch {
            throw self.error(.invalidFieldValue, M.self, message: Self.explain(error), underlying: error)
        }
    }

    private func checkRequired(_ message: some SwiftProtobuf.Message) throws(MesosCodecError) {
        guard !message.isInitialized else { return }
        let missing = MesosSchema.shared.missingRequiredFields(in: message)
        throw self.error(
            .missingRequiredFields,
            type(of: message),
            fields: missing,
            message: "Missing required fields: " + missing.joined(separator: ", ")
        )
    }

    // MARK: Encoding

    /// Encodes `message` in this codec's content type.
    ///
    /// - Throws: ``MesosCodecError`` with code `.missingRequiredFields` (naming them) or `.unencodable`.
    public func encode(_ message: some SwiftProtobuf.Message) throws(MesosCodecError) -> [UInt8] {
        if self.implementation == .generated, let bytes = Self.encodeGenerated(message, self.contentType) {
            return bytes
        }
        try self.checkRequired(message)
        do {
            switch self.contentType {
            case .json: return try message.jsonUTF8Bytes(options: .mesos)
            case .protobuf: return try message.serializedBytes()
            }
        } catch {
            throw self.error(.unencodable, type(of: message), message: Self.explain(error), underlying: error)
        }
    }

    /// Encodes `message` and appends it to `buffer`.
    public func encode(_ message: some SwiftProtobuf.Message, into buffer: inout ByteBuffer) throws(MesosCodecError) {
        buffer.writeBytes(try self.encode(message))
    }

    // MARK: Errors

    private func error(
        _ code: MesosCodecError.Code,
        _ type: any SwiftProtobuf.Message.Type,
        fields: [String] = [],
        offset: Int? = nil,
        message: String,
        underlying: (any Error)? = nil
    ) -> MesosCodecError {
        MesosCodecError(
            code: code,
            contentType: self.contentType,
            messageType: type.protoMessageName,
            fields: fields,
            offset: offset,
            message: message,
            underlying: underlying
        )
    }

    private static func line(of offset: Int, in bytes: UnsafeRawBufferPointer) -> Int {
        1 + bytes.prefix(offset).reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
    }

    /// A sentence for swift-protobuf's errors, which print as bare case names.
    static func explain(_ error: any Error) -> String {
        switch error {
        case BinaryDecodingError.truncated: "the protobuf data ends inside a field"
        case BinaryDecodingError.malformedProtobuf: "the bytes are not a protobuf message (bad tag, wire type or length)"
        case BinaryDecodingError.invalidUTF8: "a string field holds invalid UTF-8"
        case BinaryDecodingError.messageDepthLimit: "messages are nested too deeply"
        case BinaryDecodingError.trailingGarbage: "unexpected data after the message"
        case JSONDecodingError.unrecognizedEnumValue: "an enum value is not a known name"
        case JSONDecodingError.numberRange: "a number is out of range for its field"
        case JSONDecodingError.messageDepthLimit: "messages are nested too deeply"
        default: String(describing: error)
        }
    }
}

extension JSONEncodingOptions {
    /// What the Mesos master writes: proto field names (camelCase keys would be silently dropped by the master)
    /// and 64-bit integers as JSON numbers.
    package static let mesos: JSONEncodingOptions = {
        var options = JSONEncodingOptions()
        options.preserveProtoFieldNames = true
        options.alwaysPrintInt64sAsNumbers = true
        return options
    }()
}

extension JSONDecodingOptions {
    /// Unknown keys and enum names (a newer master) are ignored, as the master itself ignores them.
    package static let mesos: JSONDecodingOptions = {
        var options = JSONDecodingOptions()
        options.ignoreUnknownFields = true
        return options
    }()
}

/// Raw bytes handed to swift-protobuf without a copy. Only the initializers it needs to make new bytes allocate.
struct BorrowedBytes: SwiftProtobufContiguousBytes {
    private var storage: UnsafeRawBufferPointer
    private var owned: [UInt8]?

    init(_ bytes: UnsafeRawBufferPointer) { self.storage = bytes }

    init(repeating: UInt8, count: Int) {
        self.owned = Array(repeating: repeating, count: count)
        self.storage = UnsafeRawBufferPointer(start: nil, count: 0)
    }

    init<S: Sequence>(_ sequence: S) where S.Element == UInt8 {
        self.owned = Array(sequence)
        self.storage = UnsafeRawBufferPointer(start: nil, count: 0)
    }

    var count: Int { self.owned?.count ?? self.storage.count }

    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        if let owned = self.owned { return try owned.withUnsafeBytes(body) }
        return try body(self.storage)
    }

    mutating func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        if self.owned == nil { self.owned = Array(self.storage) }
        return try self.owned!.withUnsafeMutableBytes(body)
    }
}
