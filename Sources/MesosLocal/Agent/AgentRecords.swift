import Glibc
import Mesos
import MesosCodecs

// The agent's bookkeeping, as the real agent's `Framework`, `Executor` and task maps. These are classes confined to
// the agent's serial queue (`AgentCore.queue`): every property is read and written only there, which is why they
// may be `@unchecked Sendable` (closures scheduled on that queue carry them).

/// Which executor runs the tasks.
enum ExecutorKind: Sendable {
    /// The built-in command executor: one command task, executor ID = task ID.
    case command
    /// A framework's executor process, which talks to the executor API.
    case custom
    /// The built-in default executor for task groups: each task a process in `containers/<id>` (`tasks/<taskID>`).
    case builtinDefault
}

/// An executor's life, as `Slave::Executor::State` (plus the fetch that precedes the launch).
enum ExecutorPhase: Sendable {
    case launching, registering, running, terminating, terminated
}

struct PendingTermination: Sendable {
    var state: TaskState
    var reason: TaskStatus.Reason
    var message: String
}

final class FrameworkRecord: @unchecked Sendable {
    var info: FrameworkInfo
    var executors: [String: ExecutorRecord] = [:]
    var completedExecutors: [ExecutorRecord] = []
    var terminating = false

    init(info: FrameworkInfo) { self.info = info }

    var id: FrameworkID { self.info.id }

    func hasCapability(_ type: FrameworkInfo.Capability.TypeEnum) -> Bool {
        self.info.capabilities.contains { $0.type == type }
    }
}

final class ExecutorRecord: @unchecked Sendable {
    let kind: ExecutorKind
    var info: ExecutorInfo
    let frameworkID: FrameworkID
    let containerID: ContainerID
    let directory: String
    var phase: ExecutorPhase = .launching
    /// The executor's process (custom executors).
    var pid: pid_t?
    /// Tasks handed to the executor (or started, for built-in executors), in launch order.
    var tasks: [String: TaskRecord] = [:]
    var taskOrder: [String] = []
    /// Task lists waiting for the executor to subscribe (custom) or for the fetch (built-in), with whether each
    /// came as a group.
    var queued: [(tasks: [TaskInfo], asGroup: Bool)] = []
    var subscriber: AgentHTTPResponder?
    var contentType: ContentType = .json
    var pendingTermination: PendingTermination?
    /// Bumped to cancel the registration, shutdown and heartbeat timers.
    var generation = 0
    var shuttingDown = false
    var nextGroup = 0
    var killingGroups: Set<Int> = []
    let launchedAt: Double

    init(kind: ExecutorKind, info: ExecutorInfo, frameworkID: FrameworkID, containerID: ContainerID, directory: String) {
        self.kind = kind
        self.info = info
        self.frameworkID = frameworkID
        self.containerID = containerID
        self.directory = directory
        self.launchedAt = AgentClock.now()
    }

    var id: ExecutorID { self.info.executorID }

    func add(_ task: TaskRecord) {
        let key = task.info.taskID.value
        if self.tasks[key] == nil { self.taskOrder.append(key) }
        self.tasks[key] = task
    }

    var orderedTasks: [TaskRecord] { self.taskOrder.compactMap { self.tasks[$0] } }

    var queuedTasks: [TaskInfo] { self.queued.flatMap(\.tasks) }
}

final class TaskRecord: @unchecked Sendable {
    var info: TaskInfo
    /// The latest state the agent has seen in an update for this task.
    var state: TaskState = .taskStaging
    var pid: pid_t?
    let directory: String
    let containerID: ContainerID
    var group: Int?
    var killing = false
    var killedByCompletionTimeout = false
    var killStart: ContinuousClock.Instant?
    var killDeadline: ContinuousClock.Instant?
    var escalation = 0
    var exited = false
    /// Its health checking, once started (``AgentCore/armHealthCheck(_:executor:framework:environment:)``).
    var health: Health?
    /// The latest result of its `check` (nil before the first one that differs from an empty status).
    var checkStatus: Mesos_V1_CheckStatusInfo?

    struct Health {
        var start: ContinuousClock.Instant
        /// No result counted yet but failures in the grace period.
        var initializing = true
        var consecutiveFailures = 0
        var killedByHealthCheck = false
    }

    init(info: TaskInfo, directory: String, containerID: ContainerID, group: Int? = nil) {
        self.info = info
        self.directory = directory
        self.containerID = containerID
        self.group = group
    }
}

enum AgentClock {
    /// Seconds since the epoch, as `TaskStatus.timestamp`.
    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}

enum AgentUUID {
    /// 16 random bytes shaped as a version 4 UUID, as `id::UUID::random()`.
    static func random() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        bytes[6] = (bytes[6] & 0x0f) | 0x40
        bytes[8] = (bytes[8] & 0x3f) | 0x80
        return bytes
    }

    /// The canonical lower-case text form.
    static func string(_ bytes: [UInt8]) -> String {
        let hex = Array("0123456789abcdef")
        var text = ""
        for (index, byte) in bytes.enumerated() {
            if [4, 6, 8, 10].contains(index) { text.append("-") }
            text.append(hex[Int(byte >> 4)])
            text.append(hex[Int(byte & 0xf)])
        }
        return text
    }
}
