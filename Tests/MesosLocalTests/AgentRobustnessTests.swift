import Foundation
import Mesos
import MesosHTTP
import MesosLocal
import Testing

@Suite("LocalAgent: hostile input on its endpoint", .timeLimit(.minutes(2)))
struct AgentRobustnessTests {
    @Test("random bodies, content types and queries get answers, and the agent keeps serving")
    func randomInput() async throws {
        let seed = UInt64.random(in: 0...UInt64.max)
        print("AgentRobustnessTests seed: \(seed)")
        var generator = SeededGenerator(seed: seed)
        try await AgentTest.withAgent { agent, delegate in
            agent.launch(framework: AgentTest.framework(), executor: AgentExecutorAPITests.executor("target"), tasks: [AgentTest.task("t", shell: "x")], asGroup: false)
            let client = HTTPClient()
            defer { client.shutdown() }
            let contentTypes = ["application/json", "application/x-protobuf", "text/plain", "application/json; charset=utf-8", ""]
            let validPrefix = #"{"executor_id":{"value":"target"},"framework_id":{"value":"fw-test-0000"},"type":"#
            for round in 0..<150 {
                var body: [UInt8]
                switch round % 3 {
                case 0: body = (0..<Int.random(in: 0...300, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
                case 1:
                    let types = ["\"SUBSCRIBE\"", "\"UPDATE\"", "\"MESSAGE\"", "\"HEARTBEAT\"", "7", "null", "\"X\"", "[]"]
                    body = Array((validPrefix + types[Int.random(in: 0..<types.count, using: &generator)] + ",\"update\":{\"status\":{\"uuid\":\"!!\"}}}").utf8)
                    body = Array(body.prefix(Int.random(in: 0...body.count, using: &generator)))
                default:
                    body = Array(#"{"executor_id":{"value":"target"},"framework_id":{"value":"fw-test-0000"},"type":"UPDATE","update":{"status":{"task_id":{"value":"t"},"state":"TASK_RUNNING","source":"SOURCE_EXECUTOR","uuid":"AAAA"}}}"#.utf8)
                }
                let contentType = contentTypes[Int.random(in: 0..<contentTypes.count, using: &generator)]
                let response = try await client.execute(
                    HTTPRequest(url: agent.endpoint + "/api/v1/executor", headers: contentType.isEmpty ? [] : [("Content-Type", contentType)], body: body)
                )
                #expect([200, 202, 400, 403, 406, 415, 501].contains(response.status), "round \(round): \(response.status)")
            }
            let queries = ["", "path", "path=", "path=%", "path=%zz&offset=1e9", "path=/frameworks/../../etc&offset=-1", "offset=99999999999999999999&path=/x", "length=-5&path=/tmp"]
            for query in queries {
                for endpoint in ["/files/read", "/files/browse", "/files/download"] {
                    let response = try await client.execute(HTTPRequest(method: "GET", url: agent.endpoint + endpoint + "?" + query))
                    #expect([200, 400, 404].contains(response.status), "\(endpoint)?\(query): \(response.status)")
                }
            }
            let health = try await client.execute(HTTPRequest(method: "GET", url: agent.endpoint + "/health"))
            #expect(health.status == 200)
        }
    }
}

/// SplitMix64: a reproducible generator for the seed printed above.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { self.state = seed }
    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
