import Foundation
import Mesos
import MesosLauncher
import MesosLocal
import MesosOffers
import MesosScheduler
import Testing

/// The launcher end to end: a local cluster in the test process (or the real master in MESOS_MASTER), real tasks.
@Suite("Launcher against a master", .timeLimit(.minutes(3)))
struct LauncherTests {
    /// Runs `body` with a launcher subscribed to MESOS_MASTER, or to a local cluster started for the test.
    static func withLauncher(
        agents: Int = 1,
        attributes: [Int: String] = [:],
        _ body: (MesosLauncher, LocalCluster?) async throws -> Void
    ) async throws {
        if let master = ProcessInfo.processInfo.environment["MESOS_MASTER"], !master.isEmpty {
            let launcher = MesosLauncher(configuration: LauncherConfiguration(masters: [master], frameworkName: "swift-mesos-tests"))
            try await launcher.start()
            try await body(launcher, nil)
            await launcher.shutdown(.killTasks(grace: .seconds(5)))
            return
        }
        var configuration = LocalClusterConfiguration()
        configuration.agents = agents
        configuration.agentAttributes = attributes
        try await LocalCluster.with(configuration) { cluster in
            let launcher = MesosLauncher(configuration: LauncherConfiguration(masters: [cluster.url], frameworkName: "swift-mesos-tests"))
            try await launcher.start()
            do {
                try await body(launcher, cluster)
            } catch {
                await launcher.shutdown(.killTasks(grace: .seconds(2)))
                throw error
            }
            await launcher.shutdown(.killTasks(grace: .seconds(2)))
        }
    }

    @Test("a command's exit status is the outcome's exit code; its updates arrive in order")
    func exitCodes() async throws {
        try await Self.withLauncher { launcher, _ in
            let ok = try await launcher.submit(TaskSpec(name: "ok", shell: "true"))
            let three = try await launcher.submit(TaskSpec(name: "three", shell: "exit 3"))
            let killed = try await launcher.submit(TaskSpec(name: "self-killed", shell: "kill -9 $$"))
            let okOutcome = try await ok.result()
            #expect(okOutcome.state == .taskFinished)
            #expect(okOutcome.exitCode == 0)
            #expect(okOutcome.succeeded)
            let threeOutcome = try await three.result()
            #expect(threeOutcome.state == .taskFailed)
            #expect(threeOutcome.exitCode == 3)
            #expect(threeOutcome.status.message == "Command exited with status 3")
            let killedOutcome = try await killed.result()
            #expect(killedOutcome.state == .taskFailed)
            #expect(killedOutcome.exitCode == 137)
            var states: [TaskState] = []
            for await status in ok.updates { states.append(status.state) }
            #expect(states == [.taskStarting, .taskRunning, .taskFinished])
        }
    }

    @Test("a spec made from a TaskInfo launches the fields a spec has no property for: max_completion_time ends the task")
    func taskInfoBase() async throws {
        try await Self.withLauncher { launcher, _ in
            var info = TaskInfo()
            info.name = "bounded"
            info.command.value = "sleep 30"
            info.maxCompletionTime.nanoseconds = 1_000_000_000
            info.resources = [Resource(name: "cpus", scalar: 0.1), Resource(name: "mem", scalar: 32)]
            let spec = TaskSpec(taskInfo: info)
            #expect(spec.taskInfo?.maxCompletionTime.nanoseconds == 1_000_000_000)
            let started = ContinuousClock.now
            let outcome = try await launcher.submit(spec).result()
            #expect(outcome.state == .taskFailed)
            #expect(outcome.status.reason == .maxCompletionTimeReached, "\(outcome.status.message)")
            #expect(ContinuousClock.now - started < .seconds(25), "the 30 s command was cut short")
        }
    }

    @Test("running tasks are reconciled every reconciliationInterval; answers that say nothing new do not reach the handle")
    func periodicReconciliation() async throws {
        guard ProcessInfo.processInfo.environment["MESOS_MASTER"] == nil else { return }
        try await LocalCluster.with(LocalClusterConfiguration()) { cluster in
            var configuration = LauncherConfiguration(masters: [cluster.url], frameworkName: "reconciling")
            configuration.reconciliationInterval = .milliseconds(300)
            let launcher = MesosLauncher(configuration: configuration)
            try await launcher.start()
            let handle = try await launcher.submit(TaskSpec(name: "steady", shell: "sleep 2"))
            let outcome = try await handle.result()
            #expect(outcome.succeeded)
            let frameworkID = try #require(launcher.frameworkID)
            #expect(cluster.master.reconcileCalls(of: frameworkID) >= 2, "about 6 in the 2 s the task ran")
            var states: [TaskState] = []
            for await status in handle.updates { states.append(status.state) }
            #expect(states == [.taskStarting, .taskRunning, .taskFinished])
            await launcher.shutdown(.killTasks(grace: .seconds(5)))
        }
    }

    @Test("local files and directories reach the sandbox through the artifact server")
    func artifacts() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("launcher-artifacts-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("tool"), withIntermediateDirectories: true)
        try "42\n".write(to: directory.appendingPathComponent("tool/answer.txt"), atomically: true, encoding: .utf8)
        try "#!/bin/sh\necho run\n".write(to: directory.appendingPathComponent("script.sh"), atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: directory) }
        try await Self.withLauncher { launcher, _ in
            var spec = TaskSpec(name: "artifacts", shell: "test \"$(cat tool/answer.txt)\" = 42 && test -x script.sh && ./script.sh")
            spec.artifacts = [
                .directory(directory.appendingPathComponent("tool").path),
                .file(directory.appendingPathComponent("script.sh").path, executable: true),
            ]
            let outcome = try await launcher.submit(spec).result()
            #expect(outcome.state == .taskFinished, "\(outcome.status.message)")
        }
    }

    @Test("a failing task is retried by its policy, each attempt with a new task ID")
    func retries() async throws {
        let marker = FileManager.default.temporaryDirectory.appendingPathComponent("retry-\(UUID().uuidString.prefix(6))").path
        defer { try? FileManager.default.removeItem(atPath: marker) }
        try await Self.withLauncher { launcher, _ in
            // Fails on the first attempt, succeeds on the second (the marker file survives across attempts).
            var spec = TaskSpec(name: "flaky", shell: "if [ -e \(marker) ]; then exit 0; else touch \(marker); exit 1; fi")
            spec.retry = TaskSpec.RetryPolicy(attempts: 3, backoff: .milliseconds(50))
            let handle = try await launcher.submit(spec)
            let outcome = try await handle.result()
            #expect(outcome.state == .taskFinished)
            #expect(outcome.attempts == 2)
            var ids = Set<String>()
            for await status in handle.updates { ids.insert(status.taskID.value) }
            #expect(ids.count == 2)
        }
    }

    @Test("kill ends a running task with TASK_KILLED and no retry")
    func kill() async throws {
        try await Self.withLauncher { launcher, _ in
            var spec = TaskSpec(name: "sleeper", shell: "sleep 60")
            spec.retry = TaskSpec.RetryPolicy(attempts: 3, backoff: .milliseconds(10), retryOn: [.taskKilled, .taskFailed])
            spec.killGracePeriod = .seconds(1)
            let handle = try await launcher.submit(spec)
            for await status in handle.updates where status.state == .taskRunning { break }
            try await handle.kill()
            let outcome = try await handle.result()
            #expect(outcome.state == .taskKilled)
            #expect(outcome.attempts == 1)
            #expect(outcome.exitCode == 143)
        }
    }

    @Test("instances with rack:UNIQUE run at once on different agents")
    func unique() async throws {
        guard ProcessInfo.processInfo.environment["MESOS_MASTER"] == nil else { return }
        try await Self.withLauncher(agents: 3, attributes: [0: "rack:r0", 1: "rack:r1", 2: "rack:r2"]) { launcher, _ in
            var handles: [TaskHandle] = []
            for index in 0..<3 {
                var spec = TaskSpec(name: "spread-\(index)", shell: "sleep 1")
                spec.group = "spread"
                spec.constraints = [try PlacementConstraint(parsing: "rack:UNIQUE")]
                handles.append(try await launcher.submit(spec))
            }
            var agents = Set<String>()
            for handle in handles {
                let outcome = try await handle.result()
                #expect(outcome.state == .taskFinished)
                agents.insert(outcome.status.agentID.value)
            }
            #expect(agents.count == 3)
        }
    }

    @Test("a restarted process with the same state directory fails over and picks up its running task")
    func failover() async throws {
        guard ProcessInfo.processInfo.environment["MESOS_MASTER"] == nil else { return }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("launcher-state-\(UUID().uuidString.prefix(6))").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await LocalCluster.with { cluster in
            var configuration = LauncherConfiguration(masters: [cluster.url], frameworkName: "failover")
            configuration.framework.failoverTimeout = 60
            configuration.stateDirectory = directory
            let first = MesosLauncher(configuration: configuration)
            try await first.start()
            // The task runs until the test lets it end, so a slow restart cannot outlast it.
            let release = directory + "-release"
            defer { try? FileManager.default.removeItem(atPath: release) }
            let handle = try await first.submit(TaskSpec(name: "long", shell: "while [ ! -e '\(release)' ]; do sleep 0.1; done"))
            for await status in handle.updates where status.state == .taskRunning { break }
            let frameworkID = first.frameworkID
            await first.shutdown(.leaveRunning)

            let second = MesosLauncher(configuration: configuration)
            try await second.start()
            #expect(second.frameworkID == frameworkID)
            let recovered = await second.recoveredTasks
            #expect(recovered.map(\.name) == ["long"])
            FileManager.default.createFile(atPath: release, contents: nil)
            let outcome = try await #require(recovered.first).result()
            #expect(outcome.state == .taskFinished)
            await second.shutdown(.killTasks(grace: .seconds(2)))
        }
    }
}
