import Synchronization
import Logging
import FoundationEssentials
import Mesos
import MesosCodecs
import NIOCore
import NIOHTTP1

extension LocalMaster {
    /// Routes one request the way the real master's HTTP endpoints do.
    func handle(_ request: LocalHTTPRequest) -> LocalHTTPResponse {
        // The real master serves its endpoints under /master too (/master/api/v1/scheduler, /master/state...).
        var path = request.path
        if path.hasPrefix("/master/") { path.removeFirst("/master".count) }
        if path == "/master" { path = "/" }

        // libprocess authenticates a request before the endpoint's handler runs, so a scheduler call with bad
        // credentials gets its 401 before the handler's redirect, 503s and 405.
        var principal: String?
        if path == "/api/v1/scheduler", let refusal = self.authenticate(request, principal: &principal) {
            return refusal
        }
        let (leader, unavailable, leaderless) = self.state.withLock { state -> (String?, Bool, Bool) in
            let now = ContinuousClock.now
            let unavailable = state.unavailableUntil.map { now < $0 } ?? false
            let leaderless = state.leaderlessUntil.map { now < $0 } ?? false
            return (state.leader, unavailable, leaderless)
        }
        if leaderless && path != "/health" && path != "/version" {
            // `Master::Http::redirect` with no leader, as recorded (fixtures/mesos-1.11/redirect/no_leader_503.http).
            return .text(.serviceUnavailable, "No leader elected")
        }
        if let leader {
            // A standby: everything goes to the leader, with a scheme-relative Location under /master.
            let location = path == "/redirect" ? "//\(leader)" : "//\(leader)/master\(path)"
            return .empty(.temporaryRedirect, headers: ["Location": location])
        }
        switch path {
        case "/redirect":
            return .empty(.temporaryRedirect, headers: ["Location": "//\(self.configuration.host):\(self.port)"])
        case "/health":
            return .empty(.ok)
        case "/version":
            return .json(.ok, Array(#"{"build_date":"local","build_time":0,"build_user":"swift-mesos","git_tag":"1.11.0","version":"1.11.0"}"#.utf8))
        default:
            break
        }
        if unavailable {
            return .text(.serviceUnavailable, "Master has not finished recovery")
        }
        switch path {
        case "/api/v1/scheduler":
            return self.scheduler(request, principal: principal)
        case "/state", "/state.json":
            return .json(.ok, self.stateJSON())
        case "/frameworks":
            return .json(.ok, self.stateJSON())
        case "/maintenance/schedule":
            return self.maintenanceScheduleEndpoint(request)
        case "/maintenance/status":
            return self.maintenanceStatusEndpoint(request)
        default:
            return .empty(.notFound)
        }
    }

    // MARK: /api/v1/scheduler

    /// The 401 a scheduler request gets for missing or wrong Basic credentials, or nil with `principal` set to the
    /// credentials' name (left nil when the master takes any request).
    func authenticate(_ request: LocalHTTPRequest, principal: inout String?) -> LocalHTTPResponse? {
        guard let credentials = self.configuration.credentials else { return nil }
        guard let (name, secret) = Self.basicCredentials(request.header("Authorization")), credentials[name] == secret else {
            return .text(.unauthorized, "401 Unauthorized.", headers: ["WWW-Authenticate": "Basic realm=\"mesos-master-scheduler\""])
        }
        principal = name
        return nil
    }

    func scheduler(_ request: LocalHTTPRequest, principal: String?) -> LocalHTTPResponse {
        guard request.method == .POST else {
            return .text(
                .methodNotAllowed,
                "405 Method Not Allowed. Expecting one of { 'POST' }, but received '\(request.method.rawValue)'.",
                headers: ["Allow": "POST"]
            )
        }
        guard let contentTypeHeader = request.header("Content-Type") else {
            return .text(.badRequest, "Expecting 'Content-Type' to be present")
        }
        var call: SchedulerCall
        let body = request.body
        switch contentTypeHeader {
        case ContentType.protobuf.mediaType:
            do {
                call = try MessageCodec(.protobuf).decode(SchedulerCall.self, from: body)
            } catch {
                return .text(.badRequest, "Failed to parse body into Call protobuf")
            }
        case ContentType.json.mediaType:
            do {
                call = try MessageCodec(.json, jsonReading: .exactlyAsMesos).decode(SchedulerCall.self, from: body)
            } catch {
                return .text(.badRequest, Self.jsonFailure(error, body: body))
            }
        default:
            return .text(.unsupportedMediaType, "Expecting 'Content-Type' of application/json or application/x-protobuf")
        }
        if let problem = Self.validate(call, principal: principal) {
            return .text(.badRequest, "Failed to validate scheduler::Call: " + problem)
        }
        var acceptType = ContentType.json
        if call.type == .subscribe || call.type == .reconcileOperations {
            guard let type = Self.acceptType(request.header("Accept")) else {
                return .text(.notAcceptable, "Expecting 'Accept' to allow 'application/x-protobuf' or 'application/json'")
            }
            acceptType = type
        }
        if call.type == .subscribe {
            if request.header("Mesos-Stream-Id") != nil {
                return .text(.badRequest, "Subscribe calls should not include the 'Mesos-Stream-Id' header")
            }
            if let principal, !call.subscribe.frameworkInfo.hasPrincipal {
                call.subscribe.frameworkInfo.principal = principal
            }
            return self.subscribe(call.subscribe, contentType: acceptType)
        }
        return self.call(call, streamID: request.header("Mesos-Stream-Id"), principal: principal, acceptType: acceptType)
    }

    /// The text the real master answers for a JSON body it cannot read.
    static func jsonFailure(_ error: MesosCodecError, body: ByteBuffer) -> String {
        switch error.code {
        case .malformedJSON where error.offset != nil:
            // picojson's message: the line, and the rest of that line from where it stopped.
            let bytes = Array(body.readableBytesView)
            let offset = min(error.offset ?? 0, bytes.count)
            let line = 1 + bytes[..<offset].count { $0 == UInt8(ascii: "\n") }
            let rest = bytes[offset...].prefix { $0 != UInt8(ascii: "\n") }
            return "Failed to parse body into JSON: syntax error at line \(line) near: " + String(decoding: rest, as: UTF8.self)
        case .missingRequiredFields:
            return "Failed to convert JSON into Call protobuf: Missing required fields: " + error.fields.joined(separator: ", ")
        default:
            return "Failed to convert JSON into Call protobuf: " + error.message
        }
    }

    /// `validation::scheduler::call::validate`.
    static func validate(_ call: SchedulerCall, principal: String?) -> String? {
        guard call.hasType else { return "Expecting 'type' to be present" }
        if call.type == .subscribe {
            guard call.hasSubscribe else { return "Expecting 'subscribe' to be present" }
            let info = call.subscribe.frameworkInfo
            if info.hasID != call.hasFrameworkID || (info.hasID && info.id.value != call.frameworkID.value) {
                return "'framework_id' differs from 'subscribe.framework_info.id'"
            }
            if let principal, info.hasPrincipal, info.principal != principal {
                return "Authenticated principal '\(principal)' does not match principal '\(info.principal)' set in `FrameworkInfo`"
            }
            return nil
        }
        guard call.hasFrameworkID else { return "Expecting 'framework_id' to be present" }
        switch call.type {
        case .accept where !call.hasAccept: return "Expecting 'accept' to be present"
        case .decline where !call.hasDecline: return "Expecting 'decline' to be present"
        case .acceptInverseOffers where !call.hasAcceptInverseOffers: return "Expecting 'accept_inverse_offers' to be present"
        case .declineInverseOffers where !call.hasDeclineInverseOffers: return "Expecting 'decline_inverse_offers' to be present"
        case .kill where !call.hasKill: return "Expecting 'kill' to be present"
        case .shutdown where !call.hasShutdown: return "Expecting 'shutdown' to be present"
        case .acknowledge:
            guard call.hasAcknowledge else { return "Expecting 'acknowledge' to be present" }
            if !isMesosUUID(call.acknowledge.uuid) { return "Not a valid UUID" }
        case .acknowledgeOperationStatus:
            guard call.hasAcknowledgeOperationStatus else { return "Expecting 'acknowledge_operation_status' to be present" }
            if !isMesosUUID(call.acknowledgeOperationStatus.uuid) { return "Not a valid UUID" }
            if !call.acknowledgeOperationStatus.hasAgentID { return "Expecting 'agent_id' to be present" }
        case .reconcile where !call.hasReconcile: return "Expecting 'reconcile' to be present"
        case .reconcileOperations where !call.hasReconcileOperations: return "Expecting 'reconcile_operations' to be present"
        case .message where !call.hasMessage: return "Expecting 'message' to be present"
        case .request where !call.hasRequest: return "Expecting 'request' to be present"
        case .updateFramework:
            guard call.hasUpdateFramework else { return "Expecting 'update_framework' to be present" }
            if call.frameworkID.value != call.updateFramework.frameworkInfo.id.value {
                return "'framework_id' differs from 'update_framework.framework_info.id'"
            }
        default: break
        }
        return nil
    }

    /// What `Request::acceptsMediaType` decides: JSON first, then protobuf; nil for 406.
    static func acceptType(_ header: String?) -> ContentType? {
        guard let header, !header.trimmedOfSpaces.isEmpty else { return .json }
        var accepted: [(type: String, q: Double)] = []
        for item in header.split(separator: ",") {
            let parts = item.split(separator: ";").map { $0.trimmedOfSpaces.lowercased() }
            guard let type = parts.first else { continue }
            var q = 1.0
            for parameter in parts.dropFirst() where parameter.hasPrefix("q=") {
                q = Double(parameter.dropFirst(2)) ?? 1.0
            }
            accepted.append((type, q))
        }
        func accepts(_ mediaType: String) -> Bool {
            let group = mediaType.split(separator: "/")[0] + "/*"
            let best = accepted.filter { $0.type == mediaType || $0.type == group || $0.type == "*/*" }
            // The most specific match decides.
            if let exact = best.first(where: { $0.type == mediaType }) { return exact.q > 0 }
            if let groupMatch = best.first(where: { $0.type == group }) { return groupMatch.q > 0 }
            return best.first.map { $0.q > 0 } ?? false
        }
        if accepts("application/json") { return .json }
        if accepts("application/x-protobuf") { return .protobuf }
        return nil
    }

    static func basicCredentials(_ header: String?) -> (String, String)? {
        guard let header, header.hasPrefix("Basic ") else { return nil }
        guard let data = Data(base64Encoded: String(header.dropFirst(6)).trimmedOfSpaces) else {
            return nil
        }
        let text = String(decoding: data, as: UTF8.self)
        guard let colon = text.firstIndex(of: ":") else { return nil }
        return (String(text[..<colon]), String(text[text.index(after: colon)...]))
    }
}
