import Foundation
import Mesos
import MesosLocal
import NIOHTTP1
import Testing

/// Health checks as Mesos 1.11's command executor runs them: TASK_RUNNING with `healthy` and
/// REASON_TASK_HEALTH_CHECK_STATUS_UPDATED on the first success (not on the next ones) and on every counted failure;
/// the grace period; `consecutive_failures` failures kill the task, whose terminal update says `healthy: false`.
/// Checks: a `check_status` on every update, and an update with REASON_TASK_CHECK_STATUS_UPDATED when it changes.
@Suite("LocalAgent: health checks and checks", .timeLimit(.minutes(2)))
struct AgentHealthCheckTests {
    static func check(_ type: Mesos_V1_HealthCheck.TypeEnum, interval: Double = 0.1, grace: Double = 0, failures: UInt32 = 3) -> Mesos_V1_HealthCheck {
        var check = Mesos_V1_HealthCheck()
        check.type = type
        check.delaySeconds = 0
        check.intervalSeconds = interval
        check.timeoutSeconds = 5
        check.gracePeriodSeconds = grace
        check.consecutiveFailures = failures
        return check
    }

    static func commandCheck(_ command: String, interval: Double = 0.1, grace: Double = 0, failures: UInt32 = 3) -> Mesos_V1_HealthCheck {
        var check = Self.check(.command, interval: interval, grace: grace, failures: failures)
        check.command.value = command
        return check
    }

    /// The updates a health check made (TASK_RUNNING with its reason), as `healthy` values.
    static func healthUpdates(_ delegate: RecordingDelegate, _ task: String) -> [Bool] {
        delegate.updates(task).filter { $0.reason == .taskHealthCheckStatusUpdated }.map(\.healthy)
    }

    @Test("a passing check: one healthy update, on the first success only")
    func healthy() async throws {
        try await AgentTest.withAgent { agent, delegate in
            var task = AgentTest.task("fine", shell: "sleep 1000")
            task.healthCheck = Self.commandCheck("test -n \"$MESOS_SANDBOX\"")  // with the task's environment
            agent.launch(framework: AgentTest.framework(), executor: nil, tasks: [task], asGroup: false)
            try await delegate.wait("a healthy update") { _ in Self.healthUpdates(delegate, "fine") == [true] }
            try await Task.sleep(for: .milliseconds(600))  // several more successes
            #expect(Self.healthUpdates(delegate, "fine") == [true])
            let update = try #require(delegate.updates("fine").last)
            #expect(update.state == .taskRunning)
            #expect(update.source == .executor)
            #expect(update.hasHealthy)
            agent.kill(frameworkID: AgentTest.frameworkID, taskID: TaskID("fine"), killPolicy: nil)
            let killed = try await delegate.terminal("fine")
            #expect(killed.state == .taskKilled)
            #expect(!killed.hasHealthy)
        }
    }

    @Test("a failing check: an unhealthy update per failure, then the task is killed and ends healthy: false")
    func failing() async throws {
        try await AgentTest.withAgent { agent, delegate in
            var task = AgentTest.task("sick", shell: "sleep 1000")
            task.healthCheck = Self.commandCheck("exit 1", failures: 2)
            agent.launch(framework: AgentTest.framework(), executor: nil, tasks: [task], asGroup: false)
            let killed = try await delegate.terminal("sick")
            #expect(killed.state == .taskKilled)
            #expect(killed.hasHealthy && !killed.healthy)
            #expect(killed.message == "Command terminated with signal Terminated")
            #expect(Self.healthUpdates(delegate, "sick") == [false, false])
            #expect(delegate.states("sick") == [.taskStarting, .taskRunning, .taskRunning, .taskRunning, .taskKilling, .taskKilled])
        }
    }

    @Test("failures within the grace period before the first success are not counted")
    func gracePeriod() async throws {
        try await AgentTest.withAgent { agent, delegate in
            var task = AgentTest.task("slowstart", shell: "sleep 0.5; touch ready; sleep 1000")
            task.healthCheck = Self.commandCheck("test -f ready", grace: 30, failures: 1)
            agent.launch(framework: AgentTest.framework(), executor: nil, tasks: [task], asGroup: false)
            try await delegate.wait("a healthy update") { _ in !Self.healthUpdates(delegate, "slowstart").isEmpty }
            #expect(Self.healthUpdates(delegate, "slowstart") == [true])
            #expect(delegate.states("slowstart").last == .taskRunning)
            agent.kill(frameworkID: AgentTest.frameworkID, taskID: TaskID("slowstart"), killPolicy: nil)
            try await delegate.terminal("slowstart")
        }
    }

    @Test("HTTP (2xx and 3xx healthy, with curl as Mesos runs it) and TCP checks")
    func httpAndTCP() async throws {
        let server = try await TestHTTPServer.start([
            "/health": .init(body: Array("ok".utf8)),
            "/broken": .init(status: .serviceUnavailable, body: Array("no".utf8)),
        ])
        defer { Task { await server.close() } }
        try await AgentTest.withAgent { agent, delegate in
            var http = AgentTest.task("http-ok", shell: "sleep 1000")
            http.healthCheck = Self.check(.http)
            http.healthCheck.http.port = UInt32(server.port)
            http.healthCheck.http.path = "/health"
            var broken = AgentTest.task("http-503", shell: "sleep 1000")
            broken.healthCheck = Self.check(.http, failures: 1)
            broken.healthCheck.http.port = UInt32(server.port)
            broken.healthCheck.http.path = "/broken"
            var tcp = AgentTest.task("tcp-ok", shell: "sleep 1000")
            tcp.healthCheck = Self.check(.tcp)
            tcp.healthCheck.tcp.port = UInt32(server.port)
            for task in [http, broken, tcp] {
                agent.launch(framework: AgentTest.framework(), executor: nil, tasks: [task], asGroup: false)
            }
            try await delegate.wait("healthy HTTP and TCP updates") { _ in
                Self.healthUpdates(delegate, "http-ok") == [true] && Self.healthUpdates(delegate, "tcp-ok") == [true]
            }
            #expect(server.hitCount("/health") >= 1)
            let sick = try await delegate.terminal("http-503")
            #expect(sick.state == .taskKilled)
            #expect(sick.hasHealthy && !sick.healthy)
            for id in ["http-ok", "tcp-ok"] {
                agent.kill(frameworkID: AgentTest.frameworkID, taskID: TaskID(id), killPolicy: nil)
                try await delegate.terminal(id)
            }
        }
    }

    static func check(_ type: Mesos_V1_CheckInfo.TypeEnum) -> Mesos_V1_CheckInfo {
        var check = Mesos_V1_CheckInfo()
        check.type = type
        check.delaySeconds = 0
        check.intervalSeconds = 0.1
        check.timeoutSeconds = 5
        return check
    }

    static func checkUpdates(_ delegate: RecordingDelegate, _ task: String) -> [Mesos_V1_CheckStatusInfo] {
        delegate.updates(task).filter { $0.reason == .taskCheckStatusUpdated }.map(\.checkStatus)
    }

    @Test("a COMMAND check: empty check_status on the task's own updates, an update each time the exit code changes")
    func commandCheck() async throws {
        try await AgentTest.withAgent { agent, delegate in
            var task = AgentTest.task("checked", shell: "sleep 0.6; touch flag; sleep 1000")
            task.check = Self.check(.command)
            task.check.command.command.value = "test -f flag"
            agent.launch(framework: AgentTest.framework(), executor: nil, tasks: [task], asGroup: false)
            try await delegate.wait("two check results") { _ in Self.checkUpdates(delegate, "checked").count == 2 }
            #expect(Self.checkUpdates(delegate, "checked").map(\.command.exitCode) == [1, 0])
            #expect(Self.checkUpdates(delegate, "checked").allSatisfy { $0.type == .command })
            let first = try #require(delegate.updates("checked").first)
            #expect(first.state == .taskStarting)
            #expect(first.checkStatus.type == .command && first.checkStatus.hasCommand && !first.checkStatus.command.hasExitCode)
            try await Task.sleep(for: .milliseconds(400))
            #expect(Self.checkUpdates(delegate, "checked").count == 2)  // the same result again sends nothing
            agent.kill(frameworkID: AgentTest.frameworkID, taskID: TaskID("checked"), killPolicy: nil)
            let killed = try await delegate.terminal("checked")
            #expect(killed.checkStatus.hasCommand && !killed.checkStatus.command.hasExitCode)
        }
    }

    @Test("HTTP and TCP checks report what they find: a status code, whether a connection was made")
    func httpAndTCPChecks() async throws {
        let server = try await TestHTTPServer.start(["/busy": .init(status: .serviceUnavailable, body: Array("busy".utf8))])
        defer { Task { await server.close() } }
        try await AgentTest.withAgent { agent, delegate in
            var http = AgentTest.task("http-check", shell: "sleep 1000")
            http.check = Self.check(.http)
            http.check.http.port = UInt32(server.port)
            http.check.http.path = "/busy"
            var tcp = AgentTest.task("tcp-check", shell: "sleep 1000")
            tcp.check = Self.check(.tcp)
            tcp.check.tcp.port = 1  // nothing listens there
            for task in [http, tcp] {
                agent.launch(framework: AgentTest.framework(), executor: nil, tasks: [task], asGroup: false)
            }
            try await delegate.wait("both results") { _ in
                !Self.checkUpdates(delegate, "http-check").isEmpty && !Self.checkUpdates(delegate, "tcp-check").isEmpty
            }
            #expect(Self.checkUpdates(delegate, "http-check").first?.http.statusCode == 503)
            let tcpResult = Self.checkUpdates(delegate, "tcp-check").first
            #expect(tcpResult?.tcp.hasSucceeded == true && tcpResult?.tcp.succeeded == false)
            for id in ["http-check", "tcp-check"] {
                agent.kill(frameworkID: AgentTest.frameworkID, taskID: TaskID(id), killPolicy: nil)
                try await delegate.terminal(id)
            }
        }
    }
}
