// Usage:
//   DecodeBenchmark json|proto <corpus-name> <corpus-file>
//       Reads the file into memory and cuts it at record boundaries into 8 MiB buffers (not timed), then times
//       decoding every RecordIO record into a typed mesos.v1.scheduler.Event, and prints the peers' line
//       (../shared/bench/peers/README.md):
//       peer=<name> corpus=<name> events=<n> bytes=<b> seconds=<s> MBps=<x> events_per_s=<y> maxrss_kb=<z>
//   DecodeBenchmark stream json|proto <corpus-name> <corpus-file>
//       Streams the file in 64 KiB reads through the event decoder, as a client does with a socket, over and over
//       until the stream is STREAM_BYTES long (default 1 GB), and prints the resident memory after the first 10%
//       of the stream and at its end: memory must not grow with length.
//   DecodeBenchmark encode [accept_100_launches|acknowledge] [json|proto]
//       Times the generated encoders against swift-protobuf's (MessageCodec's .reference) on two calls, ACCEPT
//       with 100 launches and ACKNOWLEDGE, in both content types, and prints one line each:
//       bench=encode call=<name> format=json|proto bytes=<b> events_per_s=<generated> reference_events_per_s=<r> ratio=<x>
//   DecodeBenchmark plain updates.pb <updates-corpus-file>
//       What swift-protobuf's storage classes cost: the generated decoder against a prototype decoding the same
//       UPDATE events into plain value types of our own (PlainStructPrototype.swift); prints bench=decode-plain-prototype.
//   DecodeBenchmark [json|proto] ... with REFERENCE=1 in the environment decodes with the reference instead
//       (peer=swift-mesos-reference-json|proto), for comparison.
import Foundation
import Glibc
import Mesos
import MesosCodecs
import MesosRecordIO
import NIOCore

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(2)
}

func maxRSSKilobytes() -> Int {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return usage.ru_maxrss
}

func currentRSSKilobytes() -> Int {
    guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
        let pages = statm.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
    else { return -1 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE))) / 1024
}

func contentType(_ name: String) -> ContentType {
    switch name {
    case "json": .json
    case "proto", "pb", "protobuf": .protobuf
    default: fail("unknown format \(name): json or proto")
    }
}

func format(_ value: Double, _ digits: Int) -> String {
    String(format: "%.\(digits)f", value)
}

/// Counts events by type, so the decoder cannot skip work, and for the stderr note the peers print too.
struct Tally {
    var counts = [Int](repeating: 0, count: 16)
    var total = 0
    mutating func add(_ event: SchedulerEvent) {
        self.counts[min(event.type.rawValue, 15)] += 1
        self.total += 1
    }
    var note: String {
        self.counts.enumerated().filter { $0.element > 0 }
            .map { "\(SchedulerEvent.TypeEnum(rawValue: $0.offset).map { String(describing: $0) } ?? "\($0.offset)")=\($0.element)" }
            .joined(separator: " ")
    }
}

let useReference = ProcessInfo.processInfo.environment["REFERENCE"] == "1"

func decodeInMemory(format name: String, corpus: String, path: String) throws {
    let codec = MessageCodec(contentType(name), implementation: useReference ? .reference : .generated)
    let (pieces, size) = corpusPieces(path)
    var tally = Tally()
    let clock = ContinuousClock()
    let start = clock.now
    var framing = RecordIODecoder()
    for piece in pieces {
        var input = piece
        while let record = try framing.decode(buffer: &input) {
            tally.add(try codec.decode(SchedulerEvent.self, from: record))
        }
        _ = try framing.decodeLast(buffer: &input, seenEOF: true)
    }
    let elapsed = clock.now - start
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    let peer = "swift-mesos-" + (useReference ? "reference-" : "") + (codec.contentType == .json ? "json" : "proto")
    print(
        "peer=\(peer) corpus=\(corpus) events=\(tally.total) bytes=\(size) seconds=\(format(seconds, 3))"
            + " MBps=\(format(Double(size) / 1e6 / seconds, 1)) events_per_s=\(Int(Double(tally.total) / seconds))"
            + " maxrss_kb=\(maxRSSKilobytes())"
    )
    FileHandle.standardError.write(Data("# \(peer) \(corpus): \(tally.note)\n".utf8))
}

/// The corpus cut at record boundaries into buffers of at most 8 MiB (not timed). A NIO `ByteBuffer` slice can
/// start at most 16 MiB into its storage; past that, `readSlice` copies, so framing one 100 MB buffer copied every
/// record after the first 16 MiB. A client never sees that: its stream arrives in reads of kilobytes. Returns the
/// pieces and the file's size; the file's bytes themselves are freed before the clock starts.
func corpusPieces(_ path: String) -> (pieces: [ByteBuffer], bytes: Int) {
    guard let data = FileManager.default.contents(atPath: path) else { fail("cannot read \(path)") }
    let limit = 8 << 20
    // Record starts, found by reading each length prefix ("<decimal>\n"); the timed decoder checks the framing
    // itself, and a wrong cut would leave a piece ending in half a record, which it refuses.
    var cuts: [Int] = [0]
    data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
        var at = 0
        while at < bytes.count {
            var length = 0
            var digit = at
            while digit < bytes.count, bytes[digit] != UInt8(ascii: "\n"), length < 1 << 40 {
                length = length * 10 + Int(bytes[digit] &- UInt8(ascii: "0"))
                digit += 1
            }
            let next = digit + 1 + length
            if next - cuts[cuts.count - 1] > limit, at > cuts[cuts.count - 1] { cuts.append(at) }
            at = next
        }
    }
    cuts.append(data.count)
    return (zip(cuts, cuts.dropFirst()).map { ByteBuffer(bytes: data[$0..<$1]) }, data.count)
}

func decodeStreaming(format name: String, corpus: String, path: String) throws {
    let size = Int((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0)
    guard size > 0 else { fail("cannot read \(path)") }
    // The corpus again and again (it is whole records) until the stream is STREAM_BYTES long (default 1 GB).
    let streamBytes = Int(ProcessInfo.processInfo.environment["STREAM_BYTES"] ?? "") ?? 1_000_000_000
    let passes = max(1, (streamBytes + size - 1) / size)
    let processor = NIOSingleStepByteToMessageProcessor(MesosEventDecoder(SchedulerEvent.self, contentType: contentType(name)))
    var tally = Tally()
    var read = 0
    var rssAtTenth = -1
    for _ in 0..<passes {
        guard let file = FileHandle(forReadingAtPath: path) else { fail("cannot read \(path)") }
        defer { try? file.close() }
        while true {
            let chunk = file.readData(ofLength: 64 * 1024)
            if chunk.isEmpty { break }
            read += chunk.count
            try processor.process(buffer: ByteBuffer(bytes: chunk)) { tally.add($0) }
            if rssAtTenth < 0 && read >= size * passes / 10 { rssAtTenth = currentRSSKilobytes() }
        }
    }
    try processor.finishProcessing(seenEOF: true) { tally.add($0) }
    let rssAtEnd = currentRSSKilobytes()
    print(
        "bench=decode-stream-memory format=\(name) corpus=\(corpus) events=\(tally.total) bytes=\(read)"
            + " chunk_bytes=65536 rss_kb_at_10pct=\(rssAtTenth) rss_kb_at_end=\(rssAtEnd)"
            + " growth_kb=\(rssAtEnd - rssAtTenth) maxrss_kb=\(maxRSSKilobytes())"
    )
}

/// The calls the encode benchmark writes: what a scheduler sends most (ACKNOWLEDGE) and its largest (ACCEPT).
enum BenchCalls {
    static func accept(launches: Int) -> SchedulerCall {
        var call = SchedulerCall()
        call.type = .accept
        call.frameworkID.value = "18d6e804-c1d1-408a-88d4-3bd14da45902-0001"
        call.accept.offerIds = [OfferID.with { $0.value = "18d6e804-c1d1-408a-88d4-3bd14da45902-O12" }]
        var operation = Mesos_V1_Offer.Operation()
        operation.type = .launch
        for index in 0..<launches {
            var task = Mesos_V1_TaskInfo()
            task.name = "task-\(index)"
            task.taskID.value = "task-\(index)-2f1e2d3c"
            task.agentID.value = "18d6e804-c1d1-408a-88d4-3bd14da45902-S0"
            task.command.value = "./run.sh --index \(index)"
            task.command.uris = [Mesos_V1_CommandInfo.URI.with { $0.value = "http://10.0.0.1:8080/a/3f2a/app.tar.gz"; $0.extract = true }]
            for (name, value) in [("cpus", 0.5), ("mem", 128.0)] {
                var resource = Mesos_V1_Resource()
                resource.name = name
                resource.type = .scalar
                resource.scalar.value = value
                resource.allocationInfo.role = "*"
                task.resources.append(resource)
            }
            operation.launch.taskInfos.append(task)
        }
        call.accept.operations = [operation]
        call.accept.filters.refuseSeconds = 5
        return call
    }

    static func acknowledge() -> SchedulerCall {
        var call = SchedulerCall()
        call.type = .acknowledge
        call.frameworkID.value = "18d6e804-c1d1-408a-88d4-3bd14da45902-0001"
        call.acknowledge.agentID.value = "18d6e804-c1d1-408a-88d4-3bd14da45902-S0"
        call.acknowledge.taskID.value = "task-1-2f1e2d3c"
        call.acknowledge.uuid = Data((0..<16).map { UInt8($0) })
        return call
    }
}

/// Encodes `call` with `codec` for about `seconds`; returns calls per second and the size.
func encodeRate(_ call: SchedulerCall, _ codec: MessageCodec, seconds: Double) throws -> (Double, Int) {
    let clock = ContinuousClock()
    var size = 0
    var count = 0
    let start = clock.now
    var elapsed = 0.0
    repeat {
        for _ in 0..<16 { size = try codec.encode(call).count }
        count += 16
        let duration = clock.now - start
        elapsed = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    } while elapsed < seconds
    return (Double(count) / elapsed, size)
}

/// Generated and reference rounds alternate (five of each, one second each, best kept), so a busy machine slows
/// both alike.
/// `only` (call or format names) narrows the run, e.g. to profile one encoder.
func encodeBenchmark(only: Set<String>) throws {
    for (name, call) in [("accept_100_launches", BenchCalls.accept(launches: 100)), ("acknowledge", BenchCalls.acknowledge())] {
        for formatName in ["json", "proto"] where only.isEmpty || only.isSubset(of: [name, formatName]) {
            var generated = 0.0
            var reference = 0.0
            var size = 0
            for _ in 0..<5 {
                let (rate, bytes) = try encodeRate(call, MessageCodec(contentType(formatName)), seconds: 1)
                generated = max(generated, rate)
                size = bytes
                reference = max(reference, try encodeRate(call, MessageCodec(contentType(formatName), implementation: .reference), seconds: 1).0)
            }
            print(
                "bench=encode call=\(name) format=\(formatName) bytes=\(size) events_per_s=\(Int(generated))"
                    + " reference_events_per_s=\(Int(reference)) ratio=\(format(generated / reference, 2))"
            )
        }
    }
}

let arguments = Array(CommandLine.arguments.dropFirst())
do {
    if arguments.first == "encode" {
        try encodeBenchmark(only: Set(arguments.dropFirst()))
    } else if arguments.count == 3 && arguments[0] == "plain" {
        try plainPrototypeBenchmark(corpus: arguments[1], path: arguments[2])
    } else if arguments.count == 4 && arguments[0] == "stream" {
        try decodeStreaming(format: arguments[1], corpus: arguments[2], path: arguments[3])
    } else if arguments.count == 3 {
        try decodeInMemory(format: arguments[0], corpus: arguments[1], path: arguments[2])
    } else {
        fail("usage: DecodeBenchmark [stream] json|proto <corpus-name> <corpus-file>")
    }
} catch {
    fail("decode failed: \(error)")
}
