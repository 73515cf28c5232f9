public import Mesos
import Synchronization

/// A submitted task: its status updates as they come, and how it ended.
///
/// ```swift
/// let handle = try await launcher.submit(spec)
/// for await status in handle.updates { print(status.state) }
/// let outcome = try await handle.result()
/// ```
public final class TaskHandle: Sendable {
    /// The spec's name.
    public let name: String
    /// Every status update of every attempt, in order; ends when the task is done.
    public let updates: AsyncStream<TaskStatus>
    private let continuation: AsyncStream<TaskStatus>.Continuation
    private let state = Mutex(State())
    let killer: @Sendable (TaskHandle) async throws -> Void

    struct State {
        var outcome: Result<TaskOutcome, LauncherError>?
        var waiters: [CheckedContinuation<TaskOutcome, any Error>] = []
        var taskID: TaskID?
        var agentID: AgentID?
        var agentEndpoint: String?
        var ports: [UInt64] = []
        var executorID: ExecutorID?
    }

    init(
        name: String,
        frameworkID: @escaping @Sendable () -> FrameworkID?,
        killer: @escaping @Sendable (TaskHandle) async throws -> Void
    ) {
        self.name = name
        self.frameworkID = frameworkID
        (self.updates, self.continuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
        self.killer = killer
    }

    /// The ID of the current attempt (each retry gets a new one).
    public var taskID: TaskID? { self.state.withLock { $0.taskID } }
    /// The agent of the current attempt, once placed.
    public var agentID: AgentID? { self.state.withLock { $0.agentID } }
    /// `http://host:port` of that agent (its `/files` endpoints serve the sandbox), from the offer's URL; `https://`
    /// when the launcher reaches the master over https (Mesos offers say `http` even on a TLS cluster).
    public var agentEndpoint: String? { self.state.withLock { $0.agentEndpoint } }
    /// The port numbers the current attempt was given (also in its environment as `PORT0`, `PORT1`…).
    public var ports: [UInt64] { self.state.withLock { $0.ports } }
    /// The executor running the task when it is not the agent's command executor: the default executor of its
    /// group (its sandbox holds the task's under `tasks/<task ID>`), or the spec's custom executor.
    public var executorID: ExecutorID? { self.state.withLock { $0.executorID } }
    /// The framework the task runs under.
    public let frameworkID: @Sendable () -> FrameworkID?

    /// Waits for the task to end (after its retries).
    ///
    /// - Throws: ``LauncherError`` when the launcher stopped or lost the framework before the task ended.
    public func result() async throws -> TaskOutcome {
        try await withCheckedThrowingContinuation { continuation in
            let ready: Result<TaskOutcome, LauncherError>? = self.state.withLock { state in
                if let outcome = state.outcome { return outcome }
                state.waiters.append(continuation)
                return nil
            }
            if let ready { continuation.resume(with: ready.mapError { $0 as any Error }) }
        }
    }

    /// Kills the task (with its kill policy); its outcome will be TASK_KILLED. No more retries. A member of a task
    /// group takes the whole group down with it (the default executor kills the others).
    ///
    /// - Throws: ``LauncherError`` with code ``LauncherError/Code/callFailed`` when the master refused the KILL (the
    ///   underlying `MesosError` carries its status and text); the task then keeps running.
    public func kill() async throws { try await self.killer(self) }

    /// Whether it has ended.
    public var isDone: Bool { self.state.withLock { $0.outcome != nil } }

    func attempt(taskID: TaskID) {
        self.state.withLock { state in
            state.taskID = taskID
            state.agentID = nil
            state.agentEndpoint = nil
        }
    }

    func placed(on agentID: AgentID, endpoint: String?, ports: [UInt64], executorID: ExecutorID? = nil) {
        self.state.withLock { state in
            state.agentID = agentID
            state.executorID = executorID
            state.agentEndpoint = endpoint
            state.ports = ports
        }
    }
    func yield(_ status: TaskStatus) { self.continuation.yield(status) }

    func finish(_ outcome: Result<TaskOutcome, LauncherError>) {
        let waiters: [CheckedContinuation<TaskOutcome, any Error>] = self.state.withLock { state in
            guard state.outcome == nil else { return [] }
            state.outcome = outcome
            defer { state.waiters = [] }
            return state.waiters
        }
        self.continuation.finish()
        for waiter in waiters { waiter.resume(with: outcome.mapError { $0 as any Error }) }
    }
}
