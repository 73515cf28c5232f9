import Synchronization

/// Lets one call at a time through, in the order they arrived (FIFO), so calls go out one after the other on the
/// single keep-alive connection of the calls' HTTP client instead of opening more.
final class CallQueue: Sendable {
    private struct State {
        var busy = false
        var waiters: [(id: Int, continuation: CheckedContinuation<Void, any Error>)] = []
        var cancelled: Set<Int> = []
        var nextID = 0
    }

    private let state = Mutex(State())

    /// Runs `body` when every call queued before it has finished.
    ///
    /// - Throws: `CancellationError` when the task is cancelled while waiting its turn; whatever `body` throws.
    func withTurn<T>(_ body: () async throws -> T) async throws -> T {
        try await self.acquire()
        defer { self.release() }
        return try await body()
    }

    private func acquire() async throws {
        let id = self.state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Action { case resume, fail, wait }
                let action: Action = self.state.withLock { state in
                    if state.cancelled.remove(id) != nil { return .fail }
                    if !state.busy {
                        state.busy = true
                        return .resume
                    }
                    state.waiters.append((id, continuation))
                    return .wait
                }
                switch action {
                case .resume: continuation.resume()
                case .fail: continuation.resume(throwing: CancellationError())
                case .wait: break
                }
            }
        } onCancel: {
            let waiter: CheckedContinuation<Void, any Error>? = self.state.withLock { state in
                if let index = state.waiters.firstIndex(where: { $0.id == id }) {
                    return state.waiters.remove(at: index).continuation
                }
                state.cancelled.insert(id)
                return nil
            }
            waiter?.resume(throwing: CancellationError())
        }
        // Not cancelled after all: forget the mark a late onCancel may have left.
        self.state.withLock { _ = $0.cancelled.remove(id) }
    }

    private func release() {
        let next: CheckedContinuation<Void, any Error>? = self.state.withLock { state in
            if state.waiters.isEmpty {
                state.busy = false
                return nil
            }
            return state.waiters.removeFirst().continuation  // the turn passes on; busy stays true
        }
        next?.resume()
    }
}
