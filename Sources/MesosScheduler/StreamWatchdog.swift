import MesosHTTP
import Synchronization

/// Drops an event stream that has gone silent for longer than its window, without a task or a timer per read.
///
/// Each read of the body calls ``readStarted()`` and ``readEnded()`` (two atomic stores each); only time spent in a
/// read counts, so a consumer that is slow between reads is not taken for a silent master. One task per connection
/// sleeps until the window after the last touch would end and looks again; when the window has passed with nothing read, it aborts
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
        /// Whether a read is waiting for data: a consumer that takes its time between reads is not a silent stream.
        let reading = Atomic<Bool>(false)

        var now: Int64 {
            let elapsed = ContinuousClock.now - self.origin
            return elapsed.components.seconds &* 1_000_000_000 &+ elapsed.components.attoseconds / 1_000_000_000
        }
    }

    private let state = State()
    private let body: HTTPBody
    private let task = Mutex<Task<Void, Never>?>(nil)

    /// Starts watching `body`; `window` nil means no limit until ``setWindow(_:)`` gives one.
    init(body: HTTPBody, window: Duration?) {
        self.body = body
        self.state.lastActivity.store(self.state.now, ordering: .relaxed)
        self.state.window.store(Self.nanoseconds(window), ordering: .relaxed)
        self.restart()
    }

    deinit {
        self.cancel()
    }

    /// (Re)starts the watching task, so that it sleeps by the window in force.
    private func restart() {
        let state = self.state
        let body = self.body
        let task = Task {
            while !Task.isCancelled {
                let window = state.window.load(ordering: .relaxed)
                // No window: nothing to watch until setWindow gives one (and starts a new task).
                guard window > 0 else { return }
                let deadline = state.lastActivity.load(ordering: .relaxed) &+ window
                let now = state.now
                if now >= deadline && state.reading.load(ordering: .acquiring) {
                    state.fired.store(true, ordering: .relaxed)
                    let seconds = Double(window) / 1e9
                    body.abort(HTTPClientError(code: .timeout, message: "no data on the event stream for \(seconds) s"))
                    return
                }
                // Not reading at the deadline: a whole window from now is the earliest it can end.
                try? await Task.sleep(for: .nanoseconds(now >= deadline ? window : deadline - now))
            }
        }
        self.task.withLock { old in
            old?.cancel()
            old = task
        }
    }

    /// Something arrived.
    func touch() {
        self.state.lastActivity.store(self.state.now, ordering: .relaxed)
    }

    /// A read starts waiting for data: the window runs from now.
    func readStarted() {
        self.touch()
        self.state.reading.store(true, ordering: .releasing)
    }

    /// The read got data, or the end.
    func readEnded() {
        self.state.reading.store(false, ordering: .releasing)
        self.touch()
    }

    /// Changes the silence allowed from now on; nil removes the limit.
    func setWindow(_ window: Duration?) {
        self.touch()
        self.state.window.store(Self.nanoseconds(window), ordering: .relaxed)
        self.restart()
    }

    /// Whether the watchdog aborted the body.
    var fired: Bool { self.state.fired.load(ordering: .relaxed) }

    /// The window in force, for messages.
    var window: Duration? {
        let window = self.state.window.load(ordering: .relaxed)
        return window > 0 ? .nanoseconds(window) : nil
    }

    func cancel() {
        self.task.withLock { $0?.cancel() }
    }

    private static func nanoseconds(_ duration: Duration?) -> Int64 {
        guard let duration, duration > .zero else { return 0 }
        let (seconds, attoseconds) = duration.components
        guard seconds < Int64.max / 1_000_000_000 - 1 else { return Int64.max / 2 }
        return max(1, seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
