import Logging
import Mesos
import MesosCodecs
import MesosHTTP
import MesosRecordIO
import NIOCore
import Synchronization

/// The events of a ``SchedulerClient``'s subscription, across re-subscriptions, as they arrive.
///
/// Iterate it once, from one task. The sequence is pull-based: events are read from the connection only as fast as
/// they are consumed, and a consumer that falls behind pauses the transfer (memory stays bounded). It ends (nil)
/// after ``SchedulerClient/stop(teardown:)``, and throws ``MesosError`` when the client gives up: the reason is the
/// last ``SchedulerClient/Event/disconnected(_:willReconnect:)`` with `willReconnect` false (`.cancelled` when the
/// consuming task is cancelled, which also drops the stream).
public struct SchedulerEvents: AsyncSequence, Sendable {
    public typealias Element = SchedulerClient.Event
    public typealias Failure = any Error

    /// The driver, until an iterator takes it.
    private final class Handoff: Sendable {
        let driver: Mutex<SubscriptionDriver?>
        init(_ driver: SubscriptionDriver) { self.driver = Mutex(driver) }
    }

    private let handoff: Handoff

    init(driver: SubscriptionDriver) {
        self.handoff = Handoff(driver)
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        public typealias Element = SchedulerClient.Event
        private let driver: SubscriptionDriver?

        init(_ driver: SubscriptionDriver?) { self.driver = driver }

        /// The next event; nil once the client has stopped.
        ///
        /// - Throws: ``MesosError`` when the subscription is lost for good.
        public mutating func next() async throws -> SchedulerClient.Event? {
            guard let driver = self.driver else {
                throw MesosError(code: .cancelled, message: "the events of a subscription can be iterated only once")
            }
            return try await driver.next()
        }
    }

    /// The iterator; a second one throws on its first `next()` (the first one owns the stream).
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(self.handoff.driver.withLock { driver in
            defer { driver = nil }
            return driver
        })
    }
}

/// Holds the iterator of the stream's body.
///
/// `@unchecked Sendable`: used by one task at a time, the one that iterates the events.
final class BodyReader: @unchecked Sendable {
    private var iterator: HTTPBody.AsyncIterator

    init(_ body: HTTPBody) {
        self.iterator = body.makeAsyncIterator()
    }

    func next() async throws -> ByteBuffer? {
        try await self.iterator.next()
    }
}

/// One established subscription: the body being read and what has arrived of it.
///
/// A class, so that decoding an event mutates the decoder and buffer in place (as a struct in an optional it was
/// copied out and back for every event).
final class Connection {
    let url: String
    let streamID: String?
    let reader: BodyReader
    /// Drops the stream when it goes silent (subscribe timeout, then missed heartbeats); cancelled when the
    /// connection is dropped.
    let watchdog: StreamWatchdog
    // Unchecked: a connection is used by the one task that iterates (see SubscriptionDriver); the dynamic
    // exclusivity checks on these cost more than the rest of the per-event bookkeeping.
    @exclusivity(unchecked) var decoder: MesosEventDecoder<SchedulerEvent>
    @exclusivity(unchecked) var chunks = RecordIOChunks()

    init(url: String, streamID: String?, reader: BodyReader, watchdog: StreamWatchdog, decoder: MesosEventDecoder<SchedulerEvent>) {
        self.url = url
        self.streamID = streamID
        self.reader = reader
        self.watchdog = watchdog
        self.decoder = decoder
    }

    /// The next whole record, decoded where it arrived; nil when it needs more bytes.
    func nextMessage() throws -> SchedulerEvent? {
        try self.decoder.decode(chunks: &self.chunks)
    }
}

/// Drives the subscription for ``SchedulerEvents``: reads and decodes, watches heartbeats, subscribes again.
///
/// `@unchecked Sendable`: it is created by ``SchedulerClient/subscribe(_:suppressedRoles:offerConstraints:)``,
/// handed over once through ``SchedulerEvents`` (a Mutex) and from then on used only by the task that iterates.
///
/// Its state is `@exclusivity(unchecked)` for the same reason: one task at a time, so the dynamic checks (a
/// thread-local lookup per access, several per event) guard nothing.
final class SubscriptionDriver: @unchecked Sendable {
    private let client: SchedulerClient
    @exclusivity(unchecked) private var connection: Connection?
    /// Decoded events not yet delivered, in order.
    @exclusivity(unchecked) private var pending: [SchedulerClient.Event] = []
    @exclusivity(unchecked) private var pendingIndex = 0
    /// Thrown once `pending` is delivered; then the sequence is over.
    @exclusivity(unchecked) private var failure: MesosError?
    @exclusivity(unchecked) private var finished = false
    /// Events decoded from the current chunk, by ``SchedulerClient/Event/kind``, not yet counted in the metrics
    /// (counted once per chunk: the counter's lock and key are too dear per event on a fast stream).
    @exclusivity(unchecked) private var tally = [Int](repeating: 0, count: SchedulerClient.Event.names.count)
    /// A framework ID from SUBSCRIBED not yet written to the store.
    @exclusivity(unchecked) private var unsaved: FrameworkID?
    private var logger: Logger

    init(client: SchedulerClient) {
        self.client = client
        self.logger = client.logger
    }

    /// Subscribes (with retries, as the policy allows) and waits for the first event.
    func start() async throws {
        try await self.establish(isResubscription: false)
        if let failure = self.failure {
            self.finished = true
            await self.forgetIfRemoved(failure)
            throw failure
        }
    }

    /// The master's text when a framework ID it has removed (torn down, or failed over too late) subscribes.
    static let removedFrameworkText = "Framework has been removed"

    /// A framework the master has removed can never subscribe with its ID again: the stored ID goes, so the next
    /// start registers a new framework instead of failing the same way for good.
    private func forgetIfRemoved(_ failure: MesosError) async {
        guard failure.code == .errorEvent, failure.message == Self.removedFrameworkText,
            let store = self.client.configuration.frameworkIDStore
        else { return }
        self.logger.warning("the master has removed this framework; forgetting its stored framework ID")
        do {
            try await store.remove()
        } catch {
            self.logger.error("could not remove the stored framework ID", metadata: ["mesos.error": "\(error)"])
        }
    }

    func next() async throws -> SchedulerClient.Event? {
        while true {
            if self.pendingIndex < self.pending.count {
                let event = self.pending[self.pendingIndex]
                self.pendingIndex += 1
                if self.pendingIndex == self.pending.count {
                    self.pending.removeAll(keepingCapacity: true)
                    self.pendingIndex = 0
                }
                return event
            }
            if let failure = self.failure {
                self.failure = nil
                self.finished = true
                await self.forgetIfRemoved(failure)
                throw failure
            }
            if self.finished { return nil }
            if self.client.isStopped {
                self.finish()
                continue
            }
            if Task.isCancelled {
                self.lose(MesosError(code: .cancelled, message: "the task consuming the events was cancelled"))
                continue
            }
            guard let connection = self.connection else {
                do {
                    try await self.establish(isResubscription: true)
                } catch let error as MesosError {
                    self.lose(error, reconnecting: false)
                }
                continue
            }
            // Decoded events go straight to the caller, one record at a time; `pending` holds only what comes
            // with a new subscription or a loss.
            if let event = self.decodeNext(connection) {
                if self.unsaved != nil { await self.saveFrameworkID() }
                return event
            }
            if self.connection != nil { await self.readMore(connection) }
        }
    }

    // MARK: Reading

    /// Reads one chunk from the connection (``decodeNext(_:)`` decodes it); on failure, loses the
    /// connection.
    private func readMore(_ connection: Connection) async {
        do {
            guard var chunk = try await self.read(connection) else {
                throw MesosError(code: .transport, message: "the master closed the event stream")
            }
            connection.chunks.append(&chunk)
        } catch {
            if self.client.isStopped {
                self.finish()
            } else if Task.isCancelled {
                self.lose(MesosError(code: .cancelled, message: "the task consuming the events was cancelled", underlying: error))
            } else {
                self.lose(MesosError(transport: error))
            }
        }
    }

    /// The next whole record of `connection`, decoded; nil when its buffer holds none (then the metrics are
    /// brought up to date and the bytes read are dropped) or when the record is broken (then the connection is
    /// lost, and `pending` says so). One record per call, handed straight to the consumer.
    private func decodeNext(_ connection: Connection) -> SchedulerClient.Event? {
        let message: SchedulerEvent?
        do {
            message = try connection.nextMessage()
        } catch {
            self.countEvents()
            self.lose(MesosError(code: .framing, message: "\(error)", underlying: error))
            return nil
        }
        guard let message else {
            self.countEvents()
            return nil
        }
        let event = self.handle(message, connection: connection)
        // The metrics are counted once per chunk, when its last record is decoded (or, when a record straddles
        // chunks, at the consumer's next call).
        if connection.chunks.isEmpty { self.countEvents() }
        self.loseOnError(event)
        return event
    }

    /// Decodes whole records of `connection` into `pending` until one is there (the first event of a stream).
    private func decodeFirst(_ connection: Connection) throws {
        defer { self.countEvents() }
        let before = self.pending.count - self.pendingIndex
        while self.pending.count - self.pendingIndex == before && self.failure == nil,
            let message = try connection.nextMessage()
        {
            let event = self.handle(message, connection: connection)
            self.pending.append(event)
            self.loseOnError(event)
        }
    }

    /// An ERROR event ends the subscription for good (after the event itself is delivered).
    private func loseOnError(_ event: SchedulerClient.Event) {
        if case .error(let text) = event {
            self.lose(MesosError(code: .errorEvent, message: text), reconnecting: false)
        }
    }

    private func count(_ event: SchedulerClient.Event) {
        self.tally[event.kind] += 1
    }

    private func countEvents() {
        for kind in self.tally.indices where self.tally[kind] > 0 {
            self.client.metrics.event(SchedulerClient.Event.names[kind], count: self.tally[kind])
            self.tally[kind] = 0
        }
    }

    /// One chunk of the body, or nil at its end; throws `.heartbeatTimeout` when the watchdog dropped a silent stream.
    private func read(_ connection: Connection) async throws -> ByteBuffer? {
        connection.watchdog.readStarted()
        defer { connection.watchdog.readEnded() }
        do {
            return try await connection.reader.next()
        } catch where connection.watchdog.fired {
            let window = connection.watchdog.window.map { "\($0)" } ?? "its window"
            throw MesosError(code: .heartbeatTimeout, message: "no data on the event stream for \(window)", underlying: error)
        }
    }

    /// The typed event for `message`, with what SUBSCRIBED tells recorded in the client's state.
    private func handle(_ message: SchedulerEvent, connection: Connection) -> SchedulerClient.Event {
        let event: SchedulerClient.Event
        if message.type == .subscribed {
            let subscribed = message.subscribed
            let interval: Duration? =
                subscribed.hasHeartbeatIntervalSeconds && subscribed.heartbeatIntervalSeconds.isFinite
                    && subscribed.heartbeatIntervalSeconds > 0
                ? .milliseconds(Int64(min(subscribed.heartbeatIntervalSeconds, 86_400) * 1000)) : nil
            let isResubscription: Bool = self.client.state.withLock { state in
                state.subscriptions += 1
                if subscribed.hasFrameworkID {
                state.frameworkID = subscribed.frameworkID
                self.unsaved = subscribed.frameworkID
            }
                state.heartbeatInterval = interval
                state.streamID = connection.streamID
                state.url = connection.url
                if state.phase == .subscribing { state.phase = .subscribed }
                return state.subscriptions > 1
            }
            self.logger[metadataKey: "mesos.framework_id"] = "\(subscribed.frameworkID.value)"
            self.logger.debug("subscribed", metadata: ["mesos.resubscription": "\(isResubscription)"])
            event = .subscribed(
                SchedulerClient.Subscription(
                    frameworkID: subscribed.frameworkID,
                    heartbeatInterval: interval,
                    masterInfo: subscribed.hasMasterInfo ? subscribed.masterInfo : nil,
                    streamID: connection.streamID,
                    url: connection.url,
                    isResubscription: isResubscription,
                    event: subscribed
                )
            )
        } else {
            event = SchedulerClient.Event(message)
        }
        self.count(event)
        return event
    }

    // MARK: Losing and finding the master

    /// Ends the current stream: the events decoded so far stay ahead of the notice.
    private func lose(_ error: MesosError, reconnecting: Bool? = nil) {
        self.connection = nil
        self.client.state.withLock { state in
            state.streamID = nil
            state.heartbeatInterval = nil
        }
        if self.client.isEnding {
            self.finish()
            return
        }
        let willReconnect =
            reconnecting ?? (self.client.configuration.reconnect.enabled && error.code != .cancelled && Self.isRecoverable(error))
        self.logger.debug("subscription lost", metadata: ["mesos.error": "\(error)", "mesos.reconnect": "\(willReconnect)"])
        self.client.metrics.event("disconnected")
        self.pending.append(.disconnected(error, willReconnect: willReconnect))
        if !willReconnect { self.failure = error }
    }

    private func finish() {
        self.connection = nil
        self.finished = true
    }

    /// Whether subscribing again may help after `error`.
    static func isRecoverable(_ error: MesosError) -> Bool {
        error.isRetryable || error.code == .framing || error.code == .unsubscribed
    }


    /// Subscribes until it works or the policy gives up; then the first event(s) are in `pending`.
    private func establish(isResubscription: Bool) async throws {
        let configuration = self.client.configuration
        let policy = isResubscription ? configuration.reconnect : configuration.firstSubscription ?? configuration.reconnect
        let clock = ContinuousClock()
        let started = clock.now
        var failures = 0
        var generator = SystemRandomNumberGenerator()
        while true {
            if self.client.isStopped { throw MesosError(code: .cancelled, message: "the client was stopped") }
            try Task.checkCancellation()
            do {
                try await self.attempt()
                self.client.metrics.subscription("subscribed")
                return
            } catch let error as MesosError {
                self.client.metrics.subscription(error.code.description)
                failures += 1
                guard Self.isRecoverable(error) && error.code != .unsubscribed,
                    policy.allowsAnotherAttempt(after: failures, elapsed: clock.now - started)
                else {
                    if self.client.isStopped { throw MesosError(code: .cancelled, message: "the client was stopped") }
                    throw error
                }
                let delay = policy.delay(attempt: failures, using: &generator)
                self.logger.debug(
                    "subscribe failed; retrying",
                    metadata: ["mesos.error": "\(error)", "mesos.attempt": "\(failures)", "mesos.delay": "\(delay)"]
                )
                self.client.state.withLock { $0.nextMaster += 1 }
                guard await self.client.pause(for: delay) else {
                    throw MesosError(code: .cancelled, message: "stopped while waiting to subscribe again")
                }
            } catch {
                throw MesosError(transport: error)
            }
        }
    }

    /// One attempt: a candidate master, its redirects, the stream's head, then its first event.
    private func attempt() async throws {
        let masters = self.client.configuration.masters
        guard !masters.isEmpty else { throw MesosError(code: .endpointNotFound, message: "no master configured") }
        let index = self.client.state.withLock { $0.nextMaster } % masters.count
        var url = SchedulerClient.endpoint(masters[index])
        if self.client.configuration.probeLeader, let leader = try? await self.probeLeader(masters[index]) {
            url = leader
        }
        var visited: [String] = []
        while true {
            visited.append(url)
            let response = try await self.post(url)
            if response.status == 200 {
                try await self.accept(response, url: url)
                return
            }
            let body = await Self.collect(response.body, limit: 4096)
            let error =
                MesosError(response: response.head, body: body, url: url)
                ?? MesosError(code: .unexpectedStatus, message: "SUBSCRIBE answered HTTP \(response.status)", httpStatus: response.status)
            guard error.code == .notLeader, let leader = error.leaderURL else { throw error }
            if visited.contains(leader) {
                throw MesosError(
                    code: .redirectLoop,
                    message: "circular redirect: " + (visited + [leader]).joined(separator: " → "),
                    httpStatus: 307,
                    leaderURL: leader
                )
            }
            if visited.count > self.client.configuration.maximumRedirects {
                throw MesosError(
                    code: .redirectLoop,
                    message: "more than \(self.client.configuration.maximumRedirects) redirects",
                    httpStatus: 307,
                    leaderURL: leader
                )
            }
            self.logger.debug("redirected to the leader", metadata: ["mesos.master": "\(leader)"])
            url = leader
        }
    }

    /// POSTs SUBSCRIBE to `url` on the stream's HTTP client and returns once the head has arrived.
    private func post(_ url: String) async throws -> HTTPStreamingResponse {
        let call = self.client.subscribeCall()
        let body: [UInt8]
        do {
            body = try self.client.codec.encode(call)
        } catch {
            throw MesosError(code: .badRequest, message: "the SUBSCRIBE call cannot be encoded: \(error)", underlying: error)
        }
        let mediaType = self.client.codec.contentType.mediaType
        let request = HTTPRequest(method: "POST", url: url, headers: [("Content-Type", mediaType), ("Accept", mediaType)], body: body)
        self.logger.trace("subscribing", metadata: ["mesos.master": "\(url)"])
        // The answer's head must come within the subscribe timeout too: a master (or a balancer in front of it) that
        // takes the connection and never answers would otherwise hold the subscription until TCP gives up.
        let window = self.client.configuration.subscribeTimeout
        let client = self.client.streamHTTP
        let head: HTTPStreamingResponse? = try await withThrowingTaskGroup(of: HTTPStreamingResponse?.self) { group in
            group.addTask {
                do {
                    return try await client.stream(request)
                } catch {
                    throw MesosError(transport: error)
                }
            }
            group.addTask {
                try await Task.sleep(for: window)
                return nil
            }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
        guard let head else {
            throw MesosError(code: .heartbeatTimeout, message: "no answer to SUBSCRIBE from \(url) within \(window)")
        }
        return head
    }

    /// Takes a 200 answer: the stream ID, then waits for the first event.
    private func accept(_ response: HTTPStreamingResponse, url: String) async throws {
        // A master always names the stream; a 200 without it is not the master's answer (an HTTPS proxy's, say),
        // and no call could be made on it (Mesos's own library CHECKs the header).
        guard let streamID = response.head.header("Mesos-Stream-Id"), !streamID.isEmpty else {
            throw MesosError(
                code: .unexpectedStatus,
                message: "the answer to SUBSCRIBE from \(url) has no Mesos-Stream-Id header: not a Mesos master's stream",
                httpStatus: response.status
            )
        }
        let connection = Connection(
            url: url,
            streamID: streamID,
            reader: BodyReader(response.body),
            watchdog: StreamWatchdog(body: response.body, window: self.client.configuration.subscribeTimeout),
            decoder: MesosEventDecoder(
                SchedulerEvent.self,
                codec: self.client.codec,
                maximumRecordSize: self.client.configuration.maximumRecordSize
            )
        )
        self.logger[metadataKey: "mesos.stream_id"] = "\(streamID)"
        let clock = ContinuousClock()
        let deadline = clock.now + self.client.configuration.subscribeTimeout
        let before = self.pending.count - self.pendingIndex
        while self.pending.count - self.pendingIndex == before && self.failure == nil {
            let left = deadline - clock.now
            guard left > .zero else {
                let timeout = self.client.configuration.subscribeTimeout
                throw MesosError(code: .heartbeatTimeout, message: "no SUBSCRIBED event within \(timeout)")
            }
            let chunk: ByteBuffer?
            do {
                chunk = try await self.read(connection)
            } catch let error as MesosError where error.code == .heartbeatTimeout {
                let timeout = self.client.configuration.subscribeTimeout
                throw MesosError(code: .heartbeatTimeout, message: "no SUBSCRIBED event within \(timeout)", underlying: error)
            } catch {
                throw MesosError(transport: error)
            }
            guard var chunk else { throw MesosError(code: .transport, message: "the master closed the stream before SUBSCRIBED") }
            connection.chunks.append(&chunk)
            do {
                try self.decodeFirst(connection)
            } catch {
                throw MesosError(code: .framing, message: "\(error)", underlying: error)
            }
        }
        await self.saveFrameworkID()
        // From now on the stream may be silent for the heartbeat interval times the tolerance (no limit when the
        // master gave no interval).
        let interval = self.client.state.withLock { $0.heartbeatInterval }
        connection.watchdog.setWindow(interval.map { $0 * max(1, self.client.configuration.heartbeatTolerance) })
        if self.failure == nil {
            self.connection = connection
        } else {
            connection.watchdog.cancel()
        }
    }

    /// Writes the framework ID of the last SUBSCRIBED to the store. A store that fails cannot be reported through the
    /// events, so it is logged (at warning) and the subscription goes on.
    private func saveFrameworkID() async {
        guard let id = self.unsaved, let store = self.client.configuration.frameworkIDStore else { return }
        self.unsaved = nil
        do {
            try await store.save(id)
        } catch {
            self.logger.warning("the framework ID could not be stored", metadata: ["mesos.error": "\(error)"])
        }
    }

    /// Asks a master where the leader is (`GET /master/redirect`: 307 with its address); nil when it does not say.
    private func probeLeader(_ master: String) async throws -> String? {
        var base = Substring(master)
        while base.hasSuffix("/") { base = base.dropLast() }
        if base.hasSuffix("/api/v1/scheduler") { base = base.dropLast("/api/v1/scheduler".count) }
        let url = String(base) + "/master/redirect"
        let response = try await self.client.callHTTP.execute(HTTPRequest(method: "GET", url: url))
        guard response.status == 307, let location = response.head.header("Location"),
            let leader = MesosError.resolve(location, against: url)
        else { return nil }
        return SchedulerClient.endpoint(leader)
    }

    /// Up to `limit` bytes of a body (an error's text); the rest is dropped with the transfer.
    static func collect(_ body: HTTPBody, limit: Int) async -> [UInt8] {
        var bytes: [UInt8] = []
        do {
            for try await chunk in body {
                bytes += chunk.readableBytesView.prefix(limit - bytes.count)
                if bytes.count >= limit { break }
            }
        } catch {}
        return bytes
    }
}

/// The iterator belongs to the task that iterates.
@available(*, unavailable)
extension SchedulerEvents.AsyncIterator: Sendable {}
