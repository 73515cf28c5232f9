/// Why Mesos resource text (`cpus:1;mem:128;ports:[31000-31005]`) or resource JSON could not be parsed.
///
/// ```swift
/// do {
///     _ = try Resources(parsing: "ports:[31005-31000]")
/// } catch let error where error.code == .invalidRange {
///     print(error.token, error.offset)  // 31005-31000 7
/// }
/// ```
public struct ResourcesParseError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable {
            case missingColon, mismatchedParentheses, mismatchedBrackets, emptyName, emptyValue, negativeScalar
            case invalidScalar, invalidRange, unknownValueSyntax, duplicateSetItem, invalidRole, conflictingTypes
            case invalidJSON, invalidResource, notAllowed
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A `;`-separated item without exactly one `name:value` colon (`cpus`, `cpus:1:2`).
        public static let missingColon = Code(.missingColon)
        /// An unclosed or stray parenthesis around the role (`cpus(role:1`), or text after the `)`.
        public static let mismatchedParentheses = Code(.mismatchedParentheses)
        /// Unbalanced `[]`, `{}` or `()` inside a value (`ports:[1-2`).
        public static let mismatchedBrackets = Code(.mismatchedBrackets)
        /// A resource without a name (`:1`, `(role):1`).
        public static let emptyName = Code(.emptyName)
        /// A resource without a value (`cpus: `).
        public static let emptyValue = Code(.emptyValue)
        /// A scalar below zero (`cpus:-1`).
        public static let negativeScalar = Code(.negativeScalar)
        /// A scalar Mesos refuses: NaN, infinite or subnormal.
        public static let invalidScalar = Code(.invalidScalar)
        /// A range that is inverted (`31005-31000`), not made of unsigned integers, missing a bound, or overlapping
        /// another range of the same resource (JSON form).
        public static let invalidRange = Code(.invalidRange)
        /// A value that is neither a number, `[ranges]` nor `{set}` (`cpus:lots`, `ports:1[2]`).
        public static let unknownValueSyntax = Code(.unknownValueSyntax)
        /// A set listing the same item twice (`zones:{a,a}`).
        public static let duplicateSetItem = Code(.duplicateSetItem)
        /// A role Mesos would reject (`cpus(a//b):1`, `cpus():1`, a role with whitespace or a `.`/`..` component).
        public static let invalidRole = Code(.invalidRole)
        /// The same resource name with two value types (`foo:1;foo:[1-2]`).
        public static let conflictingTypes = Code(.conflictingTypes)
        /// A JSON array whose items are not `Resource` objects, or miss the required `name` or `type`.
        public static let invalidJSON = Code(.invalidJSON)
        /// A resource Mesos's validation rejects for another reason: a value field that doesn't match the type,
        /// disk information on a non-disk resource, a malformed reservation, a shared resource that is not a
        /// persistent volume.
        public static let invalidResource = Code(.invalidResource)
        /// Something Mesos only accepts from a framework, never in resource text: a persistent volume, a revocable
        /// resource, or a dynamic reservation.
        public static let notAllowed = Code(.notAllowed)

        public var description: String { String(describing: self.base) }
    }

    /// What went wrong; payload-free, so it is safe as a metric dimension.
    public var code: Code
    /// A sentence naming the problem.
    public var message: String
    /// The offending part of the input: a `name:value` item, a value, a range, or a JSON array element.
    public var token: String
    /// Where `token` starts in the input, counted in `Character`s from the start.
    public var offset: Int

    public init(code: Code, message: String, token: String, offset: Int) {
        self.code = code
        self.message = message
        self.token = token
        self.offset = offset
    }

    public var description: String {
        "ResourcesParseError.\(self.code): \(self.message) (at offset \(self.offset): '\(self.token)')"
    }
}
