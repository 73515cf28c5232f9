import Foundation
import Mesos
import MesosHTTP
import MesosLauncher
import MesosLocal
import NIOCore
import Testing

/// An ACCEPT the master answers with 503 (a master that has not finished recovery): the launcher queues the task
/// again and launches it once the master answers.
@Suite("Launcher: ACCEPT refused with 503", .timeLimit(.minutes(3)))
struct RefusedAcceptTests {
    @Test("a task whose ACCEPT got 503 is launched once when the master is back, under a new task ID, and succeeds")
    func requeuedAfter503() async throws {
        guard ProcessInfo.processInfo.environment["MESOS_MASTER"] == nil else { return }
        let release = FileManager.default.temporaryDirectory.appendingPathComponent("accept-503-\(UUID().uuidString.prefix(6))").path
        defer { try? FileManager.default.removeItem(atPath: release) }
        var configuration = LocalClusterConfiguration()
        // One CPU: while "blocker" runs, "target" cannot be placed; it gets its offer when "blocker" ends.
        configuration.agentResources = "cpus:1;mem:1024;disk:1000;ports:[31000-31010]"
        try await LocalCluster.with(configuration) { cluster in
            let launcher = MesosLauncher(configuration: LauncherConfiguration(masters: [cluster.url], frameworkName: "accept-503"))
            try await launcher.start()
            var blocker = TaskSpec(name: "blocker", shell: "while [ ! -e \(release) ]; do sleep 0.05; done")
            blocker.resources = TaskSpec.Resources(cpus: 1, mem: 32)
            let blocking = try await launcher.submit(blocker)
            for await status in blocking.updates where status.state == .taskRunning { break }

            var target = TaskSpec(name: "target", shell: "echo launched")
            target.resources = TaskSpec.Resources(cpus: 0.5, mem: 16)
            let handle = try await launcher.submit(target)
            let firstTaskID = try #require(handle.taskID)
            // Let the launcher answer the offers it holds now (too small for "target") while the master still answers.
            try await Task.sleep(for: .milliseconds(300))

            // The master stops answering calls; the blocker ends, so the next offer (and its ACCEPT) comes meanwhile.
            cluster.master.beUnavailable(for: .seconds(3))
            FileManager.default.createFile(atPath: release, contents: Data())
            #expect(try await blocking.result().state == .taskFinished)

            let outcome = try await handle.result()
            #expect(outcome.succeeded, "\(outcome.status.message)")
            #expect(outcome.attempts == 1)
            var taskIDs = Set<String>()
            for await status in handle.updates { taskIDs.insert(status.taskID.value) }
            #expect(taskIDs.count == 1, "every update is of the one launched task: \(taskIDs)")
            let launchedID = try #require(taskIDs.first)
            #expect(launchedID != firstTaskID.value, "the ACCEPT refused with 503 went out for \(firstTaskID.value)")

            // The master knows one task named "target": the one that ran.
            let client = HTTPClient()
            defer { client.shutdown() }
            let response = try await client.execute(HTTPRequest(method: "GET", url: cluster.url + "/state"))
            #expect(response.status == 200)
            let state = try #require(try JSONSerialization.jsonObject(with: Data(String(buffer: response.body).utf8)) as? [String: Any])
            let frameworks = state["frameworks"] as? [[String: Any]] ?? []
            let tasks = frameworks.flatMap { ($0["tasks"] as? [[String: Any]] ?? []) + ($0["completed_tasks"] as? [[String: Any]] ?? []) }
            let targets = tasks.filter { $0["name"] as? String == "target" }
            #expect(targets.map { $0["id"] as? String } == [launchedID])
            #expect(targets.first?["state"] as? String == "TASK_FINISHED")
            #expect(!tasks.contains { $0["id"] as? String == firstTaskID.value })
            await launcher.shutdown(.killTasks(grace: .seconds(2)))
        }
    }

    @Test("a task whose offers were gone when its ACCEPT arrived (TASK_DROPPED, REASON_INVALID_OFFERS) is placed again and succeeds")
    func requeuedAfterInvalidOffers() async throws {
        guard ProcessInfo.processInfo.environment["MESOS_MASTER"] == nil else { return }
        try await LocalCluster.with(LocalClusterConfiguration()) { cluster in
            cluster.master.loseOffersOfNextAccept()
            let launcher = MesosLauncher(configuration: LauncherConfiguration(masters: [cluster.url], frameworkName: "lost-offers"))
            try await launcher.start()
            let handle = try await launcher.submit(TaskSpec(name: "again", shell: "echo launched"))
            let outcome = try await handle.result()
            #expect(outcome.succeeded, "\(outcome.state) \(outcome.status.message)")
            #expect(outcome.attempts == 1)
            var states: [TaskState] = []
            for await status in handle.updates { states.append(status.state) }
            #expect(states == [.taskStarting, .taskRunning, .taskFinished], "the drop is not the task's end")
            await launcher.shutdown(.killTasks(grace: .seconds(5)))
        }
    }
}
