import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A scripted HTTP/1.1 server on loopback (TCP port 0, or a unix socket), for the transport tests.
///
/// Routes: `/echo` (method, headers and body back as text), `/status/N` (that status, body "status N",
/// `Location: //elsewhere/x` for 3xx), `/stream/N/S` (N chunks of S bytes, written as fast as the client takes
/// them), `/hang` (never answers), `/head-then-hang` (200 head, then nothing).
final class TestHTTPServer: Sendable {
    let channel: any Channel
    let connections = Atomic<Int>(0)
    let closedStreams = Atomic<Int>(0)
    /// Bytes of `/stream` bodies the server has handed to the socket (it writes a chunk once the last one is flushed).
    let streamedBytes = Atomic<Int>(0)

    var port: Int { self.channel.localAddress!.port! }
    var baseURL: String { "http://127.0.0.1:\(self.port)" }

    private init(channel: any Channel) { self.channel = channel }

    static func start(unixSocket: String? = nil) async throws -> TestHTTPServer {
        let box = Mutex<TestHTTPServer?>(nil)
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                box.withLock { $0 }?.connections.add(1, ordering: .relaxed)
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(server: { box.withLock { $0 } }))
                }
            }
        let channel: any Channel
        if let unixSocket {
            channel = try await bootstrap.bind(unixDomainSocketPath: unixSocket, cleanupExistingSocketFile: true).get()
        } else {
            channel = try await bootstrap.bind(host: "127.0.0.1", port: 0).get()
        }
        let server = TestHTTPServer(channel: channel)
        box.withLock { $0 = server }
        return server
    }

    func stop() async { try? await self.channel.close() }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let server: @Sendable () -> TestHTTPServer?
        var head: HTTPRequestHead?
        var body = ByteBuffer()
        var streaming = false

        init(server: @escaping @Sendable () -> TestHTTPServer?) { self.server = server }

        func channelInactive(context: ChannelHandlerContext) {
            if self.streaming { self.server()?.closedStreams.add(1, ordering: .relaxed) }
            context.fireChannelInactive()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch self.unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                self.body.clear()
            case .body(var chunk):
                self.body.writeBuffer(&chunk)
            case .end:
                self.respond(context)
            }
        }

        private func respond(_ context: ChannelHandlerContext) {
            guard let head = self.head else { return }
            let parts = head.uri.split(separator: "/").map(String.init)
            switch parts.first {
            case "echo":
                var text = "method=\(head.method.rawValue)\n"
                for (name, value) in head.headers { text += "\(name.lowercased())=\(value)\n" }
                text += "body=" + String(buffer: self.body)
                self.send(context, status: .ok, body: ByteBuffer(string: text))
            case "status" where parts.count == 2:
                let status = HTTPResponseStatus(statusCode: Int(parts[1]) ?? 500)
                var headers = HTTPHeaders()
                if (300..<400).contains(status.code) { headers.add(name: "Location", value: "//elsewhere/x") }
                self.send(context, status: status, headers: headers, body: ByteBuffer(string: "status \(status.code)"))
            case "stream" where parts.count == 3:
                self.streaming = true
                let count = Int(parts[1]) ?? 0
                let chunk = ByteBuffer(repeating: 0x61, count: Int(parts[2]) ?? 1)
                var headers = HTTPHeaders()
                headers.add(name: "Transfer-Encoding", value: "chunked")
                context.writeAndFlush(self.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
                self.writeChunks(context, chunk: chunk, left: count)
            case "head-then-hang":
                self.streaming = true
                var headers = HTTPHeaders()
                headers.add(name: "Transfer-Encoding", value: "chunked")
                context.writeAndFlush(self.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            case "hang":
                break
            default:
                self.send(context, status: .notFound, body: ByteBuffer(string: "no route"))
            }
        }

        /// Writes one chunk at a time, each after the previous one was flushed: the client's pace sets ours.
        private func writeChunks(_ context: ChannelHandlerContext, chunk: ByteBuffer, left: Int) {
            guard left > 0 else {
                context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
                return
            }
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            context.writeAndFlush(self.wrapOutboundOut(.body(.byteBuffer(chunk)))).whenSuccess {
                let (handler, context) = loopBound.value
                handler.server()?.streamedBytes.add(chunk.readableBytes, ordering: .relaxed)
                handler.writeChunks(context, chunk: chunk, left: left - 1)
            }
        }

        private func send(_ context: ChannelHandlerContext, status: HTTPResponseStatus, headers: HTTPHeaders = HTTPHeaders(), body: ByteBuffer) {
            var headers = headers
            headers.add(name: "Content-Length", value: String(body.readableBytes))
            context.write(self.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
            context.write(self.wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
