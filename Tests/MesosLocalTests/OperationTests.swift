import Foundation
import Mesos
import MesosCodecs
import MesosHTTP
import MesosLocal
import NIOCore
import Testing

/// The resource operations of ACCEPT beyond LAUNCH, observed over HTTP as a scheduler sees them: reservations,
/// persistent volumes (CREATE, DESTROY, GROW_VOLUME, SHRINK_VOLUME), CREATE_DISK/DESTROY_DISK on an agent without
/// resource providers, operation feedback (UPDATE_OPERATION_STATUS, acknowledgement, RECONCILE_OPERATIONS).
@Suite("Local master: resource operations", .timeLimit(.minutes(3)))
struct OperationTests {
    static let role = "eng"
    static let principal = "ops"

    static func framework() -> FrameworkInfo {
        var info = RawScheduler.frameworkInfo("operations")
        info.role = Self.role
        info.principal = Self.principal
        return info
    }

    static func reserved(_ name: String, _ amount: Double) -> Resource {
        var resource = Resource(name: name, scalar: ScalarQuantity(amount))
        resource.reservations = [.dynamic(role: Self.role, principal: Self.principal)]
        return resource
    }

    static func volume(_ id: String, size: Double, path: String = "data") -> Resource {
        var volume = Self.reserved("disk", size)
        volume.disk.persistence.id = id
        volume.disk.persistence.principal = Self.principal
        volume.disk.volume.containerPath = path
        volume.disk.volume.mode = .rw
        return volume
    }

    static func operation(_ type: Offer.Operation.TypeEnum, id: String?, _ fill: (inout Offer.Operation) -> Void) -> Offer.Operation {
        var operation = Offer.Operation()
        operation.type = type
        if let id { operation.id = OperationID(id) }
        fill(&operation)
        return operation
    }

    static func accept(_ scheduler: RawScheduler, _ offer: Offer, _ operations: [Offer.Operation]) async throws {
        var call = SchedulerCall()
        call.type = .accept
        call.accept.offerIds = [offer.id]
        call.accept.operations = operations
        call.accept.filters.refuseSeconds = 0
        let response = try await scheduler.call(call)
        #expect(response.status == 202)
    }

    /// The operation's next status. Offers that arrive first are declined (refuse_seconds 0), not dropped: an offer
    /// the test never answers keeps its resources out of every later offer (a loaded run once got the offer with the
    /// resized volume before the operation's status, and then waited for an offer that could not come).
    static func operationStatus(_ scheduler: RawScheduler, _ id: String) async throws -> OperationStatus {
        let deadline = ContinuousClock.now + .seconds(20)
        while true {
            let event = try await scheduler.next(where: { $0.type == .updateOperationStatus || $0.type == .offers }, timeout: deadline - .now)
            if event.type == .updateOperationStatus, event.updateOperationStatus.status.operationID.value == id {
                return event.updateOperationStatus.status
            }
            if event.type == .offers, !event.offers.offers.isEmpty {
                var decline = SchedulerCall()
                decline.type = .decline
                decline.decline.offerIds = event.offers.offers.map(\.id)
                decline.decline.filters.refuseSeconds = 0
                #expect(try await scheduler.call(decline).status == 202)
            }
        }
    }

    /// The next offer that satisfies `predicate` (others are left alone: they stay outstanding).
    static func offer(_ scheduler: RawScheduler, where predicate: @escaping (Resources) -> Bool) async throws -> Offer {
        while true {
            let event = try await scheduler.next(where: { $0.type == .offers })
            if let offer = event.offers.offers.first(where: { predicate(Resources($0.resources)) }) { return offer }
        }
    }

    static func reconcile(_ scheduler: RawScheduler, _ ids: [(String, AgentID)]) async throws {
        var call = SchedulerCall()
        call.type = .reconcileOperations
        call.reconcileOperations.operations = ids.map { id, agent in
            var operation = SchedulerCall.ReconcileOperations.Operation()
            operation.operationID = OperationID(id)
            operation.agentID = agent
            return operation
        }
        #expect(try await scheduler.call(call).status == 202)
    }

    /// Acknowledges every update of `taskID` (the agent sends the next one only after that) until a terminal one,
    /// which it returns acknowledged too, with the offers that came meanwhile (outstanding: they are the caller's).
    static func runToEnd(_ scheduler: RawScheduler, _ taskID: String) async throws -> (status: TaskStatus, offers: [OfferID]) {
        var offers: [OfferID] = []
        while true {
            let event = try #require(try await scheduler.next())
            offers += event.offers.offers.map(\.id)
            guard event.type == .update, event.status.taskID.value == taskID else { continue }
            try await scheduler.acknowledge(event.status)
            if event.status.state.isTerminalForTests { return (event.status, offers) }
        }
    }

    static func decline(_ scheduler: RawScheduler, _ offers: [OfferID]) async throws {
        guard !offers.isEmpty else { return }
        var decline = SchedulerCall()
        decline.type = .decline
        decline.decline.offerIds = offers
        decline.decline.filters.refuseSeconds = 0
        #expect(try await scheduler.call(decline).status == 202)
    }

    static func volumePath(_ cluster: LocalCluster, _ id: String) -> String {
        cluster.agents[0].configuration.workDirectory + "/volumes/roles/\(Self.role)/\(id)"
    }

    @Test(
        "RESERVE, CREATE and LAUNCH in one ACCEPT: OPERATION_FINISHED for each, the volume's directory, the volume in the next offer"
    )
    func createThenLaunch() async throws {
        try await LocalCluster.with { cluster in
            let scheduler = try await RawScheduler.subscribe(cluster.url, Self.framework())
            let offer = try await Self.offer(scheduler) { $0.disk == 10000 }
            let agentID = offer.agentID
            var task = ClusterTests.task("uses-volume", on: offer, command: "true")
            task.resources.append(Self.volume("v1", size: 100))
            var launch = Offer.Operation()
            launch.type = .launch
            launch.launch.taskInfos = [task]
            try await Self.accept(scheduler, offer, [
                Self.operation(.reserve, id: "r1") { $0.reserve.resources = [Self.reserved("disk", 100)] },
                Self.operation(.create, id: "c1") { $0.create.volumes = [Self.volume("v1", size: 100)] },
                launch,
            ])
            for id in ["r1", "c1"] {
                let status = try await Self.operationStatus(scheduler, id)
                #expect(status.state == .operationFinished)
                #expect(status.agentID == agentID)
                #expect(status.uuid.value.count == 16)
                #expect(!status.hasMessage)
            }
            // The task's updates come one at a time, each after the previous one is acknowledged. Offers of what the
            // task left free come meanwhile; they are declined once it is done, so that the whole agent, volume
            // included, is offered again (a disk-only rest is not allocatable, as in Mesos).
            let (finished, outstanding) = try await Self.runToEnd(scheduler, "uses-volume")
            #expect(finished.state == .taskFinished)
            try await Self.decline(scheduler, outstanding)
            #expect(FileManager.default.fileExists(atPath: Self.volumePath(cluster, "v1")))

            // The volume comes back in an offer once the task is done, with its persistence and volume.
            let again = try await Self.offer(scheduler) { !$0.persistentVolumes.isEmpty }
            let volume = try #require(again.resources.first { $0.disk.hasPersistence })
            #expect(volume.disk.persistence.id == "v1")
            #expect(volume.disk.persistence.principal == Self.principal)
            #expect(volume.disk.volume.containerPath == "data")
            #expect(volume.reservations.last?.role == Self.role)
            #expect(volume.reservations.last?.type == .dynamic)
            #expect(volume.allocationInfo.role == Self.role)
            #expect(volume.scalar.value == 100)
        }
    }

    @Test("a task sees its persistent volume at $MESOS_SANDBOX/<container_path>; a later task on the same volume reads what it wrote; DESTROY removes it")
    func volumeInSandbox() async throws {
        try await LocalCluster.with { cluster in
            let scheduler = try await RawScheduler.subscribe(cluster.url, Self.framework())
            var offer = try await Self.offer(scheduler) { $0.disk == 10000 }
            var writer = ClusterTests.task(
                "writer", on: offer, command: #"test -d "$MESOS_SANDBOX/data" && echo kept > "$MESOS_SANDBOX/data/note""#
            )
            writer.resources.append(Self.volume("v1", size: 100))
            var launch = Offer.Operation()
            launch.type = .launch
            launch.launch.taskInfos = [writer]
            try await Self.accept(scheduler, offer, [
                Self.operation(.reserve, id: nil) { $0.reserve.resources = [Self.reserved("disk", 100)] },
                Self.operation(.create, id: nil) { $0.create.volumes = [Self.volume("v1", size: 100)] },
                launch,
            ])
            let (written, outstanding) = try await Self.runToEnd(scheduler, "writer")
            #expect(written.state == .taskFinished, "\(written.message)")
            // What the task wrote is in the volume, under the agent's work directory, not in its sandbox.
            let volume = Self.volumePath(cluster, "v1")
            #expect((try? String(contentsOfFile: volume + "/note", encoding: .utf8)) == "kept\n")
            try await Self.decline(scheduler, outstanding)

            // A second task, in a sandbox of its own, gets the same volume from a later offer and reads the file.
            offer = try await Self.offer(scheduler) { !$0.persistentVolumes.isEmpty }
            var reader = ClusterTests.task("reader", on: offer, command: #"test "$(cat "$MESOS_SANDBOX/data/note")" = kept"#)
            reader.resources.append(try #require(offer.resources.first { $0.disk.hasPersistence }))
            launch.launch.taskInfos = [reader]
            try await Self.accept(scheduler, offer, [launch])
            let (read, more) = try await Self.runToEnd(scheduler, "reader")
            #expect(read.state == .taskFinished, "\(read.message)")
            let agent = cluster.agents[0]
            let sandbox = agent.configuration.workDirectory + "/slaves/\(agent.agentInfo.id.value)/frameworks/"
                + scheduler.frameworkID.value + "/executors/reader/runs/latest"
            #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: sandbox + "/data")) == volume)
            try await Self.decline(scheduler, more)

            // Once no task uses it, DESTROY removes the volume's directory with what is in it.
            offer = try await Self.offer(scheduler) { !$0.persistentVolumes.isEmpty }
            let offered = try #require(offer.resources.first { $0.disk.hasPersistence })
            try await Self.accept(scheduler, offer, [Self.operation(.destroy, id: "d1") { $0.destroy.volumes = [offered] }])
            #expect(try await Self.operationStatus(scheduler, "d1").state == .operationFinished)
            #expect(!FileManager.default.fileExists(atPath: volume))
        }
    }

    @Test("an operation with an id is reconciled FINISHED until its status is acknowledged, then UNKNOWN; the status is re-sent meanwhile")
    func feedbackAndReconciliation() async throws {
        var configuration = LocalClusterConfiguration()
        configuration.master.operationStatusRetryInterval = .milliseconds(300)
        try await LocalCluster.with(configuration) { cluster in
            let scheduler = try await RawScheduler.subscribe(cluster.url, Self.framework())
            let offer = try await Self.offer(scheduler) { $0.disk == 10000 }
            try await Self.accept(scheduler, offer, [
                Self.operation(.reserve, id: "r1") { $0.reserve.resources = [Self.reserved("cpus", 1)] }
            ])
            let first = try await Self.operationStatus(scheduler, "r1")
            #expect(first.state == .operationFinished)
            // Not acknowledged: the same status (same uuid) comes again.
            let again = try await Self.operationStatus(scheduler, "r1")
            #expect(again.uuid == first.uuid)

            try await Self.reconcile(scheduler, [("r1", offer.agentID)])
            // Retries of the status (with its uuid) may come first; the reconciliation's answer has none.
            let reconciled = try await scheduler.next(where: {
                $0.type == .updateOperationStatus && $0.updateOperationStatus.status.operationID == "r1"
                    && !$0.updateOperationStatus.status.hasUuid
            }).updateOperationStatus.status
            #expect(reconciled.state == .operationFinished)
            #expect(!reconciled.hasUuid)
            #expect(reconciled.agentID == offer.agentID)

            var ack = SchedulerCall()
            ack.type = .acknowledgeOperationStatus
            ack.acknowledgeOperationStatus.agentID = offer.agentID
            ack.acknowledgeOperationStatus.operationID = "r1"
            ack.acknowledgeOperationStatus.uuid = first.uuid.value
            #expect(try await scheduler.call(ack).status == 202)
            try await Task.sleep(for: .milliseconds(400))
            try await Self.reconcile(scheduler, [("r1", offer.agentID)])
            let unknown = try await scheduler.next(where: {
                $0.type == .updateOperationStatus && $0.updateOperationStatus.status.operationID == "r1"
                    && !$0.updateOperationStatus.status.hasUuid
            }).updateOperationStatus.status
            #expect(unknown.state == .operationUnknown)
            #expect(unknown.message == "Reconciliation: Operation is unknown")

            // The reservation is in the agent's resources, as /master/state shows them.
            let response = try await HTTPClient().execute(HTTPRequest(method: "GET", url: cluster.url + "/master/state"))
            let state = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
            let agent = (state?["slaves"] as? [[String: Any]])?.first
            let reserved = (agent?["reserved_resources"] as? [String: Any])?[Self.role] as? [String: Any]
            #expect(reserved?["cpus"] as? Double == 1)
            #expect((agent?["unreserved_resources"] as? [String: Any])?["cpus"] as? Double == 3)
            #expect((agent?["resources"] as? [String: Any])?["cpus"] as? Double == 4)
        }
    }

    @Test("invalid operations: OPERATION_ERROR with the master's text (when they have an id), TASK_ERROR for a LAUNCH with an id")
    func invalidOperations() async throws {
        try await LocalCluster.with { cluster in
            let scheduler = try await RawScheduler.subscribe(cluster.url, Self.framework())
            let offer = try await Self.offer(scheduler) { $0.disk == 10000 }
            let agent = cluster.agents[0]
            let port = URL(string: agent.endpoint)?.port ?? -1
            let onAgent = "; on agent \(agent.agentInfo.id.value) at slave(1)@127.0.0.1:\(port) (\(agent.agentInfo.hostname))"

            var unreservedVolume = Resource(name: "disk", scalar: 10)
            unreservedVolume.disk.persistence.id = "v0"
            unreservedVolume.disk.volume.containerPath = "data"
            unreservedVolume.disk.volume.mode = .rw
            var rawDisk = Resource(name: "disk", scalar: 10)
            rawDisk.disk.source.type = .raw
            var task = ClusterTests.task("with-id", on: offer, command: "true")
            task.resources = [Resource(name: "cpus", scalar: 0.1)]
            var launch = Offer.Operation()
            launch.type = .launch
            launch.id = "l1"
            launch.launch.taskInfos = [task]
            var wrongPrincipal = Self.volume("v2", size: 10)
            wrongPrincipal.disk.persistence.principal = "mallory"
            try await Self.accept(scheduler, offer, [
                Self.operation(.create, id: "bad-create") { $0.create.volumes = [unreservedVolume] },
                Self.operation(.createDisk, id: "bad-disk") {
                    $0.createDisk.source = rawDisk
                    $0.createDisk.targetType = .mount
                },
                Self.operation(.destroy, id: "bad-destroy") { $0.destroy.volumes = [Self.volume("nope", size: 10)] },
                Self.operation(.unreserve, id: "bad-unreserve") { $0.unreserve.resources = [Self.volume("v3", size: 10)] },
                Self.operation(.create, id: "bad-principal") { $0.create.volumes = [wrongPrincipal] },
                Self.operation(.create, id: "no-field") { _ in },
                Self.operation(.reserve, id: "empty-reserve") { $0.reserve.resources = [] },
                Self.operation(.unreserve, id: "negative") { $0.unreserve.resources = [Resource(name: "cpus", scalar: ScalarQuantity(-1))] },
                launch,
            ])
            let expected: [(String, String)] = [
                ("bad-create", "Invalid resources: Invalid DiskInfo: Persistent volumes cannot be created from unreserved resources" + onAgent),
                ("bad-disk", "'source' is not managed by a resource provider" + onAgent),
                ("bad-destroy", "Persistent volumes not found" + onAgent),
                ("bad-unreserve", "A dynamically reserved persistent volume"),
                ("bad-principal", "Create volume operation attempted by authenticated principal 'ops', which does not match a volume in the operation with principal 'mallory' set in 'disk.persistence'" + onAgent),
                ("no-field", "Operation attempted with invalid resources: A CREATE offer operation must have the Offer.Operation.create field set."),
                ("empty-reserve", "Invalid resources: The resources have multiple resource providers: " + onAgent),
                ("negative", "Operation attempted with invalid resources: Resource 'cpus:-1' is invalid: Invalid scalar resource: value <= 0"),
            ]
            // Every refusal is answered before the offer's resources come back; collect them in any order.
            var statuses: [String: OperationStatus] = [:]
            var taskError: TaskStatus?
            while statuses.count < expected.count || taskError == nil {
                let event = try #require(try await scheduler.next())
                if event.type == .updateOperationStatus {
                    statuses[event.updateOperationStatus.status.operationID.value] = event.updateOperationStatus.status
                } else if event.type == .update {
                    taskError = event.status
                }
            }
            for (id, message) in expected {
                let status = try #require(statuses[id])
                #expect(status.state == .operationError, "\(id)")
                #expect(status.message.hasPrefix(message), "\(id): \(status.message)")
                #expect(!status.hasUuid && !status.hasAgentID, "\(id)")
            }
            let error = try #require(taskError)
            #expect(error.taskID == "with-id")
            #expect(error.state == .taskError)
            #expect(error.reason == .taskInvalid)
            #expect(error.message == "The `id` field cannot be set on LAUNCH operations")
            // Nothing was converted: the whole agent is offered again, unreserved.
            let back = try await Self.offer(scheduler) { $0.disk == 10000 }
            #expect(Resources(back.resources).reserved.isEmpty)
        }
    }

    @Test("GROW_VOLUME, SHRINK_VOLUME and DESTROY change the volume in the next offers; DESTROY removes its directory")
    func resizeAndDestroy() async throws {
        try await LocalCluster.with { cluster in
            let scheduler = try await RawScheduler.subscribe(cluster.url, Self.framework())
            var offer = try await Self.offer(scheduler) { $0.disk == 10000 }
            try await Self.accept(scheduler, offer, [
                Self.operation(.reserve, id: nil) { $0.reserve.resources = [Self.reserved("disk", 300)] },
                Self.operation(.create, id: "c1") { $0.create.volumes = [Self.volume("v1", size: 100)] },
            ])
            #expect(try await Self.operationStatus(scheduler, "c1").state == .operationFinished)
            #expect(FileManager.default.fileExists(atPath: Self.volumePath(cluster, "v1")))

            offer = try await Self.offer(scheduler) { !$0.persistentVolumes.isEmpty }
            var volume = try #require(offer.resources.first { $0.disk.hasPersistence })
            try await Self.accept(scheduler, offer, [
                Self.operation(.growVolume, id: "g1") {
                    $0.growVolume.volume = volume
                    $0.growVolume.addition = Self.reserved("disk", 50)
                }
            ])
            #expect(try await Self.operationStatus(scheduler, "g1").state == .operationFinished)
            offer = try await Self.offer(scheduler) { $0.persistentVolumes.disk == 150 }
            #expect(Resources(offer.resources).reserved(for: Self.role).disk == 300)

            volume = try #require(offer.resources.first { $0.disk.hasPersistence })
            try await Self.accept(scheduler, offer, [
                Self.operation(.shrinkVolume, id: "s1") {
                    $0.shrinkVolume.volume = volume
                    $0.shrinkVolume.subtract = Mesos_V1_Value.Scalar(ScalarQuantity(120))
                }
            ])
            #expect(try await Self.operationStatus(scheduler, "s1").state == .operationFinished)
            offer = try await Self.offer(scheduler) { $0.persistentVolumes.disk == 30 }
            #expect(Resources(offer.resources).reserved(for: Self.role).disk == 300)

            volume = try #require(offer.resources.first { $0.disk.hasPersistence })
            try await Self.accept(scheduler, offer, [
                Self.operation(.destroy, id: "d1") { $0.destroy.volumes = [volume] },
                Self.operation(.unreserve, id: "u1") { $0.unreserve.resources = [Self.reserved("disk", 300)] },
            ])
            #expect(try await Self.operationStatus(scheduler, "d1").state == .operationFinished)
            #expect(try await Self.operationStatus(scheduler, "u1").state == .operationFinished)
            offer = try await Self.offer(scheduler) { $0.disk == 10000 && $0.reserved.isEmpty }
            #expect(Resources(offer.resources).persistentVolumes.isEmpty)
            #expect(!FileManager.default.fileExists(atPath: Self.volumePath(cluster, "v1")))
        }
    }
}

extension TaskState {
    var isTerminalForTests: Bool {
        [.taskFinished, .taskFailed, .taskKilled, .taskError, .taskLost, .taskDropped, .taskGone, .taskGoneByOperator].contains(self)
    }
}
