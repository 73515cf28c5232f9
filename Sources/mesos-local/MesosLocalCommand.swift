import ArgumentParser
import Foundation
import Logging
import Mesos
import MesosLocal

@main
struct MesosLocalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mesos-local",
        abstract: "A local Mesos 1.11 master with agents that really run tasks.",
        discussion: """
            Speaks the Mesos v1 scheduler and executor HTTP APIs, so any Mesos
            framework can run against it. Prints the master's URL, then serves
            until SIGINT or SIGTERM, when it kills its tasks and exits.

            With --tls-cert and --tls-key the master and the agents serve https
            (TLS 1.2 or later), as Mesos does with LIBPROCESS_SSL_ENABLED=true;
            executors get the certificate, key and --tls-ca as LIBPROCESS_SSL_*
            variables. With --executor-domain-sockets each agent also serves the
            executor API on a unix socket, <work-dir>/agent-N/agent.sock, and
            executors get its path as MESOS_DOMAIN_SOCKET.

            EXAMPLES
              mesos-local --port 5050 --agents 3 \\
                  --resources "cpus:4;mem:4096;disk:10000;ports:[31000-32000]"
              mesos-local --tls-cert server.crt --tls-key server.key \\
                  --tls-ca ca.crt --executor-domain-sockets
            """
    )

    @Option(name: .long, help: "Port of the master (0: any free port).") var port = 5050
    @Option(name: .long, help: "Address to listen on.") var ip = "127.0.0.1"
    @Option(name: .long, help: "How many agents.") var agents = 1
    @Option(name: .long, help: "Each agent's resources.") var resources = "cpus:4;mem:4096;disk:10000;ports:[31000-32000]"
    @Option(name: .long, help: "Attributes of agent N (0-based) as N=name:value;name:value; repeatable.") var attributes: [String] = []
    @Option(name: .long, help: "Where sandboxes go (default: a temporary directory, removed on exit).") var workDir: String?
    @Option(name: .long, help: "Seconds between HEARTBEAT events.") var heartbeatInterval: Double = 15
    @Option(name: .long, help: "Credentials file for HTTP Basic authentication of frameworks: one 'principal secret' per line.") var credentials: String?
    @Option(name: .long, help: "PEM certificate (chain) to serve https with; needs --tls-key.") var tlsCert: String?
    @Option(name: .long, help: "PEM private key of --tls-cert.") var tlsKey: String?
    @Option(name: .long, help: "PEM CA bundle: verifies client certificates, and executors verify the agent with it.") var tlsCa: String?
    @Flag(name: .long, help: "Require a client certificate signed by --tls-ca on every connection.") var tlsRequireClientCert = false
    @Flag(name: .long, help: "Agents also serve executors on a unix socket (MESOS_DOMAIN_SOCKET).") var executorDomainSockets = false
    @Flag(name: .long, help: "Log at debug level.") var verbose = false

    func validate() throws {
        if (self.tlsCert == nil) != (self.tlsKey == nil) {
            throw ValidationError("--tls-cert and --tls-key go together")
        }
        if self.tlsCert == nil && (self.tlsCa != nil || self.tlsRequireClientCert) {
            throw ValidationError("--tls-ca and --tls-require-client-cert need --tls-cert and --tls-key")
        }
        if self.tlsRequireClientCert && self.tlsCa == nil {
            throw ValidationError("--tls-require-client-cert needs --tls-ca to verify client certificates with")
        }
    }

    /// The TLS configuration the flags ask for, if any.
    var tls: LocalTLSConfiguration? {
        guard let certificate = self.tlsCert, let key = self.tlsKey else { return nil }
        var tls = LocalTLSConfiguration(certificateFile: certificate, keyFile: key)
        tls.caFile = self.tlsCa
        tls.requireClientCertificate = self.tlsRequireClientCert
        return tls
    }

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = self.verbose ? .debug : .info
            return handler
        }
        var configuration = LocalClusterConfiguration()
        configuration.logger = Logger(label: "mesos.local")
        configuration.logger.logLevel = self.verbose ? .debug : .info
        configuration.master.port = self.port
        configuration.master.host = self.ip
        configuration.master.hostname = self.ip
        configuration.master.heartbeatInterval = .milliseconds(Int64(self.heartbeatInterval * 1000))
        configuration.agents = self.agents
        configuration.agentResources = self.resources
        configuration.workDirectory = self.workDir
        configuration.tls = self.tls
        configuration.executorDomainSockets = self.executorDomainSockets
        for entry in self.attributes {
            let parts = entry.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let index = Int(parts[0]) else {
                throw ValidationError("--attributes wants N=name:value;…, got '\(entry)'")
            }
            configuration.agentAttributes[index] = String(parts[1])
        }
        if let path = self.credentials {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            var credentials: [String: String] = [:]
            for line in text.split(separator: "\n") {
                let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
                if fields.count >= 2 { credentials[String(fields[0])] = String(fields[1]) }
            }
            configuration.master.credentials = credentials
        }
        let cluster = try await LocalCluster.start(configuration)
        FileHandle.standardOutput.write(Data((cluster.url + "\n").utf8))
        let signals = ProcessSignals.stream([SIGINT, SIGTERM])
        for await _ in signals { break }
        Logger(label: "mesos.local").info("stopping: killing tasks")
        await cluster.stop()
    }
}
