import NIOHTTP1
import FoundationEssentials
public import Logging
public import Mesos
import MesosCodecs
import NIOCore
import Synchronization

/// A Mesos 1.11 master in this process: the v1 scheduler API (`/api/v1/scheduler`), offers from its agents,
/// task launch and status updates, reconciliation, failover, and the read-only endpoints clients use
/// (`/master/state`, `/version`, `/health`, `/redirect`). It answers as the real master does, status codes and
/// texts included; tests can also make it misbehave (see the fault methods).
///
/// Most users want ``LocalCluster``, which starts a master with agents.
public final class LocalMaster: Sendable {
    public let configuration: LocalMasterConfiguration
    let logger: Logger
    let state: Mutex<State>
    let server: Mutex<LocalHTTPServer?>
    let ticker: Mutex<Task<Void, Never>?>

    struct State {
        /// This master process's ID: a new UUID each time the master starts, as `Master::initialize` makes one. Agent,
        /// framework and offer IDs it assigns start with it; a restart (``LocalMaster/restart(persistingState:downtime:)``)
        /// makes a new one, so IDs assigned after it never collide with those of the previous process.
        var masterID = UUID().uuidString.lowercased()
        var masterInfo = MasterInfo()
        var frameworks: [String: MasterFramework] = [:]
        /// Frameworks torn down or timed out: re-subscribing with their ID is refused.
        var completedFrameworks: Set<String> = []
        /// Their records, newest last (at most `max_completed_frameworks`), for `/master/state`.
        var completedFrameworkRecords: [MasterFramework] = []
        /// When this master process started and was elected (seconds since the epoch).
        var startTime = Date().timeIntervalSince1970
        var agents: [String: MasterAgent] = [:]
        var removedAgents: [String: AgentRemoval] = [:]
        /// When each agent was removed (seconds since the epoch), for the registry.
        var removedAt: [String: Double] = [:]
        /// Agents the registry holds that have not re-registered since the master (re)started.
        var recoveredAgents: [String: AgentInfo] = [:]
        /// The maintenance schedule (`/master/maintenance/schedule`).
        var maintenance: [MaintenanceWindow] = []
        var offers: [String: MasterOffer] = [:]
        /// Inverse offers made and not answered, by ID.
        var inverseOffers: [String: MasterInverseOffer] = [:]
        /// The answers to inverse offers, by agent and framework.
        var inverseOfferStatuses: [String: [String: InverseOfferStatus]] = [:]
        var nextFramework = 0
        var nextOffer = 0
        var nextAgent = 0
        var allocationWanted = true
        var lastAllocation = ContinuousClock.now
        // Faults.
        var unavailableUntil: ContinuousClock.Instant?
        /// `loseOffersOfNextAccept()`.
        var loseNextAcceptOffers = false
        /// RECONCILE calls taken, by framework ID (for tests).
        var reconcileCalls: [String: Int] = [:]
        /// Until when no master leads (``LocalMaster/beLeaderless(for:)``).
        var leaderlessUntil: ContinuousClock.Instant?
        var leader: String?
        var heartbeatsStalled = false
        var allocation = AllocationStatistics()
    }

    /// How long the allocator's rounds took (for benchmarks): rounds made and their durations.
    public struct AllocationStatistics: Sendable {
        public var rounds = 0
        public var total = Duration.zero
        public var maximum = Duration.zero
        /// The mean time per round.
        public var mean: Duration { self.rounds == 0 ? .zero : self.total / self.rounds }
    }

    /// The allocator's rounds so far.
    public var allocationStatistics: AllocationStatistics { self.state.withLock { $0.allocation } }

    /// How many RECONCILE calls the master has taken from the framework, so a test can see a scheduler reconcile.
    public func reconcileCalls(of frameworkID: FrameworkID) -> Int {
        self.state.withLock { $0.reconcileCalls[frameworkID.value] ?? 0 }
    }

    /// The roles of `frameworkID` that get no offers (SUBSCRIBE's `suppressed_roles`, SUPPRESS, REVIVE,
    /// UPDATE_FRAMEWORK), sorted; nil for a framework this master does not know. For tests of what a client asked.
    public func suppressedRoles(of frameworkID: FrameworkID) -> [String]? {
        self.state.withLock { state in state.frameworks[frameworkID.value].map { $0.suppressedRoles.sorted() } }
    }

    public init(configuration: LocalMasterConfiguration = LocalMasterConfiguration()) {
        self.configuration = configuration
        self.logger = configuration.logger
        self.state = Mutex(State())
        self.server = Mutex(nil)
        self.ticker = Mutex(nil)
    }

    /// `http://host:port` once started (`https://` with ``LocalMasterConfiguration/tls``).
    public var url: String {
        let port = self.server.withLock { $0?.port } ?? self.configuration.port
        return "\(self.configuration.tls == nil ? "http" : "https")://\(self.configuration.host):\(port)"
    }

    /// The port it listens on (after ``start()``).
    public var port: Int { self.server.withLock { $0?.port } ?? self.configuration.port }

    /// Starts listening and allocating.
    public func start() async throws {
        try self.state.withLock { state in try self.recoverRegistry(into: &state) }
        try await self.bind(port: self.configuration.port)
        let ticker = Task { [weak self] in
            while !Task.isCancelled {
                guard let self else { return }
                self.tick()
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        self.ticker.withLock { $0 = ticker }
    }

    func bind(port: Int) async throws {
        let server = try await LocalHTTPServer.start(
            host: self.configuration.host,
            port: port,
            tls: self.configuration.tls,
            logger: self.logger
        ) { [weak self] request in
            guard let self else { return .text(.serviceUnavailable, "Master is shutting down") }
            return self.handle(request)
        }
        self.server.withLock { $0 = server }
        self.state.withLock { state in
            var info = MasterInfo()
            info.id = state.masterID
            info.ip = Self.ipv4Number(self.configuration.host)
            info.port = UInt32(server.port)
            info.pid = "master@\(self.configuration.host):\(server.port)"
            info.hostname = self.configuration.hostname
            info.version = "1.11.0"
            info.address.hostname = self.configuration.hostname
            info.address.ip = self.configuration.host
            info.address.port = Int32(server.port)
            var agentUpdate = MasterInfo.Capability()
            agentUpdate.type = .agentUpdate
            var agentDraining = MasterInfo.Capability()
            agentDraining.type = .agentDraining
            // A 1.11 master's `MASTER_CAPABILITIES()` ends with QUOTA_V2 (3), which the v1 enum does not name: it
            // travels as an unknown field (`{}` in JSON, `1: 3` in protobuf), as the recorded SUBSCRIBED shows.
            let quotaV2 = (try? MessageCodec(.protobuf).decode(MasterInfo.Capability.self, from: [0x08, 0x03] as [UInt8])) ?? MasterInfo.Capability()
            info.capabilities = [agentUpdate, agentDraining, quotaV2]
            state.masterInfo = info
        }
    }

    /// Stops: closes every subscription, stops the agents' tasks, stops listening.
    public func stop() async {
        self.ticker.withLock { $0?.cancel() }
        let (writers, agents) = self.state.withLock { state in
            (
                state.frameworks.values.compactMap { $0.subscription?.writer },
                state.agents.values.map(\.handle)
            )
        }
        for writer in writers { writer.finish() }
        for agent in agents { await agent.stop() }
        let server = self.server.withLock { server in
            defer { server = nil }
            return server
        }
        await server?.stop()
    }

    // MARK: Agents

    /// The ID the next agent should take (`<master id>-S<n>`, as the real master assigns).
    public func nextAgentID() -> AgentID {
        self.state.withLock { state in
            defer { state.nextAgent += 1 }
            return AgentID("\(state.masterID)-S\(state.nextAgent)")
        }
    }

    /// Registers a started agent: its resources are offered from the next allocation on.
    public func register(agent: any LocalAgentHandle) {
        let info = agent.agentInfo
        self.state.withLock { state in
            state.agents[info.id.value] = MasterAgent(
                handle: agent,
                info: info,
                total: Resources(info.resources),
                registeredTime: Date().timeIntervalSince1970
            )
            state.recoveredAgents[info.id.value] = nil
            state.allocationWanted = true
            self.persistRegistry(state)
        }
        self.logger.info("local master: agent \(info.id.value) registered at \(agent.endpoint)")
    }

    // MARK: Ticks

    /// Heartbeats, offer timeouts, failover timeouts and allocation; runs every 20 ms.
    func tick() {
        var effects = MasterEffects()
        self.state.withLock { state in
            let now = ContinuousClock.now
            // Heartbeats.
            if !state.heartbeatsStalled {
                for id in state.frameworks.keys {
                    guard let subscription = state.frameworks[id]?.subscription,
                        now - subscription.lastHeartbeat >= self.configuration.heartbeatInterval
                    else { continue }
                    effects.send(.heartbeat, to: subscription)
                    state.frameworks[id]?.subscription?.lastHeartbeat = now
                }
            }
            // Offer timeouts.
            if let timeout = self.configuration.offerTimeout {
                for (id, offer) in state.offers where now - offer.created >= timeout {
                    state.offers[id] = nil
                    effects.send(.rescind(offer.offer.id), to: state.frameworks[offer.frameworkID]?.subscription)
                    state.allocationWanted = true
                }
            }
            // Failover timeouts.
            for (id, framework) in state.frameworks {
                if let deadline = framework.failoverDeadline, now >= deadline {
                    self.logger.info("local master: framework \(id) failover timeout passed; removing it")
                    self.removeFramework(id, state: &state, effects: &effects)
                }
            }
            self.resendOperationStatuses(state: &state, effects: &effects, now: now)
            // Expired filters make resources offerable again.
            for id in state.frameworks.keys {
                let before = state.frameworks[id]?.filters.count ?? 0
                state.frameworks[id]?.filters.removeAll { $0.until <= now }
                if state.frameworks[id]?.filters.count != before { state.allocationWanted = true }
                let inverseBefore = state.frameworks[id]?.inverseOfferFilters.count ?? 0
                let kept = state.frameworks[id]?.inverseOfferFilters.filter { $0.value > now } ?? [:]
                state.frameworks[id]?.inverseOfferFilters = kept
                if state.frameworks[id]?.inverseOfferFilters.count != inverseBefore { state.allocationWanted = true }
            }
            if state.allocationWanted, now - state.lastAllocation >= self.configuration.allocationInterval {
                state.allocationWanted = false
                state.lastAllocation = now
                let started = ContinuousClock.now
                self.allocate(state: &state, effects: &effects)
                let took = ContinuousClock.now - started
                state.allocation.rounds += 1
                state.allocation.total += took
                state.allocation.maximum = max(state.allocation.maximum, took)
            }
        }
        self.perform(effects)
    }

    func perform(_ effects: MasterEffects) {
        for action in effects.agentPreludes { action() }
        for (writer, buffer) in effects.writes { writer.write(buffer) }
        for writer in effects.closes { writer.finish() }
        for action in effects.agentActions { action() }
    }

    static func ipv4Number(_ address: String) -> UInt32 {
        // Mesos stores the IP in network byte order in a uint32 (127.0.0.1 → 16777343).
        let parts = address.split(separator: ".").compactMap { UInt32($0) }
        guard parts.count == 4 else { return 0 }
        return parts[0] | parts[1] << 8 | parts[2] << 16 | parts[3] << 24
    }
}
