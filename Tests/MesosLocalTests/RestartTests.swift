import Foundation
import Mesos
import MesosCodecs
import MesosHTTP
import MesosLocal
import NIOCore
import Testing

/// Master restarts in the two modes of a Mesos 1.11 master: with its registry persisted in the work directory, and
/// as a fresh master. Frameworks are never in the registry: they come back through the agents that re-register with
/// their tasks, or by subscribing again with their ID.
@Suite("Local master: restarts and the registry", .timeLimit(.minutes(3)))
struct RestartTests {
    static func cluster(agents: Int = 1, work: String? = nil, _ body: (LocalCluster) async throws -> Void) async throws {
        var configuration = LocalClusterConfiguration()
        configuration.agents = agents
        configuration.workDirectory = work
        try await LocalCluster.with(configuration, body)
    }

    static func launchSleeper(_ scheduler: RawScheduler, id: String, agent index: Int = 0, cluster: LocalCluster) async throws {
        let agentID = cluster.agents[index].agentInfo.id
        let offer = try await scheduler.next(where: { $0.type == .offers && $0.offers.offers.contains { $0.agentID == agentID } })
            .offers.offers.first { $0.agentID == agentID }!
        try await ClusterTests.accept(scheduler, [offer.id], [ClusterTests.task(id, on: offer, command: "sleep 60")])
        while true {
            let status = try await ClusterTests.update(scheduler, id)
            try await scheduler.acknowledge(status)
            if status.state == .taskRunning { return }
        }
    }

    static func resubscribe(_ cluster: LocalCluster, _ old: RawScheduler, capabilities: [FrameworkInfo.Capability.TypeEnum] = []) async throws -> RawScheduler {
        var info = RawScheduler.frameworkInfo(failoverTimeout: 60, capabilities: capabilities)
        info.id = old.frameworkID
        return try await RawScheduler.subscribe(cluster.url, info)
    }

    static func reconcile(_ scheduler: RawScheduler, _ tasks: [(String, AgentID?)]) async throws {
        var call = SchedulerCall()
        call.type = .reconcile
        call.reconcile.tasks = tasks.map { id, agent in
            var task = SchedulerCall.Reconcile.Task()
            task.taskID = TaskID(id)
            if let agent { task.agentID = agent }
            return task
        }
        #expect(try await scheduler.call(call).status == 202)
    }

    static func state(_ cluster: LocalCluster) async throws -> [String: Any] {
        try await masterState(cluster.url)
    }

    @Test("persisting: the registry is in the work directory; the framework is recovered from its agent (403 until it re-subscribes) and gets its running task back")
    func persisting() async throws {
        try await Self.cluster { cluster in
            let scheduler = try await RawScheduler.subscribe(cluster.url, RawScheduler.frameworkInfo(failoverTimeout: 60))
            try await Self.launchSleeper(scheduler, id: "sleeper", cluster: cluster)
            let registry = cluster.workDirectory + "/master/registry.json"
            let written = try String(contentsOfFile: registry, encoding: .utf8)
            #expect(written.contains(cluster.agents[0].agentInfo.id.value))

            try await cluster.master.restart(persistingState: true, downtime: .milliseconds(100))
            // The old stream ends (events sent before the restart, such as offers, may still be read first).
            #expect(await scheduler.waitForEnd(timeout: .seconds(5)))
            var revive = SchedulerCall()
            revive.type = .revive
            let stale = try await scheduler.call(revive)
            #expect(stale.status == 403)
            #expect(String(buffer: stale.body) == "Framework is not subscribed")
            let frameworks = try await Self.state(cluster)["frameworks"] as? [[String: Any]] ?? []
            #expect(frameworks.first?["recovered"] as? Bool == true)
            #expect(frameworks.first?["active"] as? Bool == false)

            let again = try await Self.resubscribe(cluster, scheduler)
            #expect(again.frameworkID == scheduler.frameworkID)
            // A new master process has a new ID (a UUID, lower case as Mesos writes it); the framework keeps its own,
            // and a framework new to this master gets an ID made from the new master's.
            let oldMaster = scheduler.subscribed.subscribed.masterInfo.id
            let newMaster = again.subscribed.subscribed.masterInfo.id
            #expect(newMaster != oldMaster)
            #expect(UUID(uuidString: newMaster) != nil && newMaster == newMaster.lowercased())
            #expect(scheduler.frameworkID.value.hasPrefix(oldMaster + "-"))
            #expect(try await Self.state(cluster)["id"] as? String == newMaster)
            let newcomer = try await RawScheduler.subscribe(cluster.url)
            #expect(newcomer.frameworkID.value == newMaster + "-0000")
            try await Self.reconcile(again, [])
            let status = try await ClusterTests.update(again, "sleeper")
            #expect(status.state == .taskRunning)
            #expect(status.reason == .reconciliation)
            var kill = SchedulerCall()
            kill.type = .kill
            kill.kill.taskID = "sleeper"
            #expect(try await again.call(kill).status == 202)
            let killed = try await again.next(where: { $0.type == .update && $0.status.state == .taskKilled }).status
            #expect(killed.taskID == "sleeper")
        }
    }

    @Test("persisting keeps gone agents gone; a fresh master forgets them (TASK_GONE_BY_OPERATOR vs TASK_UNKNOWN on reconciliation)", arguments: [true, false])
    func removedAgents(persisting: Bool) async throws {
        try await Self.cluster(agents: 2) { cluster in
            let aware: [FrameworkInfo.Capability.TypeEnum] = [.partitionAware]
            let scheduler = try await RawScheduler.subscribe(
                cluster.url, RawScheduler.frameworkInfo(failoverTimeout: 60, capabilities: aware)
            )
            try await Self.launchSleeper(scheduler, id: "on-gone", agent: 1, cluster: cluster)
            let goneID = cluster.agents[1].agentInfo.id
            await cluster.master.removeAgent(goneID, reason: .gone)
            #expect(try await ClusterTests.update(scheduler, "on-gone").state == .taskGoneByOperator)

            try await cluster.master.restart(persistingState: persisting, downtime: .milliseconds(100))
            let again = try await Self.resubscribe(cluster, scheduler, capabilities: aware)
            try await Self.reconcile(again, [("on-gone", goneID)])
            let status = try await ClusterTests.update(again, "on-gone")
            if persisting {
                #expect(status.state == .taskGoneByOperator)
                #expect(status.message == "Reconciliation: Task is gone")
            } else {
                #expect(status.state == .taskUnknown)
                #expect(status.message == "Reconciliation: Task is unknown")
            }
        }
    }

    @Test("a fresh master accepts a framework ID it has never seen, and forgets torn-down frameworks", arguments: [true, false])
    func unknownFrameworkID(persisting: Bool) async throws {
        try await Self.cluster { cluster in
            let first = try await RawScheduler.subscribe(cluster.url, RawScheduler.frameworkInfo(failoverTimeout: 60))
            var teardown = SchedulerCall()
            teardown.type = .teardown
            #expect(try await first.call(teardown).status == 202)
            // Before the restart the master refuses the removed framework's ID...
            var info = RawScheduler.frameworkInfo(failoverTimeout: 60)
            info.id = first.frameworkID
            await #expect(throws: RawScheduler.Failure.self) { try await RawScheduler.subscribe(cluster.url, info) }

            try await cluster.master.restart(persistingState: persisting, downtime: .milliseconds(100))
            // ...after it, completed frameworks are not in the registry: the ID is taken as given (`recoverFramework`).
            let again = try await RawScheduler.subscribe(cluster.url, info)
            #expect(again.frameworkID == first.frameworkID)
            #expect(try await ClusterTests.offers(again).count == 1)
            var invented = RawScheduler.frameworkInfo(failoverTimeout: 60)
            invented.id = "never-seen-0001"
            let stranger = try await RawScheduler.subscribe(cluster.url, invented)
            #expect(stranger.frameworkID == "never-seen-0001")
        }
    }

    @Test("a cluster started again on the same work directory recovers its registry: the same agent IDs, gone agents still gone")
    func sameWorkDirectory() async throws {
        let work = FileManager.default.temporaryDirectory.path + "/mesos-local-restart-" + UUID().uuidString.prefix(8)
        defer { try? FileManager.default.removeItem(atPath: work) }
        var ids: [AgentID] = []
        try await Self.cluster(agents: 3, work: work) { cluster in
            ids = cluster.agents.map { $0.agentInfo.id }
            await cluster.master.removeAgent(ids[2], reason: .gone)
        }
        try await Self.cluster(agents: 2, work: work) { cluster in
            #expect(cluster.agents.map { $0.agentInfo.id } == Array(ids.prefix(2)))
            let aware: [FrameworkInfo.Capability.TypeEnum] = [.partitionAware]
            let scheduler = try await RawScheduler.subscribe(
                cluster.url, RawScheduler.frameworkInfo(failoverTimeout: 60, capabilities: aware)
            )
            let offers = try await ClusterTests.offers(scheduler)
            #expect(Set(offers.map(\.agentID)).isSubset(of: Set(ids.prefix(2))))
            try await Self.reconcile(scheduler, [("old-task", ids[2])])
            #expect(try await ClusterTests.update(scheduler, "old-task").state == .taskGoneByOperator)
        }
    }
}
