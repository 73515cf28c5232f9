import NIOCore

/// Counts the bytes of each request head before the HTTP parser sees them; a head larger than the limit is
/// answered 431 and the connection closed. The server serves only GET and HEAD, whose requests are heads alone.
final class RequestHeadLimitHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let limit: Int
    private var headBytes = 0
    /// How many bytes of "\r\n\r\n" the previous chunk ended with.
    private var terminator = 0
    private var rejected = false

    init(limit: Int) { self.limit = limit }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !self.rejected else { return }
        let buffer = self.unwrapInboundIn(data)
        // The bytes of "\r\n\r\n" in order; a scan of raw bytes, no allocation per read.
        var (headBytes, terminator, exceeded) = (self.headBytes, self.terminator, false)
        buffer.withUnsafeReadableBytes { bytes in
            for byte in bytes {
                headBytes += 1
                if byte == (terminator & 1 == 0 ? 13 : 10) {
                    terminator += 1
                    if terminator == 4 { (terminator, headBytes) = (0, 0) }
                } else {
                    terminator = byte == 13 ? 1 : 0
                }
                if headBytes > self.limit {
                    exceeded = true
                    return
                }
            }
        }
        (self.headBytes, self.terminator) = (headBytes, terminator)
        if exceeded {
            self.rejected = true
            let response = "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            let channel = context.channel
            context.writeAndFlush(self.wrapOutboundOut(ByteBuffer(string: response))).whenComplete { _ in channel.close(promise: nil) }
            return
        }
        context.fireChannelRead(data)
    }
}
