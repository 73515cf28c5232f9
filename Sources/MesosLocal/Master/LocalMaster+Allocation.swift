import NIOHTTP1
import Synchronization
import Logging
import FoundationEssentials
public import Mesos
import MesosCodecs

extension LocalMaster {
    /// One allocation round, as Mesos's hierarchical allocator does it in spirit: each agent's free resources go
    /// to the active (framework, role) with the lowest dominant share that does not filter them, whole.
    func allocate(state: inout State, effects: inout MasterEffects) {
        let clusterTotal = state.agents.values.reduce(Resources()) { $0 + $1.total }
        var offeredByAgent: [String: Resources] = [:]
        var allocatedByFramework: [String: Resources] = [:]
        for offer in state.offers.values {
            offeredByAgent[offer.agentID, default: Resources()] += offer.resources.unallocated()
            allocatedByFramework[offer.frameworkID, default: Resources()] += offer.resources.unallocated()
        }
        for framework in state.frameworks.values {
            for task in framework.tasks.values where !task.released {
                allocatedByFramework[framework.id, default: Resources()] += task.resources
            }
        }
        func share(_ framework: String) -> Double {
            let allocated = allocatedByFramework[framework] ?? Resources()
            var share = 0.0
            for name in ["cpus", "mem", "disk", "gpus"] {
                let total = clusterTotal.scalar(named: name).doubleValue
                guard total > 0 else { continue }
                share = max(share, allocated.scalar(named: name).doubleValue / total)
            }
            return share
        }
        let now = ContinuousClock.now
        for agentID in state.agents.keys.sorted() {
            guard let agent = state.agents[agentID] else { continue }
            var free = agent.total - agent.used - (offeredByAgent[agentID] ?? Resources())
            guard !free.isEmpty else { continue }
            let candidates = state.frameworks.values
                .filter { $0.subscription != nil }
                .sorted { (share($0.id), $0.registeredTime, $0.id) < (share($1.id), $1.registeredTime, $1.id) }
            for framework in candidates {
                for role in framework.info.subscribedRoles where !framework.suppressedRoles.contains(role) {
                    if framework.offerConstraints?.isAgentExcluded(role: role, agent: agent.info) == true { continue }
                    let usable = free.usable(byRole: role)
                    guard Self.isAllocatable(usable) else { continue }
                    let filtered = framework.filters.contains {
                        $0.agentID == agentID && $0.role == role && $0.until > now && $0.resources.contains(usable)
                    }
                    if filtered { continue }
                    free -= usable
                    let offered = usable.allocated(to: role)
                    self.makeOffer(offered, role: role, agent: agent, framework: framework, state: &state, effects: &effects)
                    allocatedByFramework[framework.id, default: Resources()] += usable
                }
            }
        }
        self.generateInverseOffers(state: &state, effects: &effects)
    }

    /// Mesos's minimum allocatable resources: some CPU or some memory.
    static func isAllocatable(_ resources: Resources) -> Bool {
        resources.cpus.doubleValue >= 0.01 || resources.mem.doubleValue >= 32
    }

    /// The next offer ID (offers and inverse offers share one sequence, as in Mesos).
    func nextOfferID(_ state: inout State) -> OfferID {
        defer { state.nextOffer += 1 }
        return OfferID("\(state.masterID)-O\(state.nextOffer)")
    }

    /// The agent's address as offers carry it (`Offer.url`, `InverseOffer.url`).
    static func url(of agent: MasterAgent) -> Mesos_V1_URL {
        var url = Mesos_V1_URL()
        url.scheme = "http"
        url.address.hostname = agent.info.hostname
        if let endpoint = MasterURLParts(agent.handle.endpoint) {
            url.address.ip = endpoint.host
            url.address.port = Int32(endpoint.port)
        }
        url.path = "/slave(1)"
        return url
    }

    private func makeOffer(
        _ resources: Resources,
        role: String,
        agent: MasterAgent,
        framework: MasterFramework,
        state: inout State,
        effects: inout MasterEffects
    ) {
        var offer = Offer()
        offer.id = self.nextOfferID(&state)
        offer.frameworkID = framework.info.id
        offer.agentID = agent.info.id
        offer.hostname = agent.info.hostname
        offer.url = Self.url(of: agent)
        offer.resources = resources.protobufs.map { resource in
            var resource = resource
            // As the real master writes them: the deprecated `role` says "*" for unreserved resources.
            if resource.reservations.isEmpty && !resource.hasRole { resource.role = "*" }
            return resource
        }
        offer.attributes = agent.info.attributes
        if agent.info.hasDomain { offer.domain = agent.info.domain }
        if let unavailability = Self.unavailability(of: agent, in: state.maintenance) { offer.unavailability = unavailability }
        offer.allocationInfo.role = role
        offer.executorIds = framework.executors.values
            .filter { $0.agentID == agent.info.id.value }
            .map(\.info.executorID)
        state.offers[offer.id.value] = MasterOffer(
            offer: offer, frameworkID: framework.id, agentID: agent.info.id.value, role: role,
            resources: resources, created: .now
        )
        var event = SchedulerEvent()
        event.type = .offers
        event.offers.offers = [offer]
        effects.send(event, to: framework.subscription)
    }
}

/// `http://host:port` split up.
struct MasterURLParts {
    var host: String
    var port: Int

    init?(_ url: String) {
        var rest = Substring(url)
        if let colon = rest.firstIndex(of: ":"), rest[colon...].hasPrefix("://") { rest = rest[rest.index(colon, offsetBy: 3)...] }
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]) else { return nil }
        self.host = String(rest[..<colon])
        self.port = port
    }
}

// MARK: - What agents tell the master

extension LocalMaster: LocalAgentDelegate {
    public func agent(_ agentID: AgentID, didSend status: TaskStatus, frameworkID: FrameworkID) {
        var effects = MasterEffects()
        self.state.withLock { state in
            guard var framework = state.frameworks[frameworkID.value] else { return }
            if var task = framework.tasks[status.taskID.value] {
                task.state = status.state
                if !task.statuses.contains(where: { $0.uuid == status.uuid && status.hasUuid }) {
                    var recorded = status
                    recorded.clearData()
                    task.statuses.append(recorded)
                }
                task.latestStatus = status
                if task.terminal, !task.released {
                    task.released = true
                    state.agents[task.agentID]?.used -= task.resources
                    state.allocationWanted = true
                }
                framework.tasks[status.taskID.value] = task
                state.frameworks[frameworkID.value] = framework
            }
            effects.send(.update(status), to: framework.subscription)
        }
        self.perform(effects)
    }

    public func agent(_ agentID: AgentID, didReceiveMessage data: [UInt8], from executorID: ExecutorID, frameworkID: FrameworkID) {
        var effects = MasterEffects()
        self.state.withLock { state in
            var event = SchedulerEvent()
            event.type = .message
            event.message.agentID = agentID
            event.message.executorID = executorID
            event.message.data = Data(data)
            effects.send(event, to: state.frameworks[frameworkID.value]?.subscription)
        }
        self.perform(effects)
    }

    public func agent(_ agentID: AgentID, executorTerminated executorID: ExecutorID, frameworkID: FrameworkID, status: Int32?) {
        var effects = MasterEffects()
        self.state.withLock { state in
            guard let executor = state.frameworks[frameworkID.value]?.executors.removeValue(
                forKey: MasterExecutorKey(agentID: agentID.value, executorID: executorID.value)
            ) else {
                return  // The command executor of a command task: not the framework's executor, no FAILURE.
            }
            state.agents[executor.agentID]?.used -= executor.resources
            state.allocationWanted = true
            var event = SchedulerEvent()
            event.type = .failure
            event.failure.agentID = agentID
            event.failure.executorID = executorID
            if let status { event.failure.status = status }
            effects.send(event, to: state.frameworks[frameworkID.value]?.subscription)
        }
        self.perform(effects)
    }
}
