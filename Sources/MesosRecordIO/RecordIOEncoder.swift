public import NIOCore

/// Frames records as RecordIO: `<length in ASCII decimal>\n<bytes>`, as the Mesos master and agent write them.
///
/// A `MessageToByteEncoder`, so it also works in a channel pipeline with `MessageToByteHandler`.
public struct RecordIOEncoder: MessageToByteEncoder, Sendable {
    public typealias OutboundIn = ByteBuffer

    public init() {}

    public func encode(data: ByteBuffer, out: inout ByteBuffer) {
        Self.frame(data, into: &out)
    }

    /// Appends one framed record to `out`.
    public static func frame(_ record: ByteBuffer, into out: inout ByteBuffer) {
        out.reserveCapacity(minimumWritableBytes: record.readableBytes + 21)
        Self.writeLength(record.readableBytes, into: &out)
        out.writeImmutableBuffer(record)
    }

    /// Appends one framed record to `out`.
    public static func frame(_ record: some Collection<UInt8>, into out: inout ByteBuffer) {
        out.reserveCapacity(minimumWritableBytes: record.count + 21)
        Self.writeLength(record.count, into: &out)
        out.writeBytes(record)
    }

    /// Frames one record into a new buffer.
    public static func frame(_ record: ByteBuffer) -> ByteBuffer {
        var out = ByteBuffer()
        Self.frame(record, into: &out)
        return out
    }

    private static func writeLength(_ length: Int, into out: inout ByteBuffer) {
        out.writeString(String(length))
        out.writeInteger(UInt8(ascii: "\n"))
    }
}
