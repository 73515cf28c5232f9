import Foundation
import Mesos
import MesosCodecs
import MesosHTTP
import NIOCore
import MesosLocal
import MesosScheduler
import Synchronization
import Testing

/// The scheduler client against the local master and its agents, through the faults a real cluster has:
/// dropped streams, master restarts, stalled heartbeats, recovery windows, standbys.
@Suite("Scheduler client against the local cluster", .timeLimit(.minutes(3)))
struct SchedulerClientLocalTests {
    static func framework(failoverTimeout: Double = 60) -> FrameworkInfo {
        var info = FrameworkInfo()
        info.user = "root"
        info.name = "integration"
        info.failoverTimeout = failoverTimeout
        var capability = FrameworkInfo.Capability()
        capability.type = .taskKillingState
        info.capabilities = [capability]
        return info
    }

    static func configuration(_ url: String, contentType: ContentType = .json) -> SchedulerConfiguration {
        var configuration = SchedulerConfiguration(masters: [url])
        configuration.contentType = contentType
        configuration.reconnect = .exponentialBackoff(initial: .milliseconds(50), maximum: .milliseconds(500), maximumDuration: .seconds(20))
        return configuration
    }

    static func task(_ id: String, on offer: Offer, command: String) -> TaskInfo {
        var task = TaskInfo()
        task.name = id
        task.taskID = TaskID(id)
        task.agentID = offer.agentID
        task.resources = [Resource(name: "cpus", scalar: 0.1), Resource(name: "mem", scalar: 32)]
        task.command.value = command
        return task
    }

    /// Drives the events: records them, acknowledges updates, launches `tasks` on the first offer.
    final class Driver: Sendable {
        struct State {
            var updates: [TaskStatus] = []
            var subscriptions: [SchedulerClient.Subscription] = []
            var disconnects = 0
            var launched = false
            var error: (any Error)?
        }
        final class Box: Sendable {
            let state = Mutex(State())
        }
        let box = Box()
        let task: Task<Void, Never>

        init(client: SchedulerClient, events: SchedulerEvents, tasks: @escaping @Sendable (Offer) -> [TaskInfo]) {
            let box = self.box
            self.task = Task {
                do {
                    for try await event in events {
                        switch event {
                        case .subscribed(let subscription):
                            box.state.withLock { $0.subscriptions.append(subscription) }
                        case .offers(let offers):
                            let launch = box.state.withLock { state -> Bool in
                                defer { state.launched = true }
                                return !state.launched
                            }
                            if launch, let offer = offers.first {
                                try? await client.accept(offerIDs: [offer.id], operations: [.launch(tasks(offer))])
                            } else {
                                try? await client.decline(offerIDs: offers.map(\.id))
                            }
                        case .update(let status):
                            box.state.withLock { $0.updates.append(status) }
                            // A call can meet a lost subscription (403 until the client has subscribed again): the
                            // agent sends the update again after the re-subscription, so it is acknowledged then.
                            _ = try? await client.acknowledge(status)
                        case .disconnected:
                            box.state.withLock { $0.disconnects += 1 }
                        default:
                            break
                        }
                    }
                } catch {
                    box.state.withLock { $0.error = error }
                }
            }
        }

        /// The task's states, one per update: an update the agent sent again (same uuid, because its
        /// acknowledgement met a lost subscription) counts once.
        func states(of task: String) -> [TaskState] {
            self.box.state.withLock { state in
                var seen = Set<Data>()
                return state.updates.filter { $0.taskID.value == task && (!$0.hasUuid || seen.insert($0.uuid).inserted) }.map(\.state)
            }
        }

        func wait(timeout: Duration = .seconds(20), until condition: (State) -> Bool) async throws {
            let deadline = ContinuousClock.now + timeout
            while !self.box.state.withLock({ condition($0) }) {
                guard ContinuousClock.now < deadline else {
                    Issue.record("condition not reached within \(timeout)")
                    return
                }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
    }

    @Test("subscribe, offer, accept, updates and acknowledgements end to end", arguments: [ContentType.json, .protobuf])
    func endToEnd(contentType: ContentType) async throws {
        try await LocalCluster.with { cluster in
            let client = SchedulerClient(configuration: Self.configuration(cluster.url, contentType: contentType))
            let events = try await client.subscribe(Self.framework())
            let driver = Driver(client: client, events: events) { [Self.task("t", on: $0, command: "echo hi")] }
            try await driver.wait { $0.updates.contains { $0.state == .taskFinished } }
            #expect(driver.states(of: "t") == [.taskStarting, .taskRunning, .taskFinished])
            try await client.stop(teardown: true)
            driver.task.cancel()
        }
    }

    @Test("a stream dropped mid-record: the client fails over on its own and no update is lost or repeated")
    func droppedStream() async throws {
        try await LocalCluster.with { cluster in
            let client = SchedulerClient(configuration: Self.configuration(cluster.url))
            let events = try await client.subscribe(Self.framework())
            let driver = Driver(client: client, events: events) { [Self.task("d", on: $0, command: "sleep 1")] }
            try await driver.wait { $0.updates.contains { $0.state == .taskRunning } }
            cluster.master.dropSubscription(of: try #require(client.frameworkID), midRecord: true)
            try await driver.wait { $0.updates.contains { $0.state == .taskFinished } }
            let subscriptions = driver.box.state.withLock { $0.subscriptions }
            #expect(subscriptions.count == 2)
            #expect(subscriptions.last?.isResubscription == true)
            #expect(subscriptions.first?.frameworkID == subscriptions.last?.frameworkID)
            #expect(driver.box.state.withLock { $0.disconnects } == 1)
            #expect(driver.states(of: "d") == [.taskStarting, .taskRunning, .taskFinished])
            try await client.stop(teardown: true)
            driver.task.cancel()
        }
    }

    @Test("a master restart: re-subscribed within the backoff schedule, tasks still running")
    func masterRestart() async throws {
        try await LocalCluster.with { cluster in
            let client = SchedulerClient(configuration: Self.configuration(cluster.url))
            let events = try await client.subscribe(Self.framework())
            let driver = Driver(client: client, events: events) { [Self.task("r", on: $0, command: "sleep 2")] }
            try await driver.wait { $0.updates.contains { $0.state == .taskRunning } }
            try await cluster.master.restart(downtime: .milliseconds(300))
            try await driver.wait { $0.subscriptions.count == 2 }
            try await driver.wait { $0.updates.contains { $0.state == .taskFinished } }
            #expect(driver.states(of: "r").last == .taskFinished)
            try await client.stop(teardown: true)
            driver.task.cancel()
        }
    }

    /// A client subscribed to `cluster` whose driver launches nothing, once SUBSCRIBED has arrived.
    static func subscribedWithoutTasks(_ cluster: LocalCluster) async throws -> (SchedulerClient, Driver, FrameworkID) {
        let client = SchedulerClient(configuration: Self.configuration(cluster.url))
        let events = try await client.subscribe(Self.framework())
        let driver = Driver(client: client, events: events) { _ in [] }
        try await driver.wait { !$0.subscriptions.isEmpty }
        return (client, driver, try #require(client.frameworkID))
    }

    @Test("a SUPPRESS or REVIVE naming a role the framework is not subscribed to is dropped whole, by the master and in the client's record")
    func droppedSuppressAndRevive() async throws {
        try await LocalCluster.with { cluster in
            let (client, driver, id) = try await Self.subscribedWithoutTasks(cluster)
            try await client.suppress(roles: ["*", "elsewhere"])  // 202, and nothing suppressed, not even "*"
            #expect(cluster.master.suppressedRoles(of: id) == [])
            try await client.suppress(roles: ["*"])
            try await client.revive(roles: ["*", "../invalid"])
            #expect(cluster.master.suppressedRoles(of: id) == ["*"])
            // The re-subscription carries what the master holds: "*" suppressed, and no stranger role (a SUBSCRIBE
            // suppressing a role the framework lacks would be refused).
            cluster.master.dropSubscription(of: id)
            try await driver.wait { $0.subscriptions.count == 2 }
            #expect(cluster.master.suppressedRoles(of: id) == ["*"])
            #expect(driver.box.state.withLock { $0.error } == nil)
            try await client.stop(teardown: true)
            driver.task.cancel()
        }
    }

    @Test("a SUPPRESS outlasts a lost connection: the client re-subscribes with the suppressed roles; REVIVE ends it")
    func suppressionAcrossReconnect() async throws {
        try await LocalCluster.with { cluster in
            let (client, driver, id) = try await Self.subscribedWithoutTasks(cluster)
            try await client.suppress()
            #expect(cluster.master.suppressedRoles(of: id) == ["*"])
            // A SUBSCRIBE sets the suppressed roles anew: one without them would bring the offers back.
            cluster.master.dropSubscription(of: id)
            try await driver.wait { $0.subscriptions.count == 2 }
            #expect(cluster.master.suppressedRoles(of: id) == ["*"])
            try await client.revive()
            #expect(cluster.master.suppressedRoles(of: id) == [])
            cluster.master.dropSubscription(of: id)
            try await driver.wait { $0.subscriptions.count == 3 }
            #expect(cluster.master.suppressedRoles(of: id) == [])
            try await client.stop(teardown: true)
            driver.task.cancel()
        }
    }

    @Test("heartbeats stop: the watchdog drops the silent stream and the client re-subscribes")
    func heartbeatStall() async throws {
        var configuration = LocalClusterConfiguration()
        // A 1 s window (5 × 200 ms): wide enough that a loaded CI machine does not trip the watchdog again before
        // the teardown at the end, narrow enough that the stall is seen at once.
        configuration.master.heartbeatInterval = .milliseconds(200)
        try await LocalCluster.with(configuration) { cluster in
            var schedulerConfiguration = Self.configuration(cluster.url)
            schedulerConfiguration.heartbeatTolerance = 5
            let client = SchedulerClient(configuration: schedulerConfiguration)
            let events = try await client.subscribe(Self.framework())
            let driver = Driver(client: client, events: events) { _ in [] }
            try await Task.sleep(for: .milliseconds(300))
            cluster.master.stallHeartbeats(true)
            try await driver.wait { $0.disconnects >= 1 }
            cluster.master.stallHeartbeats(false)
            try await driver.wait { $0.subscriptions.count >= 2 }
            #expect(driver.box.state.withLock { $0.subscriptions.last?.isResubscription } == true)
            try await client.stop(teardown: true)
            driver.task.cancel()
        }
    }

    @Test("a master answering 503 while it recovers, or while no master leads: the client waits it out", arguments: [false, true])
    func unavailableWindow(leaderless: Bool) async throws {
        try await LocalCluster.with { cluster in
            if leaderless {
                cluster.master.beLeaderless(for: .milliseconds(600))
            } else {
                cluster.master.beUnavailable(for: .milliseconds(600))
            }
            let client = SchedulerClient(configuration: Self.configuration(cluster.url))
            let started = ContinuousClock.now
            let events = try await client.subscribe(Self.framework())
            #expect(ContinuousClock.now - started >= .milliseconds(500))
            let driver = Driver(client: client, events: events) { _ in [] }
            try await driver.wait { !$0.subscriptions.isEmpty }
            try await client.stop(teardown: true)
            driver.task.cancel()
        }
    }

    @Test("a standby redirects to the leader; two standbys pointing at each other end in a typed error")
    func redirects() async throws {
        try await LocalCluster.with { leader in
            let standby = LocalMaster()
            try await standby.start()
            standby.redirect(to: "127.0.0.1:\(leader.master.port)")
            let client = SchedulerClient(configuration: Self.configuration(standby.url))
            let events = try await client.subscribe(Self.framework())
            let driver = Driver(client: client, events: events) { _ in [] }
            #expect(client.leaderURL?.contains(":\(leader.master.port)/") == true)
            try await client.stop(teardown: true)
            driver.task.cancel()

            let other = LocalMaster()
            try await other.start()
            standby.redirect(to: "127.0.0.1:\(other.port)")
            other.redirect(to: "127.0.0.1:\(standby.port)")
            var configuration = Self.configuration(standby.url)
            configuration.reconnect = .never
            let looping = SchedulerClient(configuration: configuration)
            do {
                _ = try await looping.subscribe(Self.framework())
                Issue.record("a redirect loop subscribed")
            } catch let error as MesosError {
                #expect(error.code == .redirectLoop)
            }
            await standby.stop()
            await other.stop()
        }
    }

    @Test("a new process fails the framework over with the stored ID and finds its running task")
    func failoverToNewProcess() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fwid-\(UUID().uuidString.prefix(6))").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try await LocalCluster.with { cluster in
            var configuration = Self.configuration(cluster.url)
            configuration.frameworkIDStore = FileFrameworkIDStore(path: path)
            let first = SchedulerClient(configuration: configuration)
            let events = try await first.subscribe(Self.framework())
            let driver = Driver(client: first, events: events) { [Self.task("kept", on: $0, command: "sleep 30")] }
            try await driver.wait { $0.updates.contains { $0.state == .taskRunning } }
            try await first.stop(teardown: false)
            driver.task.cancel()

            let second = SchedulerClient(configuration: configuration)
            let again = try await second.subscribe(Self.framework())
            #expect(second.frameworkID == first.frameworkID)
            let follower = Driver(client: second, events: again) { _ in [] }
            try await second.reconcile()
            try await follower.wait { $0.updates.contains { $0.taskID.value == "kept" } }
            #expect(follower.states(of: "kept").first == .taskRunning)
            try await second.stop(teardown: true)
            follower.task.cancel()
        }
    }

    @Test("a framework the master has removed: its stored ID is forgotten, and the next start registers a new one")
    func removedFramework() async throws {
        guard ProcessInfo.processInfo.environment["MESOS_MASTER"] == nil else { return }  // needs a 1 s failover timeout
        try await LocalCluster.with { cluster in
            var configuration = Self.configuration(cluster.url)
            let store = InMemoryFrameworkIDStore()
            configuration.frameworkIDStore = store
            let first = SchedulerClient(configuration: configuration)
            let events = try await first.subscribe(Self.framework(failoverTimeout: 1))
            let driver = Driver(client: first, events: events) { _ in [] }
            let id = try #require(first.frameworkID)
            #expect(try await store.load() == id)
            try await first.stop(teardown: false)
            driver.task.cancel()
            // The failover timeout runs out: the master removes it (waited for, not slept: a busy run can be late).
            let deadline = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < deadline {
                let response = try await HTTPClient().execute(HTTPRequest(method: "GET", url: cluster.url + "/master/state"))
                let state = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
                let completed = state?["completed_frameworks"] as? [[String: Any]] ?? []
                if completed.contains(where: { $0["id"] as? String == id.value }) { break }
                try await Task.sleep(for: .milliseconds(100))
            }

            let second = SchedulerClient(configuration: configuration)
            let error = await #expect(throws: MesosError.self) { _ = try await second.subscribe(Self.framework(failoverTimeout: 1)) }
            #expect(error?.code == .errorEvent)
            #expect(error?.message == "Framework has been removed")
            #expect(try await store.load() == nil)

            let third = SchedulerClient(configuration: configuration)
            let fresh = try await third.subscribe(Self.framework())
            let follower = Driver(client: third, events: fresh) { _ in [] }
            let newID = try #require(third.frameworkID)
            #expect(newID != id)
            #expect(try await store.load() == newID)

            // TEARDOWN ends the stream for good: no drop reported, no SUBSCRIBE after it.
            try await third.stop(teardown: true)
            _ = await follower.task.value
            #expect(follower.box.state.withLock { $0.disconnects } == 0)
            #expect(follower.box.state.withLock { $0.subscriptions.count } == 1)
            #expect(try await store.load() == nil)
        }
    }

    @Test("the calls the other tests do not make: inverse offers, roles, REQUEST, UPDATE_FRAMEWORK, operations")
    func remainingCalls() async throws {
        try await LocalCluster.with { cluster in
            let client = SchedulerClient(configuration: Self.configuration(cluster.url))
            let events = try await client.subscribe(Self.framework())
            let operationUpdates = Mutex<[OperationStatus]>([])
            let subscribed = Mutex(0)
            let drain = Task {
                do {
                    for try await event in events {
                        switch event {
                        case .updateOperationStatus(let status): operationUpdates.withLock { $0.append(status) }
                        case .offers(let offers): try? await client.decline(offerIDs: offers.map(\.id))
                        case .subscribed: subscribed.withLock { $0 += 1 }
                        default: break
                        }
                    }
                } catch {}
            }
            try await client.acceptInverseOffers([OfferID("no-inverse-offer")])
            try await client.declineInverseOffers([OfferID("no-inverse-offer")])
            try await client.suppress(roles: ["*"])
            try await client.revive(roles: ["*"])
            try await client.request([Mesos_V1_Request()])
            var info = Self.framework()
            info.name = "renamed"
            try await client.updateFramework(info)
            let agentID = cluster.agents[0].agentInfo.id
            try await client.reconcileOperations([(OperationID("op-1"), agentID, nil), (OperationID("op-2"), nil, nil)])
            let deadline = ContinuousClock.now + .seconds(10)
            while operationUpdates.withLock({ $0.count }) < 2, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            let statuses = operationUpdates.withLock { $0 }
            #expect(statuses.map(\.operationID.value) == ["op-1", "op-2"])
            #expect(statuses.allSatisfy { $0.state == .operationUnknown && !$0.hasUuid })
            #expect(statuses.first?.message == "Reconciliation: Operation is unknown")
            #expect(statuses.last?.message == "Reconciliation: Operation is unknown and no 'agent_id' was provided")
            // The rename shows in the master's state.
            let state = try await HTTPClient().execute(HTTPRequest(method: "GET", url: cluster.url + "/master/state"))
            #expect(String(decoding: state.body.readableBytesView, as: UTF8.self).contains("\"name\":\"renamed\""))
            try await client.stop(teardown: true)
            drain.cancel()
        }
    }
}
