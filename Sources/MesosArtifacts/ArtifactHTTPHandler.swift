import Glibc
import Logging
import Metrics
import NIOCore
import NIOHTTP1

/// Serves one connection: GET and HEAD of registered artifacts, conditional requests, single byte ranges;
/// files go out with `sendfile` (a `FileRegion`), never through user-space buffers.
final class ArtifactHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// Sent down the pipeline on graceful shutdown: finish the response under way, then close.
    struct DrainEvent {}

    /// Files are sent with `sendfile` in regions of this size; each completed region counts as activity for the
    /// idle timeout, so a download moving at more than regionSize per idle timeout is never cut.
    static let regionSize = 1 << 20
    static let serverName = "swift-mesos-artifacts"

    private let registry: ArtifactRegistry
    private let context: ServerContext
    private var request: HTTPRequestHead?
    private var hasBody = false
    private var responding = false
    private var draining = false
    /// One repeating check per connection (not a timer per request): closes the connection when it has waited
    /// longer than the header timeout for a request head to complete.
    private var headerCheck: RepeatedTask?
    /// When the connection started waiting for the next request head; nil while a request is being answered.
    private var waitingSince: NIODeadline? = .now()
    private var started = ContinuousClock.now
    /// When the response under way last got a piece of its body out.
    private var lastProgress = NIODeadline.now()

    init(registry: ArtifactRegistry, context: ServerContext) {
        self.registry = registry
        self.context = context
    }

    func channelActive(context: ChannelHandlerContext) {
        self.waitingSince = .now()
        let timeout = TimeAmount(self.context.configuration.headerTimeout)
        let interval = TimeAmount.nanoseconds(max(50_000_000, timeout.nanoseconds / 4))
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        self.headerCheck = context.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            let (handler, context) = loopBound.value
            guard let since = handler.waitingSince, handler.request == nil, !handler.responding,
                NIODeadline.now() - since >= timeout
            else { return }
            handler.context.logger?.debug(
                "artifact server: request head timed out",
                metadata: ["mesos.peer": "\(context.remoteAddress.map { "\($0)" } ?? "?")"]
            )
            context.close(promise: nil)
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.headerCheck?.cancel()
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is DrainEvent {
            self.draining = true
            if self.request == nil && !self.responding { context.close(promise: nil) }
        } else if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .all {
            // Between requests, idle means idle. During a download, only a download that stopped moving is cut.
            if self.responding
                && NIODeadline.now() - self.lastProgress < TimeAmount(self.context.configuration.downloadStallTimeout)
            {
                return
            }
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .head(let head):
            self.waitingSince = nil
            self.request = head
            self.hasBody = false
            self.started = .now
        case .body:
            self.hasBody = true
        case .end:
            guard let head = self.request else { return }
            self.respond(to: head, context: context)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? HTTPParserError {
            self.context.logger?.debug("artifact server: malformed request", metadata: ["mesos.error": "\(error)"])
            self.sendError(.badRequest, keepAlive: false, context: context)
        } else {
            context.close(promise: nil)
        }
    }

    // MARK: - Responses

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        let keepAlive = head.isKeepAlive && !self.draining
        guard head.method == .GET || head.method == .HEAD else {
            var headers = HTTPHeaders()
            headers.add(name: "Allow", value: "GET, HEAD")
            return self.send(.methodNotAllowed, headers: headers, keepAlive: keepAlive, head: head, context: context)
        }
        guard !self.hasBody else { return self.send(.badRequest, keepAlive: false, head: head, context: context) }
        let registry = self.registry
        guard let entry = self.context.route(head.uri, { registry.entry(key: $0, encodedName: $1) }) else {
            return self.send(.notFound, keepAlive: keepAlive, head: head, context: context)
        }

        // What to send the body from: the bytes in memory, or an open file checked to be the version hashed.
        var fd: Int32 = -1
        var memory: ByteBuffer? = nil
        switch entry.source {
        case .memory(let buffer):
            memory = buffer
        case .file(let path, let identity, let snapshot?):
            guard ArtifactRegistry.isUnchanged(path: path, identity) else {
                return self.changed(path: path, entry: entry, keepAlive: keepAlive, head: head, context: context)
            }
            memory = snapshot
        case .file(let path, let identity, nil):
            fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0, ArtifactRegistry.isUnchanged(fd, identity) else {
                if fd >= 0 { close(fd) }
                return self.changed(path: path, entry: entry, keepAlive: keepAlive, head: head, context: context)
            }
        }

        let etag = entry.etagHeader
        let conditional = head.headers.contains(name: "If-None-Match") || head.headers.contains(name: "If-Modified-Since")
        let ranged = head.method == .GET && head.headers.contains(name: "Range")
        var status = HTTPResponseStatus.ok
        var range = 0..<entry.size
        var headers: HTTPHeaders
        let prebuilt = !conditional && !ranged
        if prebuilt {
            // The common case: the whole artifact, with headers made at registration.
            headers = entry.fullResponseHeaders
        } else {
            headers = HTTPHeaders()
            headers.reserveCapacity(10)
            for (name, value) in ArtifactRegistry.Entry.validatorHeaders(etag: etag, lastModified: entry.lastModifiedHeader) {
                headers.add(name: name, value: value)
            }
            if Self.notModified(head.headers, etag: etag, lastModified: entry.lastModified) {
                if fd >= 0 { close(fd) }
                return self.send(.notModified, headers: headers, keepAlive: keepAlive, head: head, context: context)
            }
            if ranged, let rangeHeader = head.headers.first(name: "Range"),
                Self.ifRangeAllows(head.headers, etag: etag, lastModified: entry.lastModified)
            {
                switch ByteRange.parse(rangeHeader, size: entry.size) {
                case .none: break
                case .unsatisfiable:
                    if fd >= 0 { close(fd) }
                    headers.add(name: "Content-Range", value: "bytes */\(entry.size)")
                    return self.send(.rangeNotSatisfiable, headers: headers, keepAlive: keepAlive, head: head, context: context)
                case .range(let requested):
                    status = .partialContent
                    range = requested
                    headers.add(name: "Content-Range", value: "bytes \(requested.lowerBound)-\(requested.upperBound - 1)/\(entry.size)")
                }
            }
            headers.add(name: "Content-Type", value: "application/octet-stream")
            headers.add(name: "Content-Length", value: String(range.count))
        }
        self.responding = true
        self.writeHead(status, headers: headers, hasServer: prebuilt, keepAlive: keepAlive, context: context)

        var bodyBytes = 0
        if head.method == .GET && !range.isEmpty {
            bodyBytes = range.count
            if let memory {
                let slice = memory.getSlice(at: memory.readerIndex + range.lowerBound, length: range.count)!
                context.write(self.wrapOutboundOut(.body(.byteBuffer(slice))), promise: nil)
            } else {
                let handle = NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: fd)
                fd = -1
                // In pieces, so each one's completion tells the stall check a slow download is still moving.
                self.lastProgress = .now()
                let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
                for start in stride(from: range.lowerBound, to: range.upperBound, by: Self.regionSize) {
                    let region = FileRegion(fileHandle: handle, readerIndex: start, endIndex: min(start + Self.regionSize, range.upperBound))
                    let written = context.eventLoop.makePromise(of: Void.self)
                    written.futureResult.whenSuccess { loopBound.value.lastProgress = .now() }
                    context.write(self.wrapOutboundOut(.body(.fileRegion(region))), promise: written)
                }
                self.finish(status, bytes: bodyBytes, keepAlive: keepAlive, head: head, context: context) { try? handle.close() }
                return
            }
        }
        if fd >= 0 { close(fd) }
        self.finish(status, bytes: bodyBytes, keepAlive: keepAlive, head: head, context: context) {}
    }

    private func changed(
        path: String,
        entry: ArtifactRegistry.Entry,
        keepAlive: Bool,
        head: HTTPRequestHead,
        context: ChannelHandlerContext
    ) {
        self.context.logger?.warning(
            "artifact server: a registered file changed or vanished; not serving it under its old hash",
            metadata: ["mesos.artifact": "\(path)", "mesos.sha256": "\(entry.sha256)"]
        )
        self.send(.notFound, keepAlive: keepAlive, head: head, context: context)
    }

    /// - Parameters:
    ///   - hasServer: the headers already name the server (the ones made at registration do).
    private func writeHead(
        _ status: HTTPResponseStatus,
        headers: HTTPHeaders,
        hasServer: Bool = false,
        keepAlive: Bool,
        context: ChannelHandlerContext
    ) {
        var headers = headers
        headers.add(name: "Date", value: HTTPDate.now())
        if !hasServer { headers.add(name: "Server", value: Self.serverName) }
        if !keepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
        let version = self.request?.version ?? .http1_1
        context.write(self.wrapOutboundOut(.head(HTTPResponseHead(version: version, status: status, headers: headers))), promise: nil)
    }

    /// A response without a body (errors, 304, 416).
    private func send(
        _ status: HTTPResponseStatus,
        headers: HTTPHeaders = HTTPHeaders(),
        keepAlive: Bool,
        head: HTTPRequestHead,
        context: ChannelHandlerContext
    ) {
        var headers = headers
        let body: ByteBuffer? = status.code >= 400 ? ByteBuffer(string: "\(status.code) \(status.reasonPhrase)\n") : nil
        if let body {
            headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
            headers.add(name: "Content-Length", value: String(body.readableBytes))
        } else if status != .notModified {
            headers.add(name: "Content-Length", value: "0")
        }
        self.responding = true
        self.writeHead(status, headers: headers, keepAlive: keepAlive, context: context)
        if let body, head.method != .HEAD { context.write(self.wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        self.finish(status, bytes: 0, keepAlive: keepAlive, head: head, context: context) {}
    }

    private func sendError(_ status: HTTPResponseStatus, keepAlive: Bool, context: ChannelHandlerContext) {
        let head = self.request ?? HTTPRequestHead(version: .http1_1, method: .GET, uri: "-")
        self.send(status, keepAlive: keepAlive, head: head, context: context)
    }

    private func finish(
        _ status: HTTPResponseStatus,
        bytes: Int,
        keepAlive: Bool,
        head: HTTPRequestHead,
        context: ChannelHandlerContext,
        cleanup: @escaping @Sendable () -> Void
    ) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let started = self.started
        let server = self.context
        context.writeAndFlush(self.wrapOutboundOut(.end(nil))).whenComplete { result in
            cleanup()
            let (handler, context) = loopBound.value
            let elapsed = ContinuousClock.now - started
            server.record(status: status, bytes: bytes, failed: { if case .failure = result { return true } else { return false } }())
            server.logger?.info(
                "artifact request",
                metadata: [
                    "http.method": "\(head.method)", "http.target": "\(head.uri)", "http.status": "\(status.code)",
                    "http.bytes": "\(bytes)", "http.duration_ms": "\(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)",
                    "http.peer": "\(context.remoteAddress.map { "\($0)" } ?? "?")",
                ]
            )
            handler.request = nil
            handler.responding = false
            if !keepAlive || handler.draining {
                context.close(promise: nil)
            } else {
                handler.waitingSince = .now()
            }
        }
    }

    // MARK: - Conditional requests

    static func etagMatches(_ list: String, etag: String) -> Bool {
        list.split(separator: ",").contains { candidate in
            var tag = candidate.trimmingCharacters()
            if tag == "*" { return true }
            if tag.hasPrefix("W/") { tag = String(tag.dropFirst(2)) }
            return tag == etag
        }
    }

    static func notModified(_ headers: HTTPHeaders, etag: String, lastModified: Int64) -> Bool {
        if let match = headers.first(name: "If-None-Match") { return Self.etagMatches(match, etag: etag) }
        if let since = headers.first(name: "If-Modified-Since"), let date = HTTPDate.parse(since) { return lastModified <= date }
        return false
    }

    /// `If-Range`: serve the range only if the client's copy is this one.
    static func ifRangeAllows(_ headers: HTTPHeaders, etag: String, lastModified: Int64) -> Bool {
        guard let condition = headers.first(name: "If-Range") else { return true }
        if condition.hasPrefix("\"") { return condition == etag }
        return HTTPDate.parse(condition) == lastModified
    }
}

extension Substring {
    func trimmingCharacters() -> String {
        String(self.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}

/// A single `Range: bytes=…` request.
enum ByteRange: Equatable {
    /// No usable Range header: serve the whole artifact (invalid or multi-range headers are ignored, as RFC 9110 allows).
    case none
    case unsatisfiable
    case range(Range<Int>)

    static func parse(_ header: String, size: Int) -> ByteRange {
        let trimmed = Substring(header).trimmingCharacters()
        guard trimmed.lowercased().hasPrefix("bytes=") else { return .none }
        let spec = trimmed.dropFirst(6)
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return .none }
        let first = spec[..<dash].trimmingCharacters()
        let last = spec[spec.index(after: dash)...].trimmingCharacters()
        func number(_ text: String) -> Int? {
            guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
            return Int(text) ?? Int.max  // more digits than Int holds: past any end
        }
        if first.isEmpty {
            guard let suffix = number(last) else { return .none }
            guard suffix > 0, size > 0 else { return .unsatisfiable }
            return .range(max(0, size - suffix)..<size)
        }
        guard let start = number(first) else { return .none }
        let end: Int
        if last.isEmpty {
            end = size - 1
        } else {
            guard let requested = number(last), requested >= start else { return .none }
            end = min(requested, size - 1)
        }
        guard start < size else { return .unsatisfiable }
        return .range(start..<(end + 1))
    }
}
