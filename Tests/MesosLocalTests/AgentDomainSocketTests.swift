import Foundation
import Glibc
import Mesos
import MesosHTTP
import MesosLocal
import Testing

/// The agent's executor socket (`--http_executor_domain_sockets`), spoken to with libcurl over the real socket.
@Suite("Agent executor domain socket", .timeLimit(.minutes(1)))
struct AgentDomainSocketTests {
    func client(_ socket: String) -> HTTPClient {
        var configuration = HTTPClientConfiguration()
        configuration.unixSocketPath = socket
        configuration.timeouts.response = .seconds(10)
        return HTTPClient(configuration: configuration)
    }

    @Test("the socket is made world-writable (0666); only the executor API is served there, the rest is 403")
    func onlyTheExecutorAPI() async throws {
        let directory = AgentTest.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let socket = directory + "/agent.sock"
        try await AgentTest.withAgent(configure: { $0.domainSocketPath = socket }) { agent, _ in
            var info = stat()
            let found = lstat(socket, &info)
            #expect(found == 0)
            #expect(info.st_mode & 0o170000 == 0o140000, "a socket")
            #expect(info.st_mode & 0o777 == 0o666)
            let http = self.client(socket)
            defer { http.shutdown() }
            for path in ["/health", "/state", "/files/browse?path=/", "/api/v1/executor", "/slave(1)/state"] {
                let response = try await http.execute(HTTPRequest(method: "GET", url: "http://agent\(path)"))
                #expect(response.status == 403, "\(path)")
            }
            // The executor API answers there as on TCP: a call that is not JSON is a 400 with the agent's text.
            let bad = try await http.execute(HTTPRequest(
                method: "POST",
                url: "http://agent/slave(1)/api/v1/executor",
                headers: [("Content-Type", "application/json"), ("Accept", "application/json")],
                body: Array("not json".utf8)
            ))
            #expect(bad.status == 400)
            // TCP still serves everything.
            let tcp = HTTPClient(configuration: HTTPClientConfiguration())
            defer { tcp.shutdown() }
            let health = try await tcp.execute(HTTPRequest(method: "GET", url: agent.endpoint + "/health"))
            #expect(health.status == 200)
        }
        #expect(!FileManager.default.fileExists(atPath: socket), "stop removes the socket file")
    }

    @Test("a socket file left by an earlier run is replaced; a path of 108 bytes or more is refused with the agent's words")
    func staleAndTooLong() async throws {
        let directory = AgentTest.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let socket = directory + "/agent.sock"
        // A socket file left behind, as after a crash: bound, then closed without unlinking.
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { path in
            for (index, byte) in socket.utf8.enumerated() { path[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        close(fd)
        try #require(bound == 0 && FileManager.default.fileExists(atPath: socket))
        try await AgentTest.withAgent(configure: { $0.domainSocketPath = socket }) { _, _ in
            let http = self.client(socket)
            defer { http.shutdown() }
            let response = try await http.execute(HTTPRequest(method: "GET", url: "http://agent/health"))
            #expect(response.status == 403)
        }
        let long = directory + "/" + String(repeating: "s", count: 120) + ".sock"
        let error = await #expect(throws: LocalAgentError.self) {
            try await AgentTest.withAgent(configure: { $0.domainSocketPath = long }) { _, _ in }
        }
        #expect(error?.code == .bindFailed)
        #expect(error?.message.contains("must have less than 108 characters") == true)
    }

    @Test("a certificate that is not PEM fails the agent's start with an error naming the file")
    func badCertificate() async throws {
        let directory = AgentTest.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let certificate = directory + "/server.crt"
        try "not a certificate".write(toFile: certificate, atomically: true, encoding: .utf8)
        let error = await #expect(throws: LocalAgentError.self) {
            try await AgentTest.withAgent(configure: {
                $0.tls = LocalTLSConfiguration(certificateFile: certificate, keyFile: directory + "/server.key")
            }) { _, _ in }
        }
        #expect(error?.code == .bindFailed)
        #expect(error?.message.contains(certificate) == true, "\(String(describing: error))")
    }
}
