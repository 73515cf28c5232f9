public import MesosRecordIO
public import NIOCore
public import SwiftProtobuf

/// Decodes a Mesos event stream (`RecordIO` framing, each record one message in the negotiated content type) into
/// typed messages: `scheduler.Event` for a scheduler, `executor.Event` for an executor, `scheduler.Call`s for a
/// master reading a recorded stream.
///
/// Records reach the message decoder as views of the bytes they arrived in; nothing is copied for a record that
/// arrived whole. Memory stays bounded by `maximumRecordSize`.
///
/// ```swift
/// for try await event in body.decode(using: MesosEventDecoder(SchedulerEvent.self, contentType: .json)) { … }
/// ```
///
/// Errors: ``RecordIOError`` when the framing is broken, ``MesosCodecError`` when a record is not a valid message.
///
/// A record refused only for a required enum field holding a value the schema does not name (a newer master's: a
/// new task state, say) is decoded all the same, that field left unset (see
/// ``MessageCodec/decodeNewerEvent(_:from:refused:)``): the event still reaches its reader, who can acknowledge it.
public struct MesosEventDecoder<Event: SwiftProtobuf.Message>: NIOSingleStepByteToMessageDecoder, Sendable {
    public typealias InboundOut = Event

    private var framing: RecordIODecoder
    public let codec: MessageCodec

    public init(
        _ type: Event.Type = Event.self,
        contentType: ContentType,
        maximumRecordSize: Int = RecordIODecoder.defaultMaximumRecordSize
    ) {
        self.framing = RecordIODecoder(maximumRecordSize: maximumRecordSize)
        self.codec = MessageCodec(contentType)
    }

    public init(_ type: Event.Type = Event.self, codec: MessageCodec, maximumRecordSize: Int = RecordIODecoder.defaultMaximumRecordSize) {
        self.framing = RecordIODecoder(maximumRecordSize: maximumRecordSize)
        self.codec = codec
    }

    /// The next message of a stream read in chunks (see ``RecordIOChunks``): each record decoded where it arrived.
    public mutating func decode(chunks: inout RecordIOChunks) throws -> Event? {
        guard let record = try self.framing.decode(chunks: &chunks) else { return nil }
        return try self.message(record)
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> Event? {
        guard let record = try self.framing.decode(buffer: &buffer) else { return nil }
        return try self.message(record)
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> Event? {
        guard let record = try self.framing.decodeLast(buffer: &buffer, seenEOF: seenEOF) else { return nil }
        return try self.message(record)
    }

    private func message(_ record: ByteBuffer) throws(MesosCodecError) -> Event {
        do {
            return try self.codec.decode(Event.self, from: record)
        } catch {
            return try self.codec.decodeNewerEvent(Event.self, from: record, refused: error)
        }
    }
}

extension MessageCodec {
    /// Encodes `message` as one RecordIO record appended to `buffer`: what a master writes on an event stream.
    public func encodeRecord(_ message: some SwiftProtobuf.Message, into buffer: inout ByteBuffer) throws(MesosCodecError) {
        RecordIOEncoder.frame(try self.encode(message), into: &buffer)
    }
}
