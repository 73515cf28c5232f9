/// Why a reservation could not be pushed onto, popped from, or flattened into resources.
///
/// Mesos treats these as programming errors in its own code (it aborts); here the role often comes from
/// configuration, so they are thrown.
public struct ReservationError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable {
            case invalidRole, invalidType, notARefinement, notReserved
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The reservation has no role, the role `*`, or a role name Mesos rejects (`a//b`, `/a`, `a/.`, `-a`).
        public static let invalidRole = Code(.invalidRole)
        /// The reservation type is unset, or `STATIC` on top of an existing reservation (a refinement is always
        /// `DYNAMIC`).
        public static let invalidType = Code(.invalidType)
        /// The new role is not a strict sub-role of the current reservation role (`eng` can be refined to
        /// `eng/web`, not to `ops` or `eng`).
        public static let notARefinement = Code(.notARefinement)
        /// There is no reservation to pop: the resource is unreserved.
        public static let notReserved = Code(.notReserved)

        public var description: String { String(describing: self.base) }
    }

    public var code: Code
    public var message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "ReservationError.\(self.code): \(self.message)" }
}
