import FoundationEssentials
import Mesos

/// A framework's offer constraints (SUBSCRIBE's and UPDATE_FRAMEWORK's `offer_constraints`), as a 1.11 master's
/// allocator applies them (`OfferConstraintsFilter`): for a role with constraints, an agent is offered only when at
/// least one of the role's groups has every one of its attribute constraints true of the agent. Roles without
/// constraints see every agent.
///
/// Regular expressions are Swift's (`Regex`), matched against the whole text as RE2's `FullMatch` does. Patterns the
/// two syntaxes read differently, the RE2 error texts and RE2's program-size limit are where this differs from Mesos.
struct OfferConstraintsFilter: @unchecked Sendable {
    // @unchecked: `Regex<AnyRegexOutput>` is not Sendable; the compiled expressions are never mutated after `make`,
    // and matching reads them only under the master's state lock (allocation runs inside it).
    typealias Constraint = Mesos_V1_Scheduler_AttributeConstraint

    /// What a selector finds on an agent: nothing, an attribute that is not TEXT, or a text.
    private enum Subject {
        case absent
        case nonText
        case text(String)

        init(_ attribute: Mesos_V1_Attribute?) {
            guard let attribute else { self = .absent; return }
            self = attribute.type == .text ? .text(attribute.text.value) : .nonText
        }
    }

    private enum Predicate {
        case exists, notExists
        case textEquals(String), textNotEquals(String)
        case textMatches(Regex<AnyRegexOutput>), textNotMatches(Regex<AnyRegexOutput>)

        func apply(_ subject: Subject) -> Bool {
            let text: String
            switch subject {
            case .absent:
                // Nothing there: only the negative predicates hold.
                switch self {
                case .notExists, .textNotEquals, .textNotMatches: return true
                case .exists, .textEquals, .textMatches: return false
                }
            case .nonText:
                // An attribute that is not TEXT exists and satisfies every text predicate, as in Mesos.
                if case .notExists = self { return false }
                return true
            case .text(let value): text = value
            }
            switch self {
            case .exists: return true
            case .notExists: return false
            case .textEquals(let value): return text == value
            case .textNotEquals(let value): return text != value
            case .textMatches(let regex): return (try? regex.wholeMatch(in: text)) != nil
            case .textNotMatches(let regex): return (try? regex.wholeMatch(in: text)) == nil
            }
        }
    }

    private struct Evaluator {
        let selector: Mesos_V1_Scheduler_AttributeConstraint.Selector.OneOf_Selector
        let predicate: Predicate

        func evaluate(_ agent: AgentInfo) -> Bool {
            switch self.selector {
            case .attributeName(let name):
                return self.predicate.apply(Subject(agent.attributes.first { $0.name == name }))
            case .pseudoattributeType(let type):
                let fault = agent.hasDomain && agent.domain.hasFaultDomain ? agent.domain.faultDomain : nil
                switch type {
                case .hostname: return self.predicate.apply(.text(agent.hostname))
                case .region: return self.predicate.apply(fault.map { .text($0.region.name) } ?? .absent)
                case .zone: return self.predicate.apply(fault.map { .text($0.zone.name) } ?? .absent)
                case .unknown: return false  // refused when the filter was made
                }
            }
        }
    }

    /// What the framework sent, for `/master/state`.
    let constraints: Mesos_V1_Scheduler_OfferConstraints
    private let expressions: [String: [[Evaluator]]]

    /// `OfferConstraintsFilter::create`: the constraints checked and compiled, or the master's text for the first
    /// problem (roles in name order; Mesos walks a protobuf map, whose order it does not fix).
    static func make(_ constraints: Mesos_V1_Scheduler_OfferConstraints) -> Result<Self, OfferConstraintsError> {
        var expressions: [String: [[Evaluator]]] = [:]
        for (role, roleConstraints) in constraints.roleConstraints.sorted(by: { $0.key < $1.key }) {
            if roleConstraints.groups.isEmpty {
                return .failure(.init("'OfferConstraints::role_constraints' has an empty 'RoleConstraints::groups' for role \(role)"))
            }
            var groups: [[Evaluator]] = []
            for group in roleConstraints.groups {
                // Mesos's text has no space before "contains".
                if group.attributeConstraints.isEmpty {
                    return .failure(.init("'OfferConstraints::RoleConstraints::groups' for role \(role)contains an empty RoleConstraints::Group"))
                }
                var evaluators: [Evaluator] = []
                for constraint in group.attributeConstraints {
                    switch Self.evaluator(constraint) {
                    case .success(let evaluator): evaluators.append(evaluator)
                    case .failure(let problem):
                        return .failure(.init("A role \(role) has an invalid 'AttributeConstraint': \(problem.message)"))
                    }
                }
                groups.append(evaluators)
            }
            expressions[role] = groups
        }
        return .success(OfferConstraintsFilter(constraints: constraints, expressions: expressions))
    }

    /// Whether offers of `role` leave out this agent.
    func isAgentExcluded(role: String, agent: AgentInfo) -> Bool {
        guard let groups = self.expressions[role] else { return false }
        return !groups.contains { group in group.allSatisfy { $0.evaluate(agent) } }
    }

    private static func evaluator(_ constraint: Constraint) -> Result<Evaluator, OfferConstraintsError> {
        guard let selector = constraint.selector.selector else {
            return .failure(.init(
                "Exactly one of 'AttributeConstraint::Selector::name' or 'AttributeConstraint::Selector::pseudoattribute_type' must be set"
            ))
        }
        if case .pseudoattributeType(.unknown) = selector { return .failure(.init("Unknown pseudoattribute type")) }
        let predicate: Predicate
        switch constraint.predicate.predicate {
        case .exists: predicate = .exists
        case .notExists: predicate = .notExists
        case .textEquals(let equals): predicate = .textEquals(equals.value)
        case .textNotEquals(let notEquals): predicate = .textNotEquals(notEquals.value)
        case .textMatches(let matches):
            switch Self.regex(matches.regex) {
            case .success(let regex): predicate = .textMatches(regex)
            case .failure(let error): return .failure(error)
            }
        case .textNotMatches(let notMatches):
            switch Self.regex(notMatches.regex) {
            case .success(let regex): predicate = .textNotMatches(regex)
            case .failure(let error): return .failure(error)
            }
        case nil: return .failure(.init("Unknown predicate type"))
        }
        return .success(Evaluator(selector: selector, predicate: predicate))
    }

    private static func regex(_ pattern: String) -> Result<Regex<AnyRegexOutput>, OfferConstraintsError> {
        do {
            return .success(try Regex(pattern))
        } catch {
            return .failure(.init("Failed to construct regex from pattern '\(pattern)': \(error)"))
        }
    }
}

/// Why offer constraints were refused: the master's text.
struct OfferConstraintsError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
