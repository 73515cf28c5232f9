import Foundation
import Mesos
import MesosExecutor
import MesosLocal
import MesosScheduler
import MesosTestSupport
import Synchronization
import Testing

@Suite("Executor environment")
struct ExecutorEnvironmentTests {
    static let complete: [String: String] = [
        "MESOS_AGENT_ENDPOINT": "127.0.0.1:5051",
        "MESOS_FRAMEWORK_ID": "fw-1",
        "MESOS_EXECUTOR_ID": "ex-1",
        "MESOS_DIRECTORY": "/var/lib/mesos/sandbox",
        "MESOS_CHECKPOINT": "1",
        "MESOS_RECOVERY_TIMEOUT": "15mins",
        "MESOS_SUBSCRIPTION_BACKOFF_MAX": "2secs",
        "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD": "5secs",
    ]

    @Test("the recorded agent environment and the defaults")
    func recorded() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/mesos-1.11/executor/executor_env.json")
        let variables = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: String] ?? [:]
        let environment = try ExecutorEnvironment(variables)
        #expect(environment.agentURL == "http://127.0.0.1:5051/api/v1/executor")
        #expect(environment.executorID == "pyexec-1")
        #expect(environment.checkpoint == false)
        #expect(environment.shutdownGracePeriod == .seconds(5))
        #expect(environment.recoveryTimeout == .seconds(900))
        #expect(environment.subscriptionBackoffMaximum == .seconds(2))
        #expect(environment.sandbox == environment.directory)
    }

    @Test("Mesos durations in every unit", arguments: [
        ("10ns", Duration.nanoseconds(10)), ("3us", .microseconds(3)), ("250ms", .milliseconds(250)),
        ("5secs", .seconds(5)), ("1.5mins", .seconds(90)), ("2hrs", .seconds(7200)), ("1days", .seconds(86400)),
        ("1weeks", .seconds(604_800)),
    ])
    func durations(text: String, expected: Duration) {
        #expect(ExecutorEnvironment.parseDuration(text) == expected)
    }

    @Test("malformed durations are refused", arguments: ["5", "5s", "secs", "-1secs", "1.5", "10 parsecs", ""])
    func badDurations(text: String) {
        #expect(ExecutorEnvironment.parseDuration(text) == nil)
    }

    @Test("each missing or malformed variable is named", arguments: [
        ("MESOS_AGENT_ENDPOINT", nil as String?), ("MESOS_FRAMEWORK_ID", nil), ("MESOS_EXECUTOR_ID", nil),
        ("MESOS_DIRECTORY", nil), ("MESOS_AGENT_ENDPOINT", "localhost"), ("MESOS_CHECKPOINT", "yes"),
        ("MESOS_CHECKPOINT", "true"), ("MESOS_RECOVERY_TIMEOUT", "soon"), ("MESOS_SUBSCRIPTION_BACKOFF_MAX", "2"),
        ("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", "5 seconds"),
    ])
    func bad(variable: String, value: String?) {
        var variables = Self.complete
        variables[variable] = value
        #expect(throws: ExecutorEnvironmentError.self) { try ExecutorEnvironment(variables) }
        do {
            _ = try ExecutorEnvironment(variables)
        } catch {
            #expect(error.variable == variable)
        }
    }

    @Test("the complete environment: checkpointing, token, domain socket, TLS")
    func complete() throws {
        var variables = Self.complete
        variables["MESOS_EXECUTOR_AUTHENTICATION_TOKEN"] = "tok"
        variables["MESOS_DOMAIN_SOCKET"] = "/run/agent.sock"
        variables["SSL_ENABLED"] = "true"
        variables["MESOS_SLAVE_PID"] = "slave(1)@127.0.0.1:5051"
        let environment = try ExecutorEnvironment(variables)
        #expect(environment.checkpoint)
        #expect(environment.authenticationToken == "tok")
        #expect(environment.domainSocket == "/run/agent.sock")
        // The agent's socket speaks plain HTTP and serves the executor API under its process ID only.
        #expect(environment.agentURL == "http://127.0.0.1:5051/slave(1)/api/v1/executor")
        #expect(environment.tls == nil)
        variables["MESOS_DOMAIN_SOCKET"] = nil
        #expect(try ExecutorEnvironment(variables).agentURL == "https://127.0.0.1:5051/api/v1/executor")
    }

    @Test("TLS from the libprocess variables: LIBPROCESS_SSL_ wins over the deprecated SSL_, verification stays on unless turned off")
    func tls() throws {
        var variables = Self.complete
        #expect(try ExecutorEnvironment(variables).tls == nil)
        variables["LIBPROCESS_SSL_ENABLED"] = "false"
        variables["SSL_ENABLED"] = "true"
        #expect(try ExecutorEnvironment(variables).tls == nil)
        variables["LIBPROCESS_SSL_ENABLED"] = "1"
        variables["LIBPROCESS_SSL_CA_FILE"] = "/etc/mesos/ca.pem"
        variables["SSL_CA_FILE"] = "/old/ca.pem"
        variables["SSL_CA_DIR"] = "/etc/mesos/cas"
        variables["LIBPROCESS_SSL_CERT_FILE"] = "/etc/mesos/agent.crt"
        variables["LIBPROCESS_SSL_KEY_FILE"] = "/etc/mesos/agent.key"
        var environment = try ExecutorEnvironment(variables)
        #expect(environment.agentURL == "https://127.0.0.1:5051/api/v1/executor")
        var expected = ExecutorEnvironment.TLS()
        expected.caFile = "/etc/mesos/ca.pem"
        expected.caDirectory = "/etc/mesos/cas"
        expected.certificateFile = "/etc/mesos/agent.crt"
        expected.keyFile = "/etc/mesos/agent.key"
        #expect(environment.tls == expected)
        variables["LIBPROCESS_SSL_VERIFY_CERT"] = "false"
        environment = try ExecutorEnvironment(variables)
        #expect(environment.tls?.verifyServerCertificate == false)
        variables["LIBPROCESS_SSL_VERIFY_SERVER_CERT"] = "true"
        #expect(try ExecutorEnvironment(variables).tls?.verifyServerCertificate == true)
        variables["LIBPROCESS_SSL_VERIFY_SERVER_CERT"] = "maybe"
        let error = #expect(throws: ExecutorEnvironmentError.self) { try ExecutorEnvironment(variables) }
        #expect(error?.variable == "LIBPROCESS_SSL_VERIFY_SERVER_CERT")
    }

    @Test("a domain socket path of 108 bytes or more is refused")
    func longSocket() throws {
        var variables = Self.complete
        variables["MESOS_DOMAIN_SOCKET"] = "/" + String(repeating: "s", count: 107)
        #expect(throws: ExecutorEnvironmentError.self) { try ExecutorEnvironment(variables) }
        variables["MESOS_DOMAIN_SOCKET"] = "/" + String(repeating: "s", count: 106)
        #expect(try ExecutorEnvironment(variables).domainSocket?.utf8.count == 107)
    }
}

/// `mesos-swift-executor`, launched by a local agent for a scheduler's task, runs the task and messages both ways.
@Suite("Swift executor under a local agent", .timeLimit(.minutes(2)))
struct SwiftExecutorTests {
    static var binary: String {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        while directory.path.contains(".xctest") { directory = directory.deletingLastPathComponent() }
        return directory.appendingPathComponent("mesos-swift-executor").path
    }

    final class Log: Sendable {
        let updates = Mutex<[TaskStatus]>([])
        let messages = Mutex<[String]>([])
        let failures = Mutex<[(ExecutorID?, Int32?)]>([])
        /// Whether the tasks went out (on the first offer).
        let launched = Mutex(false)
        /// How many offers came.
        let offers = Mutex(0)

        func states(_ task: String) -> [TaskState] {
            self.updates.withLock { $0.filter { $0.taskID.value == task }.map(\.state) }
        }
    }

    static func executor(_ id: String) -> ExecutorInfo {
        var executor = ExecutorInfo()
        executor.executorID = ExecutorID(id)
        executor.type = .custom
        executor.command.shell = false
        executor.command.value = Self.binary
        executor.command.arguments = [Self.binary]
        executor.resources = [Resource(name: "cpus", scalar: 0.1), Resource(name: "mem", scalar: 32)]
        return executor
    }

    /// Drives a framework: the first offer launches `tasks` on it (the others are declined), every update is logged
    /// and acknowledged, messages and executor failures are logged.
    static func drive(
        _ client: SchedulerClient,
        _ events: SchedulerEvents,
        _ log: Log,
        tasks: @escaping @Sendable (Offer) -> [TaskInfo]
    ) -> Task<Void, Never> {
        Task {
            do {
                for try await event in events {
                    switch event {
                    case .offers(let offers):
                        log.offers.withLock { $0 += offers.count }
                        guard let offer = offers.first, !log.launched.withLock({ $0 }) else {
                            try? await client.decline(offerIDs: offers.map(\.id))
                            continue
                        }
                        log.launched.withLock { $0 = true }
                        try? await client.accept(offerIDs: [offer.id], operations: [.launch(tasks(offer))])
                    case .update(let status):
                        log.updates.withLock { $0.append(status) }
                        _ = try? await client.acknowledge(status)
                    case .message(_, _, let data):
                        log.messages.withLock { $0.append(String(decoding: data, as: UTF8.self)) }
                    case .failure(_, let executorID, let status):
                        log.failures.withLock { $0.append((executorID, status)) }
                    default:
                        break
                    }
                }
            } catch {}
        }
    }

    /// A task of `executor` on `offer` whose `data` is the command line mesos-swift-executor runs.
    static func task(_ id: String, on offer: Offer, executor: ExecutorInfo, command: String) -> TaskInfo {
        var task = TaskInfo()
        task.name = id
        task.taskID = TaskID(id)
        task.agentID = offer.agentID
        task.resources = [Resource(name: "cpus", scalar: 0.1), Resource(name: "mem", scalar: 32)]
        task.executor = executor
        task.data = Data(command.utf8)
        return task
    }

    func wait(_ what: String, timeout: Duration = .seconds(30), _ condition: () -> Bool) async throws {
        try await Self.waitFor(what, timeout: timeout, condition)
    }

    /// The master of MESOS_MASTER (a real cluster whose agents can run this build's executor binary), else a local
    /// cluster started for the test.
    static func withMaster(_ body: (String) async throws -> Void) async throws {
        if let master = ProcessInfo.processInfo.environment["MESOS_MASTER"], !master.isEmpty {
            try await body(master)
        } else {
            try await LocalCluster.with { cluster in try await body(cluster.url) }
        }
    }

    @Test("runs tasks, reports with the command executor's texts, kills, relays messages both ways, shuts down")
    func endToEnd() async throws {
        try await Self.withMaster { master in
            let client = SchedulerClient(configuration: SchedulerConfiguration(masters: [master]))
            var info = FrameworkInfo()
            info.user = "root"
            info.name = "executor-test"
            var killing = FrameworkInfo.Capability()
            killing.type = .taskKillingState
            info.capabilities = [killing]
            let events = try await client.subscribe(info)
            let log = Log()
            let executor = Self.executor("swift-exec")
            let driver = Self.drive(client, events, log) { offer in
                [
                    Self.task("ok", on: offer, executor: executor, command: "echo done"),
                    Self.task("three", on: offer, executor: executor, command: "exit 3"),
                    Self.task("talker", on: offer, executor: executor, command: "echo hello-from-task >> \"$MESOS_EXECUTOR_MESSAGES_OUT\"; sleep 30"),
                ]
            }
            func states(_ task: String) -> [TaskState] {
                log.updates.withLock { $0.filter { $0.taskID.value == task }.map(\.state) }
            }
            try await wait("ok and three to end") {
                states("ok").last == .taskFinished && states("three").last == .taskFailed
            }
            #expect(states("ok") == [.taskStarting, .taskRunning, .taskFinished])
            let three = log.updates.withLock { $0.last { $0.taskID.value == "three" } }
            #expect(three?.message == "Command exited with status 3")
            #expect(three?.source == .executor)
            #expect(three?.executorID.value == "swift-exec")

            // Task → scheduler, and scheduler → task (the executor appends it to messages.in in the sandbox).
            try await wait("the task's message") { log.messages.withLock { $0.contains("hello-from-task") } }
            let agentID = try #require(log.updates.withLock { $0.first?.agentID })
            try await client.message(agentID: agentID, executorID: executor.executorID, data: Data("hi executor".utf8))

            // KILL: TASK_KILLING (the framework knows it), then TASK_KILLED by SIGTERM.
            try await wait("talker running") { states("talker").contains(.taskRunning) }
            try await client.kill(taskID: "talker", agentID: agentID)
            try await wait("talker killed") { states("talker").last == .taskKilled }
            #expect(Array(states("talker").suffix(2)) == [.taskKilling, .taskKilled])
            let killed = log.updates.withLock { $0.last { $0.taskID.value == "talker" } }
            #expect(killed?.message == "Command terminated with signal Terminated")

            // SHUTDOWN: the executor exits; the framework hears FAILURE for it with status 0.
            try await client.shutdownExecutor(executor.executorID, agentID: agentID)
            try await wait("the executor's end") { !log.failures.withLock { $0.isEmpty } }
            #expect(log.failures.withLock { $0.first?.0 } == executor.executorID)
            try await client.stop(teardown: true)
            driver.cancel()
        }
    }

    @Test("a task's kill policy sets its grace; SHUTDOWN ends it in the executor's grace period and the executor exits by itself")
    func killPolicyAndShutdown() async throws {
        guard ProcessInfo.processInfo.environment["MESOS_MASTER"] == nil else { return }
        try await LocalCluster.with { cluster in
            let client = SchedulerClient(configuration: SchedulerConfiguration(masters: [cluster.url]))
            var info = FrameworkInfo()
            info.user = "root"
            info.name = "executor-kill-policy"
            var killing = FrameworkInfo.Capability()
            killing.type = .taskKillingState
            info.capabilities = [killing]
            let events = try await client.subscribe(info)
            let log = Log()
            let executor = {
                var executor = Self.executor("policy-exec")
                executor.shutdownGracePeriod.nanoseconds = 4_000_000_000
                return executor
            }()
            let driver = Self.drive(client, events, log) { offer in
                // Deaf to SIGTERM; says so once the trap is set.
                var task = Self.task("stubborn", on: offer, executor: executor, command: "trap '' TERM; echo deaf >> \"$MESOS_EXECUTOR_MESSAGES_OUT\"; sleep 600")
                task.killPolicy.gracePeriod.nanoseconds = 600_000_000_000  // ten minutes
                return [task]
            }
            func states() -> [TaskState] { log.updates.withLock { $0.map(\.state) } }
            try await wait("the task running, deaf") { states().contains(.taskRunning) && log.messages.withLock { $0.contains("deaf") } }
            let agentID = try #require(log.updates.withLock { $0.first?.agentID })

            // A KILL without a policy of its own: the task's ten minutes apply, not the 3 s default.
            try await client.kill(taskID: "stubborn", agentID: agentID)
            try await wait("TASK_KILLING") { states().last == .taskKilling }
            try await Task.sleep(for: .seconds(4))
            #expect(states().last == .taskKilling, "\(states())")

            // SHUTDOWN brings the SIGKILL forward: 4 s of grace less 2 s for the forced kill and the update.
            try await client.shutdownExecutor(executor.executorID, agentID: agentID)
            try await wait("the task's end") { states().last == .taskKilled }
            let killed = log.updates.withLock { $0.last }
            #expect(killed?.message == "Command terminated with signal Killed", "\(log.updates.withLock { $0.map { "\($0.state) \($0.source) \($0.message) \($0.timestamp)" } })")
            #expect(killed?.source == .executor)
            // The executor had its update acknowledged and exited on its own (status 0) before the agent's grace
            // period ran out; an executor the agent has to kill ends with a signal.
            try await wait("the executor's end") { !log.failures.withLock { $0.isEmpty } }
            #expect(log.failures.withLock { $0.first?.1 } == 0)
            try await client.stop(teardown: true)
            driver.cancel()
        }
    }

    /// A framework on a local cluster whose one task goes to a placeholder executor process (`sleep`) the agent
    /// starts, while the test is that executor, in process: `body` gets the environment an agent would give it, the
    /// framework's log and the executor's sandbox (a directory of the test's). `variables` go into the environment.
    static func withInProcessExecutor(
        _ name: String,
        checkpoint: Bool = false,
        variables: [String: String] = [:],
        taskCommand: String,
        _ body: (ExecutorEnvironment, Log, LocalCluster) async throws -> Void
    ) async throws {
        let sandbox = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: sandbox, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: sandbox) }
        try await LocalCluster.with { cluster in
            let client = SchedulerClient(configuration: SchedulerConfiguration(masters: [cluster.url]))
            var info = FrameworkInfo()
            info.user = "root"
            info.name = name
            info.checkpoint = checkpoint
            info.failoverTimeout = 60
            let events = try await client.subscribe(info)
            let log = Log()
            var placeholder = ExecutorInfo()
            placeholder.executorID = ExecutorID(name)
            placeholder.type = .custom
            placeholder.command.value = "sleep 1000"
            placeholder.resources = [Resource(name: "cpus", scalar: 0.1), Resource(name: "mem", scalar: 32)]
            let executorInfo = placeholder
            let driver = Self.drive(client, events, log) { offer in
                [Self.task(name, on: offer, executor: executorInfo, command: taskCommand)]
            }
            try await Self.waitFor("the executor launched") { log.launched.withLock { $0 } }
            var variables = variables
            variables["MESOS_AGENT_ENDPOINT"] = String(cluster.agents[0].endpoint.dropFirst("http://".count))
            variables["MESOS_FRAMEWORK_ID"] = try #require(client.frameworkID).value
            variables["MESOS_EXECUTOR_ID"] = name
            variables["MESOS_DIRECTORY"] = sandbox
            variables["MESOS_CHECKPOINT"] = checkpoint ? "1" : "0"
            try await body(try ExecutorEnvironment(variables), log, cluster)
            try await client.stop(teardown: true)
            driver.cancel()
        }
    }

    /// Runs an in-process executor's events through `handle` until it returns true or the events end. The agent
    /// refuses a SUBSCRIBE (4xx) until the ACCEPT has reached it, so a refused one is made again.
    static func runExecutor(
        _ environment: ExecutorEnvironment,
        heartbeatInterval: Duration? = nil,
        until handle: (ExecutorClient, ExecutorClient.Event) async throws -> Bool
    ) async throws {
        for _ in 0..<200 {
            let executor = ExecutorClient(environment: environment, heartbeatInterval: heartbeatInterval)
            do {
                for try await event in executor.events() where try await handle(executor, event) { return }
                return
            } catch let error as ExecutorError where error.code == .refused {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        Issue.record("the agent refused the executor's SUBSCRIBE 200 times")
    }

    static func waitFor(_ what: String, timeout: Duration = .seconds(30), _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while !condition() {
            guard ContinuousClock.now < deadline else {
                Issue.record("timed out waiting for \(what)")
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    @Test("TaskRunner: a KILL that comes while a task's command is being started ends it TASK_KILLED, and the command never runs")
    func killDuringStart() async throws {
        guard ProcessInfo.processInfo.environment["MESOS_MASTER"] == nil else { return }
        try await Self.withInProcessExecutor("early", taskCommand: "touch ran") { environment, log, _ in
            var runner: TaskRunner?
            try await Self.runExecutor(environment) { executor, event in
                guard case .launch(let task) = event else { return false }
                let taskRunner = TaskRunner(client: executor)
                let start = taskRunner.launch(task)
                await taskRunner.kill(task.taskID, policy: nil)  // while its TASK_STARTING is on its way
                await start.value
                runner = taskRunner
                return true
            }
            let used = try #require(runner)
            try await wait("the task's end") { log.updates.withLock { $0.last?.state == .taskKilled } }
            #expect(log.updates.withLock { $0.map(\.state) } == [.taskStarting, .taskKilled])
            #expect(log.updates.withLock { $0.last?.message } == "Task killed before its command was started")
            #expect(!FileManager.default.fileExists(atPath: environment.sandbox + "/ran"))
            #expect(used.running.isEmpty)
        }
    }

    @Test("ExecutorClient: an outage of the agent is one .disconnected however many attempts it takes, then SUBSCRIBED again")
    func oneDisconnectPerOutage() async throws {
        guard ProcessInfo.processInfo.environment["MESOS_MASTER"] == nil else { return }
        let variables = ["MESOS_SUBSCRIPTION_BACKOFF_MAX": "50ms", "MESOS_RECOVERY_TIMEOUT": "1mins"]  // many attempts
        try await Self.withInProcessExecutor("outage", checkpoint: true, variables: variables, taskCommand: "sleep 1000") {
            environment, _, cluster in
            let seen = Mutex<[String]>([])
            let reader = Task {
                try await Self.runExecutor(environment) { _, event in
                    switch event {
                    case .subscribed: seen.withLock { $0.append("subscribed") }
                    case .disconnected: seen.withLock { $0.append("disconnected") }
                    default: break
                    }
                    return false
                }
            }
            try await wait("subscribed") { seen.withLock { $0 == ["subscribed"] } }
            try await cluster.agents[0].restartEndpoint(downtime: .seconds(1))
            try await wait("subscribed again") { seen.withLock { $0.filter { $0 == "subscribed" }.count } == 2 }
            #expect(seen.withLock { $0 } == ["subscribed", "disconnected", "subscribed"])
            reader.cancel()
        }
    }

    @Test("ExecutorClient sends a HEARTBEAT call every heartbeatInterval while subscribed, as Mesos's executor library does")
    func heartbeatCalls() async throws {
        guard ProcessInfo.processInfo.environment["MESOS_MASTER"] == nil else { return }
        try await Self.withInProcessExecutor("beating", taskCommand: "sleep 1000") { environment, _, cluster in
            let subscribed = Mutex(false)
            let reader = Task {
                try await Self.runExecutor(environment, heartbeatInterval: .milliseconds(100)) { _, event in
                    if case .subscribed = event { subscribed.withLock { $0 = true } }
                    return false
                }
            }
            try await wait("subscribed") { subscribed.withLock { $0 } }
            try await wait("three HEARTBEAT calls") { cluster.agents[0].executorHeartbeatCalls("beating") >= 3 }
            reader.cancel()
        }
        // The default: one every 30 minutes, as `DEFAULT_HEARTBEAT_CALL_INTERVAL`.
        let environment = try ExecutorEnvironment(ExecutorEnvironmentTests.complete)
        #expect(ExecutorClient(environment: environment).heartbeatInterval == .seconds(1800))
    }

    @Test("agent restart with checkpointing: the executor subscribes again and its updates arrive, none lost or doubled")
    func agentRestart() async throws {
        guard ProcessInfo.processInfo.environment["MESOS_MASTER"] == nil else { return }
        try await LocalCluster.with { cluster in
            let client = SchedulerClient(configuration: SchedulerConfiguration(masters: [cluster.url]))
            var info = FrameworkInfo()
            info.user = "root"
            info.name = "executor-restart"
            info.checkpoint = true
            info.failoverTimeout = 60
            let events = try await client.subscribe(info)
            let log = Log()
            let executor = Self.executor("restarting-exec")
            let driver = Self.drive(client, events, log) { offer in
                [Self.task("slow", on: offer, executor: executor, command: "sleep 0.5")]  // ends while the endpoint is down
            }
            try await wait("the task running") { log.updates.withLock { $0.contains { $0.state == .taskRunning } } }
            // The agent goes away while the task runs and comes back; the task ends while the endpoint is down or
            // just after, so its terminal update may travel in the executor's new SUBSCRIBE.
            try await cluster.agents[0].restartEndpoint(downtime: .milliseconds(800))
            try await wait("the task's end") { log.updates.withLock { $0.contains { $0.state == .taskFinished } } }
            try await Task.sleep(for: .milliseconds(300))
            let updates = log.updates.withLock { $0 }
            let uuids = Set(updates.map(\.uuid))
            // Every update once (a repeat of an unacknowledged one would carry the same uuid), in order.
            var seen = Set<Data>()
            let states = updates.filter { seen.insert($0.uuid).inserted }.map(\.state)
            #expect(states == [.taskStarting, .taskRunning, .taskFinished])
            #expect(uuids.count == 3)
            try await client.stop(teardown: true)
            driver.cancel()
        }
    }

    @Test("agent restart without checkpointing: the executor exits, the framework hears FAILURE and the task ends")
    func agentRestartWithoutCheckpointing() async throws {
        guard ProcessInfo.processInfo.environment["MESOS_MASTER"] == nil else { return }
        try await LocalCluster.with { cluster in
            let client = SchedulerClient(configuration: SchedulerConfiguration(masters: [cluster.url]))
            var info = FrameworkInfo()
            info.user = "root"
            info.name = "executor-no-checkpoint"
            let events = try await client.subscribe(info)
            let log = Log()
            let executor = Self.executor("fragile-exec")
            let driver = Self.drive(client, events, log) { offer in
                [Self.task("long", on: offer, executor: executor, command: "sleep 30")]
            }
            try await wait("the task running") { log.updates.withLock { $0.contains { $0.state == .taskRunning } } }
            try await cluster.agents[0].restartEndpoint(downtime: .milliseconds(300))
            try await wait("the executor's end") { !log.failures.withLock { $0.isEmpty } }
            #expect(log.failures.withLock { $0.first?.0 } == executor.executorID)
            try await wait("the task's end") {
                log.updates.withLock { $0.last { $0.taskID.value == "long" }.map { ![.taskStarting, .taskRunning].contains($0.state) } ?? false }
            }
            let last = log.updates.withLock { $0.last { $0.taskID.value == "long" } }
            #expect(last.map { [.taskFailed, .taskKilled, .taskLost, .taskGone].contains($0.state) } == true)
            try await client.stop(teardown: true)
            driver.cancel()
        }
    }

    @Test("outside an agent the executor names the missing variable and exits non-zero")
    func badEnvironment() async throws {
        let result = try await TestProcess.run(
            Self.binary, environment: ["PATH": "/usr/bin:/bin", "MESOS_AGENT_ENDPOINT": "127.0.0.1:1"]
        )
        #expect(result.status == 1)
        #expect(result.errorText.contains("MESOS_FRAMEWORK_ID"))
    }

    @Test("an unreachable agent without checkpointing: a clear error and a non-zero exit")
    func unreachable() async throws {
        let result = try await TestProcess.run(
            Self.binary,
            environment: [
                "PATH": "/usr/bin:/bin", "MESOS_AGENT_ENDPOINT": "127.0.0.1:1", "MESOS_FRAMEWORK_ID": "f",
                "MESOS_EXECUTOR_ID": "e", "MESOS_DIRECTORY": FileManager.default.temporaryDirectory.path, "MESOS_CHECKPOINT": "0",
            ]
        )
        #expect(result.status == 2)
        #expect(result.errorText.contains("cannot reach the agent at"), "\(result.errorText)")
        #expect(result.errorText.contains("127.0.0.1:1"))
        #expect(result.errorText.contains("does not checkpoint"))
    }

    @Test("checkpointing: retries until the recovery timeout, then gives up with exit status 2")
    func recoveryTimeout() async throws {
        let result = try await TestProcess.run(
            Self.binary,
            environment: [
                "PATH": "/usr/bin:/bin", "MESOS_AGENT_ENDPOINT": "127.0.0.1:1", "MESOS_FRAMEWORK_ID": "f",
                "MESOS_EXECUTOR_ID": "e", "MESOS_DIRECTORY": FileManager.default.temporaryDirectory.path, "MESOS_CHECKPOINT": "1",
                "MESOS_RECOVERY_TIMEOUT": "500ms", "MESOS_SUBSCRIPTION_BACKOFF_MAX": "50ms",
            ]
        )
        #expect(result.status == 2)
        #expect(result.errorText.contains("did not come back"))
    }
}
