import MesosProcess
import Dispatch
import FoundationEssentials
import Glibc
import Logging
import Mesos
import MesosCodecs
import NIOHTTP1
import SwiftProtobuf
import Synchronization

// Custom executors and the v1 executor API (`/api/v1/executor`), after `Http::executor` and `Slave::subscribe`
// in src/slave/http.cpp and slave.cpp.
extension AgentCore {
    // MARK: Launching

    func launchOnCustomExecutor(_ tasks: [TaskInfo], asGroup: Bool, executor info: ExecutorInfo, framework: FrameworkRecord) {
        if let executor = framework.executors[info.executorID.value], executor.phase != .terminated {
            switch executor.phase {
            case .launching, .registering:
                executor.queued.append((tasks, asGroup))
            case .running where executor.kind == .custom:
                self.deliver(tasks, asGroup: asGroup, to: executor)
            default:
                for task in tasks {
                    var status = self.agentStatus(task.taskID, executor: executor, state: self.lostState(framework))
                    status.reason = .executorTerminated
                    status.message = "Executor terminating"
                    self.enqueue(status, framework: framework, executor: executor)
                }
            }
            return
        }
        let containerID = Self.newContainerID()
        guard let directory = self.makeSandbox(framework: framework.id, executor: info.executorID, container: containerID)
        else { return }
        let executor = ExecutorRecord(kind: .custom, info: info, frameworkID: framework.id, containerID: containerID, directory: directory)
        executor.queued.append((tasks, asGroup))
        framework.executors[info.executorID.value] = executor
        if let failure = self.linkPersistentVolumes(info.resources + tasks.flatMap(\.resources), into: directory) {
            self.containerLaunchFailed(executor, framework: framework, message: failure)
            return
        }
        self.fetch(info.command.uris, into: directory, containerID: containerID) { failure in
            guard executor.phase == .launching else { return }
            if let failure {
                self.containerLaunchFailed(executor, framework: framework, message: failure)
            } else {
                self.startExecutorProcess(executor, framework: framework)
            }
        }
    }

    private func startExecutorProcess(_ executor: ExecutorRecord, framework: FrameworkRecord) {
        let environment = self.executorEnvironment(executor, framework: framework)
        let (executable, argv) = Self.processSpec(for: executor.info.command)
        do {
            executor.pid = try self.startProcess(
                executable: executable,
                argv: argv,
                environment: environment,
                directory: executor.directory
            ) { _, status in
                self.executorTerminated(executor, framework: framework, status: status)
            }
        } catch {
            SandboxLog.appendRaw(executor.directory + "/stderr", error.message + "\n")
            self.containerLaunchFailed(executor, framework: framework, message: error.message)
            return
        }
        executor.phase = .registering
        let generation = executor.generation
        let timeout = self.configuration.executorRegistrationTimeout
        self.after(timeout) {
            guard executor.generation == generation, executor.phase == .registering else { return }
            self.logger.info(
                "terminating an executor that did not register in time",
                metadata: ["mesos.executor_id": "\(executor.id.value)"]
            )
            executor.phase = .terminating
            executor.pendingTermination = PendingTermination(
                state: .taskFailed,
                reason: .executorRegistrationTimeout,
                message: "Executor did not register within " + StoutDuration.format(timeout)
            )
            if let pid = executor.pid { ProcessLauncher.signalGroup(pid, SIGKILL) }
        }
    }

    /// Hands tasks to a subscribed executor: `LAUNCH` for each, or one `LAUNCH_GROUP`.
    func deliver(_ tasks: [TaskInfo], asGroup: Bool, to executor: ExecutorRecord) {
        let tasks = tasks.map { task in
            var task = task
            if !task.hasAgentID { task.agentID = self.agentID }
            return task
        }
        for task in tasks {
            executor.add(TaskRecord(info: task, directory: executor.directory, containerID: executor.containerID))
        }
        // Later tasks of a running executor grow its container's resources (`containerizer->update`): their volumes
        // are linked before the executor hears of them.
        if let failure = self.linkPersistentVolumes(tasks.flatMap(\.resources), into: executor.directory) {
            self.logger.error(
                "cannot link a persistent volume into an executor's sandbox",
                metadata: ["mesos.executor_id": "\(executor.id.value)", "mesos.error": "\(failure)"]
            )
        }
        if asGroup {
            var event = ExecutorEvent()
            event.type = .launchGroup
            event.launchGroup.taskGroup.tasks = tasks
            self.send(event, to: executor)
        } else {
            for task in tasks {
                var event = ExecutorEvent()
                event.type = .launch
                event.launch.task = task
                self.send(event, to: executor)
            }
        }
    }

    /// Writes one event as one RecordIO record (one chunk) on the executor's subscription.
    func send(_ event: ExecutorEvent, to executor: ExecutorRecord) {
        guard let subscriber = executor.subscriber else { return }
        let payload: [UInt8]
        do {
            payload = try MessageCodec(executor.contentType).encode(event)
        } catch {
            // A message missing a required field (a master that left one out): send what there is, as the
            // executor's reader ignores what it does not know, rather than never delivering the event.
            self.logger.warning("an executor event lacks required fields", metadata: ["mesos.error": "\(error)"])
            do {
                switch executor.contentType {
                case .json: payload = try event.jsonUTF8Bytes(options: .mesos)
                case .protobuf: payload = try event.serializedBytes(partial: true)
                }
            } catch {
                self.logger.error("cannot encode an executor event", metadata: ["mesos.error": "\(error)"])
                return
            }
        }
        subscriber.send(Array("\(payload.count)\n".utf8) + payload)
    }

    // MARK: The endpoint

    func handleExecutorCall(_ request: AgentHTTPRequest, responder: AgentHTTPResponder) {
        guard request.method == .POST else {
            responder.respond(
                .methodNotAllowed,
                text: "405 Method Not Allowed. Expecting one of { 'POST' }, but received '\(request.method.rawValue)'.",
                headers: [("Allow", "POST")]
            )
            return
        }
        guard let contentTypeHeader = request.headers.first(name: "Content-Type") else {
            responder.respond(.badRequest, text: "Expecting 'Content-Type' to be present")
            return
        }
        let mediaType = contentTypeHeader.agentTrimmed
        var call: ExecutorCall
        switch mediaType {
        case "application/x-protobuf":
            do {
                call = try ExecutorCall(serializedBytes: request.body, partial: false)
            } catch {
                responder.respond(.badRequest, text: "Failed to parse body into Call protobuf")
                return
            }
        case "application/json":
            do {
                call = try MessageCodec(.json, jsonReading: .exactlyAsMesos).decode(ExecutorCall.self, from: request.body)
            } catch {
                responder.respond(.badRequest, text: Self.jsonErrorText(error, body: request.body))
                return
            }
            guard call.isInitialized else {
                let missing = [(call.hasExecutorID, "executor_id"), (call.hasFrameworkID, "framework_id")]
                    .filter { !$0.0 }.map(\.1)
                responder.respond(
                    .badRequest,
                    text: "Failed to convert JSON into Call protobuf: Missing required fields: "
                        + (missing.isEmpty ? "unknown" : missing.joined(separator: ", "))
                )
                return
            }
        default:
            responder.respond(
                .unsupportedMediaType,
                text: "Expecting 'Content-Type' of application/json or application/x-protobuf"
            )
            return
        }

        if let error = Self.validate(call) {
            responder.respond(.badRequest, text: "Failed to validate Executor::Call: " + error)
            return
        }

        var acceptType = ContentType.json
        switch call.type {
        case .subscribe:
            guard let accepted = Self.negotiate(request.headers) else {
                responder.respond(
                    .notAcceptable,
                    text: "Expecting 'Accept' to allow 'application/x-protobuf' or 'application/json'"
                )
                return
            }
            acceptType = accepted
        case .heartbeat:
            // Answered before any lookup, as the real agent answers it (the 1.11 executor library names the
            // executor and framework "unused" in it).
            self.published.withLock { $0.executorHeartbeats[call.executorID.value, default: 0] += 1 }
            responder.respond(.accepted)
            return
        default:
            break
        }

        guard let framework = self.frameworks[call.frameworkID.value] else {
            responder.respond(.badRequest, text: "Framework cannot be found")
            return
        }
        guard let executor = framework.executors[call.executorID.value], executor.kind == .custom else {
            responder.respond(.badRequest, text: "Executor cannot be found")
            return
        }
        if (executor.phase == .registering || executor.phase == .launching) && call.type != .subscribe {
            responder.respond(.forbidden, text: "Executor is not subscribed")
            return
        }

        switch call.type {
        case .subscribe:
            self.subscribe(call.subscribe, executor, framework: framework, responder: responder, contentType: acceptType)
        case .update:
            self.executorUpdate(call.update.status, executor: executor, framework: framework)
            responder.respond(.accepted)
        case .message:
            responder.respond(.accepted)
            if !framework.terminating {
                self.delegate.agent(
                    self.agentID,
                    didReceiveMessage: Array(call.message.data),
                    from: executor.id,
                    frameworkID: framework.id
                )
            }
        default:
            responder.respond(.notImplemented)
        }
    }

    /// `common::validation::executor::call::validate`.
    static func validate(_ call: ExecutorCall) -> String? {
        guard call.hasType else { return "Expecting 'type' to be present" }
        switch call.type {
        case .subscribe:
            if !call.hasSubscribe { return "Expecting 'subscribe' to be present" }
        case .update:
            if !call.hasUpdate { return "Expecting 'update' to be present" }
            let status = call.update.status
            if !status.hasUuid { return "Expecting 'uuid' to be present" }
            if !isMesosUUID(status.uuid) { return "Not a valid UUID" }
            if status.hasExecutorID && status.executorID.value != call.executorID.value {
                return "ExecutorID in Call: \(call.executorID.value) does not match ExecutorID in TaskStatus: \(status.executorID.value)"
            }
            if status.source != .executor {
                return "Received Call from executor \(call.executorID.value) of framework \(call.frameworkID.value) with invalid source, expecting 'SOURCE_EXECUTOR'"
            }
            if status.state == .taskStaging {
                return "Received TASK_STAGING from executor \(call.executorID.value) of framework \(call.frameworkID.value) which is not allowed"
            }
        case .message:
            if !call.hasMessage { return "Expecting 'message' to be present" }
        default:
            break
        }
        return nil
    }

    /// JSON first when acceptable (an absent `Accept` accepts everything), then protobuf.
    static func negotiate(_ headers: HTTPHeaders) -> ContentType? {
        let values = headers[canonicalForm: "Accept"]
        guard !values.isEmpty else { return .json }
        var ranges: [(type: String, quality: Double)] = []
        for value in values {
            let parts = value.split(separator: ";").map { $0.agentTrimmed }
            guard let type = parts.first?.lowercased() else { continue }
            var quality = 1.0
            for parameter in parts.dropFirst() where parameter.hasPrefix("q=") {
                quality = Double(parameter.dropFirst(2)) ?? 1.0
            }
            ranges.append((type, quality))
        }
        func accepts(_ mediaType: String) -> Bool {
            let family = mediaType.split(separator: "/").first.map { "\($0)/*" } ?? ""
            return ranges.contains { ($0.type == mediaType || $0.type == family || $0.type == "*/*") && $0.quality > 0 }
        }
        if accepts("application/json") { return .json }
        if accepts("application/x-protobuf") { return .protobuf }
        return nil
    }

    static func jsonErrorText(_ error: MesosCodecError, body: [UInt8]) -> String {
        if error.code == .malformedJSON, let offset = error.offset {
            var line = 1
            for byte in body.prefix(offset) where byte == UInt8(ascii: "\n") { line += 1 }
            let rest = String(decoding: body.dropFirst(offset).prefix(64), as: UTF8.self)
            return "Failed to parse body into JSON: syntax error at line \(line) near: \(rest)"
        }
        if error.code == .malformedJSON && error.message.contains("object") {
            return "Failed to convert JSON into Call protobuf: Expecting a JSON object"
        }
        return "Failed to convert JSON into Call protobuf: " + error.message
    }

    /// `Slave::subscribe`: a terminating executor (or framework) is told to shut down; otherwise the executor
    /// becomes RUNNING on this connection (closing an older one), its unacknowledged updates are taken again, tasks
    /// it never heard of on a re-subscription are dropped, and it gets SUBSCRIBED and its queued tasks.
    private func subscribe(
        _ subscribe: ExecutorCall.Subscribe,
        _ executor: ExecutorRecord,
        framework: FrameworkRecord,
        responder: AgentHTTPResponder,
        contentType: ContentType
    ) {
        if framework.terminating || executor.phase == .terminating || executor.phase == .terminated {
            let previous = executor.subscriber
            executor.subscriber = responder
            executor.contentType = contentType
            responder.startStream(contentType: contentType.mediaType)
            var shutdown = ExecutorEvent()
            shutdown.type = .shutdown
            self.send(shutdown, to: executor)
            responder.finish()
            executor.subscriber = previous?.connectionID == responder.connectionID ? nil : previous
            return
        }
        if let previous = executor.subscriber, previous.connectionID != responder.connectionID {
            previous.finish()
        }
        let resubscribing = executor.phase == .running
        executor.subscriber = responder
        executor.contentType = contentType
        responder.startStream(contentType: contentType.mediaType)
        if executor.phase == .registering {
            executor.phase = .running
            executor.generation += 1  // cancels the registration timer
        }

        for update in subscribe.unacknowledgedUpdates {
            self.executorUpdate(update.status, executor: executor, framework: framework)
        }
        if resubscribing {
            let known = Set(subscribe.unacknowledgedTasks.map(\.taskID.value))
            for task in executor.orderedTasks where task.state == .taskStaging && !known.contains(task.info.taskID.value) {
                var status = self.agentStatus(task.info.taskID, executor: executor, state: self.lostState(framework))
                status.message = "Task launched during agent restart"
                status.reason = .agentRestarted
                self.enqueue(status, framework: framework, executor: executor)
            }
        }
        if executor.tasks.isEmpty && executor.queued.isEmpty {
            // Never sent a task, and all of its queued tasks were killed before delivery.
            self.shutdown(executor, framework: framework)
            return
        }

        var event = ExecutorEvent()
        event.type = .subscribed
        event.subscribed.executorInfo = executor.info
        event.subscribed.frameworkInfo = framework.info
        // `user` and `name` are required: a master that left them out must not stop the subscription.
        if !framework.info.hasUser { event.subscribed.frameworkInfo.user = "" }
        if !framework.info.hasName { event.subscribed.frameworkInfo.name = "" }
        event.subscribed.agentInfo = self.agentInfo
        event.subscribed.containerID = executor.containerID
        self.send(event, to: executor)

        let queued = executor.queued
        executor.queued.removeAll()
        for entry in queued { self.deliver(entry.tasks, asGroup: entry.asGroup, to: executor) }
        self.scheduleHeartbeat(executor, connection: responder.connectionID)
    }

    private func scheduleHeartbeat(_ executor: ExecutorRecord, connection: ObjectIdentifier) {
        self.after(self.configuration.executorHeartbeatInterval) {
            guard executor.phase == .running || executor.phase == .terminating,
                executor.subscriber?.connectionID == connection
            else { return }
            var event = ExecutorEvent()
            event.type = .heartbeat
            self.send(event, to: executor)
            self.scheduleHeartbeat(executor, connection: connection)
        }
    }

    /// An `UPDATE` from an executor, forwarded through the task's stream with the executor's uuid kept, the agent's
    /// ID and the container's status added, as in the recorded exchange
    /// (Fixtures/mesos-1.11/executor/scheduler_stream.recordio).
    ///
    /// The executor hears `ACKNOWLEDGED` as soon as the agent has taken the update (or finds it has it already), not
    /// when the scheduler acknowledges it: from then on the agent's status update stream is responsible for it, as in
    /// Mesos's `Slave::___statusUpdate`. An update the agent drops (one after a terminal update) is not acknowledged.
    private func executorUpdate(_ received: TaskStatus, executor: ExecutorRecord, framework: FrameworkRecord) {
        var status = received
        status.agentID = self.agentID
        // The executor ID stays as the executor wrote it (absent, in the recorded 1.11 exchange).
        if !status.hasTimestamp { status.timestamp = AgentClock.now() }
        if !status.hasContainerStatus {
            status.containerStatus = self.containerStatus(executor.containerID, executorPID: executor.pid)
        }
        guard self.enqueue(status, framework: framework, executor: executor) != .dropped else { return }
        // After the handler at hand, as the real agent acknowledges once its update manager has checkpointed the
        // update: the unacknowledged updates a SUBSCRIBE carries are acknowledged after SUBSCRIBED.
        var event = ExecutorEvent()
        event.type = .acknowledged
        event.acknowledged.taskID = status.taskID
        event.acknowledged.uuid = status.uuid
        self.after(.zero) { [event] in
            guard executor.subscriber != nil else { return }
            self.send(event, to: executor)
        }
    }

    /// The executor's subscription closed. The agent does nothing more about it, as Mesos 1.11's agent does
    /// nothing: an executor whose framework does not checkpoint is expected to exit by itself (its library makes it),
    /// and the agent learns of that from the process's end; until then events for it wait for its next SUBSCRIBE.
    func subscriptionClosed(_ connection: ObjectIdentifier) {
        for framework in self.frameworks.values {
            for executor in framework.executors.values where executor.subscriber?.connectionID == connection {
                executor.subscriber = nil
                self.logger.debug("executor disconnected", metadata: ["mesos.executor_id": "\(executor.id.value)"])
            }
        }
    }
}
