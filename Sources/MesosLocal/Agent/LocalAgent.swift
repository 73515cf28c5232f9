import Dispatch
public import Logging
public import Mesos
import Synchronization

/// An agent of the local cluster: it really runs tasks, faithful to an Apache Mesos 1.11 agent with the Mesos
/// containerizer and POSIX isolation.
///
/// It makes sandboxes under ``LocalAgentConfiguration/workDirectory`` as the real agent lays them out, fetches URIs
/// like `mesos-fetcher`, runs command tasks with a built-in command executor, task groups with a built-in default
/// executor, and framework executors as processes that talk to the v1 executor API on the agent's own HTTP
/// endpoint, which also serves `/files` and `/state`. Status updates reach the master through
/// ``LocalAgentDelegate``, one task stream at a time, re-sent until acknowledged.
///
/// Each task or executor runs in a process group of its own, so a kill (SIGTERM, then SIGKILL after the grace
/// period) reaches its children too.
///
/// ```swift
/// let agent = LocalAgent(configuration: LocalAgentConfiguration(id: "S0", workDirectory: "/tmp/agent"), delegate: master)
/// try await agent.start()
/// agent.launch(framework: framework, executor: nil, tasks: [task], asGroup: false)
/// …
/// await agent.stop()
/// ```
public final class LocalAgent: Sendable {
    private let core: AgentCore

    public init(
        configuration: LocalAgentConfiguration,
        delegate: any LocalAgentDelegate,
        logger: Logger = Logger(label: "mesos.local.agent")
    ) {
        self.core = AgentCore(configuration: configuration, delegate: delegate, logger: logger)
    }

    /// Binds the agent's HTTP endpoint (and the executors' domain socket, when configured) and makes its work
    /// directory.
    ///
    /// - Throws: ``LocalAgentError`` with `.bindFailed` (an address or socket path that cannot be bound, or a TLS
    ///   certificate, key or CA that cannot be used) or `.sandbox`.
    public func start() async throws {
        try await self.core.start()
    }

    /// Closes the agent's endpoint (and domain socket) for `downtime` and opens it again on the same port, as an agent restart looks to
    /// its executors (fault injection for executor tests): their streams end and they must subscribe again; task
    /// processes keep running.
    public func restartEndpoint(downtime: Duration = .milliseconds(500)) async throws {
        try await self.core.restartEndpoint(downtime: downtime)
    }

    /// The agent's ID, host name, port (known after ``start()``), resources, attributes and domain.
    public var agentInfo: AgentInfo { self.core.agentInfo }

    /// `http://HOST:PORT` of the agent's endpoint (`https://` with ``LocalAgentConfiguration/tls``), after
    /// ``start()``.
    public var endpoint: String { self.core.published.withLock { $0.endpoint } }

    /// How many HEARTBEAT calls came on the executor API naming `executorID`: for tests of executors.
    public func executorHeartbeatCalls(_ executorID: ExecutorID) -> Int {
        self.core.published.withLock { $0.executorHeartbeats[executorID.value] ?? 0 }
    }

    /// The agent's configuration.
    public var configuration: LocalAgentConfiguration { self.core.configuration }

    /// Launches tasks the master has already validated and accounted for.
    ///
    /// - Parameters:
    ///   - framework: the framework's current `FrameworkInfo` (its ID set).
    ///   - executor: nil for command tasks (each gets the built-in command executor, executor ID = task ID); a
    ///     `CUSTOM` executor with a command runs that command and hands it the tasks through the executor API; with
    ///     `asGroup`, a `DEFAULT` executor (or one without a command) is the built-in default executor.
    ///   - tasks: the tasks, or the task group's tasks.
    ///   - asGroup: the tasks form one task group (`LAUNCH_GROUP`).
    public func launch(framework: FrameworkInfo, executor: ExecutorInfo?, tasks: [TaskInfo], asGroup: Bool) {
        let core = self.core
        core.queue.async { core.launch(framework: framework, executor: executor, tasks: tasks, asGroup: asGroup) }
    }

    /// Kills a task: `killPolicy` (from the scheduler's KILL call) overrides the task's own grace period.
    public func kill(frameworkID: FrameworkID, taskID: TaskID, killPolicy: KillPolicy?) {
        let core = self.core
        core.queue.async { core.kill(frameworkID: frameworkID, taskID: taskID, killPolicy: killPolicy) }
    }

    /// Shuts an executor down (`SHUTDOWN` to a custom executor, then a kill after its shutdown grace period).
    public func shutdownExecutor(frameworkID: FrameworkID, executorID: ExecutorID) {
        let core = self.core
        core.queue.async { core.shutdownExecutor(frameworkID: frameworkID, executorID: executorID) }
    }

    /// Kills every task and executor of a framework (teardown, failover timeout). No further status updates are
    /// sent for it, as the real agent sends none for a terminating framework.
    public func shutdownFramework(frameworkID: FrameworkID) {
        let core = self.core
        core.queue.async { core.shutdownFramework(frameworkID: frameworkID) }
    }

    /// A scheduler acknowledged the update with this uuid: the task's next update may leave.
    public func acknowledge(frameworkID: FrameworkID, taskID: TaskID, uuid: [UInt8]) {
        let core = self.core
        core.queue.async { core.acknowledge(frameworkID: frameworkID, taskID: taskID, uuid: uuid) }
    }

    public func frameworkFailedOver(frameworkID: FrameworkID) {
        let core = self.core
        core.queue.async { core.resendPending(frameworkID: frameworkID) }
    }

    /// A scheduler `MESSAGE` for an executor (a `MESSAGE` event on its subscription).
    public func sendMessage(frameworkID: FrameworkID, executorID: ExecutorID, data: [UInt8]) {
        let core = self.core
        core.queue.async { core.sendMessage(frameworkID: frameworkID, executorID: executorID, data: data) }
    }

    /// Kills every process (SIGTERM, then SIGKILL after ``LocalAgentConfiguration/stopGracePeriod``), closes the
    /// executor subscriptions and the endpoint. The delegate hears nothing more.
    public func stop() async {
        await self.core.stop()
    }
}
