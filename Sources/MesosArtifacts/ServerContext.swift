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
    let totals = Mutex<(requests: Int, bytes: Int)>((0, 0))

    init(configuration: ArtifactServerConfiguration) {
        self.configuration = configuration
        self.logger = configuration.logger
        self.metrics = configuration.metricsFactory ?? MetricsSystem.factory
        self.bytes = Counter(label: "mesos.artifacts.bytes", factory: self.metrics)
    }

    /// `/a/<sha256>/<name>` or, with a secret token, `/t/<token>/a/<sha256>/<name>`: the hash and the name as
    /// they appear in the URL. Anything else is nil. Nothing here touches the file system.
    func route(_ uri: String) -> (sha256: String, name: String)? {
        let path = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0]
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        var rest = parts[...]
        guard rest.first == "" else { return nil }
        rest = rest.dropFirst()
        if let token = self.configuration.secretToken {
            guard rest.count == 5, rest.first == "t", Self.constantTimeEqual(rest[rest.startIndex + 1], token) else { return nil }
            rest = rest.dropFirst(2)
        }
        guard rest.count == 3, rest.first == "a" else { return nil }
        let sha256 = rest[rest.startIndex + 1]
        let name = rest[rest.startIndex + 2]
        guard sha256.utf8.count == 64, sha256.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }),
            let decoded = Self.percentDecoded(name)
        else { return nil }
        return (String(sha256), decoded)
    }

    func record(status: HTTPResponseStatus, bytes: Int, failed: Bool) {
        let counter = self.counters.withLock { counters in
            if let counter = counters[Int(status.code)] { return counter }
            let counter = Counter(label: "mesos.artifacts.requests", dimensions: [("status", String(status.code))], factory: self.metrics)
            counters[Int(status.code)] = counter
            return counter
        }
        counter.increment()
        if !failed && bytes > 0 { self.bytes.increment(by: bytes) }
        self.totals.withLock { totals in
            totals.requests += 1
            if !failed { totals.bytes += bytes }
        }
    }

    private static func constantTimeEqual(_ a: Substring, _ b: String) -> Bool {
        let (x, y) = (Array(a.utf8), Array(b.utf8))
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    /// Decodes %XX escapes; nil for a malformed escape or an escape that decodes to `/` or NUL (never a path).
    static func percentDecoded(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
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
