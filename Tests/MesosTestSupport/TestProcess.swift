public import Foundation
import Synchronization

/// Child processes for tests, run on threads of their own.
///
/// `Process.waitUntilExit()` and reading a pipe to its end block the calling thread. Swift concurrency has as
/// many threads as cores (two on CI), so a test that blocks one of them slows every other test in the process,
/// and two such tests stall the run, servers included. Everything here blocks a dedicated thread and resumes
/// the awaiting task when the child has exited.
public enum TestProcess {
    /// How a child ended, with everything it wrote.
    public struct Result: Sendable {
        public var status: Int32
        public var output: Data
        public var errors: Data

        public var outputText: String { String(decoding: self.output, as: UTF8.self) }
        public var errorText: String { String(decoding: self.errors, as: UTF8.self) }
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
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            if let environment { process.environment = environment }
            if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
            process.standardInput = FileHandle.nullDevice
            let output = Pipe()
            let errors = Pipe()
            process.standardOutput = output
            process.standardError = mergingErrors ? output : errors
            try process.run()
            // Both pipes are drained at once, so neither can fill up and hold the child.
            let errorData = Mutex(Data())
            let drained = DispatchGroup()
            if !mergingErrors {
                drained.enter()
                Thread.detachNewThread {
                    let data = Self.readToEnd(errors.fileHandleForReading)
                    errorData.withLock { $0 = data }
                    drained.leave()
                }
            }
            let outputData = Self.readToEnd(output.fileHandleForReading)
            process.waitUntilExit()
            drained.wait()
            return Result(status: process.terminationStatus, output: outputData, errors: errorData.withLock { $0 })
        }
    }

    /// Reads a pipe to its end. Foundation's `readDataToEndOfFile` traps (a `try!` inside) when a read is interrupted
    /// by a signal (EINTR): that once crashed the whole test run. This retries the read.
    static func readToEnd(_ handle: FileHandle) -> Data {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(handle.fileDescriptor, $0.baseAddress, $0.count) }
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
            Thread.detachNewThread { continuation.resume(with: Swift.Result { try body() }) }
        }
    }
}
