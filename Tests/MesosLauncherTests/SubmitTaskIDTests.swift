import Foundation
import Testing

/// mesos-submit keeps the task IDs given in `--task`/`--task-group` JSON, as mesos-execute does.
@Suite("mesos-submit: task IDs", .timeLimit(.minutes(3)))
struct SubmitTaskIDTests {
    /// The `--json` events of one kind, each as a dictionary.
    static func events(_ out: String, _ kind: String) -> [[String: String]] {
        out.split(separator: "\n")
            .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String] }
            .filter { $0["event"] == kind }
    }

    @Test("--task with a task_id launches the task under that ID")
    func taskKeepsID() async throws {
        let task = #"{"name": "hi", "task_id": {"value": "my-task-7"}, "agent_id": {"value": ""}, "command": {"value": "echo hi"}}"#
        let (status, out, err) = try await SubmitCommandTests.submit(["--task", task, "--json"])
        #expect(status == 0, "\(out)\(err)")
        let updates = Self.events(out, "update")
        #expect(!updates.isEmpty)
        #expect(Set(updates.map { $0["task_id"] ?? "" }) == ["my-task-7"], "\(out)")
        #expect(updates.last?["state"] == "TASK_FINISHED")
    }

    @Test("--task with a task_id and --instances 3: instance n runs as <ID>-<n>")
    func instancesDeriveIDs() async throws {
        let task = #"{"name": "hi", "task_id": {"value": "job"}, "command": {"value": "true"}}"#
        let (status, out, err) = try await SubmitCommandTests.submit(["--task", task, "--instances", "3", "--json"])
        #expect(status == 0, "\(out)\(err)")
        var idsByTask: [String: Set<String>] = [:]
        for update in Self.events(out, "update") {
            idsByTask[update["task"] ?? "", default: []].insert(update["task_id"] ?? "")
        }
        #expect(idsByTask == ["hi-0": ["job-0"], "hi-1": ["job-1"], "hi-2": ["job-2"]], "\(out)")
        #expect(Self.events(out, "outcome").count == 3)
    }

    @Test("--task-group keeps the given IDs and names only the tasks without one")
    func groupKeepsIDs() async throws {
        let group = """
            {"tasks": [{"name": "web", "task_id": {"value": "pod-web-1"}, "command": {"value": "true"}},
                       {"name": "side", "command": {"value": "true"}}]}
            """
        let (status, out, err) = try await SubmitCommandTests.submit(["--task-group", group, "--json"])
        #expect(status == 0, "\(out)\(err)")
        var idsByTask: [String: Set<String>] = [:]
        for update in Self.events(out, "update") {
            idsByTask[update["task"] ?? "", default: []].insert(update["task_id"] ?? "")
        }
        #expect(idsByTask["web"] == ["pod-web-1"], "\(out)")
        let side = try #require(idsByTask["side"]?.first, "\(out)")
        #expect(idsByTask["side"]?.count == 1)
        #expect(side.hasPrefix("side."), "a generated ID, from the name: \(side)")
    }

    @Test("two tasks of a group with the same ID are a usage error (64) that names the ID")
    func duplicateGroupIDs() async throws {
        let group = """
            {"tasks": [{"name": "a", "task_id": {"value": "same"}, "command": {"value": "true"}},
                       {"name": "b", "task_id": {"value": "same"}, "command": {"value": "true"}}]}
            """
        let (status, out, err) = try await SubmitCommandTests.submit(["--task-group", group])
        #expect(status == 64, "\(out)\(err)")
        #expect(err.contains("--task-group: the task ID 'same' is given to more than one task"), "\(err)")
        #expect(!err.contains("TASK_"), "nothing was launched: \(err)")
    }

    @Test("--help says how given task IDs are kept and derived")
    func help() async throws {
        let (status, out, _) = try await SubmitCommandTests.submit(["--help"])
        #expect(status == 0)
        for text in ["TASK IDS", "<ID>-<n>", "<ID>.attempt-<k>", "same ID are a usage error"] {
            #expect(out.contains(text), "\(text) missing from --help")
        }
    }
}
