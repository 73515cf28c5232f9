public import Mesos
public import MesosScheduler

/// How a submitted task ended.
public struct TaskOutcome: Sendable {
    /// The terminal state of the last attempt.
    public var state: TaskState
    /// The exit code, when the task's command exited or was killed by a signal (128 + signal number), as a shell
    /// reports it. Nil when it never ran (lost, dropped, invalid…).
    public var exitCode: Int32?
    /// The terminal status as the master sent it.
    public var status: TaskStatus
    /// How many attempts were made.
    public var attempts: Int

    /// FINISHED with exit code 0.
    public var succeeded: Bool { self.state == .taskFinished && (self.exitCode ?? 0) == 0 }

    /// The exit code a status stands for: "Command exited with status N" → N, "Command terminated with signal
    /// Terminated" → 143; FINISHED without a message → 0.
    public static func exitCode(of status: TaskStatus) -> Int32? {
        let message = status.message
        if let range = message.range(of: "exited with status ") {
            let digits = message[range.upperBound...].prefix { $0.isNumber || $0 == "-" }
            if let code = Int32(digits) { return code }
        }
        if let range = message.range(of: "terminated with signal ") {
            // The name may hold parentheses itself ("Stopped (tty input)"); " (core dumped)" may follow it.
            var name = String(message[range.upperBound...].prefix { $0 != "\n" && $0 != "," })
            if name.hasSuffix(" (core dumped)") { name.removeLast(" (core dumped)".count) }
            name = name.trimmingCharacters(in: " ")
            let bare = String(name.prefix { $0 != "(" }).trimmingCharacters(in: " ")
            // A number only when it is a signal's (a custom executor writes what it likes; 128 + 2^31 would trap).
            if let signal = Self.signalNumbers[name] ?? Self.signalNumbers[bare] ?? Int32(bare), (1...64).contains(signal) {
                return 128 + signal
            }
        }
        switch status.state {
        case .taskFinished: return 0
        default: return nil
        }
    }

    /// `strsignal` names (glibc's) → numbers.
    static let signalNumbers: [String: Int32] = [
        "Hangup": 1, "Interrupt": 2, "Quit": 3, "Illegal instruction": 4, "Trace/breakpoint trap": 5, "Aborted": 6,
        "Bus error": 7, "Floating point exception": 8, "Killed": 9, "User defined signal 1": 10,
        "Segmentation fault": 11, "User defined signal 2": 12, "Broken pipe": 13, "Alarm clock": 14,
        "Terminated": 15, "Stack fault": 16, "Child exited": 17, "Continued": 18, "Stopped (signal)": 19,
        "Stopped": 20, "Stopped (tty input)": 21, "Stopped (tty output)": 22, "Urgent I/O condition": 23,
        "CPU time limit exceeded": 24, "File size limit exceeded": 25, "Virtual timer expired": 26,
        "Profiling timer expired": 27, "Window changed": 28, "I/O possible": 29, "Power failure": 30,
        "Bad system call": 31,
    ]
}

/// Why a task's handle failed without an outcome, or why a launcher call failed.
///
/// ```swift
/// catch let error as LauncherError where error.code == .rejected {
///     print(error.mesosError?.httpStatus ?? 0, error.mesosError?.message ?? "")  // the master's own text
/// }
/// ```
public struct LauncherError: Error, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable { case rejected, stopped, subscriptionEnded, artifact, callFailed, other }
        private let base: Base
        private init(_ base: Base) { self.base = base }
        /// The master (or the client, before sending) refused the ACCEPT that was to launch the task: a 4xx answer,
        /// or a task that cannot be encoded. ``LauncherError/underlying`` is the `MesosError` with the master's text.
        public static let rejected = Code(.rejected)
        /// The launcher shut down (or is shutting down) before the task ended.
        public static let stopped = Code(.stopped)
        /// The subscription ended for good (the master sent ERROR, or reconnecting gave up).
        public static let subscriptionEnded = Code(.subscriptionEnded)
        /// A local artifact could not be registered.
        public static let artifact = Code(.artifact)
        /// A call to the master failed (KILL, for instance); ``LauncherError/underlying`` says how.
        public static let callFailed = Code(.callFailed)
        /// Anything else.
        public static let other = Code(.other)
        public var description: String { String(describing: self.base) }
    }

    public var code: Code
    public var message: String
    public var underlying: (any Error)?

    public init(_ message: String, code: Code = .other, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    /// The master's answer behind this error, when there is one: its HTTP status and body.
    public var mesosError: MesosError? {
        var error = self.underlying
        while let current = error {
            if let mesos = current as? MesosError { return mesos }
            error = (current as? LauncherError)?.underlying
        }
        return nil
    }

    public var description: String {
        self.underlying.map { "\(self.message): \($0)" } ?? self.message
    }
}

extension StringProtocol {
    func trimmingCharacters(in set: Character) -> String {
        String(self.drop { $0 == set }.reversed().drop { $0 == set }.reversed())
    }

    func range(of needle: String) -> Range<Index>? {
        var index = self.startIndex
        while index < self.endIndex {
            if self[index...].hasPrefix(needle) {
                return index..<self.index(index, offsetBy: needle.count)
            }
            index = self.index(after: index)
        }
        return nil
    }
}
