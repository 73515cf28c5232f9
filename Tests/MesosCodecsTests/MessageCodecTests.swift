import Foundation
import Mesos
import MesosCodecs
import MesosRecordIO
import NIOCore
import SwiftProtobuf
import Testing

@Suite("Message codec: conventions and errors")
struct MessageCodecTests {
    static let json = MessageCodec(.json)
    static let strict = MessageCodec(.json, jsonReading: .exactlyAsMesos)
    static let protobuf = MessageCodec(.protobuf)

    static func decodeJSON(_ text: String, codec: MessageCodec = json) throws -> SchedulerEvent {
        try codec.decode(SchedulerEvent.self, from: Array(text.utf8))
    }

    @Test("content types parse from headers, parameters and case ignored")
    func contentTypes() {
        #expect(ContentType(mediaType: "application/json") == .json)
        #expect(ContentType(mediaType: "Application/JSON; charset=utf-8") == .json)
        #expect(ContentType(mediaType: " application/x-protobuf ") == .protobuf)
        #expect(ContentType(mediaType: "text/plain") == nil)
        #expect(ContentType.protobuf.mediaType == "application/x-protobuf")
    }

    @Test("JSON is written with proto field names, enums by name, int64 as numbers, bytes in base64")
    func jsonConventions() throws {
        var call = SchedulerCall()
        call.type = .kill
        call.frameworkID = "f"
        call.kill.taskID = "t"
        call.kill.killPolicy.gracePeriod.nanoseconds = 3_000_000_000
        var message = SchedulerCall()
        message.type = .message
        message.message.agentID = "a"
        message.message.executorID = "e"
        message.message.data = Data([0, 1, 0xFF])
        let kill = String(decoding: try Self.json.encode(call), as: UTF8.self)
        #expect(kill.contains(#""framework_id":{"value":"f"}"#))
        #expect(kill.contains(#""type":"KILL""#))
        #expect(kill.contains(#""kill_policy":{"grace_period":{"nanoseconds":3000000000}}"#))
        #expect(String(decoding: try Self.json.encode(message), as: UTF8.self).contains(#""data":"AAH/""#))
    }

    @Test("infinite doubles are written as the strings Mesos reads, and read back")
    func infinity() throws {
        var filters = Filters()
        filters.refuseSeconds = .infinity
        let text = String(decoding: try Self.json.encode(filters), as: UTF8.self)
        #expect(text == #"{"refuse_seconds":"Infinity"}"#)
        #expect(try Self.strict.decode(Filters.self, from: Array(text.utf8)).refuseSeconds == .infinity)
        #expect(try Self.strict.decode(Filters.self, from: Array(#"{"refuse_seconds":"-Infinity"}"#.utf8)).refuseSeconds == -.infinity)
    }

    @Test("an event type from a newer master is not fatal: unknown name ignored (JSON), number kept (protobuf)")
    func unknownEventType() throws {
        for codec in [Self.json, Self.strict] {
            let event = try Self.decodeJSON(#"{"type":"SOMETHING_NEW","something_new":{"x":1},"heartbeat":{}}"#, codec: codec)
            #expect(!event.hasType)
            #expect(event.type == .unknown)
        }
        // Field 1 (type) = 42, then an unknown field 99 (length-delimited).
        let bytes: [UInt8] = [0x08, 42, 0x9A, 0x06, 0x02, 0x01, 0x02]
        let event = try Self.protobuf.decode(SchedulerEvent.self, from: bytes)
        #expect(!event.hasType)
        #expect(try Self.protobuf.encode(event) == bytes)  // nothing lost
    }

    /// An UPDATE event whose status has every required field but `state`, with `state` written as the newer master
    /// would: an unknown name (JSON) or number (protobuf, field 2, varint 99, after the other fields).
    static func updateWithUnnamedState(_ contentType: ContentType) throws -> [UInt8] {
        var status = TaskStatus()
        status.taskID = "web-1"
        status.agentID = "S0"
        status.uuid = Data((0..<16).map { UInt8($0) })
        status.message = "from a newer master"
        var event = SchedulerEvent()
        event.type = .update
        event.update.status = status
        event.update.status.state = .taskRunning
        switch contentType {
        case .json:
            let text = String(decoding: try Self.json.encode(event), as: UTF8.self)
            #expect(text.contains("\"TASK_RUNNING\""))
            return Array(text.replacingOccurrences(of: "\"TASK_RUNNING\"", with: "\"TASK_FROM_THE_FUTURE\"").utf8)
        case .protobuf:
            func varint(_ value: Int) -> [UInt8] {
                var value = value
                var out: [UInt8] = []
                while value >= 0x80 {
                    out.append(UInt8(value & 0x7F) | 0x80)
                    value >>= 7
                }
                return out + [UInt8(value)]
            }
            let statusBytes: [UInt8] = try status.serializedBytes(partial: true) + [0x10, 99]
            let update: [UInt8] = [0x0A] + varint(statusBytes.count) + statusBytes
            var head = SchedulerEvent()
            head.type = .update
            return try head.serializedBytes() + [0x2A] + varint(update.count) + update
        }
    }

    @Test("event streams: a required enum with a value this schema does not name (a newer master) is decoded, the field unset; nothing else is let through", arguments: [ContentType.json, .protobuf])
    func newerEnumInRequiredField(contentType: ContentType) throws {
        let codec = MessageCodec(contentType)
        let bytes = try Self.updateWithUnnamedState(contentType)
        // Decoding a message on its own refuses it, naming the field, as the master would.
        let refused = #expect(throws: MesosCodecError.self) { _ = try codec.decode(SchedulerEvent.self, from: bytes) }
        #expect(refused?.code == (contentType == .json ? .invalidFieldValue : .missingRequiredFields))
        if contentType == .json { #expect(refused?.fields == ["update.status.state"]) }

        // An event stream's decoder lets the event through.
        var buffer = ByteBuffer()
        RecordIOEncoder.frame(bytes, into: &buffer)
        var decoder = MesosEventDecoder(SchedulerEvent.self, codec: codec)
        let event = try #require(try decoder.decode(buffer: &buffer))
        #expect(event.type == .update)
        let status = event.update.status
        #expect(!status.hasState)
        #expect(status.taskID == "web-1")
        #expect(status.agentID == "S0")
        #expect(status.uuid == Data((0..<16).map { UInt8($0) }))
        #expect(status.message == "from a newer master")
        if contentType == .protobuf {
            #expect(try event.serializedBytes(partial: true) == bytes)  // the unknown state is kept
        }

        // A record missing a required field that is not an enum is still refused by the stream's decoder.
        var broken = SchedulerEvent()
        broken.type = .update
        broken.update.status.state = .taskRunning  // and no task_id
        let brokenBytes: [UInt8] = contentType == .protobuf
            ? try broken.serializedBytes(partial: true) : try broken.jsonUTF8Bytes(options: .mesos)
        var brokenBuffer = ByteBuffer()
        RecordIOEncoder.frame(brokenBytes, into: &brokenBuffer)
        var strictDecoder = MesosEventDecoder(SchedulerEvent.self, codec: codec)
        let error = #expect(throws: MesosCodecError.self) { _ = try strictDecoder.decode(buffer: &brokenBuffer) }
        #expect(error?.code == .missingRequiredFields)
        #expect(error?.fields == ["update.status.task_id"])
    }

    @Test("unknown keys are ignored; unknown enum names in repeated fields drop only that element")
    func unknownKeysAndRepeatedEnums() throws {
        let info = try Self.strict.decode(
            FrameworkInfo.self,
            from: Array(#"{"user":"u","name":"n","future":{"a":[1,2]},"capabilities":[{"type":"MULTI_ROLE"},{"type":"NEW_ONE"}]}"#.utf8)
        )
        #expect(info.name == "n")
        #expect(info.capabilities.map(\.type) == [.multiRole, .unknown])
    }

    @Test("malformed JSON is an error with its byte offset and line")
    func malformedJSON() {
        for (text, offset) in [("{\"type\":", 8), ("{\"type\" \"X\"}", 8), ("{\n\"type\":\"HEARTBEAT\",}", 21), ("", 0), ("{}x", 2)] {
            let error = #expect(throws: MesosCodecError.self, "\(text)") { try Self.decodeJSON(text) }
            #expect(error?.code == .malformedJSON, "\(text)")
            #expect(error?.offset == offset, "\(text): \(String(describing: error))")
            #expect(error?.messageType == "mesos.v1.scheduler.Event")
        }
        let error = #expect(throws: MesosCodecError.self) { try Self.decodeJSON("{\n\"a\":tru}") }
        #expect(error?.message == "expected 'true' at line 2")
    }

    @Test("a JSON value that is not an object is refused as the master refuses it")
    func notAnObject() {
        for text in ["[]", "42", "\"event\"", "null"] {
            let error = #expect(throws: MesosCodecError.self, "\(text)") { try Self.decodeJSON(text) }
            #expect(error?.code == .malformedJSON)
            #expect(error?.message == "Expecting a JSON object", "\(text)")
        }
    }

    @Test("a field of the wrong kind names the field, in the master's words")
    func wrongKind() {
        let cases: [(String, String, String)] = [
            (#"{"type":"UPDATE","update":{"status":{"task_id":{"value":7},"state":"TASK_RUNNING"}}}"#,
             "update.status.task_id.value", "Not expecting a JSON number for field 'value'"),
            (#"{"type":"OFFERS","offers":{"offers":[{"id":{"value":"o"},"framework_id":{"value":"f"},"agent_id":{"value":"a"},"hostname":"h","resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":"lots"}}]}]}}"#,
             "offers.offers[0].resources[0].scalar.value",
             "Failed to parse 'lots' as a JSON number for field 'value': syntax error at line 1 near: lots"),
            (#"{"type":"MESSAGE","message":{"agent_id":{"value":"a"},"executor_id":{"value":"e"},"data":"a*b"}}"#,
             "message.data", "Failed to base64 decode bytes field 'data': Invalid character '*'"),
            (#"{"type":"HEARTBEAT","subscribed":[1]}"#, "subscribed", "Not expecting a JSON array for field 'subscribed'"),
        ]
        for (text, field, message) in cases {
            let error = #expect(throws: MesosCodecError.self, "\(field)") { try Self.decodeJSON(text) }
            #expect(error?.code == .invalidFieldValue, "\(field)")
            #expect(error?.fields == [field], "\(String(describing: error))")
            #expect(error?.message == message, "\(String(describing: error))")
        }
    }

    @Test("missing required fields are named by path, in JSON and protobuf")
    func missingRequired() throws {
        let text = #"{"type":"UPDATE","update":{"status":{"state":"TASK_RUNNING"}}}"#
        let error = #expect(throws: MesosCodecError.self) { try Self.decodeJSON(text) }
        #expect(error?.code == .missingRequiredFields)
        #expect(error?.fields == ["update.status.task_id"])
        #expect(error?.message == "Missing required fields: update.status.task_id")

        var event = SchedulerEvent()
        event.type = .offers
        var offer = Offer()
        offer.id = "o"
        event.offers.offers = [Offer(), offer]
        let bytes: [UInt8] = try event.serializedBytes(partial: true)
        let binary = #expect(throws: MesosCodecError.self) { try Self.protobuf.decode(SchedulerEvent.self, from: bytes) }
        #expect(binary?.code == .missingRequiredFields)
        #expect(binary?.fields == [
            "offers.offers[0].id", "offers.offers[0].framework_id", "offers.offers[0].agent_id", "offers.offers[0].hostname",
            "offers.offers[1].framework_id", "offers.offers[1].agent_id", "offers.offers[1].hostname",
        ])
    }

    @Test("a message missing required fields is not encoded, in either content type")
    func encodeMissingRequired() {
        var call = ExecutorCall()
        call.type = .heartbeat
        call.frameworkID = "f"
        for codec in [Self.json, Self.protobuf] {
            let error = #expect(throws: MesosCodecError.self) { try codec.encode(call) }
            #expect(error?.code == .missingRequiredFields)
            #expect(error?.fields == ["executor_id"])
        }
    }

    @Test("malformed protobuf is a typed error, never a crash", arguments: [
        [0x0A, 0x05, 0x01] as [UInt8],  // length past the end
        [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01],  // varint too long
        [0x0F],  // wire type 7
        [0x00],  // field number 0
        [0x12, 0x02, 0x0A, 0x80],  // a nested message cut in a varint
    ])
    func malformedProtobuf(bytes: [UInt8]) {
        let error = #expect(throws: MesosCodecError.self) { try Self.protobuf.decode(SchedulerEvent.self, from: bytes) }
        #expect(error?.code == .malformedProtobuf)
        #expect(error?.underlying != nil)
    }

    @Test("invalid UTF-8 in a string is refused in both content types")
    func invalidUTF8() {
        let json: [UInt8] = Array(#"{"type":"ERROR","error":{"message":""#.utf8) + [0xC3, 0x28] + Array(#""}}"#.utf8)
        #expect(throws: MesosCodecError.self) { try Self.json.decode(SchedulerEvent.self, from: json) }
        // Event.error (field 8) with message (field 1) = C3 28.
        let binary: [UInt8] = [0x08, 0x07, 0x42, 0x04, 0x0A, 0x02, 0xC3, 0x28]
        let error = #expect(throws: MesosCodecError.self) { try Self.protobuf.decode(SchedulerEvent.self, from: binary) }
        #expect(error?.code == .malformedProtobuf)
    }

    @Test("deeply nested JSON is refused without exhausting the stack")
    func deepNesting() {
        let text = String(repeating: "[", count: 100_000)
        let error = #expect(throws: MesosCodecError.self) { try Self.decodeJSON("{\"a\":" + text) }
        #expect(error?.code == .malformedJSON)
    }

    @Test("numbers as the master reads them: strings, exponents, fractions, clamping")
    func integerSpellings() throws {
        func nanos(_ spelled: String) throws -> Int64 {
            try Self.strict.decode(Mesos_V1_DurationInfo.self, from: Array(#"{"nanoseconds":\#(spelled)}"#.utf8)).nanoseconds
        }
        #expect(try nanos("3000000000") == 3_000_000_000)
        #expect(try nanos(#""3000000000""#) == 3_000_000_000)
        #expect(try nanos(#""3e9""#) == 3_000_000_000)
        #expect(try nanos("3000000000.5") == 3_000_000_000)
        #expect(try nanos(#"" 42""#) == 42)
        #expect(try nanos("-7.9") == -7)
        #expect(try nanos(#""9223372036854775807""#) == .max)
        #expect(try nanos(#""9223372036854775808""#) == .max)
        #expect(try nanos("-1e300") == .min)
        #expect(throws: MesosCodecError.self) { try nanos(#""0x10""#) }
        #expect(throws: MesosCodecError.self) { try nanos("true") }
    }

    @Test("booleans as the master reads them")
    func booleanSpellings() throws {
        func shell(_ spelled: String) throws -> Bool {
            try Self.strict.decode(CommandInfo.self, from: Array(#"{"shell":\#(spelled)}"#.utf8)).shell
        }
        #expect(try shell("true") == true)
        #expect(try shell(#""false""#) == false)
        let error = #expect(throws: MesosCodecError.self) { try shell("1") }
        #expect(error?.message == "Not expecting a JSON number for field 'shell'")
        #expect(throws: MesosCodecError.self) { try shell(#""yes""#) }
    }

    @Test("maps read as JSON objects")
    func maps() throws {
        let info = try Self.strict.decode(
            FrameworkInfo.self,
            from: Array(#"{"user":"u","name":"n","offer_filters":{"web":{"min_allocatable_resources":{"quantities":[{"quantities":{"cpus":{"value":"0.5"}}}]}}}}"#.utf8)
        )
        #expect(info.offerFilters["web"]?.minAllocatableResources.quantities.first?.quantities["cpus"]?.value == 0.5)
    }

    @Test("records decode straight from a ByteBuffer slice")
    func fromByteBuffer() throws {
        var stream = ByteBuffer()
        var heartbeat = SchedulerEvent()
        heartbeat.type = .heartbeat
        try Self.json.encodeRecord(heartbeat, into: &stream)
        try Self.json.encodeRecord(heartbeat, into: &stream)
        #expect(String(buffer: stream) == "20\n{\"type\":\"HEARTBEAT\"}20\n{\"type\":\"HEARTBEAT\"}")
        let events = try RecordIODecoder.records(in: stream).map { try Self.json.decode(SchedulerEvent.self, from: $0) }
        #expect(events == [heartbeat, heartbeat])
    }

    @Test("the event decoder reports a bad record as a codec error and bad framing as a RecordIO error")
    func eventDecoderErrors() throws {
        let bad = NIOSingleStepByteToMessageProcessor(MesosEventDecoder(SchedulerEvent.self, contentType: .json))
        let malformed = #expect(throws: MesosCodecError.self) { try bad.process(buffer: ByteBuffer(string: "3\n{x}")) { _ in } }
        #expect(malformed?.code == .malformedJSON)
        // An event the generated decoder refuses (an enum by number: the master would refuse it) is the reference's
        // to read, and it reads it.
        #expect(try Self.json.decode(SchedulerEvent.self, from: ByteBuffer(string: #"{"type":8}"#)).type == .heartbeat)
        let truncated = #expect(throws: MesosCodecError.self) {
            try MessageCodec(.protobuf).decode(SchedulerEvent.self, from: ByteBuffer(bytes: [0x08, 0x08, 0x12, 0x05, 0x0a]))
        }
        #expect(truncated?.code == .malformedProtobuf)
        let framing = NIOSingleStepByteToMessageProcessor(MesosEventDecoder(SchedulerEvent.self, contentType: .json, maximumRecordSize: 10))
        let error = #expect(throws: RecordIOError.self) { try framing.process(buffer: ByteBuffer(string: "11\n")) { _ in } }
        #expect(error?.code == .recordTooLarge)
    }
}
