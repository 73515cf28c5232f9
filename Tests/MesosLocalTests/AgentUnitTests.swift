import MesosProcess
import Mesos
import NIOHTTP1
@testable import MesosLocal
import Testing

@Suite("LocalAgent: pure helpers")
struct AgentUnitTests {
    @Test("durations print as stout prints them", arguments: [
        (Duration.seconds(60), "1mins"), (.seconds(5), "5secs"), (.seconds(3), "3secs"), (.milliseconds(300), "300ms"),
        (.milliseconds(2500), "2.5secs"), (.seconds(3600), "1hrs"), (.seconds(900), "15mins"), (.microseconds(10), "10us"),
    ])
    func stoutDurations(duration: Duration, text: String) {
        #expect(StoutDuration.format(duration) == text)
    }

    @Test("wait statuses read as WSTRINGIFY")
    func waitStatuses() {
        #expect(WaitStatus(raw: 0).description == "exited with status 0")
        #expect(WaitStatus(raw: 3 << 8).description == "exited with status 3")
        #expect(WaitStatus(raw: 15).description == "terminated with signal Terminated")
        #expect(WaitStatus(raw: 9).description == "terminated with signal Killed")
        #expect(WaitStatus(raw: 6 | 0x80).description == "terminated with signal Aborted (core dumped)")
        #expect(WaitStatus(raw: 19 << 8 | 0x7f).description == "stopped on signal Stopped (signal)")
        #expect(WaitStatus(raw: 0).succeeded)
        #expect(!WaitStatus(raw: 15).succeeded)
    }

    @Test("URI basenames and redirect targets")
    func uris() {
        func name(_ uri: String) -> String? { try? Fetcher.basename(of: uri).get() }
        func problem(_ uri: String) -> String? {
            guard case .failure(let error) = Fetcher.basename(of: uri) else { return nil }
            return error.message
        }
        // As Mesos's Fetcher::basename: URIs are read as paths, query and fragment included.
        #expect(name("http://host:1/a/b/app.tar.gz?x=1#f") == "app.tar.gz?x=1#f")
        #expect(name("file:///tmp/data.txt") == "data.txt")
        #expect(name("/tmp/data.txt") == "data.txt")
        #expect(name("/tmp/dir/") == "dir")
        #expect(name("http://host:1/dir/") == "")
        #expect(problem("http://host:1") == "Malformed URI (missing path): http://host:1")
        #expect(problem("http://host:1/") == "Malformed URI (missing path): http://host:1/")
        #expect(problem("/tmp/it's") == "Illegal characters in URI")
        #expect(problem("C:\\data") == "Illegal characters in URI")
        #expect(Fetcher.resolve("/new", against: "http://h:1/old/x") == "http://h:1/new")
        #expect(Fetcher.resolve("y", against: "http://h:1/old/x?q") == "http://h:1/old/y")
        #expect(Fetcher.resolve("//other:2/z", against: "https://h:1/old") == "https://other:2/z")
        #expect(Fetcher.resolve("http://a/b", against: "http://h/") == "http://a/b")
    }

    @Test("query strings are percent-decoded; JSON strings are escaped")
    func queryAndJSON() {
        let request = AgentHTTPRequest(method: .GET, uri: "/files/read?path=%2Fa%20b%2Fc&offset=-1&x", headers: [:], body: [])
        #expect(request.path == "/files/read")
        #expect(request.query["path"] == "/a b/c")
        #expect(request.query["offset"] == "-1")
        #expect(request.query["x"] == "")
        let json = AgentJSON.object([("data", .string("a\"b\\c\n\u{1}")), ("offset", .int(-1)), ("mtime", .double(12.0))])
        #expect(String(decoding: json.bytes, as: UTF8.self) == #"{"data":"a\"b\\c\n\u0001","offset":-1,"mtime":12}"#)
    }

    @Test("IDs that would leave the sandbox tree are refused", arguments: ["", ".", "..", "a/b", "../x"])
    func invalidIDs(id: String) {
        #expect(!AgentCore.isValidPathComponent(id))
    }
}
