import Foundation
import Mesos
@_spi(Benchmarks) @testable import MesosCodecs
import Testing

/// The decoders share the strings of IDs they saw lately on the same thread: equal IDs decoded from different
/// events use one buffer, and every value is still exactly the input's.
@Suite("Strings shared between decoded messages")
struct StringInternerTests {
    static let codecs = [MessageCodec(.json), MessageCodec(.protobuf)]

    static func status(task: String, agent: String, message: String = "") -> Mesos_V1_TaskStatus {
        var status = Mesos_V1_TaskStatus()
        status.taskID.value = task
        status.state = .taskRunning
        status.agentID.value = agent
        if !message.isEmpty { status.message = message }
        return status
    }

    static func roundTrip(_ status: Mesos_V1_TaskStatus, _ codec: MessageCodec) throws -> Mesos_V1_TaskStatus {
        try codec.decode(Mesos_V1_TaskStatus.self, from: try codec.encode(status))
    }

    /// Where a string's UTF-8 lives (nil for one stored inside the value).
    static func storage(_ string: String) -> UnsafeRawPointer? {
        string.utf8.withContiguousStorageIfAvailable { UnsafeRawPointer($0.baseAddress) } ?? nil
    }

    @Test("an ID decoded twice is one buffer; different IDs are not", arguments: codecs)
    func sharesEqualIDs(codec: MessageCodec) throws {
        let task = "billing-worker.\(UUID().uuidString.lowercased())"
        let agent = "\(UUID().uuidString.lowercased())-S17"
        let first = try Self.roundTrip(Self.status(task: task, agent: agent), codec)
        let second = try Self.roundTrip(Self.status(task: task, agent: agent), codec)
        #expect(first.taskID.value == task && second.taskID.value == task)
        #expect(first.agentID.value == agent && second.agentID.value == agent)
        #expect(Self.storage(first.taskID.value) != nil)
        #expect(Self.storage(first.taskID.value) == Self.storage(second.taskID.value))
        #expect(Self.storage(first.agentID.value) == Self.storage(second.agentID.value))
        #expect(Self.storage(first.taskID.value) != Self.storage(first.agentID.value))
    }

    @Test("values stay exact over many IDs, lengths at the edges, and non-ASCII text", arguments: codecs)
    func exactValues(codec: MessageCodec) throws {
        // More distinct strings (IDs and messages) than the cache has entries, each seen twice at a distance, so
        // sets fill and strings are replaced; lengths from 1 to past the longest cached (96 bytes).
        var generator = SystemRandomNumberGenerator()
        var ids: [String] = []
        for index in 0..<12000 {
            let length = 1 + index % 110
            let alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-._"
            ids.append(String((0..<length).map { _ in alphabet.randomElement(using: &generator)! }))
        }
        ids += [
            "é" + String(repeating: "x", count: 20), "タスク-" + String(repeating: "9", count: 30),
            String(repeating: "€", count: 32),
            // Short ones (the table keyed by the bytes): non-ASCII, a NUL that zero-padding must not hide, 15 bytes.
            "é", "€€€", "タスク", "a\u{0}", "a", "\u{0}", "123456789012345", "12345678901234€",
        ]
        for round in 0..<2 {
            for (index, id) in ids.enumerated() {
                let agent = ids[(index + 7 * round) % ids.count]
                let decoded = try Self.roundTrip(Self.status(task: id, agent: agent, message: id + id), codec)
                #expect(decoded.taskID.value == id)
                #expect(decoded.agentID.value == agent)
                #expect(decoded.message == id + id)
            }
        }
    }

    @Test("strings that differ in any one byte stay distinct", arguments: codecs)
    func stringsDifferingInOneByte(codec: MessageCodec) throws {
        // Each length 1 to 96 (the longest cached), each position changed, each decoded right after its neighbour.
        // Under 16 bytes the table's key is the bytes themselves, so a byte left out of the key would return the
        // neighbour's string. From 16 a hit needs both the 64-bit hash and a comparison of the bytes to agree, so
        // here only a byte that both missed would (the next test checks the comparison alone).
        let base = Array(String(repeating: "abcdefghijklmnopqrstuvwxyz0123456789", count: 3).utf8)
        for length in 1...96 {
            let original = String(decoding: base.prefix(length), as: UTF8.self)
            for position in 0..<length {
                var changed = Array(base.prefix(length))
                changed[position] = UInt8(ascii: "Z")
                let variant = String(decoding: changed, as: UTF8.self)
                for id in [original, variant, original, variant] {
                    #expect(try Self.roundTrip(Self.status(task: id, agent: id), codec).taskID.value == id)
                }
            }
        }
    }

    @Test("a hit's comparison sees every byte of a string of 16 to 96 bytes, and its length")
    func comparisonSeesEveryByte() {
        // Reached only when the hashes agree, so the decoding tests hardly ever exercise it: checked directly.
        let base = Array(String(repeating: "abcdefghijklmnopqrstuvwxyz0123456789", count: 3).utf8)
        for length in 16...96 {
            let stored = String(decoding: base.prefix(length), as: UTF8.self)
            base.withUnsafeBytes { bytes in
                #expect(StringInterner.holds(stored, bytes.baseAddress!, length))
                #expect(!StringInterner.holds(stored, bytes.baseAddress!, length - 1))
                #expect(!StringInterner.holds(stored, bytes.baseAddress!, length + 1))
            }
            for position in 0..<length {
                var changed = base
                changed[position] = UInt8(ascii: "Z")
                changed.withUnsafeBytes { #expect(!StringInterner.holds(stored, $0.baseAddress!, length)) }
            }
        }
    }

    @Test("the IDs of hundreds of running tasks and their agents stay shared", arguments: codecs)
    func manyTasksStayShared(codec: MessageCodec) throws {
        // A scheduler sees each running task's IDs again at every update. 600 tasks named as frameworks name them (an
        // app and a UUID), each on an agent of its own, whose IDs differ only in their last characters as the master
        // makes them (its ID, then -S and a number): 1,200 strings for 4,096 entries. On a second pass, all but the
        // strings of sets that drew three or more (about 12% by chance) must be the buffers the first pass made.
        // 87-89% did. Sets taken from the hash's low bits, which such IDs hardly reach, shared 46%; the old table
        // (one string a slot, low bits) 35-38%.
        let apps = ["web-frontend", "billing-worker", "spark-executor", "kafka-broker"]
        let tasks = (0..<600).map { "\(apps[$0 % apps.count]).\(UUID().uuidString.lowercased())" }
        let master = UUID().uuidString.lowercased()
        let agents = tasks.indices.map { "\(master)-S\($0)" }
        func decodeAll() throws -> [String] {
            try zip(tasks, agents).flatMap { task, agent in
                let decoded = try Self.roundTrip(Self.status(task: task, agent: agent), codec)
                #expect(decoded.taskID.value == task && decoded.agentID.value == agent)
                return [decoded.taskID.value, decoded.agentID.value]
            }
        }
        // Both passes' strings are kept, so no buffer is freed and its address reused before they are compared.
        let first = try decodeAll()
        let second = try decodeAll()
        let shared = zip(first, second).filter { Self.storage($0) != nil && Self.storage($0) == Self.storage($1) }.count
        #expect(shared >= first.count * 80 / 100, "\(shared) of \(first.count) IDs shared")
    }

    @Test("invalid UTF-8 in a string field is still refused, seen before or not", arguments: [26, 9])
    func invalidUTF8(length: Int) throws {
        // 26 bytes go through the table of longer strings, 9 through the short one.
        let codec = MessageCodec(.protobuf)
        let valid = Array("abcdefghijklmnopqrstuvwxyz".utf8.prefix(length))
        var invalid = valid
        invalid[length - 3] = 0xFF
        for value in [valid, invalid, valid, invalid] {
            // TaskID { value = 1 (string) }
            let bytes: [UInt8] = [0x0A, UInt8(value.count)] + value
            let decoded = Result { () throws(MesosCodecError) in try codec.decode(Mesos_V1_TaskID.self, from: bytes) }
            switch decoded {
            case .success(let id): #expect(value == valid && id.value == String(decoding: valid, as: UTF8.self))
            case .failure: #expect(value == invalid)
            }
        }
    }

    @Test("threads decoding the same IDs at once each get exact values")
    func concurrentThreads() async throws {
        let ids = (0..<500).map { "task-\($0)-\(String(repeating: "z", count: $0 % 60))-end" }
        let failures = await withTaskGroup(of: Int.self) { group in
            for worker in 0..<4 {
                group.addTask {
                    let codec = Self.codecs[worker % 2]
                    var failures = 0
                    for round in 0..<20 {
                        for (index, id) in ids.enumerated() {
                            let agent = ids[(index + round + worker) % ids.count]
                            guard let decoded = try? Self.roundTrip(Self.status(task: id, agent: agent), codec),
                                decoded.taskID.value == id, decoded.agentID.value == agent
                            else {
                                failures += 1
                                continue
                            }
                        }
                    }
                    return failures
                }
            }
            return await group.reduce(0, +)
        }
        #expect(failures == 0)
    }
}
