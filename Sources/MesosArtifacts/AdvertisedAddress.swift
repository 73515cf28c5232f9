import Glibc

/// The host agents must use to reach the server: never `0.0.0.0`.
enum AdvertisedAddress {
    static func resolve(_ configuration: ArtifactServerConfiguration) throws(ArtifactServerError) -> String {
        if let host = configuration.advertisedHost, !host.isEmpty { return host }
        if let master = configuration.masterHost, let local = Self.localAddress(routingTo: master) { return local }
        if !["0.0.0.0", "::", ""].contains(configuration.host) { return configuration.host }
        if let address = Self.firstNonLoopbackIPv4() { return address }
        return "127.0.0.1"  // a machine with only loopback: agents can only be local
    }

    /// The local address the kernel picks to reach `host`: a UDP socket "connected" to it sends nothing.
    static func localAddress(routingTo host: String) -> String? {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, "5050", &hints, &result) == 0, let first = result else { return nil }
        defer { freeaddrinfo(result) }
        let fd = socket(first.pointee.ai_family, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        guard connect(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else { return nil }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { return nil }
        return Self.numericHost(&storage, length)
    }

    static func firstNonLoopbackIPv4() -> String? {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return nil }
        defer { freeifaddrs(list) }
        var candidates: [String] = []
        var cursor = list
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            guard let address = entry.pointee.ifa_addr, address.pointee.sa_family == sa_family_t(AF_INET),
                entry.pointee.ifa_flags & UInt32(IFF_LOOPBACK) == 0, entry.pointee.ifa_flags & UInt32(IFF_UP) != 0
            else { continue }
            var storage = sockaddr_storage()
            memcpy(&storage, address, MemoryLayout<sockaddr_in>.size)
            if let host = Self.numericHost(&storage, socklen_t(MemoryLayout<sockaddr_in>.size)) { candidates.append(host) }
        }
        return candidates.sorted().first
    }

    private static func numericHost(_ storage: inout sockaddr_storage, _ length: socklen_t) -> String? {
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        let status = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getnameinfo($0, length, &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST)
            }
        }
        guard status == 0 else { return nil }
        return String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
