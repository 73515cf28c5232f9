/// What went wrong in a ``LocalAgent``: its endpoint could not bind, a process could not start, a fetch failed.
public struct LocalAgentError: Error, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable {
            case bindFailed, launchFailed, fetchFailed, sandbox, notStarted
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The HTTP endpoint could not bind its address.
        public static let bindFailed = Code(.bindFailed)
        /// A task or executor process could not be started.
        public static let launchFailed = Code(.launchFailed)
        /// A URI could not be fetched into a sandbox.
        public static let fetchFailed = Code(.fetchFailed)
        /// A sandbox directory could not be created.
        public static let sandbox = Code(.sandbox)
        /// The agent has not been started (or was stopped).
        public static let notStarted = Code(.notStarted)

        public var description: String { String(describing: self.base) }
    }

    public var code: Code
    /// A sentence for people, in the words the real agent would use where it has any.
    public var message: String
    public var underlying: (any Error)?

    public init(code: Code, message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String { "LocalAgentError.\(self.code): \(self.message)" }
}
