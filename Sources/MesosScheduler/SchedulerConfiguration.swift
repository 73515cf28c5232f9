public import Logging
public import MesosCodecs
public import MesosHTTP
public import Metrics

/// How a ``SchedulerClient`` finds the leading master, talks to it and recovers when the connection is lost.
///
/// ```swift
/// var configuration = SchedulerConfiguration(masters: ["http://m1:5050", "http://m2:5050", "http://m3:5050"])
/// configuration.contentType = .protobuf
/// configuration.frameworkIDStore = FileFrameworkIDStore(path: "/var/lib/my-framework/framework-id")
/// configuration.http.authentication = .basic(principal: "my-framework", secret: secret)
/// ```
public struct SchedulerConfiguration: Sendable {
    /// Candidate masters, tried in turn (round-robin): `http://host:port` or `https://host:port`, optionally with a
    /// path prefix (`http://host/mesos`). `/api/v1/scheduler` is appended unless the URL already ends with it.
    public var masters: [String]
    /// The content type of calls and events. JSON by default; `.protobuf` is smaller and faster to decode.
    public var contentType: ContentType = .json
    /// Where the framework ID is kept between runs, so a restarted scheduler fails over instead of registering a
    /// new framework. Nil keeps it only in memory, for the life of the client.
    public var frameworkIDStore: (any FrameworkIDStore)?
    /// When and how often to subscribe again after the subscription is lost (or cannot be established).
    public var reconnect: ReconnectPolicy = .exponentialBackoff()
    /// The policy for the first subscription only, when it should differ from ``reconnect``: a command-line tool
    /// wants to hear soon that no master answers, yet, once subscribed, to ride out a master's failover. Nil: the
    /// first subscription follows ``reconnect`` too.
    public var firstSubscription: ReconnectPolicy?
    /// The stream is dropped (and re-subscribed) when no byte arrives for this many heartbeat intervals. Mesos
    /// sends a HEARTBEAT every `heartbeat_interval_seconds` (15 s by default), so 5 means 75 s.
    public var heartbeatTolerance: Int = 5
    /// How long to wait, after connecting, for the first event (SUBSCRIBED) of a subscription.
    public var subscribeTimeout: Duration = .seconds(30)
    /// Ask each candidate `GET /master/redirect` for the leader before subscribing, instead of relying on the
    /// `307` of `POST /api/v1/scheduler` alone.
    public var probeLeader = false
    /// The most 307 answers followed for one attempt; a cycle is detected sooner (``MesosError/Code/redirectLoop``).
    public var maximumRedirects = 8
    /// The largest event accepted (a framing error beyond it). 64 MiB, the RecordIO decoder's default: a master
    /// sends one OFFERS event for all the agents of an allocation, which passes mesos-go's 4 MiB on a large
    /// cluster, and a refused event would be offered again and refused for ever.
    public var maximumRecordSize = 64 << 20
    /// TLS, authentication (Basic principal/secret or Bearer), timeouts, unix socket: used for the subscription's
    /// connection and the calls' connection alike.
    public var http = HTTPClientConfiguration()
    /// Headers added to every request (after those of ``http``).
    public var headers: [(name: String, value: String)] = []
    /// Where the client logs (debug and trace only; what it can report it reports through errors and events).
    /// Nil is silent.
    public var logger: Logger?
    /// Counters `mesos.scheduler.calls` {call, result} and `mesos.scheduler.events` {event}. Nil uses the global
    /// `MetricsSystem` (a no-op unless the application bootstrapped one).
    public var metricsFactory: (any MetricsFactory)?

    public init(masters: [String]) {
        self.masters = masters
    }
}

/// Whether, how soon and for how long a ``SchedulerClient`` tries to subscribe again.
///
/// Delays grow exponentially with "full jitter" (each delay is uniform in `0...min(maximum, initial × 2ⁿ)`, as in
/// the AWS architecture note), so a fleet of schedulers does not hammer a recovering master in step.
///
/// The default, `.exponentialBackoff()`, starts at 250 ms, is capped at 10 s and never gives up: a scheduler
/// normally outlives master fail-overs. Give up with `maximumAttempts` or `maximumDuration`.
public struct ReconnectPolicy: Sendable {
    /// Never subscribe again: the first loss ends the event stream, and the first SUBSCRIBE gets one attempt.
    public static let never = ReconnectPolicy(enabled: false, initial: .zero, maximum: .zero, maximumAttempts: nil, maximumDuration: nil)

    /// Exponential backoff with full jitter.
    ///
    /// - Parameters:
    ///   - initial: the ceiling of the first delay.
    ///   - maximum: the cap of every delay.
    ///   - maximumAttempts: give up after this many failed attempts in a row (nil: never).
    ///   - maximumDuration: give up once this long has passed since the subscription was lost (nil: never).
    public static func exponentialBackoff(
        initial: Duration = .milliseconds(250),
        maximum: Duration = .seconds(10),
        maximumAttempts: Int? = nil,
        maximumDuration: Duration? = nil
    ) -> ReconnectPolicy {
        ReconnectPolicy(
            enabled: true,
            initial: initial,
            maximum: maximum,
            maximumAttempts: maximumAttempts,
            maximumDuration: maximumDuration
        )
    }

    /// False for ``never``.
    public var enabled: Bool
    public var initial: Duration
    public var maximum: Duration
    public var maximumAttempts: Int?
    public var maximumDuration: Duration?

    /// The delay before retry number `attempt` (1 for the first retry), drawn from `generator`.
    public func delay(attempt: Int, using generator: inout some RandomNumberGenerator) -> Duration {
        let ceiling = self.ceiling(attempt: attempt)
        guard ceiling > .zero else { return .zero }
        let nanoseconds = Self.nanoseconds(ceiling)
        return .nanoseconds(Int64.random(in: 0...nanoseconds, using: &generator))
    }

    /// The upper bound of the delay before retry number `attempt`: `min(maximum, initial × 2^(attempt-1))`.
    public func ceiling(attempt: Int) -> Duration {
        let exponent = max(0, min(attempt - 1, 62))
        let initial = Self.nanoseconds(self.initial)
        let cap = Self.nanoseconds(self.maximum)
        let (scaled, overflow) = initial.multipliedReportingOverflow(by: Int64(1) << exponent)
        return .nanoseconds(overflow ? cap : min(scaled, cap))
    }

    /// Whether another attempt is allowed after `failures` failed ones, `elapsed` after the loss.
    public func allowsAnotherAttempt(after failures: Int, elapsed: Duration) -> Bool {
        guard self.enabled else { return false }
        if let limit = self.maximumAttempts, failures >= limit { return false }
        if let limit = self.maximumDuration, elapsed >= limit { return false }
        return true
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? 0 : Int64.max }
        return max(0, whole &+ attoseconds / 1_000_000_000)
    }
}
