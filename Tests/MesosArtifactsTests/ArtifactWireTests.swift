import Foundation
import Glibc
import MesosArtifacts
import MesosTestSupport
import NIOCore
import Testing

/// The artifact server reads request heads itself: what a client sends on a raw connection (pipelined requests,
/// HTTP/1.0, bare LF line ends, heads in pieces, malformed heads, bodies) and what it gets back.
@Suite("Artifact server on the wire", .timeLimit(.minutes(2)))
struct ArtifactWireTests {
    typealias H = HTTPTestSupport

    /// One response read off a raw connection.
    struct Response {
        var statusLine: String
        var headers: [String: String]
        var body: [UInt8]
        var status: Int { Int(self.statusLine.split(separator: " ").dropFirst().first ?? "") ?? 0 }
    }

    /// Reads responses off `fd` as a client would: heads up to the blank line, then Content-Length bytes of body
    /// (none for HEAD and 304).
    final class Reader: @unchecked Sendable {
        let fd: Int32
        var buffer: [UInt8] = []
        var closed = false

        init(_ fd: Int32) { self.fd = fd }

        private func fill() -> Bool {
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = chunk.withUnsafeMutableBytes { recv(self.fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else {
                self.closed = count == 0
                return false
            }
            self.buffer += chunk[..<count]
            return true
        }

        func response(bodyless: Bool = false) -> Response? {
            let terminator: [UInt8] = Array("\r\n\r\n".utf8)
            while true {
                if let end = self.buffer.firstRange(of: terminator) {
                    let head = String(decoding: self.buffer[..<end.lowerBound], as: UTF8.self)
                    var lines = head.components(separatedBy: "\r\n")
                    let statusLine = lines.removeFirst()
                    var headers: [String: String] = [:]
                    for line in lines {
                        guard let colon = line.firstIndex(of: ":") else { continue }
                        headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                    }
                    let length = bodyless ? 0 : Int(headers["content-length"] ?? "0") ?? 0
                    while self.buffer.count < end.upperBound + length { guard self.fill() else { return nil } }
                    let body = Array(self.buffer[end.upperBound..<(end.upperBound + length)])
                    self.buffer.removeFirst(end.upperBound + length)
                    return Response(statusLine: statusLine, headers: headers, body: body)
                }
                guard self.fill() else { return nil }
            }
        }

        /// True when the server closes the connection (and sends nothing more) within the socket's 30 s timeout.
        func closesWithoutMore() -> Bool {
            while self.fill() {}
            return self.closed && self.buffer.isEmpty
        }
    }

    static func withArtifact(_ body: (_ port: Int, _ path: String, _ bytes: [UInt8]) async throws -> Void) async throws {
        try await ArtifactServerTests.withServer { server, _ in
            let bytes = H.randomBytes(3000, seed: 11)
            let artifact = try server.register(data: bytes, as: "wire.bin")
            let path = String(artifact.url.dropFirst(server.baseURL.count))
            try await body(server.localAddress.port!, path, bytes)
        }
    }

    /// Sends `text` on a new connection and reads with `body`, off the cooperative threads.
    static func exchange<T: Sendable>(port: Int, _ text: String, _ body: @escaping @Sendable (Reader) -> T) async throws -> T {
        let fd = try H.rawConnection(port: port)
        defer { close(fd) }
        H.send(fd, text)
        let reader = Reader(fd)
        return try await TestProcess.offload { body(reader) }
    }

    @Test("pipelined requests are answered in order on one connection; Connection: close ends it after its answer")
    func pipelining() async throws {
        try await Self.withArtifact { port, path, bytes in
            let text =
                "GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n"
                + "HEAD \(path) HTTP/1.1\r\nHost: x\r\n\r\n"
                + "GET \(path) HTTP/1.1\r\nHost: x\r\nRange: bytes=10-19\r\n\r\n"
                + "GET /nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            let (responses, closed) = try await Self.exchange(port: port, text) { reader in
                ([reader.response(), reader.response(bodyless: true), reader.response(), reader.response()], reader.closesWithoutMore())
            }
            #expect(responses.map { $0?.status } == [200, 200, 206, 404])
            #expect(responses[0]?.body == bytes)
            #expect(responses[1]?.headers["content-length"] == "3000")
            #expect(responses[2]?.body == Array(bytes[10..<20]))
            #expect(responses[2]?.headers["content-range"] == "bytes 10-19/3000")
            #expect(responses[3]?.headers["connection"] == "close")
            #expect(responses.allSatisfy { $0?.headers["date"]?.hasSuffix(" GMT") == true })
            #expect(closed)
        }
    }

    @Test("HTTP/1.0: answered as 1.0 and closed, unless the client asks for keep-alive")
    func http10() async throws {
        try await Self.withArtifact { port, path, bytes in
            let (plain, closed) = try await Self.exchange(port: port, "GET \(path) HTTP/1.0\r\n\r\n") { reader in
                (reader.response(), reader.closesWithoutMore())
            }
            #expect(plain?.statusLine == "HTTP/1.0 200 OK")
            #expect(plain?.body == bytes)
            #expect(plain?.headers["connection"] == "close")
            #expect(closed)

            let text = "GET \(path) HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\nGET \(path) HTTP/1.0\r\n\r\n"
            let (kept, next) = try await Self.exchange(port: port, text) { reader in (reader.response(), reader.response()) }
            #expect(kept?.headers["connection"] == "keep-alive")
            #expect(next?.status == 200, "the connection stayed open for the second request")
        }
    }

    @Test("a head in pieces, with bare LF line ends or leading blank lines, is read whole")
    func lenientFraming() async throws {
        try await Self.withArtifact { port, path, bytes in
            let fd = try H.rawConnection(port: port)
            defer { close(fd) }
            let reader = Reader(fd)
            for piece in ["GE", "T \(path) HT", "TP/1.1\r\nHo", "st: x\r", "\n\r", "\n"] {
                H.send(fd, piece)
                try await Task.sleep(for: .milliseconds(30))
            }
            let pieces = try await TestProcess.offload { reader.response() }
            #expect(pieces?.status == 200)
            #expect(pieces?.body == bytes)

            let (bare, leading) = try await Self.exchange(port: port, "GET \(path) HTTP/1.1\nHost: x\n\n\r\nGET \(path) HTTP/1.1\r\n\r\n") { reader in
                (reader.response(), reader.response())
            }
            #expect(bare?.status == 200)
            #expect(leading?.status == 200)
        }
    }

    @Test(
        "a malformed head gets its status and the connection closes",
        arguments: [
            ("GARBAGE\r\n\r\n", 400),
            ("GET\r\n\r\n", 400),
            ("GET /x HTTP/2.0\r\n\r\n", 505),
            ("GET /x FTP/1.0\r\n\r\n", 400),
            ("GET /x HTTP/1.1\r\nHost : x\r\n\r\n", 400),
            ("GET /x HTTP/1.1\r\nX-A: 1\r\n folded\r\n\r\n", 400),
            ("GET /x HTTP/1.1\r\nNo colon here\r\n\r\n", 400),
            ("GET /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400),
            ("GET /x HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
            ("GET /x HTTP/1.1\r\nX-A: a\u{01}b\r\n\r\n", 400),
            ("G(T /x HTTP/1.1\r\n\r\n", 400),
        ]
    )
    func malformed(head: String, status: Int) async throws {
        try await Self.withArtifact { port, _, _ in
            let (response, closed) = try await Self.exchange(port: port, head) { reader in (reader.response(), reader.closesWithoutMore()) }
            #expect(response?.status == status)
            #expect(response?.headers["connection"] == "close")
            #expect(closed)
        }
    }

    @Test("a request with a body is answered (405 for POST, 400 for a GET) and the connection closes: its body is never read as a request")
    func bodies() async throws {
        try await Self.withArtifact { port, path, _ in
            let smuggled = "GET \(path) HTTP/1.1\r\n\r\n"
            let post = "POST \(path) HTTP/1.1\r\nContent-Length: \(smuggled.utf8.count)\r\n\r\n\(smuggled)"
            let (postResponse, postClosed) = try await Self.exchange(port: port, post) { reader in (reader.response(), reader.closesWithoutMore()) }
            #expect(postResponse?.status == 405)
            #expect(postResponse?.headers["allow"] == "GET, HEAD")
            #expect(postClosed)

            let chunked = "GET \(path) HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
            let (getResponse, getClosed) = try await Self.exchange(port: port, chunked) { reader in (reader.response(), reader.closesWithoutMore()) }
            #expect(getResponse?.status == 400)
            #expect(getClosed)

            // A DELETE without a body keeps the connection.
            let (deleteResponse, next) = try await Self.exchange(port: port, "DELETE \(path) HTTP/1.1\r\n\r\nGET \(path) HTTP/1.1\r\n\r\n") { reader in
                (reader.response(), reader.response())
            }
            #expect(deleteResponse?.status == 405)
            #expect(next?.status == 200)
        }
    }
}
