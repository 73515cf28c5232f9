import Foundation
import Mesos
@_spi(Testing) import MesosCodecs
import MesosRecordIO
import NIOCore
import SwiftProtobuf
import Testing

/// The generated codecs against the reference (swift-protobuf with the Mesos reader): the same value for every
/// recorded message and corpus event, in both content types, and bytes the reference reads back to the same value.
@Suite("Generated codecs against the reference")
struct GeneratedCodecTests {
    static let referenceJSON = MessageCodec(.json, jsonReading: .exactlyAsMesos, implementation: .reference)
    static let referenceProtobuf = MessageCodec(.protobuf, implementation: .reference)

    static func reference(_ contentType: ContentType) -> MessageCodec {
        contentType == .json ? Self.referenceJSON : Self.referenceProtobuf
    }

    /// Decodes `bytes` both ways and checks they agree; then encodes the value with the generated encoder and
    /// checks the reference reads it back to the same value. Returns whether the input was a valid message.
    @discardableResult
    static func agree<M: SwiftProtobuf.Message & Equatable>(
        _ type: M.Type,
        _ contentType: ContentType,
        _ bytes: [UInt8],
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> Bool {
        let reference = Result { () throws(MesosCodecError) in try Self.reference(contentType).decode(type, from: bytes) }
        let generated = bytes.withUnsafeBytes { GeneratedCodecs.decode(type, contentType, $0) }
        switch (reference, generated) {
        case (.success(let expected), .some(let actual)):
            #expect(actual == expected, "\(M.protoMessageName) \(contentType)", sourceLocation: sourceLocation)
            for target in [ContentType.json, .protobuf] {
                guard let encoded = GeneratedCodecs.encode(actual, target) else {
                    Issue.record("the generated encoder refuses a decoded \(M.protoMessageName)", sourceLocation: sourceLocation)
                    continue
                }
                let again = try? Self.reference(target).decode(type, from: encoded)
                // JSON carries no unknown fields.
                var expectedAgain = expected
                if target == .json { expectedAgain.unknownFields = UnknownStorage() }
                #expect(again.map { $0.withoutUnknownFields() } == expectedAgain.withoutUnknownFields(), "\(M.protoMessageName) \(contentType)→\(target)", sourceLocation: sourceLocation)
                if target == .protobuf && contentType == .protobuf {
                    #expect(again == expected, "unknown fields kept", sourceLocation: sourceLocation)
                }
            }
            return true
        case (.failure, nil):
            return false
        case (.success, nil):
            Issue.record("the reference decodes a \(M.protoMessageName) (\(contentType)) that the generated decoder refuses", sourceLocation: sourceLocation)
            return false
        case (.failure(let error), .some):
            Issue.record("the generated decoder accepts a \(M.protoMessageName) (\(contentType)) that the reference refuses: \(error)", sourceLocation: sourceLocation)
            return false
        }
    }

    // MARK: Recorded traffic

    @Test("every recorded JSON event and call: the same value as the reference, and encodings it reads back")
    func recordedJSON() throws {
        var count = 0
        for path in ["json/subscribe_stream.recordio", "ssl/subscribe_stream.recordio", "failover/first_stream.recordio",
                     "failover/resubscribe_stream.recordio", "executor/scheduler_stream.recordio"] {
            for record in try Fixtures.records(path) {
                #expect(Self.agree(SchedulerEvent.self, .json, record), "\(path)")
                count += 1
            }
        }
        for record in try Fixtures.records("executor/executor_stream.recordio") {
            #expect(Self.agree(ExecutorEvent.self, .json, record))
            count += 1
        }
        for path in ["json/calls.json", "ssl/calls.json", "failover/calls.json", "executor/scheduler_calls.json", "auth/auth_calls.json"] {
            for exchange in try Fixtures.exchanges(path) {
                guard let body = exchange.requestBody, exchange.contentType == "application/json" else { continue }
                Self.agree(SchedulerCall.self, .json, Array(body.utf8))
                count += 1
            }
        }
        for exchange in try Fixtures.exchanges("executor/executor_calls.json") {
            guard let body = exchange.requestBody, exchange.contentType == "application/json" else { continue }
            Self.agree(ExecutorCall.self, .json, Array(body.utf8))
            count += 1
        }
        #expect(count > 60)
    }

    @Test("every recorded protobuf event and call: the same value as the reference, and encodings it reads back")
    func recordedProtobuf() throws {
        let records = try Fixtures.records("protobuf/subscribe_stream.recordio")
        #expect(!records.isEmpty)
        for record in records { #expect(Self.agree(SchedulerEvent.self, .protobuf, record)) }
        let folder = Fixtures.root.appendingPathComponent("protobuf")
        let calls = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix("call_") && $0.hasSuffix(".bin") }
        #expect(!calls.isEmpty)
        for name in calls { Self.agree(SchedulerCall.self, .protobuf, try Fixtures.bytes("protobuf/" + name)) }
        Self.agree(SchedulerCall.self, .protobuf, try Fixtures.bytes("protobuf/subscribe_request.bin"))
    }

    // MARK: The bench corpora

    static let corpusFolder = ProcessInfo.processInfo.environment["CORPUS_DIR"] ?? "/tmp/peers-corpus"

    @Test(
        "the first events of every bench corpus, both content types",
        .enabled(if: FileManager.default.fileExists(atPath: corpusFolder + "/mix.json.rio")),
        arguments: ["offers", "updates", "mix"]
    )
    func corpus(name: String) throws {
        for (suffix, contentType) in [("json", ContentType.json), ("pb", .protobuf)] {
            let path = "\(Self.corpusFolder)/\(name).\(suffix).rio"
            guard let handle = FileHandle(forReadingAtPath: path) else { continue }
            let head = handle.readData(ofLength: 4 << 20)
            var buffer = ByteBuffer(bytes: head)
            var framing = RecordIODecoder()
            var count = 0
            while count < 1500, let record = try framing.decode(buffer: &buffer) {
                #expect(Self.agree(SchedulerEvent.self, contentType, Array(record.readableBytesView)))
                count += 1
            }
            #expect(count > 100)
        }
    }

    // MARK: The spellings the master reads

    static let spellings: [String] = [
        #"{"type":"HEARTBEAT"}"#,
        #" {"type" : "HEARTBEAT" , "unknown": {"a": [1, 2.5e3, "x\u00e9", null, true, false, {}]}} "#,
        #"{"type":"NOT_A_TYPE"}"#,
        #"{"type":null,"subscribed":null}"#,
        #"{"ty\u0070e":"HEARTBEAT"}"#,
        #"{"type":"SUBSCRIBED","subscribed":{"framework_id":{"value":"f"},"heartbeat_interval_seconds":"15"}}"#,
        #"{"type":"SUBSCRIBED","subscribed":{"framework_id":{"value":"f"},"heartbeat_interval_seconds":"Infinity"}}"#,
        #"{"type":"SUBSCRIBED","subscribed":{"framework_id":{"value":"f"},"heartbeat_interval_seconds":" 1.5 "}}"#,
        #"{"type":"SUBSCRIBED","subscribed":{"framework_id":{"value":"f"},"heartbeat_interval_seconds":"NaN"}}"#,
        #"{"type":"SUBSCRIBED","subscribed":{"framework_id":{"value":"f"},"heartbeat_interval_seconds":1e999}}"#,
        #"{"type":"SUBSCRIBED","subscribed":{"framework_id":{"value":7}}}"#,
        #"{"type":"SUBSCRIBED","subscribed":{"heartbeat_interval_seconds":15}}"#,
        #"{"type":"SUBSCRIBED","subscribed":{"framework_id":{"value":"f"},"master_info":{"id":"m","ip":"3000000000","port":5050,"capabilities":[{}]}}}"#,
        #"{"type":"SUBSCRIBED","subscribed":{"framework_id":{"value":"f"},"master_info":{"id":"m","ip":-1,"port":"5050","capabilities":{"type":"AGENT_UPDATE"}}}}"#,
        #"{"type":"SUBSCRIBED","subscribed":{"framework_id":{"value":"f"},"master_info":{"id":"m","ip":1.9,"port":99999999999999999999}}}"#,
        #"{"type":"UPDATE","update":{"status":{"task_id":{"value":"t"},"state":"TASK_RUNNING","uuid":"AAECAwQFBgcICQoLDA0ODw==","healthy":"true"}}}"#,
        #"{"type":"UPDATE","update":{"status":{"task_id":{"value":"t"},"state":"TASK_RUNNING","uuid":"AAECAwQFBgcICQoLDA0ODw","healthy":"false"}}}"#,
        #"{"type":"UPDATE","update":{"status":{"task_id":{"value":"t"},"state":"TASK_RUNNING","uuid":"AAECAwQFBgcICQoLDA0ODw_-"}}}"#,
        #"{"type":"UPDATE","update":{"status":{"task_id":{"value":"t"},"state":"TASK_RUNNING","healthy":1}}}"#,
        #"{"type":"UPDATE","update":{"status":{"task_id":{"value":"t"},"state":"TASK_NOPE"}}}"#,
        #"{"type":"UPDATE","update":{"status":{"task_id":{"value":"t"},"state":1}}}"#,
        #"{"type":"RESCIND","rescind":{"offer_id":{"value":"o"}},"rescind":{"offer_id":{"value":"p"}}}"#,
        #"{"type":"OFFERS","offers":{"offers":{"id":{"value":"o"},"framework_id":{"value":"f"},"agent_id":{"value":"a"},"hostname":"h"}}}"#,
        #"{"type":"OFFERS","offers":{"offers":[{"id":{"value":"o"},"framework_id":{"value":"f"},"agent_id":{"value":"a"},"hostname":"h","resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":"2"}}]}],"offers":[]}}"#,
        #"{"type":"OFFERS","offers":{"offers":[null]}}"#,
        #"{"type":"OFFERS","offers":{"offers":[[]]}}"#,
        #"{"type":"HEARTBEAT"} x"#,
        #"{"type":"HEARTBEAT""#,
        #"[]"#,
        "",
        #"{"type":"HEARTBEAT","x":"\ud800"}"#,
        #"{"type":"HEARTBEAT","x":"\ud83d\ude00"}"#,
        #"{"type":"HEARTBEAT","x":01}"#,
        #"{"type":"HEARTBEAT","x":tru}"#,
        // A required field missing from one occurrence and given by the next, merged into it (found by FuzzJSON).
        #"{"type":"RESCIND","rescind":{"offer_id":{"valu":"o"}},"rescind":{"offer_id":{"value":"p"}}}"#,
        #"{"type":"RESCIND","rescind":{"offer_id":{"valu":"o"}}}"#,
    ]

    @Test("the JSON spellings of fixtures/README.md, valid and not: the reference's value or its error")
    func spellings() {
        for text in Self.spellings {
            Self.agree(SchedulerEvent.self, .json, Array(text.utf8))
        }
        let deep = String(repeating: #"{"a":"#, count: 100) + "1" + String(repeating: "}", count: 100)
        Self.agree(SchedulerEvent.self, .json, Array(deep.utf8))
        let deeper = String(repeating: #"{"a":"#, count: 101) + "1" + String(repeating: "}", count: 101)
        Self.agree(SchedulerEvent.self, .json, Array(deeper.utf8))
    }

    @Test("malformed input: MessageCodec gives the reference's error code and fields")
    func errors() {
        let cases: [(ContentType, [UInt8])] = [
            (.json, Array(#"{"type":"UPDATE","update":{"status":{"task_id":{"value":"t"},"state":"TASK_NOPE"}}}"#.utf8)),
            (.json, Array(#"{"type":"UPDATE","update":{"status":{"task_id":{"value":1},"state":"TASK_RUNNING"}}}"#.utf8)),
            (.json, Array(#"{"type":"UPDATE","update":{"status":{"state":"TASK_RUNNING"}}}"#.utf8)),
            (.json, Array(#"{"type":"UPDATE""#.utf8)),
            (.protobuf, [0x08]),
            (.protobuf, [0x12, 0x05, 0x0A]),
            (.protobuf, [0x08, 0x01, 0x12, 0x02, 0x0A]),
        ]
        for (contentType, bytes) in cases {
            let reference = MessageCodec(contentType, jsonReading: .exactlyAsMesos, implementation: .reference)
            let generated = MessageCodec(contentType, jsonReading: .exactlyAsMesos)
            var referenceError: MesosCodecError?
            var generatedError: MesosCodecError?
            do { _ = try reference.decode(SchedulerEvent.self, from: bytes) } catch { referenceError = error }
            do { _ = try generated.decode(SchedulerEvent.self, from: bytes) } catch { generatedError = error }
            #expect(referenceError != nil)
            #expect(generatedError?.code == referenceError?.code)
            #expect(generatedError?.fields == referenceError?.fields)
            #expect(generatedError?.message == referenceError?.message)
        }
    }

    @Test("binary: unknown fields and unknown enum numbers are kept, as the reference keeps them")
    func unknownFields() throws {
        var event = SchedulerEvent()
        event.type = .update
        event.update.status.taskID.value = "t"
        event.update.status.state = .taskRunning
        var bytes = try event.serializedBytes() as [UInt8]
        bytes += [0xF8, 0x3E, 0x07]  // field 999, varint 7
        Self.agree(SchedulerEvent.self, .protobuf, bytes)
        bytes += [0x08, 0x63]  // type = 99: not a Type
        Self.agree(SchedulerEvent.self, .protobuf, bytes)
        // A required field missing from one occurrence and given by the next.
        var first = SchedulerEvent()
        first.type = .rescind
        first.rescind.offerID.value = "o"
        let complete = try first.serializedBytes() as [UInt8]
        first.rescind.offerID.clearValue()
        let partial = try first.serializedBytes(partial: true) as [UInt8]
        Self.agree(SchedulerEvent.self, .protobuf, partial + complete)
        Self.agree(SchedulerEvent.self, .protobuf, partial)
        let nested: [UInt8] = [0x08, 0x03, 0x1A, 0x0B, 0x0A, 0x09, 0x0A, 0x03, 0x0A, 0x01, 0x74, 0x10, 0x01, 0xA0, 0x06, 0x02]
        Self.agree(SchedulerEvent.self, .protobuf, nested)
    }

    @Test("binary: tags spelled as swift-protobuf reads them, at most 5 bytes (found by FuzzProtobuf)")
    func binaryTagSpellings() {
        // Event.type (field 1, varint) and Event.failure (field 7, empty message), their tags spelled in 1 to 7
        // bytes: the reference reads up to 5 (the fifth at most 15) and refuses longer ones, even overlong
        // spellings of a small tag, which the generated reader used to accept.
        func spelled(_ tag: UInt8, bytes: Int) -> [UInt8] {
            bytes == 1 ? [tag] : [tag | 0x80] + Array(repeating: 0x80, count: bytes - 2) + [0x00]
        }
        var accepted: [Int] = []
        for length in 1...7 {
            let type = spelled(0x08, bytes: length) + [0x01]
            let failure = spelled(0x3A, bytes: length) + [0x00]
            let afterAField = [0x08, 0x01] + failure
            let results = [type, failure, afterAField].map { Self.agree(SchedulerEvent.self, .protobuf, $0) }
            #expect(Set(results).count == 1, "\(length) bytes")
            if results[0] { accepted.append(length) }
        }
        #expect(accepted == [1, 2, 3, 4, 5])
        // A fifth byte over 15 (a tag past 32 bits) is refused too, and a tag of 2^32 - 1's spelling is not a field.
        Self.agree(SchedulerEvent.self, .protobuf, [0xF8, 0x87, 0x80, 0x80, 0x10, 0x01])
        Self.agree(SchedulerEvent.self, .protobuf, [0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x01])
    }

    @Test("binary: a repeated field's elements apart from one another (merged messages) all arrive, in order")
    func binaryRepeatedApart() throws {
        // Concatenated encodings merge: the lists append. The list is sized for the first run of elements only.
        func networkInfo(_ address: String) -> Mesos_V1_NetworkInfo {
            var info = Mesos_V1_NetworkInfo()
            var ip = Mesos_V1_NetworkInfo.IPAddress()
            ip.ipAddress = address
            info.ipAddresses = [ip]
            return info
        }
        var first = Mesos_V1_ContainerStatus()
        first.networkInfos = [networkInfo("10.0.0.1")]
        var middle = Mesos_V1_ContainerStatus()
        middle.executorPid = 42
        var last = Mesos_V1_ContainerStatus()
        last.networkInfos = [networkInfo("10.0.0.2"), networkInfo("10.0.0.3"), networkInfo("10.0.0.4")]
        let bytes: [UInt8] = try first.serializedBytes() + middle.serializedBytes() + last.serializedBytes() + first.serializedBytes()
        #expect(Self.agree(Mesos_V1_ContainerStatus.self, .protobuf, bytes))
        let decoded = try #require(bytes.withUnsafeBytes { GeneratedCodecs.decode(Mesos_V1_ContainerStatus.self, .protobuf, $0) })
        #expect(decoded.networkInfos.map { $0.ipAddresses[0].ipAddress } == ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.1"])
        #expect(decoded.executorPid == 42)
    }

    @Test("binary: a map entry without its value holds an empty message, missing its required fields (found by FuzzProtobuf)")
    func binaryMapEntryWithoutValue() {
        // A TaskInfo (name, task_id, agent_id set) whose limits map (string -> Value.Scalar, whose `value` is
        // required) has an entry with a key only: the reference refuses it, and the generated decoder used to
        // accept it. With the value present and complete both accept; present and empty, both refuse.
        let required: [UInt8] = [0x0A, 0x01, 0x74, 0x12, 0x03, 0x0A, 0x01, 0x74, 0x1A, 0x03, 0x0A, 0x01, 0x61]
        let one = withUnsafeBytes(of: (1.0).bitPattern.littleEndian, Array.init)
        #expect(!Self.agree(Mesos_V1_TaskInfo.self, .protobuf, required + [0x7A, 0x03, 0x0A, 0x01, 0x6B]))
        #expect(Self.agree(Mesos_V1_TaskInfo.self, .protobuf, required + [0x7A, 0x0E, 0x0A, 0x01, 0x6B, 0x12, 0x09, 0x09] + one))
        #expect(!Self.agree(Mesos_V1_TaskInfo.self, .protobuf, required + [0x7A, 0x05, 0x0A, 0x01, 0x6B, 0x12, 0x00]))
        // The value before the key, and an entry given twice (the second without a value replaces the first).
        #expect(Self.agree(Mesos_V1_TaskInfo.self, .protobuf, required + [0x7A, 0x0E, 0x12, 0x09, 0x09] + one + [0x0A, 0x01, 0x6B]))
        #expect(!Self.agree(
            Mesos_V1_TaskInfo.self, .protobuf,
            required + [0x7A, 0x0E, 0x0A, 0x01, 0x6B, 0x12, 0x09, 0x09] + one + [0x7A, 0x03, 0x0A, 0x01, 0x6B]
        ))
    }

    @Test("binary: a NaN double keeps its bits through both decoders and the generated encoder (found by FuzzProtobuf)")
    func binaryNaN() throws {
        // A DECLINE (type 4) whose filters.refuse_seconds is a NaN with a payload (bits 0xFFF0_0000_0004_FF00).
        let bits: UInt64 = 0xFFF0_0000_0004_FF00
        let bytes: [UInt8] = [0x10, 0x04, 0x2A, 0x0B, 0x12, 0x09, 0x09] + withUnsafeBytes(of: bits.littleEndian, Array.init)
        let expected = try MessageCodec(.protobuf, implementation: .reference).decode(SchedulerCall.self, from: bytes)
        let generated = try #require(bytes.withUnsafeBytes { GeneratedCodecs.decode(SchedulerCall.self, .protobuf, $0) })
        #expect(expected.decline.filters.refuseSeconds.bitPattern == bits)
        #expect(generated.decline.filters.refuseSeconds.bitPattern == bits)
        // NaN is not equal to itself, so the two values compare by their bytes.
        #expect(try generated.serializedBytes() as [UInt8] == bytes)
        #expect(GeneratedCodecs.encode(generated, .protobuf) == bytes)
    }

    @Test("encoders: a required field unset at any depth means no bytes, exactly when isInitialized says so")
    func encodersRefuseIncomplete() {
        func accept(_ edit: (inout Mesos_V1_TaskInfo) -> Void) -> SchedulerCall {
            var call = BenchCalls.accept(launches: 2)
            edit(&call.accept.operations[0].launch.taskInfos[1])
            return call
        }
        let calls: [SchedulerCall] = [
            accept { _ in },
            accept { $0.clearAgentID() },  // required in TaskInfo, second element of a list
            accept { $0.resources[0].clearScalar() },  // optional: still complete
            accept { $0.resources[0].scalar.clearValue() },  // required in Value.Scalar, three levels down
            accept { $0.resources[0].clearName() },
            accept { $0.command.uris = [Mesos_V1_CommandInfo.URI()] },  // URI.value is required
        ]
        for (index, call) in calls.enumerated() {
            for contentType in [ContentType.json, .protobuf] {
                let encoded = GeneratedCodecs.encode(call, contentType)
                #expect((encoded != nil) == call.isInitialized, "call \(index) \(contentType)")
            }
        }
        #expect(calls.map(\.isInitialized) == [true, false, true, false, false, false])
    }

    @Test("JSON doubles: the in-place decimal path gives strtod's double, at 2^53 and 10^22 and past them")
    func jsonDecimals() {
        var texts = [
            "1700000000.068438", "9007199254740992", "9007199254740993", "9007199254740991.5", "900719925474099.3",
            "0.1", "0.30000000000000004", "-0.0", "-1700000000.5", "123456789012345678", "12345678901234567890",
            "1.0000000000000000000001", "0.0000000000000000000001", "0.00000000000000000000001", "4.35", "2.675",
            "1e22", "1.5E-3",
        ]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let digits = String(UInt64.random(in: 1...(1 << 54), using: &generator))
            let point = Int.random(in: 0...digits.count, using: &generator)
            texts.append(String(digits.prefix(point)) + (point < digits.count ? "." + digits.dropFirst(point) : ""))
        }
        for text in texts {
            let number = text.hasPrefix(".") ? "0" + text : text
            let body = Array("{\"task_id\":{\"value\":\"t\"},\"state\":\"TASK_RUNNING\",\"timestamp\":\(number)}".utf8)
            #expect(Self.agree(Mesos_V1_TaskStatus.self, .json, body), "\(number)")
        }
        // Not JSON numbers: both refuse them.
        for number in ["01.5", "00000000000000000001", "1.", ".5", "-"] {
            let body = Array("{\"task_id\":{\"value\":\"t\"},\"state\":\"TASK_RUNNING\",\"timestamp\":\(number)}".utf8)
            #expect(!Self.agree(Mesos_V1_TaskStatus.self, .json, body), "\(number)")
        }
    }

    @Test("JSON integers and doubles: every spelling around the one-pass number path gives the reference's value or error")
    func jsonNumbers() {
        var numbers = [
            "0", "-0", "7", "-7", "01", "-01", "00", "1.5", "-1.5", "1.", ".5", "-", "--1", "1e3", "1E3", "1e", "1.5e2",
            "1.0", "0.0", "-0.0", "0.5", "4294967295", "4294967296", "-4294967296", "2147483647", "2147483648", "-2147483649",
            "999999999999999999", "1000000000000000000", "-999999999999999999", "9223372036854775807", "9223372036854775808",
            "-9223372036854775808", "-9223372036854775809", "18446744073709551615", "18446744073709551616",
            "12345678901234567890123", "1234567890123456789", "0.1234567890123456789", "0.00000000000000000001234",
            "9007199254740993", "9007199254740993.0", "1844674407370955161.6", "0.18446744073709551616", "-18446744073709551616",
            "1.7976931348623157e308", "1e400", "12abc", "1 ", "1}", "1,",
        ]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let digits = String(UInt64.random(in: 0...UInt64.max, using: &generator)).prefix(Int.random(in: 1...20, using: &generator))
            numbers.append((Bool.random(using: &generator) ? "-" : "") + digits)
        }
        for number in numbers {
            // int64 (required), uint64 (required), uint32 and int32, then a double, each with a member after it.
            Self.agree(Mesos_V1_TimeInfo.self, .json, Array("{\"nanoseconds\":\(number)}".utf8))
            Self.agree(Mesos_V1_Value.Range.self, .json, Array("{\"begin\":\(number),\"end\":5}".utf8))
            Self.agree(Mesos_V1_ContainerStatus.self, .json, Array("{\"executor_pid\":\(number),\"network_infos\":[]}".utf8))
            Self.agree(Mesos_V1_CheckStatusInfo.Command.self, .json, Array("{\"exit_code\":\(number)}".utf8))
            Self.agree(Mesos_V1_Value.Scalar.self, .json, Array("{\"value\":\(number)}".utf8))
            Self.agree(Mesos_V1_Value.Scalar.self, .json, Array("{\"value\":\"\(number)\"}".utf8))
        }
        #expect(Self.agree(Mesos_V1_Value.Range.self, .json, Array(#"{"begin":31000,"end":32000}"#.utf8)))
    }

    @Test("JSON strings and keys: a quote, an escape, a control character or non-ASCII at every place of the eight-byte scan")
    func jsonStringScan() {
        // What may follow a run of plain ASCII in a string, spelled as it appears inside the quotes.
        let specials: [[UInt8]] = [
            [], Array(#"\""#.utf8), Array(#"\\"#.utf8), Array(#"\n"#.utf8), Array(#"\u00e9"#.utf8), Array(#"\u005f"#.utf8),
            Array("é".utf8), Array("😀".utf8), [0x7F], [0x01], [0x1F], [0xFF], [0xC3],
        ]
        var bodies = 0
        for length in 0..<20 {
            let plain = Array("abcdefghijklmnopqrstuvwxyz".utf8.prefix(length))
            for special in specials {
                for tail in [[], Array("xyz".utf8)] as [[UInt8]] {
                    let text = plain + special + tail
                    // As a value: the task ID; as a key: an unknown one (skipped) and one an escape may spell.
                    let value = Array(#"{"task_id":{"value":""#.utf8) + text + Array(#""},"state":"TASK_RUNNING"}"#.utf8)
                    let unknownKey = Array(#"{""#.utf8) + text + Array(#"":1,"task_id":{"value":"t"},"state":"TASK_RUNNING"}"#.utf8)
                    let knownKey = Array(#"{"task"#.utf8) + special + Array(#"id":{"value":"t"},"state":"TASK_RUNNING"}"#.utf8)
                    for body in [value, unknownKey, knownKey] {
                        Self.agree(Mesos_V1_TaskStatus.self, .json, body)
                        bodies += 1
                    }
                }
            }
        }
        #expect(bodies == 20 * 13 * 2 * 3)
        // `task\u005fid` is `task_id`: the generated decoder must match the key after the escape, as the reference does.
        let escapedKey = Array(#"{"task\u005fid":{"value":"t"},"state":"TASK_RUNNING"}"#.utf8)
        #expect(Self.agree(Mesos_V1_TaskStatus.self, .json, escapedKey))
    }

    @Test("JSON bytes: base64 of 0 to 300 bytes, padded or not, a bad character anywhere, stray bits: the reference's answer")
    func jsonBase64() {
        var generator = SystemRandomNumberGenerator()
        for count in 0...300 {
            let data = Data((0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) })
            let padded = data.base64EncodedString()
            var texts = [padded, padded.replacingOccurrences(of: "=", with: "")]
            if !padded.isEmpty {
                var bad = Array(padded.utf8)
                bad[Int.random(in: 0..<bad.count, using: &generator)] = UInt8(ascii: "*")
                texts.append(String(decoding: bad, as: UTF8.self))
            }
            if padded.hasSuffix("=") {
                // The last character before the padding with its unused low bits set: refused by both.
                var stray = Array(padded.utf8)
                let last = stray.lastIndex { $0 != UInt8(ascii: "=") }!
                stray[last] = UInt8(ascii: "/")
                texts.append(String(decoding: stray, as: UTF8.self))
            }
            for text in texts {
                let body = Array("{\"task_id\":{\"value\":\"t\"},\"state\":\"TASK_RUNNING\",\"uuid\":\"\(text)\"}".utf8)
                let valid = Self.agree(Mesos_V1_TaskStatus.self, .json, body)
                if text == padded { #expect(valid, "\(count) bytes") }
            }
        }
    }

    @Test("binary strings: every UTF-8 edge (overlong, surrogate, past U+10FFFF, truncated) refused as the reference refuses it")
    func binaryStringUTF8() {
        let edges: [UInt8] = [0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF]
        var payloads: [[UInt8]] = (0...255).map { [UInt8($0)] }
        for lead in 0xC0...0xFF {
            for second in edges {
                payloads.append([UInt8(lead), second])
                for third in [0x80, 0xBF, 0x41] as [UInt8] {
                    payloads.append([UInt8(lead), second, third])
                    payloads.append([UInt8(lead), second, third, 0x80])
                }
            }
        }
        payloads += ["é", "€", "😀", "\u{10FFFF}", "\u{D7FF}", "\u{E000}"].map { Array($0.utf8) }
        var refused = 0
        for payload in payloads {
            // An AgentID (string field 1), the text alone and after nine ASCII bytes (the eight-at-a-time path).
            for text in [payload, Array("abcdefghi".utf8) + payload] {
                if !Self.agree(AgentID.self, .protobuf, [0x0A, UInt8(text.count)] + text) { refused += 1 }
            }
        }
        #expect(refused > 1000)  // most of these are not UTF-8: the check above compared each with the reference
    }

    @Test("encoders: ACCEPT with launches and ACKNOWLEDGE read back by the reference, both content types")
    func encoders() throws {
        for call in [BenchCalls.accept(launches: 100), BenchCalls.acknowledge()] {
            for contentType in [ContentType.json, .protobuf] {
                let bytes = try MessageCodec(contentType).encode(call)
                #expect(try Self.reference(contentType).decode(SchedulerCall.self, from: bytes) == call)
            }
        }
        var incomplete = SchedulerCall()
        incomplete.type = .acknowledge
        incomplete.acknowledge.taskID.value = "t"
        #expect(throws: MesosCodecError.self) { try MessageCodec(.json).encode(incomplete) }
        #expect(throws: MesosCodecError.self) { try MessageCodec(.protobuf).encode(incomplete) }
    }
}

/// The calls the encode benchmark writes.
enum BenchCalls {
    static func accept(launches: Int) -> SchedulerCall {
        var call = SchedulerCall()
        call.type = .accept
        call.frameworkID.value = "18d6e804-c1d1-408a-88d4-3bd14da45902-0001"
        call.accept.offerIds = [OfferID.with { $0.value = "18d6e804-c1d1-408a-88d4-3bd14da45902-O12" }]
        var operation = Mesos_V1_Offer.Operation()
        operation.type = .launch
        for index in 0..<launches {
            var task = Mesos_V1_TaskInfo()
            task.name = "task-\(index)"
            task.taskID.value = "task-\(index)-2f1e2d3c"
            task.agentID.value = "18d6e804-c1d1-408a-88d4-3bd14da45902-S0"
            task.command.value = "./run.sh --index \(index)"
            task.command.uris = [Mesos_V1_CommandInfo.URI.with { $0.value = "http://10.0.0.1:8080/a/3f2a/app.tar.gz"; $0.extract = true }]
            for (name, value) in [("cpus", 0.5), ("mem", 128.0)] {
                var resource = Mesos_V1_Resource()
                resource.name = name
                resource.type = .scalar
                resource.scalar.value = value
                resource.allocationInfo.role = "*"
                task.resources.append(resource)
            }
            operation.launch.taskInfos.append(task)
        }
        call.accept.operations = [operation]
        call.accept.filters.refuseSeconds = 5
        return call
    }

    static func acknowledge() -> SchedulerCall {
        var call = SchedulerCall()
        call.type = .acknowledge
        call.frameworkID.value = "18d6e804-c1d1-408a-88d4-3bd14da45902-0001"
        call.acknowledge.agentID.value = "18d6e804-c1d1-408a-88d4-3bd14da45902-S0"
        call.acknowledge.taskID.value = "task-1-2f1e2d3c"
        call.acknowledge.uuid = Data((0..<16).map { UInt8($0) })
        return call
    }
}

extension SwiftProtobuf.Message {
    /// The value without unknown fields at any depth (JSON carries none).
    func withoutUnknownFields() -> Self {
        var options = BinaryDecodingOptions()
        options.discardUnknownFields = true
        guard let bytes: [UInt8] = try? self.serializedBytes(partial: true),
            let copy = try? Self(serializedBytes: bytes, partial: true, options: options)
        else { return self }
        return copy
    }
}
