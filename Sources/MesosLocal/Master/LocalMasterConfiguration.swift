import NIOHTTP1
import Synchronization
public import Logging

/// How a ``LocalMaster`` runs. The defaults are Apache Mesos 1.11's, except where a local master should be quicker
/// (the allocation interval).
public struct LocalMasterConfiguration: Sendable {
    /// The address to listen on.
    public var host: String = "127.0.0.1"
    /// 0: any free port.
    public var port: Int = 0
    /// The hostname in `MasterInfo` and in `/state`.
    public var hostname: String = "127.0.0.1"
    /// `heartbeat_interval_seconds` of `SUBSCRIBED`; a `HEARTBEAT` event goes out this often (Mesos: 15 s).
    public var heartbeatInterval: Duration = .seconds(15)
    /// How often the allocator makes offers (Mesos: 1 s; here 50 ms, so a local cluster answers at once).
    public var allocationInterval: Duration = .milliseconds(50)
    /// Offers not used in this long are rescinded (Mesos: none by default).
    public var offerTimeout: Duration?
    /// How often an unacknowledged UPDATE_OPERATION_STATUS is sent again (the agent's operation status update
    /// manager: 10 s).
    public var operationStatusRetryInterval: Duration = .seconds(10)
    /// HTTP Basic credentials for schedulers (`--authenticate_http_frameworks` with `--credentials`):
    /// principal → secret. Nil: no authentication.
    public var credentials: [String: String]?
    /// Which roles each principal may register a framework with: the `register_frameworks` ACLs of a master
    /// with `--acls` and `permissive: false`. A framework (its `FrameworkInfo.principal`) may subscribe, or
    /// change its roles with UPDATE_FRAMEWORK, only when every one of its roles is listed for its principal; a
    /// framework without a principal, or with one not listed, is refused. Nil: no authorizer, every role allowed.
    ///
    /// A refused SUBSCRIBE gets its stream (200) with one ERROR event, "Not authorized to register framework …
    /// with roles { … }", then the stream ends; a refused UPDATE_FRAMEWORK gets 403 with that text.
    public var frameworkRoles: [String: Set<String>]?
    /// https with this certificate and key (a master with `LIBPROCESS_SSL_ENABLED=true`). Nil: http.
    public var tls: LocalTLSConfiguration?
    /// Where the master keeps what it persists across a restart (frameworks, for `restart(persistingState:)`).
    public var workDirectory: String?
    /// Warnings and errors only, unless you lower the level (`mesos-local` logs at info).
    public var logger: Logger = {
        var logger = Logger(label: "mesos.local.master")
        logger.logLevel = .warning
        return logger
    }()

    public init() {}
}

/// What kind of removal an agent suffers in ``LocalMaster/removeAgent(_:reason:)``.
public enum AgentRemoval: Sendable {
    /// The agent stopped answering (a partition): partition-aware frameworks get `TASK_UNREACHABLE`, others
    /// `TASK_LOST`.
    case unreachable
    /// An operator marked the agent gone: partition-aware frameworks get `TASK_GONE_BY_OPERATOR`, others
    /// `TASK_LOST`.
    case gone
}
