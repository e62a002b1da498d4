extension MessageFacts {
    /// Reads what selection needs from a message's header block.
    public init(content: UnsafeRawBufferPointer) {
        let h = HeaderBlock(message: content)
        self.init(date: h.first("date").flatMap { MailDate.parse(rfc5322: $0)?.unixSeconds }, from: [h.decoded("from") ?? ""],
                  to: ["to", "cc", "bcc"].compactMap { h.decoded($0) }, subject: h.decoded("subject") ?? "",
                  messageID: h.first("message-id").map { normalizedMessageID(String(decoding: $0, as: UTF8.self)) }, headers: [:])
    }
}
