public import Logging
public import Metrics

/// How an ``ArtifactServer`` listens, what address it advertises, and its limits.
public struct ArtifactServerConfiguration: Sendable {
    /// The address to listen on. `0.0.0.0` listens everywhere; URIs never carry it (see ``advertisedHost``).
    public var host: String = "0.0.0.0"
    /// The port to listen on; 0 picks a free one.
    public var port: Int = 0
    /// The host agents use in URLs. When nil: the address of the interface that routes to ``masterHost``, else
    /// the listening address when it is a specific one, else this machine's first non-loopback IPv4 address.
    public var advertisedHost: String?
    /// The master's host, to find the interface agents can reach this machine through.
    public var masterHost: String?
    /// When set, every URL carries `/t/<token>/` and requests without it get 404: for servers reachable from
    /// networks you do not trust.
    public var secretToken: String?
    /// Connections beyond this are closed at once.
    public var maximumConnections = 1024
    /// A connection with no traffic for this long, between requests, is closed.
    public var idleTimeout: Duration = .seconds(60)
    /// A download that makes no progress (the client stopped reading) for this long is closed. Slow downloads that
    /// keep moving are never cut.
    public var downloadStallTimeout: Duration = .seconds(60)
    /// A request head that has not fully arrived this long after the connection opened (or the previous response
    /// ended) closes the connection: slow clients cannot pin it.
    public var headerTimeout: Duration = .seconds(10)
    /// Largest request head, in bytes; more is answered 431 and the connection closed.
    public var maximumHeaderSize = 16 * 1024
    /// On graceful shutdown, downloads under way get this long to finish before their connections are closed.
    public var shutdownGracePeriod: Duration = .seconds(30)
    /// Where directories are packed; nil: a new folder under the system's temporary directory.
    public var workDirectory: String?
    /// Access log (one line per request at `.info`) and errors. Nil: silent.
    public var logger: Logger?
    /// `mesos.artifacts.requests` {status} and `mesos.artifacts.bytes`. Nil: the global `MetricsSystem`.
    public var metricsFactory: (any MetricsFactory)?

    public init() {}
}
