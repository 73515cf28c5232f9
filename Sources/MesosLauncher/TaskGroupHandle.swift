public import Mesos
import Synchronization

/// A submitted task group: a ``TaskHandle`` per member, and how the group ended.
///
/// ```swift
/// let group = try await launcher.submitGroup(spec)
/// for member in group.tasks { print(member.name, member.taskID?.value ?? "-") }
/// let outcome = try await group.result()
/// if let cause = outcome.cause { print("\(cause.name) ended the group: \(cause.outcome.state)") }
/// ```
public final class TaskGroupHandle: Sendable {
    /// The group's name.
    public let name: String
    /// One handle per member, in the order of ``TaskGroupSpec/tasks``: each has its own updates and outcome.
    public let tasks: [TaskHandle]
    /// The default executor that runs the group's current attempt (each retry of the group gets a new one).
    public var executorID: ExecutorID { self.currentExecutorID.withLock { $0 } }
    private let currentExecutorID: Mutex<ExecutorID>
    private let killer: @Sendable (TaskGroupHandle) async throws -> Void

    init(name: String, tasks: [TaskHandle], executorID: ExecutorID, killer: @escaping @Sendable (TaskGroupHandle) async throws -> Void) {
        self.name = name
        self.tasks = tasks
        self.currentExecutorID = Mutex(executorID)
        self.killer = killer
    }

    func attempt(executorID: ExecutorID) {
        self.currentExecutorID.withLock { $0 = executorID }
    }

    /// Kills every member (before launch: they never start); their outcomes will be TASK_KILLED.
    ///
    /// - Throws: ``LauncherError`` with code ``LauncherError/Code/callFailed`` when the master refused a KILL (the
    ///   `MesosError` with its answer is the underlying error).
    public func kill() async throws { try await self.killer(self) }

    /// Waits for every member to end (after the group's retries).
    ///
    /// - Throws: ``LauncherError`` when a member ended without an outcome (the launcher stopped, the master refused
    ///   the launch, the subscription ended).
    public func result() async throws -> TaskGroupOutcome {
        var outcomes: [TaskOutcome] = []
        for task in self.tasks { outcomes.append(try await task.result()) }
        return TaskGroupOutcome(names: self.tasks.map(\.name), outcomes: outcomes)
    }

    /// Whether every member has ended.
    public var isDone: Bool { self.tasks.allSatisfy(\.isDone) }
}

/// How a task group ended.
public struct TaskGroupOutcome: Sendable {
    /// Each member's outcome, in the order of ``TaskGroupSpec/tasks``.
    public var outcomes: [TaskOutcome]
    /// The members' names, in the same order.
    public var names: [String]

    public init(names: [String], outcomes: [TaskOutcome]) {
        self.names = names
        self.outcomes = outcomes
    }

    /// Every member FINISHED with exit code 0.
    public var succeeded: Bool { self.outcomes.allSatisfy(\.succeeded) }

    /// The member whose end brought the group down: the first (by the time of its terminal status) to end in a state
    /// other than FINISHED and KILLED (failed, lost, error…); else the first to end other than FINISHED (a kill).
    /// Nil when every member finished.
    public var cause: (index: Int, name: String, outcome: TaskOutcome)? {
        let ended = self.outcomes.indices.sorted {
            (self.outcomes[$0].status.timestamp, $0) < (self.outcomes[$1].status.timestamp, $1)
        }
        let pick =
            ended.first { ![.taskFinished, .taskKilled].contains(self.outcomes[$0].state) }
            ?? ended.first { self.outcomes[$0].state != .taskFinished }
        return pick.map { ($0, self.names[$0], self.outcomes[$0]) }
    }

    /// The group's exit status as a shell would report it: the ``cause``'s exit code when it has one, else the first
    /// non-zero exit code in member order, else 0 when every member finished; nil when a member ended without one
    /// (lost, never launched) and none has a non-zero code.
    public var exitCode: Int32? {
        if let code = self.cause?.outcome.exitCode, code != 0 { return code }
        if let code = self.outcomes.lazy.compactMap(\.exitCode).first(where: { $0 != 0 }) { return code }
        return self.outcomes.allSatisfy { $0.exitCode != nil } ? 0 : nil
    }
}
