// Heap allocations per decoded event: the generated decoders against the reference (swift-protobuf with the Mesos
// reader), on the peers' corpora. Every allocation of the process is counted (CMallocCount replaces malloc and its
// kin in this executable only), across decoding the first EVENTS records (default 20,000) of a corpus; the records
// are framed beforehand, and each event is dropped once decoded, as a scheduler that handles it would.
//
// Usage: DecodeAllocations json|proto <corpus-name> <corpus-file>
// Prints: bench=decode-allocations format=<f> corpus=<name> events=<n> allocations_per_event=<a>
//         bytes_per_event=<b> reference_allocations_per_event=<r> reference_bytes_per_event=<rb>
import CMallocCount
import Foundation
import Mesos
import MesosCodecs
import MesosRecordIO
import NIOCore

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(2)
}

let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count == 3 else { fail("usage: DecodeAllocations json|proto <corpus-name> <corpus-file>") }
let contentType: ContentType =
    switch arguments[0] {
    case "json": .json
    case "proto", "pb", "protobuf": .protobuf
    default: fail("unknown format \(arguments[0]): json or proto")
    }
let limit = Int(ProcessInfo.processInfo.environment["EVENTS"] ?? "") ?? 20_000
guard let data = FileManager.default.contents(atPath: arguments[2]) else { fail("cannot read \(arguments[2])") }
let records = Array(try RecordIODecoder.records(in: ByteBuffer(bytes: data)).prefix(limit))

/// Allocations and bytes per record of decoding every record with `codec`.
func measure(_ codec: MessageCodec) throws -> (allocations: Double, bytes: Double) {
    var decoded = 0
    // One pass first, so that what is allocated once (type metadata, caches) is not counted.
    for record in records.prefix(100) { _ = try codec.decode(SchedulerEvent.self, from: record) }
    let allocations = mesos_bench_allocations()
    let bytes = mesos_bench_allocated_bytes()
    for record in records {
        let event = try codec.decode(SchedulerEvent.self, from: record)
        if event.hasType { decoded += 1 }
    }
    let count = Double(max(decoded, 1))
    return (Double(mesos_bench_allocations() - allocations) / count, Double(mesos_bench_allocated_bytes() - bytes) / count)
}

let generated = try measure(MessageCodec(contentType, implementation: .generated))
let reference = try measure(MessageCodec(contentType, implementation: .reference))
func f(_ value: Double) -> String { String(format: "%.1f", value) }
print(
    "bench=decode-allocations format=\(arguments[0]) corpus=\(arguments[1]) events=\(records.count)"
        + " allocations_per_event=\(f(generated.allocations)) bytes_per_event=\(f(generated.bytes))"
        + " reference_allocations_per_event=\(f(reference.allocations)) reference_bytes_per_event=\(f(reference.bytes))"
)
