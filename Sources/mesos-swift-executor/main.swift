// A ready Mesos executor in Swift: runs each task's command as a child process in the sandbox and reports its
// states with the texts of Mesos's command executor. Give it as an ExecutorInfo's command (`shell: false`, value: the
// path of this binary); the agent starts it with the environment ExecutorEnvironment reads.
//
// What a task runs: its `command` when it has one (tasks of a task group), else its `data` as a shell command line
// (a task for a custom executor cannot carry a CommandInfo: the master refuses tasks with both).
//
// Framework messages: bytes the scheduler sends are appended to `messages.in` in the sandbox; every line a task
// appends to `messages.out` there is sent to the scheduler. Tasks find both paths in MESOS_EXECUTOR_MESSAGES_IN/OUT.
//
// Exit status: 0 after SHUTDOWN (or once the agent is gone without checkpointing), 1 when the environment is not an
// executor's, 2 when the agent refuses it or does not come back within the recovery timeout.
import Foundation
import Logging
import Mesos
import MesosExecutor
import MesosProcess
import Synchronization

/// The running tasks: pid, kill state, and what the framework knows.
final class Runner: Sendable {
    struct Running {
        var pid: pid_t
        var killing = false
    }

    let client: ExecutorClient
    let environment: ExecutorEnvironment
    let tasks = Mutex<[String: Running]>([:])
    let killingState = Mutex(false)

    init(client: ExecutorClient) {
        self.client = client
        self.environment = client.environment
    }

    func launch(_ task: TaskInfo) async {
        let id = task.taskID
        try? await self.client.update(id, .taskStarting)
        var command = task.command
        if !task.hasCommand {
            command.shell = true
            command.value = String(decoding: task.data, as: UTF8.self)
        }
        var environment = ProcessInfo.processInfo.environment
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
    func kill(_ id: TaskID, policy: KillPolicy?, grace fallback: Duration = .seconds(3)) async {
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
    func relayMessages() async {
        let path = self.environment.sandbox + "/messages.out"
        var offset: UInt64 = 0
        var pending = Data()
        while !Task.isCancelled {
            if let handle = FileHandle(forReadingAtPath: path) {
                try? handle.seek(toOffset: offset)
                let data = handle.readDataToEndOfFile()
                try? handle.close()
                offset += UInt64(data.count)
                pending.append(data)
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

@main
struct MesosSwiftExecutor {
    static func main() async {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        let environment: ExecutorEnvironment
        do {
            environment = try ExecutorEnvironment.fromProcess()
        } catch {
            FileHandle.standardError.write(Data("mesos-swift-executor: \(error)\n".utf8))
            exit(1)
        }
        let client = ExecutorClient(environment: environment, logger: Logger(label: "mesos.executor"))
        let runner = Runner(client: client)
        let relay = Task { await runner.relayMessages() }
        var code: Int32 = 0
        do {
            for try await event in client.events() {
                switch event {
                case .subscribed(let subscribed):
                    let killing = subscribed.frameworkInfo.capabilities.contains { $0.type == .taskKillingState }
                    runner.killingState.withLock { $0 = killing }
                case .launch(let task):
                    Task { await runner.launch(task) }
                case .launchGroup(let group):
                    for task in group.tasks { Task { await runner.launch(task) } }
                case .kill(let taskID, let policy):
                    Task { await runner.kill(taskID, policy: policy) }
                case .message(let data):
                    if let handle = FileHandle(forWritingAtPath: environment.sandbox + "/messages.in") ?? {
                        FileManager.default.createFile(atPath: environment.sandbox + "/messages.in", contents: nil)
                        return FileHandle(forWritingAtPath: environment.sandbox + "/messages.in")
                    }() {
                        handle.seekToEndOfFile()
                        handle.write(data + Data("\n".utf8))
                        try? handle.close()
                    }
                case .shutdown:
                    let ids = runner.tasks.withLock { Array($0.keys) }
                    await withTaskGroup(of: Void.self) { group in
                        for id in ids {
                            group.addTask { await runner.kill(TaskID(id), policy: nil, grace: environment.shutdownGracePeriod) }
                        }
                    }
                    // Give the terminal updates a moment to be acknowledged.
                    let deadline = ContinuousClock.now + environment.shutdownGracePeriod
                    while client.pendingUpdates > 0, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
                case .error(let message):
                    FileHandle.standardError.write(Data("mesos-swift-executor: the agent says: \(message)\n".utf8))
                case .acknowledged, .heartbeat, .disconnected:
                    break
                }
            }
        } catch let error as ExecutorError {
            FileHandle.standardError.write(Data("mesos-swift-executor: \(error)\n".utf8))
            code = error.code == .agentLost ? 0 : 2
        } catch {
            FileHandle.standardError.write(Data("mesos-swift-executor: \(error)\n".utf8))
            code = 2
        }
        relay.cancel()
        exit(code)
    }
}
