import Foundation
import Mesos
import MesosLocal
import NIOHTTP1
import Testing

@Suite("LocalAgent: the fetcher", .timeLimit(.minutes(2)))
struct AgentFetcherTests {
    /// Archives made with the system's tools, served by a loopback HTTP server.
    static func archives() throws -> (directory: String, files: [String: [UInt8]]) {
        let directory = AgentTest.makeTemporaryDirectory()
        try shell(
            """
            cd \(directory) && mkdir -p app/bin && echo 'from the archive' > app/bin/data.txt \
            && tar czf app.tar.gz app && tar cf app.tar app && tar cjf app.tar.bz2 app && tar cJf app.tar.xz app \
            && cp app.tar.gz app.tgz && zip -qr app.zip app && echo 'gzipped text' > note.txt && gzip -k note.txt
            """
        )
        var files: [String: [UInt8]] = [:]
        for name in ["app.tar.gz", "app.tar", "app.tar.bz2", "app.tar.xz", "app.tgz", "app.zip", "note.txt.gz"] {
            files[name] = Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name)))
        }
        return (directory, files)
    }

    @Test("http URIs are downloaded into the sandbox; output_file names the file, executable makes it executable")
    func download() async throws {
        let server = try await TestHTTPServer.start([
            "/payload.txt": .init(body: Array("payload fetched from the local http.server\n".utf8)),
            "/run.sh": .init(body: Array("#!/bin/sh\necho script ran\n".utf8)),
        ])
        defer { Task { await server.close() } }
        try await AgentTest.withAgent { agent, delegate in
            let task = AgentTest.task(
                "fetch1",
                shell: "cat payload.txt; ./bin/tool",
                uris: [
                    AgentTest.uri(server.base + "/payload.txt"),
                    AgentTest.uri(server.base + "/run.sh", executable: true, outputFile: "bin/tool"),
                ]
            )
            agent.launch(framework: AgentTest.framework(), executor: nil, tasks: [task], asGroup: false)
            let finished = try await delegate.terminal("fetch1")
            #expect(finished.state == .taskFinished)
            let sandbox = AgentTest.sandbox(agent, executor: "fetch1")
            #expect(AgentTest.read(sandbox + "/stdout") == "payload fetched from the local http.server\nscript ran\n")
            let mode = try FileManager.default.attributesOfItem(atPath: sandbox + "/bin/tool")[.posixPermissions] as? Int
            #expect(mode == 0o755)
            let stderr = AgentTest.read(sandbox + "/stderr")
            #expect(stderr.contains("Fetching URI '\(server.base)/payload.txt'"))
            #expect(stderr.contains("Fetched '\(server.base)/payload.txt' to '"))
            #expect(stderr.contains("Successfully fetched all URIs into '"))
        }
    }

    @Test("extract unpacks archives by extension with the system's tools", arguments: [
        "app.tar.gz", "app.tgz", "app.tar", "app.tar.bz2", "app.tar.xz", "app.zip",
    ])
    func extract(archive: String) async throws {
        let (directory, files) = try Self.archives()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await TestHTTPServer.start(["/" + archive: .init(body: files[archive]!)])
        defer { Task { await server.close() } }
        try await AgentTest.withAgent { agent, delegate in
            let id = "x-" + archive.replacingOccurrences(of: ".", with: "-")
            let task = AgentTest.task(id, shell: "cat app/bin/data.txt", uris: [AgentTest.uri(server.base + "/" + archive, extract: true)])
            agent.launch(framework: AgentTest.framework(), executor: nil, tasks: [task], asGroup: false)
            let finished = try await delegate.terminal(id)
            #expect(finished.state == .taskFinished, "\(finished.message)")
            let sandbox = AgentTest.sandbox(agent, executor: id)
            #expect(AgentTest.read(sandbox + "/stdout") == "from the archive\n")
            #expect(FileManager.default.fileExists(atPath: sandbox + "/" + archive))  // the archive stays, as in Mesos
        }
    }

    @Test("a bare .gz is gunzipped next to it")
    func gunzip() async throws {
        let (directory, files) = try Self.archives()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await TestHTTPServer.start(["/note.txt.gz": .init(body: files["note.txt.gz"]!)])
        defer { Task { await server.close() } }
        try await AgentTest.withAgent { agent, delegate in
            let task = AgentTest.task("gz", shell: "cat note.txt", uris: [AgentTest.uri(server.base + "/note.txt.gz", extract: true)])
            agent.launch(framework: AgentTest.framework(), executor: nil, tasks: [task], asGroup: false)
            try await delegate.terminal("gz")
            #expect(AgentTest.read(AgentTest.sandbox(agent, executor: "gz") + "/stdout") == "gzipped text\n")
        }
    }

    @Test("cache: a second task with the same URI is served from the agent's cache, without a second download")
    func cache() async throws {
        let server = try await TestHTTPServer.start([
            "/cached.txt": .init(body: Array("cached bytes\n".utf8)),
            "/plain.txt": .init(body: Array("plain bytes\n".utf8)),
        ])
        defer { Task { await server.close() } }
        try await AgentTest.withAgent { agent, delegate in
            for index in 1...3 {
                let task = AgentTest.task(
                    "cache\(index)",
                    shell: "cat cached.txt plain.txt",
                    uris: [AgentTest.uri(server.base + "/cached.txt", cache: true), AgentTest.uri(server.base + "/plain.txt")]
                )
                agent.launch(framework: AgentTest.framework(), executor: nil, tasks: [task], asGroup: false)
                let finished = try await delegate.terminal("cache\(index)")
                #expect(finished.state == .taskFinished)
                #expect(AgentTest.read(AgentTest.sandbox(agent, executor: "cache\(index)") + "/stdout") == "cached bytes\nplain bytes\n")
            }
            #expect(server.hitCount("/cached.txt") == 1)
            #expect(server.hitCount("/plain.txt") == 3)
        }
    }

    @Test("cache and extract: the archive is unpacked straight from the cache, and no copy of it lands in the sandbox")
    func cachedArchive() async throws {
        let (directory, files) = try Self.archives()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await TestHTTPServer.start(["/app.tar.gz": .init(body: files["app.tar.gz"]!)])
        defer { Task { await server.close() } }
        try await AgentTest.withAgent { agent, delegate in
            for index in 1...2 {
                let task = AgentTest.task(
                    "unpacked\(index)",
                    shell: "cat app/bin/data.txt",
                    uris: [AgentTest.uri(server.base + "/app.tar.gz", extract: true, cache: true)]
                )
                agent.launch(framework: AgentTest.framework(), executor: nil, tasks: [task], asGroup: false)
                let ended = try await delegate.terminal("unpacked\(index)")
                #expect(ended.state == .taskFinished)
                let sandbox = AgentTest.sandbox(agent, executor: "unpacked\(index)")
                #expect(AgentTest.read(sandbox + "/stdout") == "from the archive\n")
                #expect(!FileManager.default.fileExists(atPath: sandbox + "/app.tar.gz"))
            }
            #expect(server.hitCount("/app.tar.gz") == 1)
        }
    }

    @Test("redirects are followed")
    func redirect() async throws {
        let server = try await TestHTTPServer.start([
            "/old/name.txt": .init(status: .found, headers: [("Location", "/new/name.txt")]),
            "/new/name.txt": .init(body: Array("moved\n".utf8)),
        ])
        defer { Task { await server.close() } }
        try await AgentTest.withAgent { agent, delegate in
            let task = AgentTest.task("redirected", shell: "cat name.txt", uris: [AgentTest.uri(server.base + "/old/name.txt")])
            agent.launch(framework: AgentTest.framework(), executor: nil, tasks: [task], asGroup: false)
            try await delegate.terminal("redirected")
            #expect(AgentTest.read(AgentTest.sandbox(agent, executor: "redirected") + "/stdout") == "moved\n")
        }
    }

    @Test("file:// URIs and absolute paths are copied")
    func localFiles() async throws {
        let directory = AgentTest.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "local one\n".write(toFile: directory + "/one.txt", atomically: true, encoding: .utf8)
        try "local two\n".write(toFile: directory + "/two.txt", atomically: true, encoding: .utf8)
        try await AgentTest.withAgent { agent, delegate in
            let task = AgentTest.task(
                "local",
                shell: "cat one.txt two.txt",
                uris: [AgentTest.uri("file://" + directory + "/one.txt"), AgentTest.uri(directory + "/two.txt")]
            )
            agent.launch(framework: AgentTest.framework(), executor: nil, tasks: [task], asGroup: false)
            try await delegate.terminal("local")
            #expect(AgentTest.read(AgentTest.sandbox(agent, executor: "local") + "/stdout") == "local one\nlocal two\n")
        }
    }

    @Test("a local file keeps its permissions: a script fetched from file:// runs without 'executable'")
    func localModes() async throws {
        let directory = AgentTest.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "#!/bin/sh\necho script kept its mode\n".write(toFile: directory + "/run.sh", atomically: true, encoding: .utf8)
        chmod(directory + "/run.sh", 0o755)
        try "data\n".write(toFile: directory + "/plain.txt", atomically: true, encoding: .utf8)
        chmod(directory + "/plain.txt", 0o640)
        try await AgentTest.withAgent { agent, delegate in
            let task = AgentTest.task(
                "modes",
                shell: "./run.sh",
                uris: [AgentTest.uri("file://" + directory + "/run.sh"), AgentTest.uri(directory + "/plain.txt")]
            )
            agent.launch(framework: AgentTest.framework(), executor: nil, tasks: [task], asGroup: false)
            let finished = try await delegate.terminal("modes")
            #expect(finished.state == .taskFinished, "\(finished.message)")
            let sandbox = AgentTest.sandbox(agent, executor: "modes")
            #expect(AgentTest.read(sandbox + "/stdout") == "script kept its mode\n")
            let mode = try FileManager.default.attributesOfItem(atPath: sandbox + "/plain.txt")[.posixPermissions] as? Int
            #expect(mode == 0o640 & ~Int(Self.umask()))
        }
    }

    static func umask() -> mode_t {
        let mask = Glibc.umask(0)
        Glibc.umask(mask)
        return mask
    }

    @Test("a URI's query is part of its file name, as Mesos names it: such an archive is copied, not extracted")
    func queryInName() async throws {
        let (directory, files) = try Self.archives()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await TestHTTPServer.start(["/app.tar.gz": .init(body: files["app.tar.gz"]!)])
        defer { Task { await server.close() } }
        try await AgentTest.withAgent { agent, delegate in
            let task = AgentTest.task(
                "query",
                shell: "ls",
                uris: [AgentTest.uri(server.base + "/app.tar.gz?v=2", extract: true)]
            )
            agent.launch(framework: AgentTest.framework(), executor: nil, tasks: [task], asGroup: false)
            let ended = try await delegate.terminal("query")
            #expect(ended.state == .taskFinished)
            let sandbox = AgentTest.sandbox(agent, executor: "query")
            #expect(FileManager.default.fileExists(atPath: sandbox + "/app.tar.gz?v=2"))
            #expect(!FileManager.default.fileExists(atPath: sandbox + "/app"))
            #expect(AgentTest.read(sandbox + "/stderr").contains("Copying instead of extracting resource from URI with 'extract' flag"))
        }
    }

    @Test("every URI is checked before any is fetched: a bad one fails the launch with 'Could not fetch', nothing fetched", arguments: [
        ("output_file", "URI output file must be within the sandbox directory"),
        ("empty output_file", "URI output file path is empty"),
        ("quote", "Illegal characters in URI"),
        ("no path", "Malformed URI (missing path): http://127.0.0.1:1"),
    ])
    func validation(bad: String, message: String) async throws {
        let server = try await TestHTTPServer.start(["/first.txt": .init(body: Array("first\n".utf8))])
        defer { Task { await server.close() } }
        try await AgentTest.withAgent { agent, delegate in
            let uri: CommandInfo.URI =
                switch bad {
                case "output_file": AgentTest.uri(server.base + "/first.txt", outputFile: "/etc/elsewhere")
                case "empty output_file": AgentTest.uri(server.base + "/first.txt", outputFile: "")
                case "quote": AgentTest.uri(server.base + "/it's.txt")
                default: AgentTest.uri("http://127.0.0.1:1")
                }
            let task = AgentTest.task("checked", shell: "echo never", uris: [AgentTest.uri(server.base + "/first.txt"), uri])
            agent.launch(framework: AgentTest.framework(), executor: nil, tasks: [task], asGroup: false)
            let failed = try await delegate.terminal("checked")
            #expect(failed.state == .taskFailed)
            #expect(failed.reason == .containerLaunchFailed)
            #expect(failed.message == "Failed to launch container: Could not fetch: " + message)
            #expect(server.hitCount("/first.txt") == 0)
        }
    }

    @Test("a failed fetch fails the task as the agent does: TASK_FAILED, SOURCE_AGENT, REASON_CONTAINER_LAUNCH_FAILED")
    func failedFetch() async throws {
        let server = try await TestHTTPServer.start([:])
        defer { Task { await server.close() } }
        try await AgentTest.withAgent { agent, delegate in
            let task = AgentTest.task("nofile", shell: "echo never", uris: [AgentTest.uri(server.base + "/missing.tar.gz", extract: true)])
            agent.launch(framework: AgentTest.framework(), executor: nil, tasks: [task], asGroup: false)
            let failed = try await delegate.terminal("nofile")
            try await delegate.wait("executor terminated") { !$0.terminated.isEmpty }
            #expect(delegate.states("nofile") == [.taskFailed])
            #expect(failed.source == .agent)
            #expect(failed.reason == .containerLaunchFailed)
            #expect(failed.executorID.value == "nofile")
            let sandbox = AgentTest.sandbox(agent, executor: "nofile")
            let container = try FileManager.default.destinationOfSymbolicLink(atPath: sandbox)
            #expect(
                failed.message
                    == "Failed to launch container: Failed to fetch all URIs for container '\(container)': exited with status 1"
            )
            let stderr = AgentTest.read(sandbox + "/stderr")
            #expect(stderr.contains("Failed to fetch '\(server.base)/missing.tar.gz': Error downloading resource, received HTTP return code 404"))
            #expect(AgentTest.read(sandbox + "/stdout").isEmpty)
        }
    }
}
