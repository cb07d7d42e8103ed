import Testing

@testable import ISCSI

/// The CHAP hash functions of Digests.swift against published answers and against python3's
/// hashlib (DigestReferenceTable.swift).
@Suite struct DigestTests {
    static let bits448 = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
    static let bits896 = Array(
        "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu".utf8)
    static let millionA = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)

    static func digest(_ algorithm: CHAPAlgorithm, _ message: [UInt8]) -> String {
        hexString(algorithm.digest(of: message))
    }

    // MARK: - Published answers

    /// RFC 1321 §A.5, the MD5 test suite.
    @Test(arguments: [
        ("", "d41d8cd98f00b204e9800998ecf8427e"),
        ("a", "0cc175b9c0f1b6a831c399e269772661"),
        ("abc", "900150983cd24fb0d6963f7d28e17f72"),
        ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
        ("abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"),
        ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "d174ab98d277d9f5a5611c2c9f419d9f"),
        (String(repeating: "1234567890", count: 8), "57edf4a22be3c955ac49da2e2107b67a"),
    ])
    func md5TestSuite(message: String, expected: String) {
        #expect(Self.digest(.md5, Array(message.utf8)) == expected)
    }

    /// NIST's examples for FIPS 180-4 and FIPS 202: "", "abc", the 448-bit and 896-bit
    /// messages, and (SHA3) 200 bytes of 0xA3, which cross the 136-byte rate.
    @Test(arguments: [
        (CHAPAlgorithm.sha1, [UInt8](), "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        (.sha1, Array("abc".utf8), "a9993e364706816aba3e25717850c26c9cd0d89d"),
        (.sha1, bits448, "84983e441c3bd26ebaae4aa1f95129e5e54670f1"),
        (.sha1, bits896, "a49b2446a02c645bf419f995b67091253a04a259"),
        (.sha256, [], "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        (.sha256, Array("abc".utf8), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (.sha256, bits448, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        (.sha256, bits896, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"),
        (.sha3_256, [], "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a"),
        (.sha3_256, Array("abc".utf8), "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532"),
        (.sha3_256, bits448, "41c0dba2a9d6240849100376a8235e2c82e1b9998a999e21db32dd97496d3376"),
        (.sha3_256, bits896, "916f6061fe879741ca6469b43971dfdb28b1a32dc36cb3254e812be27aad1d18"),
        (.sha3_256, [UInt8](repeating: 0xA3, count: 200), "79f38adec5c20307a98ef76e8324afbfd46cfd81b22e3973c65fa1bd9de31787"),
    ])
    func nistExamples(algorithm: CHAPAlgorithm, message: [UInt8], expected: String) {
        #expect(Self.digest(algorithm, message) == expected)
    }

    /// One million "a": 15,625 blocks of 64 bytes, 7,353 of 136.
    @Test(arguments: [
        (CHAPAlgorithm.md5, "7707d6ae4e027c70eea2a935c2296f21"),
        (.sha1, "34aa973cd4c4daa4f61eeb2bdbad27316534016f"),
        (.sha256, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
        (.sha3_256, "5c8875ae474a3634ba4fd55ec85bffd661f32aca75c6d699d0cdcb6c115891c1"),
    ])
    func millionA(algorithm: CHAPAlgorithm, expected: String) {
        #expect(Self.digest(algorithm, Self.millionA) == expected)
    }

    // MARK: - Padding boundaries

    /// n × "a" around the places where padding changes: a 64-byte block takes at most 55 bytes
    /// of message with its padding (RFC 1321 §3.1–3.2, FIPS 180-4 §5.1.1); a 136-byte SHA3
    /// block takes at most 135 (FIPS 202 §B.2: 0x86 is then the whole padding). Expected
    /// values from python3 hashlib.
    @Test(arguments: [
        (
            55, "ef1772b6dff9a122358552954ad0df65", "c1c8bbdc22796e28c0e15163d20899b65621d65a",
            "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318",
            "78c2a04624b9328ae0e40cb8cdd29980f6ff55abf2dca68e3412d09eed4b9d03"
        ),
        (
            56, "3b0c8ac703f828b04c6c197006d17218", "c2db330f6083854c99d4b5bfb6e8f29f201be699",
            "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a",
            "f6fe8de5c8f5014786f07e9f7b08130f920dd55e587d47021686b26cf2323deb"
        ),
        (
            57, "652b906d60af96844ebd21b674f35e93", "f08f24908d682555111be7ff6f004e78283d989a",
            "f13b2d724659eb3bf47f2dd6af1accc87b81f09f59f2b75e5c0bed6589dfe8c6",
            "7dd48f8c510d69d67dee4fe03f62e8454d76d570b896444c292c8fbd53eaa102"
        ),
        (
            63, "b06521f39153d618550606be297466d5", "03f09f5b158a7a8cdad920bddc29b81c18a551f5",
            "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34",
            "552b1c47d42b5591c4d191324be3a567d8f054dfed89eefa6674eaf3dec9ad86"
        ),
        (
            64, "014842d480b571495a4a0363793f7367", "0098ba824b5c16427bd7a1122a5a442a25ec644d",
            "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb",
            "043d104b5480439c7acff8831ee195183928d9b7f8fcb0c655a086a87923ffee"
        ),
        (
            65, "c743a45e0d2e6a95cb859adae0248435", "11655326c708d70319be2610e8a57d9a5b959d3b",
            "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0",
            "ac95a2d33713281e64db879a478235f492e80f584df4acd2466462bce4110154"
        ),
        (
            119, "8a7bd0732ed6a28ce75f6dabc90e1613", "ee971065aaa017e0632a8ca6c77bb3bf8b1dfc56",
            "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb",
            "b3601ba4f5087e26845f13b42d676fd89fb19af6076523cfee74f2a49a295f66"
        ),
        (
            120, "5f61c0ccad4cac44c75ff505e1f1e537", "f34c1488385346a55709ba056ddd08280dd4c6d6",
            "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c",
            "1f81a6276d67f626c68b8c5bb94ce2b3c2145c7093517a8eb7135d0a67863992"
        ),
        (
            135, "247dc7ffc545e4dda64ae12def481c4e", "71f9ed42b368201e6e0facebedefc3f46575b67b",
            "dfa58dfd72f3c7080d0249a7758fd3636872f63fa24b18473ed36f031e248347",
            "8094bb53c44cfb1e67b7c30447f9a1c33696d2463ecc1d9c92538913392843c9"
        ),
        (
            136, "2dfd4def392ee9563241b7db7eb7c346", "d8db8554295cc90abae5ce8b7595171041f2a051",
            "6f0e44b9ce4ea61d52a3479c10f60ef916937f799f11964b7f1c7771063905c4",
            "3fc5559f14db8e453a0a3091edbd2bc25e11528d81c66fa570a4efdcc2695ee1"
        ),
        (
            137, "d11a18a4743a1a0a699d1704efb74a0d", "a59ae586b7704ca9cb92d8fc7ba95e4fc57f52d1",
            "b6dc2da678c065ebdce374ebe1842728277203ee1a9a29832f058cf013d5ad85",
            "f8d6846cedd2ccfadf15c5879ef95af724d799eed7391fb1c91f95344e738614"
        ),
        (
            271, "b1a33b3e05a9975d2e6b0edbd54094ec", "34256514589258f13865f80f187b57ec4d9c75c1",
            "dcc28b75581791a1043f5dd56412bf050234cd7cdf3c9ffffcf971122e043c76",
            "e79e5c6fef1bb5fdea2717ca27e88399e9b64699d1b3eb8e30f314fa055214e8"
        ),
        (
            272, "7e4f69a80142f537fdbc8e98d56ece13", "2b76c273b38eea12693fa61c5dee3d4ddccb032f",
            "d6dda67606ad95d02382e805077f059e451e8d1fb17d81c683a113a2a53b25c3",
            "a490357b9b3fb39d0a89a117734e5b020b1f33c7bf3fa3575c396425432003d3"
        ),
    ])
    func paddingBoundaries(length: Int, md5: String, sha1: String, sha256: String, sha3: String) {
        let message = [UInt8](repeating: UInt8(ascii: "a"), count: length)
        #expect(Self.digest(.md5, message) == md5)
        #expect(Self.digest(.sha1, message) == sha1)
        #expect(Self.digest(.sha256, message) == sha256)
        #expect(Self.digest(.sha3_256, message) == sha3)
    }

    // MARK: - Against python3 hashlib

    /// Every length from 0 to 300 and 99 random ones up to 4096, each digest's first four
    /// bytes against python3 hashlib's (DigestReferenceTable.swift).
    @Test func agreesWithHashlib() throws {
        let lines = DigestReferenceTable.text.split(separator: "\n")
        #expect(lines.count == 400)
        for line in lines {
            let fields = line.split(separator: " ")
            let length = try #require(Int(fields[0]))
            let message = DigestReferenceTable.message(length: length)
            for (algorithm, expected) in zip(CHAPAlgorithm.allCases, fields.dropFirst()) {
                #expect(
                    Self.digest(algorithm, message).prefix(8) == expected,
                    "\(algorithm) of the \(length)-byte message")
            }
        }
    }

    /// The digest lengths CHAP checks a target's CHAP_R against.
    @Test(arguments: CHAPAlgorithm.allCases)
    func lengths(algorithm: CHAPAlgorithm) {
        #expect(algorithm.digest(of: Array("abc".utf8)).count == algorithm.digestLength)
    }
}
