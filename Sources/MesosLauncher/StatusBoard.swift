/// What `mesos-submit` draws on a terminal: a line per instance (state, agent, exit code) and a line per local
/// artifact (size, fetches, bytes served), redrawn in place with ANSI cursor movement. A pure value: the text and
/// escape sequences depend on nothing but its fields, so tests compare them exactly.
package struct StatusBoard: Sendable, Hashable {
    package struct Instance: Sendable, Hashable {
        package var name: String
        /// `TASK_RUNNING`, or `PENDING` before the first update.
        package var state: String
        /// The agent's hostname (or ID) once placed.
        package var agent: String?
        package var exitCode: Int32?
        /// The last status message (shown for ended instances that failed).
        package var message: String?

        package init(name: String, state: String = "PENDING", agent: String? = nil, exitCode: Int32? = nil, message: String? = nil) {
            self.name = name
            self.state = state
            self.agent = agent
            self.exitCode = exitCode
            self.message = message
        }
    }

    package struct ArtifactLine: Sendable, Hashable {
        package var name: String
        package var size: Int
        /// Completed downloads (GET answered 200 or 206).
        package var fetches: Int
        /// Body bytes sent for it.
        package var bytes: Int

        package init(name: String, size: Int, fetches: Int = 0, bytes: Int = 0) {
            self.name = name
            self.size = size
            self.fetches = fetches
            self.bytes = bytes
        }
    }

    package var instances: [Instance]
    package var artifacts: [ArtifactLine]
    /// Terminal columns: longer lines are cut so that each takes exactly one row (or the redraw would drift).
    package var width: Int

    package init(instances: [Instance] = [], artifacts: [ArtifactLine] = [], width: Int = 80) {
        self.instances = instances
        self.artifacts = artifacts
        self.width = width
    }

    /// The board's rows, colored with SGR codes, each at most `width - 1` visible characters.
    package func lines() -> [String] {
        let nameWidth = self.instances.map(\.name.count).max() ?? 0
        let stateWidth = self.instances.map(\.state.count).max() ?? 0
        var rows: [String] = []
        for instance in self.instances {
            let name = instance.name.padding(to: nameWidth)
            var tail = ""
            if let agent = instance.agent { tail += "  on \(agent)" }
            if let code = instance.exitCode { tail += "  exit \(code)" }
            if let message = instance.message, !message.isEmpty, Self.color(of: instance.state) == "31" {
                tail += "  (\(message))"
            }
            rows.append(
                self.row([
                    (Self.bold, name), (nil, "  "), (Self.color(of: instance.state), instance.state.padding(to: stateWidth)), (nil, tail),
                ])
            )
        }
        for artifact in self.artifacts {
            let served = artifact.fetches == 0 && artifact.bytes == 0
                ? "not fetched yet"
                : "fetched \(artifact.fetches)x, \(Self.bytes(artifact.bytes)) served"
            rows.append(self.row([(Self.dim, "artifact "), (nil, "\(artifact.name)  \(Self.bytes(artifact.size))  \(served)")]))
        }
        return rows
    }

    /// Moves the cursor back over the `previous` rows drawn last time, draws the board, and clears what is left
    /// below it: the board ends where the cursor is, on a fresh line.
    package func redraw(replacing previous: Int) -> String {
        var text = Self.erase(previous)
        for line in self.lines() { text += line + "\n" }
        return text
    }

    /// Moves the cursor to the first of the last `rows` rows and clears from there to the end of the screen, so
    /// that ordinary output can scroll above the board before it is drawn again.
    package static func erase(_ rows: Int) -> String {
        rows > 0 ? "\u{1B}[\(rows)A\r\u{1B}[J" : ""
    }

    package static let bold = "1"
    package static let dim = "2"

    /// Green for RUNNING/FINISHED, red for the failures, yellow for the rest (as the plain lines are colored).
    package static func color(of state: String) -> String {
        switch state {
        case "TASK_RUNNING", "TASK_FINISHED": "32"
        case "TASK_FAILED", "TASK_ERROR", "TASK_LOST", "TASK_DROPPED", "TASK_GONE", "TASK_UNREACHABLE", "TASK_GONE_BY_OPERATOR":
            "31"
        default: "33"
        }
    }

    /// Bytes in the binary units people read: `512 B`, `12.3 KiB`, `4.0 MiB`.
    package static func bytes(_ count: Int) -> String {
        if count < 1024 { return "\(count) B" }
        var value = Double(count) / 1024
        for unit in ["KiB", "MiB", "GiB"] {
            if value < 1024 || unit == "GiB" {
                let tenths = Int((value * 10).rounded())
                return "\(tenths / 10).\(tenths % 10) \(unit)"
            }
            value /= 1024
        }
        return "\(count) B"
    }

    /// Joins colored segments, cutting the visible text at `width - 1` characters.
    private func row(_ segments: [(color: String?, text: String)]) -> String {
        var budget = max(1, self.width - 1)
        var out = ""
        for (color, text) in segments where budget > 0 {
            let part = String(text.prefix(budget))
            budget -= part.count
            guard !part.isEmpty else { continue }
            out += color.map { "\u{1B}[\($0)m\(part)\u{1B}[0m" } ?? part
        }
        return out
    }
}

extension String {
    fileprivate func padding(to width: Int) -> String {
        self.count >= width ? self : self + String(repeating: " ", count: width - self.count)
    }
}
