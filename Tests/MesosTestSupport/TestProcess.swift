public import Foundation
import Glibc
import MesosProcess
import Synchronization

/// Child processes for tests, run on threads of their own.
///
/// Waiting for a child and reading a pipe to its end block the calling thread. Swift concurrency has as many threads
/// as cores (two on CI), so a test that blocks one of them slows every other test in the process, and two such tests
/// stall the run, servers included. Everything here blocks a dedicated thread and resumes the awaiting task when the
/// child has exited.
///
/// Children are started with `posix_spawn` (the project's ``ProcessLauncher``), not Foundation's `Process`: with
/// many tests starting processes at once, `Process.run()` crashed the test run (a bad read in a `memcpy` inside it),
/// and its `readDataToEndOfFile` traps when a read is interrupted by a signal.
public enum TestProcess {
    /// How a child ended, with everything it wrote.
    public struct Result: Sendable {
        /// The exit status, or the number of the signal that ended it.
        public var status: Int32
        public var output: Data
        public var errors: Data

        public var outputText: String { String(decoding: self.output, as: UTF8.self) }
        public var errorText: String { String(decoding: self.errors, as: UTF8.self) }
    }

    /// Why a child could not be started.
    public struct SpawnError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Runs `executable` with `arguments` to its exit and returns its status, stdout and stderr.
    ///
    /// - Parameters:
    ///   - environment: the child's whole environment; `nil` inherits the test process's.
    ///   - directory: the working directory; `nil` keeps the test process's.
    ///   - mergingErrors: stderr goes to the same pipe as stdout (then ``Result/errors`` is empty).
    public static func run(
        _ executable: String,
        _ arguments: [String] = [],
        environment: [String: String]? = nil,
        directory: String? = nil,
        mergingErrors: Bool = false
    ) async throws -> Result {
        try await self.offload {
            try self.runBlocking(executable, arguments, environment: environment, directory: directory, mergingErrors: mergingErrors)
        }
    }

    /// ``run(_:_:environment:directory:mergingErrors:)`` on the calling thread (test setup outside Swift concurrency).
    public static func runBlocking(
        _ executable: String,
        _ arguments: [String] = [],
        environment: [String: String]? = nil,
        directory: String? = nil,
        mergingErrors: Bool = false
    ) throws -> Result {
        // Close-on-exec: a child another test starts meanwhile must not hold a write end (the read would never end).
        // (Children started with ProcessLauncher close every descriptor above 2 anyway.)
        var output: [Int32] = [-1, -1]
        var errors: [Int32] = [-1, -1]
        func makePipe(_ ends: inout [Int32]) throws {
            guard pipe(&ends) == 0 else { throw SpawnError(description: "pipe: \(String(cString: strerror(errno)))") }
            for fd in ends { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        }
        try makePipe(&output)
        if !mergingErrors {
            do { try makePipe(&errors) } catch {
                close(output[0])
                close(output[1])
                throw error
            }
        }
        var spec = ProcessLauncher.Spec(
            executable: executable,
            argv: [executable] + arguments,
            environment: environment ?? ProcessLauncher.currentEnvironment(),
            directory: directory ?? FileManager.default.currentDirectoryPath,
            stdoutPath: "/dev/null",
            stderrPath: "/dev/null"
        )
        spec.stdoutDescriptor = output[1]
        spec.stderrDescriptor = mergingErrors ? output[1] : errors[1]
        let pid: pid_t
        do {
            pid = try ProcessLauncher.spawn(spec)
        } catch {
            for fd in output + errors where fd >= 0 { close(fd) }
            throw SpawnError(description: error.description)
        }
        close(output[1])
        if !mergingErrors { close(errors[1]) }
        // Both pipes are drained at once, so neither can fill up and hold the child.
        let errorData = Mutex(Data())
        let drained = DispatchSemaphore(value: 0)
        if !mergingErrors {
            let descriptor = errors[0]
            ProcessLauncher.startThread {
                let data = Self.readToEnd(descriptor)
                close(descriptor)
                errorData.withLock { $0 = data }
                drained.signal()
            }
        }
        let outputData = Self.readToEnd(output[0])
        close(output[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        if !mergingErrors { drained.wait() }
        let wait = WaitStatus(raw: status)
        return Result(status: wait.exited ? wait.exitCode : wait.signal, output: outputData, errors: errorData.withLock { $0 })
    }

    /// Reads a descriptor to its end, retrying reads interrupted by a signal.
    static func readToEnd(_ descriptor: Int32) -> Data {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                data.append(contentsOf: buffer[..<count])
            } else if count < 0 && errno == EINTR {
                continue
            } else {
                return data
            }
        }
    }

    /// Runs a `/bin/sh -c` command line to its exit.
    public static func shell(_ command: String, directory: String? = nil) async throws -> Result {
        try await self.run("/bin/sh", ["-c", command], directory: directory)
    }

    /// Runs blocking work on a thread of its own and returns its result to the awaiting task.
    public static func offload<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            ProcessLauncher.startThread { continuation.resume(with: Swift.Result { try body() }) }
        }
    }
}
