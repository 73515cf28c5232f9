import Foundation
import Mesos
import MesosCodecs
import MesosRecordIO
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A scripted Mesos master for the scheduler client's component tests: real HTTP/1.1 on loopback (NIO), real
/// chunked RecordIO streams in both content types, built from the traffic recorded from Mesos 1.11
/// (Fixtures/mesos-1.11: the recorded event records, stream IDs, statuses and error texts), with fault switches.
///
/// It is not a master: it answers SUBSCRIBE from a script (a status, a 307, or a stream of records that may be
/// dropped mid-record or paced to measure back-pressure), answers every other call 202 (200 for UPDATE_FRAMEWORK)
/// and records it, and refuses calls the way the real master does (400 for a missing or wrong `Mesos-Stream-Id`, 403
/// "Framework is not subscribed"). The full integration tests of the client run against `MesosLocal`, the local
/// master with agents, and against a real master given in `MESOS_MASTER`.
final class ScriptedMaster: Sendable {
    /// How to answer one SUBSCRIBE.
    enum SubscribeAnswer: Sendable {
        /// That status with a `text/plain` body (a 503 "No leader elected", a 401, …).
        case status(Int, String)
        /// 307 with `Location: //127.0.0.1:PORT/master/api/v1/scheduler`, as a standby master answers.
        case redirect(toPort: Int)
        /// 200 and a stream.
        case stream(Stream)
        /// Nothing at all: a master (or a balancer in front of one) that takes the connection and never answers.
        case silent
    }

    /// A subscription stream: a 200 head with `Mesos-Stream-Id`, then one RecordIO record per chunk.
    struct Stream: Sendable {
        /// Payloads in the negotiated content type; nil: the first six recorded ones (SUBSCRIBED, HEARTBEAT, OFFERS,
        /// UPDATE ×3) of that content type.
        var records: [[UInt8]]?
        /// Close the connection after this many bytes of RecordIO (mid-record when it falls inside one).
        var dropAfter: Int?
        /// Write each record only once the previous one has reached the socket, counting the bytes in
        /// ``ScriptedMaster/streamedBytes``: what a slow client lets the server write.
        var paced = false
        /// Nil: the recorded one for the first stream, `stream-N` after.
        var streamID: String?
        /// Cut the RecordIO bytes into chunks of this size, whatever the record boundaries (with `paced`, each
        /// reaches the socket on its own), so that records and length prefixes straddle chunks.
        var chunkSize: Int?

        init(records: [[UInt8]]? = nil, dropAfter: Int? = nil, paced: Bool = false, streamID: String? = nil, chunkSize: Int? = nil) {
            self.records = records
            self.dropAfter = dropAfter
            self.paced = paced
            self.streamID = streamID
            self.chunkSize = chunkSize
        }
    }

    /// One request the master received.
    struct Received: Sendable {
        var call: SchedulerCall
        var path: String
        var headers: HTTPHeaders
        /// Which TCP connection it came on (numbered from 1 in accept order).
        var connection: Int
        var contentType: String? { self.headers.first(name: "Content-Type") }
        var accept: String? { self.headers.first(name: "Accept") }
        var streamID: String? { self.headers.first(name: "Mesos-Stream-Id") }
        func header(_ name: String) -> String? { self.headers.first(name: name) }
    }

    private struct State {
        var script: [SubscribeAnswer] = []
        /// Used when the script is empty.
        var fallback: SubscribeAnswer = .stream(Stream())
        var subscribes: [Received] = []
        var calls: [Received] = []
        var streamChannel: (any Channel)?
        var streamContentType = ContentType.json
        var streamID: String?
        var frameworkID: String?
        var notSubscribed = false
        var connections = 0
        var streams = 0
        var streamedBytes = 0
        var probePort: Int?
    }

    let channel: any Channel
    private let state = Mutex(State())

    var port: Int { self.channel.localAddress?.port ?? 0 }
    var url: String { "http://127.0.0.1:\(self.port)" }

    private init(channel: any Channel) { self.channel = channel }

    static func start() async throws -> ScriptedMaster {
        let box = Mutex<ScriptedMaster?>(nil)
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                guard let master = box.withLock({ $0 }) else { return channel.close() }
                let id = master.state.withLock { state in
                    state.connections += 1
                    return state.connections
                }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(master: master, connection: id))
                }
            }
        let channel = try await bootstrap.bind(host: "127.0.0.1", port: 0).get()
        let master = ScriptedMaster(channel: channel)
        box.withLock { $0 = master }
        return master
    }

    func stop() async {
        let stream = self.state.withLock { $0.streamChannel }
        try? await stream?.close()
        try? await self.channel.close()
    }

    // MARK: Script and switches

    /// Answers for the next SUBSCRIBEs, in order.
    func script(_ answers: SubscribeAnswer...) { self.state.withLock { $0.script += answers } }
    /// The answer once the script is used up.
    func setFallback(_ answer: SubscribeAnswer) { self.state.withLock { $0.fallback = answer } }
    /// `GET /master/redirect` names the master on this port (default: itself).
    func setProbeAnswer(port: Int) { self.state.withLock { $0.probePort = port } }
    fileprivate var probePort: Int { self.state.withLock { $0.probePort } ?? self.port }
    /// Calls get 403 "Framework is not subscribed" (a master that restarted).
    func setNotSubscribed(_ value: Bool) { self.state.withLock { $0.notSubscribed = value } }
    /// The framework now has another stream: calls with the old stream ID get the master's 400.
    func replaceStreamID(_ id: String) { self.state.withLock { $0.streamID = id } }

    var subscribes: [Received] { self.state.withLock { $0.subscribes } }
    var calls: [Received] { self.state.withLock { $0.calls } }
    var connections: Int { self.state.withLock { $0.connections } }
    var streamedBytes: Int { self.state.withLock { $0.streamedBytes } }
    var hasOpenStream: Bool { self.state.withLock { $0.streamChannel != nil } }

    /// Writes one event on the open stream, in its content type.
    func push(_ event: SchedulerEvent) throws {
        let (channel, type) = self.state.withLock { ($0.streamChannel, $0.streamContentType) }
        guard let channel else { return }
        var buffer = ByteBuffer()
        try MessageCodec(type).encodeRecord(event, into: &buffer)
        channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(buffer)), promise: nil)
    }

    /// Closes the open stream's connection.
    func dropStream() {
        let channel = self.state.withLock { $0.streamChannel }
        channel?.close(promise: nil)
    }

    // MARK: Recorded traffic

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/mesos-1.11")

    /// The event records of the recorded subscription, as the master wrote them.
    static func recordedRecords(_ type: ContentType) -> [[UInt8]] {
        let file = type == .json ? "json/subscribe_stream.recordio" : "protobuf/subscribe_stream.recordio"
        guard let data = try? Data(contentsOf: Self.fixtures.appendingPathComponent(file)),
            let records = try? RecordIODecoder.records(in: ByteBuffer(bytes: data))
        else { return [] }
        return records.map { Array($0.readableBytesView) }
    }

    /// The recorded `Mesos-Stream-Id` of that subscription.
    static func recordedStreamID(_ type: ContentType) -> String {
        type == .json ? "b91a07a5-042d-49e9-834c-e138a51b69ef" : "aa043b0f-713d-46f1-b7ed-4698e9daa874"
    }

    /// The recorded events, decoded.
    static func recordedEvents(_ type: ContentType) -> [SchedulerEvent] {
        Self.recordedRecords(type).compactMap { try? MessageCodec(type).decode(SchedulerEvent.self, from: $0) }
    }

    /// RecordIO framing of `records`, as on the wire.
    static func frame(_ records: [[UInt8]]) -> [UInt8] {
        var buffer = ByteBuffer()
        for record in records { RecordIOEncoder.frame(record, into: &buffer) }
        return Array(buffer.readableBytesView)
    }

    // MARK: Serving

    fileprivate func answerSubscribe(_ received: Received, codec: MessageCodec) -> SubscribeAnswer {
        self.state.withLock { state in
            state.subscribes.append(received)
            return state.script.isEmpty ? state.fallback : state.script.removeFirst()
        }
    }

    /// Registers the stream about to be served; returns its ID.
    fileprivate func openStream(_ channel: any Channel, _ stream: Stream, type: ContentType, records: [[UInt8]]) -> String {
        let frameworkID = records.first.flatMap { try? MessageCodec(type).decode(SchedulerEvent.self, from: $0) }
            .map(\.subscribed.frameworkID.value)
        return self.state.withLock { state in
            state.streams += 1
            let id = stream.streamID ?? (state.streams == 1 ? Self.recordedStreamID(type) : "stream-\(state.streams)")
            state.streamChannel = channel
            state.streamContentType = type
            state.streamID = id
            if let frameworkID { state.frameworkID = frameworkID }
            return id
        }
    }

    fileprivate func streamClosed(_ channel: any Channel) {
        self.state.withLock { state in
            if state.streamChannel === channel { state.streamChannel = nil }
        }
    }

    fileprivate func countStreamed(_ bytes: Int) { self.state.withLock { $0.streamedBytes += bytes } }

    /// The status and text for a call, as the 1.11 master would answer.
    fileprivate func answerCall(_ received: Received) -> (HTTPResponseStatus, String) {
        self.state.withLock { state in
            state.calls.append(received)
            guard let streamID = received.streamID else {
                return (.badRequest, "All non-subscribe calls should include the 'Mesos-Stream-Id' header")
            }
            if state.notSubscribed { return (.forbidden, "Framework is not subscribed") }
            guard streamID == state.streamID else {
                return (
                    .badRequest,
                    "The stream ID '\(streamID)' included in this request didn't match the stream ID currently associated with framework ID \(state.frameworkID ?? "")"
                )
            }
            return (received.call.type == .updateFramework ? .ok : .accepted, "")
        }
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let master: ScriptedMaster
        let connection: Int
        var head: HTTPRequestHead?
        var body = ByteBuffer()
        var isStream = false

        init(master: ScriptedMaster, connection: Int) {
            self.master = master
            self.connection = connection
        }

        func channelInactive(context: ChannelHandlerContext) {
            if self.isStream { self.master.streamClosed(context.channel) }
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
            let path = String(head.uri.prefix { $0 != "?" })
            if head.method == .GET && path.hasSuffix("/redirect") {
                var headers = HTTPHeaders()
                headers.add(name: "Location", value: "//127.0.0.1:\(self.master.probePort)")
                return self.send(context, status: .temporaryRedirect, headers: headers, text: "")
            }
            guard path.hasSuffix("/api/v1/scheduler") else { return self.send(context, status: .notFound, text: "") }
            guard head.method == .POST else {
                return self.send(context, status: .methodNotAllowed, text: "405 Method Not Allowed. Expecting one of { 'POST' }, but received '\(head.method.rawValue)'.")
            }
            guard let contentTypeHeader = head.headers.first(name: "Content-Type") else {
                return self.send(context, status: .badRequest, text: "Expecting 'Content-Type' to be present")
            }
            guard let type = ContentType(mediaType: contentTypeHeader) else {
                return self.send(context, status: .unsupportedMediaType, text: "Expecting 'Content-Type' of application/json or application/x-protobuf")
            }
            let codec = MessageCodec(type, jsonReading: .exactlyAsMesos)
            guard let call = try? codec.decode(SchedulerCall.self, from: self.body) else {
                return self.send(context, status: .badRequest, text: "Failed to parse body into Call protobuf")
            }
            let received = Received(call: call, path: path, headers: head.headers, connection: self.connection)
            if call.type == .subscribe {
                let accept = head.headers.first(name: "Accept").flatMap { ContentType(mediaType: $0) } ?? type
                switch self.master.answerSubscribe(received, codec: codec) {
                case .status(let status, let text):
                    self.send(context, status: HTTPResponseStatus(statusCode: status), text: text)
                case .redirect(let port):
                    var headers = HTTPHeaders()
                    headers.add(name: "Location", value: "//127.0.0.1:\(port)/master/api/v1/scheduler")
                    self.send(context, status: .temporaryRedirect, headers: headers, text: "")
                case .stream(let stream):
                    self.serve(context, stream, type: accept)
                case .silent:
                    break
                }
            } else {
                let (status, text) = self.master.answerCall(received)
                self.send(context, status: status, text: text)
            }
        }

        private func serve(_ context: ChannelHandlerContext, _ stream: Stream, type: ContentType) {
            self.isStream = true
            let records = stream.records ?? Array(ScriptedMaster.recordedRecords(type).prefix(6))
            let id = self.master.openStream(context.channel, stream, type: type, records: records)
            var headers = HTTPHeaders()
            headers.add(name: "Transfer-Encoding", value: "chunked")
            headers.add(name: "Mesos-Stream-Id", value: id)
            headers.add(name: "Content-Type", value: type.mediaType)
            context.writeAndFlush(self.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            var chunks = records.map { record -> ByteBuffer in
                var buffer = ByteBuffer()
                RecordIOEncoder.frame(record, into: &buffer)
                return buffer
            }
            if let size = stream.chunkSize {
                var all = ByteBuffer()
                for var chunk in chunks { all.writeBuffer(&chunk) }
                chunks = []
                while all.readableBytes > 0 { chunks.append(all.readSlice(length: min(size, all.readableBytes))!) }
            }
            var drop = false
            if let limit = stream.dropAfter {
                var left = limit
                var kept: [ByteBuffer] = []
                for chunk in chunks where left > 0 {
                    kept.append(chunk.getSlice(at: chunk.readerIndex, length: min(left, chunk.readableBytes)) ?? chunk)
                    left -= min(left, chunk.readableBytes)
                }
                chunks = kept
                drop = true
            }
            if stream.paced {
                self.writePaced(context, chunks[...], drop: drop)
            } else {
                for chunk in chunks { context.write(self.wrapOutboundOut(.body(.byteBuffer(chunk))), promise: nil) }
                context.flush()
                if drop { context.close(promise: nil) }
            }
        }

        private func writePaced(_ context: ChannelHandlerContext, _ chunks: ArraySlice<ByteBuffer>, drop: Bool) {
            guard let chunk = chunks.first else {
                if drop { context.close(promise: nil) }
                return
            }
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            context.writeAndFlush(self.wrapOutboundOut(.body(.byteBuffer(chunk)))).whenSuccess {
                let (handler, context) = loopBound.value
                handler.master.countStreamed(chunk.readableBytes)
                // Through the loop, not inline: a write that completes at once would otherwise recurse once per
                // chunk (thousands of small chunks overflowed the stack).
                context.eventLoop.execute {
                    let (handler, context) = loopBound.value
                    handler.writePaced(context, chunks.dropFirst(), drop: drop)
                }
            }
        }

        private func send(_ context: ChannelHandlerContext, status: HTTPResponseStatus, headers: HTTPHeaders = HTTPHeaders(), text: String) {
            var headers = headers
            if !text.isEmpty { headers.add(name: "Content-Type", value: "text/plain; charset=utf-8") }
            headers.add(name: "Content-Length", value: String(text.utf8.count))
            context.write(self.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
            if !text.isEmpty { context.write(self.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: text)))), promise: nil) }
            context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
