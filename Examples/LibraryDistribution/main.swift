// Example 1, after seed 1 (how Spark ships jars to its executors): a framework ships a shared library it built
// itself to a task through the embedded artifact server; the task finds it in its sandbox and loads it.
//
//   example-library-distribution [MASTER_URL]     (default: $MESOS_MASTER, else a local cluster in-process)
//
// Exits 0 when the task printed that it loaded the library.
import Foundation
import Mesos
import MesosHTTP
import NIOCore
import MesosLauncher
import MesosLocal

@main
struct LibraryDistribution {
    static func main() async throws {
        // 1. Build the library to ship: a C function in a shared object (any compiler on PATH: cc, gcc or clang).
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("libdist-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let source = work.appendingPathComponent("greeting.c")
        try "int greeting_answer(void) { return 42; }\n".write(to: source, atomically: true, encoding: .utf8)
        let library = work.appendingPathComponent("libgreeting.so")
        try run(["sh", "-c", "${CC:-cc} -shared -fPIC -o '\(library.path)' '\(source.path)' 2>/dev/null || clang -shared -fPIC -o '\(library.path)' '\(source.path)'"])

        // 2. A master: the one given, or a local cluster in this process.
        var cluster: LocalCluster?
        var master = CommandLine.arguments.dropFirst().first ?? ProcessInfo.processInfo.environment["MESOS_MASTER"] ?? ""
        if master.isEmpty {
            let started = try await LocalCluster.start()
            cluster = started
            master = started.url
        }

        // 3. The task loads the library from its sandbox (dlopen through Python's ctypes) and calls it.
        let launcher = MesosLauncher(configuration: LauncherConfiguration(masters: [master], frameworkName: "library-distribution"))
        try await launcher.start()
        var spec = TaskSpec(
            name: "load-library",
            shell: #"python3 -c "import ctypes; lib = ctypes.CDLL('./libgreeting.so'); print('successfully loaded libgreeting.so, answer', lib.greeting_answer())""#
        )
        spec.artifacts = [.file(library.path)]
        let handle = try await launcher.submit(spec)
        let outcome = try await handle.result()
        print("task ended: \(outcome.state), exit code \(outcome.exitCode.map(String.init) ?? "none"): \(outcome.status.message)")
        var loaded = false
        if let cluster {
            // The sandbox's stdout, read from the agent as any client would (`/files/read`).
            loaded = try await stdout(of: handle, cluster: cluster).contains("successfully loaded libgreeting.so, answer 42")
        } else {
            loaded = outcome.succeeded
        }
        await launcher.shutdown(.killTasks())
        await cluster?.stop()
        print(loaded ? "the task loaded the shipped library" : "the task did not load the library")
        exit(loaded ? 0 : 1)
    }

    static func stdout(of handle: TaskHandle, cluster: LocalCluster) async throws -> String {
        guard let agent = handle.agentEndpoint, let framework = handle.frameworkID()?.value, let task = handle.taskID?.value else {
            return ""
        }
        let path = "/frameworks/\(framework)/executors/\(task)/runs/latest/stdout"
        let query = path.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? path
        let response = try await HTTPClient().execute(HTTPRequest(method: "GET", url: "\(agent)/files/read?path=\(query)&offset=0&length=65536"))
        let object = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
        return object?["data"] as? String ?? ""
    }

    static func run(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw NSError(domain: "example", code: Int(process.terminationStatus), userInfo: [NSLocalizedDescriptionKey: "\(arguments) failed"])
        }
    }
}
