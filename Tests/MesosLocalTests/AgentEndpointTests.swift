import Foundation
import Mesos
import MesosHTTP
import MesosLocal
import NIOCore
import Testing

@Suite("LocalAgent: /files, /state and /health", .timeLimit(.minutes(2)))
struct AgentEndpointTests {
    static func get(_ agent: LocalAgent, _ pathAndQuery: String) async throws -> (Int, String, String?) {
        let client = HTTPClient()
        defer { client.shutdown() }
        let response = try await client.execute(HTTPRequest(method: "GET", url: agent.endpoint + pathAndQuery))
        return (response.status, String(buffer: response.body), response.head.header("Content-Type"))
    }

    static func json(_ text: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
    }

    static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "/-_.~"))) ?? text
    }

    @Test("/files/read: offset -1 gives the size; offset and length read a range; the real agent's errors")
    func read() async throws {
        try await AgentTest.withAgent { agent, delegate in
            agent.launch(framework: AgentTest.framework(), executor: nil, tasks: [AgentTest.task("files", shell: "printf 'hello, sandbox' ; mkdir sub")], asGroup: false)
            try await delegate.terminal("files")
            let latest = AgentTest.sandbox(agent, executor: "files")
            let directory = (latest as NSString).deletingLastPathComponent + "/" + (try FileManager.default.destinationOfSymbolicLink(atPath: latest))

            var (status, body, type) = try await Self.get(agent, "/files/read?path=\(Self.escape(directory + "/stdout"))&offset=-1")
            #expect(status == 200)
            #expect(type == "application/json")
            var object = try #require(try Self.json(body) as? [String: Any])
            #expect(object["data"] as? String == "")
            #expect(object["offset"] as? Int == 14)

            (status, body, _) = try await Self.get(agent, "/files/read?path=\(Self.escape(directory + "/stdout"))&offset=7&length=7")
            object = try #require(try Self.json(body) as? [String: Any])
            #expect(object["data"] as? String == "sandbox")
            #expect(object["offset"] as? Int == 7)

            (status, body, _) = try await Self.get(agent, "/files/read?path=\(Self.escape(directory + "/stdout"))&offset=100")
            object = try #require(try Self.json(body) as? [String: Any])
            #expect(object["data"] as? String == "")
            #expect(object["offset"] as? Int == 100)

            // The virtual path of the latest run, as the real agent attaches it.
            let virtual = "/frameworks/\(AgentTest.frameworkID.value)/executors/files/runs/latest/stdout"
            (status, body, _) = try await Self.get(agent, "/files/read?path=\(Self.escape(virtual))&offset=0")
            object = try #require(try Self.json(body) as? [String: Any])
            #expect(object["data"] as? String == "hello, sandbox")

            (status, body, _) = try await Self.get(agent, "/files/read?offset=0")
            #expect(status == 400)
            #expect(body == "Expecting 'path=value' in query.\n")
            (status, body, _) = try await Self.get(agent, "/files/read?path=\(Self.escape(directory + "/stdout"))&offset=abc")
            #expect(status == 400)
            #expect(body.hasPrefix("Failed to parse offset: "))
            (status, body, _) = try await Self.get(agent, "/files/read?path=\(Self.escape(directory + "/stdout"))&offset=-2")
            #expect(status == 400)
            #expect(body == "Negative offset provided: -2.\n")
            (status, body, _) = try await Self.get(agent, "/files/read?path=\(Self.escape(directory + "/sub"))&offset=0")
            #expect(status == 400)
            #expect(body == "Cannot read a directory.\n")
            (status, _, _) = try await Self.get(agent, "/files/read?path=\(Self.escape(directory + "/nothing"))&offset=0")
            #expect(status == 404)
            (status, _, _) = try await Self.get(agent, "/files/read?path=/etc/passwd&offset=0")
            #expect(status == 404)
            (status, body, _) = try await Self.get(agent, "/files/read?path=\(Self.escape(directory + "/../../../../../../../../../etc/passwd"))&offset=0")
            #expect(status == 400 || status == 404)
            #expect(!body.contains("root:"))

            (status, body, _) = try await Self.get(agent, "/files/download?path=\(Self.escape(directory + "/stdout"))")
            #expect(status == 200)
            #expect(body == "hello, sandbox")
        }
    }

    @Test("/files/browse lists a sandbox as the real agent does")
    func browse() async throws {
        try await AgentTest.withAgent { agent, delegate in
            agent.launch(framework: AgentTest.framework(), executor: nil, tasks: [AgentTest.task("b", shell: "echo 12345 > data.txt; mkdir dir")], asGroup: false)
            try await delegate.terminal("b")
            let virtual = "/frameworks/\(AgentTest.frameworkID.value)/executors/b/runs/latest"
            let (status, body, _) = try await Self.get(agent, "/files/browse?path=\(Self.escape(virtual))")
            #expect(status == 200)
            let entries = try #require(try Self.json(body) as? [[String: Any]])
            let paths = entries.compactMap { $0["path"] as? String }
            #expect(paths == paths.sorted())
            #expect(paths.contains(virtual + "/data.txt"))
            #expect(paths.contains(virtual + "/stdout"))
            #expect(paths.contains(virtual + "/stderr"))
            let data = try #require(entries.first { ($0["path"] as? String)?.hasSuffix("/data.txt") == true })
            #expect(data["size"] as? Int == 6)
            #expect(data["mode"] as? String == "-rw-r--r--")
            #expect(data["nlink"] as? Int == 1)
            #expect(data["uid"] is String)
            #expect(data["gid"] is String)
            #expect((data["mtime"] as? Int ?? 0) > 1_600_000_000)
            let directory = try #require(entries.first { ($0["path"] as? String)?.hasSuffix("/dir") == true })
            #expect((directory["mode"] as? String)?.hasPrefix("d") == true)

            let (missing, _, _) = try await Self.get(agent, "/files/browse?path=/frameworks/none")
            #expect(missing == 404)
        }
    }

    @Test("/state shows frameworks, executors with their sandbox directory and tasks; /health answers 200")
    func state() async throws {
        try await AgentTest.withAgent { agent, delegate in
            agent.launch(framework: AgentTest.framework(), executor: nil, tasks: [AgentTest.task("st", shell: "sleep 1000")], asGroup: false)
            try await delegate.waitForState("st", .taskRunning)
            let (status, body, _) = try await Self.get(agent, "/state")
            #expect(status == 200)
            let state = try #require(try Self.json(body) as? [String: Any])
            #expect(state["id"] as? String == "agent-test-S0")
            #expect(state["hostname"] as? String == "127.0.0.1")
            #expect(state["pid"] as? String == "slave(1)@127.0.0.1:\(agent.agentInfo.port)")
            let resources = try #require(state["resources"] as? [String: Any])
            #expect(resources["cpus"] as? Double == 4)
            #expect(resources["ports"] as? String == "[31000-32000]")
            let frameworks = try #require(state["frameworks"] as? [[String: Any]])
            #expect(frameworks.first?["id"] as? String == AgentTest.frameworkID.value)
            let executor = try #require((frameworks.first?["executors"] as? [[String: Any]])?.first)
            #expect(executor["id"] as? String == "st")
            let directory = try #require(executor["directory"] as? String)
            #expect(FileManager.default.fileExists(atPath: directory + "/stdout"))
            let tasks = try #require(executor["tasks"] as? [[String: Any]])
            #expect(tasks.first?["id"] as? String == "st")
            #expect(tasks.first?["state"] as? String == "TASK_RUNNING")

            let (health, _, _) = try await Self.get(agent, "/health")
            #expect(health == 200)
            let (unknown, _, _) = try await Self.get(agent, "/nothing-here")
            #expect(unknown == 404)
        }
    }
}
