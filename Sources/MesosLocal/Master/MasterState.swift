import NIOHTTP1
import Synchronization
import Logging
import FoundationEssentials
import Mesos
import MesosCodecs
import MesosRecordIO
import NIOCore

// The master's bookkeeping, as plain values mutated under one lock (see `LocalMaster`). Everything that leaves
// the lock (events to write, commands for agents) is collected in `MasterEffects` and carried out after unlocking.

/// A subscription: the stream a framework's events go to.
struct MasterSubscription {
    let streamID: String
    let writer: LocalHTTPStreamWriter
    let codec: MessageCodec
    var lastHeartbeat: ContinuousClock.Instant
}

struct MasterFramework {
    var info: FrameworkInfo
    var id: String { self.info.id.value }
    var subscription: MasterSubscription?
    /// Disconnected frameworks are removed at this instant (their `failover_timeout`).
    var failoverDeadline: ContinuousClock.Instant?
    var suppressedRoles: Set<String> = []
    /// The agents each role is offered (SUBSCRIBE's or UPDATE_FRAMEWORK's `offer_constraints`); nil: all of them.
    var offerConstraints: OfferConstraintsFilter?
    /// Tasks by ID, live and terminal-but-unacknowledged.
    var tasks: [String: MasterTask] = [:]
    /// Offer filters: (agent, role) → resources refused and until when.
    var filters: [MasterOfferFilter] = []
    /// Inverse offers for an agent are filtered until then (the `refuse_seconds` of the answer).
    var inverseOfferFilters: [String: ContinuousClock.Instant] = [:]
    /// Its executors, by agent and executor ID: an executor ID names one executor per agent (`Slave::executors`),
    /// so the same ID on two agents is two executors, each with its own resources.
    var executors: [MasterExecutorKey: MasterExecutor] = [:]
    /// Operations with an `id` whose terminal status is not acknowledged yet, by operation ID.
    var operations: [String: MasterOperation] = [:]
    var registeredTime: Double
    /// Learned from re-registering agents after a restart, not (yet) subscribed to this master.
    var recovered = false
    /// Tasks whose terminal update was acknowledged, newest last (at most `max_completed_tasks_per_framework`).
    var completedTasks: [MasterTask] = []
    /// Tasks of agents marked unreachable (and, for frameworks that are not partition-aware, of agents marked
    /// gone: Mesos's `__removeSlave` keeps those TASK_LOST tasks as unreachable too), newest last, at most
    /// `max_unreachable_tasks_per_framework`; `/master/state` lists them.
    var unreachableTasks: [MasterTask] = []
    /// When it re-subscribed (seconds since the epoch), when its connection went away (0 while connected).
    var reregisteredTime: Double?
    var unregisteredTime: Double = 0

    var partitionAware: Bool { self.info.capabilities.contains { $0.type == .partitionAware } }
}

struct MasterExecutor {
    var info: ExecutorInfo
    var agentID: String
    var resources: Resources
}

struct MasterExecutorKey: Hashable {
    var agentID: String
    var executorID: String
}

struct MasterTask {
    var info: TaskInfo
    var frameworkID: String
    var agentID: String
    var executorID: String?
    var role: String
    var resources: Resources
    /// The state of the latest update the agent sent (`Task.status_update_state`).
    var state: TaskState = .taskStaging
    /// Its resources went back to the agent (terminal update seen, or framework removed).
    var released = false
    var latestStatus: TaskStatus?
    /// Every update the agent sent (`Task.statuses`), retries excluded.
    var statuses: [TaskStatus] = []
    /// Set once a terminal update was sent; the record goes when that update is acknowledged.
    var terminal: Bool { self.state.isTerminal }
}

struct MasterOfferFilter {
    var agentID: String
    var role: String
    var resources: Resources
    var until: ContinuousClock.Instant
}

struct MasterOffer {
    var offer: Offer
    var frameworkID: String
    var agentID: String
    var role: String
    var resources: Resources
    var created: ContinuousClock.Instant
}

struct MasterAgent {
    let handle: any LocalAgentHandle
    var info: AgentInfo
    var total: Resources
    /// Resources held by tasks and executors, by framework.
    var used: Resources = Resources()
    var registeredTime: Double
}

/// What to do once the lock is released.
struct MasterEffects {
    var writes: [(LocalHTTPStreamWriter, ByteBuffer)] = []
    var closes: [LocalHTTPStreamWriter] = []
    var agentActions: [@Sendable () -> Void] = []
    /// What an agent does before it answers, as applying an operation to its checkpointed resources and volume
    /// directories before the operation's status leaves: run before the writes, so no status overtakes it.
    var agentPreludes: [@Sendable () -> Void] = []

    mutating func send(_ event: SchedulerEvent, to subscription: MasterSubscription?) {
        guard let subscription else { return }
        guard let bytes = try? subscription.codec.encode(event) else { return }
        var buffer = ByteBuffer()
        RecordIOEncoder.frame(bytes, into: &buffer)
        self.writes.append((subscription.writer, buffer))
    }

    mutating func agent(_ action: @escaping @Sendable () -> Void) { self.agentActions.append(action) }

    mutating func agentBeforeWrites(_ action: @escaping @Sendable () -> Void) { self.agentPreludes.append(action) }
}

extension TaskStatus {
    /// A status update the master itself makes (`protobuf::createStatusUpdate` with `SOURCE_MASTER`): no uuid,
    /// so the framework does not acknowledge it.
    static func fromMaster(
        taskID: TaskID,
        state: TaskState,
        message: String,
        reason: Reason,
        agentID: AgentID? = nil,
        executorID: ExecutorID? = nil
    ) -> TaskStatus {
        var status = TaskStatus()
        status.taskID = taskID
        status.state = state
        status.source = .master
        status.message = message
        status.reason = reason
        if let agentID { status.agentID = agentID }
        if let executorID { status.executorID = executorID }
        status.timestamp = Date().timeIntervalSince1970
        return status
    }
}

extension SchedulerEvent {
    static func update(_ status: TaskStatus) -> SchedulerEvent {
        var event = SchedulerEvent()
        event.type = .update
        event.update.status = status
        return event
    }

    static func error(_ message: String) -> SchedulerEvent {
        var event = SchedulerEvent()
        event.type = .error
        event.error.message = message
        return event
    }

    static var heartbeat: SchedulerEvent {
        var event = SchedulerEvent()
        event.type = .heartbeat
        return event
    }

    static func rescind(_ offerID: OfferID) -> SchedulerEvent {
        var event = SchedulerEvent()
        event.type = .rescind
        event.rescind.offerID = offerID
        return event
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs.
    var trimmedOfSpaces: String {
        String(self.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
