import FoundationEssentials
import Glibc
import Mesos

/// The checks a Mesos 1.11 master makes of a `FrameworkInfo` on SUBSCRIBE and UPDATE_FRAMEWORK, in its order and
/// with its texts: `Master::validateFramework` (with `validation::framework::validate`) and
/// `validation::framework::validateUpdate`.
///
/// A refused SUBSCRIBE gets the text as an ERROR event and its stream ends; a refused UPDATE_FRAMEWORK gets 400 with
/// "Supplied FrameworkInfo is not valid: " or "FrameworkInfo update is not valid: " in front.
extension LocalMaster {
    /// `Master::validateFramework`: the info itself, the suppressed roles, a framework removed before, the failover
    /// timeout. (The master's `--roles` whitelist and `--root_submissions` are the real master's defaults here:
    /// every role is allowed, and so is the user root.)
    static func validateFramework(_ info: FrameworkInfo, suppressedRoles: [String], removed: Bool) -> String? {
        if let problem = Self.validateFrameworkInfo(info) { return problem }
        let roles = Set(info.subscribedRoles)
        for role in suppressedRoles where !roles.contains(role) {
            return "Suppressed role '\(role)' is not contained in the list of roles"
        }
        if removed { return "Framework has been removed" }
        // `Duration::create(failover_timeout)`: what does not fit in int64 nanoseconds (NaN passes, as there).
        let nanoseconds = info.failoverTimeout * 1e9
        if nanoseconds > Double(Int64.max) || nanoseconds < Double(Int64.min) {
            return "The framework failover_timeout (\(Self.stringify(info.failoverTimeout))) is invalid"
        }
        return nil
    }

    /// `validation::framework::validate`: the role fields, the framework ID, the offer filters.
    static func validateFrameworkInfo(_ info: FrameworkInfo) -> String? {
        let multiRole = info.capabilities.contains { $0.type == .multiRole }
        if multiRole {
            if info.hasRole { return "'FrameworkInfo.role' must not be set when the framework is MULTI_ROLE capable" }
            var seen = Set<String>()
            var duplicates = Set<String>()
            for role in info.roles where !seen.insert(role).inserted { duplicates.insert(role) }
            if !duplicates.isEmpty { return "'FrameworkInfo.roles' contains duplicate items: " + Self.describe(duplicates) }
            for role in info.roles {
                if let problem = Self.validateRole(role) { return "'FrameworkInfo.roles' contains invalid role: " + problem }
            }
        } else {
            if !info.roles.isEmpty { return "'FrameworkInfo.roles' must not be set when the framework is not MULTI_ROLE capable" }
            if let problem = Self.validateRole(info.role) { return "'FrameworkInfo.role' is not a valid role: " + problem }
        }
        if info.hasID, !info.id.value.isEmpty, let problem = Self.validateID(info.id.value) { return problem }
        for (_, filters) in info.offerFilters.sorted(by: { $0.key < $1.key }) where filters.hasMinAllocatableResources {
            for quantities in filters.minAllocatableResources.quantities {
                if quantities.quantities.isEmpty { return "Resource quantities must contain at least one quantity" }
                for (name, quantity) in quantities.quantities.sorted(by: { $0.key < $1.key }) {
                    if let problem = Self.validateInputScalar(quantity.value) {
                        return "Invalid resource quantity for '\(name)': " + problem
                    }
                }
            }
        }
        return nil
    }

    /// `validation::framework::validateUpdate`: what a framework may not change once registered.
    static func validateUpdate(old: FrameworkInfo, new: FrameworkInfo) -> String? {
        // Set or not counts, not only the text.
        if (old.hasPrincipal ? old.principal : nil) != (new.hasPrincipal ? new.principal : nil) {
            return "Changing framework's principal is not allowed."
        }
        if new.user != old.user {
            return "Updating 'FrameworkInfo.user' is unsupported; attempted to update from '\(old.user)' to '\(new.user)'"
        }
        if new.checkpoint != old.checkpoint {
            return "Updating 'FrameworkInfo.checkpoint' is unsupported; attempted to update from '\(old.checkpoint)' to '\(new.checkpoint)'"
        }
        return nil
    }

    /// `roles::validate`: a role name, "*" or slash-separated components.
    static func validateRole(_ role: String) -> String? { MesosRoles.problem(with: role) }

    /// `common::validation::validateInputScalarValue`.
    static func validateInputScalar(_ value: Double) -> String? {
        if value.isInfinite { return "Infinite values not supported" }
        if value.isNaN { return "NaN not supported" }
        if value.isSubnormal { return "Subnormal values not supported" }
        if value < 0 { return "Negative values not supported" }
        return nil
    }

    /// stout's `stringify(double)`: an `ostream` with its default precision (`%g`).
    static func stringify(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        var text = [CChar](repeating: 0, count: 32)
        _ = withVaList([value]) { vsnprintf(&text, text.count, "%g", $0) }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
