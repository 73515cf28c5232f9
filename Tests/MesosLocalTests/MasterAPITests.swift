import Foundation
import Mesos
import MesosCodecs
import MesosHTTP
import MesosLocal
import NIOCore
import Testing

/// The local master's scheduler API, observed over real HTTP with libcurl, against what the real 1.11 master
/// answered in the recordings.
@Suite("Local master: scheduler API", .timeLimit(.minutes(2)))
struct MasterAPITests {
    static func withMaster(
        _ configure: (inout LocalMasterConfiguration) -> Void = { _ in },
        _ body: (LocalMaster) async throws -> Void
    ) async throws {
        var configuration = LocalMasterConfiguration()
        configure(&configuration)
        let master = LocalMaster(configuration: configuration)
        try await master.start()
        do {
            try await body(master)
        } catch {
            await master.stop()
            throw error
        }
        await master.stop()
    }

    @Test("SUBSCRIBE answers 200 with a RecordIO stream: Mesos-Stream-Id, SUBSCRIBED first, then HEARTBEAT", arguments: [ContentType.json, .protobuf])
    func subscribe(contentType: ContentType) async throws {
        try await Self.withMaster { master in
            let scheduler = try await RawScheduler.subscribe(master.url, contentType: contentType)
            #expect(scheduler.subscribeHead.status == 200)
            #expect(scheduler.subscribeHead.header("Content-Type") == contentType.mediaType)
            #expect(scheduler.subscribeHead.header("Transfer-Encoding") == "chunked")
            #expect(UUID(uuidString: scheduler.streamID) != nil)
            let subscribed = scheduler.subscribed.subscribed
            #expect(subscribed.frameworkID.value.hasSuffix("-0000"))
            #expect(subscribed.heartbeatIntervalSeconds == 15)
            #expect(subscribed.masterInfo.version == "1.11.0")
            #expect(subscribed.masterInfo.port == UInt32(master.port))
            #expect(subscribed.masterInfo.ip == 16_777_343)
            let heartbeat = try await scheduler.next(heartbeats: true)
            #expect(heartbeat?.type == .heartbeat)
            // A second framework gets the next ID.
            let second = try await RawScheduler.subscribe(master.url, contentType: contentType)
            #expect(second.frameworkID.value.hasSuffix("-0001"))
        }
    }

    @Test("HEARTBEAT events come every heartbeat interval")
    func heartbeats() async throws {
        try await Self.withMaster({ $0.heartbeatInterval = .milliseconds(100) }) { master in
            let scheduler = try await RawScheduler.subscribe(master.url)
            #expect(scheduler.subscribed.subscribed.heartbeatIntervalSeconds == 0.1)
            for _ in 0..<4 {
                let event = try await scheduler.next(timeout: .seconds(5), heartbeats: true)
                #expect(event?.type == .heartbeat)
            }
        }
    }

    /// The recorded error exchanges, replayed against the local master: same status, same text.
    static let recordedErrors: [Recorded.Exchange] = {
        let all = (try? Recorded.exchanges("json/calls.json")) ?? []
        return all.filter { $0.name.hasPrefix("ERR") || $0.name.hasPrefix("OK ") }
    }()

    @Test("answers every recorded request as the real master did", arguments: Self.recordedErrors)
    func recorded(exchange: Recorded.Exchange) async throws {
        let recordedFramework = "18d6e804-c1d1-408a-88d4-3bd14da45902-0001"
        let recordedStream = "b91a07a5-042d-49e9-834c-e138a51b69ef"
        try await Self.withMaster { master in
            let scheduler = try await RawScheduler.subscribe(master.url)
            let framework = scheduler.frameworkID.value
            func ours(_ text: String) -> String {
                text.replacingOccurrences(of: recordedFramework, with: framework)
                    .replacingOccurrences(of: recordedStream, with: scheduler.streamID)
            }
            let headers = exchange.headers.map { (name: $0.key, value: ours($0.value)) }
            let response = try await HTTPClient().execute(
                HTTPRequest(
                    method: exchange.method,
                    url: master.url + "/api/v1/scheduler",
                    headers: headers,
                    body: exchange.method == "GET" ? nil : Array(ours(exchange.body).utf8)
                )
            )
            #expect(response.status == exchange.status)
            #expect(String(buffer: response.body) == ours(exchange.responseBody))
            for name in ["Content-Type", "Allow"] {
                #expect(response.head.header(name) == exchange.responseHeaders[name])
            }
        }
    }

    @Test("a second SUBSCRIBE with the framework ID takes over: the old stream gets ERROR and ends")
    func failover() async throws {
        try await Self.withMaster { master in
            let first = try await RawScheduler.subscribe(master.url, RawScheduler.frameworkInfo(failoverTimeout: 60))
            var info = RawScheduler.frameworkInfo(failoverTimeout: 60)
            info.id = first.frameworkID
            let second = try await RawScheduler.subscribe(master.url, info)
            #expect(second.frameworkID == first.frameworkID)
            #expect(second.streamID != first.streamID)
            let error = try await first.next()
            #expect(error?.type == .error)
            #expect(error?.error.message == "Framework failed over")
            #expect(try await first.next() == nil)
            // The old stream ID no longer works; the new one does.
            var revive = SchedulerCall()
            revive.type = .revive
            let stale = try await second.call(revive, streamID: first.streamID)
            #expect(stale.status == 400)
            #expect(String(buffer: stale.body).contains("didn't match the stream ID"))
            #expect(try await second.call(revive).status == 202)
        }
    }

    @Test("after a master restart a framework without tasks is unknown (400) until it subscribes again with its ID")
    func restart() async throws {
        try await Self.withMaster { master in
            let scheduler = try await RawScheduler.subscribe(master.url, RawScheduler.frameworkInfo(failoverTimeout: 60))
            try await master.restart(persistingState: false, downtime: .milliseconds(100))
            #expect(try await scheduler.next(timeout: .seconds(5)) == nil)
            var revive = SchedulerCall()
            revive.type = .revive
            let stale = try await scheduler.call(revive)
            // Frameworks are not in the registry; no agent reported this one: the new master has never heard of it.
            #expect(stale.status == 400)
            #expect(String(buffer: stale.body) == "Framework cannot be found")
            var info = RawScheduler.frameworkInfo(failoverTimeout: 60)
            info.id = scheduler.frameworkID
            let again = try await RawScheduler.subscribe(master.url, info)
            #expect(again.frameworkID == scheduler.frameworkID)
            #expect(try await again.call(revive).status == 202)
        }
    }

    @Test("re-SUBSCRIBE without the top-level framework_id is refused as the real master does")
    func resubscribeWithoutTopLevelID() async throws {
        try await Self.withMaster { master in
            let scheduler = try await RawScheduler.subscribe(master.url)
            var call = SchedulerCall()
            call.type = .subscribe
            call.subscribe.frameworkInfo = RawScheduler.frameworkInfo()
            call.subscribe.frameworkInfo.id = scheduler.frameworkID
            let response = try await HTTPClient().execute(
                HTTPRequest(
                    url: master.url + "/api/v1/scheduler",
                    headers: [("Content-Type", "application/json"), ("Accept", "application/json")],
                    body: try MessageCodec(.json).encode(call)
                )
            )
            #expect(response.status == 400)
            #expect(String(buffer: response.body) == "Failed to validate scheduler::Call: 'framework_id' differs from 'subscribe.framework_info.id'")
        }
    }

    @Test("TEARDOWN ends the stream; subscribing again with that ID gets ERROR \"Framework has been removed\"")
    func teardown() async throws {
        try await Self.withMaster { master in
            let scheduler = try await RawScheduler.subscribe(master.url)
            var teardown = SchedulerCall()
            teardown.type = .teardown
            #expect(try await scheduler.call(teardown).status == 202)
            #expect(try await scheduler.next(timeout: .seconds(5)) == nil)
            var revive = SchedulerCall()
            revive.type = .revive
            let after = try await scheduler.call(revive)
            #expect(after.status == 400)
            #expect(String(buffer: after.body) == "Framework cannot be found")
            var info = RawScheduler.frameworkInfo()
            info.id = scheduler.frameworkID
            await #expect(throws: RawScheduler.Failure.self) { try await RawScheduler.subscribe(master.url, info) }
        }
    }

    @Test("a standby answers 307 with a scheme-relative Location under /master, /redirect names the leader")
    func redirect() async throws {
        try await Self.withMaster { master in
            master.redirect(to: "127.0.0.1:5080")
            let client = HTTPClient()
            let call = try await client.execute(
                HTTPRequest(url: master.url + "/api/v1/scheduler", headers: [("Content-Type", "application/json")], body: Array("{}".utf8))
            )
            #expect(call.status == 307)
            #expect(call.head.header("Location") == "//127.0.0.1:5080/master/api/v1/scheduler")
            let state = try await client.execute(HTTPRequest(method: "GET", url: master.url + "/master/state"))
            #expect(state.head.header("Location") == "//127.0.0.1:5080/master/state")
            let probe = try await client.execute(HTTPRequest(method: "GET", url: master.url + "/master/redirect"))
            #expect(probe.status == 307)
            #expect(probe.head.header("Location") == "//127.0.0.1:5080")
            master.redirect(to: nil)
            let leader = try await client.execute(HTTPRequest(method: "GET", url: master.url + "/redirect"))
            #expect(leader.head.header("Location") == "//127.0.0.1:\(master.port)")
        }
    }

    @Test("a recovering master answers 503 for a while, then serves")
    func unavailable() async throws {
        try await Self.withMaster { master in
            master.beUnavailable(for: .seconds(60))
            let client = HTTPClient()
            let request = HTTPRequest(url: master.url + "/api/v1/scheduler", headers: [("Content-Type", "application/json")], body: Array("{}".utf8))
            let during = try await client.execute(request)
            #expect(during.status == 503)
            #expect(String(buffer: during.body) == "Master has not finished recovery")
            master.beUnavailable(for: .zero)
            let after = try await client.execute(request)
            #expect(after.status == 400)  // served: a call without a type
        }
    }

    @Test("with no leader elected the master answers 503 'No leader elected', as recorded, until one leads")
    func leaderless() async throws {
        try await Self.withMaster { master in
            master.beLeaderless(for: .seconds(60))
            let client = HTTPClient()
            let request = HTTPRequest(url: master.url + "/api/v1/scheduler", headers: [("Content-Type", "application/json")], body: Array("{}".utf8))
            // The recorded answer: its status line, Content-Type and body.
            let recorded = try String(contentsOf: Recorded.root.appendingPathComponent("redirect/no_leader_503.http"), encoding: .utf8)
            let lines = recorded.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false)
                .map(String.init)
            #expect(lines.first == "HTTP/1.1 503 Service Unavailable")
            let contentType = lines.first { $0.lowercased().hasPrefix("content-type:") }?.dropFirst("content-type:".count)
                .trimmingCharacters(in: .whitespaces)
            let body = try #require(lines.last)
            for during in [try await client.execute(request), try await client.execute(HTTPRequest(method: "GET", url: master.url + "/master/state"))] {
                #expect(during.status == 503)
                #expect(String(buffer: during.body) == body)
                #expect(during.head.header("Content-Type") == contentType)
            }
            #expect(try await client.execute(HTTPRequest(method: "GET", url: master.url + "/health")).status == 200)
            master.beLeaderless(for: .zero)
            #expect(try await client.execute(request).status == 400)  // served: a call without a type
        }
    }

    @Test("HTTP Basic authentication: 401 with the realm, principal mismatch refused, principal filled in")
    func authentication() async throws {
        try await Self.withMaster({ $0.credentials = ["fw-principal": "secret"] }) { master in
            await #expect(throws: RawScheduler.Failure.self) { try await RawScheduler.subscribe(master.url) }
            let bare = try await HTTPClient().execute(
                HTTPRequest(url: master.url + "/api/v1/scheduler", headers: [("Content-Type", "application/json")], body: Array("{}".utf8))
            )
            #expect(bare.status == 401)
            #expect(bare.head.header("WWW-Authenticate") == "Basic realm=\"mesos-master-scheduler\"")
            #expect(String(buffer: bare.body) == "401 Unauthorized.")
            let good = [(name: "Authorization", value: "Basic " + Data("fw-principal:secret".utf8).base64EncodedString())]
            var other = RawScheduler.frameworkInfo()
            other.principal = "other"
            do {
                _ = try await RawScheduler.subscribe(master.url, other, headers: good)
                Issue.record("a mismatched principal was accepted")
            } catch let failure as RawScheduler.Failure {
                #expect(failure.description.contains("Authenticated principal 'fw-principal' does not match principal 'other' set in `FrameworkInfo`"))
            }
            _ = try await RawScheduler.subscribe(master.url, headers: good)

            // Credentials are checked before the endpoint's handler runs: before its 405, 503s and redirect.
            let client = HTTPClient()
            let get = try await client.execute(HTTPRequest(method: "GET", url: master.url + "/api/v1/scheduler"))
            #expect(get.status == 401)
            #expect(try await client.execute(HTTPRequest(method: "GET", url: master.url + "/api/v1/scheduler", headers: good)).status == 405)
            master.beUnavailable(for: .seconds(60))
            #expect(try await client.execute(HTTPRequest(method: "GET", url: master.url + "/api/v1/scheduler")).status == 401)
            #expect(try await client.execute(HTTPRequest(method: "GET", url: master.url + "/api/v1/scheduler", headers: good)).status == 503)
            master.beUnavailable(for: .zero)
            master.redirect(to: "127.0.0.1:1")
            #expect(try await client.execute(HTTPRequest(method: "GET", url: master.url + "/api/v1/scheduler")).status == 401)
            #expect(try await client.execute(HTTPRequest(method: "GET", url: master.url + "/api/v1/scheduler", headers: good)).status == 307)
            master.redirect(to: nil)
        }
    }

    /// SUBSCRIBE, then every event of the stream until the master ends it (at most `timeout`).
    static func subscribeUntilEnd(
        _ master: String,
        _ info: FrameworkInfo,
        offerConstraints: Mesos_V1_Scheduler_OfferConstraints? = nil,
        timeout: Duration = .seconds(10)
    ) async throws -> (status: Int, events: [SchedulerEvent]) {
        var call = SchedulerCall()
        call.type = .subscribe
        call.subscribe.frameworkInfo = info
        if let offerConstraints { call.subscribe.offerConstraints = offerConstraints }
        if info.hasID { call.frameworkID = info.id }
        let codec = MessageCodec(.json)
        let response = try await HTTPClient().stream(
            HTTPRequest(
                url: master + "/api/v1/scheduler",
                headers: [("Content-Type", ContentType.json.mediaType), ("Accept", ContentType.json.mediaType)],
                body: try codec.encode(call)
            )
        )
        return try await withThrowingTaskGroup(of: [SchedulerEvent]?.self) { group in
            group.addTask {
                var decoder = MesosEventDecoder(SchedulerEvent.self, codec: codec)
                var buffer = ByteBuffer()
                var events: [SchedulerEvent] = []
                for try await var chunk in response.body {
                    buffer.writeBuffer(&chunk)
                    while let event = try decoder.decode(buffer: &buffer) {
                        if event.type != .heartbeat { events.append(event) }
                    }
                }
                return events
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            guard let events = first else { throw RawScheduler.Failure(description: "the stream did not end within \(timeout)") }
            return (response.status, events)
        }
    }

    @Test("roles authorized per principal: a refused SUBSCRIBE gets one ERROR event and its stream ends; UPDATE_FRAMEWORK to a role not allowed gets 403")
    func roleAuthorization() async throws {
        try await Self.withMaster({ $0.frameworkRoles = ["ops": ["eng", "web"]] }) { master in
            func info(_ principal: String?, roles: [String]) -> FrameworkInfo {
                var info = RawScheduler.frameworkInfo(capabilities: [.multiRole])
                if let principal { info.principal = principal }
                info.roles = roles
                return info
            }
            // A new framework has no ID yet: the text has none (two spaces), as the real master's.
            let refused = try await Self.subscribeUntilEnd(master.url, info("ops", roles: ["eng", "dev"]))
            #expect(refused.status == 200)
            #expect(refused.events.map(\.type) == [.error])
            #expect(refused.events.first?.error.message == "Not authorized to register framework  with roles { dev, eng }")
            let anonymous = try await Self.subscribeUntilEnd(master.url, info(nil, roles: ["eng"]))
            #expect(anonymous.events.map(\.error.message) == ["Not authorized to register framework  with roles { eng }"])
            let stranger = try await Self.subscribeUntilEnd(master.url, info("mallory", roles: ["eng"]))
            #expect(stranger.events.map(\.type) == [.error])

            let scheduler = try await RawScheduler.subscribe(master.url, info("ops", roles: ["eng"]))
            var update = SchedulerCall()
            update.type = .updateFramework
            var wider = info("ops", roles: ["eng", "dev"])
            wider.id = scheduler.frameworkID
            update.updateFramework.frameworkInfo = wider
            let forbidden = try await scheduler.call(update)
            #expect(forbidden.status == 403)
            #expect(String(buffer: forbidden.body) == "Not authorized to register framework \(scheduler.frameworkID.value) with roles { dev, eng }")
            var allowed = info("ops", roles: ["eng", "web"])
            allowed.id = scheduler.frameworkID
            update.updateFramework.frameworkInfo = allowed
            #expect(try await scheduler.call(update).status == 200)
            let frameworks = try await masterState(master.url)["frameworks"] as? [[String: Any]] ?? []
            #expect(frameworks.count == 1)
            #expect(frameworks.first?["roles"] as? [String] == ["eng", "web"])
        }
    }

    @Test("SUBSCRIBE is validated as the master validates it: role fields and names, IDs, offer filters, failover timeout")
    func subscribeValidation() async throws {
        try await Self.withMaster { master in
            func info(multiRole: Bool = false, _ change: (inout FrameworkInfo) -> Void) -> FrameworkInfo {
                var info = RawScheduler.frameworkInfo(capabilities: multiRole ? [.multiRole] : [])
                change(&info)
                return info
            }
            var emptyQuantities = Mesos_V1_OfferFilters()
            emptyQuantities.minAllocatableResources.quantities = [Mesos_V1_OfferFilters.ResourceQuantities()]
            var negative = Mesos_V1_OfferFilters.ResourceQuantities()
            var minusOne = Mesos_V1_Value.Scalar()
            minusOne.value = -1
            negative.quantities["cpus"] = minusOne
            var negativeQuantity = Mesos_V1_OfferFilters()
            negativeQuantity.minAllocatableResources.quantities = [negative]
            let cases: [(FrameworkInfo, String)] = [
                (info(multiRole: true) { $0.role = "eng" }, "'FrameworkInfo.role' must not be set when the framework is MULTI_ROLE capable"),
                (info { $0.roles = ["eng"] }, "'FrameworkInfo.roles' must not be set when the framework is not MULTI_ROLE capable"),
                (info(multiRole: true) { $0.roles = ["eng", "web", "eng"] }, "'FrameworkInfo.roles' contains duplicate items: { eng }"),
                (info(multiRole: true) { $0.roles = ["/eng"] }, "'FrameworkInfo.roles' contains invalid role: Role '/eng' cannot start with a slash"),
                (info { $0.role = "eng/-x" }, "'FrameworkInfo.role' is not a valid role: Role component '-x' is invalid because it starts with a dash"),
                (info { $0.role = "eng//web" }, "'FrameworkInfo.role' is not a valid role: Role 'eng//web' cannot contain two adjacent slashes"),
                (info { $0.role = "a b" }, "'FrameworkInfo.role' is not a valid role: Role component 'a b' is invalid because it contains backspace or whitespace"),
                (info { $0.role = "eng/.." }, "'FrameworkInfo.role' is not a valid role: Role 'eng/..' cannot include '..' as a component"),
                (info { $0.offerFilters["eng"] = emptyQuantities }, "Resource quantities must contain at least one quantity"),
                (info { $0.offerFilters["*"] = negativeQuantity }, "Invalid resource quantity for 'cpus': Negative values not supported"),
                (info { $0.failoverTimeout = 1e300 }, "The framework failover_timeout (1e+300) is invalid"),
                (info { $0.failoverTimeout = -.infinity }, "The framework failover_timeout (-inf) is invalid"),
            ]
            for (info, text) in cases {
                let refused = try await Self.subscribeUntilEnd(master.url, info)
                #expect(refused.status == 200)
                #expect(refused.events.map(\.error.message) == [text])
            }
            // What passes: nested roles, "*", a failover timeout that fits in int64 nanoseconds.
            let fine = info(multiRole: true) {
                $0.roles = ["eng/web", "*"]
                $0.failoverTimeout = 9e9
            }
            _ = try await RawScheduler.subscribe(master.url, fine)
        }
    }

    @Test("UPDATE_FRAMEWORK and re-SUBSCRIBE: the master's texts for what may not change; a new user or checkpoint on SUBSCRIBE is ignored")
    func frameworkUpdateValidation() async throws {
        try await Self.withMaster { master in
            var original = RawScheduler.frameworkInfo(failoverTimeout: 60, capabilities: [.multiRole])
            original.roles = ["eng"]
            let scheduler = try await RawScheduler.subscribe(master.url, original)
            original.id = scheduler.frameworkID
            func update(_ suppressedRoles: [String] = [], _ change: (inout FrameworkInfo) -> Void) async throws -> (Int, String) {
                var call = SchedulerCall()
                call.type = .updateFramework
                var info = original
                change(&info)
                call.updateFramework.frameworkInfo = info
                call.updateFramework.suppressedRoles = suppressedRoles
                let response = try await scheduler.call(call)
                return (response.status, String(buffer: response.body))
            }
            let notValid = try await update(["dev"]) { _ in }
            #expect(notValid.0 == 400)
            #expect(notValid.1 == "Supplied FrameworkInfo is not valid: Suppressed role 'dev' is not contained in the list of roles")
            let badRole = try await update { $0.roles = ["eng", "."] }
            #expect(badRole.1 == "Supplied FrameworkInfo is not valid: 'FrameworkInfo.roles' contains invalid role: Role '.' cannot include '.' as a component")
            let user = try await update { $0.user = "nobody" }
            #expect(user.0 == 400)
            #expect(user.1 == "FrameworkInfo update is not valid: Updating 'FrameworkInfo.user' is unsupported; attempted to update from 'root' to 'nobody'")
            let checkpoint = try await update { $0.checkpoint = true }
            #expect(checkpoint.1 == "FrameworkInfo update is not valid: Updating 'FrameworkInfo.checkpoint' is unsupported; attempted to update from 'false' to 'true'")
            // A principal set where there was none is a change too.
            let principal = try await update { $0.principal = "" }
            #expect(principal.1 == "FrameworkInfo update is not valid: Changing framework's principal is not allowed.")
            let fine = try await update(["web"]) {
                $0.roles = ["eng", "web"]
                $0.name = "renamed"
            }
            #expect(fine.0 == 200)
            #expect(fine.1 == "")

            // Re-SUBSCRIBE with another principal: refused on the new stream; the framework stays where it was.
            var intruder = original
            intruder.principal = "mallory"
            let refused = try await Self.subscribeUntilEnd(master.url, intruder)
            #expect(refused.events.map(\.error.message) == ["Changing framework's principal is not allowed."])
            var revive = SchedulerCall()
            revive.type = .revive
            #expect(try await scheduler.call(revive).status == 202)
            #expect(!scheduler.ended)

            // Re-SUBSCRIBE with another user and checkpoint: the framework fails over, keeping its user and checkpoint.
            var moved = original
            moved.user = "nobody"
            moved.checkpoint = true
            let again = try await RawScheduler.subscribe(master.url, moved)
            #expect(again.frameworkID == scheduler.frameworkID)
            let framework = (try await masterState(master.url)["frameworks"] as? [[String: Any]])?.first
            #expect(framework?["user"] as? String == "root")
            #expect(framework?["checkpoint"] as? Bool == false)
        }
    }

    @Test("ACKNOWLEDGE and ACKNOWLEDGE_OPERATION_STATUS need a real UUID (16 bytes, version 1 to 5), as stout reads one")
    func acknowledgeUUIDs() async throws {
        try await Self.withMaster { master in
            let scheduler = try await RawScheduler.subscribe(master.url)
            var acknowledge = SchedulerCall()
            acknowledge.type = .acknowledge
            acknowledge.acknowledge.agentID = AgentID("nowhere")
            acknowledge.acknowledge.taskID = TaskID("nothing")
            var operation = SchedulerCall()
            operation.type = .acknowledgeOperationStatus
            operation.acknowledgeOperationStatus.agentID = AgentID("nowhere")
            operation.acknowledgeOperationStatus.operationID.value = "nothing"
            let notUUIDs = [Data(count: 16), Data(count: 15), Data(repeating: 0x60, count: 16)]
            for bytes in notUUIDs {
                acknowledge.acknowledge.uuid = bytes
                operation.acknowledgeOperationStatus.uuid = bytes
                for call in [acknowledge, operation] {
                    let response = try await scheduler.call(call)
                    #expect(response.status == 400)
                    #expect(String(buffer: response.body) == "Failed to validate scheduler::Call: Not a valid UUID")
                }
            }
            // A version 4 UUID passes validation (and is then an acknowledgement of nothing known: 202 as Mesos).
            acknowledge.acknowledge.uuid = withUnsafeBytes(of: UUID().uuid) { Data($0) }
            #expect(try await scheduler.call(acknowledge).status != 400)
        }
    }

    @Test("MasterInfo carries the 1.11 master's three capabilities, QUOTA_V2 as an unknown value (`{}` in JSON), as recorded")
    func masterCapabilities() async throws {
        try await Self.withMaster { master in
            for contentType in [ContentType.json, .protobuf] {
                let scheduler = try await RawScheduler.subscribe(master.url, contentType: contentType)
                let capabilities = scheduler.subscribed.subscribed.masterInfo.capabilities
                #expect(capabilities.map(\.hasType) == [true, true, false])
                #expect(capabilities.prefix(2).map(\.type) == [.agentUpdate, .agentDraining])
                let json = String(decoding: try MessageCodec(.json).encode(scheduler.subscribed.subscribed.masterInfo), as: UTF8.self)
                #expect(json.contains(#""capabilities":[{"type":"AGENT_UPDATE"},{"type":"AGENT_DRAINING"},{}]"#), "\(json)")
                // Over protobuf the value itself arrives and is kept (JSON has nothing to carry it in).
                if contentType == .protobuf { #expect(try MessageCodec(.protobuf).encode(capabilities[2]) == [0x08, 0x03]) }
            }
            #expect(try await masterState(master.url)["capabilities"] as? [String] == ["AGENT_UPDATE", "AGENT_DRAINING", "QUOTA_V2"])
        }
    }

    @Test("/master/state, /version and /health answer in the real master's shapes")
    func readOnlyEndpoints() async throws {
        try await Self.withMaster { master in
            let scheduler = try await RawScheduler.subscribe(master.url)
            let client = HTTPClient()
            let state = try await client.execute(HTTPRequest(method: "GET", url: master.url + "/master/state"))
            #expect(state.status == 200)
            let json = try JSONSerialization.jsonObject(with: Data(state.body.readableBytesView)) as? [String: Any]
            #expect(json?["version"] as? String == "1.11.0")
            let frameworks = json?["frameworks"] as? [[String: Any]]
            #expect(frameworks?.first?["id"] as? String == scheduler.frameworkID.value)
            #expect(frameworks?.first?["active"] as? Bool == true)
            let version = try await client.execute(HTTPRequest(method: "GET", url: master.url + "/version"))
            #expect(String(buffer: version.body).contains("\"version\":\"1.11.0\""))
            #expect(try await client.execute(HTTPRequest(method: "GET", url: master.url + "/health")).status == 200)
        }
    }
}
