import Logging
import FoundationEssentials
public import Mesos
import MesosCodecs
import SwiftProtobuf
import Glibc
import Synchronization

// The master's registry and its restarts.
//
// A Mesos 1.11 master persists only its registry (`src/master/registry.proto`): the admitted agents, the unreachable
// and gone ones, maintenance schedules, quotas and weights. Frameworks and tasks are not in it: after a failover the
// master learns tasks (and the FrameworkInfo of their frameworks) from the agents as they re-register, and a
// framework that subscribes with an ID the master has never seen is accepted with that ID (`Master::_subscribe` →
// `recoverFramework`). Completed frameworks are forgotten, so a torn-down framework's ID is not refused any more.
// Agents re-register with their tasks whether or not the master kept a registry: 1.11 admits agents it has no
// record of.

/// The registry as written to `<work directory>/registry.json`: messages in Mesos's JSON form, as in
/// `registry.proto`.
struct MasterRegistry: Codable {
    struct Agent: Codable {
        /// `AgentInfo`, JSON.
        var info: String
    }
    struct RemovedAgent: Codable {
        var id: String
        /// Seconds since the epoch.
        var timestamp: Double
    }
    /// The `MasterInfo` of the master that wrote it, JSON.
    var master: String
    var agents: [Agent] = []
    var unreachable: [RemovedAgent] = []
    var gone: [RemovedAgent] = []
    /// The maintenance schedule (`maintenance.Schedule`'s windows).
    var schedule: [MaintenanceWindow] = []
}

/// Why the master could not do what was asked with its registry.
public struct LocalMasterError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

extension LocalMaster {
    static let registryFile = "registry.json"

    var registryPath: String? {
        self.configuration.workDirectory.map { $0 + "/" + Self.registryFile }
    }

    /// Writes the registry (called under the lock after every change to what it holds).
    func persistRegistry(_ state: State) {
        guard let path = self.registryPath else { return }
        let codec = MessageCodec(.json)
        func json(_ message: some SwiftProtobuf.Message) -> String {
            (try? codec.encode(message)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        }
        var registry = MasterRegistry(master: json(state.masterInfo))
        let admitted = state.agents.values.map(\.info) + state.recoveredAgents.values
        registry.agents = admitted.sorted { Self.agentOrder($0.id.value) < Self.agentOrder($1.id.value) }
            .map { MasterRegistry.Agent(info: json($0)) }
        for (id, removal) in state.removedAgents.sorted(by: { $0.key < $1.key }) {
            let entry = MasterRegistry.RemovedAgent(id: id, timestamp: state.removedAt[id] ?? 0)
            switch removal {
            case .unreachable: registry.unreachable.append(entry)
            case .gone: registry.gone.append(entry)
            }
        }
        registry.schedule = state.maintenance
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let data = try encoder.encode(registry)
            try FileManager.default.createDirectory(atPath: self.configuration.workDirectory ?? ".", withIntermediateDirectories: true)
            try data.write(to: URL(fileURLWithPath: path + ".tmp"))
            guard rename(path + ".tmp", path) == 0 else { throw LocalMasterError("rename failed: errno \(errno)") }
        } catch {
            self.logger.error("local master: cannot write the registry to \(path): \(error)")
        }
    }

    /// `<master id>-S<n>` sorts by `n`, so the registry lists agents in the order they were admitted.
    static func agentOrder(_ id: String) -> (String, Int) {
        guard let s = id.lastIndex(of: "S"), s > id.startIndex, id[id.index(before: s)] == "-",
            let number = Int(id[id.index(after: s)...])
        else { return (id, 0) }
        return (String(id[..<id.index(before: s)]), number)
    }

    /// Reads the registry from the work directory, if there is one: the admitted agents become "recovered" (known,
    /// not yet re-registered), the unreachable and gone ones are remembered, maintenance schedules restored.
    func recoverRegistry(into state: inout State) throws {
        guard let path = self.registryPath, FileManager.default.fileExists(atPath: path) else { return }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let registry: MasterRegistry
        do {
            registry = try JSONDecoder().decode(MasterRegistry.self, from: data)
        } catch {
            throw LocalMasterError("the registry at \(path) cannot be read: \(error)")
        }
        let codec = MessageCodec(.json)
        for agent in registry.agents {
            guard let info = try? codec.decode(AgentInfo.self, from: Array(agent.info.utf8)) else {
                throw LocalMasterError("the registry at \(path) holds an agent that cannot be read: \(agent.info)")
            }
            if state.agents[info.id.value] == nil { state.recoveredAgents[info.id.value] = info }
        }
        for entry in registry.unreachable {
            state.removedAgents[entry.id] = .unreachable
            state.removedAt[entry.id] = entry.timestamp
        }
        for entry in registry.gone {
            state.removedAgents[entry.id] = .gone
            state.removedAt[entry.id] = entry.timestamp
        }
        state.maintenance = registry.schedule
        self.logger.info("local master: recovered \(registry.agents.count) agents from the registry at \(path)")
    }

    /// The IDs of the agents the registry holds that have not re-registered, in the order they were admitted (for
    /// `mesos-local` restarted on the same work directory: its agents come back with these IDs).
    public var recoveredAgentIDs: [AgentID] {
        self.state.withLock { state in
            state.recoveredAgents.keys.sorted { Self.agentOrder($0) < Self.agentOrder($1) }.map { AgentID($0) }
        }
    }

    /// Restarts the master process, as far as clients can tell: every connection is dropped, the port stops
    /// answering for `downtime`, and a new master comes up on the same port with nothing in memory.
    ///
    /// - With `persistingState` (the work directory's registry, as a real master's replicated log), it recovers
    ///   the registry: the agents it had admitted, the unreachable and gone ones, maintenance schedules.
    /// - Without, it starts as a fresh master (`--registry=in_memory`): no agent is known until it re-registers,
    ///   removed agents and maintenance are forgotten.
    ///
    /// Either way the running agents then re-register with what they hold (their checkpointed resources, and the
    /// frameworks, executors and tasks on them), so their frameworks are known again, inactive, with their tasks;
    /// a framework re-subscribing with its ID (known or not) is accepted and takes them over. Frameworks with no
    /// task on any agent, offers, filters and completed frameworks are gone: a call from a framework the new master
    /// does not know gets 400 "Framework cannot be found", from a recovered one 403 "Framework is not subscribed".
    ///
    /// - Throws: ``LocalMasterError`` when `persistingState` is asked without a work directory, or the registry
    ///   cannot be read.
    public func restart(persistingState: Bool = true, downtime: Duration = .milliseconds(200)) async throws {
        if persistingState, self.configuration.workDirectory == nil {
            throw LocalMasterError("restart(persistingState: true) needs LocalMasterConfiguration.workDirectory for the registry")
        }
        let port = self.port
        // What the agents will report when they re-register, and the streams the old process had open.
        let (writers, agents, frameworks) = self.state.withLock { state -> ([LocalHTTPStreamWriter], [MasterAgent], [MasterFramework]) in
            let writers = state.frameworks.values.compactMap { $0.subscription?.writer }
            let agents = Array(state.agents.values)
            let frameworks = Array(state.frameworks.values)
            let faults = (state.leader, state.heartbeatsStalled)
            state = State()
            (state.leader, state.heartbeatsStalled) = faults
            // Until it is back, nothing is served; the old process's counters go with it.
            return (writers, agents, frameworks)
        }
        let server = self.server.withLock { server in
            defer { server = nil }
            return server
        }
        await server?.stop()
        for writer in writers { writer.abort() }
        try await Task.sleep(for: downtime)
        try self.state.withLock { state in
            if persistingState { try self.recoverRegistry(into: &state) }
        }
        try await self.bind(port: port)
        self.state.withLock { state in
            self.reregister(agents: agents, frameworks: frameworks, state: &state)
            if persistingState { self.persistRegistry(state) }
            state.allocationWanted = true
        }
        self.logger.info("local master: restarted (\(persistingState ? "registry recovered" : "fresh")); \(agents.count) agents re-registered")
    }

    /// Agents re-registering after a failover (`Master::reregisterSlave`): their resources, and the frameworks,
    /// executors and tasks they report, which become recovered (inactive) frameworks.
    private func reregister(agents: [MasterAgent], frameworks: [MasterFramework], state: inout State) {
        let now = ContinuousClock.now
        for var agent in agents {
            let id = agent.info.id.value
            if state.removedAgents[id] == .gone {
                // A gone agent is told to shut down (its tasks were reported gone before the restart).
                let handle = agent.handle
                Task { await handle.stop() }
                continue
            }
            state.removedAgents[id] = nil
            state.removedAt[id] = nil
            state.recoveredAgents[id] = nil
            agent.used = Resources()
            state.agents[id] = agent
        }
        for old in frameworks {
            let tasks = old.tasks.filter { state.agents[$0.value.agentID] != nil }
            let executors = old.executors.filter { state.agents[$0.value.agentID] != nil }
            guard !tasks.isEmpty || !executors.isEmpty else { continue }
            var framework = MasterFramework(info: old.info, registeredTime: old.registeredTime)
            framework.tasks = tasks
            framework.executors = executors
            framework.operations = old.operations.filter { state.agents[$0.value.agentID] != nil }
            framework.recovered = true
            let timeout = old.info.failoverTimeout
            framework.failoverDeadline = now + .nanoseconds(Int64(max(0, min(timeout, 1e9)) * 1e9))
            for task in tasks.values where !task.released { state.agents[task.agentID]?.used += task.resources }
            for executor in executors.values { state.agents[executor.agentID]?.used += executor.resources }
            state.frameworks[framework.id] = framework
        }
    }
}
