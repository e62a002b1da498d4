import Testing
@testable import MailKeepIO
@testable import MailKeepFormats
@testable import MailKeepArchive
@testable import MailKeepPipeline

@Suite struct HeaderEncodedWordTests {
    static let samples: [(String, String)] = [
        // B encoding in the charsets real mail uses
        ("=?ISO-2022-JP?B?GyRCRnxLXDhsJE4lRiU5JUgbKEI=?=", "日本語のテスト"),
        ("=?Shift_JIS?B?k/qWe4zqgsyDZYNYg2c=?=", "日本語のテスト"),
        ("=?EUC-JP?B?xvzL3Ljs?=", "日本語"),
        ("=?KOI8-R?B?8NLJ18XUIM3J0g==?=", "Привет мир"),
        ("=?KOI8-U?B?vcHOz8s=?=", "Ґанок"),
        ("=?windows-1251?B?z/Do4uXy?=", "Привет"),
        ("=?GB2312?B?1tDOxLLiytQ=?=", "中文测试"),
        ("=?GB18030?B?1tDOxA==?=", "中文"),
        ("=?Big5?B?pKSk5bT6uNU=?=", "中文測試"),
        ("=?EUC-KR?B?x9Gxub7u?=", "한국어"),
        ("=?ks_c_5601-1987?B?x9Gxub7u?=", "한국어"),
        ("=?ISO-8859-2?B?o/NkvA==?=", "Łódź"),
        ("=?utf-8?b?w6k=?=", "é"),
        ("=?UTF-8*en?B?w6k?=", "é"),
        // Q encoding
        ("=?iso-8859-1?q?caf=E9_cr=E8me?=", "café crème"),
        ("=?ISO-8859-1?Q?a_b__c?=", "a b  c"),
        ("=?us-ascii?Q?=80?=", "€"),
        ("=?utf-8?Q?100=?=", "100="),
        // Adjacent words: whitespace between them goes, other text stays
        ("=?utf-8?q?a?= =?utf-8?q?b?=", "ab"),
        ("=?utf-8?q?a?=\t  =?iso-8859-1?q?=E9?=", "aé"),
        ("=?utf-8?q?a?= and =?utf-8?q?b?=", "a and b"),
        ("Re: =?utf-8?q?a?= [list]", "Re: a [list]"),
        // A UTF-8 character split across two words
        ("=?utf-8?B?5pel5g==?= =?utf-8?B?nKw=?=", "日本"),
        // Encoded words glued to text or quoted, as many clients send them
        ("x=?utf-8?q?y?=z", "xyz"),
        ("\"=?utf-8?q?J=C3=B6rg?=\"", "\"Jörg\""),
        // Broken words stay as written
        ("=?x-unknown-charset?q?abc?=", "=?x-unknown-charset?q?abc?="),
        ("=?utf-8?B?!!!!?=", "=?utf-8?B?!!!!?="),
        ("=?utf-8?B?A?=", "=?utf-8?B?A?="),
        ("=?utf-8?X?abc?=", "=?utf-8?X?abc?="),
        ("=?utf-8?q?no end", "=?utf-8?q?no end"),
        ("=??q?abc?=", "=??q?abc?="),
        ("plain text", "plain text"),
        ("", ""),
    ]

    @Test(arguments: samples)
    func decodes(_ encoded: String, _ expected: String) {
        #expect(EncodedWords.decode(Array(encoded.utf8)) == expected)
    }

    @Test func unknownWordKeepsNeighboursDecoded() {
        let text = "=?utf-8?q?a?= =?x-nope?q?b?= =?utf-8?q?c?="
        #expect(EncodedWords.decode(Array(text.utf8)) == "a =?x-nope?q?b?= c")
    }

    @Test func rawBytesUseUTF8ThenDeclaredCharsetThenWindows1252() {
        let koi8: [UInt8] = [0xF0, 0xD2, 0xC9, 0xD7, 0xC5, 0xD4]
        #expect(CharsetDecoder.decodeRaw(Array("é".utf8)) == "é")
        #expect(CharsetDecoder.decodeRaw(koi8, fallbackCharset: "koi8-r") == "Привет")
        #expect(CharsetDecoder.decodeRaw([0x93, 0x41, 0x94]) == "\u{201C}A\u{201D}")
        #expect(CharsetDecoder.decodeRaw([0x81], fallbackCharset: "x-nope") == "\u{81}")
    }

    @Test func invalidBytesInKnownCharsetBecomeReplacementCharacters() {
        // 0x82 0xFF is not Shift_JIS; the text around it survives.
        #expect(CharsetDecoder.decode([0x41, 0xFF, 0x42], charset: "shift_jis") == "A\u{FFFD}B")
        #expect(CharsetDecoder.decode([0x41, 0x82], charset: "shift_jis") == "A\u{FFFD}")
        #expect(CharsetDecoder.decode([0x41], charset: "no-such-charset") == nil)
        #expect(CharsetDecoder.isKnown("ISO-8859-15"))
        #expect(!CharsetDecoder.isKnown("no-such-charset"))
    }

    @Test func base64ToleratesMissingPaddingOnly() {
        #expect(EncodedWords.decodeBase64(Array("YWJj".utf8)[...]) == Array("abc".utf8))
        #expect(EncodedWords.decodeBase64(Array("YWI".utf8)[...]) == Array("ab".utf8))
        #expect(EncodedWords.decodeBase64(Array("YQ==".utf8)[...]) == Array("a".utf8))
        #expect(EncodedWords.decodeBase64(Array("Y".utf8)[...]) == nil)
        #expect(EncodedWords.decodeBase64(Array("YQ==YQ".utf8)[...]) == nil)
    }
}
