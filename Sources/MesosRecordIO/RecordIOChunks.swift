public import NIOCore

/// The bytes of a RecordIO stream as they arrive, chunk by chunk, for ``RecordIODecoder/decode(chunks:)``.
///
/// Each record is read as a view of the chunk it arrived in. A record that straddles two chunks is joined by copying
/// only its missing bytes onto its start; appending every chunk to what was left of the last one, as a byte-to-message
/// buffer does, copies every byte that follows the first straddling record.
public struct RecordIOChunks: Sendable {
    /// The chunk being read; after a straddle, the start of the record with its missing bytes copied on.
    @usableFromInline var current = ByteBuffer()
    /// What arrived while `current` still held the start of a record.
    @usableFromInline var next: ByteBuffer?

    public init() {}

    /// Whether every byte appended has been decoded. Inlinable: asked once per event, and a call into this module
    /// copied the whole value (two buffers, retained and released) to ask.
    @inlinable public var isEmpty: Bool { self.current.readableBytes == 0 && self.next == nil }

    /// Adds the next chunk of the stream (no copy, unless two chunks arrive with no decoding between them).
    public mutating func append(_ chunk: inout ByteBuffer) {
        if self.current.readableBytes == 0 && self.next == nil {
            self.current = chunk
        } else if self.next == nil {
            self.next = chunk
        } else {
            self.next!.writeBuffer(&chunk)
        }
    }
}

extension RecordIODecoder {
    /// The next record of a stream read in chunks (see ``RecordIOChunks``); nil when it needs more bytes.
    ///
    /// - Throws: ``RecordIOError`` as ``decode(buffer:)`` does.
    public mutating func decode(chunks: inout RecordIOChunks) throws(RecordIOError) -> ByteBuffer? {
        while true {
            if let record = try self.decode(buffer: &chunks.current) { return record }
            guard var next = chunks.next else { return nil }
            chunks.next = nil
            if chunks.current.readableBytes == 0 {
                chunks.current = next
                continue
            }
            let missing: Int
            if let length = self.pendingRecordLength {
                missing = length - chunks.current.readableBytes
            } else {
                // Inside a length prefix: up to its newline (past 20 digits the prefix is refused anyway).
                let newline = next.readableBytesView.prefix(21).firstIndex(of: UInt8(ascii: "\n"))
                missing = newline.map { $0 - next.readerIndex + 1 } ?? min(next.readableBytes, 21)
            }
            var piece = next.readSlice(length: min(missing, next.readableBytes))!
            chunks.current.writeBuffer(&piece)
            if next.readableBytes > 0 { chunks.next = next }
        }
    }
}
