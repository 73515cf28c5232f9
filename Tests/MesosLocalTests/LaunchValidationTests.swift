import Foundation
import Mesos
import MesosHTTP
import MesosLocal
import Testing

/// The local master's checks of LAUNCH and LAUNCH_GROUP tasks against Mesos 1.11's (`validation::task`,
/// `validation::task::group`, `validation::executor`): the TASK_ERROR a real master sends, word for word.
@Suite("Local master: task validation as 1.11's", .timeLimit(.minutes(3)))
struct LaunchValidationTests {
    typealias C = ClusterTests

    static func launch(_ tasks: [TaskInfo]) -> Offer.Operation {
        var operation = Offer.Operation()
        operation.type = .launch
        operation.launch.taskInfos = tasks
        return operation
    }

    static func group(_ tasks: [TaskInfo], executor: ExecutorInfo) -> Offer.Operation {
        var operation = Offer.Operation()
        operation.type = .launchGroup
        operation.launchGroup.executor = executor
        operation.launchGroup.taskGroup.tasks = tasks
        return operation
    }

    static func accept(_ scheduler: RawScheduler, _ offer: Offer, _ operations: [Offer.Operation]) async throws {
        try await OperationTests.accept(scheduler, offer, operations)
    }

    /// Each of `expected` ended in TASK_ERROR from the master, with `reason` and exactly that message.
    static func expectErrors(_ statuses: [String: TaskStatus], _ expected: [String: String], reason: TaskStatus.Reason) throws {
        for (id, message) in expected {
            let status = try #require(statuses[id], "\(id)")
            #expect(status.state == .taskError, "\(id)")
            #expect(status.reason == reason, "\(id)")
            #expect(status.source == .master, "\(id)")
            #expect(status.message == message, "\(id)")
        }
    }

    static func executor(_ id: String, _ scheduler: RawScheduler, command: String = "sleep 30", type: ExecutorInfo.TypeEnum = .custom) -> ExecutorInfo {
        var executor = ExecutorInfo()
        executor.executorID = ExecutorID(id)
        executor.type = type
        if type == .custom { executor.command.value = command }
        executor.frameworkID = scheduler.frameworkID
        executor.resources = [Resource(name: "cpus", scalar: 0.1), Resource(name: "mem", scalar: 32), Resource(name: "disk", scalar: 10)]
        return executor
    }

    /// The terminal update of each of `ids`, in any order.
    static func errors(_ scheduler: RawScheduler, _ ids: [String]) async throws -> [String: TaskStatus] {
        var found: [String: TaskStatus] = [:]
        while found.count < ids.count {
            let event = try await scheduler.next(where: { $0.type == .update && ids.contains($0.update.status.taskID.value) })
            found[event.update.status.taskID.value] = event.update.status
        }
        return found
    }

    @Test("LAUNCH: each task checked as 1.11 checks it, with its TASK_ERROR text")
    func launchChecks() async throws {
        try await C.withCluster { cluster in
            let scheduler = try await RawScheduler.subscribe(cluster.url)
            let offer = try #require(try await C.offers(scheduler).first)
            var health = C.task("health", on: offer, command: "true")
            health.healthCheck.type = .http
            health.healthCheck.http.port = 80
            health.healthCheck.http.path = "status"
            var env = C.task("env", on: offer, command: "true")
            var variable = Mesos_V1_Environment.Variable()
            variable.name = "X"
            env.command.environment.variables = [variable]
            var limits = C.task("limits", on: offer, command: "true")
            limits.limits["mem"] = Mesos_V1_Value.Scalar(ScalarQuantity(16))
            var first = C.task("first", on: offer, command: "")
            first.clearCommand()
            first.executor = Self.executor("e", scheduler, command: "sleep 30")
            var second = C.task("second", on: offer, command: "")
            second.clearCommand()
            second.executor = Self.executor("e", scheduler, command: "sleep 31")
            var shareCgroups = C.task("cgroups", on: offer, command: "true")
            shareCgroups.container.type = .mesos
            shareCgroups.container.linuxInfo.shareCgroups = false
            var negative = C.task("negative", on: offer, command: "true")
            negative.resources = [Resource(name: "cpus", scalar: -1), Resource(name: "mem", scalar: 32)]
            try await Self.accept(
                scheduler, offer,
                [Self.launch([health, env, limits, first, second, shareCgroups]), Self.launch([negative])]
            )
            let statuses = try await Self.errors(scheduler, ["health", "env", "limits", "second", "cgroups", "negative"])
            let expected = [
                "health": "Task uses invalid health check: The path 'status' of HTTP health check must start with '/'",
                "env": "Task's `CommandInfo` is invalid: Environment variable 'X' of type 'VALUE' must have a value set",
                "limits": "The memory limit must be greater than or equal to the memory request",
                "cgroups": "Only tasks in a task group may have 'share_cgroups' set to 'false'",
                "negative": "Resource 'cpus:-1' is invalid: Invalid scalar resource: value <= 0",
            ]
            try Self.expectErrors(statuses, expected, reason: .taskInvalid)
            // The second task names executor "e", which the first started with another command.
            let incompatible = try #require(statuses["second"])
            #expect(incompatible.state == .taskError)
            #expect(incompatible.message.hasPrefix("ExecutorInfo is not compatible with existing ExecutorInfo with same ExecutorID.\n"))
            #expect(incompatible.message.contains("sleep 31"))
        }
    }

    @Test("LAUNCH_GROUP: the executor's minimum resources and framework ID; tasks may carry the group's executor")
    func groupChecks() async throws {
        try await C.withCluster { cluster in
            let scheduler = try await RawScheduler.subscribe(cluster.url)
            let offer = try #require(try await C.offers(scheduler).first)
            var bare = Self.executor("bare", scheduler, type: .default)
            bare.resources = []
            var small = Self.executor("small", scheduler, type: .default)
            small.resources = [Resource(name: "cpus", scalar: 0.1), Resource(name: "mem", scalar: 16), Resource(name: "disk", scalar: 10)]
            var anonymous = Self.executor("anonymous", scheduler, type: .default)
            anonymous.clearFrameworkID()
            let good = Self.executor("good", scheduler, type: .default)
            var other = good
            other.name = "another"
            var carrying = C.task("carrying", on: offer, command: "sleep 30")
            carrying.executor = good
            var differing = C.task("differing", on: offer, command: "true")
            differing.executor = other
            try await Self.accept(
                scheduler, offer,
                [
                    Self.group([C.task("b1", on: offer, command: "true"), C.task("b2", on: offer, command: "true")], executor: bare),
                    Self.group([C.task("s1", on: offer, command: "true")], executor: small),
                    Self.group([C.task("a1", on: offer, command: "true")], executor: anonymous),
                    Self.group([differing], executor: good),
                    Self.group([carrying], executor: good),
                ]
            )
            let statuses = try await Self.errors(scheduler, ["b1", "b2", "s1", "a1", "differing", "carrying"])
            let expected = [
                "b1": "Executor 'bare' uses less CPUs (None) than the minimum required (0.01)",
                "b2": "Executor 'bare' uses less CPUs (None) than the minimum required (0.01)",
                "s1": "Executor 'small' uses less memory (16MB) than the minimum required (32MB)",
                "a1": "'ExecutorInfo.framework_id' must be set",
                "differing": "The `ExecutorInfo` of task 'differing' is different from executor 'good'",
            ]
            try Self.expectErrors(statuses, expected, reason: .taskGroupInvalid)
            // A task that carries the group's own executor is launched (1.11 copies it into every task anyway).
            #expect(statuses["carrying"]?.state == .taskStarting)
        }
    }

    @Test("a task ID of an unreachable task is refused; an executor ID names one executor per agent")
    func idsAcrossAgents() async throws {
        try await C.withCluster(agents: 2) { cluster in
            let scheduler = try await RawScheduler.subscribe(cluster.url)
            var offers = try await C.offers(scheduler)
            while offers.count < 2 { offers += try await C.offers(scheduler) }
            let (a, b) = (offers[0], offers[1])
            #expect(a.agentID != b.agentID)
            // The same executor ID on both agents: two executors, each launched, each holding its resources.
            for (offer, id) in [(a, "on-a"), (b, "on-b")] {
                var task = C.task(id, on: offer, command: "")
                task.clearCommand()
                task.executor = Self.executor("shared-id", scheduler)
                try await Self.accept(scheduler, offer, [Self.launch([task])])
            }
            let state = try await masterState(cluster.url)
            let framework = (state["frameworks"] as? [[String: Any]])?.first
            let executors = framework?["executors"] as? [[String: Any]] ?? []
            #expect(Set(executors.compactMap { $0["slave_id"] as? String }) == [a.agentID.value, b.agentID.value])

            await cluster.master.removeAgent(a.agentID, reason: .unreachable)
            _ = try await scheduler.next(where: { $0.type == .update && $0.update.status.state == .taskLost })
            var again: Offer?
            while again == nil {
                again = try await C.offers(scheduler).first { $0.agentID == b.agentID }
            }
            let reuse = C.task("on-a", on: try #require(again), command: "true")
            try await Self.accept(scheduler, try #require(again), [Self.launch([reuse])])
            let status = try await C.update(scheduler, "on-a")
            #expect(status.state == .taskError)
            #expect(status.message == "Task reuses the ID of an unreachable task: on-a")
        }
    }

    @Test("ACCEPT's offers are checked one rule at a time over all of them: an unknown offer is reported before another framework's")
    func offerRuleOrder() async throws {
        try await C.withCluster(agents: 2) { cluster in
            let first = try await RawScheduler.subscribe(cluster.url, RawScheduler.frameworkInfo("first"))
            var offers = try await C.offers(first)
            while offers.count < 2 { offers += try await C.offers(first) }
            let second = try await RawScheduler.subscribe(cluster.url, RawScheduler.frameworkInfo("second"))
            var decline = SchedulerCall()
            decline.type = .decline
            decline.decline.offerIds = [offers[1].id]
            decline.decline.filters.refuseSeconds = 60
            #expect(try await first.call(decline).status == 202)
            let theirs = try #require(try await C.offers(second).first)
            var call = SchedulerCall()
            call.type = .accept
            call.accept.offerIds = [theirs.id, OfferID("gone")]
            call.accept.operations = [Self.launch([C.task("t", on: offers[0], command: "true")])]
            #expect(try await first.call(call).status == 202)
            let status = try await C.update(first, "t")
            #expect(status.message == "Task launched with invalid offers: Offer gone is no longer valid")
        }
    }

    @Test("DECLINE with a negative refuse_seconds filters for the default 5 s, as 1.11's allocator does")
    func negativeRefuseSeconds() async throws {
        try await C.withCluster { cluster in
            let scheduler = try await RawScheduler.subscribe(cluster.url)
            let offer = try #require(try await C.offers(scheduler).first)
            var decline = SchedulerCall()
            decline.type = .decline
            decline.decline.offerIds = [offer.id]
            decline.decline.filters.refuseSeconds = -1
            #expect(try await scheduler.call(decline).status == 202)
            await #expect(throws: RawScheduler.Failure.self) {
                _ = try await scheduler.next(where: { $0.type == .offers }, timeout: .seconds(2))
            }
            let again = try await scheduler.next(where: { $0.type == .offers }, timeout: .seconds(10))
            #expect(again.offers.offers.first?.agentID == offer.agentID)
        }
    }
}
