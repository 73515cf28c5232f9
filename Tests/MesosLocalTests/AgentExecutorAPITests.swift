import Foundation
import Mesos
import MesosCodecs
import MesosHTTP
import MesosLocal
import NIOCore
import Synchronization
import Testing

/// Speaks the v1 executor API to an agent, as an executor would: the executor's process is a placeholder
/// (`sleep`) the agent really started; this side subscribes, reads events and sends calls over real HTTP.
final class TestExecutorClient {
    let client = HTTPClient()
    let url: String
    let executorID: String
    var box: ReceivedBox?
    var buffer: [UInt8] = []
    var contentType = ContentType.json
    var head: HTTPResponseHead?

    init(agent: LocalAgent, executorID: String) {
        self.url = agent.endpoint + "/api/v1/executor"
        self.executorID = executorID
    }

    deinit { self.client.shutdown() }

    func call(_ call: ExecutorCall, contentType: ContentType = .json) async throws -> HTTPResponse {
        let body = try MessageCodec(contentType).encode(call)
        return try await self.client.execute(
            HTTPRequest(url: self.url, headers: [("Content-Type", contentType.mediaType), ("Accept", "application/json")], body: body)
        )
    }

    func raw(contentType: String, body: String, method: String = "POST", accept: String = "application/json") async throws -> (Int, String) {
        let response = try await self.client.execute(
            HTTPRequest(method: method, url: self.url, headers: [("Content-Type", contentType), ("Accept", accept)], body: method == "GET" ? nil : Array(body.utf8))
        )
        return (response.status, String(buffer: response.body))
    }

    func baseCall(_ type: ExecutorCall.TypeEnum) -> ExecutorCall {
        var call = ExecutorCall()
        call.type = type
        call.executorID = ExecutorID(self.executorID)
        call.frameworkID = AgentTest.frameworkID
        return call
    }

    func subscribe(accept: ContentType = .json, _ subscribe: ExecutorCall.Subscribe = ExecutorCall.Subscribe()) async throws {
        var call = self.baseCall(.subscribe)
        call.subscribe = subscribe
        let response = try await self.client.stream(
            HTTPRequest(
                url: self.url,
                headers: [("Content-Type", "application/json"), ("Accept", accept.mediaType)],
                body: try MessageCodec(.json).encode(call)
            )
        )
        self.head = response.head
        self.contentType = accept
        let body = response.body
        let received = ReceivedBox()
        self.box = received
        Task {
            do {
                for try await chunk in body { received.state.withLock { $0.bytes += Array(chunk.readableBytesView) } }
            } catch {}
            received.state.withLock { $0.ended = true }
        }
    }

    /// The next event of the subscription (one RecordIO record).
    func next() async throws -> ExecutorEvent {
        while true {
            if let newline = self.buffer.firstIndex(of: UInt8(ascii: "\n")),
                let length = Int(String(decoding: self.buffer[..<newline], as: UTF8.self)),
                self.buffer.count - newline - 1 >= length
            {
                let record = Array(self.buffer[(newline + 1)..<(newline + 1 + length)])
                self.buffer.removeFirst(newline + 1 + length)
                return try MessageCodec(self.contentType).decode(ExecutorEvent.self, from: record)
            }
            guard let box = self.box else { throw CancellationError() }
            let (bytes, ended) = box.state.withLock { state in
                defer { state.bytes = [] }
                return (state.bytes, state.ended)
            }
            if bytes.isEmpty {
                if ended { throw CancellationError() }
                try await Task.sleep(for: .milliseconds(5))
            }
            self.buffer += bytes
        }
    }

    func update(_ taskID: String, _ state: TaskState, uuid: [UInt8] = AgentTestUUID.make(), message: String? = nil) async throws -> (HTTPResponse, [UInt8]) {
        var call = self.baseCall(.update)
        call.update.status.taskID = TaskID(taskID)
        call.update.status.state = state
        call.update.status.source = .executor
        call.update.status.uuid = Data(uuid)
        if let message { call.update.status.message = message }
        return (try await self.call(call), uuid)
    }
}

final class ReceivedBox: Sendable {
    let state = Mutex<(bytes: [UInt8], ended: Bool)>(([], false))
}

enum AgentTestUUID {
    static func make() -> [UInt8] { withUnsafeBytes(of: UUID().uuid) { Array($0) } }
}

@Suite("LocalAgent: custom executors and the executor API", .timeLimit(.minutes(2)))
struct AgentExecutorAPITests {
    static func executor(_ id: String, command: String = "sleep 1000") -> ExecutorInfo {
        var executor = ExecutorInfo()
        executor.type = .custom
        executor.executorID = ExecutorID(id)
        executor.frameworkID = AgentTest.frameworkID
        executor.command.value = command
        executor.name = "test executor"
        executor.resources = AgentTest.resources()
        return executor
    }

    @Test("SUBSCRIBE, LAUNCH, UPDATE → master → ACKNOWLEDGED, MESSAGE both ways, SHUTDOWN, as recorded from Mesos 1.11")
    func fullExchange() async throws {
        try await AgentTest.withAgent(configure: { $0.executorShutdownGracePeriod = .milliseconds(300) }) { agent, delegate in
            var task = AgentTest.task("ctask", shell: "ignored")
            task.clearCommand()
            task.data = Data("task-data-bytes".utf8)
            agent.launch(framework: AgentTest.framework(), executor: Self.executor("exec-1"), tasks: [task], asGroup: false)
            let executor = TestExecutorClient(agent: agent, executorID: "exec-1")

            // Before SUBSCRIBE: the recorded errors.
            try await Task.sleep(for: .milliseconds(200))
            let (earlyStatus, earlyBody) = try await executor.raw(
                contentType: "application/json",
                body: #"{"executor_id":{"value":"exec-1"},"framework_id":{"value":"fw-test-0000"},"type":"UPDATE","update":{"status":{"task_id":{"value":"nope"},"state":"TASK_RUNNING","source":"SOURCE_EXECUTOR","uuid":"XMHPJGuETnqFFK6m9E9ljw=="}}}"#
            )
            #expect(earlyStatus == 403)
            #expect(earlyBody == "Executor is not subscribed")

            try await executor.subscribe()
            #expect(executor.head?.status == 200)
            #expect(executor.head?.header("Content-Type") == "application/json")
            #expect(executor.head?.header("Transfer-Encoding") == "chunked")
            #expect(executor.head?.header("Date")?.hasSuffix(" GMT") == true)
            let subscribed = try await executor.next()
            #expect(subscribed.type == .subscribed)
            #expect(subscribed.subscribed.executorInfo.executorID.value == "exec-1")
            #expect(subscribed.subscribed.frameworkInfo.id == AgentTest.frameworkID)
            #expect(subscribed.subscribed.agentInfo.id.value == "agent-test-S0")
            #expect(subscribed.subscribed.agentInfo.port == agent.agentInfo.port)
            #expect(subscribed.subscribed.hasContainerID)

            let launch = try await executor.next()
            #expect(launch.type == .launch)
            #expect(launch.launch.task.taskID.value == "ctask")
            #expect(launch.launch.task.data == Data("task-data-bytes".utf8))

            let (running, runningUUID) = try await executor.update("ctask", .taskRunning)
            #expect(running.status == 202)
            let acknowledged = try await executor.next()
            #expect(acknowledged.type == .acknowledged)
            #expect(acknowledged.acknowledged.taskID.value == "ctask")
            #expect(Array(acknowledged.acknowledged.uuid) == runningUUID)
            let forwarded = try #require(delegate.updates("ctask").first)
            #expect(forwarded.state == .taskRunning)
            #expect(Array(forwarded.uuid) == runningUUID)  // the executor's uuid is kept
            #expect(forwarded.source == .executor)
            #expect(forwarded.agentID.value == "agent-test-S0")
            #expect(!forwarded.hasExecutorID)  // as recorded: the agent adds agent_id and container_status only
            #expect(forwarded.containerStatus.networkInfos.first?.ipAddresses.first?.ipAddress == "127.0.0.1")
            #expect(forwarded.containerStatus.hasExecutorPid)
            #expect(forwarded.containerStatus.containerID == subscribed.subscribed.containerID)

            agent.sendMessage(frameworkID: AgentTest.frameworkID, executorID: ExecutorID("exec-1"), data: Array("ping".utf8))
            let message = try await executor.next()
            #expect(message.type == .message)
            #expect(message.message.data == Data("ping".utf8))

            var reply = executor.baseCall(.message)
            reply.message.data = Data("pong:ping".utf8)
            #expect(try await executor.call(reply).status == 202)
            try await delegate.wait("the executor's message") { !$0.messages.isEmpty }
            #expect(delegate.snapshot.messages.first?.executorID == "exec-1")
            #expect(delegate.snapshot.messages.first?.data == Array("pong:ping".utf8))

            let (finished, finishedUUID) = try await executor.update("ctask", .taskFinished, message: "finished by the test executor")
            #expect(finished.status == 202)
            let secondAck = try await executor.next()
            #expect(Array(secondAck.acknowledged.uuid) == finishedUUID)
            #expect(delegate.states("ctask") == [.taskRunning, .taskFinished])

            agent.shutdownExecutor(frameworkID: AgentTest.frameworkID, executorID: ExecutorID("exec-1"))
            let shutdown = try await executor.next()
            #expect(shutdown.type == .shutdown)
            // The placeholder ignores SHUTDOWN: it is killed after the shutdown grace period.
            try await delegate.wait("the executor's termination") { !$0.terminated.isEmpty }
            let status = try #require(delegate.snapshot.terminated.first?.status)
            #expect(status & 0x7f == 9)  // SIGKILL
            #expect(delegate.states("ctask") == [.taskRunning, .taskFinished])
        }
    }

    @Test("the agent's validation and status codes, with the real texts")
    func errors() async throws {
        try await AgentTest.withAgent { agent, delegate in
            agent.launch(framework: AgentTest.framework(), executor: Self.executor("exec-2"), tasks: [AgentTest.task("t", shell: "x")], asGroup: false)
            try await Task.sleep(for: .milliseconds(200))
            let executor = TestExecutorClient(agent: agent, executorID: "exec-2")
            var (status, body) = try await executor.raw(contentType: "text/plain", body: "{}")
            #expect(status == 415)
            #expect(body == "Expecting 'Content-Type' of application/json or application/x-protobuf")
            (status, body) = try await executor.raw(contentType: "application/json", body: "{")
            #expect(status == 400)
            #expect(body == "Failed to parse body into JSON: syntax error at line 1 near: ")
            (status, body) = try await executor.raw(contentType: "application/x-protobuf", body: "\u{ff}\u{ff}garbage")
            #expect(status == 400)
            #expect(body == "Failed to parse body into Call protobuf")
            (status, body) = try await executor.raw(contentType: "application/json", body: "", method: "GET")
            #expect(status == 405)
            #expect(body == "405 Method Not Allowed. Expecting one of { 'POST' }, but received 'GET'.")
            (status, body) = try await executor.raw(
                contentType: "application/json",
                body: #"{"executor_id":{"value":"exec-2"},"framework_id":{"value":"other"},"type":"SUBSCRIBE","subscribe":{}}"#
            )
            #expect(status == 400)
            #expect(body == "Framework cannot be found")
            (status, body) = try await executor.raw(
                contentType: "application/json",
                body: #"{"executor_id":{"value":"nobody"},"framework_id":{"value":"fw-test-0000"},"type":"SUBSCRIBE","subscribe":{}}"#
            )
            #expect(status == 400)
            #expect(body == "Executor cannot be found")
            (status, body) = try await executor.raw(
                contentType: "application/json",
                body: #"{"executor_id":{"value":"exec-2"},"framework_id":{"value":"fw-test-0000"},"type":"SUBSCRIBE"}"#
            )
            #expect(status == 400)
            #expect(body == "Failed to validate Executor::Call: Expecting 'subscribe' to be present")
            (status, body) = try await executor.raw(
                contentType: "application/json",
                body: #"{"executor_id":{"value":"exec-2"},"framework_id":{"value":"fw-test-0000"},"type":"SUBSCRIBE","subscribe":{}}"#,
                accept: "text/html"
            )
            #expect(status == 406)
            #expect(body == "Expecting 'Accept' to allow 'application/x-protobuf' or 'application/json'")
            (status, body) = try await executor.raw(
                contentType: "application/json",
                body: #"{"executor_id":{"value":"exec-2"},"framework_id":{"value":"fw-test-0000"},"type":"UPDATE","update":{"status":{"task_id":{"value":"t"},"state":"TASK_RUNNING","source":"SOURCE_AGENT","uuid":"XMHPJGuETnqFFK6m9E9ljw=="}}}"#
            )
            #expect(status == 400)
            #expect(
                body
                    == "Failed to validate Executor::Call: Received Call from executor exec-2 of framework fw-test-0000 with invalid source, expecting 'SOURCE_EXECUTOR'"
            )
            // 16 bytes that are not a UUID (version nibble 0), as stout's UUID::fromBytes refuses them.
            (status, body) = try await executor.raw(
                contentType: "application/json",
                body: #"{"executor_id":{"value":"exec-2"},"framework_id":{"value":"fw-test-0000"},"type":"UPDATE","update":{"status":{"task_id":{"value":"t"},"state":"TASK_RUNNING","source":"SOURCE_EXECUTOR","uuid":"AAAAAAAAAAAAAAAAAAAAAA=="}}}"#
            )
            #expect(status == 400)
            #expect(body == "Failed to validate Executor::Call: Not a valid UUID")
            (status, _) = try await executor.raw(
                contentType: "application/json",
                body: #"{"executor_id":{"value":"exec-2"},"framework_id":{"value":"fw-test-0000"},"type":"HEARTBEAT"}"#
            )
            #expect(status == 202)
            #expect(delegate.snapshot.updates.isEmpty)
        }
    }

    @Test("SUBSCRIBE with Accept: application/x-protobuf streams binary events; KILL reaches the executor with its policy")
    func protobufStreamAndKill() async throws {
        try await AgentTest.withAgent { agent, delegate in
            agent.launch(framework: AgentTest.framework(), executor: Self.executor("exec-3"), tasks: [AgentTest.task("pt", shell: "x")], asGroup: false)
            try await Task.sleep(for: .milliseconds(200))
            let executor = TestExecutorClient(agent: agent, executorID: "exec-3")
            try await executor.subscribe(accept: .protobuf)
            #expect(executor.head?.header("Content-Type") == "application/x-protobuf")
            #expect(try await executor.next().type == .subscribed)
            #expect(try await executor.next().type == .launch)
            var policy = KillPolicy()
            policy.gracePeriod.nanoseconds = 1_000_000_000
            agent.kill(frameworkID: AgentTest.frameworkID, taskID: TaskID("pt"), killPolicy: policy)
            let kill = try await executor.next()
            #expect(kill.type == .kill)
            #expect(kill.kill.taskID.value == "pt")
            #expect(kill.kill.killPolicy.gracePeriod.nanoseconds == 1_000_000_000)
            _ = try await executor.update("pt", .taskKilled)
            #expect(try await executor.next().type == .acknowledged)
            #expect(delegate.states("pt") == [.taskKilled])
        }
    }

    @Test("LAUNCH_GROUP reaches a custom executor as one event")
    func launchGroupToCustomExecutor() async throws {
        try await AgentTest.withAgent { agent, delegate in
            agent.launch(
                framework: AgentTest.framework(),
                executor: Self.executor("exec-4"),
                tasks: [AgentTest.task("g1", shell: "x"), AgentTest.task("g2", shell: "y")],
                asGroup: true
            )
            try await Task.sleep(for: .milliseconds(200))
            let executor = TestExecutorClient(agent: agent, executorID: "exec-4")
            try await executor.subscribe()
            #expect(try await executor.next().type == .subscribed)
            let group = try await executor.next()
            #expect(group.type == .launchGroup)
            #expect(group.launchGroup.taskGroup.tasks.map(\.taskID.value) == ["g1", "g2"])
        }
    }

    @Test("re-SUBSCRIBE: the old connection is closed, unacknowledged updates are taken, unknown STAGING tasks dropped")
    func resubscribe() async throws {
        try await AgentTest.withAgent { agent, delegate in
            agent.launch(
                framework: AgentTest.framework(),
                executor: Self.executor("exec-5"),
                tasks: [AgentTest.task("r1", shell: "x"), AgentTest.task("r2", shell: "y")],
                asGroup: false
            )
            try await Task.sleep(for: .milliseconds(200))
            let first = TestExecutorClient(agent: agent, executorID: "exec-5")
            try await first.subscribe()
            #expect(try await first.next().type == .subscribed)
            let launched = [try await first.next(), try await first.next()]
            #expect(launched.map(\.launch.task.taskID.value) == ["r1", "r2"])

            var subscribe = ExecutorCall.Subscribe()
            var update = ExecutorCall.Update()
            update.status.taskID = TaskID("r1")
            update.status.state = .taskRunning
            update.status.source = .executor
            let uuid = AgentTestUUID.make()
            update.status.uuid = Data(uuid)
            subscribe.unacknowledgedUpdates = [update]
            subscribe.unacknowledgedTasks = [launched[0].launch.task]
            let second = TestExecutorClient(agent: agent, executorID: "exec-5")
            try await second.subscribe(subscribe)
            #expect(try await second.next().type == .subscribed)
            await #expect(throws: (any Error).self) { _ = try await first.next() }  // closed by the agent

            let lost = try await delegate.terminal("r2")
            #expect(lost.state == .taskLost)
            #expect(lost.reason == .agentRestarted)
            #expect(lost.message == "Task launched during agent restart")
            #expect(delegate.updates("r1").map { Array($0.uuid) } == [uuid])
            let acknowledged = try await second.next()
            #expect(acknowledged.type == .acknowledged)
            #expect(Array(acknowledged.acknowledged.uuid) == uuid)
        }
    }

    @Test("ACKNOWLEDGED comes once the agent has the update, whether or not the scheduler acknowledges; the agent keeps sending it to the master")
    func acknowledgedByTheAgent() async throws {
        try await AgentTest.withAgent(autoAcknowledge: false, configure: { $0.statusUpdateRetryInterval = .milliseconds(100) }) { agent, delegate in
            agent.launch(framework: AgentTest.framework(), executor: Self.executor("exec-ack"), tasks: [AgentTest.task("acked", shell: "x")], asGroup: false)
            try await Task.sleep(for: .milliseconds(200))
            let executor = TestExecutorClient(agent: agent, executorID: "exec-ack")
            try await executor.subscribe()
            #expect(try await executor.next().type == .subscribed)
            #expect(try await executor.next().type == .launch)

            let (running, runningUUID) = try await executor.update("acked", .taskRunning)
            #expect(running.status == 202)
            let first = try await executor.next()
            #expect(first.type == .acknowledged)
            #expect(Array(first.acknowledged.uuid) == runningUUID)
            // Nobody acknowledged it to the agent: it goes to the master again and again.
            try await delegate.wait("RUNNING sent again") { _ in delegate.updates("acked").count >= 2 }
            #expect(delegate.updates("acked").allSatisfy { Array($0.uuid) == runningUUID })

            // The next update waits behind RUNNING at the agent, and the executor hears ACKNOWLEDGED for it now.
            let (finished, finishedUUID) = try await executor.update("acked", .taskFinished)
            #expect(finished.status == 202)
            let second = try await executor.next()
            #expect(second.type == .acknowledged)
            #expect(Array(second.acknowledged.uuid) == finishedUUID)
            #expect(!delegate.states("acked").contains(.taskFinished))

            // An executor sending an update again (it missed the ACKNOWLEDGED) hears it again; the master gets it once.
            let (again, _) = try await executor.update("acked", .taskFinished, uuid: finishedUUID)
            #expect(again.status == 202)
            let third = try await executor.next()
            #expect(third.type == .acknowledged)
            #expect(Array(third.acknowledged.uuid) == finishedUUID)

            agent.acknowledge(frameworkID: AgentTest.frameworkID, taskID: TaskID("acked"), uuid: runningUUID)
            let terminal = try await delegate.terminal("acked")
            #expect(Array(terminal.uuid) == finishedUUID)
            agent.acknowledge(frameworkID: AgentTest.frameworkID, taskID: TaskID("acked"), uuid: finishedUUID)
            // Acknowledged once, the stream is done: had the executor's repeat been queued behind it, it would go out
            // (and be resent) now.
            try await Task.sleep(for: .milliseconds(100))
            let sent = delegate.updates("acked").count
            try await Task.sleep(for: .milliseconds(500))
            #expect(delegate.updates("acked").count == sent)
            #expect(Set(delegate.updates("acked").map(\.uuid)) == [Data(runningUUID), Data(finishedUUID)])
        }
    }

    @Test("an executor's stream closing is not a shutdown, checkpointing or not: the executor lives on and subscribes again")
    func streamClosed() async throws {
        try await AgentTest.withAgent { agent, delegate in
            agent.launch(framework: AgentTest.framework(), executor: Self.executor("exec-close"), tasks: [AgentTest.task("c1", shell: "x")], asGroup: false)
            try await Task.sleep(for: .milliseconds(200))
            let first = TestExecutorClient(agent: agent, executorID: "exec-close")
            try await first.subscribe()
            #expect(try await first.next().type == .subscribed)
            let launch = try await first.next()
            #expect(launch.type == .launch)
            first.client.shutdown()
            await #expect(throws: (any Error).self) { _ = try await first.next() }
            try await Task.sleep(for: .milliseconds(500))
            #expect(delegate.snapshot.terminated.isEmpty)
            #expect(delegate.updates("c1").isEmpty)

            let second = TestExecutorClient(agent: agent, executorID: "exec-close")
            var subscribe = ExecutorCall.Subscribe()
            subscribe.unacknowledgedTasks = [launch.launch.task]
            try await second.subscribe(subscribe)
            #expect(try await second.next().type == .subscribed)
            let (running, _) = try await second.update("c1", .taskRunning)
            #expect(running.status == 202)
            try await delegate.waitForState("c1", .taskRunning)
        }
    }

    @Test("KILL before the executor subscribed: TASK_KILLED, REASON_TASK_KILLED_DURING_LAUNCH (the whole group for a group)")
    func killBeforeDelivery() async throws {
        try await AgentTest.withAgent { agent, delegate in
            agent.launch(framework: AgentTest.framework(), executor: Self.executor("exec-6"), tasks: [AgentTest.task("solo", shell: "x")], asGroup: false)
            agent.launch(
                framework: AgentTest.framework(),
                executor: Self.executor("exec-6"),
                tasks: [AgentTest.task("m1", shell: "x"), AgentTest.task("m2", shell: "y")],
                asGroup: true
            )
            agent.kill(frameworkID: AgentTest.frameworkID, taskID: TaskID("solo"), killPolicy: nil)
            agent.kill(frameworkID: AgentTest.frameworkID, taskID: TaskID("m2"), killPolicy: nil)
            let solo = try await delegate.terminal("solo")
            #expect(solo.state == .taskKilled)
            #expect(solo.source == .agent)
            #expect(solo.reason == .taskKilledDuringLaunch)
            #expect(solo.message == "Killed before delivery to the executor")
            for id in ["m1", "m2"] {
                let member = try await delegate.terminal(id)
                #expect(member.state == .taskKilled)
                #expect(member.reason == .taskKilledDuringLaunch)
                #expect(member.message == "A task within the task group was killed before delivery to the executor")
                #expect(member.executorID.value == "exec-6")
            }
        }
    }

    @Test("an executor that never subscribes is killed after the registration timeout and its tasks fail")
    func registrationTimeout() async throws {
        try await AgentTest.withAgent(configure: { $0.executorRegistrationTimeout = .milliseconds(300) }) { agent, delegate in
            agent.launch(framework: AgentTest.framework(), executor: Self.executor("lazy"), tasks: [AgentTest.task("waiting", shell: "x")], asGroup: false)
            let failed = try await delegate.terminal("waiting")
            #expect(failed.state == .taskFailed)
            #expect(failed.source == .agent)
            #expect(failed.reason == .executorRegistrationTimeout)
            #expect(failed.message == "Executor did not register within 300ms")
            #expect(failed.executorID.value == "lazy")
            try await delegate.wait("the executor's termination") { !$0.terminated.isEmpty }
            #expect(delegate.snapshot.terminated.first?.executorID == "lazy")
        }
    }

    @Test("an executor that exits leaves TASK_FAILED, REASON_EXECUTOR_TERMINATED for its unfinished tasks")
    func executorExits() async throws {
        try await AgentTest.withAgent { agent, delegate in
            // The executor exits when the test says so (a file appears), not on a timer a loaded machine can outrun.
            let exitSignal = AgentTest.makeTemporaryDirectory() + "/exit-now"
            defer { try? FileManager.default.removeItem(atPath: (exitSignal as NSString).deletingLastPathComponent) }
            let command = "while [ ! -e '\(exitSignal)' ]; do sleep 0.05; done; exit 2"
            agent.launch(framework: AgentTest.framework(), executor: Self.executor("short", command: command), tasks: [AgentTest.task("orphan", shell: "x")], asGroup: false)
            let executor = TestExecutorClient(agent: agent, executorID: "short")
            try await Task.sleep(for: .milliseconds(100))
            try await executor.subscribe()
            #expect(try await executor.next().type == .subscribed)
            #expect(try await executor.next().type == .launch)
            _ = try await executor.update("orphan", .taskRunning)
            try await delegate.waitForState("orphan", .taskRunning)
            #expect(FileManager.default.createFile(atPath: exitSignal, contents: nil))
            let failed = try await delegate.terminal("orphan")
            #expect(failed.state == .taskFailed)
            #expect(failed.source == .agent)
            #expect(failed.reason == .executorTerminated)
            #expect(failed.message == "Executor terminated")
            try await delegate.wait("the executor's termination") { !$0.terminated.isEmpty }
            let status = try #require(delegate.snapshot.terminated.first?.status)
            #expect((status >> 8) & 0xff == 2)
        }
    }

    @Test("a real executor process (python3) gets the agent's environment and runs a task over the API")
    func pythonExecutor() async throws {
        let script = """
            import json, os, sys, urllib.request, base64, uuid
            env = {k: v for k, v in os.environ.items() if k.startswith("MESOS_") or k.startswith("LIBPROCESS_")}
            open("env.json", "w").write(json.dumps(env, sort_keys=True))
            url = "http://" + os.environ["MESOS_AGENT_ENDPOINT"] + "/api/v1/executor"
            ids = {"executor_id": {"value": os.environ["MESOS_EXECUTOR_ID"]}, "framework_id": {"value": os.environ["MESOS_FRAMEWORK_ID"]}}
            def post(body):
                request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json", "Accept": "application/json"})
                return urllib.request.urlopen(request)
            def update(task_id, state):
                status = {"task_id": task_id, "state": state, "source": "SOURCE_EXECUTOR", "uuid": base64.b64encode(uuid.uuid4().bytes).decode()}
                post(dict(ids, type="UPDATE", update={"status": status}))
            stream = post(dict(ids, type="SUBSCRIBE", subscribe={}))
            def events():
                while True:
                    line = b""
                    while not line.endswith(b"\\n"):
                        byte = stream.read(1)
                        if not byte:
                            return
                        line += byte
                    yield json.loads(stream.read(int(line)))
            for event in events():
                if event["type"] == "LAUNCH":
                    task_id = event["launch"]["task"]["task_id"]
                    update(task_id, "TASK_RUNNING")
                    open("task-ran", "w").write(task_id["value"])
                    update(task_id, "TASK_FINISHED")
                elif event["type"] == "SHUTDOWN":
                    sys.exit(0)
            """
        let directory = AgentTest.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try script.write(toFile: directory + "/executor.py", atomically: true, encoding: .utf8)
        try await AgentTest.withAgent { agent, delegate in
            var executor = Self.executor("pyexec-1", command: "python3 executor.py")
            executor.command.uris = [AgentTest.uri(directory + "/executor.py")]
            agent.launch(framework: AgentTest.framework(), executor: executor, tasks: [AgentTest.task("pytask", shell: "x")], asGroup: false)
            let finished = try await delegate.terminal("pytask")
            #expect(finished.state == .taskFinished)
            #expect(delegate.states("pytask") == [.taskRunning, .taskFinished])
            let sandbox = AgentTest.sandbox(agent, executor: "pyexec-1")
            #expect(AgentTest.read(sandbox + "/task-ran") == "pytask")
            let environment = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: sandbox + "/env.json"))) as? [String: String] ?? [:]
            // The same variables as the recorded agent's environment (Fixtures/mesos-1.11/executor/executor_env.json).
            let recorded = [
                "LIBPROCESS_IP", "LIBPROCESS_PORT", "MESOS_AGENT_ENDPOINT", "MESOS_CHECKPOINT", "MESOS_DIRECTORY",
                "MESOS_EXECUTOR_ID", "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", "MESOS_FRAMEWORK_ID",
                "MESOS_HTTP_COMMAND_EXECUTOR", "MESOS_SANDBOX", "MESOS_SLAVE_ID", "MESOS_SLAVE_PID",
            ]
            for name in recorded { #expect(environment[name] != nil, "\(name)") }
            #expect(environment["MESOS_EXECUTOR_ID"] == "pyexec-1")
            #expect(environment["LIBPROCESS_PORT"] == "0")
            #expect(environment["MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD"] == "5secs")
            #expect(environment["MESOS_SLAVE_PID"] == "slave(1)@127.0.0.1:\(agent.agentInfo.port)")
            agent.shutdownExecutor(frameworkID: AgentTest.frameworkID, executorID: ExecutorID("pyexec-1"))
            try await delegate.wait("the executor's exit") { !$0.terminated.isEmpty }
            #expect(delegate.snapshot.terminated.first?.status == 0)
        }
    }
}
