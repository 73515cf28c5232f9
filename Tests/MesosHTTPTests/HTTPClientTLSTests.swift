import Foundation
import MesosHTTP
import MesosTestSupport
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Testing

/// The transport against a real TLS server on loopback (NIOSSL, certificates made by `openssl` for the test).
@Suite("HTTP client over TLS", .timeLimit(.minutes(2)))
struct HTTPClientTLSTests {
    /// An https server on 127.0.0.1 that answers every request `200 hello over tls`; with `requireClientCertificate`
    /// it refuses a handshake without a client certificate signed by the test CA.
    struct Server {
        let channel: any Channel
        var url: String { "https://127.0.0.1:\(self.channel.localAddress!.port!)/hello" }

        static func start(_ pki: TestCertificates, requireClientCertificate: Bool = false, wrongHost: Bool = false) async throws -> Server {
            let certificate = wrongHost ? pki.wrongHostCertificate : pki.serverCertificate
            let chain = try NIOSSLCertificate.fromPEMFile(certificate).map { NIOSSLCertificateSource.certificate($0) }
            let keyFile = wrongHost ? pki.wrongHostKey : pki.serverKey
            let key = NIOSSLPrivateKeySource.privateKey(try NIOSSLPrivateKey(file: keyFile, format: .pem))
            let configuration: TLSConfiguration
            if requireClientCertificate {
                let roots = try NIOSSLCertificate.fromPEMFile(pki.caFile)
                configuration = .makeServerConfigurationWithMTLS(certificateChain: chain, privateKey: key, trustRoots: .certificates(roots))
            } else {
                configuration = .makeServerConfiguration(certificateChain: chain, privateKey: key)
            }
            let context = try NIOSSLContext(configuration: configuration)
            let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let sync = channel.pipeline.syncOperations
                        try sync.addHandler(NIOSSLServerHandler(context: context))
                        try sync.configureHTTPServerPipeline()
                        try sync.addHandler(Hello())
                    }
                }
                .bind(host: "127.0.0.1", port: 0).get()
            return Server(channel: channel)
        }

        func stop() async { try? await self.channel.close() }
    }

    final class Hello: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .end = self.unwrapInboundIn(data) else { return }
            let body = ByteBuffer(string: "hello over tls")
            let head = HTTPResponseHead(version: .http1_1, status: .ok, headers: ["Content-Length": "\(body.readableBytes)"])
            context.write(self.wrapOutboundOut(.head(head)), promise: nil)
            context.write(self.wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
    }

    /// Runs `body` with a fresh PKI and a server, then removes both.
    func with(
        requireClientCertificate: Bool = false,
        wrongHost: Bool = false,
        _ body: (TestCertificates, Server) async throws -> Void
    ) async throws {
        let pki = try await TestCertificates.make()
        defer { pki.remove() }
        let server = try await Server.start(pki, requireClientCertificate: requireClientCertificate, wrongHost: wrongHost)
        do {
            try await body(pki, server)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    func get(_ url: String, _ tls: HTTPClientConfiguration.TLS) async throws -> HTTPResponse {
        var configuration = HTTPClientConfiguration()
        configuration.tls = tls
        // A guard against a hang, not a measurement: with the cores oversubscribed, handshakes took more than 5 s.
        configuration.timeouts.connect = .seconds(30)
        let client = HTTPClient(configuration: configuration)
        defer { client.shutdown() }
        return try await client.execute(HTTPRequest(method: "GET", url: url))
    }

    @Test("verification is on by default: a server whose CA is unknown is a .tls error that says so")
    func unknownCA() async throws {
        try await self.with { _, server in
            let error = await #expect(throws: HTTPClientError.self) { try await self.get(server.url, .init()) }
            #expect(error?.code == .tls)
            #expect(error?.message.contains("certificate") == true, "\(String(describing: error))")
        }
    }

    @Test("the CA that issued the server's certificate, given as a file, verifies it")
    func customCAFile() async throws {
        try await self.with { pki, server in
            var tls = HTTPClientConfiguration.TLS()
            tls.caFile = pki.caFile
            let response = try await self.get(server.url, tls)
            #expect(response.status == 200)
            #expect(String(buffer: response.body) == "hello over tls")
        }
    }

    @Test("a CA directory (hashed with `openssl rehash`) verifies it too")
    func customCADirectory() async throws {
        try await self.with { pki, server in
            let directory = pki.directory + "/cas"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: pki.caFile, toPath: directory + "/ca.pem")
            let rehash = try await TestProcess.run("/usr/bin/openssl", ["rehash", directory])
            try #require(rehash.status == 0, "\(rehash.errorText)")
            var tls = HTTPClientConfiguration.TLS()
            tls.caDirectory = directory
            let response = try await self.get(server.url, tls)
            #expect(response.status == 200)
        }
    }

    @Test("another CA does not verify the server: .tls")
    func wrongCA() async throws {
        try await self.with { pki, server in
            var tls = HTTPClientConfiguration.TLS()
            tls.caFile = pki.otherCAFile
            let error = await #expect(throws: HTTPClientError.self) { try await self.get(server.url, tls) }
            #expect(error?.code == .tls)
        }
    }

    @Test("the host name is checked: a certificate from the right CA for another host is a .tls error")
    func hostName() async throws {
        try await self.with(wrongHost: true) { pki, server in
            var tls = HTTPClientConfiguration.TLS()
            tls.caFile = pki.caFile
            let error = await #expect(throws: HTTPClientError.self) { try await self.get(server.url, tls) }
            #expect(error?.code == .tls, "\(String(describing: error))")
        }
        // The right certificate answers to both names it carries.
        try await self.with { pki, server in
            var tls = HTTPClientConfiguration.TLS()
            tls.caFile = pki.caFile
            let response = try await self.get(server.url.replacingOccurrences(of: "127.0.0.1", with: "localhost"), tls)
            #expect(response.status == 200)
        }
    }

    @Test("insecure is an explicit opt-in, and then an unknown CA is accepted")
    func insecure() async throws {
        try await self.with { _, server in
            let response = try await self.get(server.url, .insecure)
            #expect(response.status == 200)
            #expect(String(buffer: response.body) == "hello over tls")
        }
    }

    @Test("a server that requires a client certificate takes ours with its key, and refuses us without one")
    func clientCertificate() async throws {
        try await self.with(requireClientCertificate: true) { pki, server in
            var tls = HTTPClientConfiguration.TLS()
            tls.caFile = pki.caFile
            // Under TLS 1.3 the server refuses after the client's Finished, so libcurl reports the alert while
            // reading (CURLE_RECV_ERROR); it is still a .tls error, and its text names the alert.
            let error = await #expect(throws: HTTPClientError.self) { try await self.get(server.url, tls) }
            #expect(error?.code == .tls, "\(String(describing: error))")
            #expect(error?.message.contains("alert") == true, "\(String(describing: error))")
            tls.clientCertificateFile = pki.clientCertificate
            tls.clientKeyFile = pki.clientKey
            let response = try await self.get(server.url, tls)
            #expect(response.status == 200)
            #expect(String(buffer: response.body) == "hello over tls")
        }
    }
}
