/// What the agent tells an executor through its environment, read and checked.
///
/// ```swift
/// let environment = try ExecutorEnvironment.fromProcess()   // removes the authentication token from the environment
/// ```
public struct ExecutorEnvironment: Sendable, Hashable {
    /// `http://host:port/api/v1/executor` (https when the agent uses TLS); with ``domainSocket``,
    /// `http://host:port/slave(1)/api/v1/executor`, the path the agent serves on its socket (the host only names
    /// the `Host` header there).
    public var agentURL: String
    public var frameworkID: String
    public var executorID: String
    /// The executor's sandbox on the agent (`MESOS_DIRECTORY`).
    public var directory: String
    /// The sandbox as the executor sees it (`MESOS_SANDBOX`; the same unless a container maps it).
    public var sandbox: String
    /// Whether the framework checkpoints: only then does the executor wait for a restarting agent.
    public var checkpoint: Bool
    /// How long to wait for a restarting agent before giving up (`MESOS_RECOVERY_TIMEOUT`, default 15 mins).
    public var recoveryTimeout: Duration
    /// The largest wait between subscription attempts (`MESOS_SUBSCRIPTION_BACKOFF_MAX`, default 2 secs).
    public var subscriptionBackoffMaximum: Duration
    /// How long the executor has to end its tasks after SHUTDOWN (`MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD`, default 5 secs).
    public var shutdownGracePeriod: Duration
    /// Sent as `Authorization: Bearer …` (`MESOS_EXECUTOR_AUTHENTICATION_TOKEN`).
    public var authenticationToken: String?
    /// Subscribe over this unix domain socket instead of TCP (`MESOS_DOMAIN_SOCKET`).
    public var domainSocket: String?
    /// How to speak TLS to the agent, from the libprocess variables the agent's executors inherit
    /// (`LIBPROCESS_SSL_ENABLED` and the rest; the deprecated `SSL_` prefix too, `LIBPROCESS_SSL_` winning).
    /// Nil when TLS is not enabled, or when the executor talks over ``domainSocket`` (plain HTTP, as the agent's
    /// socket never speaks TLS).
    public var tls: TLS?

    /// The TLS settings of an executor, as libprocess reads them from its environment.
    ///
    /// Unlike libprocess, which verifies server certificates only with `LIBPROCESS_SSL_VERIFY_SERVER_CERT=true`,
    /// the agent's certificate is verified unless that variable (or its legacy alias `LIBPROCESS_SSL_VERIFY_CERT`)
    /// is explicitly `false`: against `LIBPROCESS_SSL_CA_FILE` / `LIBPROCESS_SSL_CA_DIR` when given, else against the
    /// system's CAs.
    public struct TLS: Sendable, Hashable {
        /// `LIBPROCESS_SSL_CA_FILE`: PEM certificates to verify the agent with.
        public var caFile: String?
        /// `LIBPROCESS_SSL_CA_DIR`: a directory of hashed CA certificates.
        public var caDirectory: String?
        /// `LIBPROCESS_SSL_CERT_FILE`: presented as the client certificate when the agent asks for one.
        public var certificateFile: String?
        /// `LIBPROCESS_SSL_KEY_FILE`: the key of ``certificateFile``.
        public var keyFile: String?
        /// False only when `LIBPROCESS_SSL_VERIFY_SERVER_CERT` (or `LIBPROCESS_SSL_VERIFY_CERT`) is `false`.
        public var verifyServerCertificate = true

        public init() {}
    }

    /// Reads the executor's variables from `variables`.
    ///
    /// - Throws: ``ExecutorEnvironmentError`` naming the variable that is missing or malformed.
    public init(_ variables: [String: String]) throws(ExecutorEnvironmentError) {
        func required(_ name: String) throws(ExecutorEnvironmentError) -> String {
            guard let value = variables[name], !value.isEmpty else {
                throw ExecutorEnvironmentError(variable: name, message: "is not set; executors are started by a Mesos agent, which sets it")
            }
            return value
        }
        func duration(_ name: String, default value: Duration) throws(ExecutorEnvironmentError) -> Duration {
            guard let text = variables[name] else { return value }
            guard let parsed = Self.parseDuration(text) else {
                throw ExecutorEnvironmentError(
                    variable: name,
                    message: "'\(text)' is not a duration (a number and one of ns, us, ms, secs, mins, hrs, days, weeks)"
                )
            }
            return parsed
        }
        let endpoint = try required("MESOS_AGENT_ENDPOINT")
        guard endpoint.contains(":"), !endpoint.contains("/") else {
            throw ExecutorEnvironmentError(variable: "MESOS_AGENT_ENDPOINT", message: "'\(endpoint)' is not host:port")
        }
        let tls = try Self.tls(variables)
        let domainSocket = variables["MESOS_DOMAIN_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        self.domainSocket = domainSocket
        if let socket = domainSocket {
            guard socket.utf8.count < 108 else {
                throw ExecutorEnvironmentError(
                    variable: "MESOS_DOMAIN_SOCKET",
                    message: "'\(socket)' is not shorter than 108 characters, the limit of a unix socket path"
                )
            }
            // The agent serves only `/<its process id>/api/v1/executor` on the socket; the id is in MESOS_SLAVE_PID.
            let process = variables["MESOS_SLAVE_PID"].flatMap { $0.split(separator: "@").first.map(String.init) } ?? "slave(1)"
            self.agentURL = "http://\(endpoint)/\(process)/api/v1/executor"
            self.tls = nil
        } else {
            self.agentURL = "\(tls == nil ? "http" : "https")://\(endpoint)/api/v1/executor"
            self.tls = tls
        }
        self.frameworkID = try required("MESOS_FRAMEWORK_ID")
        self.executorID = try required("MESOS_EXECUTOR_ID")
        self.directory = try required("MESOS_DIRECTORY")
        self.sandbox = variables["MESOS_SANDBOX"].flatMap { $0.isEmpty ? nil : $0 } ?? self.directory
        switch variables["MESOS_CHECKPOINT"] {
        case nil, "0": self.checkpoint = false
        case "1": self.checkpoint = true
        case let other?:
            throw ExecutorEnvironmentError(variable: "MESOS_CHECKPOINT", message: "'\(other)' is neither '1' nor '0'")
        }
        self.recoveryTimeout = try duration("MESOS_RECOVERY_TIMEOUT", default: .seconds(15 * 60))
        self.subscriptionBackoffMaximum = try duration("MESOS_SUBSCRIPTION_BACKOFF_MAX", default: .seconds(2))
        self.shutdownGracePeriod = try duration("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", default: .seconds(5))
        self.authenticationToken = variables["MESOS_EXECUTOR_AUTHENTICATION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The libprocess SSL settings: `LIBPROCESS_SSL_<NAME>`, else the deprecated `SSL_<NAME>`; nil unless enabled.
    private static func tls(_ variables: [String: String]) throws(ExecutorEnvironmentError) -> TLS? {
        func value(_ name: String) -> (variable: String, value: String)? {
            for prefix in ["LIBPROCESS_SSL_", "SSL_"] {
                if let value = variables[prefix + name], !value.isEmpty { return (prefix + name, value) }
            }
            return nil
        }
        // stout's flag parsing of a bool: "true"/"1" or "false"/"0".
        func flag(_ name: String) throws(ExecutorEnvironmentError) -> Bool? {
            guard let (variable, text) = value(name) else { return nil }
            switch text.lowercased() {
            case "true", "1": return true
            case "false", "0": return false
            default: throw ExecutorEnvironmentError(variable: variable, message: "'\(text)' is neither 'true' nor 'false'")
            }
        }
        guard try flag("ENABLED") == true else { return nil }
        var tls = TLS()
        tls.caFile = value("CA_FILE")?.value
        tls.caDirectory = value("CA_DIR")?.value
        tls.certificateFile = value("CERT_FILE")?.value
        tls.keyFile = value("KEY_FILE")?.value
        let verify = try flag("VERIFY_SERVER_CERT")
        let legacyVerify = try flag("VERIFY_CERT")
        tls.verifyServerCertificate = (verify ?? legacyVerify) != false
        return tls
    }

    /// Reads this process's environment, then removes `MESOS_EXECUTOR_AUTHENTICATION_TOKEN` from it so that the
    /// processes the executor starts never see the token.
    public static func fromProcess() throws(ExecutorEnvironmentError) -> ExecutorEnvironment {
        let variables = ProcessLauncher.currentEnvironment()
        let environment = try ExecutorEnvironment(variables)
        unsetenv("MESOS_EXECUTOR_AUTHENTICATION_TOKEN")
        return environment
    }

    /// A duration as stout writes it: a number and a unit (`5secs`, `1.5hrs`, `250ms`, `2weeks`).
    public static func parseDuration(_ text: String) -> Duration? {
        let trimmed = text.trimmingSpaces
        guard let unitStart = trimmed.firstIndex(where: { $0.isLetter }) else { return nil }
        guard let value = Double(trimmed[..<unitStart]), value >= 0, value.isFinite else { return nil }
        let nanoseconds: Double
        switch trimmed[unitStart...] {
        case "ns": nanoseconds = 1
        case "us": nanoseconds = 1e3
        case "ms": nanoseconds = 1e6
        case "secs": nanoseconds = 1e9
        case "mins": nanoseconds = 60e9
        case "hrs": nanoseconds = 3600e9
        case "days": nanoseconds = 86400e9
        case "weeks": nanoseconds = 604800e9
        default: return nil
        }
        let total = value * nanoseconds
        guard total < Double(Int64.max) else { return nil }
        return .nanoseconds(Int64(total))
    }
}

/// A variable of the executor's environment is missing or malformed.
public struct ExecutorEnvironmentError: Error, CustomStringConvertible, Hashable {
    /// The variable at fault, e.g. `MESOS_AGENT_ENDPOINT`.
    public var variable: String
    public var message: String

    public var description: String { "\(self.variable) \(self.message)" }
}

extension StringProtocol {
    var trimmingSpaces: String {
        String(self.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}

import Glibc
import MesosProcess
