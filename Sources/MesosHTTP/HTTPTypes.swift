public import NIOCore

/// An HTTP request for ``HTTPClient``.
public struct HTTPRequest: Sendable {
    public var method: String
    /// `http://host:port/path` or `https://…`; with ``HTTPClientConfiguration/unixSocketPath`` the host is
    /// only the `Host` header.
    public var url: String
    /// Sent in this order, after the client's own (`Authorization`, configured extra headers).
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]?

    public init(method: String = "POST", url: String, headers: [(name: String, value: String)] = [], body: [UInt8]? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// The status line and headers of a response.
public struct HTTPResponseHead: Sendable {
    public var status: Int
    /// In the order received; names as the server wrote them.
    public var headers: [(name: String, value: String)]

    public init(status: Int, headers: [(name: String, value: String)]) {
        self.status = status
        self.headers = headers
    }

    /// The first header of that name, compared without case.
    public func header(_ name: String) -> String? {
        self.headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
}

/// A whole response, body included.
public struct HTTPResponse: Sendable {
    public var head: HTTPResponseHead
    public var body: ByteBuffer
    public var status: Int { self.head.status }
}

/// Why a request failed below HTTP: the connection, TLS, a timeout, or cancellation. (A response with an error
/// status is not an error here: the caller reads its status and body.)
public struct HTTPClientError: Error, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable { case connect, tls, timeout, transport, cancelled, bodyTooLarge, shutdown }
        private let base: Base
        private init(_ base: Base) { self.base = base }
        /// The server could not be reached (refused, unresolvable, unreachable).
        public static let connect = Code(.connect)
        /// The TLS handshake or certificate verification failed.
        public static let tls = Code(.tls)
        /// The connect or response timeout passed.
        public static let timeout = Code(.timeout)
        /// The connection failed during the exchange (reset, closed early, malformed response).
        public static let transport = Code(.transport)
        /// The Swift task was cancelled, or the body's consumer went away; the transfer was aborted.
        public static let cancelled = Code(.cancelled)
        /// A buffered response body exceeded ``HTTPClientConfiguration/maximumBufferedBodySize``.
        public static let bodyTooLarge = Code(.bodyTooLarge)
        /// The client was shut down.
        public static let shutdown = Code(.shutdown)
        public var description: String { String(describing: self.base) }
    }

    public var code: Code
    public var message: String
    /// libcurl's result code, when libcurl reported the failure.
    public var curlCode: Int?

    public init(code: Code, message: String, curlCode: Int? = nil) {
        self.code = code
        self.message = message
        self.curlCode = curlCode
    }

    public var description: String { "HTTPClientError.\(self.code): \(self.message)" }
}

/// How ``HTTPClient`` connects.
public struct HTTPClientConfiguration: Sendable {
    public struct Timeouts: Sendable {
        /// Establishing the connection (TCP and TLS).
        public var connect: Duration = .seconds(10)
        /// A whole buffered exchange. Streams have none: they are watched by heartbeats above this layer.
        public var response: Duration = .seconds(30)
        public init() {}
    }

    public struct TLS: Sendable {
        /// Verify the server's certificate and host name (default). Turning it off is ``insecure``.
        public var verify = true
        public var caFile: String?
        public var caDirectory: String?
        public var clientCertificateFile: String?
        public var clientKeyFile: String?
        public var clientKeyPassword: String?
        public init() {}
        /// No verification at all: for tests against self-signed servers only.
        public static var insecure: TLS {
            var tls = TLS()
            tls.verify = false
            return tls
        }
    }

    public enum Authentication: Sendable {
        case none
        /// HTTP Basic with a Mesos principal and secret.
        case basic(principal: String, secret: String)
        /// `Authorization: Bearer <token>` (executors, and masters with JWT authentication).
        case bearer(String)
    }

    /// Which proxy requests go through.
    public enum Proxy: Sendable {
        /// libcurl's choice from the environment (`http_proxy`, `https_proxy`, `all_proxy`, `no_proxy`).
        case environment
        /// None, whatever the environment says.
        case none
        /// This one (`http://proxy:3128`, `socks5://…`).
        case url(String)
    }

    public var timeouts = Timeouts()
    public var proxy = Proxy.environment
    public var tls = TLS()
    public var authentication: Authentication = .none
    /// Connect through this unix domain socket instead of TCP.
    public var unixSocketPath: String?
    /// Added to every request.
    public var headers: [(name: String, value: String)] = []
    public var userAgent = "swift-mesos"
    /// Largest body ``HTTPClient/execute(_:)`` buffers; streams are not limited (they are back-pressured).
    public var maximumBufferedBodySize = 64 << 20
    /// Chunks a stream may hold before libcurl is paused.
    public var streamHighWatermark = 16

    public init() {}
}
