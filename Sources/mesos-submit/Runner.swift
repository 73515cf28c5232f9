import Foundation
import Logging
import Mesos
import MesosArtifacts
import MesosCodecs
import MesosHTTP
import MesosLauncher
import MesosLocal
import MesosOffers
import MesosScheduler

/// One run of mesos-submit: a cluster (given or local), a launcher, the instances, their output.
struct Runner {
    let options: MesosSubmit

    func run() async -> Int32 {
        var cluster: LocalCluster?
        var masters = self.options.master
        if masters.isEmpty, let env = ProcessInfo.processInfo.environment["MESOS_MASTER"], !env.isEmpty {
            masters = env.split(separator: ",").map(String.init)
        }
        let output = Output(json: self.options.json, plain: self.options.plain)
        // The tasks first: a usage error needs no cluster.
        let specs: [TaskSpec]
        let groupSpec: TaskGroupSpec?
        do {
            if self.options.taskGroup != nil {
                groupSpec = try self.groupSpec()
                specs = []
            } else {
                specs = try self.specs()
                groupSpec = nil
            }
        } catch {
            output.error("\(error)")
            return ExitStatus.usage
        }
        if masters.isEmpty {
            do {
                var configuration = LocalClusterConfiguration()
                configuration.agents = self.options.localAgents
                configuration.agentResources = self.options.localResources
                configuration.logger = self.logger("mesos.local")
                let started = try await LocalCluster.start(configuration)
                cluster = started
                masters = [started.url]
                output.note("started a local Mesos master at \(started.url) with \(self.options.localAgents) agent(s)")
            } catch {
                output.error("cannot start a local cluster: \(error)")
                return ExitStatus.internalError
            }
        }
        let code = await self.submit(masters: masters, specs: specs, groupSpec: groupSpec, output: output)
        await cluster?.stop()
        return code
    }

    func logger(_ label: String) -> Logger {
        var logger = Logger(label: label, factory: { label in
            self.options.verbose ? StreamLogHandler.standardError(label: label) as any LogHandler : SwiftLogNoOpLogHandler()
        })
        logger.logLevel = self.options.verbose ? Logger.Level.debug : Logger.Level.critical
        return logger
    }

    private func submit(masters: [String], specs: [TaskSpec], groupSpec: TaskGroupSpec?, output: Output) async -> Int32 {
        var configuration = LauncherConfiguration(masters: masters.map(Self.normalized), frameworkName: self.options.frameworkName)
        configuration.scheduler.contentType = self.options.contentType == "protobuf" ? .protobuf : .json
        if let caFile = self.options.caFile { configuration.scheduler.http.tls.caFile = caFile }
        // A master that never answers is reported within seconds (exit 69); once subscribed, a lost master (its
        // failover, a network blip) is waited out for as long as it keeps the framework, and two minutes at least.
        configuration.scheduler.firstSubscription = .exponentialBackoff(maximumAttempts: 5)
        configuration.scheduler.reconnect = .exponentialBackoff(maximumDuration: .seconds(max(self.options.failoverTimeout, 120)))
        configuration.scheduler.logger = self.logger("mesos.scheduler")
        configuration.logger = self.logger("mesos.launcher")
        // The artifact server's access log, tallied per artifact for the live view (and printed with --verbose).
        let downloads = DownloadTally()
        let verboseArtifacts = self.logger("mesos.artifacts")
        var artifactLogger = Logger(label: "mesos.artifacts") { _ in
            MultiplexLogHandler([DownloadTallyHandler(tally: downloads), verboseArtifacts.handler])
        }
        artifactLogger.logLevel = self.options.verbose ? .debug : .info
        configuration.artifacts.logger = artifactLogger
        if let role = self.options.role { configuration.framework.roles = [role]; Self.addCapability(.multiRole, to: &configuration.framework) }
        configuration.framework.checkpoint = self.options.checkpoint
        configuration.framework.failoverTimeout = self.options.failoverTimeout
        configuration.stateDirectory = self.options.stateDir
        for name in self.options.capability {
            guard let type = FrameworkInfo.Capability.TypeEnum(mesosName: name) else {
                output.error("unknown framework capability \(name)")
                return ExitStatus.usage
            }
            Self.addCapability(type, to: &configuration.framework)
        }
        if let principal = self.options.principal {
            configuration.framework.principal = principal
            var secret = self.options.secret
            if let file = self.options.secretFile {
                guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                    output.error("cannot read --secret-file \(file)")
                    return ExitStatus.usage
                }
                secret = String(text.split(separator: "\n").first ?? "")
            }
            if let secret { configuration.scheduler.http.authentication = .basic(principal: principal, secret: secret) }
        }
        let launcher = MesosLauncher(configuration: configuration)
        do {
            try await launcher.start()
        } catch let error as MesosError {
            output.error("cannot subscribe: \(error)")
            switch error.code {
            case .unauthorized, .forbidden: return ExitStatus.unauthorized
            case .badRequest: return ExitStatus.usage
            default: return ExitStatus.unreachable
            }
        } catch {
            output.error("cannot subscribe: \(error)")
            return ExitStatus.unreachable
        }
        output.note("framework \(launcher.frameworkID?.value ?? "?") subscribed")

        // Ctrl-C and SIGTERM: kill the tasks, tear down, exit 128 + the signal. A second one ends the process at once.
        let interrupted = Signals.watch([SIGINT, SIGTERM])
        let handles: [TaskHandle]
        var group: TaskGroupHandle?
        do {
            var list: [TaskHandle] = []
            let recoveredTasks = await launcher.recoveredTasks
            let recoveredGroups = await launcher.recoveredGroups
            if !recoveredTasks.isEmpty || !recoveredGroups.isEmpty {
                // An earlier run with this state directory was interrupted: wait for its tasks, do not submit again.
                list = recoveredTasks + recoveredGroups.flatMap(\.tasks)
                if recoveredTasks.isEmpty && recoveredGroups.count == 1 { group = recoveredGroups[0] }
                output.note(
                    "reattached to \(list.count) task(s) left by an earlier run in \(self.options.stateDir ?? "?"): "
                        + list.map { $0.taskID?.value ?? $0.name }.joined(separator: ", ") + " (not submitting again)"
                )
            } else if let groupSpec {
                let submitted = try await launcher.submitGroup(groupSpec)
                output.note("task group \(groupSpec.name): \(submitted.tasks.map { $0.taskID?.value ?? $0.name }.joined(separator: ", "))")
                list = submitted.tasks
                group = submitted
            } else {
                for spec in specs { list.append(try await launcher.submit(spec)) }
            }
            handles = list
        } catch {
            output.error("cannot submit: \(error)")
            await launcher.shutdown(.killTasks(grace: .seconds(5)))
            // A spec or artifact the launcher refuses is the user's to fix; a lost master is not.
            guard let error = error as? LauncherError else { return ExitStatus.usage }
            switch error.code {
            case .stopped, .subscriptionEnded, .callFailed: return ExitStatus.unreachable
            default: return ExitStatus.usage
            }
        }
        let submittedGroup = group
        // The agents' /files/read takes what the master connection takes: TLS verification and credentials.
        let agentHTTP = configuration.scheduler.http
        output.track(handles.map(\.name))
        output.startTicker { await Self.artifactLines(launcher, downloads) }

        /// What ended the wait: the tasks (with their exit status), a signal, or --timeout.
        enum Ending: Sendable {
            case tasks(Int32)
            case signal(Int32)
            case timeout
        }
        let (result, stopped): (Int32, Bool) = await withTaskGroup(of: Ending?.self) { group in
            group.addTask {
                await withTaskGroup(of: (Int, Int32).self) { tasks in
                    for (index, handle) in handles.enumerated() {
                        tasks.addTask { (index, await self.watch(handle, http: agentHTTP, output: output, killAfter: self.options.killAfter)) }
                    }
                    var codes = Array(repeating: Int32(0), count: handles.count)
                    for await (index, code) in tasks { codes[index] = code }
                    if let submittedGroup, let outcome = try? await submittedGroup.result() {
                        return .tasks(Self.exitStatus(of: outcome))
                    }
                    return .tasks(codes.first { $0 != 0 } ?? 0)
                }
            }
            group.addTask {
                let signal = await interrupted.wait()
                return Task.isCancelled ? nil : .signal(signal ?? SIGINT)
            }
            if let timeout = self.options.timeout {
                group.addTask {
                    try? await Task.sleep(for: .seconds(timeout))
                    return Task.isCancelled ? nil : .timeout
                }
            }
            var ending = Ending.tasks(ExitStatus.internalError)
            while let next = await group.next() {
                guard let next else { continue }
                ending = next
                break
            }
            // Interrupted or out of time while the tasks run: kill them now. The watchers (which wait for the tasks'
            // ends and do not stop for cancellation) then see the kills through and return, and the group with them.
            let code: Int32
            switch ending {
            case .tasks(let status):
                code = status
            case .signal(let signal):
                output.note("interrupted: killing the tasks and tearing down (again to quit at once)")
                code = 128 + signal
            case .timeout:
                output.error("timed out after \(self.options.timeout ?? 0) s: killing the tasks")
                code = ExitStatus.timeout
            }
            let early: Bool
            if case .tasks = ending { early = false } else { early = true }
            if early { await launcher.shutdown(.killTasks(grace: .seconds(5))) }
            group.cancelAll()
            interrupted.cancel()
            return (code, early)
        }
        if !stopped { await launcher.shutdown(.killTasks(grace: .seconds(5))) }
        output.finish(await Self.artifactLines(launcher, downloads))
        return result
    }

    /// What a task's resources ask for that the launcher's matching cannot honour (it asks amounts of cpus, mem, disk
    /// and gpus, and a number of ports, in the framework's role); nil when nothing. Said rather than dropped: a task
    /// must not run without an `fpga` it asked for, nor on another port than the one it named.
    static func unsupported(_ resources: Resources) -> String? {
        let supported: Set<String> = ["cpus", "mem", "disk", "gpus", "ports"]
        if let name = resources.names.subtracting(supported).sorted().first {
            return "the resource '\(name)' is not supported (only cpus, mem, disk, gpus and ports)"
        }
        if let reserved = resources.reserved.protobufs.first {
            return "a role or reservation on '\(reserved.name)' is not supported (use --role for the framework's role)"
        }
        if let ports = resources.first(where: { $0.name == "ports" }), ports.type == .ranges {
            let count = resources.ports.valueCount
            return "ports are asked for by number (--ports \(count)), not by value: the offer decides them (PORT0… in the environment)"
        }
        return nil
    }

    /// `--network`, as the container's network infos.
    var networkInfos: [Mesos_V1_NetworkInfo] {
        self.options.network.map { name in
            var info = Mesos_V1_NetworkInfo()
            info.name = name
            return info
        }
    }

    /// The container `--containerizer`, `--docker-image`, `--network` and `--volume` ask for, as mesos-execute builds it
    /// (`getContainerInfo`); nil when they ask for none. The Mesos containerizer (the default) runs a Docker image as
    /// its own image, with any number of networks; the Docker containerizer takes one user network.
    func containerInfo() throws -> ContainerInfo? {
        let options = self.options
        guard options.dockerImage != nil || !options.network.isEmpty || !options.volume.isEmpty else { return nil }
        var container = ContainerInfo()
        let networks = self.networkInfos
        switch options.containerizer {
        case "docker":
            guard let image = options.dockerImage else { throw SubmitError("--containerizer docker needs --docker-image") }
            guard networks.count <= 1 else { throw SubmitError("--containerizer docker takes one --network") }
            container.type = .docker
            container.docker.image = image
            if !networks.isEmpty { container.docker.network = .user }
        default:
            container.type = .mesos
            if let image = options.dockerImage {
                container.mesos.image.type = .docker
                container.mesos.image.docker.name = image
            }
        }
        container.networkInfos = networks
        for text in options.volume {
            var parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            var mode = Mesos_V1_Volume.Mode.rw
            if parts.count > 2, let last = parts.last, last == "ro" || last == "rw" {
                mode = last == "ro" ? .ro : .rw
                parts.removeLast()
            }
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw SubmitError("--volume wants HOST_PATH:CONTAINER_PATH[:ro|rw], got '\(text)'")
            }
            var volume = Mesos_V1_Volume()
            volume.hostPath = parts[0]
            volume.containerPath = parts[1]
            volume.mode = mode
            container.volumes.append(volume)
        }
        return container
    }

    /// Follows one instance to its end; returns the exit status it stands for.
    /// With `killAfter`, kills it that many seconds after it first runs (as mesos-execute's `--kill_after` counts
    /// from TASK_RUNNING, so waiting for an offer, fetching and pulling an image do not use it up).
    private func watch(_ handle: TaskHandle, http: HTTPClientConfiguration, output: Output, killAfter: Double?) async -> Int32 {
        var follower: Task<Void, Never>?
        var killer: Task<Void, Never>?
        defer { killer?.cancel() }
        for await status in handle.updates {
            output.update(handle.name, status, agent: Self.agentName(handle, status))
            if let killAfter, killer == nil, status.state == .taskRunning {
                killer = Task {
                    guard (try? await Task.sleep(for: .seconds(killAfter))) != nil else { return }
                    do { try await handle.kill() } catch { output.error("--kill-after: \(handle.name): \(error)") }
                }
            }
            if self.options.follow, follower == nil, status.state == .taskRunning || status.state == .taskStarting,
                let endpoint = handle.agentEndpoint
            {
                let framework = handle.frameworkID()?.value ?? ""
                follower = Task {
                    await Follower(
                        agent: endpoint, frameworkID: framework, taskID: status.taskID.value,
                        groupExecutorID: self.options.taskGroup != nil ? handle.executorID?.value : nil, http: http,
                        output: output
                    ).run()
                }
            }
        }
        do {
            let outcome = try await handle.result()
            if let follower {
                // Let the follower read what the task wrote last.
                try? await Task.sleep(for: .milliseconds(300))
                follower.cancel()
                _ = await follower.value
            }
            output.outcome(handle.name, outcome)
            return Self.exitStatus(of: outcome)
        } catch {
            follower?.cancel()
            output.error("\(handle.name): \(error)")
            return ExitStatus.taskLost
        }
    }

    /// The exit status an outcome stands for: the command's, or one of the documented codes.
    static func exitStatus(of outcome: TaskOutcome) -> Int32 {
        switch outcome.state {
        case .taskFinished, .taskFailed, .taskKilled:
            return outcome.exitCode ?? (outcome.state == .taskFinished ? 0 : 1)
        case .taskError:
            return ExitStatus.taskInvalid
        default:
            return ExitStatus.taskLost
        }
    }

    /// A group's: the exit status of the member that brought it down (the first to fail), else 0.
    static func exitStatus(of outcome: TaskGroupOutcome) -> Int32 {
        guard let cause = outcome.cause else { return 0 }
        if let code = outcome.exitCode, code != 0, [.taskFinished, .taskFailed, .taskKilled].contains(cause.outcome.state) {
            return code
        }
        return Self.exitStatus(of: cause.outcome)
    }

    /// The agent as the board shows it: the host of its endpoint, else its ID.
    static func agentName(_ handle: TaskHandle, _ status: TaskStatus) -> String? {
        if let endpoint = handle.agentEndpoint {
            var rest = Substring(endpoint)
            if let scheme = rest.range(of: "://") { rest = rest[scheme.upperBound...] }
            return String(rest)
        }
        return status.hasAgentID ? status.agentID.value : handle.agentID?.value
    }

    /// Each local artifact with what the access log says was served of it.
    static func artifactLines(_ launcher: MesosLauncher, _ downloads: DownloadTally) async -> [StatusBoard.ArtifactLine] {
        let counts = downloads.snapshot()
        return await launcher.registeredArtifacts.map { artifact in
            let count = counts[artifact.sha256] ?? (0, 0)
            return StatusBoard.ArtifactLine(name: artifact.name, size: artifact.size, fetches: count.fetches, bytes: count.bytes)
        }
    }

    // MARK: Specs

    /// `--task`/`--task-group`: inline JSON (starting with `{`), or a path (`/path`, `file:///path`).
    static func readJSON(_ value: String, flag: String) throws -> [UInt8] {
        let trimmed = value.drop { $0 == " " || $0 == "\n" || $0 == "\t" }
        if trimmed.hasPrefix("{") { return Array(trimmed.utf8) }
        let path = value.hasPrefix("file://") ? String(value.dropFirst("file://".count)) : value
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SubmitError("\(flag) \(value): no such file (give a path or the JSON itself)")
        }
        return Array(data)
    }

    /// `task_id` and `agent_id` are required in a TaskInfo but mesos-execute lets them out of `--task_group` (the
    /// launcher names a task without one, and the offer decides the agent): empty placeholders fill them before
    /// decoding, and an empty task ID is not kept.
    static func withPlaceholderIDs(_ bytes: [UInt8]) -> [UInt8] {
        guard var object = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any],
            let tasks = object["tasks"] as? [Any]
        else { return bytes }
        object["tasks"] = tasks.enumerated().map { index, element -> Any in
            guard var task = element as? [String: Any] else { return element }
            if task["task_id"] == nil { task["task_id"] = ["value": ""] }
            if task["agent_id"] == nil { task["agent_id"] = ["value": ""] }
            return task
        }
        return (try? JSONSerialization.data(withJSONObject: object)).map(Array.init) ?? bytes
    }

    /// `--task`: the same placeholders for one TaskInfo.
    static func withPlaceholderIDs(task bytes: [UInt8]) -> [UInt8] {
        guard var task = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] else { return bytes }
        if task["task_id"] == nil { task["task_id"] = ["value": ""] }
        if task["agent_id"] == nil { task["agent_id"] = ["value": ""] }
        return (try? JSONSerialization.data(withJSONObject: task)).map(Array.init) ?? bytes
    }

    /// `--task-group`: the TaskGroupInfo's tasks, with the flags that apply to every member (env, artifacts, URIs,
    /// kill grace period, and resources for a member that names none); role, constraints and networks for the group.
    func groupSpec() throws -> TaskGroupSpec {
        let bytes = Self.withPlaceholderIDs(try Self.readJSON(self.options.taskGroup ?? "", flag: "--task-group"))
        let info: Mesos_V1_TaskGroupInfo
        do {
            info = try MessageCodec(.json).decode(Mesos_V1_TaskGroupInfo.self, from: bytes)
        } catch {
            throw SubmitError("--task-group: not a TaskGroupInfo: \(error)")
        }
        guard !info.tasks.isEmpty else { throw SubmitError("--task-group: the group has no tasks") }
        var taskIDs = Set<String>()
        for task in info.tasks where !task.taskID.value.isEmpty {
            guard taskIDs.insert(task.taskID.value).inserted else {
                throw SubmitError("--task-group: the task ID '\(task.taskID.value)' is given to more than one task; task IDs must be unique")
            }
        }
        var members: [TaskSpec] = []
        var names = Set<String>()
        for (index, task) in info.tasks.enumerated() {
            var member = TaskSpec(taskInfo: task)
            if task.hasExecutor { throw SubmitError("--task-group: task '\(member.name)' sets an executor; group tasks run under the default executor") }
            if !names.insert(member.name).inserted { member.name += "-\(index)" }
            if task.resources.isEmpty {
                member.resources = TaskSpec.Resources(
                    cpus: self.options.cpus ?? 0.1, mem: self.options.mem ?? 32, disk: self.options.disk ?? 0,
                    gpus: self.options.gpus ?? 0, ports: self.options.ports ?? 0
                )
            }
            for pair in self.options.env {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                member.environment[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
            }
            for text in self.options.artifact { member.artifacts.append(try Self.artifact(text, local: true)) }
            for text in self.options.uri { member.artifacts.append(try Self.artifact(text, local: false)) }
            if let grace = self.options.killGracePeriod { member.killGracePeriod = .milliseconds(Int64(grace * 1000)) }
            members.append(member)
        }
        var spec = TaskGroupSpec(name: self.options.name ?? members.map(\.name).joined(separator: "+"), tasks: members)
        spec.role = self.options.role
        spec.constraints = try self.options.constraint.map { try PlacementConstraint(parsing: $0) }
        spec.retry = TaskSpec.RetryPolicy(attempts: self.options.attempts)
        if !self.options.network.isEmpty {
            var container = ContainerInfo()
            container.type = .mesos
            container.networkInfos = self.networkInfos
            spec.executorContainer = container
        }
        return spec
    }

    private func specs() throws -> [TaskSpec] {
        var base: TaskSpec
        if let value = self.options.task {
            let info: TaskInfo
            do {
                info = try MessageCodec(.json).decode(TaskInfo.self, from: Self.withPlaceholderIDs(task: try Self.readJSON(value, flag: "--task")))
            } catch let error as SubmitError {
                throw error
            } catch {
                throw SubmitError("--task: not a TaskInfo: \(error)")
            }
            if let problem = Self.unsupported(Resources(info.resources)) { throw SubmitError("--task: \(problem)") }
            base = TaskSpec(taskInfo: info)
            // A TaskInfo without resources takes the defaults (cpus 0.1, mem 32), as a command does.
            if info.resources.isEmpty { base.resources = TaskSpec.Resources() }
        } else {
            let words = self.options.command
            let name = self.options.name ?? URL(fileURLWithPath: words.first ?? "task").lastPathComponent
            base = self.options.shell ? TaskSpec(name: name, shell: words.joined(separator: " ")) : TaskSpec(name: name, argv: words)
        }
        if let name = self.options.name { base.name = name }
        var resources = base.resources
        if let text = self.options.resources {
            let parsed = try Resources(parsing: text)
            if let problem = Self.unsupported(parsed) { throw SubmitError("--resources: \(problem)") }
            resources.cpus = parsed.cpus.doubleValue
            resources.mem = parsed.mem.doubleValue
            resources.disk = parsed.disk.doubleValue
            resources.gpus = parsed.gpus.doubleValue
            resources.ports = Int(parsed.ports.valueCount)
        }
        if let cpus = self.options.cpus { resources.cpus = cpus }
        if let mem = self.options.mem { resources.mem = mem }
        if let disk = self.options.disk { resources.disk = disk }
        if let gpus = self.options.gpus { resources.gpus = gpus }
        if let ports = self.options.ports { resources.ports = ports }
        base.resources = resources
        base.role = self.options.role
        for pair in self.options.env {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            base.environment[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
        base.constraints = try self.options.constraint.map { try PlacementConstraint(parsing: $0) }
        for text in self.options.artifact { base.artifacts.append(try Self.artifact(text, local: true)) }
        for text in self.options.uri { base.artifacts.append(try Self.artifact(text, local: false)) }
        if let container = try self.containerInfo() {
            guard self.options.task == nil else {
                throw SubmitError("--docker-image, --network and --volume do not apply to --task: set the container in the TaskInfo")
            }
            base.container = container
        }
        if let grace = self.options.killGracePeriod { base.killGracePeriod = .milliseconds(Int64(grace * 1000)) }
        base.retry = TaskSpec.RetryPolicy(attempts: self.options.attempts)
        var specs: [TaskSpec] = []
        for index in 0..<self.options.instances {
            var spec = base
            if self.options.instances > 1 {
                spec.name = "\(base.name)-\(index)"
                // A given task ID names the first instance's task only once: each instance gets <ID>-<n>.
                if let taskID = base.taskID { spec.taskID = TaskID("\(taskID.value)-\(index)") }
            }
            spec.group = base.name
            specs.append(spec)
        }
        return specs
    }

    /// `PATH[,extract][,executable][,nocache][,as=NAME]`.
    static func artifact(_ text: String, local: Bool) throws -> TaskSpec.Artifact {
        let parts = text.split(separator: ",").map(String.init)
        guard let path = parts.first, !path.isEmpty else { throw SubmitError("empty artifact") }
        var extract: Bool?
        var executable = false
        var cache = true
        var outputFile: String?
        for option in parts.dropFirst() {
            switch option {
            case "extract": extract = true
            case "noextract": extract = false
            case "executable": executable = true
            case "nocache": cache = false
            case _ where option.hasPrefix("as="): outputFile = String(option.dropFirst(3))
            default: throw SubmitError("unknown artifact option '\(option)' in '\(text)'")
            }
        }
        if !local {
            var uri = CommandInfo.URI()
            uri.value = path
            uri.executable = executable
            uri.extract = extract ?? false
            uri.cache = cache
            if let outputFile { uri.outputFile = outputFile }
            return .uri(uri)
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw SubmitError("--artifact \(path): no such file or directory")
        }
        if isDirectory.boolValue { return .directory(path, extract: extract ?? true, cache: cache) }
        return .file(path, executable: executable, extract: extract ?? false, cache: cache, outputFile: outputFile)
    }

    static func normalized(_ master: String) -> String {
        master.contains("://") ? master : "http://" + master
    }

    static func addCapability(_ type: FrameworkInfo.Capability.TypeEnum, to info: inout FrameworkInfo) {
        guard !info.capabilities.contains(where: { $0.type == type }) else { return }
        var capability = FrameworkInfo.Capability()
        capability.type = type
        info.capabilities.append(capability)
    }
}

struct SubmitError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension FrameworkInfo.Capability.TypeEnum {
    /// By the name Mesos gives it (`GPU_RESOURCES`), case-insensitively.
    init?(mesosName: String) {
        let wanted = mesosName.uppercased()
        for candidate in Self.allCases where "\(candidate)".uppercased() == wanted.replacingOccurrences(of: "_", with: "") {
            self = candidate
            return
        }
        return nil
    }
}
