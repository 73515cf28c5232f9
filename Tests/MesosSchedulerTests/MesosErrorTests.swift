import Foundation
import MesosHTTP
import MesosScheduler
import Testing

/// Errors from the answers a real Mesos 1.11 master gave (Fixtures/mesos-1.11).
@Suite("Mesos errors")
struct MesosErrorTests {
    static func answers(_ file: String) throws -> [(name: String, head: HTTPResponseHead, body: [UInt8])] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/mesos-1.11")
        let list = try JSONSerialization.jsonObject(with: Data(contentsOf: root.appendingPathComponent(file))) as! [[String: Any]]
        return list.compactMap { entry in
            guard let status = entry["status"] as? Int else { return nil }
            let headers = (entry["headers"] as? [[String]] ?? []).map { (name: $0[0], value: $0[1]) }
            return (entry["name"] as! String, HTTPResponseHead(status: status, headers: headers), Array((entry["body"] as? String ?? "").utf8))
        }
    }

    static func error(_ file: String, _ name: String, url: String = "http://127.0.0.1:5050/api/v1/scheduler") throws -> MesosError? {
        let answer = try #require(try Self.answers(file).first { $0.name == name })
        return MesosError(response: answer.head, body: answer.body, url: url)
    }

    @Test("307 from a standby: not the leader, and the scheme-relative Location resolved")
    func redirect() throws {
        let error = try #require(try Self.error("redirect/redirect_calls.json", "REVIVE to standby (no stream id)", url: "http://127.0.0.1:5081/api/v1/scheduler"))
        #expect(error.code == .notLeader)
        #expect(error.httpStatus == 307)
        #expect(error.leaderURL == "http://127.0.0.1:5080/master/api/v1/scheduler")
        #expect(error.isRetryable)
        #expect(MesosError.resolve("//m1:5050/master/api/v1/scheduler", against: "https://m2:5050/api/v1/scheduler") == "https://m1:5050/master/api/v1/scheduler")
        #expect(MesosError.resolve("/redirected", against: "http://m2:5050/api/v1/scheduler") == "http://m2:5050/redirected")
        #expect(MesosError.resolve("elsewhere", against: "http://m2:5050/") == nil)
    }

    @Test("the master's words for each refusal", arguments: [
        ("json/calls.json", "ERR missing Mesos-Stream-Id", MesosError.Code.badRequest, "All non-subscribe calls should include the 'Mesos-Stream-Id' header"),
        ("json/calls.json", "ERR Content-Type text/plain", .unsupportedMediaType, "Expecting 'Content-Type' of application/json or application/x-protobuf"),
        ("json/calls.json", "ERR GET method", .methodNotAllowed, "405 Method Not Allowed. Expecting one of { 'POST' }, but received 'GET'."),
        ("failover/calls.json", "call with stale stream id after master restart", .unsubscribed, "Framework is not subscribed"),
        ("auth/auth_calls.json", "REVIVE without Authorization", .unauthorized, "401 Unauthorized."),
    ])
    func refusals(file: String, name: String, code: MesosError.Code, message: String) throws {
        let error = try #require(try Self.error(file, name))
        #expect(error.code == code)
        #expect(error.message == message)
        #expect(!error.isRetryable)
    }

    @Test("503 without a leader is retryable; 2xx is no error")
    func unavailable() throws {
        let error = try #require(MesosError(response: HTTPResponseHead(status: 503, headers: []), body: Array("No leader elected".utf8), url: "http://m:5050/api/v1/scheduler"))
        #expect(error.code == .unavailable)
        #expect(error.isRetryable)
        #expect(error.description == "MesosError.unavailable (HTTP 503): No leader elected")
        #expect(MesosError(response: HTTPResponseHead(status: 202, headers: []), body: [], url: "http://m/") == nil)
    }

    @Test("a huge error body is cut to 4 KiB")
    func longBody() throws {
        let error = try #require(MesosError(response: HTTPResponseHead(status: 400, headers: []), body: Array(repeating: 0x61, count: 100_000), url: "http://m/"))
        #expect(error.message.utf8.count == 4096)
    }
}
