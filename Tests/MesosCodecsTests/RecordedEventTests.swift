import Foundation
import Mesos
import MesosCodecs
import MesosRecordIO
import NIOCore
import SwiftProtobuf
import Testing

/// Every event a real Mesos 1.11 master and agent wrote, decoded in both content types and checked field by field.
@Suite("Events recorded from Mesos 1.11")
struct RecordedEventTests {
    static let json = MessageCodec(.json)
    static let protobuf = MessageCodec(.protobuf)

    static func jsonEvents() throws -> [SchedulerEvent] {
        try Fixtures.records("json/subscribe_stream.recordio").map { try json.decode(SchedulerEvent.self, from: $0) }
    }

    @Test("the JSON stream decodes to the event types the master sent, in order")
    func jsonStreamTypes() throws {
        let events = try Self.jsonEvents()
        let expected = try Fixtures.lines("json/subscribe_events.jsonl").map { line -> String in
            let object = try JSONSerialization.jsonObject(with: Data(line)) as! [String: Any]
            return object["type"] as! String
        }
        #expect(events.map { String(describing: $0.type).uppercased() } == expected.map { $0.replacingOccurrences(of: "_", with: "") })
        #expect(events.count == 27)
    }

    @Test("SUBSCRIBED: framework ID, heartbeat interval, master info, an unnamed capability tolerated")
    func subscribed() throws {
        let event = try Self.jsonEvents()[0]
        #expect(event.type == .subscribed)
        let subscribed = event.subscribed
        #expect(subscribed.frameworkID.value == "18d6e804-c1d1-408a-88d4-3bd14da45902-0001")
        #expect(subscribed.heartbeatIntervalSeconds == 15)
        let master = subscribed.masterInfo
        #expect(master.id == "18d6e804-c1d1-408a-88d4-3bd14da45902")
        #expect(master.ip == 16_777_343)
        #expect(master.port == 5050)
        #expect(master.pid == "master@127.0.0.1:5050")
        #expect(master.hostname == "127.0.0.1")
        #expect(master.version == "1.11.0")
        #expect(master.address.hostname == "127.0.0.1")
        #expect(master.address.ip == "127.0.0.1")
        #expect(master.address.port == 5050)
        #expect(master.capabilities.map(\.type) == [.agentUpdate, .agentDraining, .unknown])
        #expect(master.capabilities[2].hasType == false)
    }

    @Test("OFFERS: IDs, URL, every resource with role and allocation info")
    func offers() throws {
        let event = try Self.jsonEvents()[2]
        #expect(event.type == .offers)
        #expect(event.offers.offers.count == 1)
        let offer = event.offers.offers[0]
        #expect(offer.id.value == "18d6e804-c1d1-408a-88d4-3bd14da45902-O2")
        #expect(offer.frameworkID.value == "18d6e804-c1d1-408a-88d4-3bd14da45902-0001")
        #expect(offer.agentID.value == "5a455e73-4eb8-4c88-aebe-bd2a1767f2b8-S0")
        #expect(offer.hostname == "127.0.0.1")
        #expect(offer.url.scheme == "http")
        #expect(offer.url.address.port == 5051)
        #expect(offer.url.path == "/slave(1)")
        #expect(offer.allocationInfo.role == "*")
        let byName = Dictionary(uniqueKeysWithValues: offer.resources.map { ($0.name, $0) })
        #expect(byName["cpus"]?.type == .scalar)
        #expect(byName["cpus"]?.scalar.value == 2)
        #expect(byName["mem"]?.scalar.value == 2048)
        #expect(byName["disk"]?.scalar.value == 10000)
        #expect(byName["ports"]?.type == .ranges)
        #expect(byName["ports"]?.ranges.range.map { [$0.begin, $0.end] } == [[31000, 32000]])
        #expect(offer.resources.allSatisfy { $0.role == "*" && $0.allocationInfo.role == "*" })
    }

    @Test("UPDATE: state, source, uuid bytes from base64, timestamp, container status")
    func update() throws {
        let events = try Self.jsonEvents()
        let status = events[3].update.status
        #expect(events[3].type == .update)
        #expect(status.taskID.value == "t1")
        #expect(status.state == .taskStarting)
        #expect(status.source == .executor)
        #expect(status.agentID.value == "5a455e73-4eb8-4c88-aebe-bd2a1767f2b8-S0")
        #expect(status.executorID.value == "t1")
        #expect(status.uuid.count == 16)
        #expect(status.timestamp > 1_795_000_000)
        #expect(status.containerStatus.networkInfos.first?.ipAddresses.first?.ipAddress == "127.0.0.1")
        #expect(status.containerStatus.executorPid > 0)

        let finished = events[5].update.status
        #expect(finished.state == .taskFinished)
        #expect(finished.message == "Command exited with status 0")
        #expect(!finished.hasReason)
    }

    @Test("the unknown offer gives TASK_DROPPED with REASON_INVALID_OFFERS; KILL gives TASK_KILLED with its message")
    func droppedAndKilled() throws {
        let statuses = try Self.jsonEvents().filter { $0.type == .update }.map(\.update.status)
        let dropped = try #require(statuses.first { $0.taskID.value == "t4" })
        #expect(dropped.state == .taskDropped)
        #expect(dropped.reason == .invalidOffers)
        #expect(dropped.source == .master)
        #expect(!dropped.hasUuid)
        let killed = try #require(statuses.first { $0.taskID.value == "t3" && $0.state == .taskKilled })
        #expect(killed.message == "Command terminated with signal Terminated")
    }

    @Test("FAILURE names the agent")
    func failure() throws {
        let event = try #require(try Self.jsonEvents().first { $0.type == .failure })
        #expect(event.failure.agentID.value == "5a455e73-4eb8-4c88-aebe-bd2a1767f2b8-S0")
    }

    @Test("every JSON event equals the same line decoded alone, and survives both encodings")
    func jsonRoundTrips() throws {
        let events = try Self.jsonEvents()
        let lines = try Fixtures.lines("json/subscribe_events.jsonl")
        for (event, line) in zip(events, lines) {
            #expect(try Self.json.decode(SchedulerEvent.self, from: line) == event)
            #expect(try Self.json.decode(SchedulerEvent.self, from: Self.json.encode(event)) == event)
            #expect(try Self.protobuf.decode(SchedulerEvent.self, from: Self.protobuf.encode(event)) == event)
        }
    }

    @Test("the JSON we write for an event is the JSON the master wrote, key for key")
    func jsonWrittenAsMasterWrites() throws {
        for line in try Fixtures.lines("json/subscribe_events.jsonl") {
            let event = try Self.json.decode(SchedulerEvent.self, from: line)
            #expect(try JSONTree(Self.json.encode(event)) == JSONTree(line))
        }
    }

    /// `protobuf/subscribe_events_decoded.txt` is the master's own text rendering of each binary record.
    @Test("the protobuf stream decodes to exactly what the master's text rendering says")
    func protobufStream() throws {
        let records = try Fixtures.records("protobuf/subscribe_stream.recordio")
        let blocks = try Fixtures.text("protobuf/subscribe_events_decoded.txt")
            .components(separatedBy: "# record ").dropFirst()
            .map { $0.split(separator: "\n", maxSplits: 1).last.map(String.init) ?? "" }
        #expect(records.count == 9)
        #expect(blocks.count == records.count)
        for (record, text) in zip(records, blocks) {
            let event = try Self.protobuf.decode(SchedulerEvent.self, from: record)
            #expect(Self.normalize(event.textFormatString()) == Self.normalize(text))
            #expect(try Self.protobuf.encode(event) == record, "re-encoded bytes differ for \(event.type)")
        }
    }

    @Test("a capability the v1 enum does not name is kept in protobuf and written back unchanged")
    func unknownEnumKeptInProtobuf() throws {
        let record = try Fixtures.records("protobuf/subscribe_stream.recordio")[0]
        let event = try Self.protobuf.decode(SchedulerEvent.self, from: record)
        let unnamed = event.subscribed.masterInfo.capabilities[2]
        #expect(!unnamed.hasType)
        #expect(Array(unnamed.unknownFields.data) == [0x08, 0x03])  // field 1, varint 3
    }

    @Test("the executor's stream decodes: SUBSCRIBED, LAUNCH, ACKNOWLEDGED, MESSAGE, SHUTDOWN")
    func executorStream() throws {
        let events = try Fixtures.records("executor/executor_stream.recordio").map {
            try Self.json.decode(ExecutorEvent.self, from: $0)
        }
        #expect(events.map(\.type) == [.subscribed, .launch, .acknowledged, .message, .acknowledged, .shutdown])
        let subscribed = events[0].subscribed
        #expect(subscribed.executorInfo.executorID.value == "pyexec-1")
        #expect(subscribed.executorInfo.type == .custom)
        #expect(subscribed.frameworkInfo.hasName)
        #expect(subscribed.agentInfo.hasHostname)
        #expect(events[1].launch.task.taskID.value == "ctask")
        #expect(events[2].acknowledged.taskID.value == "ctask")
        #expect(events[2].acknowledged.uuid.count == 16)
        #expect(!events[3].message.data.isEmpty)
    }

    @Test("the other recorded streams decode completely", arguments: [
        "executor/scheduler_stream.recordio", "failover/first_stream.recordio", "failover/resubscribe_stream.recordio",
        "ssl/subscribe_stream.recordio",
    ])
    func otherStreams(path: String) throws {
        let events = try Fixtures.records(path).map { try Self.json.decode(SchedulerEvent.self, from: $0) }
        #expect(events.first?.type == .subscribed)
        #expect(events.allSatisfy { $0.type != .unknown })
    }

    @Test("the event decoder gives the same events for every chunking", arguments: [1, 7, 4096, Int.max])
    func eventDecoderChunking(chunkSize: Int) throws {
        for (path, contentType) in [
            ("json/subscribe_stream.recordio", ContentType.json), ("protobuf/subscribe_stream.recordio", .protobuf),
        ] {
            let wire = try Fixtures.bytes(path)
            let expected = try Fixtures.records(path).map { try MessageCodec(contentType).decode(SchedulerEvent.self, from: $0) }
            let processor = NIOSingleStepByteToMessageProcessor(MesosEventDecoder(SchedulerEvent.self, contentType: contentType))
            var events: [SchedulerEvent] = []
            for start in stride(from: 0, to: wire.count, by: min(chunkSize, wire.count)) {
                let chunk = wire[start..<min(wire.count, start &+ chunkSize)]
                try processor.process(buffer: ByteBuffer(bytes: chunk)) { events.append($0) }
            }
            try processor.finishProcessing(seenEOF: true) { events.append($0) }
            #expect(events == expected)
        }
    }

    /// Whitespace-insensitive text format, and `15` and `15.0` alike.
    static func normalize(_ text: String) -> [String] {
        text.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
            .map { $0.replacingOccurrences(of: #"(\d)\.0$"#, with: "$1", options: .regularExpression) }
    }
}
