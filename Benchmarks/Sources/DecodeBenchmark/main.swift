// Usage:
//   DecodeBenchmark json|proto <corpus-name> <corpus-file>
//       Reads the file into memory (not timed), then times decoding every RecordIO record into a typed
//       mesos.v1.scheduler.Event, and prints the peers' line (../shared/bench/peers/README.md):
//       peer=<name> corpus=<name> events=<n> bytes=<b> seconds=<s> MBps=<x> events_per_s=<y> maxrss_kb=<z>
//   DecodeBenchmark stream json|proto <corpus-name> <corpus-file>
//       Streams the file in 64 KiB reads through the event decoder, as a client does with a socket, and prints
//       the resident memory after the first 10% of the stream and at its end: memory must not grow with length.
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

func decodeInMemory(format name: String, corpus: String, path: String) throws {
    let codec = MessageCodec(contentType(name))
    guard let data = FileManager.default.contents(atPath: path) else { fail("cannot read \(path)") }
    let stream = ByteBuffer(bytes: data)
    var tally = Tally()
    let clock = ContinuousClock()
    let start = clock.now
    var input = stream
    var framing = RecordIODecoder()
    while let record = try framing.decode(buffer: &input) {
        tally.add(try codec.decode(SchedulerEvent.self, from: record))
    }
    _ = try framing.decodeLast(buffer: &input, seenEOF: true)
    let elapsed = clock.now - start
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    let peer = "swift-mesos-" + (codec.contentType == .json ? "json" : "proto")
    print(
        "peer=\(peer) corpus=\(corpus) events=\(tally.total) bytes=\(data.count) seconds=\(format(seconds, 3))"
            + " MBps=\(format(Double(data.count) / 1e6 / seconds, 1)) events_per_s=\(Int(Double(tally.total) / seconds))"
            + " maxrss_kb=\(maxRSSKilobytes())"
    )
    FileHandle.standardError.write(Data("# \(peer) \(corpus): \(tally.note)\n".utf8))
}

func decodeStreaming(format name: String, corpus: String, path: String) throws {
    guard let file = FileHandle(forReadingAtPath: path) else { fail("cannot read \(path)") }
    let size = Int((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0)
    let processor = NIOSingleStepByteToMessageProcessor(MesosEventDecoder(SchedulerEvent.self, contentType: contentType(name)))
    var tally = Tally()
    var read = 0
    var rssAtTenth = -1
    while true {
        let chunk = file.readData(ofLength: 64 * 1024)
        if chunk.isEmpty { break }
        read += chunk.count
        try processor.process(buffer: ByteBuffer(bytes: chunk)) { tally.add($0) }
        if rssAtTenth < 0 && read >= size / 10 { rssAtTenth = currentRSSKilobytes() }
    }
    try processor.finishProcessing(seenEOF: true) { tally.add($0) }
    let rssAtEnd = currentRSSKilobytes()
    print(
        "bench=decode-stream-memory format=\(name) corpus=\(corpus) events=\(tally.total) bytes=\(read)"
            + " chunk_bytes=65536 rss_kb_at_10pct=\(rssAtTenth) rss_kb_at_end=\(rssAtEnd)"
            + " growth_kb=\(rssAtEnd - rssAtTenth) maxrss_kb=\(maxRSSKilobytes())"
    )
}

let arguments = Array(CommandLine.arguments.dropFirst())
do {
    if arguments.count == 4 && arguments[0] == "stream" {
        try decodeStreaming(format: arguments[1], corpus: arguments[2], path: arguments[3])
    } else if arguments.count == 3 {
        try decodeInMemory(format: arguments[0], corpus: arguments[1], path: arguments[2])
    } else {
        fail("usage: DecodeBenchmark [stream] json|proto <corpus-name> <corpus-file>")
    }
} catch {
    fail("decode failed: \(error)")
}
