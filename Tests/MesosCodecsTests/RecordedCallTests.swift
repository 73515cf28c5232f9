import Foundation
import Mesos
import MesosCodecs
import SwiftProtobuf
import Testing

/// Calls sent to a real Mesos 1.11 master, with its answers: what it accepted must decode, what it refused for the
/// body must be refused here with the same words, and what we encode must mean the same to it.
@Suite("Calls recorded against Mesos 1.11")
struct RecordedCallTests {
    static let strict = MessageCodec(.json, jsonReading: .exactlyAsMesos)
    static let fast = MessageCodec(.json)
    static let protobuf = MessageCodec(.protobuf)

    static let conversionPrefix = "Failed to convert JSON into Call protobuf: "

    static func jsonExchanges() throws -> [Fixtures.Exchange] {
        try ["json/calls.json", "executor/scheduler_calls.json", "failover/calls.json", "ssl/calls.json"]
            .flatMap { try Fixtures.exchanges($0) }
            .filter { $0.contentType == "application/json" && $0.requestBody != nil }
    }

    @Test("each JSON call body is accepted or refused as the master did, in the master's words")
    func schedulerCalls() throws {
        let exchanges = try Self.jsonExchanges()
        #expect(exchanges.count > 40)
        for exchange in exchanges {
            let body = Array(exchange.requestBody!.utf8)
            if exchange.responseBody.hasPrefix(Self.conversionPrefix) {
                let error = #expect(throws: MesosCodecError.self, "\(exchange.name)") {
                    try Self.strict.decode(SchedulerCall.self, from: body)
                }
                #expect(error?.message == String(exchange.responseBody.dropFirst(Self.conversionPrefix.count)), "\(exchange.name)")
            } else if exchange.responseBody.hasPrefix("Failed to parse body into JSON") {
                let error = #expect(throws: MesosCodecError.self) { try Self.strict.decode(SchedulerCall.self, from: body) }
                #expect(error?.code == .malformedJSON, "\(exchange.name)")
            } else {
                let strict = try Self.strict.decode(SchedulerCall.self, from: body)
                #expect(try Self.fast.decode(SchedulerCall.self, from: body) == strict, "\(exchange.name)")
                // Ours, written back, means the same call.
                #expect(try Self.strict.decode(SchedulerCall.self, from: Self.fast.encode(strict)) == strict)
                #expect(try Self.protobuf.decode(SchedulerCall.self, from: Self.protobuf.encode(strict)) == strict)
            }
        }
    }

    @Test("the master's lenient spellings read as the values they spell")
    func lenientSpellings() throws {
        let exchange = try #require(try Fixtures.exchanges("json/calls.json").first { $0.name.hasPrefix("ACCEPT launch t2") })
        let call = try Self.fast.decode(SchedulerCall.self, from: Array(exchange.requestBody!.utf8))
        let task = call.accept.operations[0].launch.taskInfos[0]
        #expect(task.resources[0].scalar.value == 0.1)  // "0.1"
        #expect(task.resources[2].ranges.range[0].begin == 31005)  // "31005"
        #expect(task.command.shell == true)  // "true"
        #expect(task.killPolicy.gracePeriod.nanoseconds == 3_000_000_000)  // "3000000000"
        #expect(Array(task.data) == [0x00, 0x01] + Array("binary-data".utf8) + [0xFF])
        #expect(call.accept.filters.refuseSeconds == 1.5)  // "1.5"
    }

    @Test("the spellings probed against the master: accepted and refused alike")
    func encodingProbe() throws {
        let probe = try JSONSerialization.jsonObject(with: Data(Fixtures.bytes("json/encoding_probe.json"))) as! [[String: Any]]
        #expect(probe.count == 24)
        for entry in probe {
            let variant = entry["variant"] as! String
            let call: [String: Any] = [
                "framework_id": ["value": "f"], "type": "ACCEPT",
                "accept": ["offer_ids": [["value": "o"]], "operations": [["type": "LAUNCH", "launch": ["task_infos": [entry["task_json"]!]]]]],
            ]
            let body = Array(try JSONSerialization.data(withJSONObject: call))
            let answer = entry["body"] as! String
            if entry["status"] as! Int == 202 {
                #expect(throws: Never.self, "\(variant)") { try Self.strict.decode(SchedulerCall.self, from: body) }
                #expect(throws: Never.self, "\(variant)") { try Self.fast.decode(SchedulerCall.self, from: body) }
            } else {
                let error = #expect(throws: MesosCodecError.self, "\(variant)") { try Self.strict.decode(SchedulerCall.self, from: body) }
                #expect(Self.conversionPrefix + (error?.message ?? "") == answer, "\(variant)")
                // The fast reader may take more than the master does (an enum as its number), but what it refuses,
                // it refuses in the master's words.
                do {
                    _ = try Self.fast.decode(SchedulerCall.self, from: body)
                } catch {
                    #expect(Self.conversionPrefix + error.message == answer, "\(variant)")
                }
            }
        }
    }

    @Test("executor calls the agent accepted decode; the malformed one is refused")
    func executorCalls() throws {
        for exchange in try Fixtures.exchanges("executor/executor_calls.json") where exchange.contentType == "application/json" {
            let body = Array(exchange.requestBody!.utf8)
            if exchange.status == 400 {
                let error = #expect(throws: MesosCodecError.self) { try Self.strict.decode(ExecutorCall.self, from: body) }
                #expect(error?.code == .malformedJSON)
            } else {
                let call = try Self.strict.decode(ExecutorCall.self, from: body)
                #expect(call.executorID.value == "pyexec-1")
                #expect(try Self.protobuf.decode(ExecutorCall.self, from: Self.protobuf.encode(call)) == call)
            }
        }
    }

    /// `protobuf/call_NN_*.bin` are the bodies sent; `protobuf/calls.json` has each one's text rendering.
    @Test("protobuf call bodies: decode to their text rendering, and we encode the same bytes")
    func protobufCalls() throws {
        let exchanges = try Fixtures.exchanges("protobuf/calls.json")
        let files = try FileManager.default.contentsOfDirectory(atPath: Fixtures.root.appendingPathComponent("protobuf").path)
            .filter { $0.hasPrefix("call_") && $0.hasSuffix(".bin") }.sorted()
        #expect(files.count == 8)
        for file in files {
            let index = Int(file.dropFirst(5).prefix(2))!
            let exchange = exchanges[index]
            let body = try Fixtures.bytes("protobuf/\(file)")
            let call = try Self.protobuf.decode(SchedulerCall.self, from: body)
            let expected = try SchedulerCall(textFormatString: exchange.textFormat ?? "")
            #expect(call == expected, "\(file)")
            #expect(try Self.protobuf.encode(call) == body, "\(file)")
        }
    }

    @Test("a call built in Swift encodes to what the master accepted")
    func builtCallMatchesRecorded() throws {
        var call = SchedulerCall()
        call.frameworkID = "18d6e804-c1d1-408a-88d4-3bd14da45902-0001"
        call.type = .accept
        call.accept.offerIds = ["18d6e804-c1d1-408a-88d4-3bd14da45902-O2"]
        var task = TaskInfo()
        task.name = "t1"
        task.taskID = "t1"
        task.agentID = "5a455e73-4eb8-4c88-aebe-bd2a1767f2b8-S0"
        for (name, value) in [("cpus", 0.1), ("mem", 32.0)] {
            var resource = Resource()
            resource.name = name
            resource.type = .scalar
            resource.scalar.value = value
            task.resources.append(resource)
        }
        task.command.value = "echo hello > out.txt; cat payload.txt"
        var uri = Mesos_V1_CommandInfo.URI()
        uri.value = "http://127.0.0.1:57825/payload.txt"
        uri.extract = false
        uri.cache = false
        task.command.uris = [uri]
        var operation = Mesos_V1_Offer.Operation()
        operation.type = .launch
        operation.launch.taskInfos = [task]
        call.accept.operations = [operation]
        call.accept.filters.refuseSeconds = 1

        let recorded = try #require(try Fixtures.exchanges("json/calls.json").first { $0.name == "ACCEPT launch t1" })
        #expect(try JSONTree(Self.fast.encode(call)) == JSONTree(Array(recorded.requestBody!.utf8)))
    }
}
