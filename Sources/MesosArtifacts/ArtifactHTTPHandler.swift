import Glibc
import Logging
import Metrics
import NIOCore
import NIOHTTP1

/// Serves one connection: GET and HEAD of registered artifacts, conditional requests, single byte ranges;
/// files go out with `sendfile` (a `FileRegion`), never through user-space buffers.
///
/// It reads HTTP/1.x request heads itself (``ArtifactRequest/parse(_:limit:)``) and writes each response head as
/// bytes, most of them made at registration: the server answers only GET and HEAD, whose requests are heads alone,
/// and NIO's HTTP codec, pipelining handler and head-size limiter in front of it cost a third of the server's
/// time per 64 KiB download.
final class ArtifactHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = IOData

    /// Sent down the pipeline on graceful shutdown: finish the response under way, then close.
    struct DrainEvent {}

    /// Files are sent with `sendfile` in regions of this size; each completed region counts as activity for the
    /// idle timeout, so a download moving at more than regionSize per idle timeout is never cut.
    static let regionSize = 1 << 20
    static let serverName = "swift-mesos-artifacts"

    private let registry: ArtifactRegistry
    private let context: ServerContext
    /// Bytes read and not yet parsed: part of a head, or requests pipelined behind the one being answered.
    private var received: ByteBuffer?
    /// How many of `received`'s bytes are known to hold no end of a head: a head that arrives in pieces is scanned
    /// once, and parsed once it is whole.
    private var scanned = 0
    private var responding = false
    private var draining = false
    /// The connection is closing (a response said so, or the input was refused): nothing more is read.
    private var closing = false
    /// One repeating check per connection (not a timer per request): closes the connection when it has waited
    /// longer than the header timeout for a request head to complete, when it has been idle (nothing read, no
    /// write completed) for the idle timeout, or when a download has not moved for the stall timeout.
    private var timeoutCheck: RepeatedTask?
    /// When something was last read or a write last completed.
    private var lastActivity = NIODeadline.now()
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
        self.lastActivity = .now()
        let configuration = self.context.configuration
        let headerTimeout = TimeAmount(configuration.headerTimeout)
        let idleTimeout = TimeAmount(configuration.idleTimeout)
        let stallTimeout = TimeAmount(configuration.downloadStallTimeout)
        let interval = TimeAmount.nanoseconds(max(50_000_000, min(headerTimeout.nanoseconds, idleTimeout.nanoseconds) / 4))
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        self.timeoutCheck = context.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            let (handler, context) = loopBound.value
            let now = NIODeadline.now()
            if let since = handler.waitingSince, !handler.responding, now - since >= headerTimeout {
                handler.context.logger?.debug(
                    "artifact server: request head timed out",
                    metadata: ["mesos.peer": "\(context.remoteAddress.map { "\($0)" } ?? "?")"]
                )
                context.close(promise: nil)
            } else if now - handler.lastActivity >= idleTimeout {
                // Between requests, idle means idle. During a download, only a download that stopped moving is cut.
                if handler.responding && now - handler.lastProgress < stallTimeout { return }
                context.close(promise: nil)
            }
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.timeoutCheck?.cancel()
        self.closing = true
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is DrainEvent {
            self.draining = true
            if !self.responding { context.close(promise: nil) }
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !self.closing else { return }
        var incoming = self.unwrapInboundIn(data)
        self.lastActivity = .now()
        if self.received == nil {
            self.received = incoming
        } else {
            self.received!.writeBuffer(&incoming)
        }
        self.serveReceived(context: context)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    /// Answers the requests whose heads have arrived, one at a time (a pipelined request waits for the response
    /// before it to be written).
    private func serveReceived(context: ChannelHandlerContext) {
        let limit = self.context.configuration.maximumHeaderSize
        while !self.responding, !self.closing, let received = self.received {
            let from = max(0, self.scanned - 2)
            guard received.withUnsafeReadableBytes({ ArtifactRequest.containsHeadEnd($0, from: from) }) else {
                if received.readableBytes > limit {
                    self.received = nil
                    return self.refuse(.requestHeaderFieldsTooLarge, context: context)
                }
                self.scanned = received.readableBytes
                return
            }
            let parsed = received.withUnsafeReadableBytes { ArtifactRequest.parse($0, limit: limit) }
            switch parsed {
            case .incomplete:
                // Blank lines ahead of a request line (skipped), the request line still to come.
                self.scanned = received.readableBytes
                return
            case .tooLarge:
                self.received = nil
                return self.refuse(.requestHeaderFieldsTooLarge, context: context)
            case .invalid(let status):
                self.context.logger?.debug("artifact server: malformed request", metadata: ["http.status": "\(status.code)"])
                self.received = nil
                return self.refuse(status, context: context)
            case .request(let request, let consumed):
                self.scanned = 0
                if consumed == received.readableBytes {
                    self.received = nil
                } else {
                    self.received!.moveReaderIndex(forwardBy: consumed)
                }
                self.waitingSince = nil
                self.started = .now
                self.respond(to: request, context: context)
            }
        }
        // A client that keeps sending while its responses are being written is held to a few heads' worth.
        if self.responding, let received = self.received, received.readableBytes > 4 * limit {
            self.closing = true
            context.close(promise: nil)
        }
    }

    /// An answer to input that is not a request this server can read; the connection closes after it.
    private func refuse(_ status: HTTPResponseStatus, context: ChannelHandlerContext) {
        self.waitingSince = nil
        self.started = .now
        self.send(status, keepAlive: false, request: ArtifactRequest.unreadable, context: context)
    }

    // MARK: - Responses

    private func respond(to request: ArtifactRequest, context: ChannelHandlerContext) {
        let keepAlive = request.keepAlive && !self.draining
        guard request.method == .get || request.method == .head else {
            // A request with a body is not read: the connection closes after the answer.
            return self.send(
                .methodNotAllowed, headers: [("Allow", "GET, HEAD")], keepAlive: keepAlive && !request.hasBody, request: request, context: context
            )
        }
        guard !request.hasBody else { return self.send(.badRequest, keepAlive: false, request: request, context: context) }
        let registry = self.registry
        guard let entry = self.context.route(request.target, { registry.entry(key: $0, encodedName: $1) }) else {
            return self.send(.notFound, keepAlive: keepAlive, request: request, context: context)
        }

        // What to send the body from: the bytes in memory, or an open file checked to be the version hashed. The file
        // is closed on the way out unless a FileRegion took it over (then `fd` is -1).
        var fd: Int32 = -1
        defer { if fd >= 0 { close(fd) } }
        var memory: ByteBuffer? = nil
        switch entry.source {
        case .memory(let buffer):
            memory = buffer
        case .file(let path, let identity, let snapshot?):
            guard ArtifactRegistry.isUnchanged(path: path, identity) else {
                return self.changed(path: path, entry: entry, keepAlive: keepAlive, request: request, context: context)
            }
            memory = snapshot
        case .file(let path, let identity, nil):
            fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0, ArtifactRegistry.isUnchanged(fd, identity) else {
                return self.changed(path: path, entry: entry, keepAlive: keepAlive, request: request, context: context)
            }
        }

        let etag = entry.etagHeader
        let conditional = request.ifNoneMatch != nil || request.ifModifiedSince != nil
        let ranged = request.method == .get && request.range != nil
        var status = HTTPResponseStatus.ok
        var range = 0..<entry.size
        var head: ByteBuffer
        if !conditional && !ranged {
            // The common case: the whole artifact, with header lines made at registration.
            head = self.headStart(.ok, request: request, context: context)
            head.writeBytes(entry.fullResponseHeaderLines)
        } else {
            var headers = ArtifactRegistry.Entry.validatorHeaders(etag: etag, lastModified: entry.lastModifiedHeader)
            if Self.notModified(request, etag: etag, lastModified: entry.lastModified) {
                return self.send(.notModified, headers: headers, keepAlive: keepAlive, request: request, context: context)
            }
            if ranged, let rangeHeader = request.range, Self.ifRangeAllows(request, etag: etag, lastModified: entry.lastModified) {
                switch ByteRange.parse(rangeHeader, size: entry.size) {
                case .none: break
                case .unsatisfiable:
                    headers.append(("Content-Range", "bytes */\(entry.size)"))
                    return self.send(.rangeNotSatisfiable, headers: headers, keepAlive: keepAlive, request: request, context: context)
                case .range(let requested):
                    status = .partialContent
                    range = requested
                    headers.append(("Content-Range", "bytes \(requested.lowerBound)-\(requested.upperBound - 1)/\(entry.size)"))
                }
            }
            headers.append(("Content-Type", "application/octet-stream"))
            headers.append(("Content-Length", String(range.count)))
            headers.append(("Server", Self.serverName))
            head = self.headStart(status, request: request, context: context)
            for (name, value) in headers { Self.writeLine(&head, name, value) }
        }
        self.responding = true
        self.headEnd(&head, keepAlive: keepAlive, request: request)
        guard request.method == .get && !range.isEmpty else {
            return self.flush(status, bytes: 0, keepAlive: keepAlive, request: request, last: .byteBuffer(head), context: context) {}
        }
        context.write(self.wrapOutboundOut(.byteBuffer(head)), promise: nil)
        let bodyBytes = range.count
        if let memory {
            let slice = memory.getSlice(at: memory.readerIndex + range.lowerBound, length: range.count)!
            return self.flush(status, bytes: bodyBytes, keepAlive: keepAlive, request: request, last: .byteBuffer(slice), context: context) {}
        }
        let handle = NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: fd)
        fd = -1
        // In pieces, so each one's completion tells the stall check a slow download is still moving.
        self.lastProgress = .now()
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        for start in stride(from: range.lowerBound, to: range.upperBound, by: Self.regionSize) {
            let end = min(start + Self.regionSize, range.upperBound)
            let region = FileRegion(fileHandle: handle, readerIndex: start, endIndex: end)
            if end == range.upperBound {
                // The last piece's completion ends the response.
                return self.flush(status, bytes: bodyBytes, keepAlive: keepAlive, request: request, last: .fileRegion(region), context: context) {
                    try? handle.close()
                }
            }
            let written = context.eventLoop.makePromise(of: Void.self)
            written.futureResult.whenSuccess {
                let now = NIODeadline.now()
                (loopBound.value.lastProgress, loopBound.value.lastActivity) = (now, now)
            }
            context.write(self.wrapOutboundOut(.fileRegion(region)), promise: written)
        }
    }

    private func changed(
        path: String,
        entry: ArtifactRegistry.Entry,
        keepAlive: Bool,
        request: ArtifactRequest,
        context: ChannelHandlerContext
    ) {
        self.context.logger?.warning(
            "artifact server: a registered file changed or vanished; not serving it under its old hash",
            metadata: ["mesos.artifact": "\(path)", "mesos.sha256": "\(entry.sha256)"]
        )
        self.send(.notFound, keepAlive: keepAlive, request: request, context: context)
    }

    /// The status line, in a buffer with room for the headers.
    private func headStart(_ status: HTTPResponseStatus, request: ArtifactRequest, context: ChannelHandlerContext) -> ByteBuffer {
        var head = context.channel.allocator.buffer(capacity: 512)
        head.writeStaticString(request.http10 ? "HTTP/1.0 " : "HTTP/1.1 ")
        head.writeString(String(status.code))
        head.writeInteger(UInt8(ascii: " "))
        head.writeString(status.reasonPhrase)
        head.writeStaticString("\r\n")
        return head
    }

    /// Date, Connection and the blank line that ends a head.
    private func headEnd(_ head: inout ByteBuffer, keepAlive: Bool, request: ArtifactRequest) {
        Self.writeLine(&head, "Date", HTTPDate.now())
        if !keepAlive {
            head.writeStaticString("Connection: close\r\n")
        } else if request.http10 {
            head.writeStaticString("Connection: keep-alive\r\n")
        }
        head.writeStaticString("\r\n")
    }

    private static func writeLine(_ head: inout ByteBuffer, _ name: String, _ value: String) {
        head.writeString(name)
        head.writeStaticString(": ")
        head.writeString(value)
        head.writeStaticString("\r\n")
    }

    /// A response without a body of the artifact's (errors, 304, 416).
    private func send(
        _ status: HTTPResponseStatus,
        headers: [(String, String)] = [],
        keepAlive: Bool,
        request: ArtifactRequest,
        context: ChannelHandlerContext
    ) {
        var head = self.headStart(status, request: request, context: context)
        for (name, value) in headers { Self.writeLine(&head, name, value) }
        Self.writeLine(&head, "Server", Self.serverName)
        let body: String? = status.code >= 400 ? "\(status.code) \(status.reasonPhrase)\n" : nil
        if let body {
            head.writeStaticString("Content-Type: text/plain; charset=utf-8\r\n")
            Self.writeLine(&head, "Content-Length", String(body.utf8.count))
        } else if status != .notModified {
            head.writeStaticString("Content-Length: 0\r\n")
        }
        self.responding = true
        self.headEnd(&head, keepAlive: keepAlive, request: request)
        if let body, request.method != .head { head.writeString(body) }
        self.flush(status, bytes: 0, keepAlive: keepAlive, request: request, last: .byteBuffer(head), context: context) {}
    }

    /// Writes `last`, flushes, and once everything is out records the request and goes on with the
    /// connection: the next pipelined request, the next head, or closing.
    private func flush(
        _ status: HTTPResponseStatus,
        bytes: Int,
        keepAlive: Bool,
        request: ArtifactRequest,
        last: IOData,
        context: ChannelHandlerContext,
        cleanup: @escaping @Sendable () -> Void
    ) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let started = self.started
        let server = self.context
        if !keepAlive { self.closing = true }
        // Writes complete in order: the last one's completion is the whole response's.
        context.writeAndFlush(self.wrapOutboundOut(last)).whenComplete { result in
            cleanup()
            let (handler, context) = loopBound.value
            handler.lastActivity = .now()
            let elapsed = ContinuousClock.now - started
            let failed: Bool
            if case .failure = result { failed = true } else { failed = false }
            server.record(status: status, bytes: bytes, failed: failed)
            server.logger?.info(
                "artifact request",
                metadata: [
                    "http.method": "\(request.methodName)", "http.target": "\(request.target)", "http.status": "\(status.code)",
                    "http.bytes": "\(bytes)", "http.duration_ms": "\(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)",
                    "http.peer": "\(context.remoteAddress.map { "\($0)" } ?? "?")",
                ]
            )
            handler.responding = false
            if !keepAlive || handler.draining {
                handler.closing = true
                context.close(promise: nil)
            } else {
                handler.waitingSince = .now()
                handler.serveReceived(context: context)
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

    static func notModified(_ request: ArtifactRequest, etag: String, lastModified: Int64) -> Bool {
        if let match = request.ifNoneMatch { return Self.etagMatches(match, etag: etag) }
        if let since = request.ifModifiedSince, let date = HTTPDate.parse(since) { return lastModified <= date }
        return false
    }

    /// `If-Range`: serve the range only if the client's copy is this one.
    static func ifRangeAllows(_ request: ArtifactRequest, etag: String, lastModified: Int64) -> Bool {
        guard let condition = request.ifRange else { return true }
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
