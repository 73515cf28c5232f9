import FoundationEssentials
public import Logging
public import Mesos
public import MesosArtifacts
public import MesosOffers
public import MesosScheduler

/// How a ``MesosLauncher`` runs.
public struct LauncherConfiguration: Sendable {
    /// The scheduler client's settings: masters, content type, credentials, TLS, framework ID store, reconnects.
    public var scheduler: SchedulerConfiguration
    /// The framework: name, user, roles, capabilities, `failover_timeout`. The launcher adds the capabilities it
    /// relies on (TASK_KILLING_STATE, PARTITION_AWARE) when missing.
    public var framework: FrameworkInfo
    /// The embedded artifact server (started on the first local artifact).
    public var artifacts = ArtifactServerConfiguration()
    /// How tasks are placed on offers.
    public var matching = MatchingConfiguration()
    /// Where the launcher keeps what a restarted process needs to fail over: the framework ID (unless
    /// ``SchedulerConfiguration/frameworkIDStore`` is set) and the tasks it had launched. A new launcher with the same
    /// directory and a `failover_timeout` long enough picks its running tasks up (``MesosLauncher/recoveredTasks``),
    /// and retries them by their policies: each task's spec is kept too, with its local artifacts as paths (a retry
    /// registers them with the new process's artifact server). Tasks and groups that were not running (waiting for
    /// an offer, or out a retry backoff) are kept as well: the new launcher queues them, after what is left of their
    /// backoff. Launches are written at once; ends, in batches a moment later (a task that ended in between is
    /// found ended when the new launcher reconciles).
    public var stateDirectory: String?
    /// How long a task's end learnt from reconciliation (a Mesos answer without the agent's own update, so without
    /// the exit status in its message) waits for the agent's update, which the agent sends again when the framework
    /// fails over; then the reconciled end stands. Only for FINISHED, FAILED and KILLED, the ends an agent reports.
    public var reconciledEndGrace: Duration = .seconds(5)
    /// While tasks run, the launcher asks the master for their state this often (explicit reconciliation), as Mesos's
    /// reconciliation guide asks of frameworks: an update that never came (a master that failed over before its agents
    /// re-registered answers nothing for their tasks) is caught. Answers that say what is already known are not passed
    /// on to the handles. Nil: only after each (re-)subscription.
    public var reconciliationInterval: Duration? = .seconds(300)
    public var logger: Logger?

    public init(masters: [String], frameworkName: String = "swift-mesos") {
        self.scheduler = SchedulerConfiguration(masters: masters)
        var framework = FrameworkInfo()
        framework.name = frameworkName
        framework.user = ProcessInfoLite.userName
        self.framework = framework
    }
}

/// What ``MesosLauncher/shutdown(_:)`` does with the tasks still running.
public enum LauncherShutdown: Sendable {
    /// Kill them, wait for their end (up to `grace`), then TEARDOWN the framework.
    case killTasks(grace: Duration = .seconds(10))
    /// Leave them running and disconnect without TEARDOWN: a later process with the same framework ID (see
    /// ``SchedulerConfiguration/frameworkIDStore``) fails over and finds them.
    case leaveRunning
}

/// The framework runtime: submit task specs and get them run, with their artifacts, on a Mesos cluster.
///
/// It subscribes, places pending tasks on offers with ``OfferMatcher``, launches them, declines what it does not
/// use, suppresses offers when nothing is pending and revives them when work arrives, acknowledges every update,
/// retries failed tasks by their policy, reconciles after every re-subscription, and reports each task's outcome
/// with its exit code.
///
/// ```swift
/// let launcher = MesosLauncher(configuration: LauncherConfiguration(masters: ["http://127.0.0.1:5050"]))
/// try await launcher.start()
/// var spec = TaskSpec(name: "hello", shell: "cat greeting.txt")
/// spec.artifacts = [.file("greeting.txt")]
/// let outcome = try await launcher.submit(spec).result()
/// print(outcome.exitCode ?? -1)
/// await launcher.shutdown(.killTasks())
/// ```
public actor MesosLauncher {
    public let configuration: LauncherConfiguration
    private let logger: Logger
    private let client: SchedulerClient
    private var artifactServer: ArtifactServer?
    private var artifactTask: Task<Void, any Error>?
    private var loop: Task<Void, Never>?
    private var pending: [Pending] = []
    private var active: [String: Active] = [:]
    private var suppressed = false
    /// Offers were declined for long (nothing to run) since the last REVIVE: new work must REVIVE, since the master
    /// holds those filters even when the launcher is not suppressed (a submit can land while such a DECLINE is on its way).
    private var filteredSinceRevive = false
    private var stopping = false
    private var failure: LauncherError?
    private var nextSerial = 0
    private var artifacts: [Artifact] = []
    private var reviveRetry: Task<Void, Never>?
    private var reconciler: Task<Void, Never>?
    /// Single tasks waiting out their retry backoff (or, recovered from the state directory, waiting for ``start()``
    /// to queue them), by handle.
    private var retrying: [ObjectIdentifier: Waiting] = [:]
    /// A write of the state directory's task list is due (updates are written together, a moment later).
    private var saveDue = false
    /// The task list is no longer written: the launcher shut down (or its subscription ended) and the file keeps what
    /// the next process needs.
    private var savesClosed = false
    /// Task groups that have not ended, by the group's own ID (stable across its attempts).
    private var groups: [String: GroupRun] = [:]

    private struct Pending {
        var request: TaskRequest
        var handle: TaskHandle
        var spec: TaskSpec
        var attempt: Int
        var member: Membership?
        /// What a restarted process needs to retry a single task (nil for a group's member: its group keeps it).
        var saved: SavedTaskSpec?
    }

    private struct Active {
        var handle: TaskHandle
        var spec: TaskSpec
        var attempt: Int
        var request: TaskRequest
        var agent: AgentInfo?
        var killed = false
        var lastStatus: TaskStatus?
        /// A terminal state from reconciliation, waiting (``LauncherConfiguration/reconciledEndGrace``) for the
        /// agent's own update.
        var reconciledEnd: TaskStatus?
        var member: Membership?
        /// The spec as the state directory keeps it; nil when it is not known (a task recovered from a file written
        /// before specs were saved, or a group's member): such a task is not retried after a restart.
        var saved: SavedTaskSpec?
    }

    /// A single task between attempts.
    private struct Waiting {
        var handle: TaskHandle
        var spec: TaskSpec
        var saved: SavedTaskSpec?
        /// The attempt that launches next.
        var attempt: Int
        /// The ID of the attempt that ended (the task's name in the state directory until the next one launches).
        var lastTaskID: String
        /// When the backoff ends (wall clock, so a restarted process waits out what is left of it).
        var notBefore: Date
    }

    /// A task's place in its group: the group's ID and the member's index in ``TaskGroupSpec/tasks``.
    private struct Membership: Hashable {
        var group: String
        var index: Int
    }

    /// A task group across its attempts.
    private struct GroupRun {
        var name: String
        /// The members as they are launched (nil for a group picked up after a failover from a file that did not keep
        /// its spec: it is not retried).
        var members: [TaskSpec]?
        var spec: TaskGroupSpec?
        /// The spec as the state directory keeps it.
        var saved: SavedTaskGroupSpec?
        var handle: TaskGroupHandle
        var attempt: Int
        /// The terminal status of each member in the current attempt, by index.
        var ended: [Int: TaskStatus] = [:]
        /// Killed by the caller: not retried.
        var killed = false
        /// Waiting out the backoff before the next attempt.
        var waiting = false
        /// When that backoff ends (wall clock, kept in the state directory).
        var notBefore = Date.distantPast
        var handles: [TaskHandle] { self.handle.tasks }
    }

    public init(configuration: LauncherConfiguration) {
        self.configuration = configuration
        self.logger = configuration.logger ?? Logger(label: "mesos.launcher", factory: { _ in SwiftLogNoOpLogHandler() })
        var scheduler = configuration.scheduler
        if let directory = configuration.stateDirectory, scheduler.frameworkIDStore == nil {
            scheduler.frameworkIDStore = FileFrameworkIDStore(path: directory + "/framework-id")
        }
        self.client = SchedulerClient(configuration: scheduler)
    }

    /// The single tasks a previous process with the same ``LauncherConfiguration/stateDirectory`` had running (or
    /// queued), picked up on ``start()``: their updates and outcomes arrive on these handles. (Members of task groups come back in
    /// ``recoveredGroups``.) Each is retried by its ``TaskSpec/retry`` policy as if the process had not restarted:
    /// the attempt number carries on, and local artifacts are served again by this process's artifact server. (A
    /// task saved by a version of the launcher that did not keep specs is not retried.)
    public private(set) var recoveredTasks: [TaskHandle] = []

    /// The task groups a previous process with the same ``LauncherConfiguration/stateDirectory`` had running, picked up
    /// on ``start()`` as groups: a handle per member (in the order of ``TaskGroupSpec/tasks``, members that had already
    /// ended included), and the group's outcome once every member has ended. Each is retried as a whole by its
    /// ``TaskGroupSpec/retry`` policy, as ``recoveredTasks`` are.
    public private(set) var recoveredGroups: [TaskGroupHandle] = []

    /// What is kept of a task in the state directory: a launched one, or (``queued``) one waiting for an offer or
    /// for its retry backoff.
    private struct SavedTask: Codable {
        var taskID: String
        var name: String
        var agentID: String?
        /// For a queued task, the attempt that launches next.
        var attempt: Int
        /// Set for a member of a task group.
        var group: SavedMembership?
        /// What a retry launches (absent from files written before it was kept: then the task is not retried).
        var spec: Lenient<SavedTaskSpec>? = nil
        /// Not running: the next process launches it (a single task by its own spec, a group's member with its group).
        var queued: Bool? = nil
        /// For a queued task or group waiting out its retry backoff: when the backoff ends (seconds since 1970).
        var notBefore: Double? = nil
    }

    /// A task group member's place in its group, and its end when it ended while others still run.
    private struct SavedMembership: Codable {
        var id: String
        var name: String
        var executorID: String
        var index: Int
        /// Every member's name, in order.
        var members: [String]
        var ended: SavedEnd?
        /// What a retry of the group launches (absent from older files: then the group is not retried).
        var spec: Lenient<SavedTaskGroupSpec>?
    }

    private struct SavedEnd: Codable {
        var state: Int
        var message: String
        var timestamp: Double
    }

    /// The largest attempt number a saved task may carry (a file may hold anything).
    private static let maximumAttempt = 1 << 20

    private var tasksFile: String? { self.configuration.stateDirectory.map { $0 + "/tasks.json" } }

    private func savedMembership(_ member: Membership, executorID: String, ended: TaskStatus? = nil) -> SavedMembership? {
        guard let run = self.groups[member.group] else { return nil }
        return SavedMembership(
            id: member.group, name: run.name, executorID: executorID, index: member.index, members: run.handles.map(\.name),
            ended: ended.map { SavedEnd(state: $0.state.rawValue, message: $0.message, timestamp: $0.timestamp) },
            spec: run.saved.map(Lenient.init)
        )
    }

    /// Writes the task list a moment from now, with whatever else changes until then: a task's end costs one write
    /// per batch, not a rewrite of the whole list each (launches are written at once, see ``saveTasks()``). A task
    /// that ended after the last write and before a crash is reconciled by the next process and found ended.
    private func scheduleSave() {
        guard self.tasksFile != nil, !self.saveDue, !self.savesClosed else { return }
        self.saveDue = true
        Task {
            try? await Task.sleep(for: .milliseconds(200))
            self.saveIfDue()
        }
    }

    private func saveIfDue() {
        if self.saveDue { self.saveTasks() }
    }

    private func saveTasks() {
        self.saveDue = false
        guard let path = self.tasksFile, !self.savesClosed else { return }
        var saved = self.active.map { id, task in
            SavedTask(
                taskID: id, name: task.spec.name, agentID: task.agent.map(\.id.value), attempt: task.attempt,
                group: task.member.flatMap { self.savedMembership($0, executorID: task.request.executor?.executorID.value ?? "") },
                spec: task.saved.map(Lenient.init)
            )
        }
        // Members that ended while the rest of their group runs: a restarted launcher needs their end for the group's
        // outcome.
        for id in Set(self.active.values.compactMap(\.member?.group)) {
            guard let run = self.groups[id] else { continue }
            for (index, status) in run.ended {
                let membership = self.savedMembership(Membership(group: id, index: index), executorID: status.executorID.value, ended: status)
                saved.append(
                    SavedTask(
                        taskID: status.taskID.value, name: run.handles[index].name,
                        agentID: status.hasAgentID ? status.agentID.value : nil, attempt: run.attempt, group: membership
                    )
                )
            }
        }
        // Single tasks not running: waiting for an offer, or for their retry backoff.
        for task in self.pending where task.member == nil {
            guard let spec = task.saved else { continue }
            saved.append(
                SavedTask(taskID: task.request.taskID.value, name: task.spec.name, attempt: task.attempt, spec: Lenient(spec), queued: true)
            )
        }
        for waiting in self.retrying.values {
            guard let spec = waiting.saved else { continue }
            saved.append(
                SavedTask(
                    taskID: waiting.lastTaskID, name: waiting.spec.name, attempt: waiting.attempt, spec: Lenient(spec), queued: true,
                    notBefore: waiting.notBefore.timeIntervalSince1970
                )
            )
        }
        // Groups not running: their attempt waits for an offer, or the group waits out its backoff.
        let queuedGroups = Set(self.pending.compactMap(\.member?.group)).union(self.groups.filter(\.value.waiting).keys)
        for id in queuedGroups {
            guard let run = self.groups[id], run.saved != nil else { continue }
            for (index, handle) in run.handles.enumerated() {
                guard let membership = self.savedMembership(Membership(group: id, index: index), executorID: "") else { continue }
                saved.append(
                    SavedTask(
                        taskID: "\(id).member-\(index)", name: handle.name, attempt: run.attempt, group: membership, queued: true,
                        notBefore: run.waiting ? run.notBefore.timeIntervalSince1970 : nil
                    )
                )
            }
        }
        do {
            let data = try JSONEncoder().encode(saved.sorted { $0.taskID < $1.taskID })
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            self.logger.warning("launcher: cannot save the task list to \(path): \(error)")
        }
    }

    private func recoverTasks() {
        guard let directory = self.configuration.stateDirectory, let path = self.tasksFile else { return }
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        guard let data = FileManager.default.contents(atPath: path) else { return }
        let saved: [SavedTask]
        do {
            saved = try JSONDecoder().decode([SavedTask].self, from: data).map { task in
                // The attempt number is counted on (and doubled for the backoff): nothing outside 1...max carries on.
                var task = task
                task.attempt = min(max(task.attempt, 1), Self.maximumAttempt)
                return task
            }
        } catch {
            self.logger.warning(
                "launcher: the saved task list does not read; no task is recovered",
                metadata: ["mesos.path": "\(path)", "mesos.error": "\(error)"]
            )
            return
        }
        let client = self.client
        // Groups first: a handle per member, in order, whatever the file holds of them.
        var groupHandles: [String: [TaskHandle]] = [:]
        for task in saved {
            guard let member = task.group, groupHandles[member.id] == nil, !member.members.isEmpty else { continue }
            let handles = member.members.map { name in
                TaskHandle(name: name, frameworkID: { client.frameworkID }) { [weak self] handle in try await self?.kill(handle) }
            }
            groupHandles[member.id] = handles
            let group = TaskGroupHandle(name: member.name, tasks: handles, executorID: ExecutorID(member.executorID)) {
                [weak self] group in try await self?.kill(group)
            }
            var run = GroupRun(name: member.name, handle: group, attempt: task.attempt)
            if let lenient = member.spec,
                let (saved, spec) = self.orWarn("launcher: a recovered task group will not be retried", ["mesos.group": "\(member.name)"], {
                    let saved = try lenient.get()
                    let spec = try saved.spec()
                    guard spec.tasks.map(\.name) == member.members else {
                        throw LauncherError("its saved spec does not name the members it was saved with")
                    }
                    return (saved, spec)
                })
            {
                (run.spec, run.members, run.saved) = (spec, Self.members(of: spec), saved)
            }
            self.groups[member.id] = run
            self.recoveredGroups.append(group)
        }
        var queuedGroups: [String: Date] = [:]
        for task in saved {
            if task.queued == true {
                if let member = task.group {
                    queuedGroups[member.id] = Self.date(task.notBefore)
                } else {
                    self.recoverQueued(task)
                }
                continue
            }
            var membership: Membership?
            let handle: TaskHandle
            var spec = TaskSpec(name: task.name, shell: "")
            spec.command = nil
            var saved: SavedTaskSpec?
            if let member = task.group, let handles = groupHandles[member.id], handles.indices.contains(member.index) {
                membership = Membership(group: member.id, index: member.index)
                handle = handles[member.index]
                if let members = self.groups[member.id]?.members, members.indices.contains(member.index) {
                    spec = members[member.index]
                }
                if let end = member.ended {
                    handle.attempt(taskID: TaskID(task.taskID))
                    // It ended before the restart: its end counts for the group's outcome.
                    var status = TaskStatus()
                    status.taskID = TaskID(task.taskID)
                    status.state = TaskState(rawValue: end.state) ?? .taskUnknown
                    status.message = end.message
                    status.timestamp = end.timestamp
                    if let agentID = task.agentID { status.agentID = AgentID(agentID) }
                    status.executorID = ExecutorID(member.executorID)
                    self.groups[member.id]?.ended[member.index] = status
                    continue
                }
            } else if task.group == nil {
                handle = TaskHandle(name: task.name, frameworkID: { client.frameworkID }) { [weak self] handle in
                    try await self?.kill(handle)
                }
                self.recoveredTasks.append(handle)
                if let lenient = task.spec,
                    let (kept, read) = self.orWarn("launcher: a recovered task will not be retried", ["mesos.task_id": "\(task.taskID)"], {
                        let kept = try lenient.get()
                        return (kept, try kept.spec())
                    })
                {
                    (spec, saved) = (read, kept)
                }
            } else {
                continue
            }
            handle.attempt(taskID: TaskID(task.taskID))
            var request = TaskRequest(taskID: TaskID(task.taskID), resources: ResourceRequest())
            if let member = task.group {
                var executor = ExecutorInfo()
                executor.type = .default
                executor.executorID = ExecutorID(member.executorID)
                request.executor = executor
            }
            var agent = AgentInfo()
            if let agentID = task.agentID {
                agent.id = AgentID(agentID)
                handle.placed(on: agent.id, endpoint: nil, ports: [], executorID: request.executor?.executorID)
            }
            self.active[task.taskID] = Active(
                handle: handle, spec: spec, attempt: task.attempt, request: request, agent: agent, member: membership,
                saved: saved
            )
        }
        // A group saved between attempts launches again once subscribed (one that cannot be retried ends here).
        for (id, notBefore) in queuedGroups where !self.active.values.contains(where: { $0.member?.group == id }) {
            guard var run = self.groups[id] else { continue }
            guard run.spec != nil else {
                let failure = LauncherError("the task group \(run.name) was saved between attempts without a spec that reads; it is not launched")
                for handle in run.handles { handle.finish(.failure(failure)) }
                self.groups[id] = nil
                continue
            }
            run.waiting = true
            run.notBefore = notBefore
            run.ended = [:]
            self.groups[id] = run
        }
        // A group whose every member had ended (a file saved at the wrong moment) ends now.
        for (id, run) in self.groups where !run.waiting && !self.active.values.contains(where: { $0.member?.group == id }) {
            self.groupAttemptEnded(id)
        }
    }

    /// A single task saved while it waited for an offer or a retry: it gets a handle, and ``start()`` queues it.
    private func recoverQueued(_ task: SavedTask) {
        let client = self.client
        let handle = TaskHandle(name: task.name, frameworkID: { client.frameworkID }) { [weak self] handle in try await self?.kill(handle) }
        self.recoveredTasks.append(handle)
        guard let lenient = task.spec,
            let (kept, spec) = self.orWarn("launcher: a recovered queued task cannot be launched", ["mesos.task_id": "\(task.taskID)"], {
                let kept = try lenient.get()
                return (kept, try kept.spec())
            })
        else {
            handle.finish(.failure(LauncherError("\(task.name) was saved waiting to launch without a spec that reads; it is not launched")))
            return
        }
        self.retrying[ObjectIdentifier(handle)] = Waiting(
            handle: handle, spec: spec, saved: kept, attempt: task.attempt, lastTaskID: task.taskID, notBefore: Self.date(task.notBefore)
        )
    }

    /// A saved instant: none (or one no clock reads) is the past.
    private static func date(_ seconds: Double?) -> Date {
        guard let seconds, seconds.isFinite else { return .distantPast }
        return Date(timeIntervalSince1970: min(max(seconds, 0), 1e11))
    }

    private static func seconds(_ duration: Duration) -> TimeInterval {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// The framework's ID once subscribed.
    public nonisolated var frameworkID: FrameworkID? { self.client.frameworkID }

    /// Body bytes the artifact server has sent (0 before the first local artifact).
    public var artifactBytesServed: Int { self.artifactServer?.served.bytes ?? 0 }

    /// The local artifacts registered so far (files, and directories as their `.tar.gz`), in registration order:
    /// their sizes and URLs (the access log of ``LauncherConfiguration/artifacts`` names them by hash).
    public var registeredArtifacts: [Artifact] { self.artifacts }

    /// The artifact server's base URL, once a local artifact was registered.
    public var artifactBaseURL: String? { self.artifactServer?.baseURL }

    /// Subscribes and starts the event loop; returns once subscribed.
    ///
    /// - Throws: ``MesosError`` when the master cannot be reached or refuses the framework.
    public func start() async throws {
        var framework = self.configuration.framework
        for wanted in [FrameworkInfo.Capability.TypeEnum.taskKillingState, .partitionAware]
        where !framework.capabilities.contains(where: { $0.type == wanted }) {
            var capability = FrameworkInfo.Capability()
            capability.type = wanted
            framework.capabilities.append(capability)
        }
        self.recoverTasks()
        let events = try await self.client.subscribe(framework, suppressedRoles: [])
        self.loop = Task {
            do {
                for try await event in events { await self.handle(event) }
                self.ended(LauncherError("the event stream ended", code: .subscriptionEnded))
            } catch {
                self.ended(LauncherError("the subscription ended", code: .subscriptionEnded, underlying: error))
            }
        }
        // Recovered tasks and groups that were waiting for an offer or a retry are queued now (the framework ID is
        // known, and their artifacts are registered with this process's server), after what is left of their backoff.
        for waiting in self.retrying.values { self.retryWhenDue(waiting) }
        for (id, run) in self.groups where run.waiting { self.retryGroupWhenDue(id, notBefore: run.notBefore) }
        if let interval = self.configuration.reconciliationInterval, interval > .zero {
            self.reconciler = Task {
                while (try? await Task.sleep(for: interval)) != nil {
                    await self.reconcileRunning()
                }
            }
        }
    }

    /// Explicit reconciliation of the tasks the master has reported on (a task whose ACCEPT may not have reached the
    /// master yet is left out: the master would answer that it does not know it).
    private func reconcileRunning() async {
        guard !self.stopping else { return }
        let known = self.active.compactMap { id, task in task.lastStatus == nil ? nil : (TaskID(id), task.agent?.id) }
        guard !known.isEmpty else { return }
        do { try await self.client.reconcile(tasks: known) } catch {
            self.logger.debug("launcher: periodic RECONCILE failed", metadata: ["mesos.error": "\(error)"])
        }
    }

    /// Queues the task's next attempt once its backoff has passed (at once when it has).
    private func retryWhenDue(_ waiting: Waiting) {
        Task {
            await Self.sleep(until: waiting.notBefore)
            await self.retry(waiting)
        }
    }

    /// Queues the group's next attempt once its backoff has passed.
    private func retryGroupWhenDue(_ id: String, notBefore: Date) {
        Task {
            await Self.sleep(until: notBefore)
            await self.retryGroup(id)
        }
    }

    private static func sleep(until instant: Date) async {
        let left = instant.timeIntervalSinceNow
        if left > 0 { try? await Task.sleep(for: .milliseconds(Int(left * 1000))) }
    }

    /// Queues a task; it launches on the next suitable offer.
    ///
    /// - Throws: ``LauncherError`` when the launcher is stopping, or an artifact cannot be registered.
    public func submit(_ spec: TaskSpec) async throws -> TaskHandle {
        if let failure = self.failure { throw failure }
        guard !self.stopping else { throw LauncherError("the launcher is shutting down", code: .stopped) }
        let template = try await self.template(for: spec)
        let client = self.client
        let handle = TaskHandle(name: spec.name, frameworkID: { client.frameworkID }) { [weak self] handle in
            try await self?.kill(handle)
        }
        self.enqueue(spec: spec, template: template, handle: handle, attempt: 1)
        await self.reviveOrRetry()
        return handle
    }

    /// Queues a task group: its members launch together on one agent, in one `LAUNCH_GROUP` under Mesos's default
    /// executor, as `mesos-execute --task_group` does (an `ExecutorInfo` of type DEFAULT with the framework ID and
    /// ``TaskGroupSpec/executorResources``).
    ///
    /// - Throws: ``LauncherError``: ``LauncherError/Code/stopped`` when the launcher is stopping, ``LauncherError/Code/other``
    ///   for an empty group or a member with a custom executor, ``LauncherError/Code/artifact`` when an artifact cannot
    ///   be registered.
    public func submitGroup(_ spec: TaskGroupSpec) async throws -> TaskGroupHandle {
        if let failure = self.failure { throw failure }
        guard !self.stopping else { throw LauncherError("the launcher is shutting down", code: .stopped) }
        guard !spec.tasks.isEmpty else { throw LauncherError("the task group \(spec.name) has no tasks") }
        if let member = spec.tasks.first(where: { $0.executor != nil || $0.command == nil }) {
            throw LauncherError("\(member.name): a member of a task group needs a command, not a custom executor")
        }
        var templates: [TaskInfo] = []
        for member in spec.tasks { templates.append(try await self.template(for: member)) }
        let members = Self.members(of: spec)
        let client = self.client
        let handles = members.map { member in
            TaskHandle(name: member.name, frameworkID: { client.frameworkID }) { [weak self] handle in try await self?.kill(handle) }
        }
        let id = "\(Self.idSafe(spec.name)).\(UUID().uuidString.lowercased())"
        let group = TaskGroupHandle(name: spec.name, tasks: handles, executorID: ExecutorID("")) { [weak self] group in
            try await self?.kill(group)
        }
        let saved =
            self.configuration.stateDirectory == nil
            ? nil
            : self.orWarn(
                "launcher: the task group's spec cannot be saved; a restarted launcher will not retry it", ["mesos.group": "\(spec.name)"]
            ) { try SavedTaskGroupSpec(spec) }
        self.groups[id] = GroupRun(name: spec.name, members: members, spec: spec, saved: saved, handle: group, attempt: 1)
        self.enqueueGroupAttempt(id, templates: templates)
        await self.reviveOrRetry()
        return group
    }

    /// `body`'s result, or nil after a warning: a spec that cannot be saved or read back costs its task or group the
    /// retries after a restart, never the task itself.
    private func orWarn<T>(_ message: Logger.Message, _ metadata: Logger.Metadata, _ body: () throws -> T) -> T? {
        do {
            return try body()
        } catch {
            self.logger.warning(message, metadata: metadata.merging(["mesos.error": "\(error)"]) { $1 })
            return nil
        }
    }

    /// The members of a group as they launch: the group's role, constraints and placement group; no retries of their own.
    private static func members(of spec: TaskGroupSpec) -> [TaskSpec] {
        spec.tasks.map { member in
            var member = member
            member.retry = .never
            member.role = spec.role ?? member.role
            member.constraints = spec.constraints + member.constraints
            member.group = spec.group ?? spec.name
            return member
        }
    }

    /// Queues every member of a group's current attempt, with new task IDs and a new default executor.
    private func enqueueGroupAttempt(_ id: String, templates: [TaskInfo]) {
        guard let run = self.groups[id], let spec = run.spec, let members = run.members else { return }
        let key = "\(Self.idSafe(spec.name)).\(UUID().uuidString.prefix(8).lowercased())"
        var executor = ExecutorInfo()
        executor.type = .default
        executor.executorID = ExecutorID("\(key).executor")
        if let frameworkID = self.client.frameworkID { executor.frameworkID = frameworkID }
        executor.resources = Self.scalarResources(spec.executorResources)
        if let container = spec.executorContainer { executor.container = container }
        run.handle.attempt(executorID: executor.executorID)
        for (index, (member, template)) in zip(members, templates).enumerated() {
            self.enqueue(
                spec: member, template: template, handle: run.handles[index], attempt: run.attempt, taskGroup: (key, executor),
                member: Membership(group: id, index: index)
            )
        }
    }

    /// The executor's resources, unreserved; the matcher picks them from the offer.
    static func scalarResources(_ resources: TaskSpec.Resources) -> [Resource] {
        [("cpus", resources.cpus), ("mem", resources.mem), ("disk", resources.disk), ("gpus", resources.gpus)]
            .filter { $0.1 > 0 }
            .map { Resource(name: $0.0, scalar: ScalarQuantity($0.1)) }
    }

    /// Stops taking offers and ends the framework's session (see ``LauncherShutdown``).
    public func shutdown(_ mode: LauncherShutdown = .killTasks()) async {
        if case .leaveRunning = mode {
            // The next process takes over from the file as it stands now: the running tasks, and those waiting for an
            // offer or a retry (their handles here end with `.stopped`; the next process launches them).
            self.saveTasks()
            self.savesClosed = true
        }
        self.stopping = true
        let notLaunched = LauncherError("the launcher shut down before the task was launched", code: .stopped)
        for task in self.pending { task.handle.finish(.failure(notLaunched)) }
        self.pending.removeAll()
        self.endWaitingRetries(LauncherError("the launcher shut down before the task was retried", code: .stopped))
        try? await self.client.suppress()
        switch mode {
        case .killTasks(let grace):
            for (id, task) in self.active {
                self.active[id]?.killed = true
                do {
                    try await self.client.kill(taskID: TaskID(id), agentID: task.agent?.id)
                } catch {
                    // TEARDOWN below ends the task anyway.
                    self.logger.warning("launcher: KILL at shutdown failed", metadata: ["mesos.task_id": "\(id)", "mesos.error": "\(error)"])
                }
            }
            let deadline = ContinuousClock.now + grace
            while !self.active.isEmpty, ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(50))
            }
            try? await self.client.stop(teardown: true)
            self.active.removeAll()
            self.saveTasks()
            self.savesClosed = true
        case .leaveRunning:
            try? await self.client.stop(teardown: false)
        }
        for task in self.active.values {
            task.handle.finish(.failure(LauncherError("the launcher shut down while the task was running", code: .stopped)))
        }
        self.active.removeAll()
        for run in self.groups.values {
            // The group did not end: every member fails, those that had ended too (their group outcome is unknown).
            for handle in run.handles { handle.finish(.failure(LauncherError("the launcher shut down while the group was running", code: .stopped))) }
        }
        self.groups.removeAll()
        self.loop?.cancel()
        self.reviveRetry?.cancel()
        self.reconciler?.cancel()
        if let server = self.artifactServer { await server.shutdownGracefully() }
        self.artifactTask?.cancel()
    }

    // MARK: Tasks

    private func template(for spec: TaskSpec) async throws -> TaskInfo {
        // The spec's base TaskInfo, without what the spec itself says or the launch decides.
        let base = spec.taskInfo ?? TaskInfo()
        var task = base
        task.clearTaskID()
        task.clearAgentID()
        task.clearCommand()
        task.clearExecutor()
        task.clearContainer()
        task.clearHealthCheck()
        task.clearLabels()
        task.clearData()
        task.resources = []
        if task.hasKillPolicy { task.killPolicy.clearGracePeriod() }
        task.name = spec.name
        // The command keeps the base's other fields (`user`, say).
        var command = base.hasCommand ? base.command : CommandInfo()
        command.clearValue()
        command.arguments = []
        command.uris = []
        switch spec.command {
        case .shell(let line):
            command.shell = true
            command.value = line
        case .argv(let argv):
            command.shell = false
            command.value = argv.first ?? ""
            command.arguments = argv
        case nil:
            break
        }
        // The spec's variables, then the base's secret ones (a spec holds values only), by name.
        var variables = spec.environment.sorted { $0.key < $1.key }.map { name, value in
            var variable = Mesos_V1_Environment.Variable()
            variable.name = name
            variable.value = value
            return variable
        }
        variables += base.command.environment.variables.filter { $0.type == .secret && spec.environment[$0.name] == nil }
        command.environment.variables = variables
        if variables.isEmpty { command.clearEnvironment() }
        for artifact in spec.artifacts {
            command.uris.append(try await self.uri(for: artifact))
        }
        if spec.executor == nil { task.command = command }
        if let container = spec.container { task.container = container }
        if let data = spec.data { task.data = Data(data) }
        if let healthCheck = spec.healthCheck { task.healthCheck = healthCheck }
        if let grace = spec.killGracePeriod {
            task.killPolicy.gracePeriod.nanoseconds = Int64(grace.components.seconds) * 1_000_000_000
                + Int64(grace.components.attoseconds / 1_000_000_000)
        }
        if !spec.labels.isEmpty {
            task.labels.labels = spec.labels.sorted { $0.key < $1.key }.map { key, value in
                var label = Mesos_V1_Label()
                label.key = key
                label.value = value
                return label
            }
        }
        if var executor = spec.executor {
            // Artifacts go to the executor's command: the agent fetches them into the executor's sandbox.
            executor.command.uris += command.uris
            task.executor = executor
        }
        return task
    }

    private func uri(for artifact: TaskSpec.Artifact) async throws -> CommandInfo.URI {
        switch artifact {
        case .uri(let uri):
            return uri
        case .file(let path, let executable, let extract, let cache, let outputFile):
            let artifact = try await self.register { try await $0.register(file: path) }
            return artifact.uri(executable: executable, extract: extract, cache: cache, outputFile: outputFile)
        case .directory(let path, let extract, let cache):
            let artifact = try await self.register { try await $0.register(directory: path) }
            return artifact.uri(extract: extract, cache: cache)
        }
    }

    private func register(_ body: (ArtifactServer) async throws -> Artifact) async throws -> Artifact {
        let artifact: Artifact
        do {
            artifact = try await body(try await self.server())
        } catch {
            throw LauncherError("cannot serve the artifact", code: .artifact, underlying: error)
        }
        if !self.artifacts.contains(artifact) { self.artifacts.append(artifact) }
        return artifact
    }

    private func server() async throws -> ArtifactServer {
        if let server = self.artifactServer { return server }
        var configuration = self.configuration.artifacts
        if configuration.masterHost == nil, let master = self.configuration.scheduler.masters.first {
            configuration.masterHost = Self.host(of: master)
        }
        let server = try await ArtifactServer.bind(configuration)
        self.artifactServer = server
        self.artifactTask = Task { try await server.run() }
        return server
    }

    static func host(of url: String) -> String? {
        var rest = Substring(url)
        if let scheme = rest.firstRange(of: "://") { rest = rest[scheme.upperBound...] }
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        if let colon = rest.lastIndex(of: ":") { rest = rest[..<colon] }
        return rest.isEmpty ? nil : String(rest)
    }

    static func idSafe(_ name: String) -> String {
        String(name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." ? $0 : "_" })
    }

    private func enqueue(
        spec: TaskSpec,
        template: TaskInfo,
        handle: TaskHandle,
        attempt: Int,
        taskGroup: (key: String, executor: ExecutorInfo)? = nil,
        member: Membership? = nil,
        saved: SavedTaskSpec? = nil
    ) {
        self.nextSerial += 1
        let taskID = Self.taskID(for: spec, attempt: attempt)
        var template = template
        template.taskID = taskID
        var request = TaskRequest(
            taskID: taskID,
            role: spec.role ?? self.defaultRole,
            resources: ResourceRequest(
                cpus: ScalarQuantity(spec.resources.cpus),
                mem: ScalarQuantity(spec.resources.mem),
                disk: ScalarQuantity(spec.resources.disk),
                gpus: ScalarQuantity(spec.resources.gpus),
                ports: spec.resources.ports
            ),
            constraints: spec.constraints,
            group: spec.group ?? spec.name,
            template: template
        )
        if let executor = template.hasExecutor ? template.executor : nil { request.executor = executor }
        if let taskGroup {
            request.taskGroup = taskGroup.key
            request.executor = taskGroup.executor
        }
        handle.attempt(taskID: taskID)
        // Made once per task (a retry or a requeue brings the one it had).
        var saved = saved
        if saved == nil, member == nil, self.configuration.stateDirectory != nil {
            saved = self.orWarn(
                "launcher: the task's spec cannot be saved; a restarted launcher will not retry it", ["mesos.task_id": "\(taskID.value)"]
            ) { try SavedTaskSpec(spec) }
        }
        self.pending.append(Pending(request: request, handle: handle, spec: spec, attempt: attempt, member: member, saved: saved))
        self.scheduleSave()
    }

    /// The spec's ``TaskSpec/taskID`` for the first attempt and `<ID>.attempt-<n>` for the later ones; without one, the
    /// name and a random suffix.
    static func taskID(for spec: TaskSpec, attempt: Int) -> TaskID {
        if let given = spec.taskID, !given.value.isEmpty {
            return attempt <= 1 ? given : TaskID("\(given.value).attempt-\(attempt)")
        }
        return TaskID("\(Self.idSafe(spec.name)).\(UUID().uuidString.prefix(8).lowercased())")
    }

    private var mastersUseTLS: Bool {
        self.configuration.scheduler.masters.first.map { $0.lowercased().hasPrefix("https://") } ?? false
    }

    private var defaultRole: String {
        let framework = self.configuration.framework
        if let first = framework.roles.first { return first }
        return framework.hasRole ? framework.role : "*"
    }

    private func kill(_ handle: TaskHandle) async throws {
        // A member of a group takes its group with it: the default executor kills the others anyway, and a group
        // launches whole or not at all.
        if let run = self.groups.values.first(where: { $0.handles.contains { $0 === handle } }) {
            try await self.kill(run.handle)
            return
        }
        if let waiting = self.retrying.removeValue(forKey: ObjectIdentifier(handle)) {
            Self.finishKilled(handle, message: "Killed while waiting to be retried", attempts: waiting.attempt - 1)
            self.scheduleSave()
            try await self.suppressIfIdle()
            return
        }
        if self.pending.contains(where: { $0.handle === handle }) {
            self.killPending { $0.handle === handle }
            try await self.suppressIfIdle()
            return
        }
        guard let (id, task) = self.active.first(where: { $0.value.handle === handle }) else { return }
        try await self.killActive(id: id, task: task)
    }

    private func kill(_ group: TaskGroupHandle) async throws {
        guard let (id, run) = self.groups.first(where: { $0.value.handle === group }) else { return }
        if run.waiting {
            // Between two attempts nothing runs: the group ends here.
            for handle in run.handles { Self.finishKilled(handle, message: "Killed while waiting to be retried", attempts: run.attempt) }
            self.groups[id] = nil
            try await self.suppressIfIdle()
            return
        }
        self.groups[id]?.killed = true
        self.killPending { $0.member?.group == id }
        var firstError: (any Error)?
        for (taskID, task) in self.active where task.member?.group == id {
            do { try await self.killActive(id: taskID, task: task) } catch { firstError = firstError ?? error }
        }
        self.pruneGroups()
        if let firstError {
            // A KILL was refused: the group may go on running, and is retried by its policy as before.
            self.groups[id]?.killed = run.killed
            throw firstError
        }
        try await self.suppressIfIdle()
    }

    private func killPending(where matches: (Pending) -> Bool) {
        let killed = self.pending.filter(matches)
        self.pending.removeAll(where: matches)
        for task in killed {
            Self.finishKilled(task.handle, message: "Killed before it was launched", attempts: task.attempt)
        }
        self.pruneGroups()
        self.scheduleSave()
    }

    /// Ends a handle that has nothing launched with TASK_KILLED.
    private static func finishKilled(_ handle: TaskHandle, message: String, attempts: Int) {
        var status = TaskStatus()
        status.taskID = handle.taskID ?? TaskID("")
        status.state = .taskKilled
        status.message = message
        handle.finish(.success(TaskOutcome(state: .taskKilled, exitCode: nil, status: status, attempts: attempts)))
    }

    /// Forgets the groups whose every member has ended (each handle finished on its own: killed before launch,
    /// refused by the master).
    private func pruneGroups() {
        for (id, run) in self.groups where run.handles.allSatisfy(\.isDone) { self.groups[id] = nil }
    }

    /// KILL for a launched task; a refused KILL leaves the task as it was (running, retried by its policy) and throws.
    private func killActive(id: String, task: Active) async throws {
        let wasKilled = task.killed
        self.active[id]?.killed = true
        do {
            try await self.client.kill(taskID: TaskID(id), agentID: task.agent?.id)
        } catch {
            if !wasKilled { self.active[id]?.killed = false }
            self.logger.warning("launcher: KILL failed", metadata: ["mesos.task_id": "\(id)", "mesos.error": "\(error)"])
            throw LauncherError("the master did not take the KILL of \(task.spec.name) (\(id))", code: .callFailed, underlying: error)
        }
    }

    // MARK: Events

    private func handle(_ event: SchedulerClient.Event) async {
        do {
            switch event {
            case .subscribed(let subscription):
                if subscription.isResubscription || !self.recoveredTasks.isEmpty || !self.recoveredGroups.isEmpty, !self.active.isEmpty {
                    // Nothing is forgotten across a re-subscription: ask for the state of every task we know.
                    try await self.client.reconcile(tasks: self.active.map { (TaskID($0.key), $0.value.agent?.id) })
                }
                // No reset of `suppressed` here: a SUPPRESS sent since the SUBSCRIBE went out (a group killed while
                // this event waited to be handled) holds at the master, and a launcher that forgot it would never
                // REVIVE for the next task. Nor does a lost connection end it: the client re-subscribes with the
                // roles suppressed at the time.
                await self.reviveOrRetry()
            case .offers(let offers):
                try await self.place(offers)
            case .update(let status):
                try await self.update(status)
            case .error(let message):
                self.ended(LauncherError("the master ended the framework: \(message)", code: .subscriptionEnded))
            case .disconnected(let error, let willReconnect):
                self.logger.warning("launcher: subscription lost (\(error)); reconnecting: \(willReconnect)")
                if !willReconnect { self.ended(LauncherError("the subscription was lost", code: .subscriptionEnded, underlying: error)) }
            case .failure(let agentID, let executorID, let status):
                self.logger.info("launcher: failure agent=\(agentID?.value ?? "-") executor=\(executorID?.value ?? "-") status=\(status.map(String.init) ?? "-")")
            default:
                break
            }
        } catch {
            self.logger.warning("launcher: handling \(event) failed: \(error)")
        }
    }

    private func place(_ offers: [Offer]) async throws {
        if self.pending.isEmpty || self.stopping {
            self.filteredSinceRevive = true
            try await self.client.decline(offerIDs: offers.map(\.id), filters: Self.filters(refuse: 120))
            try await self.suppressIfIdle()
            return
        }
        let running = self.active.compactMap { id, task in
            task.agent.map { RunningTask(taskID: TaskID(id), group: task.request.group, agent: $0) }
        }
        let matcher = OfferMatcher(configuration: self.configuration.matching)
        let result = matcher.match(tasks: self.pending.map(\.request), offers: offers, running: running)
        let agents = Dictionary(offers.map { ($0.agentID.value, $0) }, uniquingKeysWith: { first, _ in first })
        var placed: Set<String> = []
        for placement in result.placements { placed.insert(placement.taskID.value) }
        var launched: [Pending] = []
        self.pending.removeAll { task in
            guard placed.contains(task.request.taskID.value) else { return false }
            launched.append(task)
            return true
        }
        for task in launched {
            let placement = result.placements.first { $0.taskID == task.request.taskID }
            var agent = AgentInfo()
            var endpoint: String?
            if let offer = placement.flatMap({ agents[$0.agentID.value] }) {
                agent.id = offer.agentID
                agent.hostname = offer.hostname
                agent.attributes = offer.attributes
                if offer.hasDomain { agent.domain = offer.domain }
                if offer.hasURL {
                    let address = offer.url.address
                    let host = address.hasIp ? address.ip : address.hostname
                    // Mesos writes "http" in every offer's URL, TLS or not (libprocess speaks TLS on the same port when
                    // LIBPROCESS_SSL_ENABLED is set, for the whole cluster): a master reached over https means https
                    // agents.
                    let scheme = self.mastersUseTLS ? "https" : (offer.url.scheme.isEmpty ? "http" : offer.url.scheme)
                    endpoint = "\(scheme)://\(host):\(address.port)"
                }
            }
            let ports = placement.map { Array(Resources($0.resources).ports.flatMap { $0 }) } ?? []
            task.handle.placed(on: agent.id, endpoint: endpoint, ports: ports, executorID: task.request.executor?.executorID)
            self.active[task.request.taskID.value] = Active(
                handle: task.handle, spec: task.spec, attempt: task.attempt, request: task.request, agent: agent,
                member: task.member, saved: task.saved
            )
        }
        if !launched.isEmpty { self.saveTasks() }
        // Leftovers come straight back while work is waiting; otherwise the master may hold them for a while.
        let refuse: Double = self.pending.isEmpty ? 5 : 0
        // Every offer gets its answer even when one call fails; a failed ACCEPT is settled for its own tasks.
        for accept in result.accepts {
            let frameworkID = self.client.frameworkID
            let operations = accept.operations.map { operation in
                var operation = Self.withPortEnvironment(operation)
                // A group's default executor must name the framework (1.11 fills it in for LAUNCH only); a group queued
                // before the framework had its ID gets it now.
                if operation.type == .launchGroup, !operation.launchGroup.executor.hasFrameworkID, let frameworkID {
                    operation.launchGroup.executor.frameworkID = frameworkID
                    for index in operation.launchGroup.taskGroup.tasks.indices
                    where operation.launchGroup.taskGroup.tasks[index].hasExecutor {
                        operation.launchGroup.taskGroup.tasks[index].executor.frameworkID = frameworkID
                    }
                }
                return operation
            }
            do {
                try await self.client.accept(offerIDs: accept.offerIDs, operations: operations, filters: Self.filters(refuse: refuse))
            } catch {
                let taskIDs = operations.flatMap { operation -> [TaskID] in
                    switch operation.type {
                    case .launch: operation.launch.taskInfos.map(\.taskID)
                    case .launchGroup: operation.launchGroup.taskGroup.tasks.map(\.taskID)
                    default: []
                    }
                }
                await self.acceptFailed(error, taskIDs: taskIDs, offerIDs: accept.offerIDs)
            }
        }
        for decline in result.declines {
            let filters = Self.filters(refuse: decline.refuseSeconds)
            do {
                try await self.client.decline(offerIDs: decline.offerIDs, filters: filters)
            } catch let error as MesosError where error.isRetryable {
                self.logger.debug("launcher: DECLINE failed; trying again", metadata: ["mesos.error": "\(error)"])
                self.declineLater(decline.offerIDs, filters: filters)
            } catch {
                // Nothing waits on a declined offer; the master takes it back when it rescinds it.
                self.logger.warning("launcher: DECLINE failed", metadata: ["mesos.error": "\(error)"])
            }
        }
        if !result.unplaced.isEmpty {
            self.logger.debug("launcher: not placed this round: \(result.unplaced.map(\.description).joined(separator: ", "))")
        }
        try await self.suppressIfIdle()
    }

    /// What becomes of the tasks of an ACCEPT that failed.
    ///
    /// - The master answered 4xx (or the call could not even be encoded): it will not launch them, now or later. Their
    ///   handles fail with the master's text (``LauncherError/Code/rejected``), and the offers are declined.
    /// - The master answered 503/429/307: it did not look at the call. The tasks go back to the queue (a new task ID,
    ///   the same attempt) and the offers are declined for a moment.
    /// - No answer (a dropped connection): the master may or may not have launched them. They stay launched as far as
    ///   the launcher knows and are reconciled: the master answers with their state, or TASK_UNKNOWN/LOST, which ends
    ///   the attempt through the retry policy like any terminal update. (A re-subscription reconciles them too.)
    private func acceptFailed(_ error: any Error, taskIDs: [TaskID], offerIDs: [OfferID]) async {
        let mesos = error as? MesosError
        self.logger.warning(
            "launcher: ACCEPT failed",
            metadata: ["mesos.error": "\(error)", "mesos.tasks": "\(taskIDs.map(\.value).joined(separator: ","))"]
        )
        // The master refused the whole call without looking at the tasks: the stream it was sent on was replaced
        // (400 "…didn't match the stream ID…", 403 "Framework is not subscribed"), or a new master does not know the
        // framework yet (400 "Framework cannot be found"). Nothing was launched; the tasks go back in the queue.
        let notLooked = mesos.map { $0.code == .unsubscribed || ($0.httpStatus == 400 && $0.message.contains("Framework cannot be found")) } ?? false
        let rejected = !notLooked && (mesos.map { $0.httpStatus.map { (400..<500).contains($0) && $0 != 429 } ?? ($0.code == .badRequest) } ?? true)
        let unanswered = mesos.map { $0.httpStatus == nil && $0.code != .badRequest } ?? false
        if unanswered {
            let known = taskIDs.map { ($0, self.active[$0.value]?.agent?.id) }
            do { try await self.client.reconcile(tasks: known) } catch {
                self.logger.warning("launcher: RECONCILE after a failed ACCEPT failed", metadata: ["mesos.error": "\(error)"])
            }
            return
        }
        var requeue: [Active] = []
        for id in taskIDs {
            guard let task = self.active.removeValue(forKey: id.value) else { continue }
            if rejected {
                let text = mesos?.message ?? "\(error)"
                task.handle.finish(
                    .failure(LauncherError("the master refused to launch \(task.spec.name): \(text)", code: .rejected, underlying: error))
                )
            } else {
                requeue.append(task)
            }
        }
        self.scheduleSave()
        let filters = Self.filters(refuse: rejected ? 5 : 1)
        do {
            try await self.client.decline(offerIDs: offerIDs, filters: filters)
        } catch let error as MesosError where error.isRetryable {
            // The master that refused the ACCEPT refuses this too: while it holds the offers their resources are offered
            // to no one, the requeued tasks included. Decline them again until it answers.
            self.logger.debug("launcher: DECLINE after a failed ACCEPT failed; trying again", metadata: ["mesos.error": "\(error)"])
            self.declineLater(offerIDs, filters: filters)
        } catch {
            self.logger.debug("launcher: DECLINE after a failed ACCEPT failed", metadata: ["mesos.error": "\(error)"])
        }
        self.requeue(requeue)
        self.pruneGroups()
        if !requeue.isEmpty { await self.reviveOrRetry() }
    }

    /// Tasks the master did not launch, back in the queue under the same attempt (with a new task ID, unless the spec
    /// gives one).
    private func requeue(_ tasks: [Active]) {
        for task in tasks {
            var template = task.request.template
            template.clearTaskID()
            let group = task.request.taskGroup.flatMap { key in task.request.executor.map { (key, $0) } }
            self.enqueue(
                spec: task.spec, template: template, handle: task.handle, attempt: task.attempt, taskGroup: group, member: task.member,
                saved: task.saved
            )
        }
    }

    /// DECLINE every 500 ms while the master answers 503/429/307 (for a minute at most); an offer the master no longer
    /// knows is declined without complaint, so a late success does no harm.
    private func declineLater(_ offerIDs: [OfferID], filters: Filters) {
        let client = self.client
        let logger = self.logger
        Task {
            for _ in 0..<120 {
                try? await Task.sleep(for: .milliseconds(500))
                guard !self.stopping, self.failure == nil else { return }
                do {
                    try await client.decline(offerIDs: offerIDs, filters: filters)
                    return
                } catch let error as MesosError where error.isRetryable {
                    continue
                } catch {
                    logger.debug("launcher: DECLINE of held offers failed", metadata: ["mesos.error": "\(error)"])
                    return
                }
            }
        }
    }

    /// Tells each task its ports, as Marathon does: `PORT0`, `PORT1`… and `PORT` (the first), in its command's
    /// environment (and the executor's, for custom executors).
    static func withPortEnvironment(_ operation: Offer.Operation) -> Offer.Operation {
        func addPorts(_ task: inout TaskInfo) {
            let ports = Array(Resources(task.resources).ports.flatMap { $0 })
            guard !ports.isEmpty else { return }
            var variables: [Mesos_V1_Environment.Variable] = []
            for (index, port) in ports.enumerated() {
                var variable = Mesos_V1_Environment.Variable()
                variable.name = "PORT\(index)"
                variable.value = String(port)
                variables.append(variable)
            }
            var first = Mesos_V1_Environment.Variable()
            first.name = "PORT"
            first.value = String(ports[0])
            variables.append(first)
            if task.hasCommand {
                task.command.environment.variables += variables
            } else if task.hasExecutor {
                task.executor.command.environment.variables += variables
            }
        }
        var operation = operation
        switch operation.type {
        case .launch:
            for index in operation.launch.taskInfos.indices { addPorts(&operation.launch.taskInfos[index]) }
        case .launchGroup:
            for index in operation.launchGroup.taskGroup.tasks.indices { addPorts(&operation.launchGroup.taskGroup.tasks[index]) }
        default:
            break
        }
        return operation
    }

    private static func filters(refuse seconds: Double) -> Filters {
        var filters = Filters()
        filters.refuseSeconds = seconds
        return filters
    }

    private func update(_ status: TaskStatus, settling: Bool = false) async throws {
        defer { Task { _ = try? await self.client.acknowledge(status) } }
        guard var task = self.active[status.taskID.value] else { return }
        // The agent sends an update again until it is acknowledged: a repeat (same uuid) is acknowledged, not news.
        if status.hasUuid, task.lastStatus?.uuid == status.uuid { return }
        // A task that ended while no one was subscribed: the master's reconciliation answer comes first, without the
        // exit status; the agent's own update follows (the agent sends it again on failover). Wait a moment for it.
        if !settling, status.reason == .reconciliation, !status.hasUuid,
            [TaskState.taskFinished, .taskFailed, .taskKilled].contains(status.state)
        {
            if task.reconciledEnd == nil {
                task.reconciledEnd = status
                self.active[status.taskID.value] = task
                let id = status.taskID.value
                let grace = self.configuration.reconciledEndGrace
                Task {
                    try? await Task.sleep(for: grace)
                    try? await self.settleReconciledEnd(id)
                }
            }
            return
        }
        // The offers were gone by the time the ACCEPT reached the master (rescinded, or the stream dropped): nothing
        // was launched, so this is no end of the task: it is placed again, under the same attempt.
        if status.source == .master, status.reason == .invalidOffers, !task.killed, !self.stopping,
            status.state == .taskDropped || status.state == .taskLost
        {
            self.logger.info("launcher: \(task.spec.name) was not launched (\(status.message)); placing it again")
            self.active[status.taskID.value] = nil
            self.requeue([task])
            self.pruneGroups()
            await self.reviveOrRetry()
            return
        }
        // A reconciliation answer that says what the last update said is no news to the handle.
        if status.reason == .reconciliation, !status.hasUuid, task.lastStatus?.state == status.state { return }
        task.lastStatus = status
        self.active[status.taskID.value] = task
        task.handle.yield(status)
        guard Self.isTerminal(status.state) else { return }
        self.active[status.taskID.value] = nil
        if let member = task.member {
            self.memberEnded(member, status: status, killed: task.killed)
            self.scheduleSave()
            try await self.suppressIfIdle()
            return
        }
        self.scheduleSave()
        let policy = task.spec.retry
        if !task.killed, !self.stopping, policy.retryOn.contains(status.state), task.attempt < policy.attempts {
            let delay = policy.backoff * (1 << min(task.attempt - 1, 16))
            self.logger.info("launcher: \(task.spec.name) attempt \(task.attempt) ended \(status.state); retrying in \(delay)")
            let waiting = Waiting(
                handle: task.handle, spec: task.spec, saved: task.saved, attempt: task.attempt + 1, lastTaskID: status.taskID.value,
                notBefore: Date() + Self.seconds(delay)
            )
            self.retrying[ObjectIdentifier(task.handle)] = waiting
            self.retryWhenDue(waiting)
            return
        }
        task.handle.finish(
            .success(TaskOutcome(state: status.state, exitCode: TaskOutcome.exitCode(of: status), status: status, attempts: task.attempt))
        )
        try await self.suppressIfIdle()
    }

    /// The agent's update did not come within the grace: the end reconciliation reported stands.
    private func settleReconciledEnd(_ id: String) async throws {
        guard let status = self.active[id]?.reconciledEnd else { return }
        try await self.update(status, settling: true)
    }

    private func retry(_ waiting: Waiting) async {
        let (spec, handle) = (waiting.spec, waiting.handle)
        // Killed (or ended by a shutdown) while waiting: nothing to do.
        guard self.retrying.removeValue(forKey: ObjectIdentifier(handle)) != nil, !handle.isDone else { return }
        if let failure = self.failure {
            handle.finish(.failure(failure))
            return
        }
        guard !self.stopping else {
            handle.finish(.failure(LauncherError("the launcher shut down before the task was retried", code: .stopped)))
            return
        }
        do {
            let template = try await self.template(for: spec)
            self.enqueue(spec: spec, template: template, handle: handle, attempt: waiting.attempt, saved: waiting.saved)
        } catch {
            handle.finish(.failure(LauncherError("retrying \(spec.name) failed", code: (error as? LauncherError)?.code ?? .other, underlying: error)))
            return
        }
        await self.reviveOrRetry()
    }

    // MARK: Groups

    /// A member's attempt ended; the group's attempt ends with its last member.
    private func memberEnded(_ member: Membership, status: TaskStatus, killed: Bool) {
        guard self.groups[member.group] != nil else { return }
        self.groups[member.group]?.ended[member.index] = status
        if killed { self.groups[member.group]?.killed = true }
        let running =
            self.active.values.contains { $0.member?.group == member.group }
            || self.pending.contains { $0.member?.group == member.group }
        if !running { self.groupAttemptEnded(member.group) }
    }

    /// Every member of the group's attempt has ended: retry the group by its policy, or end each member's handle.
    private func groupAttemptEnded(_ id: String) {
        guard var run = self.groups[id] else { return }
        let statuses = run.handles.indices.map { run.ended[$0] }
        let complete = statuses.compactMap { $0 }
        let outcomes = complete.map { TaskOutcome(state: $0.state, exitCode: TaskOutcome.exitCode(of: $0), status: $0, attempts: run.attempt) }
        let cause = TaskGroupOutcome(names: complete.map(\.taskID.value), outcomes: outcomes).cause
        if let cause, let spec = run.spec, complete.count == run.handles.count, !run.handles.contains(where: \.isDone),
            !run.killed, !self.stopping, self.failure == nil,
            spec.retry.retryOn.contains(cause.outcome.state), run.attempt < spec.retry.attempts
        {
            let delay = spec.retry.backoff * (1 << min(run.attempt - 1, 16))
            self.logger.info(
                "launcher: task group attempt failed; retrying",
                metadata: [
                    "mesos.group": "\(run.name)", "mesos.attempt": "\(run.attempt)", "mesos.task_id": "\(cause.name)",
                    "mesos.state": "\(cause.outcome.state)", "mesos.backoff": "\(delay)",
                ]
            )
            run.waiting = true
            run.notBefore = Date() + Self.seconds(delay)
            run.ended = [:]
            run.attempt += 1
            self.groups[id] = run
            self.retryGroupWhenDue(id, notBefore: run.notBefore)
            return
        }
        for (index, handle) in run.handles.enumerated() {
            if let status = statuses[index] {
                handle.finish(
                    .success(TaskOutcome(state: status.state, exitCode: TaskOutcome.exitCode(of: status), status: status, attempts: run.attempt))
                )
            } else {
                handle.finish(.failure(LauncherError("the launcher lost track of \(handle.name), a member of \(run.name)")))
            }
        }
        self.groups[id] = nil
    }

    private func retryGroup(_ id: String) async {
        guard let run = self.groups[id], run.waiting else { return }
        self.groups[id]?.waiting = false
        let failure = self.failure ?? (self.stopping ? LauncherError("the launcher shut down before the group was retried", code: .stopped) : nil)
        if let failure {
            for handle in run.handles { handle.finish(.failure(failure)) }
            self.groups[id] = nil
            return
        }
        do {
            var templates: [TaskInfo] = []
            for member in run.members ?? [] { templates.append(try await self.template(for: member)) }
            if let current = self.groups[id], current.killed {
                // Killed while its artifacts were being registered.
                for handle in run.handles { Self.finishKilled(handle, message: "Killed while waiting to be retried", attempts: run.attempt - 1) }
                self.groups[id] = nil
                return
            }
            self.enqueueGroupAttempt(id, templates: templates)
        } catch {
            let failure = LauncherError("retrying \(run.name) failed", code: (error as? LauncherError)?.code ?? .other, underlying: error)
            for handle in run.handles { handle.finish(.failure(failure)) }
            self.groups[id] = nil
            return
        }
        await self.reviveOrRetry()
    }

    /// Terminal for an attempt: Mesos's terminal states, and TASK_UNKNOWN (the master no longer knows the task).
    static func isTerminal(_ state: TaskState) -> Bool {
        state.isTerminal || state == .taskUnknown
    }

    /// REVIVE when work waits; when the call fails, the launcher stays suppressed as far as it knows and tries again
    /// every second while work waits (a submit never fails because of it: the task is queued).
    private func reviveOrRetry() async {
        do {
            try await self.reviveIfNeeded()
        } catch {
            self.suppressed = true
            self.logger.warning("launcher: REVIVE failed; trying again", metadata: ["mesos.error": "\(error)"])
            guard self.reviveRetry == nil else { return }
            self.reviveRetry = Task {
                try? await Task.sleep(for: .seconds(1))
                await self.retryRevive()
            }
        }
    }

    private func retryRevive() async {
        self.reviveRetry = nil
        await self.reviveOrRetry()
    }

    private func reviveIfNeeded() async throws {
        guard !self.pending.isEmpty, !self.stopping else { return }
        if self.suppressed || self.filteredSinceRevive {
            self.suppressed = false
            self.filteredSinceRevive = false
            try await self.client.revive()
        }
    }

    private func suppressIfIdle() async throws {
        guard self.pending.isEmpty, !self.suppressed else { return }
        self.suppressed = true
        try await self.client.suppress()
    }

    private func ended(_ error: LauncherError) {
        guard self.failure == nil else { return }
        // The file keeps the tasks as they were: a later process reconciles them.
        self.saveIfDue()
        self.savesClosed = true
        self.failure = error
        for task in self.pending { task.handle.finish(.failure(error)) }
        for task in self.active.values { task.handle.finish(.failure(error)) }
        self.pending.removeAll()
        self.active.removeAll()
        self.endWaitingRetries(error)
        for run in self.groups.values {
            for handle in run.handles { handle.finish(.failure(error)) }
        }
        self.groups.removeAll()
    }

    /// Ends the handles of single tasks and groups waiting out a retry backoff.
    private func endWaitingRetries(_ error: LauncherError) {
        for waiting in self.retrying.values { waiting.handle.finish(.failure(error)) }
        self.retrying.removeAll()
        for (id, run) in self.groups where run.waiting {
            for handle in run.handles { handle.finish(.failure(error)) }
            self.groups[id] = nil
        }
    }
}

/// The user running this process, for `FrameworkInfo.user`.
enum ProcessInfoLite {
    static var userName: String {
        if let user = getenv("USER") { return String(cString: user) }
        return "root"
    }
}

#if canImport(Glibc)
import Glibc
#endif
