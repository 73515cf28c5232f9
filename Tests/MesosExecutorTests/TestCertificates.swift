import Foundation

/// A throw-away PKI made with the `openssl` command in a temporary directory: a CA, a server certificate for
/// 127.0.0.1 and localhost signed by it, a client certificate signed by it, and a second CA that signed nothing
/// here. Nothing of it is committed; ``remove()`` deletes it.
struct TestCertificates {
    let directory: String
    var caFile: String { self.directory + "/ca.crt" }
    var otherCAFile: String { self.directory + "/other-ca.crt" }
    var serverCertificate: String { self.directory + "/server.crt" }
    var serverKey: String { self.directory + "/server.key" }
    var clientCertificate: String { self.directory + "/client.crt" }
    var clientKey: String { self.directory + "/client.key" }
    /// Signed by the CA, but for another host only (`DNS:not-this-host.invalid`).
    var wrongHostCertificate: String { self.directory + "/wrong-host.crt" }
    var wrongHostKey: String { self.directory + "/wrong-host.key" }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func make() throws -> TestCertificates {
        let directory = FileManager.default.temporaryDirectory.path + "/swift-mesos-pki-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let pki = TestCertificates(directory: directory)
        let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        for ca in ["ca", "other-ca"] {
            try pki.openssl(
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
            try pki.openssl(["req"] + key + ["-keyout", "\(name).key", "-out", "\(name).csr", "-subj", subject])
            try pki.openssl([
                "x509", "-req", "-in", "\(name).csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", "\(name).crt", "-days", "2", "-extfile", "\(name).ext",
            ])
        }
        return pki
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: self.directory)
    }

    private func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: self.directory)
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let output = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "openssl \(arguments.joined(separator: " ")): \(String(decoding: output, as: UTF8.self))")
        }
    }
}
