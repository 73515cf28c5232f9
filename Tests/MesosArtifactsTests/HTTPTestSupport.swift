import Foundation
import Logging
import MesosArtifacts
import MesosTestSupport
import Synchronization

/// A response as `curl` saw it.
struct CurlResponse: Sendable {
    var status: Int
    var headers: [String: String]
    var body: [UInt8]
    func header(_ name: String) -> String? { self.headers[name.lowercased()] }
}

enum HTTPTestSupport {
    /// Compares bytes without letting a failed `#expect(a == b)` diff megabytes element by element.
    static func same(_ a: [UInt8], _ b: [UInt8]) -> Bool { a == b }

    /// A fresh directory under /tmp, removed by the caller.
    static func temporaryDirectory() -> URL {
        let url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("artifacts-test-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func write(_ bytes: [UInt8], to url: URL, executable: Bool = false) throws {
        try Data(bytes).write(to: url)
        if executable { try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path) }
    }

    static func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
    }

    /// `curl` with `--path-as-is`, so traversal attempts reach the server as written.

    /// Reads at least `count` bytes, or until the server closes or 30 s pass without data, off the cooperative threads.
    static func readBytes(_ fd: Int32, atLeast count: Int) async -> [UInt8] {
        (try? await TestProcess.offload {
            var received: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65536)
            while received.count < count {
                let got = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if got <= 0 { break }
                received += buffer[..<got]
            }
            return received
        }) ?? []
    }

    /// Reads until the server closes (or 30 s pass without data), off the cooperative threads.
    static func readToEnd(_ fd: Int32) async -> (text: String, closed: Bool) {
        (try? await TestProcess.offload { Self.readToEndBlocking(fd) }) ?? ("", false)
    }

    static func curl(_ url: String, method: String? = nil, headers: [String: String] = [:], extra: [String] = []) async throws -> CurlResponse {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let headerFile = directory.appendingPathComponent("headers").path
        let bodyFile = directory.appendingPathComponent("body").path
        var arguments = ["-s", "--path-as-is", "-D", headerFile, "-o", bodyFile, "--max-time", "30"]
        if let method {
            arguments += method == "HEAD" ? ["-I"] : ["-X", method]
        }
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { arguments += ["-H", "\(name): \(value)"] }
        arguments += extra + [url]
        _ = try await TestProcess.run("/usr/bin/curl", arguments)
        let rawHeaders = (try? String(contentsOfFile: headerFile, encoding: .utf8)) ?? ""
        let lines = rawHeaders.components(separatedBy: "\r\n")
        let status = lines.first.flatMap { $0.split(separator: " ").dropFirst().first.flatMap { Int($0) } } ?? 0
        var parsed: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            parsed[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var body = (try? Data(contentsOf: URL(fileURLWithPath: bodyFile))).map(Array.init) ?? []
        // For HEAD (`-I`) curl writes the headers to the output too: what follows them would be a body.
        if method == "HEAD" { body = Array(body.dropFirst(rawHeaders.utf8.count)) }
        return CurlResponse(status: status, headers: parsed, body: body)
    }

    /// A plain TCP connection to the server, for what curl will not send.
    static func rawConnection(port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { throw POSIXError(.ECONNREFUSED) }
        // A guard against a hang, not a measurement: a loaded run of the whole suite can keep a reply from a test's
        // server for seconds.
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    static func send(_ fd: Int32, _ text: String) {
        _ = text.utf8CString.withUnsafeBufferPointer { Glibc.send(fd, $0.baseAddress, $0.count - 1, Int32(MSG_NOSIGNAL)) }
    }

    private static func readToEndBlocking(_ fd: Int32) -> (text: String, closed: Bool) {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                received += buffer[..<count]
            } else if count == 0 {
                return (String(decoding: received, as: UTF8.self), true)
            } else {
                // A signal (another test's child exiting) interrupts the wait: wait again. A reset is the server
                // closing too (with bytes it had not read); only the receive timeout (EAGAIN) means it stayed open.
                let error = errno
                if error == EINTR { continue }
                return (String(decoding: received, as: UTF8.self), error == ECONNRESET)
            }
        }
    }
}

/// Keeps log records in memory, to check the access log.
struct RecordingLogHandler: LogHandler {
    final class Store: Sendable {
        let records = Mutex<[(Logger.Level, String, Logger.Metadata)]>([])
    }
    let store: Store
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }
    func log(event: LogEvent) {
        self.store.records.withLock { $0.append((event.level, event.message.description, event.metadata ?? [:])) }
    }
}
