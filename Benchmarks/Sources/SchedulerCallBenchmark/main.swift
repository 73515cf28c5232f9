// Usage: SchedulerCallBenchmark [calls=20000] [content=json|protobuf|both] [concurrency=1]
// Starts a minimal in-process master on 127.0.0.1 (NIO: SUBSCRIBE answered with a SUBSCRIBED stream, every other
// call with 202), subscribes a SchedulerClient, then times `calls` REVIVE calls on the client's one keep-alive calls
// connection (`concurrency` tasks at once; the client sends them one at a time, in order). Prints per content type:
//   bench=scheduler-calls content=<json|protobuf> calls=<n> concurrency=<c> seconds=<s> calls_per_s=<x>
//     us_per_call=<y> call_connections=<k>
// call_connections counts the TCP connections the calls used (1 when keep-alive works).
import Foundation
import Mesos
import MesosCodecs
import MesosRecordIO
import MesosScheduler
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

let arguments = Dictionary(
    CommandLine.arguments.dropFirst().compactMap { argument -> (String, String)? in
        let parts = argument.split(separator: "=", maxSplits: 1).map(String.init)
        return parts.count == 2 ? (parts[0], parts[1]) : nil
    },
    uniquingKeysWith: { $1 }
)
let calls = Int(arguments["calls"] ?? "") ?? 20_000
let concurrency = max(1, Int(arguments["concurrency"] ?? "") ?? 1)
let contentTypes: [ContentType] =
    switch arguments["content"] ?? "both" {
    case "json": [.json]
    case "protobuf", "proto": [.protobuf]
    default: [.json, .protobuf]
    }

/// The master: counts connections that carried calls.
final class Master: Sendable {
    let callConnections = Mutex<Set<ObjectIdentifier>>([])

    final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let master: Master
        var head: HTTPRequestHead?
        var body = ByteBuffer()
        init(master: Master) { self.master = master }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch self.unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                self.body.clear()
            case .body(var chunk):
                self.body.writeBuffer(&chunk)
            case .end:
                guard let head = self.head else { return }
                let type = head.headers.first(name: "Content-Type").flatMap { ContentType(mediaType: $0) } ?? .json
                guard let call = try? MessageCodec(type).decode(SchedulerCall.self, from: self.body) else {
                    return self.answer(context, .badRequest)
                }
                if call.type == .subscribe {
                    var event = SchedulerEvent()
                    event.type = .subscribed
                    event.subscribed.frameworkID = "bench-framework"
                    event.subscribed.heartbeatIntervalSeconds = 15
                    var record = ByteBuffer()
                    try? MessageCodec(type).encodeRecord(event, into: &record)
                    var headers = HTTPHeaders()
                    headers.add(name: "Transfer-Encoding", value: "chunked")
                    headers.add(name: "Content-Type", value: type.mediaType)
                    headers.add(name: "Mesos-Stream-Id", value: "bench-stream")
                    context.write(self.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
                    context.writeAndFlush(self.wrapOutboundOut(.body(.byteBuffer(record))), promise: nil)
                } else {
                    let id = ObjectIdentifier(context.channel)
                    self.master.callConnections.withLock { _ = $0.insert(id) }
                    self.answer(context, .accepted)
                }
            }
        }

        func answer(_ context: ChannelHandlerContext, _ status: HTTPResponseStatus) {
            var headers = HTTPHeaders()
            headers.add(name: "Content-Length", value: "0")
            context.write(self.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
            context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}

let master = Master()
let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.configureHTTPServerPipeline()
            try channel.pipeline.syncOperations.addHandler(Master.Handler(master: master))
        }
    }
    .bind(host: "127.0.0.1", port: 0).get()
let port = server.localAddress?.port ?? 0

for type in contentTypes {
    master.callConnections.withLock { $0.removeAll() }
    var configuration = SchedulerConfiguration(masters: ["http://127.0.0.1:\(port)"])
    configuration.contentType = type
    let client = SchedulerClient(configuration: configuration)
    var info = FrameworkInfo()
    info.user = "bench"
    info.name = "scheduler-call-benchmark"
    let events = try await client.subscribe(info)
    for _ in 0..<200 { try await client.revive() }  // warm up
    let clock = ContinuousClock()
    let started = clock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        for worker in 0..<concurrency {
            let share = calls / concurrency + (worker < calls % concurrency ? 1 : 0)
            group.addTask {
                for _ in 0..<share { try await client.revive() }
            }
        }
        try await group.waitForAll()
    }
    let elapsed = clock.now - started
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    let name = type == .json ? "json" : "protobuf"
    let connections = master.callConnections.withLock { $0.count }
    print(
        "bench=scheduler-calls content=\(name) calls=\(calls) concurrency=\(concurrency)"
            + " seconds=\(String(format: "%.3f", seconds)) calls_per_s=\(Int(Double(calls) / seconds))"
            + " us_per_call=\(String(format: "%.1f", seconds * 1e6 / Double(calls))) call_connections=\(connections)"
    )
    try await client.stop()
    _ = events
}
try await server.close().get()
