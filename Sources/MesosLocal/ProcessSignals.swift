import Dispatch
import Glibc

/// Signals as an `AsyncStream`, for the command-line tools: the signals are ignored by the process (so they do not
/// kill it) and delivered to the stream instead, until the stream is dropped.
public enum ProcessSignals {
    public static func stream(_ numbers: [Int32]) -> AsyncStream<Int32> {
        AsyncStream { continuation in
            let sources = SignalSources(numbers.map { number in
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler { continuation.yield(number) }
                source.resume()
                return source
            })
            continuation.onTermination = { _ in sources.cancel() }
        }
    }
}

/// Dispatch sources are thread-safe (their API may be called from any thread), so holding them across the
/// termination handler's thread is safe; they are only cancelled.
private final class SignalSources: @unchecked Sendable {
    private let sources: [any DispatchSourceSignal]
    init(_ sources: [any DispatchSourceSignal]) { self.sources = sources }
    func cancel() { for source in self.sources { source.cancel() } }
}
