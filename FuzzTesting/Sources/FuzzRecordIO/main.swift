import MesosRecordIO
import NIOCore

/// The first byte picks a chunk size; the rest is the stream. Decoding it whole and in chunks must agree exactly:
/// the same records, or the same error at the same offset.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count > 0 else { return 0 }
    let bytes = UnsafeRawBufferPointer(start: start, count: count)
    let chunkSize = Int(bytes[0] % 17) + 1
    let stream = Array(bytes.dropFirst())
    let whole = decode([stream])
    var chunks: [[UInt8]] = []
    var index = 0
    while index < stream.count {
        chunks.append(Array(stream[index..<min(stream.count, index + chunkSize)]))
        index += chunkSize
    }
    let chunked = decode(chunks)
    switch (whole, chunked) {
    case (.success(let a), .success(let b)):
        precondition(a == b, "records differ between whole and chunked decoding")
        // Framing them again gives a stream that decodes to the same records.
        var out = ByteBuffer()
        for record in a { RecordIOEncoder.frame(record, into: &out) }
        precondition((try? RecordIODecoder.records(in: out, maximumRecordSize: 4096).map { Array($0.readableBytesView) }) == a)
    case (.failure(let a), .failure(let b)):
        precondition(a.code == b.code && a.offset == b.offset, "errors differ: \(a) vs \(b)")
    default:
        preconditionFailure("whole and chunked decoding disagree: \(whole) vs \(chunked)")
    }
    return 0
}

func decode(_ chunks: [[UInt8]]) -> Result<[[UInt8]], RecordIOError> {
    let processor = NIOSingleStepByteToMessageProcessor(RecordIODecoder(maximumRecordSize: 4096))
    var records: [[UInt8]] = []
    do {
        for chunk in chunks {
            try processor.process(buffer: ByteBuffer(bytes: chunk)) { records.append(Array($0.readableBytesView)) }
        }
        try processor.finishProcessing(seenEOF: true) { records.append(Array($0.readableBytesView)) }
        return .success(records)
    } catch let error as RecordIOError {
        return .failure(error)
    } catch {
        preconditionFailure("unexpected error type: \(error)")
    }
}
