internal import CMesosCurl
import FoundationEssentials
import Glibc
import NIOCore
import Synchronization

/// One libcurl multi handle driven by its own OS thread.
///
/// Only the loop thread calls libcurl on the multi handle and its transfers. Other threads append a ``Command``
/// and call `curl_multi_wakeup`, which libcurl documents as safe from any thread; unpausing a transfer is a
/// command too, since `curl_easy_pause` is not thread-safe.
final class CurlLoop: @unchecked Sendable {
    // @unchecked: `multi` and `transfers` are only touched on the loop thread (see above); `commands` is a Mutex.
    enum Command {
        case add(Transfer)
        case remove(Int, HTTPClientError)
        case unpause(Int)
        case shutdown
    }

    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_ALL)) }()

    private let multi: UnsafeMutableRawPointer
    private let commands = Mutex<(queue: [Command], closed: Bool)>(([], false))
    private var transfers: [Int: Transfer] = [:]
    private let nextID = Atomic<Int>(1)
    private var thread = pthread_t()

    init() {
        _ = Self.globalInit
        guard let multi = curl_multi_init() else { preconditionFailure("libcurl could not allocate a multi handle") }
        self.multi = multi
        let box = Unmanaged.passRetained(self).toOpaque()
        pthread_create(&self.thread, nil, { argument in
            let loop = Unmanaged<CurlLoop>.fromOpaque(argument!).takeRetainedValue()
            loop.run()
            return nil
        }, box)
        pthread_detach(self.thread)  // nobody joins it: its stack goes when it ends
    }

    func makeID() -> Int { self.nextID.add(1, ordering: .relaxed).oldValue }

    /// Queues a command for the loop thread; false once the loop has shut down.
    @discardableResult
    func submit(_ command: Command) -> Bool {
        // The wakeup happens under the lock: the loop frees the multi handle only after taking a `.shutdown`, which
        // closes the queue under this lock first, so no wakeup can reach a freed handle.
        self.commands.withLock { state in
            guard !state.closed else { return false }
            state.queue.append(command)
            if case .shutdown = command { state.closed = true }
            curl_multi_wakeup(self.multi)
            return true
        }
    }

    private func run() {
        while true {
            let batch = self.commands.withLock { state in
                defer { state.queue.removeAll() }
                return state.queue
            }
            for command in batch {
                switch command {
                case .add(let transfer):
                    self.transfers[transfer.id] = transfer
                    curl_multi_add_handle(self.multi, transfer.handle)
                case .remove(let id, let error):
                    if let transfer = self.transfers.removeValue(forKey: id) {
                        curl_multi_remove_handle(self.multi, transfer.handle)
                        transfer.finish(.failure(error))
                    }
                case .unpause(let id):
                    if let transfer = self.transfers[id] {
                        transfer.pauseRequested = false
                        if transfer.paused {
                            transfer.paused = false
                            curl_easy_pause(transfer.handle, 0)  // CURLPAUSE_CONT
                        }
                    }
                case .shutdown:
                    for transfer in self.transfers.values {
                        curl_multi_remove_handle(self.multi, transfer.handle)
                        transfer.finish(.failure(HTTPClientError(code: .shutdown, message: "the HTTP client was shut down")))
                    }
                    self.transfers.removeAll()
                    curl_multi_cleanup(self.multi)
                    return
                }
            }
            var running: Int32 = 0
            curl_multi_perform(self.multi, &running)
            var queued: Int32 = 0
            while let message = curl_multi_info_read(self.multi, &queued) {
                guard message.pointee.msg == CURLMSG_DONE else { continue }
                let handle = message.pointee.easy_handle
                let code = c_mesos_curl_msg_result(message)
                guard let (id, transfer) = self.transfers.first(where: { $0.value.handle == handle }) else { continue }
                self.transfers.removeValue(forKey: id)
                curl_multi_remove_handle(self.multi, handle)
                transfer.finish(code == CURLE_OK ? .success(()) : .failure(transfer.error(for: code)))
            }
            curl_multi_poll(self.multi, nil, 0, 1000, nil)
        }
    }
}

/// One transfer: its easy handle and what its callbacks fill in. Touched only on the loop thread after `add`.
final class Transfer: @unchecked Sendable {
    // @unchecked: created on a caller's thread, then used only on the CurlLoop thread (see CurlLoop).
    typealias Producer = NIOThrowingAsyncSequenceProducer<
        ByteBuffer, any Error, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, StreamDelegate
    >

    enum Delivery {
        case buffered(CheckedContinuation<HTTPResponse, any Error>, limit: Int)
        case streaming(CheckedContinuation<HTTPResponseHead, any Error>?, Producer.Source)
        /// Delivered; nothing more goes anywhere.
        case done
    }

    let id: Int
    let handle: UnsafeMutableRawPointer
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
    private var delivery: Delivery
    private var status = 0
    private var headers: [(name: String, value: String)] = []
    private var body = ByteBuffer()
    var paused = false
    var pauseRequested = false

    init(id: Int, request: HTTPRequest, configuration: HTTPClientConfiguration, streaming: Bool, delivery: Delivery) {
        self.id = id
        guard let handle = curl_easy_init() else { preconditionFailure("libcurl could not allocate an easy handle") }
        self.handle = handle
        self.delivery = delivery
        self.errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        self.configure(request, configuration, streaming: streaming)
    }

    deinit {
        curl_easy_cleanup(self.handle)
        curl_slist_free_all(self.headerList)
        self.errorBuffer.deallocate()
    }

    private func configure(_ request: HTTPRequest, _ configuration: HTTPClientConfiguration, streaming: Bool) {
        let h = self.handle
        c_mesos_curl_setopt_string(h, CURLOPT_URL, request.url)
        c_mesos_curl_setopt_long(h, CURLOPT_NOSIGNAL, 1)
        c_mesos_curl_setopt_long(h, CURLOPT_FOLLOWLOCATION, 0)  // redirects are the caller's to follow (Mesos 307s)
        c_mesos_curl_setopt_long(h, CURLOPT_TCP_KEEPALIVE, 1)
        c_mesos_curl_setopt_long(h, CURLOPT_TCP_NODELAY, 1)
        // Bigger reads, fewer hand-offs to Swift per event stream (libcurl reads 16 KiB at a time by default); the
        // back-pressure bound grows with it: the high watermark in chunks times this size.
        c_mesos_curl_setopt_long(h, CURLOPT_BUFFERSIZE, 256 * 1024)
        c_mesos_curl_setopt_string(h, CURLOPT_USERAGENT, configuration.userAgent)
        c_mesos_curl_setopt_pointer(h, CURLOPT_ERRORBUFFER, self.errorBuffer)
        c_mesos_curl_setopt_long(h, CURLOPT_CONNECTTIMEOUT_MS, Self.milliseconds(configuration.timeouts.connect))
        switch configuration.proxy {
        case .environment: break  // libcurl's: http_proxy, https_proxy, all_proxy, no_proxy
        case .none: c_mesos_curl_setopt_string(h, CURLOPT_PROXY, "")
        case .url(let url): c_mesos_curl_setopt_string(h, CURLOPT_PROXY, url)
        }
        // A tunnelling proxy's own "200 Connection established" head is not the server's: keep it from the header
        // callback, which would take it for the response (and the real head after it for nothing).
        c_mesos_curl_setopt_long(h, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1)
        if !streaming { c_mesos_curl_setopt_long(h, CURLOPT_TIMEOUT_MS, Self.milliseconds(configuration.timeouts.response)) }
        if let path = configuration.unixSocketPath { c_mesos_curl_setopt_string(h, CURLOPT_UNIX_SOCKET_PATH, path) }

        c_mesos_curl_setopt_long(h, CURLOPT_SSL_VERIFYPEER, configuration.tls.verify ? 1 : 0)
        c_mesos_curl_setopt_long(h, CURLOPT_SSL_VERIFYHOST, configuration.tls.verify ? 2 : 0)
        if let file = configuration.tls.caFile { c_mesos_curl_setopt_string(h, CURLOPT_CAINFO, file) }
        if let directory = configuration.tls.caDirectory { c_mesos_curl_setopt_string(h, CURLOPT_CAPATH, directory) }
        if let certificate = configuration.tls.clientCertificateFile { c_mesos_curl_setopt_string(h, CURLOPT_SSLCERT, certificate) }
        if let key = configuration.tls.clientKeyFile { c_mesos_curl_setopt_string(h, CURLOPT_SSLKEY, key) }
        if let password = configuration.tls.clientKeyPassword { c_mesos_curl_setopt_string(h, CURLOPT_KEYPASSWD, password) }

        switch request.method.uppercased() {
        case "GET": c_mesos_curl_setopt_long(h, CURLOPT_HTTPGET, 1)
        case "POST": c_mesos_curl_setopt_long(h, CURLOPT_POST, 1)
        case "HEAD": c_mesos_curl_setopt_long(h, CURLOPT_NOBODY, 1)
        default: c_mesos_curl_setopt_string(h, CURLOPT_CUSTOMREQUEST, request.method)
        }
        let body = request.body ?? (request.method.uppercased() == "POST" ? [] : nil)
        if let body {
            c_mesos_curl_setopt_off(h, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
            _ = body.withUnsafeBufferPointer { buffer in
                // COPYPOSTFIELDS copies POSTFIELDSIZE bytes now: NULs in the body are fine.
                c_mesos_curl_setopt_pointer(h, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: buffer.baseAddress ?? UnsafePointer(bitPattern: 1)!))
            }
        }

        var lines: [String] = ["Expect:"]  // never wait for 100-continue
        switch configuration.authentication {
        case .none: break
        case .basic(let principal, let secret): lines.append("Authorization: Basic " + Data("\(principal):\(secret)".utf8).base64EncodedString())
        case .bearer(let token): lines.append("Authorization: Bearer " + token)
        }
        let headers = configuration.headers + request.headers
        for header in headers { lines.append("\(header.name): \(header.value)") }
        // libcurl labels a POST body application/x-www-form-urlencoded unless told otherwise: a request without a
        // Content-Type goes out without one.
        if !headers.contains(where: { $0.name.lowercased() == "content-type" }) { lines.append("Content-Type:") }
        for line in lines { self.headerList = curl_slist_append(self.headerList, line) }
        c_mesos_curl_setopt_pointer(h, CURLOPT_HTTPHEADER, self.headerList)

        let context = Unmanaged.passUnretained(self).toOpaque()
        c_mesos_curl_setopt_write_function(h, CURLOPT_HEADERFUNCTION, { data, size, count, context in
            Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue().receiveHeader(data!, size * count)
        })
        c_mesos_curl_setopt_pointer(h, CURLOPT_HEADERDATA, context)
        c_mesos_curl_setopt_write_function(h, CURLOPT_WRITEFUNCTION, { data, size, count, context in
            Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue().receiveBody(data!, size * count)
        })
        c_mesos_curl_setopt_pointer(h, CURLOPT_WRITEDATA, context)
    }

    private static func milliseconds(_ duration: Duration) -> Int {
        Int(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
    }

    // MARK: Callbacks (loop thread)

    private func receiveHeader(_ data: UnsafeMutablePointer<CChar>, _ count: Int) -> Int {
        let line = String(decoding: UnsafeRawBufferPointer(start: data, count: count), as: UTF8.self)
            .trimmingSuffix { $0.isNewline }
        if line.hasPrefix("HTTP/") {
            // A new status line: the previous block (a 1xx) is replaced.
            self.status = Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
            self.headers.removeAll()
        } else if line.isEmpty {
            if self.status >= 200 { self.headComplete() }
        } else if let colon = line.firstIndex(of: ":") {
            let value = line[line.index(after: colon)...].drop { $0 == " " || $0 == "\t" }
            self.headers.append((String(line[..<colon]), String(value)))
        }
        return count
    }

    private func headComplete() {
        guard case .streaming(let continuation?, let source) = self.delivery else { return }
        self.delivery = .streaming(nil, source)
        continuation.resume(returning: HTTPResponseHead(status: self.status, headers: self.headers))
    }

    private func receiveBody(_ data: UnsafeMutablePointer<CChar>, _ count: Int) -> Int {
        switch self.delivery {
        case .buffered(_, let limit):
            guard self.body.readableBytes + count <= limit else { return 0 }  // aborts: CURLE_WRITE_ERROR
            self.body.writeBytes(UnsafeRawBufferPointer(start: data, count: count))
            return count
        case .streaming(_, let source):
            if self.pauseRequested {
                self.paused = true
                return 0x1000_0001  // CURL_WRITEFUNC_PAUSE: libcurl keeps these bytes and offers them again
            }
            let chunk = ByteBuffer(bytes: UnsafeRawBufferPointer(start: data, count: count))
            switch source.yield(chunk) {
            case .produceMore: break
            case .stopProducing: self.pauseRequested = true
            case .dropped: return 0
            }
            return count
        case .done:
            return 0
        }
    }

    /// Delivers the outcome, once.
    func finish(_ result: Result<Void, HTTPClientError>) {
        let delivery = self.delivery
        self.delivery = .done
        switch (delivery, result) {
        case (.buffered(let continuation, _), .success):
            continuation.resume(returning: HTTPResponse(head: HTTPResponseHead(status: self.status, headers: self.headers), body: self.body))
        case (.buffered(let continuation, let limit), .failure(var error)):
            if error.curlCode == Int(CURLE_WRITE_ERROR.rawValue) && self.body.readableBytes > 0 {
                error = HTTPClientError(code: .bodyTooLarge, message: "the response body exceeds \(limit) bytes", curlCode: error.curlCode)
            }
            continuation.resume(throwing: error)
        case (.streaming(let continuation, let source), .success):
            continuation?.resume(returning: HTTPResponseHead(status: self.status, headers: self.headers))
            source.finish()
        case (.streaming(let continuation, let source), .failure(let error)):
            continuation?.resume(throwing: error)
            source.finish(error)
        case (.done, _):
            break
        }
    }

    func error(for code: CURLcode) -> HTTPClientError {
        let detail = String(decoding: UnsafeRawBufferPointer(start: self.errorBuffer, count: strlen(self.errorBuffer)), as: UTF8.self)
        let message = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
        let kind: HTTPClientError.Code
        switch code {
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY: kind = .connect
        case CURLE_OPERATION_TIMEDOUT: kind = .timeout
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CACERT_BADFILE,
            CURLE_SSL_CIPHER:
            kind = .tls
        case CURLE_WRITE_ERROR where self.isStreamDropped: kind = .cancelled
        // Under TLS 1.3 a server refuses a client certificate after the handshake seemed done, so the alert arrives
        // with the first read or write ("… SSL routines::tlsv13 alert certificate required"): a TLS failure still.
        case CURLE_RECV_ERROR where Self.isTLSAlert(message), CURLE_SEND_ERROR where Self.isTLSAlert(message): kind = .tls
        default: kind = .transport
        }
        return HTTPClientError(code: kind, message: message, curlCode: Int(code.rawValue))
    }

    /// Whether libcurl's text is OpenSSL reporting an alert from the peer.
    private static func isTLSAlert(_ message: String) -> Bool {
        message.contains("SSL routines") && message.contains("alert")
    }

    private var isStreamDropped: Bool {
        if case .buffered = self.delivery { return false }
        return true
    }
}

/// Tells the loop when the consumer wants more (unpause) or has gone (abort).
final class StreamDelegate: NIOAsyncSequenceProducerDelegate, Sendable {
    let loop: CurlLoop
    let id: Int
    init(loop: CurlLoop, id: Int) {
        self.loop = loop
        self.id = id
    }
    func produceMore() { self.loop.submit(.unpause(self.id)) }
    func abort(_ error: HTTPClientError) { self.loop.submit(.remove(self.id, error)) }
    func didTerminate() {
        self.loop.submit(.remove(self.id, HTTPClientError(code: .cancelled, message: "the response body was abandoned")))
    }
}

extension String {
    fileprivate func trimmingSuffix(while predicate: (Character) -> Bool) -> String {
        var text = Substring(self)
        while let last = text.last, predicate(last) { text = text.dropLast() }
        return String(text)
    }
}
