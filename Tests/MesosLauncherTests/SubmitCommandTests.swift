import Foundation
import MesosLocal
import MesosTestSupport
import Testing

/// The built `mesos-submit`, run as a user runs it (each run starts its own local cluster, or uses MESOS_MASTER).
@Suite("mesos-submit end to end", .timeLimit(.minutes(3)))
struct SubmitCommandTests {
    /// The products are built next to the test bundle.
    static var binary: URL {
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = runner.deletingLastPathComponent()
        while directory.path.contains(".xctest") { directory = directory.deletingLastPathComponent() }
        return directory.appendingPathComponent("mesos-submit")
    }

    /// Runs a program to its exit (off Swift concurrency's threads) and returns its exit status, stdout and stderr.
    static func run(_ executable: String, _ arguments: [String]) async throws -> (status: Int32, out: String, err: String) {
        let result = try await TestProcess.run(executable, arguments)
        return (result.status, result.outputText, result.errorText)
    }

    static func submit(_ arguments: [String]) async throws -> (status: Int32, out: String, err: String) {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary.path), "build mesos-submit first")
        return try await Self.run(Self.binary.path, arguments)
    }

    @Test("--task-group: every task runs under the default executor; all FINISHED exits 0")
    func groupSucceeds() async throws {
        let group = """
            {"tasks": [{"name": "one", "task_id": {"value": "x"}, "agent_id": {"value": ""}, "command": {"value": "echo one"}},
                       {"name": "two", "command": {"value": "sleep 0.2"}}]}
            """
        let (status, out, err) = try await Self.submit(["--task-group", group])
        #expect(status == 0, "\(out)\(err)")
        #expect(err.contains("[one] TASK_FINISHED"), "\(err)")
        #expect(err.contains("[two] TASK_FINISHED"), "\(err)")
        #expect(!err.contains("\u{1B}["), "no escape sequences when stderr is not a terminal")
    }

    @Test("--task-group from a file: a failing task kills the other; the exit status is the failed task's")
    func groupFails() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("group-\(UUID().uuidString.prefix(6)).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let group = """
            {"tasks": [{"name": "server", "command": {"value": "sleep 60"}},
                       {"name": "check", "command": {"value": "sleep 0.3; exit 4"},
                        "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.2}},
                                      {"name": "mem", "type": "SCALAR", "scalar": {"value": 16}}]}]}
            """
        try group.write(toFile: path, atomically: true, encoding: .utf8)
        let (status, out, err) = try await Self.submit(["--task-group", path, "--json"])
        #expect(status == 4, "\(out)\(err)")
        let events = out.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String]
        }
        let outcomes = Dictionary(events.filter { $0["event"] == "outcome" }.map { ($0["task"] ?? "", $0["state"] ?? "") }) { a, _ in a }
        #expect(outcomes == ["check": "TASK_FAILED", "server": "TASK_KILLED"], "\(out)")
    }

    @Test("--follow passes a task's output on byte for byte, text or not: the agent sends the bytes as they are")
    func followBytes() async throws {
        guard ProcessInfo.processInfo.environment["MESOS_MASTER"] == nil else { return }
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary.path), "build mesos-submit first")
        // Bytes that are not UTF-8, an accented letter, a quote, a backslash, control characters.
        let script = #"printf '\377\376bin\001\n'; printf 'caf\303\251 "q" \\ \t\b\f\n'"#
        let result = try await TestProcess.run(Self.binary.path, ["--follow", "--plain", "--", script])
        #expect(result.status == 0, "\(result.errorText)")
        let expected: [UInt8] = [0xFF, 0xFE] + Array("bin".utf8) + [0x01, 0x0A] + Array("caf".utf8) + [0xC3, 0xA9]
            + Array(#" "q" \ "#.utf8) + [0x09, 0x08, 0x0C, 0x0A]
        let output = Array(result.output)
        #expect(output.firstRange(of: expected) != nil, "\(output)")
    }

    @Test("--help documents the task groups, the live view and every exit status, with examples")
    func help() async throws {
        let (status, out, _) = try await Self.submit(["--help"])
        #expect(status == 0)
        for text in ["--task-group <task-group>", "--plain", "mesos-submit --task-group pod.json", "TASK GROUPS", "LAUNCH_GROUP",
                     "live view", "64 usage error", "130 interrupted"] {
            #expect(out.contains(text), "\(text) missing from --help")
        }
        #expect(out.split(separator: "\n").allSatisfy { $0.count <= 80 }, "lines fit 80 columns")
        // An example that takes two lines breaks where the shell would continue it (not where the help wraps it).
        #expect(out.contains("--state-dir ~/.job1 \\\n        --failover-timeout 3600 -- ./long-job.sh\n"), "\(out)")
    }

    @Test("a --task-group that is not a TaskGroupInfo is a usage error (64)")
    func groupInvalid() async throws {
        let (status, _, err) = try await Self.submit(["--task-group", "{\"tasks\": 3}"])
        #expect(status == 64, "\(err)")
        #expect(err.contains("--task-group"))
    }

    @Test("on a terminal, a live board redrawn in place shows the instance and the artifact's downloads")
    func liveViewUnderPseudoTerminal() async throws {
        guard ProcessInfo.processInfo.environment["MESOS_MASTER"] == nil else { return }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/script") else { return }  // util-linux's script(1)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("live-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("greeting.txt")
        try "hello from the artifact\n".write(to: file, atomically: true, encoding: .utf8)
        let command = "'\(Self.binary.path)' --artifact '\(file.path)' --follow --instances 2 -- cat greeting.txt"
        // script(1) runs the command on a pseudo-terminal and copies what it writes; -e returns its exit status.
        let (status, screen, err) = try await Self.run("/usr/bin/script", ["-q", "-f", "-e", "-c", command, "/dev/null"])
        #expect(status == 0, "\(screen)\(err)")
        let esc = "\u{1B}"
        #expect(screen.contains("\(esc)[J"), "the board is erased and redrawn")
        #expect(screen.contains("A\r\(esc)[J"), "the cursor goes back up over the board")
        #expect(screen.contains("\(esc)[32mTASK_FINISHED"), "\(screen)")
        #expect(screen.contains("cat-0") && screen.contains("cat-1"))
        #expect(screen.contains("greeting.txt  24 B  fetched"), "\(screen)")
        #expect(screen.contains("hello from the artifact"))
        #expect(!screen.contains("[cat-0] \(esc)[0m\(esc)[33mTASK_STAGING"), "no per-update lines on the live screen")
    }
}


/// `mesos-submit --state-dir`: a run that dies while its task runs leaves it to the next run.
@Suite("mesos-submit reattaches to an interrupted run's task", .timeLimit(.minutes(3)))
struct SubmitReattachTests {
    @Test("killed (SIGKILL) while its task runs, the next run with the same --state-dir waits for that task and exits with its status; the task ran once")
    func reattach() async throws {
        guard ProcessInfo.processInfo.environment["MESOS_MASTER"] == nil else { return }
        let binary = SubmitCommandTests.binary.path
        try #require(FileManager.default.isExecutableFile(atPath: binary), "build mesos-submit first")
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("reattach-\(UUID().uuidString.prefix(6))").path
        let (directory, release, starts, pidFile) = (scratch + "/state", scratch + "/release", scratch + "/starts", scratch + "/pid")
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let task = "echo started >> '\(starts)'; while [ ! -e '\(release)' ]; do sleep 0.05; done; exit 7"
        try await LocalCluster.with { cluster in
            let arguments = ["--master", cluster.url, "--state-dir", directory, "--failover-timeout", "60", "--plain", "--", task]
            // The shell's PID is mesos-submit's once it execs.
            let quoted = arguments.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
            let first = Task { try await TestProcess.shell("echo $$ > '\(pidFile)'; exec '\(binary)' \(quoted)") }
            // Killed once its task runs (the state directory names the agent it runs on).
            let running = try await FailoverRetryTests.within(.seconds(60), "the first run's task to run") {
                while true {
                    let saved = (try? String(contentsOfFile: directory + "/tasks.json", encoding: .utf8)) ?? ""
                    if saved.contains("agentID"), FileManager.default.fileExists(atPath: starts) { return true }
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
            #expect(running)
            let pid = try #require(Int32((try String(contentsOfFile: pidFile, encoding: .utf8)).trimmingCharacters(in: .whitespacesAndNewlines)))
            kill(pid, SIGKILL)
            let killed = try await first.value
            #expect(killed.status == SIGKILL, "the first run was killed: \(killed.errorText)")

            FileManager.default.createFile(atPath: release, contents: nil)
            let second = try await TestProcess.run(binary, arguments)
            #expect(second.status == 7, "\(second.outputText)\(second.errorText)")
            #expect(second.errorText.contains("reattached to 1 task(s)"), "\(second.errorText)")
            let runs = (try String(contentsOfFile: starts, encoding: .utf8)).split(separator: "\n")
            #expect(runs.count == 1, "the task was not submitted again")
            // The run ended normally: nothing is left for a third run.
            let saved = try String(contentsOfFile: directory + "/tasks.json", encoding: .utf8)
            #expect(saved == "[]")
        }
    }

    @Test("--state-dir without --master or --failover-timeout is a usage error (64)")
    func usage() async throws {
        let (noMaster, _, noMasterErr) = try await SubmitCommandTests.submit(["--state-dir", "/tmp/x", "--failover-timeout", "60", "--", "true"])
        #expect(noMaster == 64)
        #expect(noMasterErr.contains("--state-dir needs --master"), "\(noMasterErr)")
        let (noTimeout, _, noTimeoutErr) = try await SubmitCommandTests.submit(["--master", "http://127.0.0.1:1", "--state-dir", "/tmp/x", "--", "true"])
        #expect(noTimeout == 64)
        #expect(noTimeoutErr.contains("--failover-timeout"), "\(noTimeoutErr)")
    }
}

/// `mesos-submit` interrupted (Ctrl-C, SIGTERM) or out of time while its task runs: the task is killed at once, not
/// waited for.
@Suite("mesos-submit stops its tasks when interrupted or out of time", .timeLimit(.minutes(3)))
struct SubmitInterruptTests {
    /// Starts mesos-submit (its own local cluster) on a task that marks a file and then sleeps a minute; returns the
    /// run and mesos-submit's PID once the task runs.
    static func start(_ extra: [String], scratch: String) async throws -> (Task<TestProcess.Result, any Error>, pid_t) {
        let binary = SubmitCommandTests.binary.path
        try #require(FileManager.default.isExecutableFile(atPath: binary), "build mesos-submit first")
        let (started, pidFile) = (scratch + "/started", scratch + "/pid")
        let arguments = ["--plain"] + extra + ["--", "touch '\(started)'; exec sleep 60"]
        let quoted = arguments.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        let run = Task { try await TestProcess.shell("echo $$ > '\(pidFile)'; exec '\(binary)' \(quoted)") }
        let running = try await FailoverRetryTests.within(.seconds(60), "the task to run") {
            while !FileManager.default.fileExists(atPath: started) { try await Task.sleep(for: .milliseconds(50)) }
            return true
        }
        #expect(running)
        let pid = try #require(Int32((try String(contentsOfFile: pidFile, encoding: .utf8)).trimmingCharacters(in: .whitespacesAndNewlines)))
        return (run, pid)
    }

    static func scratch() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("interrupt-\(UUID().uuidString.prefix(6))").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test("Ctrl-C kills the running task and exits 130; SIGTERM exits 143", arguments: [SIGINT, SIGTERM])
    func interrupted(signal: Int32) async throws {
        let scratch = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let (run, pid) = try await Self.start([], scratch: scratch)
        let sent = ContinuousClock.now
        kill(pid, signal)
        let result = try await run.value
        #expect(result.status == 128 + signal, "\(result.errorText)")
        #expect(ContinuousClock.now - sent < .seconds(20), "the 60 s task was not waited for")
        #expect(result.errorText.contains("TASK_KILLED"), "\(result.errorText)")
    }

    @Test("--json names reasons and sources as Mesos does")
    func jsonNames() async throws {
        let task = #"{"name":"bounded","command":{"value":"sleep 30"},"max_completion_time":{"nanoseconds":500000000}}"#
        let (status, out, err) = try await SubmitCommandTests.submit(["--json", "--task", task])
        #expect(status != 0, "\(err)")
        #expect(out.contains(#""reason":"REASON_MAX_COMPLETION_TIME_REACHED""#), "\(out)")
        #expect(out.contains(#""source":"SOURCE_EXECUTOR""#), "\(out)")
    }

    @Test("--timeout kills the running task and exits 124")
    func timeout() async throws {
        let scratch = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let begun = ContinuousClock.now
        let (run, _) = try await Self.start(["--timeout", "3"], scratch: scratch)
        let result = try await run.value
        #expect(result.status == 124, "\(result.errorText)")
        #expect(ContinuousClock.now - begun < .seconds(30), "the 60 s task was not waited for")
        #expect(result.errorText.contains("TASK_KILLED"), "\(result.errorText)")
    }

    @Test("usage errors (64): seconds not finite, negative or beyond 1e9; a command with --task; containers mesos-execute refuses")
    func badSeconds() async throws {
        for arguments in [
            ["--timeout", "inf", "--", "true"], ["--kill-after", "-1", "--", "true"], ["--kill-grace-period", "1e20", "--", "true"],
            ["--failover-timeout", "nan", "--", "true"], ["--task", #"{"name":"t","command":{"value":"true"}}"#, "--", "echo"],
            ["--containerizer", "podman", "--", "true"], ["--containerizer", "docker", "--network", "n", "--", "true"],
            ["--containerizer", "docker", "--docker-image", "busybox", "--network", "a", "--network", "b", "--", "true"],
            ["--task", #"{"name":"t","command":{"value":"true"}}"#, "--docker-image", "busybox"],
            ["--volume", "/tmp:/data:rx", "--", "true"],
            // Resources the launcher cannot honour are refused rather than dropped.
            ["--resources", "cpus:1;fpga:2", "--", "true"], ["--resources", "ports:[8080-8080]", "--", "true"],
            ["--resources", "cpus(eng):1", "--", "true"],
            ["--task", #"{"name":"t","command":{"value":"true"},"resources":[{"name":"fpga","type":"SCALAR","scalar":{"value":1}}]}"#],
        ] {
            let (status, _, err) = try await SubmitCommandTests.submit(arguments)
            #expect(status == 64, "\(arguments): \(err)")
        }
    }
}
