/// The two content types of the Mesos v1 HTTP APIs.
public enum ContentType: Sendable, Hashable, CustomStringConvertible {
    /// `application/json`, with the conventions of Mesos's own JSON (see ``MessageCodec``).
    case json
    /// `application/x-protobuf`: the binary protobuf encoding of the same messages.
    case protobuf

    /// The media type for `Content-Type` and `Accept` headers.
    public var mediaType: String {
        switch self {
        case .json: "application/json"
        case .protobuf: "application/x-protobuf"
        }
    }

    /// Parses a `Content-Type` header value: case-insensitive, parameters (`; charset=utf-8`) ignored.
    /// Returns nil for any other media type.
    public init?(mediaType: some StringProtocol) {
        let essence = mediaType.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        switch essence.trimmingWhitespace().lowercased() {
        case "application/json": self = .json
        case "application/x-protobuf": self = .protobuf
        default: return nil
        }
    }

    public var description: String { self.mediaType }
}

extension StringProtocol {
    func trimmingWhitespace() -> Substring {
        let text = Substring(self)
        guard let first = text.firstIndex(where: { !$0.isWhitespace }) else { return "" }
        let last = text.lastIndex(where: { !$0.isWhitespace })!
        return text[first...last]
    }
}
