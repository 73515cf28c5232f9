import Foundation
import Mesos
import MesosLauncher
import MesosLocal
import MesosScheduler
import Testing

/// Task groups retried as a whole, and task groups picked up again by a restarted launcher.
@Suite("Launcher: task group retries and failover", .timeLimit(.minutes(3)))
struct TaskGroupRetryTests {
    @Test("a group whose member fails on attempt 1 launches again, whole, with new task IDs and executor, and succeeds")
    func groupRetried() async throws {
        let marker = FileManager.default.temporaryDirectory.appendingPathComponent("group-retry-\(UUID().uuidString.prefix(6))").path
        defer {
            try? FileManager.default.removeItem(atPath: marker)
            try? FileManager.default.removeItem(atPath: marker + "-peer")
        }
        try await LauncherTests.withLauncher { launcher, _ in
            // "check" fails the first time (and leaves a marker), succeeds the next; "peer" runs until it is killed the
            // first time (the check's failure takes the group down), and ends at once the next.
            var spec = TaskGroupSpec(name: "pod", tasks: [
                TaskSpec(name: "peer", shell: "if [ -e \(marker)-peer ]; then exit 0; fi; touch \(marker)-peer; sleep 30"),
                TaskSpec(name: "check", shell: "if [ -e \(marker) ]; then exit 0; else touch \(marker); sleep 0.2; exit 1; fi"),
            ])
            spec.retry = TaskSpec.RetryPolicy(attempts: 3, backoff: .milliseconds(100))
            let group = try await launcher.submitGroup(spec)
            let firstExecutor = group.executorID
            let outcome = try await group.result()
            #expect(outcome.succeeded, "\(outcome.outcomes.map(\.status.message))")
            #expect(outcome.outcomes.map(\.state) == [.taskFinished, .taskFinished])
            #expect(outcome.outcomes.map(\.attempts) == [2, 2])
            #expect(group.executorID != firstExecutor)
            for (index, member) in group.tasks.enumerated() {
                var byID: [String: [TaskState]] = [:]
                var executors = Set<String>()
                for await status in member.updates {
                    byID[status.taskID.value, default: []].append(status.state)
                    executors.insert(status.executorID.value)
                }
                #expect(byID.count == 2, "one task ID per attempt: \(byID)")
                #expect(executors == [firstExecutor.value, group.executorID.value])
                let ended = Set(byID.values.compactMap(\.last))
                // Attempt 1: the check failed and the peer was killed with it; attempt 2: both finished.
                #expect(ended == (index == 0 ? [.taskFinished, .taskKilled] : [.taskFailed, .taskFinished]))
                #expect(member.taskID.map { byID[$0.value]?.last } == .taskFinished)
            }
        }
    }

    @Test("a group whose attempts all fail ends with the last attempt's outcome; a killed group is not retried")
    func groupRetriesExhausted() async throws {
        try await LauncherTests.withLauncher { launcher, _ in
            var failing = TaskGroupSpec(name: "failing", tasks: [TaskSpec(name: "fail", shell: "exit 5")])
            failing.retry = TaskSpec.RetryPolicy(attempts: 2, backoff: .milliseconds(50))
            let outcome = try await launcher.submitGroup(failing).result()
            #expect(outcome.outcomes.map(\.state) == [.taskFailed])
            #expect(outcome.outcomes.map(\.attempts) == [2])
            #expect(outcome.exitCode == 5)

            var killed = TaskGroupSpec(name: "killed", tasks: [TaskSpec(name: "sleeper", shell: "sleep 60")])
            killed.tasks[0].killGracePeriod = .seconds(1)
            killed.retry = TaskSpec.RetryPolicy(attempts: 3, backoff: .milliseconds(50), retryOn: [.taskKilled, .taskFailed])
            let group = try await launcher.submitGroup(killed)
            for await status in group.tasks[0].updates where status.state == .taskRunning { break }
            try await group.kill()
            let killedOutcome = try await group.result()
            #expect(killedOutcome.outcomes.map(\.state) == [.taskKilled])
            #expect(killedOutcome.outcomes.map(\.attempts) == [1])
        }
    }

    @Test("a restarted launcher picks a running group up as a group, members that already ended included")
    func groupFailover() async throws {
        guard ProcessInfo.processInfo.environment["MESOS_MASTER"] == nil else { return }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("group-state-\(UUID().uuidString.prefix(6))").path
        let release = directory + "-release"
        defer {
            try? FileManager.default.removeItem(atPath: directory)
            try? FileManager.default.removeItem(atPath: release)
        }
        try await LocalCluster.with { cluster in
            var configuration = LauncherConfiguration(masters: [cluster.url], frameworkName: "group-failover")
            configuration.framework.failoverTimeout = 60
            configuration.stateDirectory = directory
            let first = MesosLauncher(configuration: configuration)
            try await first.start()
            let spec = TaskGroupSpec(name: "pod", tasks: [
                TaskSpec(name: "quick", shell: "echo done"),
                // Runs until the test lets it end, after the failover.
                TaskSpec(name: "slow", shell: "while [ ! -e \(release) ]; do sleep 0.05; done; exit 7"),
            ])
            let group = try await first.submitGroup(spec)
            let taskIDs = group.tasks.map(\.taskID)
            let executorID = group.executorID
            for await status in group.tasks[0].updates where status.state == .taskFinished { break }
            for await status in group.tasks[1].updates where status.state == .taskRunning { break }
            let frameworkID = first.frameworkID
            await first.shutdown(.leaveRunning)

            let second = MesosLauncher(configuration: configuration)
            try await second.start()
            #expect(second.frameworkID == frameworkID)
            #expect(await second.recoveredTasks.isEmpty, "group members are not single tasks")
            let recovered = try #require(await second.recoveredGroups.first)
            #expect(await second.recoveredGroups.count == 1)
            #expect(recovered.name == "pod")
            #expect(recovered.tasks.map(\.name) == ["quick", "slow"])
            #expect(recovered.tasks.map(\.taskID) == taskIDs)
            #expect(recovered.executorID == executorID)
            #expect(!recovered.isDone)
            FileManager.default.createFile(atPath: release, contents: Data())
            let outcome = try await recovered.result()
            #expect(outcome.outcomes.map(\.state) == [.taskFinished, .taskFailed])
            #expect(outcome.cause?.name == "slow")
            #expect(outcome.exitCode == 7)
            await second.shutdown(.killTasks(grace: .seconds(2)))
        }
    }
}
