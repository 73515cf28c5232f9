public import MesosHTTP

/// What went wrong talking to a Mesos master: the kind, the HTTP status and the master's own words.
///
/// ```swift
/// catch let error as MesosError where error.code == .unsubscribed { /* re-subscribe */ }
/// ```
public struct MesosError: Error, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable {
            case notLeader, unauthorized, forbidden, unsubscribed, badRequest, methodNotAllowed, notAcceptable
            case unsupportedMediaType, rateLimited, unavailable, endpointNotFound, unexpectedStatus, framing, transport
            case cancelled, heartbeatTimeout, redirectLoop, errorEvent, tls
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// HTTP 307: this master is not the leader; ``MesosError/leaderURL`` says where to go.
        public static let notLeader = Code(.notLeader)
        /// HTTP 401: credentials missing or refused.
        public static let unauthorized = Code(.unauthorized)
        /// HTTP 403 for a reason other than the subscription (an authorization refusal).
        public static let forbidden = Code(.forbidden)
        /// HTTP 403 "Framework is not subscribed": the stream is stale (say, after a master restart); re-subscribe.
        public static let unsubscribed = Code(.unsubscribed)
        /// HTTP 400: the master refused the call (its reason is in ``MesosError/message``).
        public static let badRequest = Code(.badRequest)
        /// HTTP 405.
        public static let methodNotAllowed = Code(.methodNotAllowed)
        /// HTTP 406: the `Accept` type is not one the master writes.
        public static let notAcceptable = Code(.notAcceptable)
        /// HTTP 415: the `Content-Type` is not one the master reads.
        public static let unsupportedMediaType = Code(.unsupportedMediaType)
        /// HTTP 429.
        public static let rateLimited = Code(.rateLimited)
        /// HTTP 503: no leader elected yet, or the master is recovering.
        public static let unavailable = Code(.unavailable)
        /// HTTP 404: no such endpoint (a master still starting answers so too).
        public static let endpointNotFound = Code(.endpointNotFound)
        /// Any other status.
        public static let unexpectedStatus = Code(.unexpectedStatus)
        /// The event stream is not valid RecordIO, or a record is not a valid event.
        public static let framing = Code(.framing)
        /// The connection failed (see ``MesosError/underlying``).
        public static let transport = Code(.transport)
        /// The operation was cancelled (the task was cancelled, or the client stopped).
        public static let cancelled = Code(.cancelled)
        /// No byte arrived on the event stream for the configured number of heartbeat intervals.
        public static let heartbeatTimeout = Code(.heartbeatTimeout)
        /// The masters' 307 answers led back to a URL already tried (no leader yet, or masters that disagree).
        public static let redirectLoop = Code(.redirectLoop)
        /// The master sent an ERROR event (the framework was refused or removed); its text is the message.
        public static let errorEvent = Code(.errorEvent)
        /// TLS refused for good: the master's certificate does not verify against the CAs given, or the master refuses
        /// the client's certificate (or its cipher). Not retried, since trying again meets the same certificates.
        /// (A handshake merely cut short, as by a master restarting, is `.transport`.)
        public static let tls = Code(.tls)

        public var description: String { String(describing: self.base) }
    }

    public var code: Code
    /// The master's plain-text answer (at most 4 KiB), or a description of the failure.
    public var message: String
    public var httpStatus: Int?
    /// For ``Code/notLeader``: the leader's URL, the `Location` resolved against the URL called.
    public var leaderURL: String?
    public var underlying: (any Error)?

    public init(code: Code, message: String, httpStatus: Int? = nil, leaderURL: String? = nil, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.httpStatus = httpStatus
        self.leaderURL = leaderURL
        self.underlying = underlying
    }

    /// The error a master's answer means, or nil for a success (2xx).
    ///
    /// - Parameter url: the URL that was called, to resolve a scheme-relative `Location`.
    public init?(response head: HTTPResponseHead, body: [UInt8], url: String) {
        let code: Code
        let text = String(decoding: body.prefix(4096), as: UTF8.self)
        switch head.status {
        case 200..<300: return nil
        case 307: code = .notLeader
        // A call made on a stream the master has since replaced (the client re-subscribed meanwhile) is one made
        // while not subscribed on it, as 403 "Framework is not subscribed" is.
        case 400: code = text.contains("didn't match the stream ID") ? .unsubscribed : .badRequest
        case 401: code = .unauthorized
        case 403: code = text.contains("not subscribed") ? .unsubscribed : .forbidden
        case 404: code = .endpointNotFound
        case 405: code = .methodNotAllowed
        case 406: code = .notAcceptable
        case 415: code = .unsupportedMediaType
        case 429: code = .rateLimited
        // 502 and 504 are a proxy or load balancer in front of the master answering for it, as during a failover.
        case 502, 503, 504: code = .unavailable
        default: code = .unexpectedStatus
        }
        let leader = head.status == 307 ? head.header("Location").flatMap { Self.resolve($0, against: url) } : nil
        self.init(code: code, message: text.isEmpty ? "HTTP \(head.status)" : text, httpStatus: head.status, leaderURL: leader)
    }

    /// Worth trying again (elsewhere, or after a pause): not the leader, rate limited, unavailable, not found
    /// (a recovering master), a dropped connection, a stalled stream, a redirect loop (an election under way).
    public var isRetryable: Bool {
        [.notLeader, .rateLimited, .unavailable, .endpointNotFound, .transport, .heartbeatTimeout, .redirectLoop]
            .contains(self.code)
    }

    public var description: String {
        "MesosError.\(self.code)" + (self.httpStatus.map { " (HTTP \($0))" } ?? "") + ": " + self.message
    }

    /// Resolves a `Location` the way a browser would: `//host:port/path` takes the scheme of `base`, `/path` its
    /// scheme and authority; an absolute URL stands as it is. Nil for anything else.
    public static func resolve(_ location: String, against base: String) -> String? {
        guard let schemeEnd = base.firstRange(of: "://") else { return nil }
        let scheme = base[..<schemeEnd.lowerBound]
        if location.hasPrefix("//") { return scheme + ":" + location }
        if location.hasPrefix("http://") || location.hasPrefix("https://") { return location }
        if location.hasPrefix("/") {
            let rest = base[schemeEnd.upperBound...]
            let authority = rest.prefix { $0 != "/" }
            return scheme + "://" + authority + location
        }
        return nil
    }
}
