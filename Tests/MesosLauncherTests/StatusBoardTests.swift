import MesosLauncher
import Testing

/// The live view of mesos-submit as a pure function: a board's state → the exact text and escape sequences.
@Suite("StatusBoard: the terminal view")
struct StatusBoardTests {
    static let esc = "\u{1B}"

    @Test("one aligned row per instance: name in bold, state colored, agent and exit code when known")
    func instanceRows() {
        let board = StatusBoard(
            instances: [
                .init(name: "web-0", state: "TASK_RUNNING", agent: "node1"),
                .init(name: "web-10", state: "TASK_FAILED", agent: "node2", exitCode: 3, message: "Command exited with status 3"),
                .init(name: "w", state: "PENDING"),
            ],
            width: 120
        )
        let e = Self.esc
        #expect(board.lines() == [
            "\(e)[1mweb-0 \(e)[0m  \(e)[32mTASK_RUNNING\(e)[0m  on node1",
            "\(e)[1mweb-10\(e)[0m  \(e)[31mTASK_FAILED \(e)[0m  on node2  exit 3  (Command exited with status 3)",
            "\(e)[1mw     \(e)[0m  \(e)[33mPENDING     \(e)[0m",
        ])
    }

    @Test("artifact rows: size, then fetches and bytes served once an agent downloaded it")
    func artifactRows() {
        let board = StatusBoard(
            artifacts: [.init(name: "app.tar.gz", size: 12_595), .init(name: "data.bin", size: 4 << 20, fetches: 2, bytes: 8 << 20)],
            width: 120
        )
        let e = Self.esc
        #expect(board.lines() == [
            "\(e)[2martifact \(e)[0mapp.tar.gz  12.3 KiB  not fetched yet",
            "\(e)[2martifact \(e)[0mdata.bin  4.0 MiB  fetched 2x, 8.0 MiB served",
        ])
    }

    @Test("rows are cut to the terminal's width so each takes one row")
    func narrow() {
        let board = StatusBoard(instances: [.init(name: "instance", state: "TASK_STAGING", agent: "a-long-host-name")], width: 16)
        let e = Self.esc
        #expect(board.lines() == ["\(e)[1minstance\(e)[0m  \(e)[33mTASK_\(e)[0m"])
    }

    @Test("a redraw goes up over the previous rows, redraws each and clears below; the first draw just draws")
    func redraw() {
        let board = StatusBoard(instances: [.init(name: "a", state: "TASK_FINISHED", exitCode: 0)], width: 80)
        let e = Self.esc
        let row = "\(e)[1ma\(e)[0m  \(e)[32mTASK_FINISHED\(e)[0m  exit 0\n"
        #expect(board.redraw(replacing: 0) == row)
        #expect(board.redraw(replacing: 3) == "\(e)[3A\r\(e)[J" + row)
        #expect(StatusBoard.erase(0) == "")
        #expect(StatusBoard.erase(2) == "\(e)[2A\r\(e)[J")
    }

    @Test("byte counts in binary units", arguments: [(0, "0 B"), (1023, "1023 B"), (1024, "1.0 KiB"), (1536, "1.5 KiB"), (10 << 20, "10.0 MiB"), (3 << 30, "3.0 GiB")])
    func bytes(count: Int, text: String) {
        #expect(StatusBoard.bytes(count) == text)
    }
}
