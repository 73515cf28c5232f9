public import Mesos

// The contract between the local master and its in-process agents.
//
// The master owns the cluster's bookkeeping (frameworks, offers, resources, the task table it reports
// to schedulers); an agent owns what happens on its machine (sandboxes, the fetcher, processes,
// executors and the executor API, the status update stream of each task). They talk only through
// `LocalAgent`'s methods (master → agent) and this delegate (agent → master), the way the real
// master and agent talk through libprocess messages.

/// What an agent tells its master. Called from the agent's own threads/tasks; implementations must be
/// quick and must not call back into the agent synchronously while holding a lock.
public protocol LocalAgentDelegate: AnyObject, Sendable {
    /// A status update to forward to the task's framework, as the real agent's status update manager
    /// sends it: `uuid` set (16 random bytes), `source`, `reason`, `agent_id`, `executor_id`,
    /// `timestamp` filled in. The agent sends the updates of one task one at a time, in order, and
    /// re-sends the oldest unacknowledged one until the master calls
    /// ``LocalAgent/acknowledge(frameworkID:taskID:uuid:)`` with its uuid.
    func agent(_ agentID: AgentID, didSend status: TaskStatus, frameworkID: FrameworkID)

    /// A framework message from an executor (`Executor.Call.MESSAGE`), to deliver to the scheduler
    /// as a `MESSAGE` event.
    func agent(_ agentID: AgentID, didReceiveMessage data: [UInt8], from executorID: ExecutorID, frameworkID: FrameworkID)

    /// An executor (custom, or the agent's built-in command executor for a command task) has
    /// terminated: its resources are free again, and schedulers get a `FAILURE` event for custom
    /// executors. `status` is the wait status as Mesos reports it (`WEXITSTATUS`/signal encoded as
    /// the real agent does in `Event.Failure.status`), nil when unknown.
    func agent(_ agentID: AgentID, executorTerminated executorID: ExecutorID, frameworkID: FrameworkID, status: Int32?)
}

/// What the master asks of an agent (``LocalAgent`` is the implementation; the master only sees this).
/// Every method returns quickly; effects are reported through ``LocalAgentDelegate``.
public protocol LocalAgentHandle: AnyObject, Sendable {
    /// The agent's ID, hostname, port, resources, attributes and domain.
    var agentInfo: AgentInfo { get }
    /// `http://host:port` of the agent's own endpoint (executor API, `/files`).
    var endpoint: String { get }
    /// Launches tasks the master has validated: a command task when `executor` is nil, else tasks for a custom
    /// executor (`asGroup` false) or a task group for the default executor (`asGroup` true).
    func launch(framework: FrameworkInfo, executor: ExecutorInfo?, tasks: [TaskInfo], asGroup: Bool)
    func kill(frameworkID: FrameworkID, taskID: TaskID, killPolicy: KillPolicy?)
    func shutdownExecutor(frameworkID: FrameworkID, executorID: ExecutorID)
    func shutdownFramework(frameworkID: FrameworkID)
    func acknowledge(frameworkID: FrameworkID, taskID: TaskID, uuid: [UInt8])
    /// The framework subscribed again (a failover) or changed its `FrameworkInfo`: the master's
    /// `UpdateFrameworkMessage`. Unacknowledged updates are sent again now, not when their retry timers fire (Mesos's
    /// agent resumes its status update manager on that message).
    func frameworkFailedOver(frameworkID: FrameworkID)
    func sendMessage(frameworkID: FrameworkID, executorID: ExecutorID, data: [UInt8])
    func stop() async
}
