// Example 3, after seed 3: a scheduler and a custom executor, driven by the launcher. The tasks go to
// mesos-swift-executor (this package's ready executor, found beside this program or in MESOS_SWIFT_EXECUTOR), which
// the agent starts once and which runs every task as a child process.
//
//   example-custom-executor [MASTER_URL]     (default: $MESOS_MASTER, else a local cluster in-process)
//
// Exits 0 when every task finished with the expected exit codes.
import Foundation
import Mesos
import MesosLauncher
import MesosLocal

@main
struct CustomExecutor {
    static func main() async throws {
        let here = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let executorPath = ProcessInfo.processInfo.environment["MESOS_SWIFT_EXECUTOR"] ?? here.appendingPathComponent("mesos-swift-executor").path
        guard FileManager.default.isExecutableFile(atPath: executorPath) else {
            print("no executor at \(executorPath) (build the mesos-swift-executor product, or set MESOS_SWIFT_EXECUTOR)")
            exit(2)
        }
        var cluster: LocalCluster?
        var master = CommandLine.arguments.dropFirst().first ?? ProcessInfo.processInfo.environment["MESOS_MASTER"] ?? ""
        if master.isEmpty {
            let started = try await LocalCluster.start()
            cluster = started
            master = started.url
        }
        let launcher = MesosLauncher(configuration: LauncherConfiguration(masters: [master], frameworkName: "custom-executor"))
        try await launcher.start()

        var executor = ExecutorInfo()
        executor.executorID = "swift-executor"
        executor.type = .custom
        executor.command.shell = false
        executor.command.value = executorPath
        executor.command.arguments = [executorPath]
        executor.resources = [Resource(name: "cpus", scalar: 0.1), Resource(name: "mem", scalar: 32)]

        let jobs: [(String, String, Int32)] = [("greet", "echo hello from a Swift executor", 0), ("count", "seq 1 3", 0), ("fail", "exit 4", 4)]
        var handles: [(TaskHandle, Int32)] = []
        for (name, line, expected) in jobs {
            var spec = TaskSpec(name: name, executor: executor)
            spec.data = Array(line.utf8)
            handles.append((try await launcher.submit(spec), expected))
        }
        var ok = true
        for (handle, expected) in handles {
            let outcome = try await handle.result()
            print("\(handle.name): \(outcome.state) exit \(outcome.exitCode.map(String.init) ?? "-") (\(outcome.status.message)), source \(outcome.status.source)")
            ok = ok && outcome.exitCode == expected && outcome.status.source == .executor
        }
        await launcher.shutdown(.killTasks())
        await cluster?.stop()
        print(ok ? "every task ran under the custom executor as expected" : "unexpected outcomes")
        exit(ok ? 0 : 1)
    }
}
