import MesosProcess
import Dispatch
import FoundationEssentials
import Glibc
import Logging
import Mesos

// The two executors the real agent ships, built in: the command executor (`src/launcher/executor.cpp`) for a task
// with a command and no executor, and the default executor (`src/launcher/default_executor.cpp`) for task groups.
extension AgentCore {
    // MARK: Command executor

    func launchCommandTask(_ task: TaskInfo, framework: FrameworkRecord) {
        let executorID = task.taskID.value
        if let existing = framework.executors[executorID], existing.phase != .terminated {
            self.logger.warning("ignoring a task whose ID is already in use", metadata: ["mesos.task_id": "\(executorID)"])
            return
        }
        let info = self.commandExecutorInfo(for: task, framework: framework.id)
        let containerID = Self.newContainerID()
        guard let directory = self.makeSandbox(framework: framework.id, executor: info.executorID, container: containerID)
        else {
            let executor = ExecutorRecord(kind: .command, info: info, frameworkID: framework.id, containerID: containerID, directory: "")
            var status = self.agentStatus(task.taskID, executor: executor, state: .taskFailed)
            status.reason = .containerLaunchFailed
            status.message = "Failed to launch container: Failed to create the sandbox directory"
            self.enqueue(status, framework: framework, executor: executor)
            return
        }
        let executor = ExecutorRecord(kind: .command, info: info, frameworkID: framework.id, containerID: containerID, directory: directory)
        executor.add(TaskRecord(info: task, directory: directory, containerID: containerID))
        framework.executors[executorID] = executor
        if let failure = self.linkPersistentVolumes(info.resources + task.resources, into: directory) {
            self.containerLaunchFailed(executor, framework: framework, message: failure)
            return
        }
        self.fetch(task.command.uris, into: directory, containerID: containerID) { failure in
            guard executor.phase == .launching else { return }
            if let failure {
                self.containerLaunchFailed(executor, framework: framework, message: failure)
            } else {
                self.startCommandExecutor(executor, framework: framework)
            }
        }
    }

    /// The fetch (or the launch) failed: every task fails with REASON_CONTAINER_LAUNCH_FAILED, source the agent.
    func containerLaunchFailed(_ executor: ExecutorRecord, framework: FrameworkRecord, message: String) {
        executor.pendingTermination = PendingTermination(
            state: .taskFailed,
            reason: .containerLaunchFailed,
            message: "Failed to launch container: " + message
        )
        self.executorTerminated(executor, framework: framework, status: nil)
    }

    private func startCommandExecutor(_ executor: ExecutorRecord, framework: FrameworkRecord) {
        guard let task = executor.orderedTasks.first else { return }
        executor.phase = .running
        let log = executor.directory + "/stderr"
        SandboxLog.append(
            log,
            source: "executor.cpp:190",
            "Received SUBSCRIBED event"
        )
        SandboxLog.append(log, source: "executor.cpp:194", "Subscribed executor on \(self.configuration.hostname)")
        SandboxLog.append(log, source: "executor.cpp:190", "Received LAUNCH event")
        SandboxLog.append(log, source: "executor.cpp:722", "Starting task \(task.info.taskID.value)")

        var environment = self.executorEnvironment(executor, framework: framework)
        Self.apply(task.info.command.environment, to: &environment)
        if let role = task.info.resources.first(where: { $0.hasAllocationInfo })?.allocationInfo.role {
            environment["MESOS_ALLOCATION_ROLE"] = role
        }
        let (executable, argv) = Self.processSpec(for: task.info.command)

        self.sendExecutorUpdate(task, executor: executor, framework: framework, state: .taskStarting)
        do {
            let pid = try self.startProcess(
                executable: executable,
                argv: argv,
                environment: environment,
                directory: executor.directory
            ) { pid, status in
                self.commandTaskExited(task, executor: executor, framework: framework, pid: pid, status: status)
            }
            task.pid = pid
            SandboxLog.append(log, source: "executor.cpp:740", "Forked command at \(pid)")
            self.armCompletionTimer(task, executor: executor, framework: framework)
            self.sendExecutorUpdate(task, executor: executor, framework: framework, state: .taskRunning)
            self.armHealthCheck(task, executor: executor, framework: framework, environment: environment)
        } catch {
            // What mesos-containerizer's exec failure looks like to the command executor: the child exits 1.
            SandboxLog.appendRaw(log, error.message + "\n")
            self.sendExecutorUpdate(task, executor: executor, framework: framework, state: .taskRunning)
            self.commandTaskExited(task, executor: executor, framework: framework, pid: 0, status: 1 << 8)
        }
    }

    private func commandTaskExited(
        _ task: TaskRecord,
        executor: ExecutorRecord,
        framework: FrameworkRecord,
        pid: pid_t,
        status raw: Int32
    ) {
        guard !task.exited else { return }
        task.exited = true
        task.escalation += 1
        let status = WaitStatus(raw: raw)
        let (state, reason) = Self.terminalState(task, status)
        let message = "Command " + status.description
        SandboxLog.append(executor.directory + "/stderr", source: "executor.cpp:1041", "\(message) (pid: \(pid))")
        self.sendExecutorUpdate(task, executor: executor, framework: framework, state: state, message: message, reason: reason)
        // mesos-executor exits (status 0) once its task is terminal.
        self.executorTerminated(executor, framework: framework, status: 0)
    }

    /// The state both built-in executors report when a task's process ends: a task killed for exceeding its
    /// `max_completion_time` failed (REASON_MAX_COMPLETION_TIME_REACHED), a killed one was killed whatever its exit
    /// code, else exit 0 is TASK_FINISHED and anything else TASK_FAILED.
    static func terminalState(_ task: TaskRecord, _ status: WaitStatus) -> (TaskState, TaskStatus.Reason?) {
        if task.killedByCompletionTimeout { return (.taskFailed, .maxCompletionTimeReached) }
        if task.killing { return (.taskKilled, nil) }
        return (status.succeeded ? .taskFinished : .taskFailed, nil)
    }

    /// `max_completion_time`: the task is killed at once (no grace period) when it runs longer.
    func armCompletionTimer(_ task: TaskRecord, executor: ExecutorRecord, framework: FrameworkRecord) {
        guard task.info.hasMaxCompletionTime, task.info.maxCompletionTime.nanoseconds > 0 else { return }
        let limit = Duration.nanoseconds(task.info.maxCompletionTime.nanoseconds)
        let log = task.directory + "/stderr"
        SandboxLog.append(
            log,
            source: "executor.cpp:711",
            "Task \(task.info.taskID.value) has a max completion time of \(StoutDuration.format(limit))"
        )
        self.after(limit) {
            guard !task.exited, !task.killing, executor.phase != .terminated else { return }
            SandboxLog.append(
                log,
                source: "executor.cpp:1113",
                "Killing task \(task.info.taskID.value) which exceeded its maximum completion time of \(StoutDuration.format(limit))"
            )
            task.killedByCompletionTimeout = true
            // No TASK_KILLING: Mesos's executors send it only for kills asked for (`!killedByMaxCompletionTimer`).
            self.killTaskProcess(task, executor: executor, framework: framework, gracePeriod: .zero, sendKilling: false)
        }
    }

    /// An update from a built-in executor: source SOURCE_EXECUTOR, its executor ID, the task's container.
    func sendExecutorUpdate(
        _ task: TaskRecord,
        executor: ExecutorRecord,
        framework: FrameworkRecord,
        state: TaskState,
        message: String? = nil,
        reason: TaskStatus.Reason? = nil,
        healthy: Bool? = nil,
        checkStatus: Mesos_V1_CheckStatusInfo? = nil
    ) {
        var status = TaskStatus()
        status.taskID = task.info.taskID
        status.state = state
        status.source = .executor
        status.agentID = self.agentID
        status.executorID = executor.id
        status.timestamp = AgentClock.now()
        status.uuid = Data(AgentUUID.random())
        if let message { status.message = message }
        if let reason { status.reason = reason }
        // A task its health check killed says so in its terminal update, as Mesos's executors set it.
        if let healthy {
            status.healthy = healthy
        } else if state.isTerminal, task.health?.killedByHealthCheck == true {
            status.healthy = false
        }
        // A task with a check: every update carries a check status, empty in a new one; a health update, made from
        // the task's latest update in Mesos, carries the latest result.
        if let checkStatus {
            status.checkStatus = checkStatus
        } else if task.info.hasCheck {
            status.checkStatus =
                reason == .taskHealthCheckStatusUpdated
                ? (task.checkStatus ?? Self.emptyCheckStatus(task.info.check)) : Self.emptyCheckStatus(task.info.check)
        }
        switch executor.kind {
        case .builtinDefault:
            // As recorded: STARTING without a pid, RUNNING with the task's own (its nested container's: each task of
            // a group a different one), terminal updates without networks.
            status.containerStatus = self.containerStatus(
                task.containerID,
                networkInfo: !state.isTerminal,
                executorPID: state == .taskRunning || state == .taskKilling ? (task.pid ?? getpid()) : nil
            )
        default:
            // As recorded: the command executor's pid, the same on every update of the task. Here the executor is
            // the agent's own process.
            status.containerStatus = self.containerStatus(task.containerID, executorPID: getpid())
        }
        self.enqueue(status, framework: framework, executor: executor)
    }

    // MARK: Default executor

    func launchDefaultGroup(_ tasks: [TaskInfo], executor info: ExecutorInfo, framework: FrameworkRecord) {
        let executor: ExecutorRecord
        if let existing = framework.executors[info.executorID.value], existing.phase != .terminated {
            guard existing.kind == .builtinDefault, existing.phase == .launching || existing.phase == .running else {
                for task in tasks {
                    var status = self.agentStatus(task.taskID, executor: existing, state: self.lostState(framework))
                    status.reason = .executorTerminated
                    status.message = "Executor terminating"
                    self.enqueue(status, framework: framework, executor: existing)
                }
                return
            }
            executor = existing
        } else {
            let containerID = Self.newContainerID()
            guard let directory = self.makeSandbox(framework: framework.id, executor: info.executorID, container: containerID)
            else { return }
            executor = ExecutorRecord(kind: .builtinDefault, info: info, frameworkID: framework.id, containerID: containerID, directory: directory)
            framework.executors[info.executorID.value] = executor
            SandboxLog.append(directory + "/stderr", source: "default_executor.cpp:204", "Received SUBSCRIBED event")
            self.fetch(info.command.uris, into: directory, containerID: containerID) { failure in
                guard executor.phase == .launching else { return }
                if let failure {
                    self.containerLaunchFailed(executor, framework: framework, message: failure)
                    return
                }
                executor.phase = .running
                let queued = executor.queued
                executor.queued.removeAll()
                for entry in queued { self.startGroup(entry.tasks, executor: executor, framework: framework) }
            }
        }
        if executor.phase == .launching {
            executor.queued.append((tasks, true))
        } else {
            self.startGroup(tasks, executor: executor, framework: framework)
        }
    }

    func lostState(_ framework: FrameworkRecord) -> TaskState {
        framework.hasCapability(.partitionAware) ? .taskDropped : .taskLost
    }

    private func startGroup(_ tasks: [TaskInfo], executor: ExecutorRecord, framework: FrameworkRecord) {
        // The executor's container holds the group's resources: their persistent volumes are linked into the
        // executor's sandbox (nested containers reach them through the parent's sandbox, as in Mesos).
        if let failure = self.linkPersistentVolumes(executor.info.resources + tasks.flatMap(\.resources), into: executor.directory) {
            for info in tasks {
                var status = self.agentStatus(info.taskID, executor: executor, state: .taskFailed)
                status.reason = .containerLaunchFailed
                status.message = "Failed to launch container: " + failure
                self.enqueue(status, framework: framework, executor: executor)
            }
            return
        }
        let group = executor.nextGroup
        executor.nextGroup += 1
        SandboxLog.append(executor.directory + "/stderr", source: "default_executor.cpp:204", "Received LAUNCH_GROUP event")
        var records: [TaskRecord] = []
        for info in tasks {
            // As the default executor lays it out: the task's sandbox is its nested container's,
            // `containers/<container ID>`, reachable as `tasks/<task ID>` through a symlink.
            let containerID = Self.newContainerID(parent: executor.containerID)
            let directory = executor.directory + "/containers/" + containerID.value
            _ = Fetcher.makeDirectories(directory)
            _ = Fetcher.makeDirectories(executor.directory + "/tasks")
            symlink(directory, executor.directory + "/tasks/" + info.taskID.value)
            let record = TaskRecord(info: info, directory: directory, containerID: containerID, group: group)
            executor.add(record)
            records.append(record)
        }
        for record in records {
            self.sendExecutorUpdate(record, executor: executor, framework: framework, state: .taskStarting)
        }
        for record in records {
            self.fetch(record.info.command.uris, into: record.directory, containerID: record.containerID) { failure in
                self.startGroupTask(record, executor: executor, framework: framework, fetchFailure: failure)
            }
        }
    }

    private func startGroupTask(_ task: TaskRecord, executor: ExecutorRecord, framework: FrameworkRecord, fetchFailure: String?) {
        guard !task.exited, executor.phase != .terminated else { return }
        if task.killing {
            task.exited = true
            self.sendExecutorUpdate(task, executor: executor, framework: framework, state: .taskKilled,
                message: "Command terminated with signal Killed")
            self.defaultTaskDone(task, state: .taskKilled, executor: executor, framework: framework)
            return
        }
        if let fetchFailure {
            task.exited = true
            self.sendExecutorUpdate(task, executor: executor, framework: framework, state: .taskFailed,
                message: "Failed to launch container: " + fetchFailure, reason: .containerLaunchFailed)
            self.defaultTaskDone(task, state: .taskFailed, executor: executor, framework: framework)
            return
        }
        var environment = Self.processEnvironment()
        environment["MESOS_SANDBOX"] = task.directory
        environment["MESOS_CONTAINER_IP"] = self.advertisedHost
        if let role = task.info.resources.first(where: { $0.hasAllocationInfo })?.allocationInfo.role {
            environment["MESOS_ALLOCATION_ROLE"] = role
        }
        Self.apply(task.info.command.environment, to: &environment)
        let (executable, argv) = Self.processSpec(for: task.info.command)
        do {
            task.pid = try self.startProcess(
                executable: executable,
                argv: argv,
                environment: environment,
                directory: task.directory
            ) { pid, status in
                self.defaultTaskExited(task, executor: executor, framework: framework, pid: pid, status: status)
            }
            self.sendExecutorUpdate(task, executor: executor, framework: framework, state: .taskRunning)
            self.armCompletionTimer(task, executor: executor, framework: framework)
            self.armHealthCheck(task, executor: executor, framework: framework, environment: environment)
        } catch {
            SandboxLog.appendRaw(task.directory + "/stderr", error.message + "\n")
            task.exited = true
            self.sendExecutorUpdate(task, executor: executor, framework: framework, state: .taskFailed,
                message: "Command exited with status 1")
            self.defaultTaskDone(task, state: .taskFailed, executor: executor, framework: framework)
        }
    }

    private func defaultTaskExited(_ task: TaskRecord, executor: ExecutorRecord, framework: FrameworkRecord, pid: pid_t, status raw: Int32) {
        guard !task.exited else { return }
        task.exited = true
        task.escalation += 1
        let status = WaitStatus(raw: raw)
        let (state, reason) = Self.terminalState(task, status)
        let message = "Command " + status.description
        self.sendExecutorUpdate(task, executor: executor, framework: framework, state: state, message: message, reason: reason)
        SandboxLog.append(
            executor.directory + "/stderr",
            source: "default_executor.cpp:972",
            "Child container \(task.containerID.value) of task '\(task.info.taskID.value)' completed in state \(Self.stateName(state)): \(message)"
        )
        self.defaultTaskDone(task, state: state, executor: executor, framework: framework)
    }

    /// The default executor's restart policy: a task that fails or is killed takes its whole group down; the
    /// executor exits when no task is left.
    private func defaultTaskDone(_ task: TaskRecord, state: TaskState, executor: ExecutorRecord, framework: FrameworkRecord) {
        if !executor.shuttingDown, let group = task.group, !executor.killingGroups.contains(group),
            state == .taskFailed || state == .taskKilled
        {
            executor.killingGroups.insert(group)
            for other in executor.orderedTasks where other.group == group && other !== task && !other.exited && !other.killing {
                self.killTaskProcess(other, executor: executor, framework: framework, gracePeriod: .seconds(3))
            }
        }
        if executor.tasks.values.allSatisfy(\.exited) && executor.queued.isEmpty {
            SandboxLog.append(executor.directory + "/stderr", source: "default_executor.cpp:1067", "Terminating after 1secs")
            self.executorTerminated(executor, framework: framework, status: 0)
        }
    }

    /// The default executor's `killTask`: a KILL while it shuts down, or for a task already being killed, is ignored
    /// (it does not shorten the grace period, unlike the command executor).
    func killDefaultExecutorTask(_ task: TaskRecord, executor: ExecutorRecord, framework: FrameworkRecord, killPolicy: KillPolicy?) {
        guard !task.exited, !executor.shuttingDown, !task.killing else { return }
        let grace = task.info.killGracePeriod(override: killPolicy)
        self.killTaskProcess(task, executor: executor, framework: framework, gracePeriod: grace)
    }

    static func stateName(_ state: TaskState) -> String {
        switch state {
        case .taskStaging: "TASK_STAGING"
        case .taskStarting: "TASK_STARTING"
        case .taskRunning: "TASK_RUNNING"
        case .taskKilling: "TASK_KILLING"
        case .taskFinished: "TASK_FINISHED"
        case .taskFailed: "TASK_FAILED"
        case .taskKilled: "TASK_KILLED"
        case .taskError: "TASK_ERROR"
        case .taskLost: "TASK_LOST"
        case .taskDropped: "TASK_DROPPED"
        case .taskUnreachable: "TASK_UNREACHABLE"
        case .taskGone: "TASK_GONE"
        case .taskGoneByOperator: "TASK_GONE_BY_OPERATOR"
        case .taskUnknown: "TASK_UNKNOWN"
        }
    }
}
