/// A RecordIO stream that cannot be framed.
///
/// RecordIO, as Mesos writes it, is a sequence of records, each `<length in ASCII decimal>\n<length bytes>`.
/// Every error carries the byte offset in the stream where framing failed, counted from the first byte the
/// decoder was given, so a bad stream can be located in a capture.
///
/// ```swift
/// catch let error as RecordIOError where error.code == .recordTooLarge { … }
/// ```
public struct RecordIOError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong. `description` carries no payload, so it is safe as a metric dimension.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable {
            case nonDigitInLength, emptyLength, lengthOverflow, missingNewline, recordTooLarge, truncated
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A byte other than `0`–`9` where the length prefix must start.
        public static let nonDigitInLength = Code(.nonDigitInLength)
        /// A newline with no digits before it.
        public static let emptyLength = Code(.emptyLength)
        /// The length prefix has more digits than any record size can have.
        public static let lengthOverflow = Code(.lengthOverflow)
        /// The digits of the length are followed by something other than `\n`.
        public static let missingNewline = Code(.missingNewline)
        /// The length prefix announces a record larger than the configured maximum.
        public static let recordTooLarge = Code(.recordTooLarge)
        /// The stream ended inside a length prefix or inside a record.
        public static let truncated = Code(.truncated)

        public var description: String { String(describing: self.base) }
    }

    /// What went wrong.
    public var code: Code
    /// The offset in the stream, from the first byte decoded, of the byte where framing failed.
    public var offset: Int
    /// A sentence for people: what was found and what was expected.
    public var message: String

    public init(code: Code, offset: Int, message: String) {
        self.code = code
        self.offset = offset
        self.message = message
    }

    public var description: String { "RecordIOError.\(self.code) at byte \(self.offset): \(self.message)" }
}
