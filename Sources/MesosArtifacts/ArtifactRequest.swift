import NIOHTTP1

/// A request head as the artifact server reads it: the request line and the few headers it acts on (the others
/// are checked for form and skipped without being kept).
struct ArtifactRequest: Sendable {
    enum Method: Sendable, Equatable {
        case get, head, other
    }

    var method: Method
    /// The method as sent, for the access log.
    var methodName: String
    var target: String
    var http10: Bool
    var keepAlive: Bool
    /// A `Content-Length` above 0 or any `Transfer-Encoding`: the server reads no bodies, so the connection closes
    /// after the answer.
    var hasBody: Bool
    var range: String?
    var ifNoneMatch: String?
    var ifModifiedSince: String?
    var ifRange: String?

    /// Stands for input that is not a request (the access log names it "-").
    static let unreadable = ArtifactRequest(
        method: .other, methodName: "-", target: "-", http10: false, keepAlive: false, hasBody: false
    )

    enum Parsed {
        /// No whole head yet (and not over the limit).
        case incomplete
        /// The head is longer than the limit: 431.
        case tooLarge
        /// Not an HTTP/1.x request head: the status to answer (400, or 505 for another HTTP version).
        case invalid(HTTPResponseStatus)
        /// A request, and the bytes its head took.
        case request(ArtifactRequest, consumed: Int)
    }

    /// Whether `bytes` hold an empty line (LF, then CRLF or LF) that starts after offset `from`: what ends a head.
    static func containsHeadEnd(_ bytes: UnsafeRawBufferPointer, from: Int) -> Bool {
        var index = from
        while index < bytes.count, let newline = bytes[index...].firstIndex(of: UInt8(ascii: "\n")) {
            let next = newline + 1
            if next < bytes.count && bytes[next] == UInt8(ascii: "\n") { return true }
            if next + 1 < bytes.count && bytes[next] == UInt8(ascii: "\r") && bytes[next + 1] == UInt8(ascii: "\n") { return true }
            index = next
        }
        return false
    }

    /// Reads the head at the start of `bytes`: lines end with CRLF (a bare LF is taken too), the head with an empty
    /// line; empty lines before the request line are skipped (RFC 9112 §2.2). Header lines continued on the next
    /// line (obs-fold), whitespace before a colon and control characters are refused, as NIO's parser does.
    static func parse(_ bytes: UnsafeRawBufferPointer, limit: Int) -> Parsed {
        let lf = UInt8(ascii: "\n")
        var start = 0
        var request: ArtifactRequest?
        var contentLength: Int?
        var connectionClose = false
        var connectionKeepAlive = false
        while true {
            guard let newline = bytes[start...].firstIndex(of: lf) else {
                return bytes.count > limit ? .tooLarge : .incomplete
            }
            if newline + 1 > limit { return .tooLarge }
            var end = newline
            if end > start && bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
            let line = UnsafeRawBufferPointer(rebasing: bytes[start..<end])
            start = newline + 1
            guard var current = request else {
                if line.isEmpty { continue }
                switch Self.requestLine(line) {
                case .success(let parsed): request = parsed
                case .failure(let error): return .invalid(error.status)
                }
                continue
            }
            if line.isEmpty {
                if current.http10 {
                    current.keepAlive = connectionKeepAlive && !connectionClose
                } else {
                    current.keepAlive = !connectionClose
                }
                if let contentLength, contentLength > 0 { current.hasBody = true }
                return .request(current, consumed: start)
            }
            guard line[0] != UInt8(ascii: " ") && line[0] != UInt8(ascii: "\t"),
                let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > 0,
                line[..<colon].allSatisfy(Self.isTokenByte)
            else { return .invalid(.badRequest) }
            var valueStart = colon + 1
            var valueEnd = line.count
            while valueStart < valueEnd && (line[valueStart] == 32 || line[valueStart] == 9) { valueStart += 1 }
            while valueEnd > valueStart && (line[valueEnd - 1] == 32 || line[valueEnd - 1] == 9) { valueEnd -= 1 }
            let value = UnsafeRawBufferPointer(rebasing: line[valueStart..<valueEnd])
            guard value.allSatisfy({ $0 == 9 || ($0 >= 32 && $0 != 127) }) else { return .invalid(.badRequest) }
            let name = UnsafeRawBufferPointer(rebasing: line[..<colon])
            switch name.count {
            case 5 where Self.named(name, "range"):
                if current.range == nil { current.range = String(decoding: value, as: UTF8.self) }
            case 8 where Self.named(name, "if-range"):
                if current.ifRange == nil { current.ifRange = String(decoding: value, as: UTF8.self) }
            case 10 where Self.named(name, "connection"):
                for token in value.split(separator: UInt8(ascii: ",")) {
                    let token = Self.trimmed(token)
                    if Self.named(token, "close") { connectionClose = true }
                    if Self.named(token, "keep-alive") { connectionKeepAlive = true }
                }
            case 13 where Self.named(name, "if-none-match"):
                if current.ifNoneMatch == nil { current.ifNoneMatch = String(decoding: value, as: UTF8.self) }
            case 14 where Self.named(name, "content-length"):
                guard !value.isEmpty, value.count <= 18, value.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return .invalid(.badRequest) }
                let length = value.reduce(0) { $0 * 10 + Int($1 - 48) }
                // Two different lengths: no way to tell where the body ends (RFC 9112 §6.3).
                if let contentLength, contentLength != length { return .invalid(.badRequest) }
                contentLength = length
            case 17 where Self.named(name, "if-modified-since"):
                if current.ifModifiedSince == nil { current.ifModifiedSince = String(decoding: value, as: UTF8.self) }
            case 17 where Self.named(name, "transfer-encoding"):
                current.hasBody = true
            default:
                break
            }
            request = current
        }
    }

    /// `METHOD SP request-target SP HTTP/1.x`.
    private static func requestLine(_ line: UnsafeRawBufferPointer) -> Result<ArtifactRequest, StatusError> {
        let space = UInt8(ascii: " ")
        guard let firstSpace = line.firstIndex(of: space), firstSpace > 0,
            let secondSpace = line[(firstSpace + 1)...].firstIndex(of: space), secondSpace > firstSpace + 1
        else { return .failure(StatusError(.badRequest)) }
        let method = UnsafeRawBufferPointer(rebasing: line[..<firstSpace])
        let target = UnsafeRawBufferPointer(rebasing: line[(firstSpace + 1)..<secondSpace])
        let version = UnsafeRawBufferPointer(rebasing: line[(secondSpace + 1)...])
        guard method.allSatisfy(Self.isTokenByte), target.allSatisfy({ $0 > 32 && $0 != 127 }) else {
            return .failure(StatusError(.badRequest))
        }
        let http10: Bool
        if version.elementsEqual("HTTP/1.1".utf8) {
            http10 = false
        } else if version.elementsEqual("HTTP/1.0".utf8) {
            http10 = true
        } else if version.count == 8, version.starts(with: "HTTP/".utf8), Self.isDigit(version[5]), version[6] == UInt8(ascii: "."),
            Self.isDigit(version[7])
        {
            return .failure(StatusError(.httpVersionNotSupported))
        } else {
            return .failure(StatusError(.badRequest))
        }
        let kind: Method =
            method.elementsEqual("GET".utf8) ? .get : method.elementsEqual("HEAD".utf8) ? .head : .other
        return .success(
            ArtifactRequest(
                method: kind,
                methodName: kind == .get ? "GET" : kind == .head ? "HEAD" : String(decoding: method, as: UTF8.self),
                target: String(decoding: target, as: UTF8.self),
                http10: http10, keepAlive: false, hasBody: false
            )
        )
    }

    struct StatusError: Error {
        var status: HTTPResponseStatus
        init(_ status: HTTPResponseStatus) { self.status = status }
    }

    /// tchar of RFC 9110 §5.6.2.
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 48 && byte <= 57 }

    /// ASCII case-insensitive comparison with a lower-case name.
    private static func named(_ bytes: UnsafeRawBufferPointer, _ lowercase: StaticString) -> Bool {
        guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
        let expected = UnsafeRawBufferPointer(start: lowercase.utf8Start, count: lowercase.utf8CodeUnitCount)
        for index in 0..<bytes.count where bytes[index] | 0x20 != expected[index] | 0x20 { return false }
        return true
    }

    private static func trimmed(_ bytes: Slice<UnsafeRawBufferPointer>) -> UnsafeRawBufferPointer {
        var slice = bytes
        while let first = slice.first, first == 32 || first == 9 { slice = slice.dropFirst() }
        while let last = slice.last, last == 32 || last == 9 { slice = slice.dropLast() }
        return UnsafeRawBufferPointer(rebasing: slice)
    }
}
