import Foundation
import Mesos
import MesosExecutor
import MesosHTTP
import MesosLocal
import MesosScheduler
import MesosTestSupport
import Synchronization
import Testing

/// `mesos-swift-executor` under a local agent that serves its executors on a unix domain socket, or https: the
/// executor finds the way from the variables the agent sets (`MESOS_DOMAIN_SOCKET`, `LIBPROCESS_SSL_*`), subscribes,
/// runs a task, and the task's framework message reaches the scheduler.
@Suite("Executor transports: domain socket and TLS", .timeLimit(.minutes(2)))
struct ExecutorTransportTests {
    typealias Log = SwiftExecutorTests.Log

    func wait(_ what: String, timeout: Duration = .seconds(45), _ condition: () -> Bool) async throws {
        try await SwiftExecutorTests.waitFor(what, timeout: timeout, condition)
    }

    /// Subscribes with `configuration`, launches `mesos-swift-executor` (its command environment extended by
    /// `executorEnvironment`) with one task that sends `message` and ends, and records what the scheduler hears.
    func run(
        _ configuration: SchedulerConfiguration,
        executorEnvironment: [String: String] = [:],
        taskCommand: String = "echo \"from-task:$MESOS_TASK_ID\" >> \"$MESOS_EXECUTOR_MESSAGES_OUT\"; sleep 1",
        until done: @escaping @Sendable (Log) -> Bool
    ) async throws -> Log {
        let client = SchedulerClient(configuration: configuration)
        var info = FrameworkInfo()
        info.user = "root"
        info.name = "executor-transport-test"
        let events = try await client.subscribe(info)
        let log = Log()
        var executor = SwiftExecutorTests.executor("transport-exec")
        for (name, value) in executorEnvironment.sorted(by: { $0.key < $1.key }) {
            var variable = Mesos_V1_Environment.Variable()
            variable.name = name
            variable.value = value
            executor.command.environment.variables.append(variable)
        }
        let launched = executor
        let driver = SwiftExecutorTests.drive(client, events, log) { offer in
            [SwiftExecutorTests.task("work", on: offer, executor: launched, command: taskCommand)]
        }
        try await self.wait("the task's flow") { done(log) }
        try? await client.stop(teardown: true)
        driver.cancel()
        return log
    }

    @Test("over the agent's domain socket: MESOS_DOMAIN_SOCKET is set, and the executor needs no TCP endpoint")
    func domainSocket() async throws {
        var configuration = LocalClusterConfiguration()
        configuration.executorDomainSockets = true
        try await LocalCluster.with(configuration) { cluster in
            let socket = try #require(cluster.agents[0].configuration.domainSocketPath)
            #expect(FileManager.default.fileExists(atPath: socket))
            // The TCP endpoint the executor is told of is a closed port: only the socket leads to the agent.
            let log = try await self.run(
                SchedulerConfiguration(masters: [cluster.url]),
                executorEnvironment: ["MESOS_AGENT_ENDPOINT": "127.0.0.1:1"],
                taskCommand: "echo \"socket:$MESOS_DOMAIN_SOCKET\" >> \"$MESOS_EXECUTOR_MESSAGES_OUT\"; sleep 1"
            ) { log in log.states("work").last == .taskFinished && !log.messages.withLock { $0.isEmpty } }
            #expect(log.states("work") == [.taskStarting, .taskRunning, .taskFinished])
            #expect(log.messages.withLock { $0 } == ["socket:\(socket)"])
            #expect(log.failures.withLock { $0.isEmpty })
        }
    }

    @Test("over https: the master and agent serve TLS, the scheduler subscribes with the CA, the executor trusts the agent through LIBPROCESS_SSL_CA_FILE", arguments: [false, true])
    func tls(requireClientCertificate: Bool) async throws {
        let pki = try await TestCertificates.make()
        defer { pki.remove() }
        var tls = LocalTLSConfiguration(certificateFile: pki.serverCertificate, keyFile: pki.serverKey)
        tls.caFile = pki.caFile
        tls.requireClientCertificate = requireClientCertificate
        var configuration = LocalClusterConfiguration()
        configuration.tls = tls
        try await LocalCluster.with(configuration) { cluster in
            #expect(cluster.url.hasPrefix("https://127.0.0.1:"))
            #expect(cluster.agents[0].endpoint.hasPrefix("https://127.0.0.1:"))
            var scheduler = SchedulerConfiguration(masters: [cluster.url])
            scheduler.http.tls.caFile = pki.caFile
            if requireClientCertificate {
                scheduler.http.tls.clientCertificateFile = pki.clientCertificate
                scheduler.http.tls.clientKeyFile = pki.clientKey
            }
            let log = try await self.run(scheduler) { log in
                log.states("work").last == .taskFinished && !log.messages.withLock { $0.isEmpty }
            }
            #expect(log.offers.withLock { $0 } > 0)
            #expect(log.states("work") == [.taskStarting, .taskRunning, .taskFinished])
            #expect(log.messages.withLock { $0 } == ["from-task:work"])
        }
    }

    @Test("an executor that does not trust the agent's certificate cannot subscribe: it exits and the framework hears FAILURE")
    func untrustedAgent() async throws {
        let pki = try await TestCertificates.make()
        defer { pki.remove() }
        var tls = LocalTLSConfiguration(certificateFile: pki.serverCertificate, keyFile: pki.serverKey)
        tls.caFile = pki.caFile
        var configuration = LocalClusterConfiguration()
        configuration.tls = tls
        try await LocalCluster.with(configuration) { cluster in
            var scheduler = SchedulerConfiguration(masters: [cluster.url])
            scheduler.http.tls.caFile = pki.caFile
            let log = try await self.run(scheduler, executorEnvironment: ["LIBPROCESS_SSL_CA_FILE": pki.otherCAFile]) { log in
                !log.failures.withLock { $0.isEmpty } && log.states("work").last.map { $0 != .taskStaging } == true
            }
            #expect(log.failures.withLock { $0.first?.0?.value } == "transport-exec")
            #expect(!log.states("work").contains(.taskRunning))
            #expect(log.messages.withLock { $0.isEmpty })
        }
    }
}
