import Foundation

/// A throw-away PKI made with the `openssl` command in a temporary directory: a CA, a server certificate for
/// 127.0.0.1 and localhost signed by it, a client certificate signed by it, and a second CA that signed nothing
/// here. Nothing of it is committed; ``remove()`` deletes it.
public struct TestCertificates: Sendable {
    public let directory: String
    public var caFile: String { self.directory + "/ca.crt" }
    public var otherCAFile: String { self.directory + "/other-ca.crt" }
    public var serverCertificate: String { self.directory + "/server.crt" }
    public var serverKey: String { self.directory + "/server.key" }
    public var clientCertificate: String { self.directory + "/client.crt" }
    public var clientKey: String { self.directory + "/client.key" }
    /// Signed by the CA, but for another host only (`DNS:not-this-host.invalid`).
    public var wrongHostCertificate: String { self.directory + "/wrong-host.crt" }
    public var wrongHostKey: String { self.directory + "/wrong-host.key" }

    struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public static func make() async throws -> TestCertificates {
        let directory = FileManager.default.temporaryDirectory.path + "/swift-mesos-pki-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let pki = TestCertificates(directory: directory)
        let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        for ca in ["ca", "other-ca"] {
            try await pki.openssl(
                ["req", "-x509"] + key + [
                    "-keyout", "\(ca).key", "-out", "\(ca).crt", "-days", "2", "-subj", "/CN=swift-mesos test \(ca)",
                    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                ]
            )
        }
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
            .write(toFile: directory + "/server.ext", atomically: true, encoding: .utf8)
        try "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n"
            .write(toFile: directory + "/client.ext", atomically: true, encoding: .utf8)
        try "subjectAltName=DNS:not-this-host.invalid\nbasicConstraints=CA:FALSE\n"
            .write(toFile: directory + "/wrong-host.ext", atomically: true, encoding: .utf8)
        let leaves = [("server", "/CN=localhost"), ("client", "/CN=swift-mesos test client"), ("wrong-host", "/CN=not-this-host.invalid")]
        for (name, subject) in leaves {
            try await pki.openssl(["req"] + key + ["-keyout", "\(name).key", "-out", "\(name).csr", "-subj", subject])
            try await pki.openssl([
                "x509", "-req", "-in", "\(name).csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", "\(name).crt", "-days", "2", "-extfile", "\(name).ext",
            ])
        }
        return pki
    }

    public func remove() {
        try? FileManager.default.removeItem(atPath: self.directory)
    }

    private func openssl(_ arguments: [String]) async throws {
        let result = try await TestProcess.run("/usr/bin/openssl", arguments, directory: self.directory)
        guard result.status == 0 else {
            throw Failure(description: "openssl \(arguments.joined(separator: " ")): \(result.errorText)")
        }
    }
}
