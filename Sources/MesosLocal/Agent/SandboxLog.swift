import Glibc

/// Lines in the glog format Mesos programs write to a sandbox's `stderr`
/// (`I1122 04:56:40.526221 32406 executor.cpp:190] Received SUBSCRIBED event`).
enum SandboxLog {
    /// Appends one glog-style line per message to the file at `path`.
    static func append(_ path: String, source: String, _ messages: String...) {
        var text = ""
        for message in messages { text += self.prefix(source: source) + message + "\n" }
        self.appendRaw(path, text)
    }

    static func appendRaw(_ path: String, _ text: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                return
            }
            offset += written
        }
    }

    private static func prefix(source: String) -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        localtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        let micros = Int32(now.tv_nsec / 1000)
        return "I" + pad(parts.tm_mon + 1, 2) + pad(parts.tm_mday, 2) + " " + pad(parts.tm_hour, 2) + ":"
            + pad(parts.tm_min, 2) + ":" + pad(parts.tm_sec, 2) + "." + pad(micros, 6) + " "
            + String(getpid()) + " " + source + "] "
    }
}

/// Durations printed as stout prints them: `3secs`, `1mins`, `500ms`, `2.5secs`.
enum StoutDuration {
    static func format(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let nanoseconds = Double(seconds) * 1e9 + Double(attoseconds) / 1e9
        let units: [(Double, String)] = [
            (604_800e9, "weeks"), (86_400e9, "days"), (3_600e9, "hrs"), (60e9, "mins"), (1e9, "secs"), (1e6, "ms"),
            (1e3, "us"),
        ]
        for (size, name) in units where abs(nanoseconds) >= size {
            return self.number(nanoseconds / size) + name
        }
        return self.number(nanoseconds) + "ns"
    }

    private static func number(_ value: Double) -> String {
        if value == value.rounded() { return String(Int64(value)) }
        var text = String(Double(Int64((value * 1e6).rounded())) / 1e6)
        if text.hasSuffix(".0") { text.removeLast(2) }
        return text
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = self.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
