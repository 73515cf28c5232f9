public import Mesos
import FoundationEssentials
import Glibc
import MesosProcess
import Synchronization

/// Runs each task's command as a child process in the sandbox and reports it the way Mesos's command executor does
/// ("Command exited with status N", "Command terminated with signal …"): the heart of `mesos-swift-executor`,
/// usable in an executor of your own.
///
/// What a task runs: its `command` when it has one (tasks of a task group), else its `data` as a shell command
/// line. Kills go to the task's process group: SIGTERM, then SIGKILL once the grace period has passed with the task
/// still running. The grace period is the KILL's policy when it has one, else the task's `kill_policy`, else 3 s, as
/// Mesos's command executor chooses it.
public final class TaskRunner: Sendable {
    struct Running {
        var task: TaskInfo
        /// Nil until the command is started.
        var pid: pid_t?
        /// When the kill under way, if one is, sends SIGKILL.
        var killDeadline: ContinuousClock.Instant?
    }

    struct State {
        var tasks: [String: Running] = [:]
        /// Kills waiting for a task's exit: the task's ID, and what to resume with true when it exits.
        var exitWaiters: [Int: (id: String, waiter: CheckedContinuation<Bool, Never>)] = [:]
        var nextWaiter = 0
    }

    public let client: ExecutorClient
    let environment: ExecutorEnvironment
    let state = Mutex(State())
    let killingState = Mutex(false)

    /// Whether the framework wants TASK_KILLING before TASK_KILLED (its TASK_KILLING_STATE capability): set it
    /// from the SUBSCRIBED event's FrameworkInfo.
    public var sendsKillingState: Bool {
        get { self.killingState.withLock { $0 } }
        set { self.killingState.withLock { $0 = newValue } }
    }

    /// The IDs of the tasks launched and not yet ended (some may not have started their command yet).
    public var running: [String] { self.state.withLock { Array($0.tasks.keys) } }

    public init(client: ExecutorClient) {
        self.client = client
        self.environment = client.environment
    }

    /// Launches the task: TASK_STARTING, TASK_RUNNING, and its terminal state when it exits.
    ///
    /// The task is known to the runner when this returns, so a ``kill(_:policy:grace:)`` made after it finds the
    /// task even while its command is still being started (a task killed before its command starts never starts
    /// it, and ends TASK_KILLED). Call it in the order the LAUNCH and KILL events come.
    ///
    /// - Returns: the work of starting it, done when the task is running or has ended.
    @discardableResult
    public func launch(_ task: TaskInfo) -> Task<Void, Never> {
        let known = self.state.withLock { state in
            if state.tasks[task.taskID.value] != nil { return true }
            state.tasks[task.taskID.value] = Running(task: task)
            return false
        }
        if known {
            // The agent does not launch a task ID twice while the first is alive; nothing to start.
            return Task {}
        }
        return Task { await self.start(task) }
    }

    private func start(_ task: TaskInfo) async {
        let id = task.taskID
        _ = try? await self.client.update(id, .taskStarting)
        var command = task.command
        if !task.hasCommand {
            command.shell = true
            command.value = String(decoding: task.data, as: UTF8.self)
        }
        var environment = ProcessLauncher.currentEnvironment()
        environment["MESOS_TASK_ID"] = id.value
        environment["MESOS_EXECUTOR_MESSAGES_IN"] = self.environment.sandbox + "/messages.in"
        environment["MESOS_EXECUTOR_MESSAGES_OUT"] = self.environment.sandbox + "/messages.out"
        for variable in command.environment.variables { environment[variable.name] = variable.value }
        let argv = command.shell || !command.hasShell ? ["/bin/sh", "-c", command.value] : (command.arguments.isEmpty ? [command.value] : command.arguments)
        // A kill that came while TASK_STARTING was on its way: the command is not started.
        let killedEarly = self.state.withLock { state in
            guard state.tasks[id.value]?.killDeadline != nil else { return false }
            state.tasks[id.value] = nil
            return true
        }
        if killedEarly {
            _ = try? await self.client.update(id, .taskKilled, message: "Task killed before its command was started")
            return
        }
        let pid: pid_t
        do {
            pid = try ProcessLauncher.spawn(
                ProcessLauncher.Spec(
                    executable: command.shell || !command.hasShell ? "/bin/sh" : command.value,
                    argv: argv,
                    environment: environment,
                    directory: self.environment.sandbox,
                    stdoutPath: self.environment.sandbox + "/stdout",
                    stderrPath: self.environment.sandbox + "/stderr"
                )
            )
        } catch {
            self.state.withLock { _ = $0.tasks.removeValue(forKey: id.value) }
            _ = try? await self.client.update(id, .taskFailed, message: "Failed to launch the command: \(error)", reason: .commandExecutorFailed)
            return
        }
        // A kill that came while the command was being started is carried out here, once its pid is known.
        let pendingKill = self.state.withLock { state -> ContinuousClock.Instant? in
            state.tasks[id.value]?.pid = pid
            return state.tasks[id.value]?.killDeadline
        }
        _ = try? await self.client.update(id, .taskRunning)
        ProcessLauncher.watch(pid) { raw in
            Task { await self.exited(id, raw: raw) }
        }
        if let deadline = pendingKill {
            await self.terminate(id, pid: pid, grace: max(.zero, deadline - .now), first: true)
        }
    }

    func exited(_ id: TaskID, raw: Int32) async {
        let (killed, waiters) = self.state.withLock { state in
            let killed = state.tasks.removeValue(forKey: id.value)?.killDeadline != nil
            let tokens = state.exitWaiters.filter { $0.value.id == id.value }.map(\.key)
            return (killed, tokens.compactMap { state.exitWaiters.removeValue(forKey: $0)?.waiter })
        }
        let status = WaitStatus(raw: raw)
        let message = "Command " + status.description
        let state: TaskState = killed ? .taskKilled : (status.succeeded ? .taskFinished : .taskFailed)
        // The terminal update is sent (and kept until acknowledged) before the kills waiting for this exit return.
        _ = try? await self.client.update(id, state, message: message)
        for waiter in waiters { waiter.resume(returning: true) }
    }

    /// Kills the task: SIGTERM to its process group, SIGKILL once the grace period has passed with it still running;
    /// returns when it has exited and its terminal update is sent. The grace period is the KILL's policy when that
    /// has one, else the task's `kill_policy`, else `fallback` (3 s, as Mesos's command executor). A kill of a task
    /// being killed can only bring its SIGKILL closer, never put it off (a KILL sent again, or a SHUTDOWN during a
    /// long kill); a kill of a task this runner does not run is ignored.
    public func kill(_ id: TaskID, policy: KillPolicy?, grace fallback: Duration = .seconds(3)) async {
        await self.kill(id) { task in task.killGracePeriod(override: policy, fallback: fallback) }
    }

    /// Kills every task with the same grace period (an executor's SHUTDOWN) and returns when each has exited and its
    /// terminal update is sent.
    public func killAll(grace: Duration) async {
        let ids = self.running
        await withTaskGroup(of: Void.self) { group in
            for id in ids {
                group.addTask { await self.kill(TaskID(id)) { _ in max(.zero, grace) } }
            }
        }
    }

    /// Kills the task with the grace period `grace` gives for it (see ``kill(_:policy:grace:)``).
    private func kill(_ id: TaskID, grace: (TaskInfo) -> Duration) async {
        enum Start { case none, deferred, signal(pid_t, Duration, first: Bool) }
        let start = self.state.withLock { state -> Start in
            guard var running = state.tasks[id.value] else { return .none }
            let grace = grace(running.task)
            let deadline = ContinuousClock.now + grace
            let first = running.killDeadline == nil
            if let earlier = running.killDeadline, earlier <= deadline { return .none }
            running.killDeadline = deadline
            state.tasks[id.value] = running
            guard let pid = running.pid else { return .deferred }  // its start carries the kill out
            return .signal(pid, grace, first: first)
        }
        guard case .signal(let pid, let grace, let first) = start else { return }
        await self.terminate(id, pid: pid, grace: grace, first: first)
    }

    /// SIGTERM (on a task's first kill), then SIGKILL unless it exits within `grace`; returns once it has exited
    /// and its terminal update is sent (or, should a killed process not go, 10 s after the SIGKILL).
    private func terminate(_ id: TaskID, pid: pid_t, grace: Duration, first: Bool) async {
        if first {
            if self.killingState.withLock({ $0 }) { _ = try? await self.client.update(id, .taskKilling) }
            ProcessLauncher.signalGroup(pid, SIGTERM)
        }
        if await self.exit(of: id.value, within: grace) { return }
        guard self.state.withLock({ $0.tasks[id.value]?.pid == pid }) else { return }
        ProcessLauncher.signalGroup(pid, SIGKILL)
        _ = await self.exit(of: id.value, within: .seconds(10))
    }

    /// Waits until the task has exited (true) or `grace` has passed (false).
    private func exit(of id: String, within grace: Duration) async -> Bool {
        await withCheckedContinuation { (waiter: CheckedContinuation<Bool, Never>) in
            let token = self.state.withLock { state -> Int? in
                guard state.tasks[id] != nil else { return nil }
                state.nextWaiter += 1
                state.exitWaiters[state.nextWaiter] = (id, waiter)
                return state.nextWaiter
            }
            guard let token else { return waiter.resume(returning: true) }
            Task {
                try? await Task.sleep(for: grace)
                self.state.withLock { $0.exitWaiters.removeValue(forKey: token) }?.waiter.resume(returning: false)
            }
        }
    }

    /// Sends what tasks append to `messages.out`, line by line.
    public func relayMessages() async {
        let path = self.environment.sandbox + "/messages.out"
        var offset: UInt64 = 0
        var pending = Data()
        while !Task.isCancelled {
            if let contents = FileManager.default.contents(atPath: path), UInt64(contents.count) > offset {
                let data = contents.dropFirst(Int(offset))
                offset = UInt64(contents.count)
                pending.append(contentsOf: data)
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = pending[pending.startIndex..<newline]
                    pending = Data(pending[pending.index(after: newline)...])
                    try? await self.client.message(Data(line))
                }
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }
}

