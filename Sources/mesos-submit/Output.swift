import Foundation
import Logging
import Mesos
import MesosCodecs
import MesosHTTP
import MesosLauncher
import MesosLocal
import NIOCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// What mesos-submit prints: state changes and notes on stderr (colored on a terminal), the task's own output on
/// stdout/stderr; or, with --json, one JSON object per event on stdout.
///
/// On a terminal (stderr is a tty, no --json, no --plain) the state changes are not printed as lines: a live
/// ``StatusBoard`` at the bottom of the screen shows every instance and artifact, redrawn in place; notes and the
/// task's output scroll above it.
final class Output: Sendable {
    let json: Bool
    let terminal: Bool
    /// Whether the live board is drawn.
    let live: Bool
    private let lock = Mutex(Live())
    private let ticker = Mutex<Task<Void, Never>?>(nil)

    /// The board and what is on the screen; guarded by `lock`, which also serializes every write.
    struct Live {
        var board = StatusBoard()
        /// Rows of the board on the screen below the cursor's line (0: not drawn).
        var drawn = 0
        /// The task output's last unfinished line per stream (stdout, stderr), held until its newline so that the
        /// board is never drawn in the middle of a line.
        var partial: [Bool: [UInt8]] = [:]
        var finished = false
    }

    init(json: Bool, plain: Bool = false) {
        self.json = json
        self.terminal = isatty(STDERR_FILENO) == 1
        self.live = self.terminal && !json && !plain
        self.lock.withLock { $0.board.width = Self.columns() }
    }

    /// The terminal's width in columns (80 when it cannot tell).
    static func columns() -> Int {
        var size = winsize()
        guard ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }

    private static func write(_ text: String, stderr: Bool = true) {
        (stderr ? FileHandle.standardError : FileHandle.standardOutput).write(Data(text.utf8))
    }

    /// Writes scrolling text: on the live screen, the board is lifted, the text written, and the board drawn again.
    private func scroll(_ text: String, stderr: Bool = true) {
        self.lock.withLock { live in
            guard self.live, !live.finished else {
                Self.write(text, stderr: stderr)
                return
            }
            Self.write(StatusBoard.erase(live.drawn))
            Self.write(text, stderr: stderr)
            Self.write(live.board.redraw(replacing: 0))
            live.drawn = live.board.lines().count
        }
    }

    private func err(_ line: String) { self.scroll(line + "\n") }

    private func out(_ line: String) {
        self.lock.withLock { _ in FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
    }

    private func paint(_ text: String, _ code: String) -> String {
        self.terminal ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }

    /// Changes the board and draws it again in place.
    private func change(_ body: (inout StatusBoard) -> Void) {
        self.lock.withLock { live in
            let before = live.board
            body(&live.board)
            guard self.live, !live.finished, live.board != before || live.drawn == 0 else { return }
            Self.write(live.board.redraw(replacing: live.drawn))
            live.drawn = live.board.lines().count
        }
    }

    /// The instances to show, before they start.
    func track(_ names: [String]) {
        guard self.live else { return }
        self.change { board in
            for name in names where !board.instances.contains(where: { $0.name == name }) {
                board.instances.append(StatusBoard.Instance(name: name))
            }
        }
    }

    /// Redraws the board a few times a second with what `artifacts` reports (bytes served per artifact), until
    /// ``finish()``.
    func startTicker(_ artifacts: @escaping @Sendable () async -> [StatusBoard.ArtifactLine]) {
        guard self.live else { return }
        let task = Task {
            while !Task.isCancelled {
                let lines = await artifacts()
                self.change { $0.artifacts = lines }
                try? await Task.sleep(for: .milliseconds(250))
            }
        }
        self.ticker.withLock { $0 = task }
    }

    /// Stops the ticker, draws the board a last time and leaves it on the screen; unfinished output lines go out.
    func finish(_ artifacts: [StatusBoard.ArtifactLine]? = nil) {
        self.ticker.withLock { $0?.cancel() }
        guard self.live else { return }
        if let artifacts { self.change { $0.artifacts = artifacts } }
        self.lock.withLock { live in
            for (isStderr, bytes) in live.partial where !bytes.isEmpty {
                Self.write(StatusBoard.erase(live.drawn))
                (isStderr ? FileHandle.standardError : FileHandle.standardOutput).write(Data(bytes + [UInt8(ascii: "\n")]))
                Self.write(live.board.redraw(replacing: 0))
                live.drawn = live.board.lines().count
            }
            live.partial = [:]
            live.finished = true
        }
    }

    func note(_ text: String) {
        if self.json { self.out(Self.object(["event": "note", "message": text])) } else { self.err(self.paint("mesos-submit: ", "2") + text) }
    }

    func error(_ text: String) {
        if self.json { self.out(Self.object(["event": "error", "message": text])) } else { self.err(self.paint("mesos-submit: error: ", "31") + text) }
    }

    func update(_ name: String, _ status: TaskStatus, agent: String? = nil) {
        let state = Self.stateName(status.state)
        if self.json {
            var fields = ["event": "update", "task": name, "task_id": status.taskID.value, "state": state]
            if status.hasMessage { fields["message"] = status.message }
            if status.hasAgentID { fields["agent_id"] = status.agentID.value }
            for (key, name) in Self.enumNames(of: status) { fields[key] = name }
            self.out(Self.object(fields))
            return
        }
        if self.live {
            self.change { board in
                guard let index = board.instances.firstIndex(where: { $0.name == name }) else {
                    board.instances.append(StatusBoard.Instance(name: name, state: state, agent: agent, message: status.message))
                    return
                }
                board.instances[index].state = state
                board.instances[index].agent = agent ?? board.instances[index].agent
                board.instances[index].message = status.hasMessage ? status.message : nil
            }
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
        if self.live {
            self.change { board in
                guard let index = board.instances.firstIndex(where: { $0.name == name }) else { return }
                board.instances[index].state = Self.stateName(outcome.state)
                board.instances[index].exitCode = outcome.exitCode
            }
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
        let sharesScreen = stderr || isatty(STDOUT_FILENO) == 1
        guard self.live, sharesScreen else {
            self.lock.withLock { _ in
                (stderr ? FileHandle.standardError : FileHandle.standardOutput).write(Data(bytes))
            }
            return
        }
        self.lock.withLock { live in
            var pending = live.partial[stderr, default: []] + bytes
            guard let last = pending.lastIndex(of: UInt8(ascii: "\n")) else {
                live.partial[stderr] = pending
                return
            }
            let complete = Array(pending[...last])
            pending.removeSubrange(...last)
            live.partial[stderr] = pending
            guard !live.finished else {
                (stderr ? FileHandle.standardError : FileHandle.standardOutput).write(Data(complete))
                return
            }
            Self.write(StatusBoard.erase(live.drawn))
            (stderr ? FileHandle.standardError : FileHandle.standardOutput).write(Data(complete))
            Self.write(live.board.redraw(replacing: 0))
            live.drawn = live.board.lines().count
        }
    }

    /// A status's `reason` and `source` as Mesos names them (`REASON_COMMAND_EXECUTOR_FAILED`, `SOURCE_EXECUTOR`),
    /// as the JSON codec writes them.
    static func enumNames(of status: TaskStatus) -> [String: String] {
        var bare = TaskStatus()
        bare.taskID = status.taskID
        bare.state = status.state
        if status.hasReason { bare.reason = status.reason }
        if status.hasSource { bare.source = status.source }
        guard let bytes = try? MessageCodec(.json).encode(bare),
            let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]
        else { return [:] }
        return ["reason", "source"].reduce(into: [:]) { names, key in names[key] = object[key] as? String }
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
    /// TLS (CA) and credentials for the agent, as for the master.
    let http: HTTPClientConfiguration

    init(
        agent: String,
        frameworkID: String,
        taskID: String,
        groupExecutorID: String? = nil,
        http: HTTPClientConfiguration = HTTPClientConfiguration(),
        output: Output
    ) {
        self.agent = agent
        self.http = http
        if let executor = groupExecutorID {
            // A member of a task group: its own sandbox inside the default executor's, linked as tasks/<task ID>.
            self.path = "/frameworks/\(frameworkID)/executors/\(executor)/runs/latest/tasks/\(taskID)"
        } else {
            // The agent's virtual path of the latest run of the task's (command) executor.
            self.path = "/frameworks/\(frameworkID)/executors/\(taskID)/runs/latest"
        }
        self.task = taskID
        self.output = output
    }

    /// Passes the task's output on until cancelled (its task has ended), then reads what it wrote last.
    func run() async {
        let client = HTTPClient(configuration: self.http)
        defer { client.shutdown() }
        var offsets = ["stdout": 0, "stderr": 0]
        while !Task.isCancelled {
            offsets = await self.drain(client, from: offsets)
            try? await Task.sleep(for: .milliseconds(200))
        }
        // The last pass runs in a task of its own: the requests of a cancelled task are aborted.
        let last = offsets
        _ = await Task { await self.drain(client, from: last) }.value
    }

    /// Reads both files from `offsets` to their ends; returns the new offsets.
    private func drain(_ client: HTTPClient, from offsets: [String: Int]) async -> [String: Int] {
        var offsets = offsets
        for file in ["stdout", "stderr"] {
            while let chunk = await self.read(client, file: file, offset: offsets[file] ?? 0), !chunk.isEmpty {
                offsets[file, default: 0] += chunk.count
                self.output.taskOutput(chunk, stderr: file == "stderr", task: self.task)
            }
        }
        return offsets
    }

    private func read(_ client: HTTPClient, file: String, offset: Int) async -> [UInt8]? {
        let query = "path=\(Self.escape(self.path + "/" + file))&offset=\(offset)&length=65536"
        guard let response = try? await client.execute(HTTPRequest(method: "GET", url: "\(self.agent)/files/read?\(query)")),
            response.status == 200
        else { return nil }
        return Self.filesReadData(Array(response.body.readableBytesView))
    }

    /// The bytes of `data` in a `/files/read` answer (`{"data":"…","offset":N}`). The agent writes a file's bytes
    /// into that string as they are (stout's rapidjson writer escapes only quotes, backslashes and control
    /// characters), so it need not be valid UTF-8, and a JSON parser would refuse a page that ends inside a character
    /// or a file that is not text. This reads the bytes back exactly; nil when the answer is not such an object.
    static func filesReadData(_ body: [UInt8]) -> [UInt8]? {
        var index = 0
        func skipSpace() { while index < body.count, [0x20, 0x09, 0x0A, 0x0D].contains(body[index]) { index += 1 } }
        func hexValue(_ byte: UInt8) -> UInt32? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
            default: nil
            }
        }
        func unit() -> UInt32? {  // four hex digits after "\u"
            guard index + 4 <= body.count else { return nil }
            var value: UInt32 = 0
            for byte in body[index..<index + 4] {
                guard let digit = hexValue(byte) else { return nil }
                value = value << 4 | digit
            }
            index += 4
            return value
        }
        func string() -> [UInt8]? {  // at the opening quote
            guard index < body.count, body[index] == UInt8(ascii: "\"") else { return nil }
            index += 1
            var out: [UInt8] = []
            while index < body.count {
                let byte = body[index]
                index += 1
                if byte == UInt8(ascii: "\"") { return out }
                guard byte == UInt8(ascii: "\\") else {
                    out.append(byte)
                    continue
                }
                guard index < body.count else { return nil }
                let escape = body[index]
                index += 1
                switch escape {
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    guard var scalar = unit() else { return nil }
                    if (0xD800..<0xDC00).contains(scalar), index + 1 < body.count, body[index] == UInt8(ascii: "\\"),
                        body[index + 1] == UInt8(ascii: "u")
                    {
                        index += 2
                        guard let low = unit(), (0xDC00..<0xE000).contains(low) else { return nil }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    out.append(contentsOf: Array(String(Unicode.Scalar(scalar).map(Character.init) ?? "\u{FFFD}").utf8))
                default: out.append(escape)  // \" \\ \/
                }
            }
            return nil
        }
        skipSpace()
        guard index < body.count, body[index] == UInt8(ascii: "{") else { return nil }
        index += 1
        while true {
            skipSpace()
            guard let key = string() else { return nil }
            skipSpace()
            guard index < body.count, body[index] == UInt8(ascii: ":") else { return nil }
            index += 1
            skipSpace()
            if key == Array("data".utf8) { return string() }
            // Another member (the offset, a number): skip to the next ',' outside a string.
            if index < body.count, body[index] == UInt8(ascii: "\"") {
                guard string() != nil else { return nil }
            } else {
                while index < body.count, body[index] != UInt8(ascii: ","), body[index] != UInt8(ascii: "}") { index += 1 }
            }
            skipSpace()
            guard index < body.count, body[index] == UInt8(ascii: ",") else { return nil }
            index += 1
        }
    }

    static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(CharacterSet(charactersIn: "&=+"))) ?? text
    }
}

/// Waits for a signal (SIGINT, SIGTERM) without letting it kill the process; the first one restores the signals'
/// default action, so a second one ends the process at once (while the first still has the tasks killed).
final class Signals: Sendable {
    /// Whether it fired, with which signal (nil when cancelled), and who waits.
    private let fired = Mutex<(Bool, Int32?, [CheckedContinuation<Int32?, Never>])>((false, nil, []))
    private let watcher = Mutex<Task<Void, Never>?>(nil)

    static func watch(_ numbers: [Int32]) -> Signals {
        let signals = Signals()
        let stream = ProcessSignals.stream(numbers)
        signals.watcher.withLock {
            $0 = Task { [weak signals] in
                for await fired in stream {
                    for number in numbers { signal(number, SIG_DFL) }
                    signals?.fire(fired)
                    break
                }
            }
        }
        return signals
    }

    private func fire(_ number: Int32?) {
        let (number, waiters) = self.fired.withLock { state in
            if !state.0 {
                state.0 = true
                state.1 = number
            }
            defer { state.2 = [] }
            return (state.1, state.2)
        }
        for waiter in waiters { waiter.resume(returning: number) }
    }

    /// Returns the signal that came, or nil when cancelled first.
    func wait() async -> Int32? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let now = self.fired.withLock { state -> (Bool, Int32?) in
                    if state.0 { return (true, state.1) }
                    state.2.append(continuation)
                    return (false, nil)
                }
                if now.0 { continuation.resume(returning: now.1) }
            }
        } onCancel: {
            self.fire(nil)
        }
    }

    func cancel() {
        self.watcher.withLock { $0?.cancel() }
    }
}

/// Downloads per artifact (by its SHA-256), from the artifact server's access log.
final class DownloadTally: Sendable {
    private let counts = Mutex<[String: (fetches: Int, bytes: Int)]>([:])

    func record(target: String, status: Int, bytes: Int) {
        // `/a/<sha256>/<name>`, or `/t/<token>/a/<sha256>/<name>`.
        let parts = target.split(separator: "/")
        guard let index = parts.firstIndex(of: "a"), index + 1 < parts.count else { return }
        let sha256 = String(parts[index + 1])
        self.counts.withLock { counts in
            var count = counts[sha256] ?? (0, 0)
            if status == 200 || status == 206 { count.fetches += 1 }
            count.bytes += bytes
            counts[sha256] = count
        }
    }

    func snapshot() -> [String: (fetches: Int, bytes: Int)] { self.counts.withLock { $0 } }
}

/// A log handler that feeds the artifact server's "artifact request" entries to a ``DownloadTally``.
struct DownloadTallyHandler: LogHandler {
    let tally: DownloadTally
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        guard event.message.description == "artifact request", let metadata = event.metadata,
            case .string(let target)? = metadata["http.target"],
            case .string(let status)? = metadata["http.status"],
            case .string(let bytes)? = metadata["http.bytes"]
        else { return }
        self.tally.record(target: target, status: Int(status) ?? 0, bytes: Int(bytes) ?? 0)
    }
}
