import Foundation
import MesosLocal
import Testing

/// mesos-submit against a cluster that speaks only https: `--ca-file` verifies the master and, for `--follow`, the
/// agent's `/files/read`.
@Suite("mesos-submit over TLS", .timeLimit(.minutes(3)))
struct SubmitTLSTests {
    /// A throw-away CA and a server certificate for 127.0.0.1 signed by it, made with the `openssl` command (run on
    /// a thread of its own, not on Swift's cooperative pool).
    struct Certificates {
        let directory: String
        var caFile: String { self.directory + "/ca.crt" }
        var certificateFile: String { self.directory + "/server.crt" }
        var keyFile: String { self.directory + "/server.key" }

        static func make() async throws -> Certificates {
            let directory = FileManager.default.temporaryDirectory.path + "/submit-tls-" + UUID().uuidString.prefix(8)
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let pki = Certificates(directory: directory)
            let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
            try await pki.openssl(
                ["req", "-x509"] + key + [
                    "-keyout", "\(directory)/ca.key", "-out", pki.caFile, "-days", "2", "-subj", "/CN=swift-mesos submit test CA",
                    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                ]
            )
            try "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
                .write(toFile: directory + "/server.ext", atomically: true, encoding: .utf8)
            try await pki.openssl(["req"] + key + ["-keyout", pki.keyFile, "-out", "\(directory)/server.csr", "-subj", "/CN=localhost"])
            try await pki.openssl([
                "x509", "-req", "-in", "\(directory)/server.csr", "-CA", pki.caFile, "-CAkey", "\(directory)/ca.key",
                "-CAcreateserial", "-out", pki.certificateFile, "-days", "2", "-extfile", "\(directory)/server.ext",
            ])
            return pki
        }

        func remove() { try? FileManager.default.removeItem(atPath: self.directory) }

        private func openssl(_ arguments: [String]) async throws {
            let (status, _, err) = try await SubmitCommandTests.run("/usr/bin/openssl", arguments)
            try #require(status == 0, "openssl \(arguments.joined(separator: " ")): \(err)")
        }
    }

    @Test("with --ca-file, a task runs on an https-only cluster and --follow streams its output from the agent")
    func followOverTLS() async throws {
        guard ProcessInfo.processInfo.environment["MESOS_MASTER"] == nil else { return }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") else { return }
        let pki = try await Certificates.make()
        defer { pki.remove() }
        var configuration = LocalClusterConfiguration()
        var tls = LocalTLSConfiguration(certificateFile: pki.certificateFile, keyFile: pki.keyFile)
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
        }
    }

    @Test("an unreadable --ca-file is a usage error (64)")
    func missingCAFile() async throws {
        let (status, _, err) = try await SubmitCommandTests.submit(["--ca-file", "/nonexistent/ca.crt", "--", "true"])
        #expect(status == 64, "\(err)")
        #expect(err.contains("--ca-file /nonexistent/ca.crt"), "\(err)")
    }
}
