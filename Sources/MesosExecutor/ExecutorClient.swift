public import FoundationEssentials
public import Logging
public import Mesos
public import MesosCodecs
import MesosHTTP
import MesosRecordIO
import NIOCore
import Synchronization

/// A client of the Mesos v1 executor API (`/api/v1/executor` on the agent).
///
/// ```swift
/// let client = ExecutorClient(environment: try .fromProcess())
/// for try await event in client.events() {
///     switch event {
///     case .launch(let task):
///         try await client.update(task.taskID, .taskRunning)
///     case .shutdown: return
///     default: break
///     }
/// }
/// ```
///
/// Updates are reliable: each gets a fresh uuid and is kept until the agent says ACKNOWLEDGED; when the agent
/// goes away and comes back (a checkpointing framework's agent restarts), the client subscribes again with the
/// unacknowledged updates and tasks, so nothing is lost. Without checkpointing, losing the agent ends the events
/// with ``ExecutorError/Code/agentLost``, and the executor should exit, as the real agent expects.
public final class ExecutorClient: Sendable {
    /// What the agent says, typed.
    public enum Event: Sendable {
        case subscribed(ExecutorEvent.Subscribed)
        case launch(TaskInfo)
        case launchGroup(TaskGroupInfo)
        case kill(TaskID, KillPolicy?)
        /// The agent acknowledged the update with this uuid (the client has already forgotten it).
        case acknowledged(TaskID, uuid: Data)
        case message(Data)
        /// End every task within ``ExecutorEnvironment/shutdownGracePeriod`` and exit.
        case shutdown
        case error(String)
        case heartbeat
        /// The agent went away; the client is subscribing again (checkpointing frameworks only). Once per outage:
        /// the next event after it is the SUBSCRIBED of the new subscription, or the end.
        case disconnected(reason: String)
    }

    public let environment: ExecutorEnvironment
    /// How often a HEARTBEAT call goes to the agent while subscribed (nil: never), as Mesos's executor library sends
    /// one every 30 minutes: it keeps the call connection from idling out in proxies between executor and agent.
    public let heartbeatInterval: Duration?
    private let codec: MessageCodec
    private let streamHTTP: HTTPClient
    private let callHTTP: HTTPClient
    private let logger: Logger
    private let state = Mutex(State())

    private struct State {
        var unacknowledgedUpdates: [Data: ExecutorCall.Update] = [:]
        var unacknowledgedTasks: [String: TaskInfo] = [:]
        var frameworkInfo: FrameworkInfo?
        var subscribed = false
    }

    public init(
        environment: ExecutorEnvironment,
        contentType: ContentType = .json,
        heartbeatInterval: Duration? = .seconds(30 * 60),
        logger: Logger? = nil
    ) {
        self.environment = environment
        self.heartbeatInterval = heartbeatInterval
        self.codec = MessageCodec(contentType)
        var http = HTTPClientConfiguration()
        if let token = environment.authenticationToken { http.authentication = .bearer(token) }
        http.unixSocketPath = environment.domainSocket
        if let tls = environment.tls {
            http.tls.verify = tls.verifyServerCertificate
            http.tls.caFile = tls.caFile
            http.tls.caDirectory = tls.caDirectory
            http.tls.clientCertificateFile = tls.certificateFile
            http.tls.clientKeyFile = tls.keyFile
        }
        self.streamHTTP = HTTPClient(configuration: http)
        self.callHTTP = HTTPClient(configuration: http)
        self.logger = logger ?? Logger(label: "mesos.executor", factory: { _ in SwiftLogNoOpLogHandler() })
    }

    deinit {
        self.streamHTTP.shutdown()
        self.callHTTP.shutdown()
    }

    /// The framework, once subscribed.
    public var frameworkInfo: FrameworkInfo? { self.state.withLock { $0.frameworkInfo } }

    /// Updates sent and not yet acknowledged.
    public var pendingUpdates: Int { self.state.withLock { $0.unacknowledgedUpdates.count } }

    /// Subscribes (and subscribes again after losing the agent, when checkpointing) and delivers the events.
    /// Ends after SHUTDOWN, or throws ``ExecutorError`` when the agent cannot be reached.
    ///
    /// After SHUTDOWN the client goes on reading the agent's stream, without delivering anything more, until the
    /// agent closes it: the ACKNOWLEDGED of the updates the executor sends while it ends its tasks come on it, and
    /// ``pendingUpdates`` counts down.
    public func events() -> AsyncThrowingStream<Event, any Error> {
        AsyncThrowingStream { continuation in
            let task = Task { await self.run(continuation) }
            // Only a consumer that stops early cancels: after SHUTDOWN the events end, and the stream is still read.
            continuation.onTermination = { termination in
                if case .cancelled = termination { task.cancel() }
            }
        }
    }

    private func run(_ continuation: AsyncThrowingStream<Event, any Error>.Continuation) async {
        let heartbeats = self.heartbeatInterval.map { interval in
            Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    guard !Task.isCancelled, self.state.withLock({ $0.subscribed }) else { continue }
                    try? await self.heartbeat()
                }
            }
        }
        defer { heartbeats?.cancel() }
        var lostSince: ContinuousClock.Instant?
        var everSubscribed = false
        while !Task.isCancelled {
            do {
                let shutdown = try await self.subscribeOnce(continuation) {
                    lostSince = nil
                    everSubscribed = true
                }
                if shutdown {
                    continuation.finish()
                    return
                }
                throw ExecutorError(code: .agentLost, message: "the agent closed the event stream")
            } catch let error as ExecutorError where error.code == .refused {
                continuation.finish(throwing: error)
                return
            } catch {
                if Task.isCancelled { break }
                self.state.withLock { $0.subscribed = false }
                guard self.environment.checkpoint else {
                    guard everSubscribed else {
                        continuation.finish(throwing: ExecutorError(
                            code: .unreachable,
                            message: "cannot reach the agent at \(self.environment.agentURL) (\(error)); the framework does not checkpoint, so the executor does not retry"
                        ))
                        return
                    }
                    continuation.finish(throwing: ExecutorError(
                        code: .agentLost,
                        message: "lost the agent (\(error)); the framework does not checkpoint, so the executor must exit"
                    ))
                    return
                }
                let firstFailure = lostSince == nil
                let since = lostSince ?? .now
                lostSince = since
                if ContinuousClock.now - since >= self.environment.recoveryTimeout {
                    continuation.finish(throwing: ExecutorError(
                        code: .recoveryTimeout,
                        message: "the agent did not come back within \(self.environment.recoveryTimeout) (\(error))"
                    ))
                    return
                }
                // Once per outage, as Mesos's executor library reports it, not once per attempt.
                if firstFailure { continuation.yield(.disconnected(reason: "\(error)")) }
                let maximum = max(1, Int64(self.environment.subscriptionBackoffMaximum.components.seconds * 1000)
                    + self.environment.subscriptionBackoffMaximum.components.attoseconds / 1_000_000_000_000_000)
                try? await Task.sleep(for: .milliseconds(Int64.random(in: 1...maximum)))
            }
        }
        continuation.finish(throwing: ExecutorError(code: .cancelled, message: "cancelled"))
    }

    /// One subscription; true when it ended with SHUTDOWN.
    private func subscribeOnce(
        _ continuation: AsyncThrowingStream<Event, any Error>.Continuation,
        connected: () -> Void
    ) async throws -> Bool {
        var call = self.call(.subscribe)
        self.state.withLock { state in
            call.subscribe.unacknowledgedTasks = state.unacknowledgedTasks.values.sorted { $0.taskID.value < $1.taskID.value }
            call.subscribe.unacknowledgedUpdates = state.unacknowledgedUpdates.values.sorted {
                $0.status.timestamp < $1.status.timestamp
            }
        }
        let response = try await self.streamHTTP.stream(self.request(call))
        guard response.status == 200 else {
            var text = ""
            for try await chunk in response.body {
                text += String(buffer: chunk)
                if text.utf8.count > 4096 { break }
            }
            let code = Self.errorCode(status: response.status)
            throw ExecutorError(code: code, message: text, httpStatus: response.status)
        }
        connected()
        var decoder = MesosEventDecoder(ExecutorEvent.self, codec: self.codec)
        var chunks = RecordIOChunks()
        var shutdown = false
        do {
            for try await var chunk in response.body {
                chunks.append(&chunk)
                while let event = try decoder.decode(chunks: &chunks) {
                    guard self.deliver(event, continuation) else { continue }
                    // The events end here; the stream is read on for the acknowledgements (see `events()`).
                    continuation.finish()
                    shutdown = true
                }
            }
        } catch _ where shutdown {
            // The agent ended the stream of an executor it told to shut down: nothing is lost.
        }
        return shutdown
    }

    /// Updates the client's state and yields the event; true for SHUTDOWN.
    private func deliver(_ event: ExecutorEvent, _ continuation: AsyncThrowingStream<Event, any Error>.Continuation) -> Bool {
        switch event.type {
        case .subscribed:
            self.state.withLock { state in
                state.frameworkInfo = event.subscribed.frameworkInfo
                state.subscribed = true
            }
            continuation.yield(.subscribed(event.subscribed))
        case .launch:
            self.state.withLock { $0.unacknowledgedTasks[event.launch.task.taskID.value] = event.launch.task }
            continuation.yield(.launch(event.launch.task))
        case .launchGroup:
            self.state.withLock { state in
                for task in event.launchGroup.taskGroup.tasks { state.unacknowledgedTasks[task.taskID.value] = task }
            }
            continuation.yield(.launchGroup(event.launchGroup.taskGroup))
        case .kill:
            continuation.yield(.kill(event.kill.taskID, event.kill.hasKillPolicy ? event.kill.killPolicy : nil))
        case .acknowledged:
            let taskID = event.acknowledged.taskID
            let uuid = event.acknowledged.uuid
            self.state.withLock { state in
                if let update = state.unacknowledgedUpdates.removeValue(forKey: uuid), update.status.state.isTerminal {
                    state.unacknowledgedTasks[taskID.value] = nil
                }
            }
            continuation.yield(.acknowledged(taskID, uuid: uuid))
        case .message:
            continuation.yield(.message(event.message.data))
        case .shutdown:
            continuation.yield(.shutdown)
            return true
        case .error:
            continuation.yield(.error(event.error.message))
        case .heartbeat:
            continuation.yield(.heartbeat)
        default:
            self.logger.debug("executor: ignoring an event of unknown type \(event.type.rawValue)")
        }
        return false
    }

    // MARK: Calls

    /// Sends a status update for a task: the client fills in the uuid, the timestamp, the source and the executor,
    /// and keeps the update until the agent acknowledges it (sending it again on the next subscription if needed).
    ///
    /// - Returns: the update's uuid.
    @discardableResult
    public func update(_ taskID: TaskID, _ state: TaskState, message: String? = nil, reason: TaskStatus.Reason? = nil, data: Data? = nil) async throws -> Data {
        var status = TaskStatus()
        status.taskID = taskID
        status.state = state
        if let message { status.message = message }
        if let reason { status.reason = reason }
        if let data { status.data = data }
        return try await self.update(status)
    }

    /// Sends `status` as an UPDATE (see ``update(_:_:message:reason:data:)``).
    @discardableResult
    public func update(_ status: TaskStatus) async throws -> Data {
        var status = status
        status.source = .executor
        status.executorID = ExecutorID(self.environment.executorID)
        status.timestamp = Date().timeIntervalSince1970
        let uuid = Data(UUID().uuidBytes)
        status.uuid = uuid
        var call = self.call(.update)
        call.update.status = status
        let update = call.update
        self.state.withLock { $0.unacknowledgedUpdates[uuid] = update }
        do {
            try await self.send(call)
        } catch let error as ExecutorError where error.code == .refused {
            self.state.withLock { _ = $0.unacknowledgedUpdates.removeValue(forKey: uuid) }
            throw error
        } catch {
            // Kept: it goes again with the next SUBSCRIBE.
            self.logger.debug("executor: UPDATE not delivered now (\(error)); it goes with the next subscription")
        }
        return uuid
    }

    /// Sends bytes to the scheduler (a MESSAGE event there).
    public func message(_ data: Data) async throws {
        var call = self.call(.message)
        call.message.data = data
        try await self.send(call)
    }

    /// Tells the agent the executor is alive (only needed on connections that idle, such as through proxies).
    public func heartbeat() async throws {
        try await self.send(self.call(.heartbeat))
    }

    private func call(_ type: ExecutorCall.TypeEnum) -> ExecutorCall {
        var call = ExecutorCall()
        call.type = type
        call.executorID = ExecutorID(self.environment.executorID)
        call.frameworkID = FrameworkID(self.environment.frameworkID)
        return call
    }

    private func request(_ call: ExecutorCall) throws -> HTTPRequest {
        HTTPRequest(
            url: self.environment.agentURL,
            headers: [("Content-Type", self.codec.contentType.mediaType), ("Accept", self.codec.contentType.mediaType)],
            body: try self.codec.encode(call)
        )
    }

    private func send(_ call: ExecutorCall) async throws {
        let response: HTTPResponse
        do {
            response = try await self.callHTTP.execute(self.request(call))
        } catch {
            throw ExecutorError(code: .agentLost, message: "\(error)")
        }
        guard response.status == 202 else {
            let text = String(decoding: response.body.readableBytesView.prefix(4096), as: UTF8.self)
            throw ExecutorError(code: Self.errorCode(status: response.status), message: text, httpStatus: response.status)
        }
    }

    /// What an answer other than success means. A 4xx is the agent refusing the executor or the call, which trying
    /// again does not change, except 404: an agent still starting has not set up its executor endpoint yet, and
    /// Mesos's executor library counts that as temporary, as it does 503 and the other 5xx.
    static func errorCode(status: Int) -> ExecutorError.Code {
        (400..<500).contains(status) && status != 404 ? .refused : .agentLost
    }

}

/// Why the executor's events ended, or a call failed.
public struct ExecutorError: Error, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        /// The agent answered 4xx: it refuses this executor or call (its text is in ``ExecutorError/message``).
        public static let refused = Code(name: "refused")
        /// The agent went away (and the framework does not checkpoint, or a call could not be delivered).
        public static let agentLost = Code(name: "agentLost")
        /// The agent could not be reached to subscribe at all, and the framework does not checkpoint (so there is no
        /// recovery to wait for): a wrong `MESOS_AGENT_ENDPOINT`, or an agent already gone.
        public static let unreachable = Code(name: "unreachable")
        /// A checkpointing framework's agent did not come back within `MESOS_RECOVERY_TIMEOUT`.
        public static let recoveryTimeout = Code(name: "recoveryTimeout")
        public static let cancelled = Code(name: "cancelled")
        public var description: String { self.name }
    }

    public var code: Code
    public var message: String
    public var httpStatus: Int?

    public init(code: Code, message: String, httpStatus: Int? = nil) {
        self.code = code
        self.message = message
        self.httpStatus = httpStatus
    }

    public var description: String {
        "ExecutorError.\(self.code)" + (self.httpStatus.map { " (HTTP \($0))" } ?? "") + ": " + self.message
    }
}

extension UUID {
    var uuidBytes: [UInt8] {
        let u = self.uuid
        return [u.0, u.1, u.2, u.3, u.4, u.5, u.6, u.7, u.8, u.9, u.10, u.11, u.12, u.13, u.14, u.15]
    }
}
