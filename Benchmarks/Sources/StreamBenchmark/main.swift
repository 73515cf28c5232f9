// End-to-end stream decoding: a recorded corpus served as one chunked event stream over loopback HTTP, read and
// decoded by SchedulerClient, against the same records decoded from memory. Prints one `bench=scheduler-stream`
// line. Kept apart from ClusterBenchmark so that it builds without the local master.
//
// Usage: StreamBenchmark CORPUS_RIO NAME (PROFILE=loopback|memory: that kind of round only, for perf)
import BenchSupport
import Foundation
import Mesos
import MesosCodecs
import MesosRecordIO
import MesosScheduler
import NIOCore
import NIOHTTP1
import NIOPosix

/// Serves SUBSCRIBED and then a recorded corpus as one chunked HTTP response, like a master's event stream.
///
/// The body goes out of a file with `sendfile`, in 64 KiB chunks: on two cores the serving side shares the machine
/// with the client being measured (a real master runs elsewhere), so it should cost as little as it can.
final class CorpusHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    let path: String
    let size: Int
    let contentType: String

    init(path: String, size: Int, contentType: String) {
        self.path = path
        self.size = size
        self.contentType = contentType
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .end = self.unwrapInboundIn(data) else { return }
        let headers: HTTPHeaders = ["Content-Type": self.contentType, "Mesos-Stream-Id": "bench", "Transfer-Encoding": "chunked"]
        context.write(self.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
        guard let handle = try? NIOFileHandle(_deprecatedPath: self.path) else {
            context.close(promise: nil)
            return
        }
        for start in stride(from: 0, to: self.size, by: 65536) {
            let region = FileRegion(fileHandle: handle, readerIndex: start, endIndex: min(start + 65536, self.size))
            context.write(self.wrapOutboundOut(.body(.fileRegion(region))), promise: nil)
        }
        context.writeAndFlush(self.wrapOutboundOut(.end(nil))).whenComplete { _ in
            try? handle.close()
            context.close(promise: nil)
        }
    }
}

func stream(corpus path: String, name: String) async throws {
    let proto = path.hasSuffix(".pb.rio")
    let codec = MessageCodec(proto ? .protobuf : .json)
    let corpus = try Data(contentsOf: URL(fileURLWithPath: path))
    // The corpus's records, and a SUBSCRIBED record in front.
    var subscribed = SchedulerEvent()
    subscribed.type = .subscribed
    subscribed.subscribed.frameworkID = "bench"
    subscribed.subscribed.heartbeatIntervalSeconds = 3600
    var body = ByteBuffer()
    RecordIOEncoder.frame(try codec.encode(subscribed), into: &body)
    body.writeBytes(corpus)
    let events = try RecordIODecoder.records(in: ByteBuffer(bytes: corpus)).count

    // In memory (the same records decoded from one buffer) and over loopback, alternately, best of three each, so
    // both see the same machine.
    func memoryRound() throws -> Double {
        var decoder = MesosEventDecoder(SchedulerEvent.self, codec: codec, maximumRecordSize: 64 << 20)
        var buffer = ByteBuffer(bytes: corpus)
        let started = ContinuousClock.now
        var decoded = 0
        while let _ = try decoder.decode(buffer: &buffer) { decoded += 1 }
        return Double(decoded) / seconds(ContinuousClock.now - started)
    }

    let bodyPath = FileManager.default.temporaryDirectory.appendingPathComponent("stream-bench-\(getpid()).rio").path
    try Data(body.readableBytesView).write(to: URL(fileURLWithPath: bodyPath))
    defer { try? FileManager.default.removeItem(atPath: bodyPath) }
    let bodySize = body.readableBytes
    let group = MultiThreadedEventLoopGroup.singleton
    let server = try await ServerBootstrap(group: group)
        .childChannelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                try channel.pipeline.syncOperations.addHandler(
                    CorpusHandler(path: bodyPath, size: bodySize, contentType: codec.contentType.mediaType)
                )
            }
        }
        .bind(host: "127.0.0.1", port: 0).get()
    let url = "http://127.0.0.1:\(server.localAddress!.port!)"
    var setup = Double.infinity
    func loopbackRound() async throws -> Double {
        var configuration = SchedulerConfiguration(masters: [url])
        configuration.contentType = codec.contentType
        configuration.reconnect = .never
        configuration.maximumRecordSize = 64 << 20
        let client = SchedulerClient(configuration: configuration)
        let subscribing = ContinuousClock.now
        let stream = try await client.subscribe(framework("stream-bench"))
        // The clock starts once subscribed (connecting and the SUBSCRIBED event are not decoding); the setup time is
        // printed on its own.
        let started = ContinuousClock.now
        setup = min(setup, seconds(started - subscribing))
        var received = 0
        do {
            for try await event in stream {
                switch event {
                case .subscribed, .disconnected: break
                default: received += 1
                }
                if received == events { break }
            }
        } catch {}
        let rate = Double(received) / seconds(ContinuousClock.now - started)
        try? await client.stop(teardown: false)
        return rate
    }
    var memoryBest = 0.0
    var loopbackBest = 0.0
    // PROFILE=loopback or PROFILE=memory runs ten rounds of that kind only, so that a profiler sees one path alone.
    let profile = ProcessInfo.processInfo.environment["PROFILE"]
    for _ in 0..<(profile == nil ? 3 : 10) {
        if profile != "loopback" { memoryBest = max(memoryBest, try memoryRound()) }
        if profile != "memory" { loopbackBest = max(loopbackBest, try await loopbackRound()) }
    }
    try await server.close()
    line("scheduler-stream", [
        "corpus": name, "events": events, "loopback_events_per_s": loopbackBest, "memory_events_per_s": memoryBest,
        "fraction_of_memory": loopbackBest / memoryBest, "subscribe_ms": setup * 1000,
    ])
}

let arguments = CommandLine.arguments
guard arguments.count == 3 else {
    print("usage: StreamBenchmark CORPUS_RIO NAME")
    exit(2)
}
try await stream(corpus: arguments[1], name: arguments[2])
