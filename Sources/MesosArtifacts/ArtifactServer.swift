import Glibc
import Logging
public import NIOCore
import NIOHTTP1
public import NIOPosix
public import ServiceLifecycle
import Synchronization

/// An HTTP file server a framework starts itself, so agents' fetchers can download its files: register files,
/// directories or data, and hand out `CommandInfo.URI`s that name their content.
///
/// ```swift
/// let server = try await ArtifactServer.bind(configuration)
/// let app = try await server.register(directory: "build/app")          // packed once into app.tar.gz
/// task.command.uris = [app.uri(extract: true)]
/// try await server.run()                                                // or put it in a ServiceGroup
/// ```
///
/// Only registered artifacts are served, each at `/a/<sha256>/<name>`: the URL picks an entry by its hash and
/// is never resolved as a path, so there is nothing to traverse. A file that changes on disk after it was
/// registered is no longer served under its old hash.
public final class ArtifactServer: Service, Sendable {
    /// `http://HOST:PORT`: where agents reach the server.
    public let baseURL: String
    /// The address the server listens on.
    public let localAddress: SocketAddress

    private let configuration: ArtifactServerConfiguration
    private let registry: ArtifactRegistry
    private let context: ServerContext
    private let serverChannel: any Channel
    private let connections: ConnectionTracker
    private let workDirectory: String
    private let packs = Atomic<Int>(0)

    private init(
        configuration: ArtifactServerConfiguration,
        registry: ArtifactRegistry,
        context: ServerContext,
        serverChannel: any Channel,
        connections: ConnectionTracker,
        baseURL: String,
        workDirectory: String
    ) {
        self.configuration = configuration
        self.registry = registry
        self.context = context
        self.serverChannel = serverChannel
        self.connections = connections
        self.localAddress = serverChannel.localAddress!
        self.baseURL = baseURL
        self.workDirectory = workDirectory
    }

    /// Listens on the configured host and port (port 0: a free one) and works out the URL agents must use.
    ///
    /// - Throws: ``ArtifactServerError`` with `.bind` or `.noAdvertisedAddress`.
    public static func bind(
        _ configuration: ArtifactServerConfiguration = ArtifactServerConfiguration(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws(ArtifactServerError) -> ArtifactServer {
        let context = ServerContext(configuration: configuration)
        let registry = ArtifactRegistry()
        let connections = ConnectionTracker(maximum: configuration.maximumConnections)
        let bootstrap = ServerBootstrap(group: eventLoopGroup)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(AdmissionHandler(connections: connections))
                }
            }
            .childChannelInitializer { channel in
                guard connections.wasAdmitted(channel) else {
                    context.logger?.debug("artifact server: connection limit reached, closing a new connection")
                    return channel.close()
                }
                return channel.eventLoop.makeCompletedFuture {
                    // The handler reads request heads, writes responses and keeps the timeouts itself (see
                    // ArtifactHTTPHandler).
                    try channel.pipeline.syncOperations.addHandler(ArtifactHTTPHandler(registry: registry, context: context))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
        } catch {
            throw ArtifactServerError(
                code: .bind,
                message: "cannot listen on \(configuration.host):\(configuration.port)",
                underlying: error
            )
        }
        guard let port = channel.localAddress?.port else {
            try? await channel.close()
            throw ArtifactServerError(code: .bind, message: "the listening socket has no port")
        }
        let host: String
        do {
            host = try AdvertisedAddress.resolve(configuration)
        } catch {
            try? await channel.close()
            throw error
        }
        let workDirectory = configuration.workDirectory ?? Self.makeTemporaryDirectory()
        return ArtifactServer(
            configuration: configuration,
            registry: registry,
            context: context,
            serverChannel: channel,
            connections: connections,
            baseURL: "http://\(host.contains(":") ? "[\(host)]" : host):\(port)",
            workDirectory: workDirectory
        )
    }

    private static func makeTemporaryDirectory() -> String {
        var template = Array("/tmp/swift-mesos-artifacts-XXXXXX".utf8CString)
        return template.withUnsafeMutableBufferPointer { buffer in
            guard mkdtemp(buffer.baseAddress!) != nil else { return "/tmp" }
            return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    // MARK: - Registering

    /// Serves a file. It is hashed now; if it changes on disk later, it is no longer served (register it again).
    ///
    /// - Parameters:
    ///   - path: the file.
    ///   - name: the name in the URL and in the sandbox; the file's own name by default.
    /// - Throws: ``ArtifactServerError`` (`.notFound`, `.unreadable`, `.unsupportedFile`, `.invalidName`).
    @concurrent
    public func register(file path: String, as name: String? = nil) async throws(ArtifactServerError) -> Artifact {
        let name = try Self.validated(name ?? Self.lastComponent(path))
        let entry = try ArtifactRegistry.fileEntry(path: path, name: name)
        return self.add(entry)
    }

    /// Serves a directory, packed once into a deterministic `.tar.gz` (the same tree gives the same bytes, hash and
    /// URL) whose entries sit under the directory's name. Use the URI with `extract: true`.
    ///
    /// - Parameters:
    ///   - name: the archive's name, `<directory name>.tar.gz` by default.
    @concurrent
    public func register(directory path: String, as name: String? = nil) async throws(ArtifactServerError) -> Artifact {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw ArtifactServerError(code: errno == ENOENT ? .notFound : .unreadable, message: "cannot stat \(path)")
        }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            throw ArtifactServerError(code: .unsupportedFile, message: "\(path) is not a directory")
        }
        let root = Self.lastComponent(path)
        let name = try Self.validated(name ?? root + ".tar.gz")
        let temporary = self.workDirectory + "/pack-\(getpid())-\(self.packs.add(1, ordering: .relaxed).newValue)"
        let packed: (sha256: String, size: Int)
        do {
            packed = try DirectoryArchive.pack(directory: path, rootName: root, to: temporary)
        } catch {
            unlink(temporary)  // a half-written archive is never left behind
            throw error
        }
        let final = self.workDirectory + "/" + packed.sha256 + ".tar.gz"
        guard rename(temporary, final) == 0 else {
            unlink(temporary)
            throw ArtifactServerError(code: .unreadable, message: "cannot move the archive into \(self.workDirectory)")
        }
        let entry = try ArtifactRegistry.fileEntry(path: final, name: name)
        return self.add(entry)
    }

    /// Serves bytes held in memory.
    public func register(data: [UInt8], as name: String) throws(ArtifactServerError) -> Artifact {
        self.add(ArtifactRegistry.memoryEntry(data, name: try Self.validated(name), now: Int64(time(nil))))
    }

    private func add(_ entry: ArtifactRegistry.Entry) -> Artifact {
        self.registry.add(entry)
        var path = "/a/\(entry.sha256)/\(ServerContext.percentEncoded(entry.name))"
        if let token = self.configuration.secretToken { path = "/t/\(token)" + path }
        return Artifact(sha256: entry.sha256, size: entry.size, name: entry.name, url: self.baseURL + path)
    }

    private static func lastComponent(_ path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        return String(trimmed.split(separator: "/").last ?? trimmed)
    }

    private static func validated(_ name: String) throws(ArtifactServerError) -> String {
        guard !name.isEmpty, name != ".", name != "..", !name.contains("/"), !name.utf8.contains(0) else {
            throw ArtifactServerError(code: .invalidName, message: "'\(name)' cannot name a file in a sandbox")
        }
        return name
    }

    /// Requests answered and body bytes sent so far (downloads cut short count what was sent).
    public var served: (requests: Int, bytes: Int) { (self.context.requestTotal.load(ordering: .relaxed), self.context.byteTotal.load(ordering: .relaxed)) }

    // MARK: - Running

    /// Serves until the task is cancelled (connections close at once) or a graceful shutdown is triggered (no new
    /// connections; downloads under way get ``ArtifactServerConfiguration/shutdownGracePeriod`` to finish).
    public func run() async throws {
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await self.serverChannel.closeFuture.get()
            } onGracefulShutdown: {
                self.serverChannel.close(promise: nil)
            }
            try await self.drain()
        } onCancel: {
            self.serverChannel.close(promise: nil)
            self.connections.closeAll()
        }
    }

    /// Stops taking connections and waits for the ones open to finish their response, up to the grace period.
    public func shutdownGracefully() async {
        try? await self.serverChannel.close()
        try? await self.drain()
    }

    private func drain() async throws {
        self.connections.drainAll()
        let deadline = ContinuousClock.now + self.configuration.shutdownGracePeriod
        while self.connections.count > 0 && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
            if Task.isCancelled { break }
        }
        if self.connections.count > 0 {
            self.context.logger?.warning(
                "artifact server: closing downloads still running after the grace period",
                metadata: ["mesos.connections": "\(self.connections.count)"]
            )
            self.connections.closeAll()
        }
    }
}

/// The open connections: for the connection limit and graceful shutdown.
final class ConnectionTracker: Sendable {
    private let maximum: Int
    private let channels = Mutex<[ObjectIdentifier: any Channel]>([:])

    init(maximum: Int) { self.maximum = maximum }

    var count: Int { self.channels.withLock { $0.count } }

    /// Admits a new connection unless the server is at its limit; forgets it when it closes. Called in the order the
    /// listening socket accepts connections (``AdmissionHandler``).
    func admit(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        let admitted = self.channels.withLock { channels in
            guard channels.count < self.maximum else { return false }
            channels[id] = channel
            return true
        }
        if admitted { channel.closeFuture.whenComplete { _ in self.channels.withLock { _ = $0.removeValue(forKey: id) } } }
    }

    /// Whether ``admit(_:)`` took `channel` (false: it is over the limit and must be closed).
    func wasAdmitted(_ channel: any Channel) -> Bool {
        self.channels.withLock { $0[ObjectIdentifier(channel)] != nil }
    }

    /// Asks every connection to close after the response under way (or now, if idle).
    func drainAll() {
        for channel in self.channels.withLock({ Array($0.values) }) {
            channel.pipeline.fireUserInboundEventTriggered(ArtifactHTTPHandler.DrainEvent())
        }
    }

    func closeAll() {
        for channel in self.channels.withLock({ Array($0.values) }) { channel.close(promise: nil) }
    }
}

/// Counts accepted connections against the limit on the listening channel, in the order they are accepted. The
/// child initializer runs later on each connection's own event loop, in no fixed order across loops, so deciding
/// there could refuse an earlier connection in favour of a later one.
final class AdmissionHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = any Channel
    typealias InboundOut = any Channel
    private let connections: ConnectionTracker

    init(connections: ConnectionTracker) { self.connections = connections }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.connections.admit(self.unwrapInboundIn(data))
        context.fireChannelRead(data)
    }
}
