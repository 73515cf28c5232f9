public import NIOCore

/// An incremental RecordIO decoder: bytes in, whole records out, for chunks split anywhere.
///
/// Each record comes out as a slice of the bytes it arrived in (`ByteBuffer.readSlice`), so a record that arrived
/// in one chunk is never copied; one that spans chunks is copied once, into the buffer that gathers them.
///
/// The decoder is bounded: a length prefix larger than ``maximumRecordSize`` is an error as soon as its digits
/// exceed the bound, before the record's bytes arrive, and nothing of the claimed size is ever allocated.
///
/// It is a `NIOSingleStepByteToMessageDecoder`, so it works
/// - over an `AsyncSequence` of `ByteBuffer` with `bytes.decode(using: RecordIODecoder())`,
/// - synchronously with `NIOSingleStepByteToMessageProcessor` (see ``RecordIODecoder/records(in:maximumRecordSize:)``),
/// - in a channel pipeline with `ByteToMessageHandler`.
public struct RecordIODecoder: NIOSingleStepByteToMessageDecoder, Sendable {
    public typealias InboundOut = ByteBuffer

    /// mesos-go's limit is 4 MiB, which users with large OFFERS and reconciliation answers outgrew.
    public static let defaultMaximumRecordSize = 64 << 20

    /// The largest record accepted, in bytes.
    public let maximumRecordSize: Int

    /// Bytes consumed from the stream so far (framing and records): the offset of the next unread byte.
    public private(set) var streamOffset = 0

    /// The length of the record whose prefix has been read but whose bytes have not all arrived.
    private var pendingLength: Int?

    /// The length of the record under way, once its length prefix has been read and until all its bytes have
    /// arrived (``decode(chunks:)`` copies only what completes it); nil otherwise.
    var pendingRecordLength: Int? { self.pendingLength }

    /// - Parameter maximumRecordSize: the largest record accepted, in bytes. Must not be negative.
    public init(maximumRecordSize: Int = RecordIODecoder.defaultMaximumRecordSize) {
        precondition(maximumRecordSize >= 0, "maximumRecordSize must not be negative")
        self.maximumRecordSize = maximumRecordSize
    }

    public mutating func decode(buffer: inout ByteBuffer) throws(RecordIOError) -> ByteBuffer? {
        let length: Int
        if let pending = self.pendingLength {
            length = pending
        } else {
            guard let parsed = try self.readLengthPrefix(&buffer) else { return nil }
            length = parsed
        }
        guard let record = buffer.readSlice(length: length) else {
            self.pendingLength = length
            return nil
        }
        self.pendingLength = nil
        self.streamOffset += length
        return record
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws(RecordIOError) -> ByteBuffer? {
        if let record = try self.decode(buffer: &buffer) {
            return record
        }
        let left = buffer.readableBytes
        if let pending = self.pendingLength {
            throw RecordIOError(
                code: .truncated,
                offset: self.streamOffset + left,
                message: "the stream ended after \(left) of the \(pending) bytes of a record"
            )
        }
        if left > 0 {
            throw RecordIOError(
                code: .truncated,
                offset: self.streamOffset + left,
                message: "the stream ended inside a length prefix (\(left) bytes, no newline)"
            )
        }
        return nil
    }

    /// Reads `<digits>\n` if all of it is there; leaves the buffer untouched and returns nil if not.
    /// Throws as soon as the bytes seen so far cannot begin a valid prefix.
    private mutating func readLengthPrefix(_ buffer: inout ByteBuffer) throws(RecordIOError) -> Int? {
        // The closure answers with plain integers (the prefix's length in bytes, 0 if incomplete) and a failure on the
        // side: a `Result` of a tuple made the runtime look up its generic metadata on every record.
        // It does not touch `self` either: capturing the decoder cost a dynamic exclusivity check per record.
        var failure: RecordIOError? = nil
        var length = 0
        let maximumRecordSize = self.maximumRecordSize
        let streamOffset = self.streamOffset
        func error(_ code: RecordIOError.Code, at index: Int, _ message: String) -> RecordIOError {
            RecordIOError(code: code, offset: streamOffset + index, message: message)
        }
        let prefixBytes = buffer.withUnsafeReadableBytes { bytes -> Int in
            var value = 0
            var index = 0
            while index < bytes.count {
                let byte = bytes[index]
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"):
                    let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
                    let (next, overflow2) = times10.addingReportingOverflow(Int(byte &- UInt8(ascii: "0")))
                    if overflow1 || overflow2 {
                        failure = error(.lengthOverflow, at: index, "the length prefix does not fit in 64 bits")
                        return 0
                    }
                    value = next
                    if value > maximumRecordSize {
                        failure = error(
                            .recordTooLarge,
                            at: index,
                            "a record of at least \(value) bytes exceeds the maximum of \(maximumRecordSize)"
                        )
                        return 0
                    }
                case UInt8(ascii: "\n"):
                    if index == 0 {
                        failure = error(.emptyLength, at: 0, "a newline with no length before it")
                        return 0
                    }
                    length = value
                    return index + 1
                default:
                    if index == 0 {
                        failure = error(.nonDigitInLength, at: 0, "expected a decimal length, found \(Self.describe(byte))")
                    } else {
                        failure = error(
                            .missingNewline,
                            at: index,
                            "expected a digit or a newline after the length \(value), found \(Self.describe(byte))"
                        )
                    }
                    return 0
                }
                index += 1
            }
            return 0
        }
        if let failure { throw failure }
        guard prefixBytes > 0 else { return nil }
        buffer.moveReaderIndex(forwardBy: prefixBytes)
        self.streamOffset += prefixBytes
        return length
    }

    private static func describe(_ byte: UInt8) -> String {
        if byte >= 0x20 && byte < 0x7F {
            return "'\(Character(Unicode.Scalar(byte)))'"
        }
        let hex = String(byte, radix: 16, uppercase: true)
        return "byte 0x\(hex.count == 1 ? "0" + hex : hex)"
    }
}

extension RecordIODecoder {
    /// Decodes a complete RecordIO stream held in memory.
    ///
    /// - Throws: ``RecordIOError`` for a malformed or truncated stream.
    public static func records(
        in stream: ByteBuffer,
        maximumRecordSize: Int = RecordIODecoder.defaultMaximumRecordSize
    ) throws -> [ByteBuffer] {
        let processor = NIOSingleStepByteToMessageProcessor(RecordIODecoder(maximumRecordSize: maximumRecordSize))
        var records: [ByteBuffer] = []
        try processor.process(buffer: stream) { records.append($0) }
        try processor.finishProcessing(seenEOF: true) { records.append($0) }
        return records
    }
}
