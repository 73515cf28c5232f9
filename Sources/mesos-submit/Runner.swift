import Foundation
import Logging
import Mesos
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
        let output = Output(json: self.options.json)
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
        let code = await self.submit(masters: masters, output: output)
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

    private func submit(masters: [String], output: Output) async -> Int32 {
        var configuration = LauncherConfiguration(masters: masters.map(Self.normalized), frameworkName: self.options.frameworkName)
        configuration.scheduler.contentType = self.options.contentType == "protobuf" ? .protobuf : .json
        configuration.scheduler.reconnect = .exponentialBackoff(maximumAttempts: 5)
        configuration.scheduler.logger = self.logger("mesos.scheduler")
        configuration.logger = self.logger("mesos.launcher")
        if let role = self.options.role { configuration.framework.roles = [role]; Self.addCapability(.multiRole, to: &configuration.framework) }
        configuration.framework.checkpoint = self.options.checkpoint
        configuration.framework.failoverTimeout = self.options.failoverTimeout
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
        let specs: [TaskSpec]
        do {
            specs = try self.specs()
        } catch {
            output.error("\(error)")
            return ExitStatus.usage
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

        // Ctrl-C and SIGTERM: kill the tasks, tear down, exit 130.
        let interrupted = Signals.watch([SIGINT, SIGTERM])
        let handles: [TaskHandle]
        do {
            var list: [TaskHandle] = []
            for spec in specs { list.append(try await launcher.submit(spec)) }
            handles = list
        } catch {
            output.error("cannot submit: \(error)")
            await launcher.shutdown(.killTasks(grace: .seconds(5)))
            return ExitStatus.usage
        }

        let result: Int32 = await withTaskGroup(of: Int32?.self) { group in
            group.addTask {
                await withTaskGroup(of: (Int, Int32).self) { tasks in
                    for (index, handle) in handles.enumerated() {
                        tasks.addTask { (index, await self.watch(handle, output: output)) }
                    }
                    var codes = Array(repeating: Int32(0), count: handles.count)
                    for await (index, code) in tasks { codes[index] = code }
                    return codes.first { $0 != 0 } ?? 0
                }
            }
            group.addTask {
                await interrupted.wait()
                return Task.isCancelled ? nil : ExitStatus.interrupted
            }
            if let timeout = self.options.timeout {
                group.addTask {
                    try? await Task.sleep(for: .seconds(timeout))
                    return Task.isCancelled ? nil : ExitStatus.timeout
                }
            }
            if let after = self.options.killAfter {
                group.addTask {
                    try? await Task.sleep(for: .seconds(after))
                    guard !Task.isCancelled else { return nil }
                    for handle in handles { try? await handle.kill() }
                    return nil
                }
            }
            var code: Int32 = ExitStatus.internalError
            while let next = await group.next() {
                guard let next else { continue }
                code = next
                break
            }
            group.cancelAll()
            interrupted.cancel()
            return code
        }
        if result == ExitStatus.interrupted { output.note("interrupted: killing the tasks and tearing down") }
        if result == ExitStatus.timeout { output.error("timed out after \(self.options.timeout ?? 0) s: killing the tasks") }
        await launcher.shutdown(.killTasks(grace: .seconds(5)))
        return result
    }

    /// Follows one instance to its end; returns the exit status it stands for.
    private func watch(_ handle: TaskHandle, output: Output) async -> Int32 {
        var follower: Task<Void, Never>?
        for await status in handle.updates {
            output.update(handle.name, status)
            if self.options.follow, follower == nil, status.state == .taskRunning || status.state == .taskStarting,
                let endpoint = handle.agentEndpoint
            {
                let framework = handle.frameworkID()?.value ?? ""
                follower = Task { await Follower(agent: endpoint, frameworkID: framework, taskID: status.taskID.value, output: output).run() }
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
            switch outcome.state {
            case .taskFinished, .taskFailed, .taskKilled:
                return outcome.exitCode ?? (outcome.state == .taskFinished ? 0 : 1)
            case .taskError:
                return ExitStatus.taskInvalid
            default:
                return ExitStatus.taskLost
            }
        } catch {
            follower?.cancel()
            output.error("\(handle.name): \(error)")
            return ExitStatus.taskLost
        }
    }

    // MARK: Specs

    private func specs() throws -> [TaskSpec] {
        var base: TaskSpec
        if let path = self.options.task {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            let info = try MessageCodec(.json).decode(TaskInfo.self, from: Array(data))
            base = TaskSpec(name: info.name.isEmpty ? "task" : info.name, shell: info.command.value)
            if !info.command.shell { base.command = .argv(info.command.arguments) }
            if info.hasContainer { base.container = info.container }
            let resources = Resources(info.resources)
            base.resources = TaskSpec.Resources(
                cpus: resources.cpus.doubleValue, mem: resources.mem.doubleValue, disk: resources.disk.doubleValue,
                gpus: resources.gpus.doubleValue, ports: 0
            )
            base.artifacts = info.command.uris.map { .uri($0) }
        } else if self.options.taskGroup != nil {
            throw SubmitError("--task-group is not supported yet; launch the tasks one by one with --task")
        } else {
            let words = self.options.command
            let name = self.options.name ?? URL(fileURLWithPath: words.first ?? "task").lastPathComponent
            base = self.options.shell ? TaskSpec(name: name, shell: words.joined(separator: " ")) : TaskSpec(name: name, argv: words)
        }
        if let name = self.options.name { base.name = name }
        var resources = base.resources
        if let text = self.options.resources {
            let parsed = try Resources(parsing: text)
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
        if let image = self.options.dockerImage {
            var container = ContainerInfo()
            container.type = .docker
            container.docker.image = image
            for network in self.options.network {
                var info = Mesos_V1_NetworkInfo()
                info.name = network
                container.networkInfos.append(info)
            }
            base.container = container
        }
        if !self.options.volume.isEmpty {
            var container = base.container ?? {
                var container = ContainerInfo()
                container.type = .mesos
                return container
            }()
            for text in self.options.volume {
                let parts = text.split(separator: ":").map(String.init)
                guard parts.count >= 2 else { throw SubmitError("--volume wants HOST:CONTAINER[:ro], got '\(text)'") }
                var volume = Mesos_V1_Volume()
                volume.hostPath = parts[0]
                volume.containerPath = parts[1]
                volume.mode = parts.count > 2 && parts[2] == "ro" ? .ro : .rw
                container.volumes.append(volume)
            }
            base.container = container
        }
        if let grace = self.options.killGracePeriod { base.killGracePeriod = .milliseconds(Int64(grace * 1000)) }
        base.retry = TaskSpec.RetryPolicy(attempts: self.options.attempts)
        var specs: [TaskSpec] = []
        for index in 0..<self.options.instances {
            var spec = base
            if self.options.instances > 1 { spec.name = "\(base.name)-\(index)" }
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
