import Logging
public import Mesos
import MesosCodecs
import MesosHTTP
import Metrics
import NIOCore
import Synchronization

/// A client of the Mesos v1 scheduler API (`/api/v1/scheduler`).
///
/// ```swift
/// let client = SchedulerClient(configuration: SchedulerConfiguration(masters: ["http://127.0.0.1:5050"]))
/// var info = FrameworkInfo()
/// info.user = "root"
/// info.name = "example"
/// let events = try await client.subscribe(info)
/// for try await event in events {
///     switch event {
///     case .offers(let offers): try await client.decline(offerIDs: offers.map(\.id))
///     case .update(let status): try await client.acknowledge(status)
///     default: break
///     }
/// }
/// ```
///
/// **Subscription.** ``subscribe(_:suppressedRoles:offerConstraints:)`` finds the leading master (round-robin over
/// the candidates, following `307` answers by hand, retrying `503` and `404` while a master recovers), waits for the
/// SUBSCRIBED event and returns the ``SchedulerEvents``. The framework ID of SUBSCRIBED and the stream's
/// `Mesos-Stream-Id` header go on every later call. When the stream is lost (dropped connection, no heartbeat for
/// ``SchedulerConfiguration/heartbeatTolerance`` intervals, master fail-over), the client subscribes again with the
/// framework ID, so the framework fails over instead of registering anew, and with the roles suppressed at the time
/// (SUPPRESS and REVIVE keep them; a SUBSCRIBE sets them anew), as long as the
/// ``SchedulerConfiguration/reconnect`` policy allows; the events say so (``Event/disconnected(_:willReconnect:)``).
///
/// **Calls** go over a second HTTP client (its own libcurl multi handle), one at a time and in order on one
/// keep-alive connection, so they never queue behind the event stream. Each waits for the master's answer (202, or
/// 200 for UPDATE_FRAMEWORK) and throws ``MesosError`` with the master's text otherwise.
///
/// One client holds one subscription; ``stop(teardown:)`` ends it for good.
public final class SchedulerClient: Sendable {
    public let configuration: SchedulerConfiguration

    let streamHTTP: HTTPClient
    let callHTTP: HTTPClient
    let codec: MessageCodec
    let logger: Logger
    let calls = CallQueue()
    let metrics: SchedulerMetrics
    let state = Mutex(State())

    struct State {
        enum Phase { case idle, subscribing, subscribed, stopped }
        var phase = Phase.idle
        /// TEARDOWN is on its way (``stop(teardown:)``).
        var tearingDown = false
        var frameworkInfo = FrameworkInfo()
        var suppressedRoles: [String] = []
        var offerConstraints: Mesos_V1_Scheduler_OfferConstraints?
        var frameworkID: FrameworkID?
        /// The stream ID and URL of the current subscription; nil between subscriptions.
        var streamID: String?
        var url: String?
        var heartbeatInterval: Duration?
        /// The candidate to try next.
        var nextMaster = 0
        var subscriptions = 0
        var stopWaiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var cancelledStopWaiters: Set<Int> = []
        var nextWaiterID = 0
    }

    public init(configuration: SchedulerConfiguration) {
        self.configuration = configuration
        var http = configuration.http
        http.headers += configuration.headers
        self.streamHTTP = HTTPClient(configuration: http)
        self.callHTTP = HTTPClient(configuration: http)
        self.codec = MessageCodec(configuration.contentType)
        self.logger = configuration.logger ?? Logger(label: "mesos.scheduler", factory: { _ in SwiftLogNoOpLogHandler() })
        self.metrics = SchedulerMetrics(factory: configuration.metricsFactory)
    }

    deinit {
        self.streamHTTP.shutdown()
        self.callHTTP.shutdown()
    }

    /// The framework's ID: from the store or the FrameworkInfo before the first SUBSCRIBED, from the master after.
    public var frameworkID: FrameworkID? { self.state.withLock { $0.frameworkID } }
    /// The `Mesos-Stream-Id` of the current subscription; nil while there is none.
    public var streamID: String? { self.state.withLock { $0.streamID } }
    /// The scheduler endpoint of the leading master, as last subscribed to.
    public var leaderURL: String? { self.state.withLock { $0.url } }
    /// Whether a subscription is currently established.
    public var isSubscribed: Bool { self.state.withLock { $0.phase == .subscribed && $0.streamID != nil } }

    // MARK: Subscribing

    /// SUBSCRIBE: registers the framework (or fails it over, when it has an ID) and opens the event stream.
    ///
    /// The ID comes from `info.id`, else from the ``SchedulerConfiguration/frameworkIDStore``; with one, the call
    /// carries it at the top level and in `framework_info.id`, so the master fails the framework over. Returns once
    /// the SUBSCRIBED event has arrived (it is also the first element of the events), so calls can be made at once.
    ///
    /// - Parameters:
    ///   - info: the framework (user, name, roles, capabilities, `failover_timeout`, …).
    ///   - suppressedRoles: roles that get no offers until ``revive(roles:)``.
    ///   - offerConstraints: per-role attribute constraints the master applies before offering.
    /// - Returns: the events, until ``stop(teardown:)``, cancellation, or the reconnect policy gives up.
    /// - Throws: ``MesosError``: `.unauthorized`, `.badRequest` (the master refused the framework), `.errorEvent`,
    ///   or, once the ``SchedulerConfiguration/reconnect`` policy gives up, the last of `.notLeader`,
    ///   `.redirectLoop`, `.unavailable`, `.endpointNotFound`, `.transport`; `.cancelled`.
    public func subscribe(
        _ info: FrameworkInfo,
        suppressedRoles: [String] = [],
        offerConstraints: Mesos_V1_Scheduler_OfferConstraints? = nil
    ) async throws -> SchedulerEvents {
        var info = info
        if !info.hasID, let store = self.configuration.frameworkIDStore, let stored = try await store.load() {
            info.id = stored
        }
        let started: Bool = self.state.withLock { state in
            guard state.phase == .idle else { return false }
            state.phase = .subscribing
            state.frameworkInfo = info
            state.suppressedRoles = suppressedRoles
            state.offerConstraints = offerConstraints
            if info.hasID { state.frameworkID = info.id }
            return true
        }
        guard started else {
            throw MesosError(code: .cancelled, message: "this client has already subscribed (or was stopped); make a new one")
        }
        let driver = SubscriptionDriver(client: self)
        do {
            try await driver.start()
        } catch {
            // Nothing was established: the client may subscribe again (unless it was stopped).
            self.state.withLock { state in
                if state.phase == .subscribing { state.phase = .idle }
            }
            throw error
        }
        return SchedulerEvents(driver: driver)
    }

    /// The SUBSCRIBE call as it goes out now: with the framework ID once there is one.
    func subscribeCall() -> SchedulerCall {
        self.state.withLock { state in
            var info = state.frameworkInfo
            if let id = state.frameworkID { info.id = id }
            return SchedulerCall.subscribe(info, suppressedRoles: state.suppressedRoles, offerConstraints: state.offerConstraints)
        }
    }

    /// The scheduler endpoint of a candidate master.
    static func endpoint(_ master: String) -> String {
        var base = Substring(master)
        while base.hasSuffix("/") { base = base.dropLast() }
        if base.hasSuffix("/api/v1/scheduler") { return String(base) }
        return base + "/api/v1/scheduler"
    }

    // MARK: Stopping

    /// Ends the subscription for good.
    ///
    /// - Parameter teardown: true sends TEARDOWN first (the master kills every task and forgets the framework; the
    ///   stored framework ID is removed). False just disconnects: the framework fails over later (within its
    ///   `failover_timeout`) with its tasks still running.
    /// - Throws: ``MesosError`` when TEARDOWN was refused; the client is stopped all the same.
    public func stop(teardown: Bool = false) async throws {
        defer { self.finishStopping() }
        guard teardown, let frameworkID = self.frameworkID else { return }
        // The master ends the stream on TEARDOWN, possibly before its 202 is in: that end must not read as a drop to
        // re-subscribe after (the master would answer that SUBSCRIBE with "Framework has been removed").
        self.state.withLock { $0.tearingDown = true }
        try await self.send(.teardown(frameworkID))
        try await self.configuration.frameworkIDStore?.remove()
    }

    private func finishStopping() {
        let waiters = self.state.withLock { state in
            state.phase = .stopped
            state.streamID = nil
            defer { state.stopWaiters.removeAll() }
            return Array(state.stopWaiters.values)
        }
        for waiter in waiters { waiter.resume() }
        self.streamHTTP.shutdown()  // the stream's read ends at once
        self.callHTTP.shutdown()
    }

    var isStopped: Bool { self.state.withLock { $0.phase == .stopped } }

    /// Stopped, or sending TEARDOWN to stop: the stream's end is not a drop.
    var isEnding: Bool { self.state.withLock { $0.phase == .stopped || $0.tearingDown } }

    /// Sleeps for `duration`, or less if the client stops. Returns false when it stopped (or the task was cancelled).
    func pause(for duration: Duration) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                do {
                    try await Task.sleep(for: duration)
                    return true
                } catch {
                    return false
                }
            }
            group.addTask {
                await self.waitForStop()
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    private func waitForStop() async {
        let id = self.state.withLock { state in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now: Bool = self.state.withLock { state in
                    if state.phase == .stopped || state.cancelledStopWaiters.remove(id) != nil { return true }
                    state.stopWaiters[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            let waiter: CheckedContinuation<Void, Never>? = self.state.withLock { state in
                if let waiter = state.stopWaiters.removeValue(forKey: id) { return waiter }
                state.cancelledStopWaiters.insert(id)
                return nil
            }
            waiter?.resume()
        }
        self.state.withLock { _ = $0.cancelledStopWaiters.remove(id) }
    }

    // MARK: Calls

    /// Sends a call as it is (it must carry the framework ID) with the current stream ID, and waits for the answer.
    ///
    /// - Returns: the body of the answer (empty for 202).
    /// - Throws: ``MesosError``: `.unsubscribed` when there is no subscription (or the master says the stream is
    ///   stale), `.badRequest` with the master's reason, `.notLeader`, `.unauthorized`, `.forbidden`,
    ///   `.unavailable`, `.unexpectedStatus` (any status but 202, or 200 for UPDATE_FRAMEWORK), `.transport`,
    ///   `.cancelled`.
    @discardableResult
    public func send(_ call: SchedulerCall) async throws -> [UInt8] {
        let name = call.type.name
        do {
            let body = try await self.sendUnmetered(call)
            self.metrics.call(name, result: "accepted")
            return body
        } catch let error as MesosError {
            self.metrics.call(name, result: error.code.description)
            throw error
        }
    }

    private func sendUnmetered(_ call: SchedulerCall) async throws -> [UInt8] {
        guard call.type != .subscribe else {
            throw MesosError(code: .badRequest, message: "SUBSCRIBE opens the event stream: use subscribe(_:), not send(_:)")
        }
        let body: [UInt8]
        do {
            body = try self.codec.encode(call)
        } catch {
            throw MesosError(code: .badRequest, message: "the \(call.type.name) call cannot be encoded: \(error)", underlying: error)
        }
        // The master and stream are read when the call's turn comes, not when it was queued: a call that waited
        // behind others while the client re-subscribed goes to the new stream (and master), not to the replaced one.
        let exchange: (response: HTTPResponse, url: String, logger: Logger)
        do {
            exchange = try await self.calls.withTurn {
                let target: (url: String, streamID: String)? = self.state.withLock { state in
                    guard state.phase != .stopped || call.type == .teardown, let url = state.url, let streamID = state.streamID else {
                        return nil
                    }
                    return (url, streamID)
                }
                guard let target else {
                    throw MesosError(code: .unsubscribed, message: "not subscribed: no stream to send \(call.type.name) on")
                }
                let request = HTTPRequest(
                    method: "POST",
                    url: target.url,
                    headers: [
                        ("Content-Type", self.codec.contentType.mediaType),
                        ("Accept", self.codec.contentType.mediaType),
                        ("Mesos-Stream-Id", target.streamID),
                    ],
                    body: body
                )
                var logger = self.logger
                logger[metadataKey: "mesos.call"] = "\(call.type.name)"
                logger[metadataKey: "mesos.stream_id"] = "\(target.streamID)"
                logger.trace("sending call")
                return (try await self.callHTTP.execute(request), target.url, logger)
            }
        } catch let error as MesosError {
            throw error
        } catch {
            throw MesosError(transport: error)
        }
        let (response, url, logger) = exchange
        let expected = call.type == .updateFramework ? 200 : 202
        let answer = Array(response.body.readableBytesView)
        guard response.status == expected else {
            let error =
                MesosError(response: response.head, body: answer, url: url)
                ?? MesosError(
                    code: .unexpectedStatus,
                    message: "expected HTTP \(expected), got \(response.status)",
                    httpStatus: response.status
                )
            logger.debug("call refused", metadata: ["mesos.error": "\(error)"])
            throw error
        }
        return answer
    }

    /// The framework ID every call carries.
    func requireFrameworkID(_ call: String) throws -> FrameworkID {
        guard let id = self.frameworkID else {
            throw MesosError(code: .unsubscribed, message: "not subscribed yet: no framework ID for \(call)")
        }
        return id
    }
}

extension MesosError {
    /// A failure below HTTP, or cancellation.
    init(transport error: any Error) {
        if let error = error as? MesosError {
            self = error
        } else if let error = error as? HTTPClientError, error.code == .cancelled || error.code == .shutdown {
            self.init(code: .cancelled, message: error.message, underlying: error)
        } else if error is CancellationError {
            self.init(code: .cancelled, message: "cancelled", underlying: error)
        } else if let error = error as? HTTPClientError, error.code == .tls, error.curlCode != 35 {
            // Everything libcurl calls a TLS failure but CURLE_SSL_CONNECT_ERROR (a handshake cut short) is about
            // certificates or ciphers: retrying cannot help.
            self.init(code: .tls, message: error.message, underlying: error)
        } else if let error = error as? HTTPClientError {
            self.init(code: .transport, message: error.message, underlying: error)
        } else {
            self.init(code: .transport, message: "\(error)", underlying: error)
        }
    }
}

extension SchedulerCall.TypeEnum {
    /// The name as the API spells it (`ACCEPT`), for errors, logs and metric dimensions.
    var name: String {
        switch self {
        case .unknown: "UNKNOWN"
        case .subscribe: "SUBSCRIBE"
        case .teardown: "TEARDOWN"
        case .accept: "ACCEPT"
        case .decline: "DECLINE"
        case .acceptInverseOffers: "ACCEPT_INVERSE_OFFERS"
        case .declineInverseOffers: "DECLINE_INVERSE_OFFERS"
        case .revive: "REVIVE"
        case .kill: "KILL"
        case .shutdown: "SHUTDOWN"
        case .acknowledge: "ACKNOWLEDGE"
        case .acknowledgeOperationStatus: "ACKNOWLEDGE_OPERATION_STATUS"
        case .reconcile: "RECONCILE"
        case .reconcileOperations: "RECONCILE_OPERATIONS"
        case .message: "MESSAGE"
        case .request: "REQUEST"
        case .suppress: "SUPPRESS"
        case .updateFramework: "UPDATE_FRAMEWORK"
        }
    }
}

/// The client's counters, made once per dimension set.
final class SchedulerMetrics: Sendable {
    private let factory: (any MetricsFactory)?
    private let counters = Mutex<[String: Counter]>([:])

    init(factory: (any MetricsFactory)?) {
        self.factory = factory
    }

    func call(_ name: String, result: String) {
        self.counter("mesos.scheduler.calls", [("call", name), ("result", result)]).increment()
    }

    func event(_ name: String, count: Int = 1) {
        self.counter("mesos.scheduler.events", [("event", name)]).increment(by: count)
    }

    func subscription(_ result: String) {
        self.counter("mesos.scheduler.subscriptions", [("result", result)]).increment()
    }

    private func counter(_ label: String, _ dimensions: [(String, String)]) -> Counter {
        let key = label + dimensions.map { "|\($0.0)=\($0.1)" }.joined()
        return self.counters.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter =
                if let factory = self.factory {
                    Counter(label: label, dimensions: dimensions, factory: factory)
                } else {
                    Counter(label: label, dimensions: dimensions)
                }
            counters[key] = counter
            return counter
        }
    }
}
