import Glibc
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// One request to the agent's endpoint, fully read.
struct AgentHTTPRequest: Sendable {
    var method: HTTPMethod
    var uri: String
    var headers: HTTPHeaders
    var body: [UInt8]

    /// The path without the query.
    var path: String {
        if let question = self.uri.firstIndex(of: "?") { return String(self.uri[..<question]) }
        return self.uri
    }

    /// The query parameters, percent-decoded; the first occurrence of a name wins.
    var query: [String: String] {
        guard let question = self.uri.firstIndex(of: "?") else { return [:] }
        var result: [String: String] = [:]
        for pair in self.uri[self.uri.index(after: question)...].split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = Self.percentDecode(parts[0])
            let value = parts.count > 1 ? Self.percentDecode(parts[1]) : ""
            if result[name] == nil { result[name] = value }
        }
        return result
    }

    static func percentDecode(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "+"):
                bytes.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                guard let high = iterator.next(), let low = iterator.next(),
                    let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
                else {
                    bytes.append(byte)
                    continue
                }
                bytes.append(value)
            default:
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Writes the answer to one request on its connection. Safe from any thread: every write hops to the channel's
/// event loop.
struct AgentHTTPResponder: Sendable {
    let channel: any Channel
    /// Where a streaming response is: 0 not started, 1 streaming, 2 ended. Chunks that race with the end (an event
    /// for an executor whose stream was just finished) are dropped instead of written after it, which NIO's HTTP
    /// server refuses with a precondition.
    let phase = StreamPhase()
    let keepAlive: Bool
    let version: HTTPVersion

    /// A whole response with `Content-Length`.
    func respond(_ status: HTTPResponseStatus, contentType: String? = nil, headers extra: [(String, String)] = [], body: [UInt8] = []) {
        var headers = HTTPHeaders()
        headers.add(name: "Date", value: Self.httpDate())
        if let contentType { headers.add(name: "Content-Type", value: contentType) }
        for (name, value) in extra { headers.add(name: name, value: value) }
        headers.add(name: "Content-Length", value: String(body.count))
        if !self.keepAlive { headers.add(name: "Connection", value: "close") }
        let head = HTTPResponseHead(version: self.version, status: status, headers: headers)
        let channel = self.channel
        let keepAlive = self.keepAlive
        channel.eventLoop.execute {
            channel.write(HTTPServerResponsePart.head(head), promise: nil)
            if !body.isEmpty {
                channel.write(HTTPServerResponsePart.body(.byteBuffer(channel.allocator.buffer(bytes: body))), promise: nil)
            }
            let done = channel.writeAndFlush(HTTPServerResponsePart.end(nil))
            if !keepAlive { done.whenComplete { _ in channel.close(promise: nil) } }
        }
    }

    /// A plain-text answer, as libprocess writes its errors.
    func respond(_ status: HTTPResponseStatus, text: String, headers: [(String, String)] = []) {
        self.respond(
            status,
            contentType: text.isEmpty && status != .ok ? nil : "text/plain; charset=utf-8",
            headers: headers,
            body: Array(text.utf8)
        )
    }

    /// Starts a chunked streaming response (`200 OK`, `Transfer-Encoding: chunked`).
    func startStream(contentType: String) {
        var headers = HTTPHeaders()
        headers.add(name: "Date", value: Self.httpDate())
        headers.add(name: "Transfer-Encoding", value: "chunked")
        headers.add(name: "Content-Type", value: contentType)
        let head = HTTPResponseHead(version: self.version, status: .ok, headers: headers)
        let channel = self.channel
        let phase = self.phase
        channel.eventLoop.execute {
            guard phase.advance(from: 0, to: 1) else { return }
            channel.writeAndFlush(HTTPServerResponsePart.head(head), promise: nil)
        }
    }

    /// One chunk of a streaming response.
    func send(_ bytes: [UInt8]) {
        let channel = self.channel
        let phase = self.phase
        channel.eventLoop.execute {
            guard phase.is(1) else { return }
            channel.writeAndFlush(
                HTTPServerResponsePart.body(.byteBuffer(channel.allocator.buffer(bytes: bytes))),
                promise: nil
            )
        }
    }

    /// Ends a streaming response and closes the connection.
    func finish() {
        let channel = self.channel
        let phase = self.phase
        channel.eventLoop.execute {
            guard phase.advance(from: 1, to: 2) else {
                channel.close(promise: nil)
                return
            }
            channel.writeAndFlush(HTTPServerResponsePart.end(nil)).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    var connectionID: ObjectIdentifier { ObjectIdentifier(self.channel) }

    /// `Sun, 22 Nov 2026 04:56:32 GMT`, as libprocess dates its responses.
    static func httpDate() -> String {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 64)
        let count = strftime(&buffer, buffer.count, "%a, %d %b %Y %H:%M:%S GMT", &parts)
        return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Receives requests for the agent's router.
protocol AgentHTTPRouter: AnyObject, Sendable {
    func handle(_ request: AgentHTTPRequest, responder: AgentHTTPResponder)
    func connectionClosed(_ connection: ObjectIdentifier)
}

/// Collects one request (head, body, end) and hands it to the router.
final class AgentHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    static let maximumBodySize = 16 << 20

    private let router: any AgentHTTPRouter
    /// On the executors' domain socket only the executor API may be asked for (`/slave(1)/api/v1/executor` and
    /// `/slave(1)/api/v1`, as the real agent allows); anything else is answered 403.
    private let executorSocket: Bool
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var tooLarge = false

    init(router: any AgentHTTPRouter, executorSocket: Bool = false) {
        self.router = router
        self.executorSocket = executorSocket
    }

    /// The paths the real agent lets through its executor socket.
    static let executorSocketPaths: Set<String> = ["/slave(1)/api/v1/executor", "/slave(1)/api/v1"]

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            self.body = []
            self.tooLarge = false
        case .body(let buffer):
            guard !self.tooLarge else { return }
            if self.body.count + buffer.readableBytes > Self.maximumBodySize {
                self.tooLarge = true
                self.body = []
            } else {
                self.body.append(contentsOf: buffer.readableBytesView)
            }
        case .end:
            guard let head = self.head else { return }
            self.head = nil
            let responder = AgentHTTPResponder(
                channel: context.channel,
                keepAlive: head.isKeepAlive && !self.tooLarge,
                version: head.version
            )
            if self.tooLarge {
                responder.respond(.payloadTooLarge, text: "Request body is too large")
                return
            }
            let request = AgentHTTPRequest(method: head.method, uri: head.uri, headers: head.headers, body: self.body)
            self.body = []
            if self.executorSocket && !Self.executorSocketPaths.contains(request.path) {
                responder.respond(.forbidden)
                return
            }
            self.router.handle(request, responder: responder)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.router.connectionClosed(ObjectIdentifier(context.channel))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

enum AgentHTTPServer {
    /// Binds `host:port` and serves `router` on the shared NIO event loop group; with `tls`, https.
    static func bind(
        host: String,
        port: Int,
        tls: NIOSSLContext? = nil,
        router: any AgentHTTPRouter
    ) async throws(LocalAgentError) -> any Channel {
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if let tls { try sync.addHandler(NIOSSLServerHandler(context: tls)) }
                    try sync.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: true)
                    try sync.addHandler(AgentHTTPHandler(router: router))
                }
            }
        do {
            return try await bootstrap.bind(host: host, port: port).get()
        } catch {
            throw LocalAgentError(code: .bindFailed, message: "Failed to bind \(host):\(port)", underlying: error)
        }
    }

    /// Binds the executors' unix domain socket at `path` (`--domain_socket_location`) as the real agent makes it: a
    /// socket file left by an earlier run is removed first, the new one is made readable and writable by everyone
    /// (0666), and it speaks plain HTTP (never TLS) for the executor API only.
    static func bindExecutorSocket(path: String, router: any AgentHTTPRouter) async throws(LocalAgentError) -> any Channel {
        guard path.utf8.count < AgentHTTPServer.maximumSocketPathLength else {
            throw LocalAgentError(
                code: .bindFailed,
                message: "Domain socket location '\(path)' must have less than \(AgentHTTPServer.maximumSocketPathLength) characters."
            )
        }
        var info = stat()
        if lstat(path, &info) == 0 && (info.st_mode & 0o170000) == 0o140000 { unlink(path) }  // S_IFSOCK
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: true)
                    try sync.addHandler(AgentHTTPHandler(router: router, executorSocket: true))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.bind(unixDomainSocketPath: path).get()
        } catch {
            throw LocalAgentError(code: .bindFailed, message: "Failed to bind domain socket to path \(path)", underlying: error)
        }
        guard chmod(path, 0o666) == 0 else {
            let reason = String(cString: strerror(errno))
            try? await channel.close()
            throw LocalAgentError(code: .bindFailed, message: "Couldn't change domain socket permissions: \(reason)")
        }
        return channel
    }

    /// `sizeof(sockaddr_un.sun_path)`: a socket path must be shorter (the terminating NUL takes the last byte).
    static let maximumSocketPathLength = 108
}

/// The state of one streaming response, shared by the copies of its responder.
final class StreamPhase: Sendable {
    private let value = Mutex(0)

    func advance(from: Int, to: Int) -> Bool {
        self.value.withLock { value in
            guard value == from else { return false }
            value = to
            return true
        }
    }

    func `is`(_ phase: Int) -> Bool { self.value.withLock { $0 == phase } }
}
