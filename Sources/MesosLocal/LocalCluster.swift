import FoundationEssentials
public import Logging
public import Mesos

/// How a ``LocalCluster`` is made: a master and its agents.
public struct LocalClusterConfiguration: Sendable {
    public var master = LocalMasterConfiguration()
    /// How many agents, each with ``agentResources``.
    public var agents = 1
    /// Each agent's resources, in Mesos's text form.
    public var agentResources = "cpus:4;mem:4096;disk:10000;ports:[31000-32000]"
    /// Attributes per agent, by index (`rack:r1;zone:a`); agents without an entry have none.
    public var agentAttributes: [Int: String] = [:]
    /// Where sandboxes go; nil: a new temporary directory, removed on ``LocalCluster/stop()``.
    public var workDirectory: String?
    /// https for the master and every agent with this certificate and key (``LocalMasterConfiguration/tls`` and
    /// ``LocalAgentConfiguration/tls``). Nil: http.
    public var tls: LocalTLSConfiguration?
    /// Each agent also serves its executors on a unix domain socket, `<agent work directory>/agent.sock`, and
    /// hands them its path as `MESOS_DOMAIN_SOCKET` (`--http_executor_domain_sockets`).
    public var executorDomainSockets = false
    /// How often an agent re-sends an unacknowledged status update (Mesos: 10 s).
    public var statusUpdateRetryInterval: Duration = .seconds(10)
    /// Warnings and errors only, unless you lower the level (`mesos-local` logs at info).
    public var logger: Logger = {
        var logger = Logger(label: "mesos.local")
        logger.logLevel = .warning
        return logger
    }()

    public init() {}
}

/// A Mesos master with agents that really run tasks, in this process: for tests, demos and `mesos-local`.
///
/// ```swift
/// try await LocalCluster.with(agents: 2) { cluster in
///     let client = SchedulerClient(configuration: SchedulerConfiguration(masters: [cluster.url]))
///     …
/// }
/// ```
public final class LocalCluster: Sendable {
    public let master: LocalMaster
    public let agents: [LocalAgent]
    public let workDirectory: String
    private let ownsWorkDirectory: Bool

    /// The master's URL (`http://127.0.0.1:PORT`, `https://…` with TLS).
    public var url: String { self.master.url }

    private init(master: LocalMaster, agents: [LocalAgent], workDirectory: String, ownsWorkDirectory: Bool) {
        self.master = master
        self.agents = agents
        self.workDirectory = workDirectory
        self.ownsWorkDirectory = ownsWorkDirectory
    }

    /// Starts a master and its agents; every agent is registered before this returns.
    public static func start(_ configuration: LocalClusterConfiguration = LocalClusterConfiguration()) async throws -> LocalCluster {
        let owns = configuration.workDirectory == nil
        let work = try configuration.workDirectory ?? Self.temporaryDirectory()
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        var masterConfiguration = configuration.master
        masterConfiguration.logger = configuration.logger
        if let tls = configuration.tls { masterConfiguration.tls = tls }
        // The master's registry lives beside the agents' directories unless the master was given its own place.
        if masterConfiguration.workDirectory == nil { masterConfiguration.workDirectory = work + "/master" }
        let master = LocalMaster(configuration: masterConfiguration)
        try await master.start()
        // A registry recovered from an earlier run: its agents come back with their IDs (a real agent recovers its
        // ID from its work directory), in the order they were admitted.
        var recovered = master.recoveredAgentIDs
        var agents: [LocalAgent] = []
        do {
            for index in 0..<configuration.agents {
                let id = recovered.isEmpty ? master.nextAgentID() : recovered.removeFirst()
                var agentConfiguration = LocalAgentConfiguration(id: id, workDirectory: work + "/agent-\(index)")
                var resources = try Resources(parsing: configuration.agentResources)
                // What the agent checkpointed in an earlier run (reservations, persistent volumes) is carved out of
                // its resources again, as a real agent recovering its work directory does.
                for resource in try LocalMaster.checkpointedResources(work: agentConfiguration.workDirectory) {
                    var plain = resource
                    plain.reservations = []
                    plain.clearDisk()
                    plain.clearShared()
                    plain.clearAllocationInfo()
                    if resources.contains(plain) {
                        resources -= plain
                        resources += resource
                    }
                }
                agentConfiguration.resources = Array(resources)
                if let attributes = configuration.agentAttributes[index] {
                    agentConfiguration.attributes = try Self.attributes(attributes)
                }
                agentConfiguration.statusUpdateRetryInterval = configuration.statusUpdateRetryInterval
                agentConfiguration.tls = configuration.tls
                if configuration.executorDomainSockets {
                    agentConfiguration.domainSocketPath = agentConfiguration.workDirectory + "/agent.sock"
                }
                let agent = LocalAgent(configuration: agentConfiguration, delegate: master, logger: configuration.logger)
                try await agent.start()
                master.register(agent: agent)
                agents.append(agent)
            }
        } catch {
            await master.stop()
            throw error
        }
        return LocalCluster(master: master, agents: agents, workDirectory: work, ownsWorkDirectory: owns)
    }

    /// Starts a cluster, runs `body`, stops the cluster (also when `body` throws).
    public static func with<T>(
        _ configuration: LocalClusterConfiguration = LocalClusterConfiguration(),
        _ body: (LocalCluster) async throws -> T
    ) async throws -> T {
        let cluster = try await LocalCluster.start(configuration)
        do {
            let result = try await body(cluster)
            await cluster.stop()
            return result
        } catch {
            await cluster.stop()
            throw error
        }
    }

    /// Kills every task, stops the agents and the master, removes a temporary work directory.
    public func stop() async {
        await self.master.stop()
        if self.ownsWorkDirectory { try? FileManager.default.removeItem(atPath: self.workDirectory) }
    }

    private static func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.path + "/mesos-local-" + UUID().uuidString.prefix(8).lowercased()
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// `rack:r1;zone:a;level:3` → text and scalar attributes, as the agent's `--attributes` flag reads them.
    static func attributes(_ text: String) throws -> [Attribute] {
        try text.split(separator: ";").map { item in
            let parts = item.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { throw LocalClusterError("invalid attribute '\(item)': expected name:value") }
            var attribute = Attribute()
            attribute.name = String(parts[0])
            if let number = Double(parts[1]) {
                attribute.type = .scalar
                attribute.scalar.value = number
            } else {
                attribute.type = .text
                attribute.text.value = String(parts[1])
            }
            return attribute
        }
    }
}

public struct LocalClusterError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
extension LocalAgent: LocalAgentHandle {}
