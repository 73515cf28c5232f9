package import Logging
package import NIOCore
package import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// One HTTP request as the local master and agents see it: the whole body read, headers as sent.
package struct LocalHTTPRequest: Sendable {
    package var method: HTTPMethod
    /// The request target as sent (`/api/v1/scheduler?x=1`).
    package var uri: String
    /// The path part of ``uri``, without the query.
    package var path: String
    /// The query's parameters, percent-decoded; the last one wins.
    package var query: [String: String]
    package var headers: HTTPHeaders
    package var body: ByteBuffer
    package var remoteAddress: SocketAddress?

    /// The value of header `name`, if the request has one (the first of several).
    package func header(_ name: String) -> String? { self.headers.first(name: name) }
}

/// What a handler answers: a whole response, or a stream it keeps writing to (chunked).
package enum LocalHTTPResponse: Sendable {
    case full(status: HTTPResponseStatus, headers: HTTPHeaders, body: ByteBuffer)
    /// The head goes out at once; `start` gets the writer for the body's chunks.
    case stream(status: HTTPResponseStatus, headers: HTTPHeaders, start: @Sendable (LocalHTTPStreamWriter) -> Void)

    /// A `text/plain; charset=utf-8` answer, the way Mesos writes its errors.
    package static func text(_ status: HTTPResponseStatus, _ text: String, headers extra: HTTPHeaders = [:]) -> Self {
        var headers = extra
        headers.replaceOrAdd(name: "Content-Type", value: "text/plain; charset=utf-8")
        return .full(status: status, headers: headers, body: ByteBuffer(string: text))
    }

    /// An answer without a body (`Content-Length: 0`), such as the 202 of a scheduler call.
    package static func empty(_ status: HTTPResponseStatus, headers: HTTPHeaders = [:]) -> Self {
        .full(status: status, headers: headers, body: ByteBuffer())
    }

    /// A JSON answer.
    package static func json(_ status: HTTPResponseStatus = .ok, _ body: [UInt8]) -> Self {
        .full(status: status, headers: ["Content-Type": "application/json"], body: ByteBuffer(bytes: body))
    }
}

/// The writing end of a streamed response. Thread-safe; writes after the connection closed are dropped.
package final class LocalHTTPStreamWriter: Sendable {
    private let channel: any Channel
    private let closed = Atomic<Bool>(false)
    private let onClose = Mutex<[@Sendable () -> Void]>([])

    fileprivate init(channel: any Channel) {
        self.channel = channel
        channel.closeFuture.whenComplete { [weak self] _ in self?.didClose() }
    }

    /// False once the client went away or the stream was finished or aborted.
    package var isOpen: Bool { !self.closed.load(ordering: .acquiring) }

    /// Sends `buffer` as one chunk.
    package func write(_ buffer: ByteBuffer) {
        guard self.isOpen else { return }
        self.channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(buffer)), promise: nil)
    }

    /// Ends the response properly (the terminating chunk), then closes the connection.
    package func finish() {
        guard !self.closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let channel = self.channel
        channel.writeAndFlush(HTTPServerResponsePart.end(nil)).whenComplete { _ in Self.hangUp(channel) }
        self.runCloseHandlers()
    }

    /// Drops the connection without ending the response: what a client sees when a master dies mid-stream.
    /// `partial` bytes are written first (say, half a record).
    package func abort(after partial: ByteBuffer? = nil) {
        guard !self.closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let channel = self.channel
        channel.eventLoop.execute {
            // On the event loop the partial write goes to the socket at once, before the close.
            if let partial { channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(partial)), promise: nil) }
            Self.hangUp(channel)
        }
        self.runCloseHandlers()
    }

    /// Sends FIN first (a shutdown reaches the peer even if a child process inherited the descriptor), then
    /// closes.
    static func hangUp(_ channel: any Channel) {
        channel.close(mode: .output).whenComplete { _ in channel.close(promise: nil) }
    }

    /// Runs `handler` once when the stream ends for any reason (the client went away included).
    package func whenClosed(_ handler: @escaping @Sendable () -> Void) {
        let runNow = self.onClose.withLock { handlers -> Bool in
            if self.closed.load(ordering: .acquiring) { return true }
            handlers.append(handler)
            return false
        }
        if runNow { handler() }
    }

    private func didClose() {
        self.closed.store(true, ordering: .releasing)
        self.runCloseHandlers()
    }

    private func runCloseHandlers() {
        let handlers = self.onClose.withLock { handlers in
            defer { handlers = [] }
            return handlers
        }
        for handler in handlers { handler() }
    }
}

/// A small HTTP/1.1 server for the local master and agents: whole requests in, whole or streamed responses out.
package final class LocalHTTPServer: Sendable {
    package typealias Handler = @Sendable (LocalHTTPRequest) async -> LocalHTTPResponse

    /// The largest request body read; a larger one is answered 413 and the connection closed.
    package static let maximumBodySize = 64 << 20

    private let channel: any Channel
    package let port: Int
    package let host: String
    /// Whether it serves https.
    package let usesTLS: Bool

    private init(channel: any Channel, host: String, port: Int, usesTLS: Bool) {
        self.channel = channel
        self.host = host
        self.port = port
        self.usesTLS = usesTLS
    }

    /// Listens on `host:port` (0: any free port); with `tls`, every connection speaks TLS first (https).
    ///
    /// - Throws: ``LocalTLSError`` when the certificate, key or CA cannot be used; NIO's error when the address
    ///   cannot be bound.
    package static func start(
        host: String,
        port: Int,
        tls: LocalTLSConfiguration? = nil,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger,
        handler: @escaping Handler
    ) async throws -> LocalHTTPServer {
        let context = try tls?.makeServerContext()
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if let context { try sync.addHandler(NIOSSLServerHandler(context: context)) }
                    try sync.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: true)
                    try sync.addHandler(RequestHandler(handler: handler, logger: logger))
                }
            }
        let channel = try await bootstrap.bind(host: host, port: port).get()
        return LocalHTTPServer(channel: channel, host: host, port: channel.localAddress?.port ?? port, usesTLS: tls != nil)
    }

    /// Stops listening. Connections already open are closed by ``closeAllConnections()`` or their owners.
    package func stop() async {
        try? await self.channel.close()
    }
}

/// Reads one request at a time (NIO's pipelining helper holds the next until the answer is out) and answers it.
private final class RequestHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let handler: LocalHTTPServer.Handler
    private let logger: Logger
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()
    private var tooLarge = false
    private var streaming = false

    init(handler: @escaping LocalHTTPServer.Handler, logger: Logger) {
        self.handler = handler
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            self.body.clear()
            self.tooLarge = false
        case .body(var chunk):
            if self.body.readableBytes + chunk.readableBytes > LocalHTTPServer.maximumBodySize {
                self.tooLarge = true
                self.body.clear()
            } else if !self.tooLarge {
                self.body.writeBuffer(&chunk)
            }
        case .end:
            guard let head = self.head, !self.streaming else { return }
            self.head = nil
            if self.tooLarge {
                self.write(
                    .text(.payloadTooLarge, "Request body exceeds \(LocalHTTPServer.maximumBodySize) bytes"),
                    keepAlive: false,
                    context: context
                )
                return
            }
            let (path, query) = Self.split(head.uri)
            let request = LocalHTTPRequest(
                method: head.method,
                uri: head.uri,
                path: path,
                query: query,
                headers: head.headers,
                body: self.body,
                remoteAddress: context.channel.remoteAddress
            )
            self.body = ByteBuffer()
            let keepAlive = head.isKeepAlive
            let handler = self.handler
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let eventLoop = context.eventLoop
            Task {
                let response = await handler(request)
                eventLoop.execute {
                    let (this, context) = loopBound.value
                    this.write(response, keepAlive: keepAlive, context: context)
                }
            }
        }
    }

    private func write(_ response: LocalHTTPResponse, keepAlive: Bool, context: ChannelHandlerContext) {
        switch response {
        case .full(let status, var headers, let body):
            headers.replaceOrAdd(name: "Content-Length", value: String(body.readableBytes))
            if !keepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
            let head = HTTPResponseHead(version: .http1_1, status: status, headers: headers)
            context.write(self.wrapOutboundOut(.head(head)), promise: nil)
            if body.readableBytes > 0 { context.write(self.wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
            let done = context.writeAndFlush(self.wrapOutboundOut(.end(nil)))
            if !keepAlive {
                let channel = context.channel
                done.whenComplete { _ in channel.close(promise: nil) }
            }
        case .stream(let status, var headers, let start):
            self.streaming = true
            headers.remove(name: "Content-Length")
            headers.replaceOrAdd(name: "Transfer-Encoding", value: "chunked")
            let head = HTTPResponseHead(version: .http1_1, status: status, headers: headers)
            context.writeAndFlush(self.wrapOutboundOut(.head(head)), promise: nil)
            start(LocalHTTPStreamWriter(channel: context.channel))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.logger.debug("local HTTP: connection error: \(error)")
        context.close(promise: nil)
    }

    private static func split(_ uri: String) -> (String, [String: String]) {
        guard let mark = uri.firstIndex(of: "?") else { return (uri, [:]) }
        var query: [String: String] = [:]
        for pair in uri[uri.index(after: mark)...].split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = percentDecode(parts[0])
            query[name] = parts.count > 1 ? percentDecode(parts[1]) : ""
        }
        return (String(uri[..<mark]), query)
    }
}

/// `%41` → `A`, `+` → space; malformed escapes are kept as written.
package func percentDecode(_ text: some StringProtocol) -> String {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(text.utf8.count)
    var iterator = Array(text.utf8)[...]
    while let byte = iterator.popFirst() {
        if byte == UInt8(ascii: "+") {
            bytes.append(UInt8(ascii: " "))
        } else if byte == UInt8(ascii: "%"), iterator.count >= 2,
            let high = hexValue(iterator[iterator.startIndex]),
            let low = hexValue(iterator[iterator.startIndex + 1])
        {
            bytes.append(high << 4 | low)
            iterator = iterator.dropFirst(2)
        } else {
            bytes.append(byte)
        }
    }
    return String(decoding: bytes, as: UTF8.self)
}

private func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
    default: nil
    }
}
