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
        let expected: [UInt8] = [13, 10, 13, 10]
        for byte in buffer.readableBytesView {
            self.headBytes += 1
            if byte == expected[self.terminator] {
                self.terminator += 1
                if self.terminator == 4 {
                    self.terminator = 0
                    self.headBytes = 0
                }
            } else {
                self.terminator = byte == 13 ? 1 : 0
            }
            if self.headBytes > self.limit {
                self.rejected = true
                let response = "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                let channel = context.channel
                context.writeAndFlush(self.wrapOutboundOut(ByteBuffer(string: response))).whenComplete { _ in channel.close(promise: nil) }
                return
            }
        }
        context.fireChannelRead(data)
    }
}
