import MesosProcess
import Dispatch
import FoundationEssentials
import Glibc
import Logging
import Mesos
import MesosCodecs
import NIOCore
import NIOSSL
import Synchronization

/// The agent's machinery, run like a libprocess actor: every piece of mutable state below is touched only on
/// `queue`, a serial dispatch queue (that confinement is the invariant behind `@unchecked Sendable`). Public calls,
/// HTTP requests, process exits, fetch results and timers all arrive as blocks on that queue. A child's exit is
/// awaited on a thread of its own, without reaping it; it is reaped on the queue (`ProcessLauncher.watch`), so
/// every signal the queue sends goes to a live process or a zombie, never to a recycled pid. Fetches run as tasks
/// off the queue.
final class AgentCore: @unchecked Sendable {
    let queue = DispatchQueue(label: "mesos.local.agent")
    let configuration: LocalAgentConfiguration
    let delegate: any LocalAgentDelegate
    let logger: Logger
    let fetcher: Fetcher

    struct Published: Sendable {
        var info: AgentInfo
        var endpoint: String
        var port: Int
        /// HEARTBEAT calls received, by the executor ID they name.
        var executorHeartbeats: [String: Int] = [:]
    }
    /// What readers outside the queue may see without waiting for it.
    let published: Mutex<Published>

    // Queue-confined state.
    var frameworks: [String: FrameworkRecord] = [:]
    var streams: [StreamKey: UpdateStream] = [:]
    var stopping = false
    var serverChannel: (any Channel)?
    /// The executors' domain socket, when configured.
    var socketChannel: (any Channel)?
    /// Made once at start from ``LocalAgentConfiguration/tls``.
    var tlsContext: NIOSSLContext?
    var fetches: [UUID: Task<Void, Never>] = [:]
    let startTime = AgentClock.now()

    init(configuration: LocalAgentConfiguration, delegate: any LocalAgentDelegate, logger: Logger) {
        self.configuration = configuration
        self.delegate = delegate
        var logger = logger
        logger[metadataKey: "mesos.agent_id"] = "\(configuration.id.value)"
        self.logger = logger
        self.fetcher = Fetcher(cacheDirectory: configuration.workDirectory + "/fetch", logger: logger)
        var info = AgentInfo()
        info.id = configuration.id
        info.hostname = configuration.hostname
        info.port = Int32(configuration.port)
        info.resources = configuration.resources
        info.attributes = configuration.attributes
        if let domain = configuration.domain { info.domain = domain }
        self.published = Mutex(Published(info: info, endpoint: "", port: configuration.port))
    }

    var agentInfo: AgentInfo { self.published.withLock { $0.info } }
    var agentID: AgentID { self.configuration.id }

    /// `host:port` of the endpoint, as `MESOS_AGENT_ENDPOINT`.
    var endpointAddress: String {
        let port = self.published.withLock { $0.port }
        return "\(self.advertisedHost):\(port)"
    }

    var advertisedHost: String {
        let host = self.configuration.bindHost
        return host == "0.0.0.0" || host == "::" ? self.configuration.hostname : host
    }

    /// `<work>/slaves/<agentID>`.
    var agentDirectory: String { self.configuration.workDirectory + "/slaves/" + self.configuration.id.value }

    // MARK: Lifecycle

    func start() async throws(LocalAgentError) {
        guard Fetcher.makeDirectories(self.agentDirectory) else {
            throw LocalAgentError(
                code: .sandbox,
                message: "Failed to create the agent's work directory '\(self.agentDirectory)': \(Fetcher.lastError())"
            )
        }
        var tlsContext: NIOSSLContext?
        if let tls = self.configuration.tls {
            do {
                tlsContext = try tls.makeServerContext()
            } catch {
                throw LocalAgentError(code: .bindFailed, message: "Failed to set up TLS: \(error)", underlying: error)
            }
        }
        let channel = try await AgentHTTPServer.bind(
            host: self.configuration.bindHost,
            port: self.configuration.port,
            tls: tlsContext,
            router: self
        )
        var socketChannel: (any Channel)?
        if let path = self.configuration.domainSocketPath {
            do {
                socketChannel = try await AgentHTTPServer.bindExecutorSocket(path: path, router: self)
            } catch {
                try? await channel.close()
                throw error
            }
        }
        let port = channel.localAddress?.port ?? self.configuration.port
        let scheme = tlsContext == nil ? "http" : "https"
        self.published.withLock {
            $0.port = port
            $0.info.port = Int32(port)
            let host = self.advertisedHost
            $0.endpoint = "\(scheme)://\(host.contains(":") ? "[\(host)]" : host):\(port)"
        }
        let (context, socket) = (tlsContext, socketChannel)
        await withCheckedContinuation { continuation in
            self.queue.async {
                self.serverChannel = channel
                self.socketChannel = socket
                self.tlsContext = context
                continuation.resume()
            }
        }
        self.logger.debug("agent started", metadata: ["mesos.endpoint": "\(self.published.withLock { $0.endpoint })"])
    }

    func stop() async {
        let grace = self.configuration.stopGracePeriod
        await self.onQueue {
            self.stopping = true
            for task in self.fetches.values { task.cancel() }
            for pid in self.livePIDs() { ProcessLauncher.signalGroup(pid, SIGTERM) }
        }
        let clock = ContinuousClock()
        let deadline = clock.now + grace
        while clock.now < deadline, await self.onQueue({ !self.livePIDs().isEmpty }) {
            try? await Task.sleep(for: .milliseconds(20))
        }
        await self.onQueue {
            for pid in self.livePIDs() { ProcessLauncher.signalGroup(pid, SIGKILL) }
        }
        let killDeadline = clock.now + .seconds(5)
        while clock.now < killDeadline, await self.onQueue({ !self.livePIDs().isEmpty }) {
            try? await Task.sleep(for: .milliseconds(20))
        }
        let channels = await self.onQueue { () -> [any Channel] in
            let channels = [self.serverChannel, self.socketChannel].compactMap { $0 }
            self.serverChannel = nil
            self.socketChannel = nil
            for framework in self.frameworks.values {
                for executor in framework.executors.values {
                    executor.subscriber?.finish()
                    executor.subscriber = nil
                }
            }
            self.streams.removeAll()
            return channels
        }
        for channel in channels { try? await channel.close() }
        if let path = self.configuration.domainSocketPath, !channels.isEmpty { unlink(path) }
        self.fetcher.shutdown()
    }

    /// What a restarting agent looks like to its executors: the endpoint closes (every executor's stream ends, new
    /// connections are refused) for `downtime`, then listens again on the same port. Processes keep running, as
    /// with checkpointed recovery; executors of frameworks that do not checkpoint are shut down, as the real agent
    /// does when their connection drops.
    func restartEndpoint(downtime: Duration) async throws(LocalAgentError) {
        let (channels, tls) = await self.onQueue { () -> ([any Channel], NIOSSLContext?) in
            let channels = [self.serverChannel, self.socketChannel].compactMap { $0 }
            self.serverChannel = nil
            self.socketChannel = nil
            for framework in self.frameworks.values {
                for executor in framework.executors.values { executor.subscriber?.finish() }
            }
            return (channels, self.tlsContext)
        }
        for channel in channels { try? await channel.close() }
        if let path = self.configuration.domainSocketPath { unlink(path) }
        try? await Task.sleep(for: downtime)
        let port = self.published.withLock { $0.port }
        let reopened = try await AgentHTTPServer.bind(host: self.configuration.bindHost, port: port, tls: tls, router: self)
        var socket: (any Channel)?
        if let path = self.configuration.domainSocketPath {
            socket = try await AgentHTTPServer.bindExecutorSocket(path: path, router: self)
        }
        let reopenedSocket = socket
        await self.onQueue {
            self.serverChannel = reopened
            self.socketChannel = reopenedSocket
        }
    }

    func onQueue<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            self.queue.async { continuation.resume(returning: body()) }
        }
    }

    /// Every process the agent still waits for: task processes and executor processes.
    func livePIDs() -> [pid_t] {
        var pids: [pid_t] = []
        for framework in self.frameworks.values {
            for executor in framework.executors.values {
                if let pid = executor.pid, executor.phase != .terminated { pids.append(pid) }
                for task in executor.tasks.values where !task.exited {
                    if let pid = task.pid { pids.append(pid) }
                }
            }
        }
        return pids
    }

    func after(_ delay: Duration, _ body: @escaping @Sendable () -> Void) {
        let nanoseconds = max(0, delay.nanoseconds)
        self.queue.asyncAfter(deadline: .now() + .nanoseconds(Int(clamping: nanoseconds)), execute: body)
    }

    // MARK: Launching

    func launch(framework frameworkInfo: FrameworkInfo, executor: ExecutorInfo?, tasks: [TaskInfo], asGroup: Bool) {
        guard !self.stopping, !tasks.isEmpty else { return }
        let framework: FrameworkRecord
        if let existing = self.frameworks[frameworkInfo.id.value] {
            framework = existing
            framework.info = frameworkInfo
            if framework.terminating {
                self.logger.warning(
                    "ignoring a launch for a terminating framework",
                    metadata: ["mesos.framework_id": "\(frameworkInfo.id.value)"]
                )
                return
            }
        } else {
            framework = FrameworkRecord(info: frameworkInfo)
            self.frameworks[frameworkInfo.id.value] = framework
        }
        // IDs become directory names: refuse what could leave the sandbox tree (the master validates this too).
        let ids = tasks.map(\.taskID.value) + (executor.map { [$0.executorID.value] } ?? [])
        if let bad = ids.first(where: { !Self.isValidPathComponent($0) }) {
            for task in tasks {
                var status = TaskStatus()
                status.taskID = task.taskID
                status.state = .taskFailed
                status.source = .agent
                status.reason = .containerLaunchFailed
                status.message = "Failed to launch container: '\(bad)' cannot name a sandbox directory"
                status.agentID = self.agentID
                if let executor { status.executorID = executor.executorID } else { status.executorID = ExecutorID(task.taskID.value) }
                status.timestamp = AgentClock.now()
                status.uuid = Data(AgentUUID.random())
                self.enqueue(status, framework: framework, executor: nil)
            }
            return
        }
        guard let executor else {
            for task in tasks { self.launchCommandTask(task, framework: framework) }
            return
        }
        var executorInfo = executor
        if !executorInfo.hasFrameworkID { executorInfo.frameworkID = framework.id }
        if asGroup && (executorInfo.type == .default || !executorInfo.hasCommand) {
            self.launchDefaultGroup(tasks, executor: executorInfo, framework: framework)
        } else {
            self.launchOnCustomExecutor(tasks, asGroup: asGroup, executor: executorInfo, framework: framework)
        }
    }

    /// Makes `<agent>/frameworks/<fw>/executors/<ex>/runs/<container>` and points `runs/latest` at it.
    func makeSandbox(framework: FrameworkID, executor: ExecutorID, container: ContainerID) -> String? {
        let runs = self.agentDirectory + "/frameworks/" + framework.value + "/executors/" + executor.value + "/runs"
        let directory = runs + "/" + container.value
        guard Fetcher.makeDirectories(directory) else {
            self.logger.error("cannot create a sandbox", metadata: ["mesos.directory": "\(directory)"])
            return nil
        }
        let latest = runs + "/latest"
        unlink(latest)
        symlink(container.value, latest)
        return directory
    }

    static func isValidPathComponent(_ value: String) -> Bool {
        !value.isEmpty && value != "." && value != ".." && !value.contains("/") && !value.contains("\0")
    }

    static func newContainerID(parent: ContainerID? = nil) -> ContainerID {
        ContainerID(AgentUUID.string(AgentUUID.random()), parent: parent)
    }

    /// The `ExecutorInfo` the real agent makes for a command task (`Slave::getExecutorInfo`).
    func commandExecutorInfo(for task: TaskInfo, framework: FrameworkID) -> ExecutorInfo {
        var info = ExecutorInfo()
        info.type = .default
        info.executorID = ExecutorID(task.taskID.value)
        info.frameworkID = framework
        var name = "(Task: \(task.taskID.value)) "
        let command = task.command
        if command.shell {
            if !command.hasValue {
                name += "(Command: NO COMMAND)"
            } else if command.value.count > 15 {
                name += "(Command: sh -c '\(command.value.prefix(12))...')"
            } else {
                name += "(Command: sh -c '\(command.value)')"
            }
        } else if !command.hasValue {
            name += "(Command: NO EXECUTABLE)"
        } else {
            let arguments = command.value + ", " + command.arguments.joined(separator: ", ")
            name += arguments.count > 15 ? "(Command: [\(arguments.prefix(12))...])" : "(Command: [\(arguments)])"
        }
        info.name = "Command Executor " + name
        info.source = task.taskID.value
        var executorCommand = CommandInfo()
        executorCommand.uris = command.uris
        if command.hasEnvironment { executorCommand.environment = command.environment }
        executorCommand.shell = false
        executorCommand.value = "mesos-executor"
        executorCommand.arguments = ["mesos-executor", "--launcher_dir=/usr/libexec/mesos"]
        info.command = executorCommand
        return info
    }

    /// The environment the real agent gives an executor (`executorEnvironment` in slave.cpp), on top of the
    /// agent's own environment, then the executor command's variables, then `MESOS_SANDBOX`.
    func executorEnvironment(_ executor: ExecutorRecord, framework: FrameworkRecord) -> [String: String] {
        var environment = Self.processEnvironment()
        environment["LIBPROCESS_IP"] = environment["LIBPROCESS_IP"] ?? self.advertisedHost
        environment["LIBPROCESS_PORT"] = "0"
        environment["MESOS_FRAMEWORK_ID"] = framework.id.value
        environment["MESOS_EXECUTOR_ID"] = executor.id.value
        environment["MESOS_DIRECTORY"] = executor.directory
        environment["MESOS_SLAVE_ID"] = self.agentID.value
        environment["MESOS_SLAVE_PID"] = "slave(1)@" + self.endpointAddress
        environment["MESOS_AGENT_ENDPOINT"] = self.endpointAddress
        environment["MESOS_CHECKPOINT"] = framework.info.checkpoint ? "1" : "0"
        environment["MESOS_HTTP_COMMAND_EXECUTOR"] = "0"
        environment["MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD"] = StoutDuration.format(self.shutdownGracePeriod(executor))
        if let path = self.configuration.domainSocketPath { environment["MESOS_DOMAIN_SOCKET"] = path }
        if let tls = self.configuration.tls { environment.merge(tls.executorEnvironment) { _, new in new } }
        if framework.info.checkpoint {
            environment["MESOS_RECOVERY_TIMEOUT"] = "15mins"
            environment["MESOS_SUBSCRIPTION_BACKOFF_MAX"] = "2secs"
        }
        Self.apply(executor.info.command.environment, to: &environment)
        environment["MESOS_SANDBOX"] = executor.directory
        return environment
    }

    func shutdownGracePeriod(_ executor: ExecutorRecord) -> Duration {
        if executor.info.hasShutdownGracePeriod {
            return .nanoseconds(executor.info.shutdownGracePeriod.nanoseconds)
        }
        return self.configuration.executorShutdownGracePeriod
    }

    static func apply(_ environment: Mesos_V1_Environment, to variables: inout [String: String]) {
        for variable in environment.variables where variable.type != .secret {
            variables[variable.name] = variable.value
        }
    }

    static func processEnvironment() -> [String: String] { ProcessLauncher.currentEnvironment() }

    /// The argv of a `CommandInfo`: `sh -c value` for a shell command, else `value` run with `arguments` as its
    /// whole argv (argv[0] included), as Mesos does.
    static func processSpec(for command: CommandInfo) -> (executable: String, argv: [String]) {
        if command.shell {
            return ("/bin/sh", ["sh", "-c", command.value])
        }
        return (command.value, command.arguments.isEmpty ? [command.value] : command.arguments)
    }

    /// Runs the fetcher for `uris` into `directory`, then `completion` on the queue with nil or the failure message.
    func fetch(
        _ uris: [CommandInfo.URI],
        into directory: String,
        containerID: ContainerID,
        completion: @escaping @Sendable (String?) -> Void
    ) {
        guard !uris.isEmpty else {
            completion(nil)
            return
        }
        let id = UUID()
        let fetcher = self.fetcher
        let task = Task {
            let result: String?
            do {
                try await fetcher.fetch(uris, into: directory, containerID: containerID.value)
                result = nil
            } catch {
                result = (error as? Fetcher.Failure)?.message ?? String(describing: error)
            }
            self.queue.async {
                self.fetches[id] = nil
                guard !self.stopping else { return }
                completion(result)
            }
        }
        self.fetches[id] = task
    }

    // MARK: Processes and kills

    /// Starts `command` for `task` in its sandbox; reports its exit to `onExit` on the queue.
    func startProcess(
        executable: String,
        argv: [String],
        environment: [String: String],
        directory: String,
        onExit: @escaping @Sendable (pid_t, Int32) -> Void
    ) throws(LocalAgentError) -> pid_t {
        let pid: pid_t
        do {
            pid = try ProcessLauncher.spawn(
                ProcessLauncher.Spec(
                    executable: executable,
                    argv: argv,
                    environment: environment,
                    directory: directory,
                    stdoutPath: directory + "/stdout",
                    stderrPath: directory + "/stderr"
                )
            )
        } catch {
            throw LocalAgentError(code: .launchFailed, message: error.message)
        }
        // The rest of the process group is killed and the process reaped on the queue, right before `onExit`:
        // until then the pid stays a zombie, so no signal this queue sends can reach a recycled pid.
        ProcessLauncher.watch(pid, on: self.queue, killingGroup: true) { status in onExit(pid, status) }
        return pid
    }

    /// Kills a task process as the command and default executors do: TASK_KILLING if the framework understands it,
    /// SIGTERM to the process group, SIGKILL after the grace period. A second kill may only shorten the grace period.
    func killTaskProcess(
        _ task: TaskRecord,
        executor: ExecutorRecord,
        framework: FrameworkRecord,
        gracePeriod: Duration,
        sendKilling: Bool = true
    ) {
        guard !task.exited else { return }
        let log = task.directory + "/stderr"
        let clock = ContinuousClock()
        if task.killing {
            guard let start = task.killStart, let deadline = task.killDeadline, start + gracePeriod < deadline else {
                return
            }
            let remaining = max(.zero, start + gracePeriod - clock.now)
            SandboxLog.append(
                log,
                source: "executor.cpp:917",
                "Rescheduling escalation to SIGKILL in \(StoutDuration.format(remaining)) from now"
            )
            self.scheduleEscalation(task, after: remaining, gracePeriod: gracePeriod)
            task.killDeadline = start + gracePeriod
            return
        }
        task.killing = true
        task.killStart = clock.now
        task.killDeadline = clock.now + gracePeriod
        if sendKilling && framework.hasCapability(.taskKillingState) {
            self.sendExecutorUpdate(task, executor: executor, framework: framework, state: .taskKilling)
        }
        guard let pid = task.pid else { return }  // not started yet: it will not be
        SandboxLog.append(log, source: "executor.cpp:956", "Sending SIGTERM to process tree at pid \(pid)")
        ProcessLauncher.signalGroup(pid, SIGTERM)
        SandboxLog.append(
            log,
            source: "executor.cpp:973",
            "Scheduling escalation to SIGKILL in \(StoutDuration.format(gracePeriod)) from now"
        )
        self.scheduleEscalation(task, after: gracePeriod, gracePeriod: gracePeriod)
    }

    private func scheduleEscalation(_ task: TaskRecord, after delay: Duration, gracePeriod: Duration) {
        task.escalation += 1
        let generation = task.escalation
        self.after(delay) {
            guard task.escalation == generation, !task.exited, let pid = task.pid else { return }
            SandboxLog.append(
                task.directory + "/stderr",
                source: "executor.cpp:1082",
                "Process \(pid) did not terminate after \(StoutDuration.format(gracePeriod)), sending SIGKILL to process tree at \(pid)"
            )
            ProcessLauncher.signalGroup(pid, SIGKILL)
        }
    }


    // MARK: Master → agent

    func findTask(_ frameworkID: FrameworkID, _ taskID: TaskID) -> (FrameworkRecord, ExecutorRecord, TaskRecord?)? {
        guard let framework = self.frameworks[frameworkID.value] else { return nil }
        for executor in framework.executors.values {
            if let task = executor.tasks[taskID.value] { return (framework, executor, task) }
            if executor.queuedTasks.contains(where: { $0.taskID == taskID }) { return (framework, executor, nil) }
        }
        return nil
    }

    func kill(frameworkID: FrameworkID, taskID: TaskID, killPolicy: KillPolicy?) {
        guard !self.stopping else { return }
        guard let (framework, executor, task) = self.findTask(frameworkID, taskID) else {
            self.logger.warning(
                "cannot kill an unknown task",
                metadata: ["mesos.framework_id": "\(frameworkID.value)", "mesos.task_id": "\(taskID.value)"]
            )
            // As `Slave::killTask`: a known framework hears that the task is not here.
            if let framework = self.frameworks[frameworkID.value], !framework.terminating {
                var status = TaskStatus()
                status.taskID = taskID
                status.state = framework.hasCapability(.partitionAware) ? .taskDropped : .taskLost
                status.source = .agent
                status.reason = .executorTerminated
                status.message = "Cannot find executor"
                status.agentID = self.agentID
                status.timestamp = AgentClock.now()
                status.uuid = Data(AgentUUID.random())
                self.enqueue(status, framework: framework, executor: nil)
            }
            return
        }
        switch executor.kind {
        case .command:
            guard let task else { return }
            if executor.phase == .launching {
                // Still fetching: the task never reached an executor.
                self.killUnregistered([task.info], executor: executor, framework: framework)
                executor.tasks.removeAll()
                executor.taskOrder.removeAll()
                self.executorTerminated(executor, framework: framework, status: nil)
                return
            }
            let grace = task.info.killGracePeriod(override: killPolicy)
            SandboxLog.append(
                task.directory + "/stderr",
                source: "executor.cpp:835",
                "Received kill for task \(taskID.value) with grace period of \(StoutDuration.format(grace))"
            )
            self.killTaskProcess(task, executor: executor, framework: framework, gracePeriod: grace)
        case .custom:
            if executor.phase == .terminating || executor.phase == .terminated {
                self.logger.warning("ignoring a kill: the executor is terminating", metadata: ["mesos.task_id": "\(taskID.value)"])
                return
            }
            if let task, executor.phase == .running {
                var event = ExecutorEvent()
                event.type = .kill
                event.kill.taskID = task.info.taskID
                if let killPolicy { event.kill.killPolicy = killPolicy }
                self.send(event, to: executor)
            } else {
                // Queued until the executor subscribes: killed at once, with its whole group.
                guard let index = executor.queued.firstIndex(where: { $0.tasks.contains { $0.taskID == taskID } })
                else { return }
                let entry = executor.queued.remove(at: index)
                self.killUnregistered(
                    entry.asGroup ? entry.tasks : entry.tasks.filter { $0.taskID == taskID },
                    asGroup: entry.asGroup,
                    executor: executor,
                    framework: framework
                )
                if !entry.asGroup {
                    let rest = entry.tasks.filter { $0.taskID != taskID }
                    if !rest.isEmpty { executor.queued.insert((rest, false), at: index) }
                }
            }
        case .builtinDefault:
            guard let task else {
                // Its group waits for the executor's fetch: the whole group is killed before delivery.
                guard let index = executor.queued.firstIndex(where: { $0.tasks.contains { $0.taskID == taskID } })
                else { return }
                let entry = executor.queued.remove(at: index)
                self.killUnregistered(entry.tasks, asGroup: true, executor: executor, framework: framework)
                return
            }
            self.killDefaultExecutorTask(task, executor: executor, framework: framework, killPolicy: killPolicy)
        }
    }

    /// TASK_KILLED for tasks killed before they reached their executor (`Slave::kill`, executor REGISTERING).
    func killUnregistered(_ tasks: [TaskInfo], asGroup: Bool = false, executor: ExecutorRecord, framework: FrameworkRecord) {
        for task in tasks {
            var status = self.agentStatus(task.taskID, executor: executor, state: .taskKilled)
            status.message =
                asGroup
                ? "A task within the task group was killed before delivery to the executor"
                : "Killed before delivery to the executor"
            status.reason = .taskKilledDuringLaunch
            self.enqueue(status, framework: framework, executor: executor)
        }
    }

    func shutdownExecutor(frameworkID: FrameworkID, executorID: ExecutorID) {
        guard let framework = self.frameworks[frameworkID.value],
            let executor = framework.executors[executorID.value]
        else { return }
        self.shutdown(executor, framework: framework)
    }

    func shutdownFramework(frameworkID: FrameworkID) {
        guard let framework = self.frameworks[frameworkID.value], !framework.terminating else { return }
        framework.terminating = true
        for key in self.streams.keys where key.frameworkID == frameworkID.value {
            self.streams[key]?.generation += 1
            self.streams[key] = nil
        }
        for executor in framework.executors.values { self.shutdown(executor, framework: framework) }
        self.removeFrameworkIfDone(framework)
    }

    /// Shuts an executor down as `Slave::_shutdownExecutor` does, with the built-in executors' own shutdown.
    func shutdown(_ executor: ExecutorRecord, framework: FrameworkRecord) {
        switch executor.phase {
        case .terminated, .terminating:
            return
        case .launching:
            executor.phase = .terminating
            for task in executor.tasks.values { task.killing = true }
            self.executorTerminated(executor, framework: framework, status: nil)
            return
        case .registering, .running:
            break
        }
        switch executor.kind {
        case .command:
            executor.phase = .terminating
            // mesos-executor: the shutdown grace period less the reaper interval and a second.
            let grace = max(.zero, self.shutdownGracePeriod(executor) - .seconds(2))
            for task in executor.tasks.values where !task.exited {
                SandboxLog.append(task.directory + "/stderr", source: "executor.cpp:843", "Shutting down")
                self.killTaskProcess(task, executor: executor, framework: framework, gracePeriod: grace)
            }
        case .custom:
            let wasRegistering = executor.phase == .registering
            executor.phase = .terminating
            executor.generation += 1
            if wasRegistering || executor.subscriber == nil {
                if let pid = executor.pid { ProcessLauncher.signalGroup(pid, SIGKILL) }
                return
            }
            var event = ExecutorEvent()
            event.type = .shutdown
            self.send(event, to: executor)
            let generation = executor.generation
            self.after(self.shutdownGracePeriod(executor)) {
                guard executor.generation == generation, executor.phase != .terminated, let pid = executor.pid else {
                    return
                }
                ProcessLauncher.signalGroup(pid, SIGKILL)
            }
        case .builtinDefault:
            executor.shuttingDown = true
            executor.phase = .terminating
            let live = executor.tasks.values.filter { !$0.exited }
            if live.isEmpty || live.allSatisfy({ $0.pid == nil }) {
                for task in live { task.killing = true }
                if live.isEmpty { self.executorTerminated(executor, framework: framework, status: 0) }
                return
            }
            for task in live {
                self.killTaskProcess(task, executor: executor, framework: framework, gracePeriod: .seconds(3))
            }
        }
    }

    func sendMessage(frameworkID: FrameworkID, executorID: ExecutorID, data: [UInt8]) {
        guard let framework = self.frameworks[frameworkID.value], !framework.terminating,
            let executor = framework.executors[executorID.value]
        else {
            self.logger.warning("dropping a message for an unknown executor", metadata: ["mesos.executor_id": "\(executorID.value)"])
            return
        }
        guard executor.kind == .custom, executor.phase == .running, executor.subscriber != nil else {
            self.logger.warning("dropping a message for an executor that is not running", metadata: ["mesos.executor_id": "\(executorID.value)"])
            return
        }
        var event = ExecutorEvent()
        event.type = .message
        event.message.data = Data(data)
        self.send(event, to: executor)
    }

    // MARK: Executor termination

    /// The executor (or built-in executor) is gone: fail what it left behind as `Slave::executorTerminated` does,
    /// tell the master, and keep the run for `/state` and `/files`.
    func executorTerminated(_ executor: ExecutorRecord, framework: FrameworkRecord, status: Int32?) {
        guard executor.phase != .terminated else { return }
        executor.phase = .terminated
        executor.generation += 1
        if !framework.terminating && !self.stopping {
            for task in executor.orderedTasks where !task.state.isTerminal {
                self.sendExecutorTerminatedUpdate(task.info.taskID, executor: executor, framework: framework)
            }
            for task in executor.queuedTasks {
                self.sendExecutorTerminatedUpdate(task.taskID, executor: executor, framework: framework)
            }
        }
        executor.queued.removeAll()
        executor.subscriber?.finish()
        executor.subscriber = nil
        if framework.executors[executor.id.value] === executor {
            framework.executors[executor.id.value] = nil
            framework.completedExecutors.append(executor)
            if framework.completedExecutors.count > 150 { framework.completedExecutors.removeFirst() }
        }
        if !self.stopping {
            self.delegate.agent(self.agentID, executorTerminated: executor.id, frameworkID: framework.id, status: status)
        }
        self.removeFrameworkIfDone(framework)
    }

    func sendExecutorTerminatedUpdate(_ taskID: TaskID, executor: ExecutorRecord, framework: FrameworkRecord) {
        var status = self.agentStatus(taskID, executor: executor, state: executor.pendingTermination?.state ?? .taskFailed)
        status.reason = executor.pendingTermination?.reason ?? .executorTerminated
        status.message = executor.pendingTermination?.message ?? "Executor terminated"
        self.enqueue(status, framework: framework, executor: executor)
    }

    func removeFrameworkIfDone(_ framework: FrameworkRecord) {
        guard framework.terminating, framework.executors.isEmpty else { return }
        if self.frameworks[framework.id.value] === framework {
            self.frameworks[framework.id.value] = nil
        }
    }

    // MARK: Status builders

    /// An update the agent itself writes (source SOURCE_AGENT), as `protobuf::createStatusUpdate` does.
    func agentStatus(_ taskID: TaskID, executor: ExecutorRecord, state: TaskState) -> TaskStatus {
        var status = TaskStatus()
        status.taskID = taskID
        status.state = state
        status.source = .agent
        status.agentID = self.agentID
        status.executorID = executor.id
        status.timestamp = AgentClock.now()
        status.uuid = Data(AgentUUID.random())
        return status
    }

    /// The container status the agent attaches: container ID (with its parent for task group members), the
    /// container's address and the executor's pid.
    func containerStatus(_ containerID: ContainerID, networkInfo: Bool = true, executorPID: pid_t? = nil) -> Mesos_V1_ContainerStatus {
        var status = Mesos_V1_ContainerStatus()
        status.containerID = containerID
        if networkInfo {
            var address = Mesos_V1_NetworkInfo.IPAddress()
            address.protocol = .ipv4
            address.ipAddress = self.advertisedHost
            var network = Mesos_V1_NetworkInfo()
            network.ipAddresses = [address]
            status.networkInfos = [network]
        }
        if let executorPID { status.executorPid = UInt32(executorPID) }
        return status
    }
}
