import Logging
import Metrics
import NIOHTTP1
import Synchronization

/// What every connection of one server shares: configuration, routing, the access log and metrics.
final class ServerContext: Sendable {
    let configuration: ArtifactServerConfiguration
    let logger: Logger?
    private let metrics: any MetricsFactory
    private let bytes: Counter
    private let counters = Mutex<[Int: Counter]>([:])
    /// Totals kept here too, so a framework can tell what it served without a metrics backend.
    let requestTotal = Atomic<Int>(0)
    let byteTotal = Atomic<Int>(0)
    /// The counter of `200`s, looked up once: most requests need no lock.
    private let okCounter: Counter

    init(configuration: ArtifactServerConfiguration) {
        self.configuration = configuration
        self.logger = configuration.logger
        self.metrics = configuration.metricsFactory ?? MetricsSystem.factory
        self.bytes = Counter(label: "mesos.artifacts.bytes", factory: self.metrics)
        self.token = configuration.secretToken.map { Array($0.utf8) }
        self.okCounter = Counter(label: "mesos.artifacts.requests", dimensions: [("status", "200")], factory: self.metrics)
    }

    /// The secret token's bytes, compared against request targets.
    private let token: [UInt8]?

    /// `/a/<sha256>/<name>` or, with a secret token, `/t/<token>/a/<sha256>/<name>` (a query is ignored): the hash
    /// as a registry key and the name's bytes as they appear in the target, handed to `body`. Anything else is nil.
    /// Works on the target's UTF-8 bytes: no String is made or sliced, and nothing touches the file system.
    func route<Result>(_ uri: String, _ body: (ArtifactKey, UnsafeRawBufferPointer) -> Result?) -> Result? {
        var uri = uri
        return uri.withUTF8 { bytes in
            guard let (key, name) = Self.parse(UnsafeRawBufferPointer(bytes), token: self.token) else { return nil }
            return body(key, UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[name]))
        }
    }

    /// The hash and the range of the name in a request target, or nil.
    static func parse(_ target: UnsafeRawBufferPointer, token: [UInt8]?) -> (ArtifactKey, Range<Int>)? {
        let slash = UInt8(ascii: "/")
        let end = target.firstIndex(of: UInt8(ascii: "?")) ?? target.count
        guard end > 0, target[0] == slash else { return nil }
        var index = 1
        if let token {
            guard end > 3, target[1] == UInt8(ascii: "t"), target[2] == slash,
                let close = target[3..<end].firstIndex(of: slash),
                Self.constantTimeEqual(UnsafeRawBufferPointer(rebasing: target[3..<close]), token)
            else { return nil }
            index = close + 1
        }
        // a / <64 hex digits> / <name without a slash>
        guard end - index >= 67, target[index] == UInt8(ascii: "a"), target[index + 1] == slash,
            target[index + 66] == slash,
            let key = ArtifactKey(hex: UnsafeRawBufferPointer(rebasing: target[(index + 2)..<(index + 66)]))
        else { return nil }
        let name = (index + 67)..<end
        guard !target[name].contains(slash) else { return nil }
        return (key, name)
    }

    func record(status: HTTPResponseStatus, bytes: Int, failed: Bool) {
        let counter = status == .ok ? self.okCounter : self.counters.withLock { counters in
            if let counter = counters[Int(status.code)] { return counter }
            let counter = Counter(label: "mesos.artifacts.requests", dimensions: [("status", String(status.code))], factory: self.metrics)
            counters[Int(status.code)] = counter
            return counter
        }
        counter.increment()
        if !failed && bytes > 0 { self.bytes.increment(by: bytes) }
        self.requestTotal.add(1, ordering: .relaxed)
        if !failed && bytes > 0 { self.byteTotal.add(bytes, ordering: .relaxed) }
    }

    private static func constantTimeEqual(_ x: UnsafeRawBufferPointer, _ y: [UInt8]) -> Bool {
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    /// Decodes %XX escapes; nil for a malformed escape or an escape that decodes to `/` or NUL (never a path).
    static func percentDecoded<Bytes: Sequence<UInt8>>(_ text: Bytes) -> String? {
        var bytes: [UInt8] = []
        var iterator = text.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(Self.hex), let low = iterator.next().flatMap(Self.hex) else { return nil }
            let decoded = high << 4 | low
            guard decoded != UInt8(ascii: "/") && decoded != 0 else { return nil }
            bytes.append(decoded)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 48...57: byte - 48
        case 65...70: byte - 55
        case 97...102: byte - 87
        default: nil
        }
    }

    /// The URL form of an artifact name: unreserved characters as they are, everything else %XX.
    static func percentEncoded(_ name: String) -> String {
        var out = ""
        for byte in name.utf8 {
            switch byte {
            case 48...57, 65...90, 97...122, UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let digits = Array("0123456789ABCDEF".unicodeScalars)
                out += "%" + String(digits[Int(byte >> 4)]) + String(digits[Int(byte & 15)])
            }
        }
        return out
    }
}
