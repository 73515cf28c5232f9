import Foundation
import Mesos
import MesosHTTP
import MesosLauncher
import MesosLocal
import NIOCore
import Synchronization

/// What mesos-submit prints: state changes and notes on stderr (colored on a terminal), the task's own output on
/// stdout/stderr; or, with --json, one JSON object per event on stdout.
final class Output: Sendable {
    let json: Bool
    let terminal: Bool
    private let lock = Mutex(())

    init(json: Bool) {
        self.json = json
        self.terminal = isatty(STDERR_FILENO) == 1
    }

    private func err(_ line: String) {
        self.lock.withLock { _ in FileHandle.standardError.write(Data((line + "\n").utf8)) }
    }

    private func out(_ line: String) {
        self.lock.withLock { _ in FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
    }

    private func paint(_ text: String, _ code: String) -> String {
        self.terminal ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }

    func note(_ text: String) {
        if self.json { self.out(Self.object(["event": "note", "message": text])) } else { self.err(self.paint("mesos-submit: ", "2") + text) }
    }

    func error(_ text: String) {
        if self.json { self.out(Self.object(["event": "error", "message": text])) } else { self.err(self.paint("mesos-submit: error: ", "31") + text) }
    }

    func update(_ name: String, _ status: TaskStatus) {
        let state = Self.stateName(status.state)
        if self.json {
            var fields = ["event": "update", "task": name, "task_id": status.taskID.value, "state": state]
            if status.hasMessage { fields["message"] = status.message }
            if status.hasAgentID { fields["agent_id"] = status.agentID.value }
            if status.hasReason { fields["reason"] = "\(status.reason)" }
            self.out(Self.object(fields))
            return
        }
        let color = switch status.state {
        case .taskRunning, .taskFinished: "32"
        case .taskFailed, .taskError, .taskLost, .taskDropped, .taskGone, .taskUnreachable: "31"
        default: "33"
        }
        var line = self.paint("[\(name)] ", "1") + self.paint(state, color)
        if status.hasMessage, !status.message.isEmpty { line += ": " + status.message }
        self.err(line)
    }

    func outcome(_ name: String, _ outcome: TaskOutcome) {
        if self.json {
            var fields = ["event": "outcome", "task": name, "state": Self.stateName(outcome.state), "attempts": String(outcome.attempts)]
            if let code = outcome.exitCode { fields["exit_code"] = String(code) }
            self.out(Self.object(fields))
            return
        }
        let code = outcome.exitCode.map { "exit status \($0)" } ?? "no exit status"
        self.err(self.paint("[\(name)] ", "1") + "done: \(Self.stateName(outcome.state)), \(code)")
    }

    /// A chunk of the task's stdout or stderr.
    func taskOutput(_ bytes: [UInt8], stderr: Bool, task: String) {
        if self.json {
            self.out(Self.object(["event": stderr ? "stderr" : "stdout", "task": task, "data": String(decoding: bytes, as: UTF8.self)]))
            return
        }
        self.lock.withLock { _ in
            (stderr ? FileHandle.standardError : FileHandle.standardOutput).write(Data(bytes))
        }
    }

    static func stateName(_ state: TaskState) -> String {
        let text = "\(state)"  // taskRunning
        var result = ""
        for character in text {
            if character.isUppercase { result += "_" }
            result += character.uppercased()
        }
        return result
    }

    static func object(_ fields: [String: String]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

/// Tails a task's `stdout` and `stderr` through the agent's `/files/read`, as the Mesos web UI does.
struct Follower {
    let agent: String
    let path: String
    let task: String
    let output: Output

    init(agent: String, frameworkID: String, taskID: String, output: Output) {
        self.agent = agent
        // The agent's virtual path of the latest run of the task's (command) executor.
        self.path = "/frameworks/\(frameworkID)/executors/\(taskID)/runs/latest"
        self.task = taskID
        self.output = output
    }

    func run() async {
        let client = HTTPClient()
        var offsets = ["stdout": 0, "stderr": 0]
        var finalPass = false
        while true {
            for file in ["stdout", "stderr"] {
                while let chunk = await self.read(client, file: file, offset: offsets[file] ?? 0), !chunk.isEmpty {
                    offsets[file, default: 0] += chunk.count
                    self.output.taskOutput(chunk, stderr: file == "stderr", task: self.task)
                }
            }
            if finalPass { return }
            if Task.isCancelled { finalPass = true; continue }
            try? await Task.sleep(for: .milliseconds(200))
            if Task.isCancelled { finalPass = true }
        }
    }

    private func read(_ client: HTTPClient, file: String, offset: Int) async -> [UInt8]? {
        let query = "path=\(Self.escape(self.path + "/" + file))&offset=\(offset)&length=65536"
        guard let response = try? await client.execute(HTTPRequest(method: "GET", url: "\(self.agent)/files/read?\(query)")),
            response.status == 200,
            let object = try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any],
            let data = object["data"] as? String
        else { return nil }
        return Array(data.utf8)
    }

    static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(CharacterSet(charactersIn: "&=+"))) ?? text
    }
}

/// Waits for a signal (SIGINT, SIGTERM) without letting it kill the process.
final class Signals: Sendable {
    private let fired = Mutex<(Bool, [CheckedContinuation<Void, Never>])>((false, []))
    private let watcher = Mutex<Task<Void, Never>?>(nil)

    static func watch(_ numbers: [Int32]) -> Signals {
        let signals = Signals()
        let stream = ProcessSignals.stream(numbers)
        signals.watcher.withLock {
            $0 = Task { [weak signals] in
                for await _ in stream {
                    signals?.fire()
                    break
                }
            }
        }
        return signals
    }

    private func fire() {
        let waiters = self.fired.withLock { state in
            state.0 = true
            defer { state.1 = [] }
            return state.1
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns when a signal came, or when cancelled.
    func wait() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let now = self.fired.withLock { state in
                    if state.0 { return true }
                    state.1.append(continuation)
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            self.fire()
        }
    }

    func cancel() {
        self.watcher.withLock { $0?.cancel() }
    }
}
