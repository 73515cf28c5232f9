import FoundationEssentials
public import Mesos
import Synchronization

/// Keeps a framework's ID across scheduler restarts.
///
/// The ID comes with the first SUBSCRIBED event. A scheduler that subscribes again with it (within the framework's
/// `failover_timeout`) takes over the running framework and its tasks; without it, it registers a new framework.
/// ``SchedulerClient`` loads the ID before subscribing, saves it on SUBSCRIBED and removes it after TEARDOWN, and when
/// the master answers a subscription with the ERROR "Framework has been removed" (the framework was torn down, or its
/// `failover_timeout` ran out): that ID can never subscribe again, and the next start registers a new framework.
public protocol FrameworkIDStore: Sendable {
    /// The stored ID, or nil when there is none.
    func load() async throws -> FrameworkID?
    /// Stores `id`, replacing any other.
    func save(_ id: FrameworkID) async throws
    /// Forgets the ID (the framework was torn down, or the master has removed it).
    func remove() async throws
}

/// A ``FrameworkIDStore`` in memory: for tests, and for several clients in one process.
public final class InMemoryFrameworkIDStore: FrameworkIDStore {
    private let value: Mutex<FrameworkID?>

    public init(_ id: FrameworkID? = nil) {
        self.value = Mutex(id)
    }

    public func load() async throws -> FrameworkID? { self.value.withLock { $0 } }
    public func save(_ id: FrameworkID) async throws { self.value.withLock { $0 = id } }
    public func remove() async throws { self.value.withLock { $0 = nil } }
}

/// A ``FrameworkIDStore`` in a file holding the ID as one line of text.
///
/// Writes are atomic: the new content goes to a temporary file in the same directory, which then replaces the old
/// one, so a crash leaves either the old ID or the new one, never a torn file.
public struct FileFrameworkIDStore: FrameworkIDStore {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    public func load() async throws -> FrameworkID? {
        let data: Data
        do {
            data = try Data(contentsOf: URL(filePath: self.path))
        } catch let error as CocoaError where error.code == .fileReadNoSuchFile {
            return nil
        }
        let text = String(decoding: data, as: UTF8.self).filter { !$0.isWhitespace }
        guard !text.isEmpty else { return nil }
        var id = FrameworkID()
        id.value = text
        return id
    }

    public func save(_ id: FrameworkID) async throws {
        try Data((id.value + "\n").utf8).write(to: URL(filePath: self.path), options: .atomic)
    }

    public func remove() async throws {
        do {
            try FileManager.default.removeItem(atPath: self.path)
        } catch let error as CocoaError where error.code == .fileNoSuchFile {
            return
        }
    }
}
