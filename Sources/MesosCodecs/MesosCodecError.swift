/// A message that cannot be decoded or encoded in the content type asked for.
///
/// It names what failed: the message type, the field (a path such as `offers.offers[2].agent_id.value`) where that
/// is known, and for malformed JSON the byte offset. Nothing is lost: the error keeps the underlying swift-protobuf
/// error, if any.
///
/// ```swift
/// catch let error as MesosCodecError where error.code == .missingRequiredFields { print(error.fields) }
/// ```
public struct MesosCodecError: Error, CustomStringConvertible {
    /// What went wrong. `description` carries no payload, so it is safe as a metric dimension.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable {
            case malformedJSON, malformedProtobuf, invalidFieldValue, missingRequiredFields, unencodable
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The bytes are not JSON, or not a JSON object where a message is expected.
        public static let malformedJSON = Code(.malformedJSON)
        /// The bytes are not a protobuf encoding of the message (truncated, bad varint, bad wire type, bad UTF-8).
        public static let malformedProtobuf = Code(.malformedProtobuf)
        /// A field holds a value of the wrong kind: a number for a string, bad base64, an enum name required but
        /// unknown, a number out of range.
        public static let invalidFieldValue = Code(.invalidFieldValue)
        /// One or more `required` fields are absent (``MesosCodecError/fields`` lists their paths).
        public static let missingRequiredFields = Code(.missingRequiredFields)
        /// The message cannot be written in this content type.
        public static let unencodable = Code(.unencodable)

        public var description: String { String(describing: self.base) }
    }

    /// What went wrong.
    public var code: Code
    /// The content type of the bytes.
    public var contentType: ContentType
    /// The full protobuf name of the message being decoded or encoded, e.g. `mesos.v1.scheduler.Event`.
    public var messageType: String
    /// The paths of the fields at fault, from the top message, e.g. `["accept.operations[0].launch.task_infos[0].name"]`.
    public var fields: [String]
    /// For malformed JSON, the byte offset of the fault in the input.
    public var offset: Int?
    /// A sentence for people.
    public var message: String
    /// The error of the library underneath (swift-protobuf), when there is one.
    public var underlying: (any Error)?

    public init(
        code: Code,
        contentType: ContentType,
        messageType: String,
        fields: [String] = [],
        offset: Int? = nil,
        message: String,
        underlying: (any Error)? = nil
    ) {
        self.code = code
        self.contentType = contentType
        self.messageType = messageType
        self.fields = fields
        self.offset = offset
        self.message = message
        self.underlying = underlying
    }

    public var description: String {
        var text = "MesosCodecError.\(self.code) (\(self.messageType), \(self.contentType.mediaType))"
        if let offset = self.offset { text += " at byte \(offset)" }
        return text + ": " + self.message
    }
}
