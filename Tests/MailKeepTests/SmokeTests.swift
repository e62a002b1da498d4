import Testing
@testable import MailKeepIO
@testable import MailKeepFormats
@testable import MailKeepArchive
@testable import MailKeepPipeline

@Test func contentHashIsSHA256() {
    let digest = Array("abc".utf8).withUnsafeBytes { ContentHasher.sha256Hex(of: $0) }
    #expect(digest == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
}
