import MesosRecordIO
import NIOCore
import Testing

@Suite("RecordIO decoder")
struct RecordIODecoderTests {
    static let records: [[UInt8]] = [
        Array("hello".utf8),
        [],
        Array(repeating: 0x41, count: 70_000),
        Array("{\"type\":\"HEARTBEAT\"}".utf8),
        Array("a\nb\n12\n".utf8),  // newlines and digits inside a record are data
    ]

    @Test("decodes identically for every chunking", arguments: [1, 2, 3, 7, 64, 4096, Int.max])
    func chunkingInvariance(chunkSize: Int) async throws {
        let wire = RecordIOTestSupport.frame(Self.records)
        let decoded = try RecordIOTestSupport.decode(RecordIOTestSupport.chunk(wire, by: chunkSize))
        #expect(decoded == Self.records)
        #expect(try RecordIOTestSupport.decodeChunked(RecordIOTestSupport.chunk(wire, by: chunkSize)) == Self.records)
    }

    @Test("decodes identically for random splits (seeded)", arguments: [1, 42, 20_261_122])
    func randomChunking(seed: UInt64) throws {
        var generator = SplitMix64(seed: seed)
        let wire = RecordIOTestSupport.frame(Self.records)
        for _ in 0..<50 {
            var chunks: [[UInt8]] = []
            var index = 0
            while index < wire.count {
                let size = Int.random(in: 1...300, using: &generator)
                chunks.append(Array(wire[index..<min(wire.count, index + size)]))
                index += size
            }
            #expect(try RecordIOTestSupport.decode(chunks) == Self.records, "seed \(seed)")
            #expect(try RecordIOTestSupport.decodeChunked(chunks) == Self.records, "seed \(seed), RecordIOChunks")
        }
    }

    @Test("every split point of a length prefix and a record", arguments: Array(0...9))
    func everySplitPoint(split: Int) throws {
        let wire = Array("12\nhello world!3\nabc".utf8)
        let chunks = [Array(wire[..<split]), Array(wire[split...])]
        #expect(try RecordIOTestSupport.decode(chunks) == [Array("hello world!".utf8), Array("abc".utf8)])
        #expect(try RecordIOTestSupport.decodeChunked(chunks) == [Array("hello world!".utf8), Array("abc".utf8)])
    }

    @Test("RecordIOChunks: after a straddling record, the next record is a view of its own chunk, not a copy")
    func chunksZeroCopy() throws {
        var decoder = RecordIODecoder()
        var stream = RecordIOChunks()
        var first = ByteBuffer(string: "5\nab")
        let second = ByteBuffer(string: "cde6\nfghijk")
        var input = second
        stream.append(&first)
        #expect(try decoder.decode(chunks: &stream) == nil)
        stream.append(&input)
        #expect(try decoder.decode(chunks: &stream).map { String(buffer: $0) } == "abcde")
        let record = try #require(try decoder.decode(chunks: &stream))
        #expect(String(buffer: record) == "fghijk")
        let sameStorage = second.withUnsafeReadableBytes { whole in
            record.withUnsafeReadableBytes { part in part.baseAddress == whole.baseAddress! + 5 }
        }
        #expect(sameStorage)
        #expect(stream.isEmpty)
    }

    @Test("an empty stream has no records")
    func emptyStream() throws {
        #expect(try RecordIOTestSupport.decode([]) == [])
    }

    @Test("a record within one chunk is a view of that chunk, not a copy")
    func zeroCopy() throws {
        let wire = ByteBuffer(bytes: RecordIOTestSupport.frame([Array("abcdef".utf8)]))
        var input = wire
        var decoder = RecordIODecoder()
        let record = try #require(try decoder.decode(buffer: &input))
        let sameStorage = wire.withUnsafeReadableBytes { whole in
            record.withUnsafeReadableBytes { part in part.baseAddress == whole.baseAddress! + 2 }
        }
        #expect(sameStorage)
    }

    @Test("decodes a RecordIO stream as the Mesos 1.11 master wrote it")
    func masterStream() throws {
        let stream = try RecordIOTestSupport.fixture("mesos-1.11/json/subscribe_stream.recordio")
        let lines = try RecordIOTestSupport.fixture("mesos-1.11/json/subscribe_events.jsonl")
            .split(separator: UInt8(ascii: "\n")).map(Array.init)
        for size in [1, 13, 512, Int.max] {
            #expect(try RecordIOTestSupport.decode(RecordIOTestSupport.chunk(stream, by: size)) == lines)
        }
        #expect(lines.count == 27)
    }

    @Test("works over an AsyncSequence of ByteBuffers")
    func asyncSequence() async throws {
        let wire = RecordIOTestSupport.frame(Self.records)
        let (chunks, continuation) = AsyncStream.makeStream(of: ByteBuffer.self)
        for chunk in RecordIOTestSupport.chunk(wire, by: 1000) { continuation.yield(ByteBuffer(bytes: chunk)) }
        continuation.finish()
        var decoded: [[UInt8]] = []
        for try await record in chunks.decode(using: RecordIODecoder()) {
            decoded.append(Array(record.readableBytesView))
        }
        #expect(decoded == Self.records)
    }

    @Test("an AsyncSequence that ends inside a record throws truncated")
    func asyncTruncated() async throws {
        let (chunks, continuation) = AsyncStream.makeStream(of: ByteBuffer.self)
        continuation.yield(ByteBuffer(string: "5\nab"))
        continuation.finish()
        let error = await #expect(throws: RecordIOError.self) {
            for try await _ in chunks.decode(using: RecordIODecoder()) {}
        }
        #expect(error?.code == .truncated)
        #expect(error?.offset == 4)
    }
}

@Suite("RecordIO decoder errors")
struct RecordIODecoderErrorTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var wire: String
        var code: RecordIOError.Code
        var offset: Int
        var maximum = 1 << 20
        var testDescription: String { self.name }
    }

    static let cases: [Case] = [
        Case(name: "letter where the length starts", wire: "x\nabc", code: .nonDigitInLength, offset: 0),
        Case(name: "sign before the length", wire: "-3\nabc", code: .nonDigitInLength, offset: 0),
        Case(name: "second record starts with a space", wire: "3\nabc 3\nabc", code: .nonDigitInLength, offset: 5),
        Case(name: "newline with no digits", wire: "3\nabc\nabc", code: .emptyLength, offset: 5),
        Case(name: "CRLF after the length", wire: "3\r\nabc", code: .missingNewline, offset: 1),
        Case(name: "letter after digits", wire: "12a\n", code: .missingNewline, offset: 2),
        Case(name: "length wider than 64 bits", wire: "99999999999999999999999\n", code: .lengthOverflow, offset: 18,
             maximum: Int.max),
        Case(name: "record over the maximum", wire: "1025\n", code: .recordTooLarge, offset: 3, maximum: 1024),
        Case(name: "huge claim without newline fails before it arrives", wire: "99999999999", code: .recordTooLarge,
             offset: 6, maximum: 1 << 20),
        Case(name: "ends inside a record", wire: "5\nabc", code: .truncated, offset: 5),
        Case(name: "ends inside a length prefix", wire: "3\nabc12", code: .truncated, offset: 7),
        Case(name: "ends right after the newline", wire: "3\nabc4\n", code: .truncated, offset: 7),
    ]

    @Test("typed errors with the byte offset", arguments: Self.cases)
    func error(_ testCase: Case) throws {
        for chunkSize in [1, 2, Int.max] {
            let chunks = RecordIOTestSupport.chunk(Array(testCase.wire.utf8), by: chunkSize)
            let error = #expect(throws: RecordIOError.self) {
                _ = try RecordIOTestSupport.decode(chunks, maximumRecordSize: testCase.maximum)
            }
            #expect(error?.code == testCase.code, "chunk size \(chunkSize): \(String(describing: error))")
            #expect(error?.offset == testCase.offset, "chunk size \(chunkSize): \(String(describing: error))")
            // Through RecordIOChunks: the same errors, except truncation (it has no end of stream).
            if testCase.code != .truncated {
                let chunked = #expect(throws: RecordIOError.self) {
                    _ = try RecordIOTestSupport.decodeChunked(chunks, maximumRecordSize: testCase.maximum)
                }
                #expect(chunked?.code == testCase.code, "RecordIOChunks, chunk size \(chunkSize)")
                #expect(chunked?.offset == testCase.offset, "RecordIOChunks, chunk size \(chunkSize)")
            }
        }
    }

    @Test("records before an error are delivered, nothing after it")
    func recordsBeforeError() throws {
        let processor = NIOSingleStepByteToMessageProcessor(RecordIODecoder())
        var seen: [String] = []
        #expect(throws: RecordIOError.self) {
            try processor.process(buffer: ByteBuffer(string: "2\nok2\nokX\nzz")) { seen.append(String(buffer: $0)) }
        }
        #expect(seen == ["ok", "ok"])
    }

    @Test("a record of exactly the maximum size is accepted")
    func exactlyMaximum() throws {
        let record = Array(repeating: UInt8(7), count: 1024)
        let decoded = try RecordIOTestSupport.decode([RecordIOTestSupport.frame([record])], maximumRecordSize: 1024)
        #expect(decoded == [record])
    }

    @Test("the error message says what was found")
    func message() {
        let error = #expect(throws: RecordIOError.self) { _ = try RecordIOTestSupport.decode([Array("3\r\n".utf8)]) }
        #expect(error?.description == "RecordIOError.missingNewline at byte 1: expected a digit or a newline after the length 3, found byte 0x0D")
    }
}

@Suite("RecordIO encoder")
struct RecordIOEncoderTests {
    @Test("frames as the master does")
    func frames() {
        var out = ByteBuffer()
        RecordIOEncoder.frame(Array("{\"type\":\"HEARTBEAT\"}".utf8), into: &out)
        RecordIOEncoder.frame(ByteBuffer(), into: &out)
        #expect(String(buffer: out) == "20\n{\"type\":\"HEARTBEAT\"}0\n")
    }

    @Test("encoder output decodes to the same records")
    func roundTrip() throws {
        var out = ByteBuffer()
        let encoder = RecordIOEncoder()
        for record in RecordIODecoderTests.records { encoder.encode(data: ByteBuffer(bytes: record), out: &out) }
        #expect(try RecordIODecoder.records(in: out).map { Array($0.readableBytesView) } == RecordIODecoderTests.records)
    }
}
