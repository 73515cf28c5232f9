import Foundation
import MesosLocal
import MesosTestSupport
import Testing

/// mesos-submit against a cluster that speaks only https: `--ca-file` verifies the master and, for `--follow`, the
/// agent's `/files/read`.
@Suite("mesos-submit over TLS", .timeLimit(.minutes(3)))
struct SubmitTLSTests {
    @Test("with --ca-file, a task runs on an https-only cluster and --follow streams its output from the agent")
    func followOverTLS() async throws {
        guard ProcessInfo.processInfo.environment["MESOS_MASTER"] == nil else { return }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") else { return }
        let pki = try await TestCertificates.make()
        defer { pki.remove() }
        var configuration = LocalClusterConfiguration()
        var tls = LocalTLSConfiguration(certificateFile: pki.serverCertificate, keyFile: pki.serverKey)
        tls.caFile = pki.caFile
        configuration.tls = tls
        try await LocalCluster.with(configuration) { cluster in
            #expect(cluster.url.hasPrefix("https://"))
            let agent = try #require(cluster.agents.first)
            #expect(agent.endpoint.hasPrefix("https://"))

            let (status, out, err) = try await SubmitCommandTests.submit([
                "--master", cluster.url, "--ca-file", pki.caFile, "--follow", "--", "echo hello over tls; echo to-stderr >&2",
            ])
            #expect(status == 0, "\(out)\(err)")
            #expect(out.contains("hello over tls"), "the agent's /files/read over https: \(out)\(err)")
            #expect(err.contains("to-stderr"), "\(err)")

            // Without the CA the master's certificate cannot be verified: the master is unreachable (69).
            let (refused, _, refusedErr) = try await SubmitCommandTests.submit(["--master", cluster.url, "--", "true"])
            #expect(refused == 69, "\(refusedErr)")
            #expect(refusedErr.contains("cannot subscribe"), "\(refusedErr)")
            // A certificate that does not verify is not retried: it is said as such, at the first attempt.
            #expect(refusedErr.contains("MesosError.tls"), "\(refusedErr)")
        }
    }

    @Test("an unreadable --ca-file is a usage error (64)")
    func missingCAFile() async throws {
        let (status, _, err) = try await SubmitCommandTests.submit(["--ca-file", "/nonexistent/ca.crt", "--", "true"])
        #expect(status == 64, "\(err)")
        #expect(err.contains("--ca-file /nonexistent/ca.crt"), "\(err)")
    }
}
