public import NIOCore

/// An HTTP/1.1 client on libcurl: one multi handle on its own thread, connections kept alive and reused,
/// no automatic redirects, TLS verified by default.
///
/// ```swift
/// let client = HTTPClient(configuration: configuration)
/// let response = try await client.execute(HTTPRequest(url: "http://master:5050/api/v1/scheduler", body: call))
/// let stream = try await client.stream(subscribe)            // head now, body as it arrives
/// for try await chunk in stream.body { … }
/// ```
///
/// Cancelling the calling task aborts the transfer, and a task already cancelled gets `.cancelled` at once: requests
/// that clean up after a cancellation (a last read, a TEARDOWN) belong in a task of their own. Stream bodies are
/// back-pressured: when the consumer falls behind, libcurl is paused (`CURL_WRITEFUNC_PAUSE`) and resumed when it
/// catches up, so memory stays bounded.
public final class HTTPClient: Sendable {
    public let configuration: HTTPClientConfiguration
    private let loop: CurlLoop

    public init(configuration: HTTPClientConfiguration = HTTPClientConfiguration()) {
        self.configuration = configuration
        self.loop = CurlLoop()
    }

    deinit {
        self.loop.submit(.shutdown)
    }

    /// Aborts every transfer under way (they fail with `.shutdown`) and stops the libcurl thread.
    public func shutdown() {
        self.loop.submit(.shutdown)
    }

    /// Sends a request and waits for the whole response.
    ///
    /// - Throws: ``HTTPClientError`` (`.connect`, `.tls`, `.timeout`, `.transport`, `.cancelled`, `.bodyTooLarge`,
    ///   `.shutdown`). An error status is a response, not an error.
    public func execute(_ request: HTTPRequest) async throws -> HTTPResponse {
        let id = self.loop.makeID()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let transfer = Transfer(
                    id: id,
                    request: request,
                    configuration: self.configuration,
                    streaming: false,
                    delivery: .buffered(continuation, limit: self.configuration.maximumBufferedBodySize)
                )
                self.add(transfer, id: id)
            }
        } onCancel: {
            self.loop.submit(.remove(id, HTTPClientError(code: .cancelled, message: "the request was cancelled")))
        }
    }

    /// Hands a transfer to the loop. A task cancelled before this point had its cancellation handler run already,
    /// with nothing queued to remove: the transfer is removed right after it is added instead.
    private func add(_ transfer: Transfer, id: Int) {
        guard self.loop.submit(.add(transfer)) else {
            transfer.finish(.failure(HTTPClientError(code: .shutdown, message: "the HTTP client was shut down")))
            return
        }
        if Task.isCancelled {
            self.loop.submit(.remove(id, HTTPClientError(code: .cancelled, message: "the request was cancelled")))
        }
    }

    /// Sends a request and returns as soon as the response head has arrived; the body follows as it comes.
    /// No response timeout applies to the body.
    public func stream(_ request: HTTPRequest) async throws -> HTTPStreamingResponse {
        let id = self.loop.makeID()
        let delegate = StreamDelegate(loop: self.loop, id: id)
        let watermark = max(self.configuration.streamHighWatermark, 2)
        let producer = Transfer.Producer.makeSequence(
            backPressureStrategy: .init(lowWatermark: watermark / 2, highWatermark: watermark),
            finishOnDeinit: false,
            delegate: delegate
        )
        let head = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<HTTPResponseHead, any Error>) in
                let transfer = Transfer(
                    id: id,
                    request: request,
                    configuration: self.configuration,
                    streaming: true,
                    delivery: .streaming(continuation, producer.source)
                )
                self.add(transfer, id: id)
            }
        } onCancel: {
            self.loop.submit(.remove(id, HTTPClientError(code: .cancelled, message: "the request was cancelled")))
        }
        return HTTPStreamingResponse(head: head, body: HTTPBody(producer.sequence, client: self, delegate: delegate))
    }
}

/// A response whose body is still arriving.
public struct HTTPStreamingResponse: Sendable {
    public var head: HTTPResponseHead
    public var body: HTTPBody
    public var status: Int { self.head.status }
}

/// The bytes of a streaming response, as they arrive. Iterate it once; dropping it aborts the transfer.
/// Ends with an ``HTTPClientError`` when the connection fails.
public struct HTTPBody: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer
    private let producer: Transfer.Producer
    /// Keeps the client (and its libcurl thread) alive while the body is read.
    private let client: HTTPClient
    private let delegate: StreamDelegate

    init(_ producer: Transfer.Producer, client: HTTPClient, delegate: StreamDelegate) {
        self.producer = producer
        self.client = client
        self.delegate = delegate
    }

    /// Ends the transfer from any task or thread: the iterator still yields what had arrived, then throws `error`.
    /// For watchdogs (a stream gone silent) that must not hold a task per read.
    public func abort(_ error: HTTPClientError) {
        self.delegate.abort(error)
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        private var base: Transfer.Producer.AsyncIterator
        init(_ base: Transfer.Producer.AsyncIterator) { self.base = base }
        @concurrent public mutating func next() async throws -> ByteBuffer? { try await self.base.next() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(self.producer.makeAsyncIterator()) }
}
