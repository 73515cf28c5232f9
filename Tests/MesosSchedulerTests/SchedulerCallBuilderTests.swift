import Foundation
import Mesos
import MesosCodecs
import MesosScheduler
import Testing

/// The calls built here must be the calls a real Mesos 1.11 master accepted (recorded in Fixtures/).
@Suite("Scheduler call builders")
struct SchedulerCallBuilderTests {
    static let codec = MessageCodec(.json, jsonReading: .exactlyAsMesos)

    /// The body of the first recorded exchange named `name` in `file`, decoded.
    static func recorded(_ file: String, _ name: String) throws -> SchedulerCall {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/mesos-1.11")
        let list = try JSONSerialization.jsonObject(with: Data(contentsOf: root.appendingPathComponent(file))) as! [[String: Any]]
        let entry = try #require(list.first { $0["name"] as? String == name }, "no exchange \(name)")
        #expect(entry["status"] as? Int == 202, "the master accepted it")
        let body = (entry["request"] as! [String: Any])["body"] as! String
        return try Self.codec.decode(SchedulerCall.self, from: Array(body.utf8))
    }

    static let framework: FrameworkID = "18d6e804-c1d1-408a-88d4-3bd14da45902-0001"
    static let agent: AgentID = "5a455e73-4eb8-4c88-aebe-bd2a1767f2b8-S0"

    @Test("ACKNOWLEDGE from the status update it answers")
    func acknowledge() throws {
        var status = TaskStatus()
        status.taskID = "t1"
        status.agentID = Self.agent
        status.state = .taskStarting
        status.uuid = Data(base64Encoded: "XDd9EnDGSzC/s0U1LMx6Ug==")!
        #expect(SchedulerCall.acknowledge(Self.framework, status) == (try Self.recorded("json/calls.json", "ACKNOWLEDGE t1 TASK_STARTING")))
        status.clearUuid()
        #expect(SchedulerCall.acknowledge(Self.framework, status) == nil)
    }

    @Test("ACKNOWLEDGE_OPERATION_STATUS takes the agent and resource provider from the update unless given")
    func acknowledgeOperationStatus() throws {
        var status = OperationStatus()
        status.operationID = "op-1"
        status.state = .operationFinished
        status.uuid.value = Data((0..<16).map { UInt8($0) })
        status.agentID = Self.agent
        status.resourceProviderID.value = "rp-1"
        let call = try #require(SchedulerCall.acknowledgeOperationStatus(Self.framework, status))
        #expect(call.type == .acknowledgeOperationStatus)
        #expect(call.frameworkID == Self.framework)
        #expect(call.acknowledgeOperationStatus.agentID == Self.agent)
        #expect(call.acknowledgeOperationStatus.resourceProviderID.value == "rp-1")
        #expect(call.acknowledgeOperationStatus.operationID == "op-1")
        #expect(call.acknowledgeOperationStatus.uuid == status.uuid.value)

        let given = try #require(SchedulerCall.acknowledgeOperationStatus(Self.framework, status, agentID: "S9", resourceProviderID: ResourceProviderID("rp-9")))
        #expect(given.acknowledgeOperationStatus.agentID == "S9")
        #expect(given.acknowledgeOperationStatus.resourceProviderID.value == "rp-9")

        // An operation on the agent's default resources: no provider in the update, none in the call.
        status.clearResourceProviderID()
        let plain = try #require(SchedulerCall.acknowledgeOperationStatus(Self.framework, status))
        #expect(!plain.acknowledgeOperationStatus.hasResourceProviderID)
        status.clearUuid()
        #expect(SchedulerCall.acknowledgeOperationStatus(Self.framework, status) == nil)
    }

    @Test("RECONCILE, KILL, REVIVE, SUPPRESS, TEARDOWN, DECLINE as the master accepted them")
    func simpleCalls() throws {
        #expect(SchedulerCall.reconcile(Self.framework, tasks: [("t3", Self.agent)]) == (try Self.recorded("json/calls.json", "RECONCILE explicit t3")))
        #expect(SchedulerCall.kill(Self.framework, taskID: "t3", agentID: Self.agent) == (try Self.recorded("json/calls.json", "KILL t3")))
        #expect(SchedulerCall.revive(Self.framework) == (try Self.recorded("json/calls.json", "ERR Accept text/html on call")))
        #expect(SchedulerCall.suppress(Self.framework) == (try Self.recorded("json/calls.json", "OK SUPPRESS")))
        #expect(SchedulerCall.teardown(Self.framework) == (try Self.recorded("json/calls.json", "TEARDOWN")))
        #expect(
            SchedulerCall.decline(Self.framework, offerIDs: []) == (try Self.recorded("json/calls.json", "OK DECLINE with empty offer list"))
        )
    }

    @Test("MESSAGE and SHUTDOWN to a custom executor")
    func executorCalls() throws {
        let framework: FrameworkID = "18d6e804-c1d1-408a-88d4-3bd14da45902-0000"
        #expect(
            SchedulerCall.message(framework, agentID: Self.agent, executorID: "pyexec-1", data: Data("ping".utf8))
                == (try Self.recorded("executor/scheduler_calls.json", "MESSAGE to executor"))
        )
        #expect(
            SchedulerCall.shutdown(framework, executorID: "pyexec-1", agentID: Self.agent)
                == (try Self.recorded("executor/scheduler_calls.json", "SHUTDOWN executor"))
        )
    }

    @Test("ACCEPT with LAUNCH, as recorded")
    func accept() throws {
        let recorded = try Self.recorded("json/calls.json", "ACCEPT launch t1")
        let built = SchedulerCall.accept(
            Self.framework,
            offerIDs: recorded.accept.offerIds,
            operations: [.launch(recorded.accept.operations[0].launch.taskInfos)],
            filters: recorded.accept.filters
        )
        #expect(built == recorded)
    }

    @Test("SUBSCRIBE of a framework with an ID puts it at the top level too (failover)")
    func subscribe() {
        var info = FrameworkInfo()
        info.user = "root"
        info.name = "demo"
        #expect(!SchedulerCall.subscribe(info).hasFrameworkID)
        info.id = Self.framework
        let call = SchedulerCall.subscribe(info, suppressedRoles: ["web"])
        #expect(call.type == .subscribe)
        #expect(call.frameworkID == Self.framework)
        #expect(call.subscribe.frameworkInfo.id == Self.framework)
        #expect(call.subscribe.suppressedRoles == ["web"])
    }

    @Test("every call type builds a complete message that survives both content types")
    func everyCall() throws {
        var info = FrameworkInfo()
        info.user = "root"
        info.name = "demo"
        info.id = Self.framework
        var status = OperationStatus()
        status.operationID = "op"
        status.state = .operationFinished
        status.uuid.value = Data(repeating: 1, count: 16)
        var disk = Resource()
        disk.name = "disk"
        disk.type = .scalar
        disk.scalar.value = 10
        var executor = ExecutorInfo()
        executor.type = .default
        executor.executorID = "e"
        let operations: [Offer.Operation] = [
            .launch([]), .launchGroup(executor: executor, tasks: []), .reserve([disk]), .unreserve([disk]), .create(volumes: [disk]),
            .destroy(volumes: [disk]), .growVolume(disk, addition: disk), .shrinkVolume(disk, subtract: 1), .createDisk(disk, targetType: .mount),
            .destroyDisk(disk, id: "op-1"),
        ]
        let calls: [SchedulerCall?] = [
            .subscribe(info), .teardown(Self.framework), .accept(Self.framework, offerIDs: ["o"], operations: operations),
            .decline(Self.framework, offerIDs: ["o"]), .acceptInverseOffers(Self.framework, inverseOfferIDs: ["i"]),
            .declineInverseOffers(Self.framework, inverseOfferIDs: ["i"]), .revive(Self.framework, roles: ["web"]),
            .suppress(Self.framework, roles: ["web"]), .kill(Self.framework, taskID: "t"), .shutdown(Self.framework, executorID: "e", agentID: Self.agent),
            .acknowledgeOperationStatus(Self.framework, status, agentID: Self.agent), .reconcile(Self.framework),
            .reconcileOperations(Self.framework, operations: [("op", nil, nil)]),
            .message(Self.framework, agentID: Self.agent, executorID: "e", data: Data([0, 1])), .request(Self.framework, requests: [Mesos_V1_Request()]),
            .updateFramework(info),
        ]
        #expect(Set(calls.compactMap { $0?.type }).count == 16)  // the 17 call types less ACKNOWLEDGE, tested above
        for call in calls.compactMap({ $0 }) {
            for contentType in [ContentType.json, .protobuf] {
                let codec = MessageCodec(contentType, jsonReading: .exactlyAsMesos)
                #expect(try codec.decode(SchedulerCall.self, from: codec.encode(call)) == call, "\(call.type) in \(contentType)")
            }
        }
        #expect(Set(operations.map(\.type)).count == 10)
    }
}
