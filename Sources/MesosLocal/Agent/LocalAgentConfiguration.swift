public import Mesos

/// How a ``LocalAgent`` presents itself and runs its tasks.
///
/// The defaults are those of a Mesos 1.11 agent started with `--resources=cpus:4;mem:4096;disk:10000;ports:[31000-32000]`.
public struct LocalAgentConfiguration: Sendable {
    /// The agent's ID, chosen by the master (`<master id>-S<n>` on a real cluster).
    public var id: AgentID
    /// The host name the agent advertises in its `AgentInfo`.
    public var hostname: String = "127.0.0.1"
    /// The address the agent's HTTP endpoint binds to.
    public var bindHost: String = "127.0.0.1"
    /// The endpoint's port; 0 picks a free one.
    public var port: Int = 0
    /// https on the endpoint: the certificate and key it serves (a Mesos agent built with SSL and
    /// `LIBPROCESS_SSL_ENABLED=true`). Executors get the settings as `LIBPROCESS_SSL_*` variables. Nil: http.
    public var tls: LocalTLSConfiguration?
    /// Also serve the executor API on a unix domain socket at this path (`--http_executor_domain_sockets` with
    /// `--domain_socket_location`; shorter than 108 bytes): every executor gets it as `MESOS_DOMAIN_SOCKET`, and
    /// only `/slave(1)/api/v1/executor` (and `/slave(1)/api/v1`) are served there, in plain HTTP. Nil: no socket.
    public var domainSocketPath: String?
    /// The resources the agent offers.
    public var resources: [Resource] = LocalAgentConfiguration.defaultResources
    /// The attributes the agent advertises.
    public var attributes: [Attribute] = []
    /// The agent's fault domain, if any.
    public var domain: DomainInfo?
    /// The agent's work directory (`--work_dir`): sandboxes go to
    /// `<work>/slaves/<agentID>/frameworks/<frameworkID>/executors/<executorID>/runs/<containerID>`, with a `latest`
    /// symlink beside each run, and the fetcher cache to `<work>/fetch`.
    public var workDirectory: String
    /// How long a custom executor has to subscribe before the agent kills it (`--executor_registration_timeout`).
    public var executorRegistrationTimeout: Duration = .seconds(60)
    /// How long an executor has between `SHUTDOWN` and being killed (`--executor_shutdown_grace_period`).
    public var executorShutdownGracePeriod: Duration = .seconds(5)
    /// How often the oldest unacknowledged status update of a task is sent again. Mesos starts at 10 seconds and
    /// doubles up to 10 minutes; this agent doubles from this value up to ``statusUpdateRetryIntervalMaximum``.
    public var statusUpdateRetryInterval: Duration = .seconds(10)
    /// The longest interval between two retries of one status update.
    public var statusUpdateRetryIntervalMaximum: Duration = .seconds(600)
    /// How often HTTP executors get a `HEARTBEAT` event (Mesos: 30 minutes).
    public var executorHeartbeatInterval: Duration = .seconds(1800)
    /// How long ``LocalAgent/stop()`` waits after `SIGTERM` before `SIGKILL`.
    public var stopGracePeriod: Duration = .seconds(3)

    public init(id: AgentID, workDirectory: String) {
        self.id = id
        self.workDirectory = workDirectory
    }

    /// `cpus:4;mem:4096;disk:10000;ports:[31000-32000]`.
    public static var defaultResources: [Resource] {
        (try? Resources(parsing: "cpus:4;mem:4096;disk:10000;ports:[31000-32000]"))?.protobufs ?? []
    }
}
