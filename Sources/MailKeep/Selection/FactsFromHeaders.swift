extension MessageFacts {
    /// Reads what selection needs from a message's header block.
    public init(content: UnsafeRawBufferPointer) {
        let h = HeaderFields(content)
        self.init(date: h.value("date").flatMap(parseMailDate), from: [h.value("from") ?? ""],
                  to: ["to", "cc", "bcc"].compactMap { h.value($0) }, subject: h.value("subject") ?? "",
                  messageID: h.value("message-id").map(normalizedMessageID), headers: [:])
    }
}
