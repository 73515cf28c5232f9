import Foundation
import Testing

/// Runs each example program as a user would; each starts a local cluster (or uses MESOS_MASTER) and exits 0 when
/// its task did what the example promises.
@Suite("Examples", .timeLimit(.minutes(3)))
struct ExamplesTests {
    /// The example binaries are built next to the test bundle.
    static func binary(_ name: String) -> URL {
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = runner.deletingLastPathComponent()
        // The runner may sit inside a bundle directory (`….xctest/…`): the products are beside the bundle.
        while directory.path.contains(".xctest") { directory = directory.deletingLastPathComponent() }
        return directory.appendingPathComponent(name)
    }

    /// Runs a program on a thread of its own (never blocking Swift concurrency's pool) and returns its status and output.
    static func run(_ url: URL) async throws -> (Int32, String) {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                let process = Process()
                let pipe = Pipe()
                process.executableURL = url
                process.standardOutput = pipe
                process.standardError = pipe
                do {
                    try process.run()
                    let data = pipe.fileHandleForReading.readDataToEndOfFile()
                    process.waitUntilExit()
                    continuation.resume(returning: (process.terminationStatus, String(decoding: data, as: UTF8.self)))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    @Test("library distribution: a shipped shared object is loaded by the task")
    func libraryDistribution() async throws {
        let (status, output) = try await Self.run(Self.binary("example-library-distribution"))
        #expect(status == 0, "\(output)")
        #expect(output.contains("the task loaded the shipped library"))
    }

    @Test("web server: a task serves HTTP on its offered port")
    func webServer() async throws {
        let (status, output) = try await Self.run(Self.binary("example-web-server"))
        #expect(status == 0, "\(output)")
        #expect(output.contains("the web server answered on port"))
    }

    @Test("custom executor: the launcher's tasks run under mesos-swift-executor")
    func customExecutor() async throws {
        let (status, output) = try await Self.run(Self.binary("example-custom-executor"))
        #expect(status == 0, "\(output)")
        #expect(output.contains("every task ran under the custom executor as expected"))
    }
}
