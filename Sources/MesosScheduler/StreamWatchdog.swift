import MesosHTTP
import Synchronization

/// Drops an event stream that has gone silent for longer than its window, without a task or a timer per read.
///
/// Each chunk read from the body calls ``touch()`` (one atomic store). One task per connection sleeps until the
/// window after the last touch would end and looks again; when the window has passed with nothing read, it aborts
/// the body, so the pending read throws, and ``fired`` tells the reader why. The window can change while it runs:
/// the subscribe timeout until SUBSCRIBED, then the heartbeat interval times the tolerance.
///
/// Racing a read against a sleeping child task in a task group, per chunk, cost about 40 µs a chunk and left a timer
/// behind in the global executor for the whole window each time.
final class StreamWatchdog: Sendable {
    private final class State: Sendable {
        let origin = ContinuousClock.now
        /// When something was last read, in nanoseconds since `origin`.
        let lastActivity = Atomic<Int64>(0)
        /// The silence allowed, in nanoseconds; 0 while there is none.
        let window = Atomic<Int64>(0)
        let fired = Atomic<Bool>(false)

        var now: Int64 {
            let elapsed = ContinuousClock.now - self.origin
            return elapsed.components.seconds &* 1_000_000_000 &+ elapsed.components.attoseconds / 1_000_000_000
        }
    }

    private let state = State()
    private let task: Task<Void, Never>

    /// Starts watching `body`; `window` nil means no limit until ``setWindow(_:)`` gives one.
    init(body: HTTPBody, window: Duration?) {
        let state = self.state
        state.lastActivity.store(state.now, ordering: .relaxed)
        state.window.store(Self.nanoseconds(window), ordering: .relaxed)
        self.task = Task {
            while !Task.isCancelled {
                let window = state.window.load(ordering: .relaxed)
                guard window > 0 else {
                    // No window yet: look again in a while (only before SUBSCRIBED, or when a master sends none).
                    try? await Task.sleep(for: .seconds(1))
                    continue
                }
                let deadline = state.lastActivity.load(ordering: .relaxed) &+ window
                let now = state.now
                if now >= deadline {
                    state.fired.store(true, ordering: .relaxed)
                    let seconds = Double(window) / 1e9
                    body.abort(HTTPClientError(code: .timeout, message: "no data on the event stream for \(seconds) s"))
                    return
                }
                try? await Task.sleep(for: .nanoseconds(deadline - now))
            }
        }
    }

    deinit {
        self.task.cancel()
    }

    /// Something arrived.
    func touch() {
        self.state.lastActivity.store(self.state.now, ordering: .relaxed)
    }

    /// Changes the silence allowed from now on; nil removes the limit.
    func setWindow(_ window: Duration?) {
        self.touch()
        self.state.window.store(Self.nanoseconds(window), ordering: .relaxed)
    }

    /// Whether the watchdog aborted the body.
    var fired: Bool { self.state.fired.load(ordering: .relaxed) }

    /// The window in force, for messages.
    var window: Duration? {
        let window = self.state.window.load(ordering: .relaxed)
        return window > 0 ? .nanoseconds(window) : nil
    }

    func cancel() {
        self.task.cancel()
    }

    private static func nanoseconds(_ duration: Duration?) -> Int64 {
        guard let duration, duration > .zero else { return 0 }
        let (seconds, attoseconds) = duration.components
        guard seconds < Int64.max / 1_000_000_000 - 1 else { return Int64.max / 2 }
        return max(1, seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
