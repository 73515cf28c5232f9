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
/// line. Kills go to the task's process group: SIGTERM, the grace period (the KILL's policy, else 3 s), SIGKILL.
public final class TaskRunner: Sendable {
    struct Running {
        var pid: pid_t
        var killing = false
    }

    public let client: ExecutorClient
    let environment: ExecutorEnvironment
    let tasks = Mutex<[String: Running]>([:])
    let killingState = Mutex(false)

    /// Whether the framework wants TASK_KILLING before TASK_KILLED (its TASK_KILLING_STATE capability): set it
    /// from the SUBSCRIBED event's FrameworkInfo.
    public var sendsKillingState: Bool {
        get { self.killingState.withLock { $0 } }
        set { self.killingState.withLock { $0 = newValue } }
    }

    /// The IDs of the tasks running now.
    public var running: [String] { self.tasks.withLock { Array($0.keys) } }

    public init(client: ExecutorClient) {
        self.client = client
        self.environment = client.environment
    }

    /// Starts the task: TASK_STARTING, TASK_RUNNING, and its terminal state when it exits.
    public func launch(_ task: TaskInfo) async {
        let id = task.taskID
        try? await self.client.update(id, .taskStarting)
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
            _ = try? await self.client.update(id, .taskFailed, message: "Failed to launch the command: \(error)", reason: .commandExecutorFailed)
            return
        }
        self.tasks.withLock { $0[id.value] = Running(pid: pid) }
        try? await self.client.update(id, .taskRunning)
        ProcessLauncher.watch(pid) { raw in
            Task { await self.exited(id, raw: raw) }
        }
    }

    func exited(_ id: TaskID, raw: Int32) async {
        let killed = self.tasks.withLock { $0.removeValue(forKey: id.value)?.killing ?? false }
        let status = WaitStatus(raw: raw)
        let message = "Command " + status.description
        let state: TaskState = killed ? .taskKilled : (status.succeeded ? .taskFinished : .taskFailed)
        try? await self.client.update(id, state, message: message)
    }

    /// SIGTERM to the task's process group, SIGKILL after the grace period (the KILL's policy, else the task's, else 3 s).
    public func kill(_ id: TaskID, policy: KillPolicy?, grace fallback: Duration = .seconds(3)) async {
        guard let pid = self.tasks.withLock({ tasks -> pid_t? in
            guard tasks[id.value] != nil, !(tasks[id.value]?.killing ?? true) else { return nil }
            tasks[id.value]?.killing = true
            return tasks[id.value]?.pid
        }) else { return }
        if self.killingState.withLock({ $0 }) { try? await self.client.update(id, .taskKilling) }
        let grace = policy.map { Duration.nanoseconds($0.gracePeriod.nanoseconds) } ?? fallback
        ProcessLauncher.signalGroup(pid, SIGTERM)
        try? await Task.sleep(for: grace)
        if self.tasks.withLock({ $0[id.value]?.pid == pid }) { ProcessLauncher.signalGroup(pid, SIGKILL) }
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

