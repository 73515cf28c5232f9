import Foundation
import MesosTestSupport
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

    /// Runs an example to its exit (off Swift concurrency's threads) and returns its status and output.
    static func run(_ url: URL) async throws -> (Int32, String) {
        let result = try await TestProcess.run(url.path, mergingErrors: true)
        return (result.status, result.outputText)
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
