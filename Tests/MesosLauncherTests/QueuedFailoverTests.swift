import Foundation
import Mesos
@testable import MesosLauncher
import MesosLocal
import Testing

/// Work that was not running when the launcher stopped (a task or a group waiting out its retry backoff, a task waiting
/// for an offer) is kept in the state directory and taken up by the next process.
@Suite("Launcher: queued work survives a restart", .timeLimit(.minutes(3)))
struct QueuedFailoverTests {
    typealias Support = FailoverRetryTests

    /// Waits (at most `limit`) until the state directory's task list satisfies `condition`.
    static func waitForSavedTasks(_ scratch: String, _ what: String, limit: Duration = .seconds(30), _ condition: @escaping @Sendable (String) -> Bool) async throws {
        try await Support.within(limit, what) {
            while true {
                let text = (try? String(contentsOfFile: scratch + "/tasks.json", encoding: .utf8)) ?? ""
                if condition(text) { return }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    /// A shell line that exits `code` on its first run and 0 on any later one.
    static func failsFirstRun(marker: String, code: Int) -> String {
        "if [ -e '\(marker)' ]; then exit 0; fi; touch '\(marker)'; exit \(code)"
    }

    @Test("a task waiting out its retry backoff when the launcher stops is launched by the next process when the backoff ends")
    func waitingTaskRetriedByNextProcess() async throws {
        guard ProcessInfo.processInfo.environment["MESOS_MASTER"] == nil else { return }
        try await Support.withFailoverCluster("queued-retry") { configuration, scratch in
            let backoff = 3.0
            let first = MesosLauncher(configuration: configuration)
            try await first.start()
            var spec = TaskSpec(name: "flaky", shell: Self.failsFirstRun(marker: scratch + "-marker", code: 5))
            spec.taskID = TaskID("flaky-\(UUID().uuidString.prefix(6).lowercased())")
            spec.retry = TaskSpec.RetryPolicy(attempts: 3, backoff: .seconds(backoff))
            let handle = try await first.submit(spec)
            let failed: TaskStatus
            do { failed = try await Support.waitFor(.taskFailed, on: handle) } catch {
                await first.shutdown(.killTasks(grace: .seconds(2)))
                throw error
            }
            // When the agent saw the failure: the launcher's backoff starts no earlier. (The moment this test saw the
            // update is later by however long the update took to reach it: 0.3 s and more in a loaded run, which
            // made the check below fail with the backoff waited out in full.)
            try #require(failed.hasTimestamp)
            let failedAt = Date(timeIntervalSince1970: failed.timestamp)
            let firstID = try #require(handle.taskID?.value)
            await first.shutdown(.leaveRunning)
            // The old process's handle ends: the task is the next process's now.
            await #expect(throws: LauncherError.self) { _ = try await handle.result() }

            try await Support.withLauncher(configuration) { second in
                let recovered = try #require(await second.recoveredTasks.first)
                #expect(await second.recoveredTasks.count == 1)
                #expect(recovered.name == "flaky")
                let outcome = try await Support.within(.seconds(60), "the queued task's outcome") { try await recovered.result() }
                #expect(outcome.state == .taskFinished, "\(outcome.status.message)")
                #expect(outcome.attempts == 2)
                #expect(recovered.taskID?.value == "\(firstID).attempt-2")
                // What was left of the backoff was waited out, not started again nor skipped.
                let byID = try await Support.statesByTaskID(recovered)
                #expect(byID.keys.sorted() == ["\(firstID).attempt-2"], "\(byID)")
                #expect(Date().timeIntervalSince(failedAt) >= backoff - 0.2)
            }
        }
    }

    @Test("a task group waiting out its backoff when the launcher stops is launched whole by the next process")
    func waitingGroupRetriedByNextProcess() async throws {
        guard ProcessInfo.processInfo.environment["MESOS_MASTER"] == nil else { return }
        try await Support.withFailoverCluster("queued-group-retry") { configuration, scratch in
            let first = MesosLauncher(configuration: configuration)
            try await first.start()
            var spec = TaskGroupSpec(name: "pod", tasks: [
                TaskSpec(name: "check", shell: Self.failsFirstRun(marker: scratch + "-marker", code: 4)),
                TaskSpec(name: "peer", shell: "true"),
            ])
            spec.retry = TaskSpec.RetryPolicy(attempts: 2, backoff: .seconds(2))
            let group = try await first.submitGroup(spec)
            do {
                try await Support.waitFor(.taskFailed, on: group.tasks[0])
                // The whole attempt has ended (the peer too) once the launcher writes the group as waiting.
                try await Self.waitForSavedTasks(scratch, "the group saved as waiting") { $0.contains("\"queued\":true") }
            } catch {
                await first.shutdown(.killTasks(grace: .seconds(2)))
                throw error
            }
            let firstIDs = group.tasks.compactMap(\.taskID?.value)
            await first.shutdown(.leaveRunning)

            try await Support.withLauncher(configuration) { second in
                #expect(await second.recoveredTasks.isEmpty)
                let recovered = try #require(await second.recoveredGroups.first)
                #expect(recovered.tasks.map(\.name) == ["check", "peer"])
                let outcome = try await Support.within(.seconds(60), "the queued group's outcome") { try await recovered.result() }
                #expect(outcome.succeeded, "\(outcome.outcomes.map(\.status.message))")
                #expect(outcome.outcomes.map(\.attempts) == [2, 2])
                for (index, member) in recovered.tasks.enumerated() {
                    let current = try #require(member.taskID?.value)
                    #expect(current != firstIDs[index], "attempt 2 runs under a new task ID")
                }
            }
        }
    }

    @Test("a task no offer fits is kept while it waits; the next process recovers it, and can kill it")
    func pendingTaskKept() async throws {
        guard ProcessInfo.processInfo.environment["MESOS_MASTER"] == nil else { return }
        try await Support.withFailoverCluster("queued-pending") { configuration, scratch in
            let first = MesosLauncher(configuration: configuration)
            try await first.start()
            var spec = TaskSpec(name: "too-big", shell: "true")
            spec.resources.cpus = 10_000
            _ = try await first.submit(spec)
            try await Self.waitForSavedTasks(scratch, "the pending task saved") { $0.contains("too-big") }
            await first.shutdown(.leaveRunning)

            try await Support.withLauncher(configuration) { second in
                let recovered = try #require(await second.recoveredTasks.first)
                #expect(await second.recoveredTasks.count == 1)
                #expect(recovered.name == "too-big")
                try await recovered.kill()
                let outcome = try await Support.within(.seconds(30), "the killed task's outcome") { try await recovered.result() }
                #expect(outcome.state == .taskKilled)
                #expect(outcome.status.message == "Killed before it was launched")
                // Killed: the next process has nothing left to pick up.
                try await Self.waitForSavedTasks(scratch, "the task list emptied", limit: .seconds(10)) { $0 == "[]" }
            }
        }
    }
}
