import Foundation
import Mesos
import MesosCodecs
import MesosHTTP
import MesosLocal
import NIOCore
import Testing

/// A master with real agents, observed over HTTP as a scheduler sees it: offers, launches, status updates and
/// acknowledgements, kills, reconciliation, filters, failover, agent loss.
@Suite("Local cluster: tasks end to end", .timeLimit(.minutes(3)))
struct ClusterTests {
    static func withCluster(
        agents: Int = 1,
        retry: Duration = .seconds(10),
        _ body: (LocalCluster) async throws -> Void
    ) async throws {
        var configuration = LocalClusterConfiguration()
        configuration.agents = agents
        configuration.statusUpdateRetryInterval = retry
        configuration.agentAttributes = [0: "rack:r1;level:3"]
        try await LocalCluster.with(configuration, body)
    }

    static func offers(_ scheduler: RawScheduler) async throws -> [Offer] {
        try await scheduler.next(where: { $0.type == .offers }).offers.offers
    }

    static func task(_ id: String, on offer: Offer, command: String, cpus: Double = 0.1) -> TaskInfo {
        var task = TaskInfo()
        task.name = id
        task.taskID = TaskID(id)
        task.agentID = offer.agentID
        task.resources = [Resource(name: "cpus", scalar: ScalarQuantity(cpus)), Resource(name: "mem", scalar: 32)]
        task.command.value = command
        return task
    }

    static func accept(_ scheduler: RawScheduler, _ offers: [OfferID], _ tasks: [TaskInfo], refuse: Double = 0) async throws {
        var call = SchedulerCall()
        call.type = .accept
        call.accept.offerIds = offers
        var operation = Offer.Operation()
        operation.type = .launch
        operation.launch.taskInfos = tasks
        call.accept.operations = [operation]
        call.accept.filters.refuseSeconds = refuse
        let response = try await scheduler.call(call)
        #expect(response.status == 202)
    }

    static func update(_ scheduler: RawScheduler, _ task: String) async throws -> TaskStatus {
        try await scheduler.next(where: { $0.type == .update && $0.status.taskID.value == task }).status
    }

    @Test("offer constraints: a role is offered only agents one of its groups fits; UPDATE_FRAMEWORK replaces them; bad ones get the master's texts")
    func offerConstraints() async throws {
        typealias Constraint = Mesos_V1_Scheduler_AttributeConstraint
        func attribute(_ name: String, _ predicate: Constraint.Predicate.OneOf_Predicate?) -> Constraint {
            var constraint = Constraint()
            constraint.selector.attributeName = name
            constraint.predicate.predicate = predicate
            return constraint
        }
        func constraints(_ groups: [[Constraint]], role: String = "*") -> Mesos_V1_Scheduler_OfferConstraints {
            var constraints = Mesos_V1_Scheduler_OfferConstraints()
            var roleConstraints = Mesos_V1_Scheduler_OfferConstraints.RoleConstraints()
            roleConstraints.groups = groups.map { group in
                var g = Mesos_V1_Scheduler_OfferConstraints.RoleConstraints.Group()
                g.attributeConstraints = group
                return g
            }
            constraints.roleConstraints[role] = roleConstraints
            return constraints
        }
        var equalsR2 = Constraint.Predicate.TextEquals()
        equalsR2.value = "r2"
        var levelX = Constraint.Predicate.TextEquals()
        levelX.value = "x"
        var configuration = LocalClusterConfiguration()
        configuration.agents = 3
        configuration.agentAttributes = [0: "rack:r1;level:3", 1: "rack:r2"]
        try await LocalCluster.with(configuration) { cluster in
            let ids = cluster.agents.map(\.agentInfo.id)
            /// The agents offered within `window`, declining nothing.
            func offeredAgents(_ scheduler: RawScheduler, within window: Duration) async -> Set<AgentID> {
                var agents = Set<AgentID>()
                let deadline = ContinuousClock.now + window
                while let event = try? await scheduler.next(where: { $0.type == .offers }, timeout: deadline - .now) {
                    agents.formUnion(event.offers.offers.map(\.agentID))
                }
                return agents
            }
            // Only agent 1 is in rack r2.
            let scheduler = try await RawScheduler.subscribe(
                cluster.url, offerConstraints: constraints([[attribute("rack", .textEquals(equalsR2))]])
            )
            #expect(await offeredAgents(scheduler, within: .seconds(1)) == [ids[1]])

            // Either no rack at all (agent 2), or a `level` equal to "x": agent 0's level is a scalar, and a
            // non-TEXT attribute satisfies every text predicate. Agent 1 fits neither group.
            var update = SchedulerCall()
            update.type = .updateFramework
            var info = RawScheduler.frameworkInfo()
            info.id = scheduler.frameworkID
            update.updateFramework.frameworkInfo = info
            update.updateFramework.offerConstraints = constraints([
                [attribute("rack", .notExists(.init()))], [attribute("level", .textEquals(levelX))],
            ])
            #expect(try await scheduler.call(update).status == 200)
            #expect(await offeredAgents(scheduler, within: .seconds(1)) == [ids[0], ids[2]])
            let state = try await HTTPClient().execute(HTTPRequest(method: "GET", url: cluster.url + "/master/state"))
            #expect(String(buffer: state.body).contains(#""offer_constraints":{"role_constraints":{"*":{"groups":[{"attribute_constraints":[{"selector":{"attribute_name":"rack"},"predicate":{"not_exists":{}}}]}"#))

            // What the master refuses, with its texts: on UPDATE_FRAMEWORK with its prefix, on SUBSCRIBE as ERROR.
            // `selector` and `predicate` are required; present but empty is what reaches the filter.
            var noSelector = Constraint()
            noSelector.selector = .init()
            noSelector.predicate.predicate = .exists(.init())
            var unknownPseudo = Constraint()
            unknownPseudo.selector.pseudoattributeType = .unknown
            unknownPseudo.predicate.predicate = .exists(.init())
            var badRegex = Constraint.Predicate.TextMatches()
            badRegex.regex = "(r"
            let refusals: [(Mesos_V1_Scheduler_OfferConstraints, String)] = [
                (constraints([]), "'OfferConstraints::role_constraints' has an empty 'RoleConstraints::groups' for role *"),
                (constraints([[]]), "'OfferConstraints::RoleConstraints::groups' for role *contains an empty RoleConstraints::Group"),
                (constraints([[noSelector]]), "A role * has an invalid 'AttributeConstraint': Exactly one of 'AttributeConstraint::Selector::name' or 'AttributeConstraint::Selector::pseudoattribute_type' must be set"),
                (constraints([[unknownPseudo]]), "A role * has an invalid 'AttributeConstraint': Unknown pseudoattribute type"),
                (constraints([[attribute("rack", nil)]]), "A role * has an invalid 'AttributeConstraint': Unknown predicate type"),
                (constraints([[attribute("rack", .textMatches(badRegex))]]), "A role * has an invalid 'AttributeConstraint': Failed to construct regex from pattern '(r': "),
            ]
            for (refused, text) in refusals {
                update.updateFramework.offerConstraints = refused
                let response = try await scheduler.call(update)
                #expect(response.status == 400)
                #expect(String(buffer: response.body).hasPrefix("'UpdateFramework.offer_constraints' are not valid: " + text))
                let subscribe = try await MasterAPITests.subscribeUntilEnd(cluster.url, RawScheduler.frameworkInfo(), offerConstraints: refused)
                #expect(subscribe.events.count == 1)
                #expect(subscribe.events.first?.error.message.hasPrefix(text) == true, "\(subscribe.events)")
            }
        }
    }

    @Test("offers carry the agent's resources, attributes and URL, allocated to the framework's role")
    func offers() async throws {
        try await Self.withCluster { cluster in
            let scheduler = try await RawScheduler.subscribe(cluster.url)
            let offers = try await Self.offers(scheduler)
            #expect(offers.count == 1)
            let offer = try #require(offers.first)
            let agent = cluster.agents[0]
            #expect(offer.agentID == agent.agentInfo.id)
            #expect(offer.frameworkID == scheduler.frameworkID)
            #expect(offer.allocationInfo.role == "*")
            #expect(offer.url.address.port == Int32(URL(string: agent.endpoint)?.port ?? -1))
            let resources = Resources(offer.resources)
            #expect(resources.cpus == 4)
            #expect(resources.mem == 4096)
            #expect(resources.disk == 10000)
            #expect(resources.ports.description == "[31000-32000]")
            #expect(offer.resources.allSatisfy { $0.allocationInfo.role == "*" && $0.role == "*" })
            #expect(offer.attributes.map(\.name).sorted() == ["level", "rack"])
        }
    }

    @Test("a launched command reports STARTING, RUNNING, FINISHED with uuids; acknowledged, it leaves the state", arguments: [ContentType.json, .protobuf])
    func launch(contentType: ContentType) async throws {
        try await Self.withCluster { cluster in
            let scheduler = try await RawScheduler.subscribe(cluster.url, contentType: contentType)
            let offer = try #require(try await Self.offers(scheduler).first)
            try await Self.accept(scheduler, [offer.id], [Self.task("t1", on: offer, command: "echo hello")])
            var states: [TaskState] = []
            while states.last.map({ ![.taskFinished, .taskFailed].contains($0) }) ?? true {
                let status = try await Self.update(scheduler, "t1")
                #expect(status.uuid.count == 16)
                #expect(status.source == .executor)
                #expect(status.agentID == offer.agentID)
                #expect(status.executorID.value == "t1")
                states.append(status.state)
                if status.state == .taskFinished { #expect(status.message == "Command exited with status 0") }
                try await scheduler.acknowledge(status)
            }
            #expect(states == [.taskStarting, .taskRunning, .taskFinished])
            // Once the terminal update is acknowledged, the task is no longer the framework's.
            try await Task.sleep(for: .milliseconds(100))
            let state = try await HTTPClient().execute(HTTPRequest(method: "GET", url: cluster.url + "/master/state"))
            let json = try JSONSerialization.jsonObject(with: Data(state.body.readableBytesView)) as? [String: Any]
            let frameworks = json?["frameworks"] as? [[String: Any]]
            #expect((frameworks?.first?["tasks"] as? [Any])?.isEmpty == true)
        }
    }

    @Test("an unacknowledged update is sent again, and the next one waits for its acknowledgement")
    func retriesUntilAcknowledged() async throws {
        try await Self.withCluster(retry: .milliseconds(300)) { cluster in
            let scheduler = try await RawScheduler.subscribe(cluster.url)
            let offer = try #require(try await Self.offers(scheduler).first)
            try await Self.accept(scheduler, [offer.id], [Self.task("t2", on: offer, command: "sleep 0.2")])
            let first = try await Self.update(scheduler, "t2")
            #expect(first.state == .taskStarting)
            let again = try await Self.update(scheduler, "t2")
            #expect(again.state == .taskStarting)
            #expect(again.uuid == first.uuid)
            try await scheduler.acknowledge(first)
            // Copies of STARTING already on their way may still arrive; then RUNNING, never before the ack.
            var running = try await Self.update(scheduler, "t2")
            while running.state == .taskStarting {
                #expect(running.uuid == first.uuid)
                running = try await Self.update(scheduler, "t2")
            }
            #expect(running.state == .taskRunning)
        }
    }

    @Test("ACCEPT with an unknown offer: 202, then TASK_LOST (TASK_DROPPED when partition-aware) with REASON_INVALID_OFFERS")
    func invalidOffer() async throws {
        try await Self.withCluster { cluster in
            for aware in [false, true] {
                let info = RawScheduler.frameworkInfo(capabilities: aware ? [.partitionAware] : [])
                let scheduler = try await RawScheduler.subscribe(cluster.url, info)
                var offer = Offer()
                offer.agentID = cluster.agents[0].agentInfo.id
                try await Self.accept(scheduler, [OfferID("no-such-offer")], [Self.task("lost", on: offer, command: "true")])
                let status = try await Self.update(scheduler, "lost")
                #expect(status.state == (aware ? .taskDropped : .taskLost))
                #expect(status.reason == .invalidOffers)
                #expect(status.source == .master)
                #expect(status.message == "Task launched with invalid offers: Offer no-such-offer is no longer valid")
                #expect(!status.hasUuid)
            }
        }
    }

    @Test("a task asking for more than offered gets TASK_ERROR with the master's reason; the offer's resources return")
    func invalidTask() async throws {
        try await Self.withCluster { cluster in
            let scheduler = try await RawScheduler.subscribe(cluster.url)
            let offer = try #require(try await Self.offers(scheduler).first)
            try await Self.accept(scheduler, [offer.id], [Self.task("big", on: offer, command: "true", cpus: 64)])
            let status = try await Self.update(scheduler, "big")
            #expect(status.state == .taskError)
            #expect(status.reason == .taskInvalid)
            #expect(status.message.hasPrefix("Total resources"))
            #expect(status.message.contains("is more than available"))
            let again = try await Self.offers(scheduler)
            #expect(Resources(again.flatMap(\.resources)).cpus == 4)
        }
    }

    @Test("KILL: TASK_KILLING for frameworks that know it, then TASK_KILLED by SIGTERM")
    func kill() async throws {
        try await Self.withCluster { cluster in
            let scheduler = try await RawScheduler.subscribe(cluster.url, RawScheduler.frameworkInfo(capabilities: [.taskKillingState]))
            let offer = try #require(try await Self.offers(scheduler).first)
            try await Self.accept(scheduler, [offer.id], [Self.task("sleeper", on: offer, command: "sleep 60")])
            while true {
                let status = try await Self.update(scheduler, "sleeper")
                try await scheduler.acknowledge(status)
                if status.state == .taskRunning { break }
            }
            var kill = SchedulerCall()
            kill.type = .kill
            kill.kill.taskID = "sleeper"
            kill.kill.agentID = offer.agentID
            #expect(try await scheduler.call(kill).status == 202)
            let killing = try await Self.update(scheduler, "sleeper")
            #expect(killing.state == .taskKilling)
            try await scheduler.acknowledge(killing)
            let killed = try await Self.update(scheduler, "sleeper")
            #expect(killed.state == .taskKilled)
            #expect(killed.message == "Command terminated with signal Terminated")
        }
    }

    @Test("RECONCILE: implicit gives each task's latest state; explicit for an unknown task gives TASK_LOST")
    func reconcile() async throws {
        try await Self.withCluster { cluster in
            let scheduler = try await RawScheduler.subscribe(cluster.url)
            let offer = try #require(try await Self.offers(scheduler).first)
            try await Self.accept(scheduler, [offer.id], [Self.task("long", on: offer, command: "sleep 60")])
            while true {
                let status = try await Self.update(scheduler, "long")
                try await scheduler.acknowledge(status)
                if status.state == .taskRunning { break }
            }
            var implicit = SchedulerCall()
            implicit.type = .reconcile
            implicit.reconcile = SchedulerCall.Reconcile()
            #expect(try await scheduler.call(implicit).status == 202)
            let latest = try await Self.update(scheduler, "long")
            #expect(latest.state == .taskRunning)
            #expect(latest.reason == .reconciliation)
            #expect(latest.message == "Reconciliation: Latest task state")
            #expect(latest.source == .master)
            #expect(!latest.hasUuid)
            var explicit = SchedulerCall()
            explicit.type = .reconcile
            var unknown = SchedulerCall.Reconcile.Task()
            unknown.taskID = "ghost"
            explicit.reconcile.tasks = [unknown]
            #expect(try await scheduler.call(explicit).status == 202)
            let ghost = try await Self.update(scheduler, "ghost")
            #expect(ghost.state == .taskLost)
            #expect(ghost.message == "Reconciliation: Task is unknown")
        }
    }

    @Test("DECLINE with refuse_seconds holds the agent back; REVIVE brings it back at once; SUPPRESS stops offers")
    func filters() async throws {
        try await Self.withCluster { cluster in
            let scheduler = try await RawScheduler.subscribe(cluster.url)
            let offer = try #require(try await Self.offers(scheduler).first)
            var decline = SchedulerCall()
            decline.type = .decline
            decline.decline.offerIds = [offer.id]
            decline.decline.filters.refuseSeconds = 60
            #expect(try await scheduler.call(decline).status == 202)
            await #expect(throws: RawScheduler.Failure.self) {
                _ = try await scheduler.next(where: { $0.type == .offers }, timeout: .milliseconds(500))
            }
            var revive = SchedulerCall()
            revive.type = .revive
            #expect(try await scheduler.call(revive).status == 202)
            let again = try await Self.offers(scheduler)
            #expect(again.first?.agentID == offer.agentID)
            var suppress = SchedulerCall()
            suppress.type = .suppress
            #expect(try await scheduler.call(suppress).status == 202)
            decline.decline.offerIds = again.map(\.id)
            decline.decline.filters.refuseSeconds = 0
            #expect(try await scheduler.call(decline).status == 202)
            await #expect(throws: RawScheduler.Failure.self) {
                _ = try await scheduler.next(where: { $0.type == .offers }, timeout: .milliseconds(500))
            }
        }
    }

    @Test("a framework failing over with an offer outstanding: the offer is discarded without a RESCIND and its resources offered anew")
    func failoverDiscardsOffers() async throws {
        try await Self.withCluster { cluster in
            let first = try await RawScheduler.subscribe(cluster.url, RawScheduler.frameworkInfo(failoverTimeout: 60))
            let held = try #require(try await Self.offers(first).first)
            var info = RawScheduler.frameworkInfo(failoverTimeout: 60)
            info.id = first.frameworkID
            let second = try await RawScheduler.subscribe(cluster.url, info)
            // Everything up to the new stream's first OFFERS: heartbeats only.
            var seen: [SchedulerEvent.TypeEnum] = []
            while true {
                let event = try #require(try await second.next())
                if event.type == .offers {
                    #expect(!event.offers.offers.contains { $0.id == held.id })
                    #expect(event.offers.offers.contains { $0.agentID == held.agentID })
                    break
                }
                seen.append(event.type)
            }
            #expect(seen.allSatisfy { $0 == .heartbeat }, "\(seen)")
        }
    }

    @Test("a framework that disconnects keeps its tasks within failover_timeout and finds them on re-subscribing")
    func failoverKeepsTasks() async throws {
        try await Self.withCluster { cluster in
            let first = try await RawScheduler.subscribe(cluster.url, RawScheduler.frameworkInfo(failoverTimeout: 60))
            let offer = try #require(try await Self.offers(first).first)
            try await Self.accept(first, [offer.id], [Self.task("survivor", on: offer, command: "sleep 60")])
            while true {
                let status = try await Self.update(first, "survivor")
                try await first.acknowledge(status)
                if status.state == .taskRunning { break }
            }
            cluster.master.dropSubscription(of: first.frameworkID, midRecord: true)
            #expect(await first.waitForEnd())
            // Half a record, then the connection closed: the decoder says the stream was truncated.
            #expect(first.endError != nil)
            var info = RawScheduler.frameworkInfo(failoverTimeout: 60)
            info.id = first.frameworkID
            let second = try await RawScheduler.subscribe(cluster.url, info)
            var reconcile = SchedulerCall()
            reconcile.type = .reconcile
            reconcile.reconcile = SchedulerCall.Reconcile()
            #expect(try await second.call(reconcile).status == 202)
            let status = try await Self.update(second, "survivor")
            #expect(status.state == .taskRunning)
        }
    }

    @Test(
        "an agent marked unreachable: tasks TASK_UNREACHABLE (TASK_LOST when not partition-aware) with the unreachable time, a FAILURE event, the tasks in unreachable_tasks of /master/state",
        arguments: [true, false]
    )
    func agentRemoved(partitionAware: Bool) async throws {
        try await Self.withCluster { cluster in
            let capabilities: [FrameworkInfo.Capability.TypeEnum] = partitionAware ? [.partitionAware] : []
            let scheduler = try await RawScheduler.subscribe(cluster.url, RawScheduler.frameworkInfo(capabilities: capabilities))
            let offer = try #require(try await Self.offers(scheduler).first)
            try await Self.accept(scheduler, [offer.id], [Self.task("stranded", on: offer, command: "sleep 60")])
            while true {
                let status = try await Self.update(scheduler, "stranded")
                try await scheduler.acknowledge(status)
                if status.state == .taskRunning { break }
            }
            let before = Date().timeIntervalSince1970
            await cluster.master.removeAgent(offer.agentID, reason: .unreachable)
            let status = try await Self.update(scheduler, "stranded")
            let expected: TaskState = partitionAware ? .taskUnreachable : .taskLost
            #expect(status.state == expected)
            #expect(status.source == .master)
            #expect(status.reason == .agentRemoved)
            let unreachableAt = Double(status.unreachableTime.nanoseconds) / 1e9
            #expect(unreachableAt >= before - 1 && unreachableAt <= Date().timeIntervalSince1970 + 1)
            let failure = try await scheduler.next(where: { $0.type == .failure })
            #expect(failure.failure.agentID == offer.agentID)
            #expect(!failure.failure.hasExecutorID)

            // The master keeps the task among the framework's unreachable tasks, in its new state.
            let response = try await HTTPClient().execute(HTTPRequest(method: "GET", url: cluster.url + "/master/state"))
            let state = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
            let framework = (state?["frameworks"] as? [[String: Any]])?.first
            #expect((framework?["tasks"] as? [Any])?.isEmpty == true)
            #expect((framework?["completed_tasks"] as? [Any])?.isEmpty == true)
            let unreachable = framework?["unreachable_tasks"] as? [[String: Any]] ?? []
            #expect(unreachable.map { $0["id"] as? String } == ["stranded"])
            let stateName = partitionAware ? "TASK_UNREACHABLE" : "TASK_LOST"
            #expect(unreachable.first?["state"] as? String == stateName)
            #expect(unreachable.first?["slave_id"] as? String == offer.agentID.value)
            let statuses = (unreachable.first?["statuses"] as? [[String: Any]] ?? []).compactMap { $0["state"] as? String }
            #expect(statuses == ["TASK_STARTING", "TASK_RUNNING", stateName])
            #expect((state?["orphan_tasks"] as? [Any])?.isEmpty == true)
        }
    }
}
