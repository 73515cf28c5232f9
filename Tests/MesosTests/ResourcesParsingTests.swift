import Mesos
import PropertyBased
import Testing

@Suite("Resources parsing")
struct ResourcesParsingTests {
    typealias F = Fixture

    // MARK: Text form

    @Test("parses the text form and prints it back")
    func textForm() throws {
        let resources = try Resources(parsing: "cpus:1;mem:128;disk(role):10;ports:[31000-31005];zones:{a,b}")
        #expect(resources.cpus == 1)
        #expect(resources.mem == 128)
        #expect(resources.reserved(for: "role").disk == 10)
        #expect(resources.unreserved.disk == 0)
        #expect(resources.ports == [31000...31005])
        #expect(resources.set(named: "zones") == ["a", "b"])
        let disk = try #require(resources.first { $0.name == "disk" })
        #expect(disk.reservations == [.static(role: "role")])
        #expect(!disk.hasRole)
        #expect(resources.description == "cpus:1;mem:128;disk(role):10;ports:[31000-31005];zones:{a, b}")
        #expect(try Resources(parsing: resources.description) == resources)
    }

    @Test("a role other than * is a static reservation; the default role applies to items without one")
    func roles() throws {
        let resources = try Resources(parsing: "cpus:1;mem(*):64;disk(ops):5", defaultRole: "eng")
        #expect(resources.reserved(for: "eng").cpus == 1)
        #expect(resources.unreserved.mem == 64)
        #expect(resources.reserved(for: "ops").disk == 5)
        #expect(try Resources(parsing: "cpus(eng/web):1").reserved(for: "eng/web").cpus == 1)
        #expect(try Resources(parsing: "cpus(*):1") == Resources(F.scalar("cpus", 1)))
    }

    @Test("whitespace and empty items are tolerated")
    func whitespace() throws {
        let text = " cpus : 1 ; mem ( eng ) : 1 2 8 ;\n ports : [ 1 - 2 , 4-5 ] ; ; zones:{ a ,\tb };"
        let resources = try Resources(parsing: text)
        #expect(resources.description == "cpus:1;mem(eng):128;ports:[1-2, 4-5];zones:{a, b}")
        #expect(try Resources(parsing: "").isEmpty)
        #expect(try Resources(parsing: " ; ;").isEmpty)
    }

    @Test("values: scalars in fixed point, ranges coalesced, repeated items merged")
    func values() throws {
        #expect(try Resources(parsing: "cpus:0.1;cpus:0.2").cpus == ScalarQuantity(0.3))
        #expect(try Resources(parsing: "cpus:0.0005").description == "cpus:0.001")
        #expect(try Resources(parsing: "cpus:1e3;mem:.5").description == "cpus:1000;mem:0.5")
        #expect(try Resources(parsing: "cpus:0;ports:[];zones:{}").isEmpty)
        // A non-zero amount that Mesos's fixed point makes zero is refused, as Mesos's `VerySmallValue` test expects
        // of `parse("cpus:0.00001")`: an agent started with it does not start.
        for text in ["cpus:0.00001", "mem:0.0004", #"[{"name":"cpus","type":"SCALAR","scalar":{"value":0.0004}}]"#] {
            #expect(throws: ResourcesParseError.self, "\(text)") { try Resources(parsing: text) }
        }
        do {
            _ = try Resources(parsing: "cpus:1;mem:0.0004")
        } catch {
            #expect(error.code == .invalidScalar)
            #expect(error.token == "mem:0.0004")
        }
        #expect(try Resources(parsing: "ports:[1-2,3-4,10-12,11-11]").ports == [1...4, 10...12])
        #expect(try Resources(parsing: "ports:[0x10-0x1f]").ports == [16...31])
        #expect(try Resources(parsing: "ports:[0-18446744073709551615]").ports == [0...UInt64.max])
        #expect(try Resources(parsing: "ports:[1-2];ports:[3-3]").description == "ports:[1-3]")
        #expect(try Resources(parsing: "zones:{a};zones:{b,a}").set(named: "zones") == ["a", "b"])
    }

    // MARK: JSON form

    @Test("a JSON array is read as Resource objects, unknown keys ignored")
    func json() throws {
        let text = """
            [
              {"name": "cpus", "type": "SCALAR", "scalar": {"value": 1.5}, "unknown_key": [1, {"x": null}]},
              {"name": "disk", "type": "SCALAR", "scalar": {"value": 10}, "role": "eng"},
              {"name": "ports", "type": "RANGES", "ranges": {"range": [{"begin": 1, "end": 2}, {"begin": 3, "end": 5}]},
               "reservations": [{"type": "STATIC", "role": "ops"}]},
              {"name": "zones", "type": "SET", "set": {"item": ["a", "b"]}}
            ]
            """
        let resources = try Resources(parsing: text, defaultRole: "dev")
        #expect(resources.reserved(for: "dev").cpus == 1.5)
        #expect(resources.reserved(for: "eng").disk == 10)
        #expect(resources.reserved(for: "ops").ports == [1...5])
        #expect(resources.reserved(for: "dev").set(named: "zones") == ["a", "b"])
        #expect(resources.protobufs.allSatisfy { !$0.hasRole })
        #expect(try Resources(parsing: "  [ ]  ").isEmpty)
        #expect(try Resources(parsing: #"[{"name":"cpus","type":"SCALAR","scalar":{"value":1},"role":"*"}]"#).cpus == 1)
    }

    // MARK: Errors

    @Test(
        "reports every kind of error with the token and where it starts",
        arguments: [
            ("cpus", ResourcesParseError.Code.missingColon, "cpus", 0),
            ("cpus:1;mem", .missingColon, "mem", 7),
            ("cpus:1:2", .missingColon, "cpus:1:2", 0),
            (":1", .missingColon, ":1", 0),
            ("cpus(eng:1", .mismatchedParentheses, "cpus(eng", 0),
            ("cpus)eng(:1", .mismatchedParentheses, "cpus)eng(", 0),
            ("cpus(eng)x:1", .mismatchedParentheses, "x", 9),
            ("ports:[1-2", .mismatchedBrackets, "[1-2", 6),
            ("ports:[1-2][3", .mismatchedBrackets, "[1-2][3", 6),
            ("zones:{a,b", .mismatchedBrackets, "{a,b", 6),
            ("zones:{a)}", .mismatchedBrackets, "{a)}", 6),
            (" :1", .emptyName, " :1", 0),
            ("cpus:1;(eng):1", .emptyName, "(eng):1", 7),
            ("cpus: ", .emptyValue, " ", 5),
            ("cpus:-1", .negativeScalar, "-1", 5),
            ("cpus:-0.5", .negativeScalar, "-0.5", 5),
            ("cpus:nan", .invalidScalar, "nan", 5),
            ("cpus:inf", .invalidScalar, "inf", 5),
            ("cpus:1e400", .invalidScalar, "1e400", 5),
            ("cpus:1e-320", .invalidScalar, "1e-320", 5),
            ("ports:[31005-31000]", .invalidRange, "31005-31000", 7),
            ("cpus: 1; ports: [ 5 - 1 ]", .invalidRange, "5 - 1", 18),
            ("ports:[1-2,3]", .invalidRange, "[1-2,3]", 6),
            ("ports:[a-b]", .invalidRange, "a", 7),
            ("ports:[1-18446744073709551616]", .invalidRange, "18446744073709551616", 9),
            ("cpus:lots", .unknownValueSyntax, "lots", 5),
            ("cpus:0x10", .unknownValueSyntax, "0x10", 5),
            ("cpus:0x1p3", .unknownValueSyntax, "0x1p3", 5),
            ("ports:1[2]", .unknownValueSyntax, "1[2]", 6),
            ("zones:a{b}", .unknownValueSyntax, "a{b}", 6),
            ("🚀:1;cpus:x", .unknownValueSyntax, "x", 9),
            ("zones:{a,b,a}", .duplicateSetItem, "a", 11),
            ("cpus(a//b):1", .invalidRole, "a//b", 5),
            ("cpus( ):1", .invalidRole, "", 5),
            ("cpus(a/../b):1", .invalidRole, "a/../b", 5),
            ("foo:1;foo:[1-2]", .conflictingTypes, "foo:[1-2]", 6),
            ("foo(eng):{a};foo:2", .conflictingTypes, "foo:2", 13),
        ]
    )
    func textErrors(text: String, code: ResourcesParseError.Code, token: String, offset: Int) {
        let error = #expect(throws: ResourcesParseError.self) { try Resources(parsing: text) }
        #expect(error?.code == code, "\(text): \(String(describing: error))")
        #expect(error?.token == token, "\(text)")
        #expect(error?.offset == offset, "\(text)")
        #expect(error?.message.isEmpty == false)
    }

    @Test(
        "reports errors in the JSON form at the offending element",
        arguments: [
            (#"[{"name":"cpus","type":"SCALAR","scalar":{"value":-1}}]"#, ResourcesParseError.Code.negativeScalar, 1),
            (#"[{"name":"cpus","scalar":{"value":1}}]"#, .invalidJSON, 1),
            (#"[{"type":"SCALAR","scalar":{"value":1}}]"#, .invalidJSON, 1),
            (#"[{"name":"cpus","type":"SCALAR","scalar":{"value":1}}, 5]"#, .invalidJSON, 55),
            (#"[{"name":"cpus","type":"BOGUS","scalar":{"value":1}}]"#, .invalidJSON, 1),
            (#"[{"name":"","type":"SCALAR","scalar":{"value":1}}]"#, .emptyName, 1),
            (#"[{"name":"p","type":"RANGES","ranges":{"range":[{"begin":5,"end":1}]}}]"#, .invalidRange, 1),
            (
                #"[{"name":"p","type":"RANGES","ranges":{"range":[{"begin":1,"end":5},{"begin":3,"end":9}]}}]"#,
                .invalidRange, 1
            ),
            (#"[{"name":"z","type":"SET","set":{"item":["a","a"]}}]"#, .duplicateSetItem, 1),
            (#"[{"name":"cpus","type":"SCALAR","scalar":{"value":1},"role":"a//b"}]"#, .invalidRole, 1),
            (#"[{"name":"cpus","type":"SCALAR","scalar":{"value":1},"reservation":{}}]"#, .invalidRole, 1),
            (#"[{"name":"cpus","type":"SCALAR","scalar":{"value":1},"disk":{}}]"#, .invalidResource, 1),
            (#"[{"name":"cpus","type":"SCALAR","ranges":{}}]"#, .invalidResource, 1),
            (#"[{"name":"cpus","type":"TEXT"}]"#, .invalidResource, 1),
            (#"[{"name":"cpus","type":"SCALAR","scalar":{"value":1},"shared":{}}]"#, .invalidResource, 1),
            (#"[{"name":"cpus","type":"SCALAR","scalar":{"value":1},"revocable":{}}]"#, .notAllowed, 1),
            (
                #"[{"name":"cpus","type":"SCALAR","scalar":{"value":1},"role":"eng","reservation":{"principal":"p"}}]"#,
                .notAllowed, 1
            ),
            (
                #"[{"name":"disk","type":"SCALAR","scalar":{"value":1},"disk":{"persistence":{"id":"v"}},"role":"e"}]"#,
                .notAllowed, 1
            ),
            (
                #"[{"name":"f","type":"SCALAR","scalar":{"value":1}},{"name":"f","type":"SET","set":{"item":["a"]}}]"#,
                .conflictingTypes, 51
            ),
        ]
    )
    func jsonErrors(text: String, code: ResourcesParseError.Code, offset: Int) {
        let error = #expect(throws: ResourcesParseError.self) { try Resources(parsing: text) }
        #expect(error?.code == code, "\(text): \(String(describing: error))")
        #expect(error?.offset == offset, "\(text)")
        #expect(error?.token.hasPrefix(String(text.dropFirst(offset).prefix(1))) == true, "\(text)")
    }

    @Test("text that is JSON but not an array, or not JSON at all, is read as the text form")
    func jsonFallback() {
        #expect(throws: ResourcesParseError.self) { try Resources(parsing: #"{"name":"cpus"}"#) }
        let notJSON = #expect(throws: ResourcesParseError.self) { try Resources(parsing: "[1-2]") }
        #expect(notJSON?.code == .missingColon)
        let trailing = #expect(throws: ResourcesParseError.self) { try Resources(parsing: "[] x") }
        #expect(trailing?.code == .missingColon)
    }

    @Test("errors describe themselves")
    func errorDescription() {
        let error = #expect(throws: ResourcesParseError.self) { try Resources(parsing: "ports:[31005-31000]") }
        #expect(
            error?.description
                == "ResourcesParseError.invalidRange: range 31005-31000 has begin > end (at offset 7: '31005-31000')"
        )
        #expect(ResourcesParseError.Code.invalidRange.description == "invalidRange")
        #expect(ResourcesParseError.Code.invalidRange != .invalidRole)
    }

    // MARK: Properties

    /// Resources the text form can express: unreserved or statically reserved scalars, ranges and sets.
    static let expressible = zip(
        Gen.int(in: 0...11),
        Gen.int(in: 0...99_999),
        Gen.uint64(in: 0...60),
        Gen.uint64(in: 0...6)
    )
    .map { Self.expressibleResource(shape: $0, amount: $1, start: $2, length: $3) }
    .array(of: 0...10)
    .map { Resources($0) }

    static func expressibleResource(shape: Int, amount: Int, start: UInt64, length: UInt64) -> Resource {
        var resource: Resource
        switch shape % 4 {
        case 0: resource = Resource(name: "cpus", scalar: ScalarQuantity(milli: Int64(amount)))
        case 1: resource = Resource(name: "mem", scalar: ScalarQuantity(milli: Int64(amount) * 7))
        case 2: resource = Resource(name: "ports", ranges: [(start * 3)...(start * 3 + length)])
        default: resource = Resource(name: "zones", set: (0..<8).filter { amount & (1 << $0) != 0 }.map { "z\($0)" })
        }
        let roles = [nil, "eng", "eng/web"]
        if let role = roles[shape / 4] { resource.reservations = [.static(role: role)] }
        return resource
    }

    @Test("parsing the description gives the same resources")
    func roundTrip() async {
        await propertyCheck(count: 300, input: Self.expressible) { resources in
            let text = resources.description
            #expect(throws: Never.self, "\(text)") { try Resources(parsing: text) }
            #expect((try? Resources(parsing: text)) == resources, "\(text)")
            #expect((try? Resources(parsing: text))?.description == text)
        }
    }
}
