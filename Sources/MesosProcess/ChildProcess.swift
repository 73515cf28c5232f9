package import Dispatch
package import Glibc

/// Starts processes the way the Mesos POSIX launcher does: each in a process group of its own (so a signal reaches
/// the whole tree), stdin from `/dev/null`, stdout and stderr appended to files in the sandbox, a clean signal mask.
/// Exits are observed by `waitpid` on a dedicated thread per process, never on a Swift concurrency thread.
package enum ProcessLauncher {
    package struct Spec: Sendable {
        /// Looked up in `PATH` when it has no slash; `argv[0]` when nil.
        package var executable: String? = nil
        package var argv: [String]
        package var environment: [String: String]
        package var directory: String
        package var stdoutPath: String
        package var stderrPath: String
        /// Descriptors of this process that become the child's stdout and stderr instead of the paths (a pipe's write
        /// end, for one): `dup2`ed in the child, so they may be close-on-exec here.
        package var stdoutDescriptor: Int32? = nil
        package var stderrDescriptor: Int32? = nil

        package init(
            executable: String? = nil,
            argv: [String],
            environment: [String: String],
            directory: String,
            stdoutPath: String,
            stderrPath: String
        ) {
            self.executable = executable
            self.argv = argv
            self.environment = environment
            self.directory = directory
            self.stdoutPath = stdoutPath
            self.stderrPath = stderrPath
        }
    }

    /// Starts `spec`; the new process leads its own process group (pgid == pid).
    package static func spawn(_ spec: Spec) throws(ChildProcessError) -> pid_t {
        guard let executable = spec.executable ?? spec.argv.first else {
            throw ChildProcessError(message: "Empty command")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        for (target, descriptor, path) in [(Int32(1), spec.stdoutDescriptor, spec.stdoutPath), (2, spec.stderrDescriptor, spec.stderrPath)] {
            if let descriptor {
                posix_spawn_file_actions_adddup2(&actions, descriptor, target)
            } else {
                posix_spawn_file_actions_addopen(&actions, target, path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            }
        }
        guard let addChdir = Self.addChdir else {
            throw ChildProcessError(message: "posix_spawn_file_actions_addchdir_np is not available")
        }
        _ = addChdir(&actions, spec.directory)
        // Nothing of this process leaks into the task: without this, a task would hold the master's and the
        // clients' sockets open (a connection the master closes would stay up while the task runs).
        if let closeFrom = Self.addCloseFrom { _ = closeFrom(&actions, 3) }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setpgroup(&attributes, 0)
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigfillset(&defaults)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        let flags = POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
        posix_spawnattr_setflags(&attributes, Int16(flags))

        let argv = spec.argv.map { strdup($0) } + [nil]
        let envp = spec.environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        // posix_spawnp: `value` of a non-shell command is looked up in PATH, as execvp does for Mesos.
        let result = argv.withUnsafeBufferPointer { argvBuffer in
            envp.withUnsafeBufferPointer { envBuffer in
                posix_spawnp(
                    &pid,
                    executable,
                    &actions,
                    &attributes,
                    UnsafeMutablePointer(mutating: argvBuffer.baseAddress!),
                    UnsafeMutablePointer(mutating: envBuffer.baseAddress!)
                )
            }
        }
        guard result == 0 else {
            throw ChildProcessError(message: "Failed to execute '\(executable)': \(String(cString: strerror(result)))"
            )
        }
        return pid
    }

    private typealias AddChdir = @convention(c) (
        UnsafeMutablePointer<posix_spawn_file_actions_t>?, UnsafePointer<CChar>?
    ) -> Int32

    /// glibc 2.29+ has `posix_spawn_file_actions_addchdir_np`; its header is not visible to Swift, the symbol is.
    private static let addChdir: AddChdir? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addchdir_np") else {
            return nil
        }
        return unsafeBitCast(symbol, to: AddChdir.self)
    }()

    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32

    /// glibc 2.34+ has `posix_spawn_file_actions_addclosefrom_np` (close every descriptor from N on in the child).
    private static let addCloseFrom: AddCloseFrom? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else {
            return nil
        }
        return unsafeBitCast(symbol, to: AddCloseFrom.self)
    }()

    /// Calls `onExit` with the raw wait status once `pid` has exited, from a thread of its own.
    package static func watch(_ pid: pid_t, onExit: @escaping @Sendable (Int32) -> Void) {
        startThread {
            var status: Int32 = 0
            while true {
                let result = waitpid(pid, &status, 0)
                if result == pid { break }
                if result == -1 && errno == EINTR { continue }
                status = -1  // not our child any more (somebody else reaped it): unknown status
                break
            }
            onExit(status)
        }
    }

    /// Waits on a thread of its own for `pid` to exit *without reaping it*, then on `queue` kills what is left of its
    /// process group (when `killingGroup`), reaps it and calls `onExit` with the raw wait status. Until that block
    /// runs the pid is a zombie and cannot be reused, so signals sent from `queue` never reach another process.
    package static func watch(
        _ pid: pid_t,
        on queue: DispatchQueue,
        killingGroup: Bool,
        onExit: @escaping @Sendable (Int32) -> Void
    ) {
        startThread {
            var info = siginfo_t()
            while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) == -1 && errno == EINTR {}
            queue.async {
                if killingGroup { _ = killpg(pid, SIGKILL) }
                var status: Int32 = 0
                var result: pid_t
                repeat {
                    result = waitpid(pid, &status, 0)
                } while result == -1 && errno == EINTR
                onExit(result == pid ? status : -1)
            }
        }
    }

    /// Waits for `pid` without blocking the caller's thread.
    package static func exitStatus(of pid: pid_t) async -> Int32 {
        await withCheckedContinuation { continuation in
            self.watch(pid) { continuation.resume(returning: $0) }
        }
    }

    /// Sends `signal` to the process group led by `pid`, and to `pid` itself in case it left the group. Only for a
    /// pid not yet reaped (see ``watch(_:on:killingGroup:onExit:)``).
    package static func signalGroup(_ pid: pid_t, _ signal: Int32) {
        guard pid > 0 else { return }
        _ = killpg(pid, signal)
        _ = kill(pid, signal)
    }

    private final class ThreadBody {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    package static func startThread(_ body: @escaping @Sendable () -> Void) {
        let context = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(
            &thread,
            nil,
            { raw in
                guard let raw else { return nil }
                Unmanaged<ThreadBody>.fromOpaque(raw).takeRetainedValue().run()
                return nil
            },
            context
        )
        if result == 0 {
            pthread_detach(thread)
        } else {
            Unmanaged<ThreadBody>.fromOpaque(context).takeRetainedValue().run()
        }
    }
}

/// A wait status decoded as stout's `WSTRINGIFY` prints it.
package struct WaitStatus: Sendable, Hashable {
    package var raw: Int32
    package init(raw: Int32) { self.raw = raw }

    package var exited: Bool { self.raw & 0x7f == 0 }
    package var exitCode: Int32 { (self.raw >> 8) & 0xff }
    package var signaled: Bool { self.raw & 0x7f != 0 && self.raw & 0x7f != 0x7f }
    package var signal: Int32 { self.raw & 0x7f }
    package var succeeded: Bool { self.raw >= 0 && self.exited && self.exitCode == 0 }

    /// Whether a signal that ended the process left a core dump.
    package var coreDumped: Bool { self.signaled && self.raw & 0x80 != 0 }
    package var stopped: Bool { self.raw & 0xff == 0x7f }

    /// "exited with status 1", "terminated with signal Terminated", "terminated with signal Aborted (core dumped)",
    /// as Mesos's `WSTRINGIFY` words a wait status.
    package var description: String {
        if self.raw < 0 { return "terminated with unknown status" }
        if self.exited { return "exited with status \(self.exitCode)" }
        if self.signaled {
            return "terminated with signal \(Self.signalName(self.signal))" + (self.coreDumped ? " (core dumped)" : "")
        }
        if self.stopped { return "stopped on signal \(Self.signalName((self.raw >> 8) & 0xff))" }
        return "wait status \(self.raw)"
    }

    private static func signalName(_ signal: Int32) -> String {
        strsignal(signal).map { String(cString: $0) } ?? "Unknown signal \(signal)"
    }
}

/// Why a process could not be started.
package struct ChildProcessError: Error, CustomStringConvertible {
    package var message: String
    package init(message: String) { self.message = message }
    package var description: String { self.message }
}

extension ProcessLauncher {
    /// This process's environment as a dictionary (read from `environ`, so changes made with `setenv`/`unsetenv`
    /// show).
    package static func currentEnvironment() -> [String: String] {
        var result: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            pointer += 1
        }
        return result
    }
}
