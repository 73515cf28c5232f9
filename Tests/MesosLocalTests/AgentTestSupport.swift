import Foundation
import Logging
import Mesos
import MesosLocal
import MesosProcess
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import Testing

/// What an agent told its master, recorded; optionally acknowledges every update at once, as a scheduler would.
final class RecordingDelegate: LocalAgentDelegate {
    struct Recorded: Sendable {
        var updates: [TaskStatus] = []
        var messages: [(executorID: String, data: [UInt8])] = []
        var terminated: [(executorID: String, status: Int32?)] = []
    }

    let recorded = Mutex(Recorded())
    let autoAcknowledge: Bool
    let agent = Mutex<LocalAgent?>(nil)

    init(autoAcknowledge: Bool) { self.autoAcknowledge = autoAcknowledge }

    func agent(_ agentID: AgentID, didSend status: TaskStatus, frameworkID: FrameworkID) {
        self.recorded.withLock { $0.updates.append(status) }
        if self.autoAcknowledge, let agent = self.agent.withLock({ $0 }) {
            agent.acknowledge(frameworkID: frameworkID, taskID: status.taskID, uuid: Array(status.uuid))
        }
    }

    func agent(_ agentID: AgentID, didReceiveMessage data: [UInt8], from executorID: ExecutorID, frameworkID: FrameworkID) {
        self.recorded.withLock { $0.messages.append((executorID.value, data)) }
    }

    func agent(_ agentID: AgentID, executorTerminated executorID: ExecutorID, frameworkID: FrameworkID, status: Int32?) {
        self.recorded.withLock { $0.terminated.append((executorID.value, status)) }
    }

    var snapshot: Recorded { self.recorded.withLock { $0 } }

    func updates(_ taskID: String) -> [TaskStatus] {
        self.snapshot.updates.filter { $0.taskID.value == taskID }
    }

    func states(_ taskID: String) -> [TaskState] { self.updates(taskID).map(\.state) }

    /// Polls until `condition` holds, or fails the test after `timeout`.
    func wait(
        timeout: Duration = .seconds(20),
        _ what: String,
        sourceLocation: SourceLocation = #_sourceLocation,
        until condition: (Recorded) -> Bool
    ) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while clock.now < deadline {
            if condition(self.snapshot) { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("timed out waiting for \(what); updates: \(self.snapshot.updates.map { "\($0.taskID.value):\($0.state)" })", sourceLocation: sourceLocation)
        throw CancellationError()
    }

    /// Waits for a terminal update of `taskID` and returns it.
    @discardableResult
    func terminal(_ taskID: String, timeout: Duration = .seconds(20), sourceLocation: SourceLocation = #_sourceLocation) async throws -> TaskStatus {
        try await self.wait(timeout: timeout, "a terminal update of \(taskID)", sourceLocation: sourceLocation) { recorded in
            recorded.updates.contains { $0.taskID.value == taskID && Self.isTerminal($0.state) }
        }
        return self.updates(taskID).last { Self.isTerminal($0.state) }!
    }

    func waitForState(_ taskID: String, _ state: TaskState, timeout: Duration = .seconds(20), sourceLocation: SourceLocation = #_sourceLocation) async throws {
        try await self.wait(timeout: timeout, "\(taskID) in \(state)", sourceLocation: sourceLocation) { recorded in
            recorded.updates.contains { $0.taskID.value == taskID && $0.state == state }
        }
    }

    static func isTerminal(_ state: TaskState) -> Bool {
        [.taskFinished, .taskFailed, .taskKilled, .taskError, .taskLost, .taskDropped, .taskGone].contains(state)
    }
}

enum AgentTest {
    static let frameworkID = FrameworkID("fw-test-0000")

    static func makeTemporaryDirectory() -> String {
        var template = Array("/tmp/swift-mesos-agent-test-XXXXXX".utf8CString)
        return template.withUnsafeMutableBufferPointer { buffer in
            guard mkdtemp(buffer.baseAddress!) != nil else { return "/tmp" }
            return String(cString: buffer.baseAddress!)
        }
    }

    /// Runs `body` with a started agent on loopback, stopped afterwards.
    static func withAgent(
        autoAcknowledge: Bool = true,
        configure: (inout LocalAgentConfiguration) -> Void = { _ in },
        _ body: (LocalAgent, RecordingDelegate) async throws -> Void
    ) async throws {
        let work = self.makeTemporaryDirectory()
        var configuration = LocalAgentConfiguration(id: AgentID("agent-test-S0"), workDirectory: work)
        configuration.stopGracePeriod = .milliseconds(500)
        configure(&configuration)
        let delegate = RecordingDelegate(autoAcknowledge: autoAcknowledge)
        let agent = LocalAgent(configuration: configuration, delegate: delegate)
        delegate.agent.withLock { $0 = agent }
        try await agent.start()
        do {
            try await body(agent, delegate)
        } catch {
            await agent.stop()
            try? FileManager.default.removeItem(atPath: work)
            throw error
        }
        await agent.stop()
        try? FileManager.default.removeItem(atPath: work)
    }

    static func framework(capabilities: [FrameworkInfo.Capability.TypeEnum] = [.taskKillingState], checkpoint: Bool = false) -> FrameworkInfo {
        var framework = FrameworkInfo()
        framework.id = self.frameworkID
        framework.name = "agent-tests"
        framework.user = "root"
        framework.checkpoint = checkpoint
        framework.capabilities = capabilities.map { type in
            var capability = FrameworkInfo.Capability()
            capability.type = type
            return capability
        }
        return framework
    }

    static func resources() -> [Resource] {
        var cpus = Resource()
        cpus.name = "cpus"
        cpus.type = .scalar
        cpus.scalar.value = 0.1
        cpus.allocationInfo.role = "*"
        var mem = Resource()
        mem.name = "mem"
        mem.type = .scalar
        mem.scalar.value = 32
        mem.allocationInfo.role = "*"
        return [cpus, mem]
    }

    static func task(
        _ id: String,
        shell command: String,
        environment: [String: String] = [:],
        uris: [CommandInfo.URI] = [],
        gracePeriod: Duration? = nil
    ) -> TaskInfo {
        var task = TaskInfo()
        task.name = id
        task.taskID = TaskID(id)
        task.agentID = AgentID("agent-test-S0")
        task.resources = self.resources()
        task.command.value = command
        task.command.uris = uris
        if !environment.isEmpty {
            task.command.environment.variables = environment.sorted { $0.key < $1.key }.map { name, value in
                var variable = Mesos_V1_Environment.Variable()
                variable.name = name
                variable.value = value
                return variable
            }
        }
        if let gracePeriod { task.killPolicy.gracePeriod.nanoseconds = gracePeriod.nanosecondsValue }
        return task
    }

    static func uri(_ value: String, extract: Bool = false, executable: Bool = false, cache: Bool = false, outputFile: String? = nil) -> CommandInfo.URI {
        var uri = CommandInfo.URI()
        uri.value = value
        uri.extract = extract
        uri.executable = executable
        uri.cache = cache
        if let outputFile { uri.outputFile = outputFile }
        return uri
    }

    /// The sandbox of a command task: `<work>/slaves/<agent>/frameworks/<fw>/executors/<task>/runs/latest`.
    static func sandbox(_ agent: LocalAgent, executor: String) -> String {
        agent.configuration.workDirectory + "/slaves/agent-test-S0/frameworks/" + self.frameworkID.value + "/executors/"
            + executor + "/runs/latest"
    }

    static func read(_ path: String) -> String {
        (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }

    static func processExists(_ pid: pid_t) -> Bool {
        kill(pid, 0) == 0 || errno == EPERM
    }
}

extension Duration {
    var nanosecondsValue: Int64 {
        let (seconds, attoseconds) = self.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

/// A tiny HTTP/1.1 server for the fetcher's tests: fixed routes, redirects, and a count of requests per path.
final class TestHTTPServer: Sendable {
    struct Route: Sendable {
        var status: HTTPResponseStatus = .ok
        var headers: [(String, String)] = []
        var body: [UInt8] = []
    }

    let routes: Mutex<[String: Route]>
    let hits = Mutex<[String: Int]>([:])
    private let channel: any Channel

    var port: Int { self.channel.localAddress!.port! }
    var base: String { "http://127.0.0.1:\(self.port)" }

    private init(routes: [String: Route], channel: any Channel) {
        self.routes = Mutex(routes)
        self.channel = channel
    }

    static func start(_ routes: [String: Route]) async throws -> TestHTTPServer {
        let box = RouteBox()
        box.routes.withLock { $0 = routes }
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(box: box))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let server = TestHTTPServer(routes: routes, channel: channel)
        box.server.withLock { $0 = server }
        return server
    }

    func hitCount(_ path: String) -> Int { self.hits.withLock { $0[path] ?? 0 } }

    func close() async { try? await self.channel.close() }

    final class RouteBox: Sendable {
        let routes = Mutex<[String: Route]>([:])
        let server = Mutex<TestHTTPServer?>(nil)
    }

    final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let box: RouteBox
        var path = ""
        init(box: RouteBox) { self.box = box }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch self.unwrapInboundIn(data) {
            case .head(let head):
                self.path = String(head.uri.prefix { $0 != "?" })
            case .body:
                break
            case .end:
                let server = self.box.server.withLock { $0 }
                server?.hits.withLock { $0[self.path, default: 0] += 1 }
                let route = server?.routes.withLock { $0[self.path] } ?? Route(status: .notFound, body: Array("not found".utf8))
                var headers = HTTPHeaders(route.headers)
                headers.add(name: "Content-Length", value: String(route.body.count))
                context.write(self.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: route.status, headers: headers))), promise: nil)
                context.write(self.wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: route.body)))), promise: nil)
                context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}

/// Runs a shell command to completion (test setup only: making archives).
@discardableResult
func shell(_ command: String) throws -> Int32 {
    // posix_spawn, not Foundation's Process: its run() crashed a test run with many children starting at once.
    var spec = ProcessLauncher.Spec(
        argv: ["/bin/sh", "-c", command], environment: ProcessLauncher.currentEnvironment(),
        directory: FileManager.default.currentDirectoryPath, stdoutPath: "/dev/null", stderrPath: "/dev/null"
    )
    (spec.stdoutDescriptor, spec.stderrDescriptor) = (1, 2)
    let pid = try ProcessLauncher.spawn(spec)
    var status: Int32 = 0
    while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
    let wait = WaitStatus(raw: status)
    return wait.exited ? wait.exitCode : 128 + wait.signal
}
