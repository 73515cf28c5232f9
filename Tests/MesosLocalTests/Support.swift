import Foundation
import Mesos
import MesosCodecs
import MesosHTTP
import MesosLocal
import MesosRecordIO
import NIOCore
import Synchronization
import Testing

/// The traffic recorded from a real Apache Mesos 1.11 master, under Fixtures/mesos-1.11.
enum Recorded {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/mesos-1.11")

    struct Exchange: Sendable, CustomTestStringConvertible {
        var name: String
        var method: String
        var headers: [String: String]
        var body: String
        var status: Int
        var responseHeaders: [String: String]
        var responseBody: String
        var testDescription: String { self.name }
    }

    /// The exchanges of a `calls.json` whose request and answer were recorded as fields.
    static func exchanges(_ path: String) throws -> [Exchange] {
        let data = try Data(contentsOf: root.appendingPathComponent(path))
        let list = try JSONSerialization.jsonObject(with: data) as? [[String: Any]] ?? []
        return list.compactMap { entry in
            guard let request = entry["request"] as? [String: Any], let status = entry["status"] as? Int else { return nil }
            var responseHeaders: [String: String] = [:]
            for pair in entry["headers"] as? [[String]] ?? [] where pair.count == 2 { responseHeaders[pair[0]] = pair[1] }
            return Exchange(
                name: entry["name"] as? String ?? "?",
                method: request["method"] as? String ?? "POST",
                headers: request["headers"] as? [String: String] ?? [:],
                body: request["body"] as? String ?? "",
                status: status,
                responseHeaders: responseHeaders,
                responseBody: entry["body"] as? String ?? ""
            )
        }
    }
}

/// A scheduler speaking raw HTTP to a master (libcurl, RecordIO, the codecs): what the tests observe the master
/// with, independent of the scheduler client library.
final class RawScheduler: Sendable {
    let client = HTTPClient()
    let url: String
    let contentType: ContentType
    let streamID: String
    private let identity = Mutex<SchedulerEvent>(SchedulerEvent())
    /// From SUBSCRIBED.
    var frameworkID: FrameworkID { self.identity.withLock { $0.subscribed.frameworkID } }
    /// The SUBSCRIBED event.
    var subscribed: SchedulerEvent { self.identity.withLock { $0 } }
    let subscribeHead: HTTPResponseHead
    private let inbox: Inbox
    private let reader: Task<Void, Never>

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Events decoded from the stream, and how it ended.
    final class Inbox: Sendable {
        struct State {
            var events: [SchedulerEvent] = []
            var ended = false
            var error: (any Error)?
        }
        let state = Mutex(State())
    }

    private init(
        url: String, contentType: ContentType, streamID: String, head: HTTPResponseHead,
        inbox: Inbox, reader: Task<Void, Never>
    ) {
        self.url = url
        self.contentType = contentType
        self.streamID = streamID
        self.subscribeHead = head
        self.inbox = inbox
        self.reader = reader
    }

    deinit { self.reader.cancel() }

    static func frameworkInfo(_ name: String = "test", failoverTimeout: Double? = nil, capabilities: [FrameworkInfo.Capability.TypeEnum] = []) -> FrameworkInfo {
        var info = FrameworkInfo()
        info.user = "root"
        info.name = name
        if let failoverTimeout { info.failoverTimeout = failoverTimeout }
        info.capabilities = capabilities.map { type in
            var capability = FrameworkInfo.Capability()
            capability.type = type
            return capability
        }
        return info
    }

    /// Subscribes and waits for SUBSCRIBED.
    static func subscribe(
        _ master: String,
        _ info: FrameworkInfo = RawScheduler.frameworkInfo(),
        contentType: ContentType = .json,
        headers: [(name: String, value: String)] = [],
        offerConstraints: Mesos_V1_Scheduler_OfferConstraints? = nil
    ) async throws -> RawScheduler {
        let client = HTTPClient()
        var call = SchedulerCall()
        call.type = .subscribe
        call.subscribe.frameworkInfo = info
        if let offerConstraints { call.subscribe.offerConstraints = offerConstraints }
        if info.hasID { call.frameworkID = info.id }
        let codec = MessageCodec(contentType)
        let request = HTTPRequest(
            url: master + "/api/v1/scheduler",
            headers: [("Content-Type", contentType.mediaType), ("Accept", contentType.mediaType)] + headers,
            body: try codec.encode(call)
        )
        let response = try await client.stream(request)
        guard response.status == 200 else {
            var text = ""
            for try await chunk in response.body { text += String(buffer: chunk) }
            throw Failure(description: "SUBSCRIBE answered \(response.status): \(text)")
        }
        let inbox = Inbox()
        let body = response.body
        let reader = Task {
            var decoder = MesosEventDecoder(SchedulerEvent.self, codec: codec)
            var buffer = ByteBuffer()
            do {
                for try await var chunk in body {
                    buffer.writeBuffer(&chunk)
                    while let event = try decoder.decode(buffer: &buffer) {
                        inbox.state.withLock { $0.events.append(event) }
                    }
                }
                inbox.state.withLock { $0.ended = true }
            } catch {
                inbox.state.withLock { $0.ended = true; $0.error = error }
            }
            _ = client
        }
        let scheduler = RawScheduler(
            url: master, contentType: contentType, streamID: response.head.header("Mesos-Stream-Id") ?? "",
            head: response.head, inbox: inbox, reader: reader
        )
        guard let first = try await scheduler.next(heartbeats: true), first.type == .subscribed else {
            throw Failure(description: "the first event is not SUBSCRIBED")
        }
        scheduler.identity.withLock { $0 = first }
        return scheduler
    }

    /// True once the stream ended (closed by the master, or broken).
    var ended: Bool { self.inbox.state.withLock { $0.ended && $0.events.isEmpty } }
    var endError: (any Error)? { self.inbox.state.withLock { $0.error } }

    /// The next event other than HEARTBEAT (nil: the stream ended), waiting at most `timeout`.
    func next(timeout: Duration = .seconds(20), heartbeats: Bool = false) async throws -> SchedulerEvent? {
        let deadline = ContinuousClock.now + timeout
        while true {
            let (event, ended) = self.inbox.state.withLock { state -> (SchedulerEvent?, Bool) in
                while !state.events.isEmpty {
                    let event = state.events.removeFirst()
                    if event.type == .heartbeat && !heartbeats { continue }
                    return (event, false)
                }
                return (nil, state.ended)
            }
            if let event { return event }
            if ended { return nil }
            guard ContinuousClock.now < deadline else { throw Failure(description: "no event within \(timeout)") }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Consumes events until the stream ends; false if it did not end within `timeout`.
    func waitForEnd(timeout: Duration = .seconds(5)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            guard let event = try? await self.next(timeout: deadline - .now, heartbeats: true) else {
                return self.ended
            }
            _ = event
        }
        return false
    }

    /// Waits for an event that satisfies `predicate` and takes it from the inbox; the events before it stay there, in
    /// order, for ``next(timeout:heartbeats:)`` (an UPDATE that arrived while a test waited for OFFERS is not lost).
    func next(where predicate: (SchedulerEvent) -> Bool, timeout: Duration = .seconds(20)) async throws -> SchedulerEvent {
        let deadline = ContinuousClock.now + timeout
        while true {
            let (event, ended) = self.inbox.state.withLock { state -> (SchedulerEvent?, Bool) in
                guard let index = state.events.firstIndex(where: predicate) else { return (nil, state.ended) }
                return (state.events.remove(at: index), false)
            }
            if let event { return event }
            if ended { throw Failure(description: "the stream ended before a matching event") }
            guard ContinuousClock.now < deadline else { throw Failure(description: "no matching event within \(timeout)") }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Sends a call with this subscription's stream ID and framework ID.
    @discardableResult
    func call(_ call: SchedulerCall, streamID: String? = nil) async throws -> HTTPResponse {
        var call = call
        call.frameworkID = self.frameworkID
        return try await self.client.execute(
            HTTPRequest(
                url: self.url + "/api/v1/scheduler",
                headers: [
                    ("Content-Type", self.contentType.mediaType), ("Accept", self.contentType.mediaType),
                    ("Mesos-Stream-Id", streamID ?? self.streamID),
                ],
                body: try MessageCodec(self.contentType).encode(call)
            )
        )
    }

    func acknowledge(_ status: TaskStatus) async throws {
        guard status.hasUuid else { return }
        var call = SchedulerCall()
        call.type = .acknowledge
        call.acknowledge.agentID = status.agentID
        call.acknowledge.taskID = status.taskID
        call.acknowledge.uuid = status.uuid
        let response = try await self.call(call)
        #expect(response.status == 202)
    }
}

/// Events by type, for assertions.
extension SchedulerEvent {
    var status: TaskStatus { self.update.status }
}

/// The master's `/master/state`, parsed.
func masterState(_ url: String) async throws -> [String: Any] {
    let response = try await HTTPClient().execute(HTTPRequest(method: "GET", url: url + "/master/state"))
    return try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any] ?? [:]
}
