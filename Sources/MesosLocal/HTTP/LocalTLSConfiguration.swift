internal import NIOSSL

/// TLS for the endpoints of the local master and agents: they serve https with a certificate and key in PEM files,
/// as a Mesos built with SSL does with `LIBPROCESS_SSL_ENABLED=true`, `LIBPROCESS_SSL_CERT_FILE` and
/// `LIBPROCESS_SSL_KEY_FILE`.
///
/// An agent with TLS hands its executors the same settings through the `LIBPROCESS_SSL_*` variables, as the real
/// agent's executors inherit them: `LIBPROCESS_SSL_ENABLED=true`, the certificate and key, and ``caFile`` as
/// `LIBPROCESS_SSL_CA_FILE`, so an executor verifies the agent with that CA.
public struct LocalTLSConfiguration: Sendable, Hashable {
    /// The server's certificate in PEM (`LIBPROCESS_SSL_CERT_FILE`); a chain may follow it in the same file.
    public var certificateFile: String
    /// The certificate's private key in PEM (`LIBPROCESS_SSL_KEY_FILE`).
    public var keyFile: String
    /// PEM certificates of the authorities that issued the certificates in use (`LIBPROCESS_SSL_CA_FILE`): client
    /// certificates are verified against them, and executors verify the agent with them.
    public var caFile: String?
    /// Ask every client for a certificate and refuse the handshake without a valid one
    /// (`LIBPROCESS_SSL_REQUIRE_CLIENT_CERT`); needs ``caFile``.
    public var requireClientCertificate = false

    public init(certificateFile: String, keyFile: String) {
        self.certificateFile = certificateFile
        self.keyFile = keyFile
    }

    /// Loads the certificate, key and CA and makes the server context once, so a bad file fails at start, not at
    /// the first connection.
    ///
    /// - Throws: ``LocalTLSError`` naming the file that could not be used.
    func makeServerContext() throws(LocalTLSError) -> NIOSSLContext {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(self.certificateFile)
        } catch {
            throw LocalTLSError(file: self.certificateFile, message: "is not a readable PEM certificate (\(error))")
        }
        guard !chain.isEmpty else {
            throw LocalTLSError(file: self.certificateFile, message: "holds no PEM certificate")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: self.keyFile, format: .pem)
        } catch {
            throw LocalTLSError(file: self.keyFile, message: "is not a readable PEM private key (\(error))")
        }
        var configuration: TLSConfiguration
        if self.requireClientCertificate {
            guard let caFile = self.caFile else {
                throw LocalTLSError(file: nil, message: "requiring client certificates needs a CA file to verify them")
            }
            let roots: [NIOSSLCertificate]
            do {
                roots = try NIOSSLCertificate.fromPEMFile(caFile)
            } catch {
                throw LocalTLSError(file: caFile, message: "is not a readable PEM CA bundle (\(error))")
            }
            configuration = .makeServerConfigurationWithMTLS(
                certificateChain: chain.map { .certificate($0) },
                privateKey: .privateKey(key),
                trustRoots: .certificates(roots)
            )
        } else {
            configuration = .makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        }
        configuration.minimumTLSVersion = .tlsv12
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw LocalTLSError(file: self.certificateFile, message: "and its key cannot make a TLS context (\(error))")
        }
    }

    /// The variables an executor of a TLS agent gets, named as libprocess reads them.
    var executorEnvironment: [String: String] {
        var variables = [
            "LIBPROCESS_SSL_ENABLED": "true",
            "LIBPROCESS_SSL_CERT_FILE": self.certificateFile,
            "LIBPROCESS_SSL_KEY_FILE": self.keyFile,
        ]
        if let caFile = self.caFile { variables["LIBPROCESS_SSL_CA_FILE"] = caFile }
        return variables
    }
}

/// The certificate, key or CA of a ``LocalTLSConfiguration`` could not be used.
public struct LocalTLSError: Error, CustomStringConvertible, Hashable {
    /// The file at fault, if one is.
    public var file: String?
    public var message: String

    public var description: String {
        if let file = self.file { return "TLS: '\(file)' \(self.message)" }
        return "TLS: \(self.message)"
    }
}
