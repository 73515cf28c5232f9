import Foundation
import Mesos
import MesosArtifacts
@testable import MesosLauncher
import MesosLocal
import MesosOffers
import MesosScheduler
import Synchronization
import Testing

/// Tasks and groups picked up by a restarted launcher keep their retry policy: one that fails after the restart is
/// launched again (with its artifacts served by the new process), and the recovered handle sees the new attempt.
@Suite("Launcher: recovered tasks and groups are retried", .timeLimit(.minutes(3)))
struct FailoverRetryTests {
    struct TimedOut: Error, CustomStringConvertible {
        var what: String
        var description: String { "timed out waiting for \(self.what)" }
    }

    /// `body`'s result, or ``TimedOut`` after `limit` (the body is cancelled; a wait that ignores cancellation is left
    /// behind rather than awaited, so the test fails instead of hanging).
    static func within<T: Sendable>(
        _ limit: Duration,
        _ what: String,
        _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let resumed = Mutex(false)
            let finish: @Sendable (Result<T, any Error>) -> Void = { result in
                guard resumed.withLock({ done in defer { done = true }; return !done }) else { return }
                continuation.resume(with: result)
            }
            let timer = Mutex<Task<Void, Never>?>(nil)
            let work = Task {
                do { finish(.success(try await body())) } catch { finish(.failure(error)) }
                timer.withLock { $0?.cancel() }
            }
            timer.withLock { timer in
                timer = Task {
                    try? await Task.sleep(for: limit)
                    guard !Task.isCancelled else { return }
                    work.cancel()
                    finish(.failure(TimedOut(what: what)))
                }
            }
        }
    }

    /// Waits (60 s at most) for an update of `handle` in `state`, and returns it.
    @discardableResult
    static func waitFor(_ state: TaskState, on handle: TaskHandle) async throws -> TaskStatus {
        let seen = try await Self.within(.seconds(60), "\(handle.name) to reach \(state)") { () -> TaskStatus? in
            for await status in handle.updates where status.state == state { return status }
            return nil
        }
        return try #require(seen, "\(handle.name) ended before reaching \(state)")
    }

    /// Every status of the handle (which has ended), by task ID.
    static func statesByTaskID(_ handle: TaskHandle) async throws -> [String: [TaskState]] {
        try await Self.within(.seconds(10), "the updates of \(handle.name) to end") {
            var byID: [String: [TaskState]] = [:]
            for await status in handle.updates { byID[status.taskID.value, default: []].append(status.state) }
            return byID
        }
    }

    /// A local cluster, a state directory, and the launcher configuration that uses them; the directory and the files
    /// named after it are removed afterwards.
    static func withFailoverCluster(
        _ name: String,
        _ body: (LauncherConfiguration, _ scratch: String) async throws -> Void
    ) async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString.prefix(6))").path
        defer {
            for suffix in ["", "-release", "-marker", "-marker-peer", "-payload.txt"] {
                try? FileManager.default.removeItem(atPath: scratch + suffix)
            }
        }
        try await LocalCluster.with { cluster in
            var configuration = LauncherConfiguration(masters: [cluster.url], frameworkName: name)
            configuration.framework.failoverTimeout = 60
            configuration.stateDirectory = scratch
            try await body(configuration, scratch)
        }
    }

    /// Starts a launcher and runs `body` with it; the launcher is shut down (killing its tasks) whatever happens.
    static func withLauncher(_ configuration: LauncherConfiguration, _ body: (MesosLauncher) async throws -> Void) async throws {
        let launcher = MesosLauncher(configuration: configuration)
        try await launcher.start()
        do {
            try await body(launcher)
        } catch {
            await launcher.shutdown(.killTasks(grace: .seconds(2)))
            throw error
        }
        await launcher.shutdown(.killTasks(grace: .seconds(2)))
    }

    /// A shell line that fails with `code` on its first run (once `release` exists) and exits 0 on any later run.
    static func failsOnce(marker: String, release: String, code: Int) -> String {
        "if [ -e '\(marker)' ]; then exit 0; fi; touch '\(marker)'; while [ ! -e '\(release)' ]; do sleep 0.05; done; exit \(code)"
    }

    @Test("a recovered task that fails after the restart is retried by its policy; its handle sees attempt 2 succeed")
    func taskRetriedAfterFailover() async throws {
        guard ProcessInfo.processInfo.environment["MESOS_MASTER"] == nil else { return }
        try await Self.withFailoverCluster("failover-retry") { configuration, scratch in
            let release = scratch + "-release"
            let taskID = "flaky-\(UUID().uuidString.prefix(6).lowercased())"
            let first = MesosLauncher(configuration: configuration)
            try await first.start()
            var spec = TaskSpec(name: "flaky", shell: Self.failsOnce(marker: scratch + "-marker", release: release, code: 3))
            spec.taskID = TaskID(taskID)
            spec.retry = TaskSpec.RetryPolicy(attempts: 3, backoff: .milliseconds(100))
            let handle = try await first.submit(spec)
            do { try await Self.waitFor(.taskRunning, on: handle) } catch {
                await first.shutdown(.killTasks(grace: .seconds(2)))
                throw error
            }
            await first.shutdown(.leaveRunning)

            try await Self.withLauncher(configuration) { second in
                let recovered = try #require(await second.recoveredTasks.first)
                #expect(await second.recoveredTasks.count == 1)
                #expect(recovered.taskID?.value == taskID)
                FileManager.default.createFile(atPath: release, contents: nil)
                let outcome = try await Self.within(.seconds(60), "the recovered task's outcome") { try await recovered.result() }
                #expect(outcome.state == .taskFinished, "\(outcome.status.message)")
                #expect(outcome.exitCode == 0)
                #expect(outcome.attempts == 2)
                #expect(recovered.taskID?.value == "\(taskID).attempt-2")
                let byID = try await Self.statesByTaskID(recovered)
                #expect(byID[taskID]?.last == .taskFailed, "\(byID)")
                #expect(byID["\(taskID).attempt-2"]?.last == .taskFinished, "\(byID)")
                #expect(byID.count == 2, "\(byID)")
            }
        }
    }

    @Test("a recovered task group whose member fails after the restart is retried whole; the handles see attempt 2")
    func groupRetriedAfterFailover() async throws {
        guard ProcessInfo.processInfo.environment["MESOS_MASTER"] == nil else { return }
        try await Self.withFailoverCluster("group-failover-retry") { configuration, scratch in
            let release = scratch + "-release"
            let first = MesosLauncher(configuration: configuration)
            try await first.start()
            var spec = TaskGroupSpec(name: "pod", tasks: [
                TaskSpec(name: "check", shell: Self.failsOnce(marker: scratch + "-marker", release: release, code: 4)),
                TaskSpec(name: "peer", shell: Self.failsOnce(marker: scratch + "-marker-peer", release: release, code: 0)),
            ])
            spec.retry = TaskSpec.RetryPolicy(attempts: 2, backoff: .milliseconds(100))
            let group = try await first.submitGroup(spec)
            do {
                for member in group.tasks { try await Self.waitFor(.taskRunning, on: member) }
            } catch {
                await first.shutdown(.killTasks(grace: .seconds(2)))
                throw error
            }
            let firstIDs = group.tasks.compactMap(\.taskID?.value)
            let firstExecutor = group.executorID
            await first.shutdown(.leaveRunning)

            try await Self.withLauncher(configuration) { second in
                let recovered = try #require(await second.recoveredGroups.first)
                #expect(recovered.tasks.compactMap(\.taskID?.value) == firstIDs)
                FileManager.default.createFile(atPath: release, contents: nil)
                let outcome = try await Self.within(.seconds(60), "the recovered group's outcome") { try await recovered.result() }
                #expect(outcome.succeeded, "\(outcome.outcomes.map(\.status.message))")
                #expect(outcome.outcomes.map(\.attempts) == [2, 2])
                #expect(recovered.executorID != firstExecutor)
                var statesByMember: [[String: [TaskState]]] = []
                for (index, member) in recovered.tasks.enumerated() {
                    let byID = try await Self.statesByTaskID(member)
                    statesByMember.append(byID)
                    #expect(byID.count == 2, "one task ID per attempt: \(byID)")
                    #expect(byID[firstIDs[index]] != nil, "\(byID)")
                    let current = try #require(member.taskID?.value)
                    #expect(current != firstIDs[index])
                    #expect(byID[current]?.last == .taskFinished, "\(byID)")
                }
                // The check failed on attempt 1 and brought the group down.
                let checkStates = try #require(statesByMember.first)
                #expect(checkStates[firstIDs[0]]?.last == .taskFailed, "\(checkStates)")
            }
        }
    }

    @Test("a recovered task retried after the restart fetches its local artifact from the new artifact server")
    func artifactServedAgainAfterFailover() async throws {
        guard ProcessInfo.processInfo.environment["MESOS_MASTER"] == nil else { return }
        try await Self.withFailoverCluster("artifact-failover-retry") { configuration, scratch in
            let release = scratch + "-release"
            let payloadPath = scratch + "-payload.txt"
            let payload = "payload-\(UUID().uuidString)"
            try payload.write(toFile: payloadPath, atomically: true, encoding: .utf8)
            let name = URL(fileURLWithPath: payloadPath).lastPathComponent
            let first = MesosLauncher(configuration: configuration)
            try await first.start()
            // Each attempt checks the artifact in its own sandbox first: exit 9 when it is not there.
            var spec = TaskSpec(
                name: "with-artifact",
                shell: "test \"$(cat '\(name)')\" = '\(payload)' || exit 9; "
                    + Self.failsOnce(marker: scratch + "-marker", release: release, code: 3)
            )
            // Not cached: the agent fetches every attempt's URI itself.
            spec.artifacts = [.file(payloadPath, cache: false)]
            spec.retry = TaskSpec.RetryPolicy(attempts: 2, backoff: .milliseconds(100))
            let handle = try await first.submit(spec)
            do { try await Self.waitFor(.taskRunning, on: handle) } catch {
                await first.shutdown(.killTasks(grace: .seconds(2)))
                throw error
            }
            #expect(await first.registeredArtifacts.count == 1)
            #expect(await first.artifactBytesServed >= payload.utf8.count)
            // The old process's artifact server goes away with it.
            await first.shutdown(.leaveRunning)

            try await Self.withLauncher(configuration) { second in
                let recovered = try #require(await second.recoveredTasks.first)
                #expect(await second.artifactBytesServed == 0)
                FileManager.default.createFile(atPath: release, contents: nil)
                let outcome = try await Self.within(.seconds(60), "the recovered task's outcome") { try await recovered.result() }
                #expect(outcome.state == .taskFinished, "\(outcome.status.message)")
                #expect(outcome.exitCode == 0)
                #expect(outcome.attempts == 2)
                // The file, registered again with the new process's server, which served it to the new attempt.
                #expect(await second.registeredArtifacts.count == 1)
                #expect(await second.artifactBytesServed >= payload.utf8.count)
            }
        }
    }

    @Test("a tasks.json written before specs were kept still loads: the task is recovered, and not retried")
    func oldFormatStillLoads() async throws {
        guard ProcessInfo.processInfo.environment["MESOS_MASTER"] == nil else { return }
        try await Self.withFailoverCluster("old-format") { configuration, scratch in
            let release = scratch + "-release"
            let first = MesosLauncher(configuration: configuration)
            try await first.start()
            var spec = TaskSpec(name: "legacy", shell: "while [ ! -e '\(release)' ]; do sleep 0.05; done; exit 3")
            spec.retry = TaskSpec.RetryPolicy(attempts: 3, backoff: .milliseconds(100))
            let handle = try await first.submit(spec)
            do { try await Self.waitFor(.taskRunning, on: handle) } catch {
                await first.shutdown(.killTasks(grace: .seconds(2)))
                throw error
            }
            let taskID = try #require(handle.taskID?.value)
            let agentID = try #require(handle.agentID?.value)
            await first.shutdown(.leaveRunning)
            // The task list as the launcher wrote it before specs were kept.
            let old = #"[{"agentID":"\#(agentID)","attempt":1,"name":"legacy","taskID":"\#(taskID)"}]"#
            try old.write(toFile: scratch + "/tasks.json", atomically: true, encoding: .utf8)

            try await Self.withLauncher(configuration) { second in
                let recovered = await second.recoveredTasks
                #expect(recovered.map(\.name) == ["legacy"])
                #expect(recovered.first?.taskID?.value == taskID)
                #expect(recovered.first?.agentID?.value == agentID)
                FileManager.default.createFile(atPath: release, contents: nil)
                let task = try #require(recovered.first)
                let outcome = try await Self.within(.seconds(60), "the recovered task's outcome") { try await task.result() }
                #expect(outcome.state == .taskFailed)
                #expect(outcome.exitCode == 3)
                #expect(outcome.attempts == 1)
            }
        }
    }

    @Test("a spec with every field reads back as written from the state directory's JSON")
    func savedSpecRoundTrip() throws {
        var spec = TaskSpec(name: "full", argv: ["/bin/echo", "a b", "c"])
        spec.taskID = TaskID("full-1")
        spec.resources = TaskSpec.Resources(cpus: 0.25, mem: 64, disk: 10, gpus: 1, ports: 2)
        spec.role = "analytics"
        spec.constraints = [
            try PlacementConstraint(parsing: "hostname:UNIQUE"),
            try PlacementConstraint(parsing: "rack:GROUP_BY:3", soft: true),
            try PlacementConstraint(parsing: "@zone:LIKE:us-east-1[ab]"),
        ]
        spec.environment = ["A": "1", "B": "two words"]
        spec.labels = ["team": "data"]
        var container = ContainerInfo()
        container.type = .docker
        container.docker.image = "alpine:3"
        spec.container = container
        var health = Mesos_V1_HealthCheck()
        health.type = .command
        health.command.value = "true"
        health.intervalSeconds = 5
        spec.healthCheck = health
        spec.killGracePeriod = .milliseconds(1500)
        spec.retry = TaskSpec.RetryPolicy(attempts: 4, backoff: .milliseconds(250), retryOn: [.taskFailed, .taskLost])
        var remote = CommandInfo.URI()
        remote.value = "https://example.org/tool.tar.gz"
        remote.extract = true
        remote.outputFile = "tool.tgz"
        spec.artifacts = [
            .file("/data/in.csv", executable: true, extract: false, cache: false, outputFile: "input.csv"),
            .directory("/data/app", extract: false, cache: true),
            .uri(remote),
        ]
        spec.data = [0, 1, 2, 255]
        spec.group = "jobs"

        let saved = try SavedTaskSpec(spec)
        let decoded = try JSONDecoder().decode(SavedTaskSpec.self, from: try JSONEncoder().encode(saved))
        let back = try decoded.spec()
        #expect(try SavedTaskSpec(back) == saved)
        #expect(back.command == .argv(["/bin/echo", "a b", "c"]))
        #expect(back.taskID == TaskID("full-1"))
        #expect(back.resources == spec.resources)
        #expect(back.constraints == spec.constraints)
        #expect(back.container == container)
        #expect(back.healthCheck == health)
        #expect(back.killGracePeriod == .milliseconds(1500))
        #expect(back.retry == spec.retry)
        #expect(back.artifacts == spec.artifacts)
        #expect(back.data == [0, 1, 2, 255])
        #expect(back.environment == spec.environment)

        var executor = ExecutorInfo()
        executor.executorID = ExecutorID("custom")
        executor.command.value = "./executor"
        var group = TaskGroupSpec(name: "pod", tasks: [TaskSpec(name: "by-executor", executor: executor), spec])
        group.executorResources = TaskSpec.Resources(cpus: 0.2, mem: 48, disk: 16)
        group.constraints = [try PlacementConstraint(parsing: "rack:CLUSTER:r1")]
        group.retry = TaskSpec.RetryPolicy(attempts: 2)
        let savedGroup = try SavedTaskGroupSpec(group)
        let backGroup = try JSONDecoder().decode(SavedTaskGroupSpec.self, from: try JSONEncoder().encode(savedGroup)).spec()
        #expect(try SavedTaskGroupSpec(backGroup) == savedGroup)
        #expect(backGroup.tasks.map(\.name) == ["by-executor", "full"])
        #expect(backGroup.tasks[0].executor == executor)
        #expect(backGroup.tasks[0].command == nil)
        #expect(backGroup.executorResources == group.executorResources)
        #expect(backGroup.constraints == group.constraints)
        #expect(backGroup.retry == group.retry)
    }

    @Test("a saved spec with values no spec could hold is refused with a LauncherError, not a crash")
    func savedSpecOutOfRange() throws {
        var spec = TaskSpec(name: "odd", shell: "true")
        spec.retry = TaskSpec.RetryPolicy(attempts: 2, backoff: .seconds(1))
        let good = try SavedTaskSpec(spec)
        #expect(try good.spec().retry == spec.retry)

        var hugeBackoff = good
        hugeBackoff.retry.backoff = .seconds(Int64.max)
        #expect(throws: LauncherError.self) { try hugeBackoff.spec() }
        var negativeGrace = good
        negativeGrace.killGracePeriod = .seconds(-1)
        #expect(throws: LauncherError.self) { try negativeGrace.spec() }
        var hugeGrace = good
        hugeGrace.killGracePeriod = .seconds(Int64.max)
        #expect(throws: LauncherError.self) { try hugeGrace.spec() }
        var notFinite = good
        notFinite.resources.cpus = .nan
        #expect(throws: LauncherError.self) { try notFinite.spec() }
        var tooManyPorts = good
        tooManyPorts.resources.ports = -3
        #expect(throws: LauncherError.self) { try tooManyPorts.spec() }
        var badConstraint = good
        badConstraint.constraints = [SavedTaskSpec.SavedConstraint(try PlacementConstraint(parsing: "hostname:UNIQUE"))]
        badConstraint.constraints[0].text = "hostname:NOPE"
        #expect(throws: LauncherError.self) { try badConstraint.spec() }
        var badContainer = good
        badContainer.container = "{\"type\": 12"
        #expect(throws: LauncherError.self) { try badContainer.spec() }
    }
}
