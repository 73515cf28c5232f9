public import FoundationEssentials
public import Mesos

extension SchedulerClient {
    /// What the master says to the scheduler (the 11 event types of the v1 scheduler API), and what happens to the
    /// subscription itself (``disconnected(_:willReconnect:)``).
    ///
    /// A successful re-subscription after ``disconnected(_:willReconnect:)`` shows as a new ``subscribed(_:)``
    /// whose ``Subscription/isResubscription`` is true: that is the "reconnected" notice.
    public enum Event: Sendable {
        /// SUBSCRIBED: the first event of every subscription.
        ///
        /// This case, UPDATE_OPERATION_STATUS, MESSAGE, FAILURE and DISCONNECTED are `indirect` (their payloads
        /// are boxed): a ``Subscription`` is 672 bytes inline and an `OperationStatus` 176, and every event of a
        /// stream, OFFERS and UPDATE too, was copied at the largest case's size several times on its way to the
        /// consumer. The cases left inline are at most 32 bytes.
        indirect case subscribed(Subscription)
        /// OFFERS: resources to ACCEPT or DECLINE.
        case offers([Offer])
        /// INVERSE_OFFERS: the master asks for resources back (maintenance).
        case inverseOffers([InverseOffer])
        /// RESCIND: an offer is no longer valid.
        case rescind(OfferID)
        /// RESCIND_INVERSE_OFFER: an inverse offer is no longer valid.
        case rescindInverseOffer(OfferID)
        /// UPDATE: a task's status changed. Acknowledge it with ``SchedulerClient/acknowledge(_:)`` when it has a
        /// `uuid`.
        case update(TaskStatus)
        /// UPDATE_OPERATION_STATUS: an operation's status changed (operations that were given an ID).
        indirect case updateOperationStatus(OperationStatus)
        /// MESSAGE: bytes an executor sent.
        indirect case message(agentID: AgentID, executorID: ExecutorID, data: Data)
        /// FAILURE: an agent was lost (no executor), or an executor ended (with its exit status when known).
        indirect case failure(agentID: AgentID?, executorID: ExecutorID?, status: Int32?)
        /// ERROR: the master refused or removed the framework. The stream ends after it (see
        /// ``MesosError/Code/errorEvent``).
        case error(message: String)
        /// HEARTBEAT: the master is alive (the client watches these itself; nothing to do).
        case heartbeat
        /// An event of a type this library does not know (a newer master), as received.
        case unknown(SchedulerEvent)
        /// The subscription was lost. Every event decoded before the loss was delivered before this notice. When
        /// `willReconnect` is true the client is subscribing again (a ``subscribed(_:)`` follows on success);
        /// otherwise the event sequence throws `reason` next.
        indirect case disconnected(MesosError, willReconnect: Bool)
    }

    /// What a SUBSCRIBED event established.
    public struct Subscription: Sendable {
        /// The framework's ID: assigned by the master on a first subscription, the same one on a failover.
        public var frameworkID: FrameworkID
        /// How often the master sends HEARTBEAT events, when it says.
        public var heartbeatInterval: Duration?
        /// The leading master, when it says.
        public var masterInfo: MasterInfo?
        /// The `Mesos-Stream-Id` every call of this subscription carries.
        public var streamID: String?
        /// The URL the subscription is connected to (after redirects).
        public var url: String
        /// True for every subscription after the first one made by this client.
        public var isResubscription: Bool
        /// The event as received.
        public var event: SchedulerEvent.Subscribed
    }
}

extension SchedulerClient.Event {
    /// The typed event for a decoded one. SUBSCRIBED is built by the client (it knows the stream); this handles the
    /// rest, tolerating a master that leaves a payload out.
    init(_ event: SchedulerEvent) {
        switch event.type {
        case .offers: self = .offers(event.offers.offers)
        case .inverseOffers: self = .inverseOffers(event.inverseOffers.inverseOffers)
        case .rescind: self = .rescind(event.rescind.offerID)
        case .rescindInverseOffer: self = .rescindInverseOffer(event.rescindInverseOffer.inverseOfferID)
        case .update: self = .update(event.update.status)
        case .updateOperationStatus: self = .updateOperationStatus(event.updateOperationStatus.status)
        case .message: self = .message(agentID: event.message.agentID, executorID: event.message.executorID, data: event.message.data)
        case .failure:
            let failure = event.failure
            self = .failure(
                agentID: failure.hasAgentID ? failure.agentID : nil,
                executorID: failure.hasExecutorID ? failure.executorID : nil,
                status: failure.hasStatus ? failure.status : nil
            )
        case .error: self = .error(message: event.error.message)
        case .heartbeat: self = .heartbeat
        case .subscribed, .unknown: self = .unknown(event)
        }
    }

    /// A bounded name for metrics and logs.
    var name: String { Self.names[self.kind] }

    /// The names of the cases, by ``kind``.
    static let names = [
        "subscribed", "offers", "inverse_offers", "rescind", "rescind_inverse_offer", "update",
        "update_operation_status", "message", "failure", "error", "heartbeat", "unknown", "disconnected",
    ]

    /// The case's position in ``names``: what the per-chunk event counts are indexed by.
    var kind: Int {
        switch self {
        case .subscribed: 0
        case .offers: 1
        case .inverseOffers: 2
        case .rescind: 3
        case .rescindInverseOffer: 4
        case .update: 5
        case .updateOperationStatus: 6
        case .message: 7
        case .failure: 8
        case .error: 9
        case .heartbeat: 10
        case .unknown: 11
        case .disconnected: 12
        }
    }
}
