// The hash functions of CHAP (RFC 7143 §12.1.3, by their IANA PPP Authentication Algorithms
// numbers): MD5 (5, RFC 1321), SHA-1 (6) and SHA-256 (7, FIPS 180-4), SHA3-256 (8, FIPS 202).
// Written from those specifications so that the static binary carries about 36 KB of
// hashing instead of libcrypto's EVP providers (3.7 MB).
//
// Each hashes one whole message: CHAP's are an identifier, a secret and a challenge of at most
// 1024 bytes. The rounds use only additions, rotations and boolean operations on words, with
// no branch or table look-up that depends on the data, so the time depends on the message's
// length alone.

/// MD5 (RFC 1321).
enum MD5 {
    static func hash(_ message: [UInt8]) -> [UInt8] {
        // RFC 1321 §3.3: the buffer A, B, C, D.
        var state: [UInt32] = [0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476]
        forEachPaddedBlock(of: message, lengthBigEndian: false) { block in
            let words = Words(block, bigEndian: false)
            var (a, b, c, d) = (state[0], state[1], state[2], state[3])
            for step in 0..<64 {
                // RFC 1321 §3.4: the round's function F, G, H or I, and which word X[k] it adds.
                let function: UInt32
                let word: Int
                switch step / 16 {
                case 0: (function, word) = ((b & c) | (~b & d), step)
                case 1: (function, word) = ((b & d) | (c & ~d), (5 * step + 1) % 16)
                case 2: (function, word) = (b ^ c ^ d, (3 * step + 5) % 16)
                default: (function, word) = (c ^ (b | ~d), (7 * step) % 16)
                }
                let sum = a &+ function &+ md5Sines[step] &+ words[word]
                (a, b, c, d) = (d, b &+ rotateLeft(sum, md5Shifts[step / 16 * 4 + step % 4]), b, c)
            }
            state[0] &+= a
            state[1] &+= b
            state[2] &+= c
            state[3] &+= d
        }
        return bytes(of: state, bigEndian: false)
    }
}

/// SHA-1 (FIPS 180-4 §6.1).
enum SHA1 {
    static func hash(_ message: [UInt8]) -> [UInt8] {
        // FIPS 180-4 §5.3.1: the initial hash value H(0).
        var state: [UInt32] = [0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0]
        forEachPaddedBlock(of: message, lengthBigEndian: true) { block in
            // FIPS 180-4 §6.1.2, with the message schedule W kept as its last 16 words (§6.1.3).
            var schedule = Words(block, bigEndian: true)
            var (a, b, c, d, e) = (state[0], state[1], state[2], state[3], state[4])
            for t in 0..<80 {
                if t >= 16 {
                    schedule[t] = rotateLeft(schedule[t - 3] ^ schedule[t - 8] ^ schedule[t - 14] ^ schedule[t - 16], 1)
                }
                // §4.1.1 and §4.2.1: Ch, Parity, Maj, Parity, each with its constant K.
                let function: UInt32
                let constant: UInt32
                switch t / 20 {
                case 0: (function, constant) = ((b & c) ^ (~b & d), 0x5A82_7999)
                case 1: (function, constant) = (b ^ c ^ d, 0x6ED9_EBA1)
                case 2: (function, constant) = ((b & c) ^ (b & d) ^ (c & d), 0x8F1B_BCDC)
                default: (function, constant) = (b ^ c ^ d, 0xCA62_C1D6)
                }
                let temporary = rotateLeft(a, 5) &+ function &+ e &+ constant &+ schedule[t]
                (a, b, c, d, e) = (temporary, a, rotateLeft(b, 30), c, d)
            }
            for (index, value) in [a, b, c, d, e].enumerated() { state[index] &+= value }
        }
        return bytes(of: state, bigEndian: true)
    }
}

/// SHA-256 (FIPS 180-4 §6.2).
enum SHA256 {
    static func hash(_ message: [UInt8]) -> [UInt8] {
        // FIPS 180-4 §5.3.3: the initial hash value H(0).
        var state: [UInt32] = [
            0x6A09_E667, 0xBB67_AE85, 0x3C6E_F372, 0xA54F_F53A, 0x510E_527F, 0x9B05_688C, 0x1F83_D9AB, 0x5BE0_CD19,
        ]
        forEachPaddedBlock(of: message, lengthBigEndian: true) { block in
            // FIPS 180-4 §6.2.2, with the message schedule W kept as its last 16 words.
            var schedule = Words(block, bigEndian: true)
            var (a, b, c, d) = (state[0], state[1], state[2], state[3])
            var (e, f, g, h) = (state[4], state[5], state[6], state[7])
            for t in 0..<64 {
                if t >= 16 {
                    // §4.1.2 (4.6), (4.7): σ0 and σ1.
                    let w15 = schedule[t - 15]
                    let w2 = schedule[t - 2]
                    let sigma0 = rotateRight(w15, 7) ^ rotateRight(w15, 18) ^ (w15 >> 3)
                    let sigma1 = rotateRight(w2, 17) ^ rotateRight(w2, 19) ^ (w2 >> 10)
                    schedule[t] = sigma1 &+ schedule[t - 7] &+ sigma0 &+ schedule[t - 16]
                }
                // §4.1.2 (4.2) to (4.5): Ch, Maj, Σ0, Σ1.
                let bigSigma1 = rotateRight(e, 6) ^ rotateRight(e, 11) ^ rotateRight(e, 25)
                let choose = (e & f) ^ (~e & g)
                let temporary1 = h &+ bigSigma1 &+ choose &+ sha256Constants[t] &+ schedule[t]
                let bigSigma0 = rotateRight(a, 2) ^ rotateRight(a, 13) ^ rotateRight(a, 22)
                let majority = (a & b) ^ (a & c) ^ (b & c)
                let temporary2 = bigSigma0 &+ majority
                (h, g, f, e) = (g, f, e, d &+ temporary1)
                (d, c, b, a) = (c, b, a, temporary1 &+ temporary2)
            }
            for (index, value) in [a, b, c, d, e, f, g, h].enumerated() { state[index] &+= value }
        }
        return bytes(of: state, bigEndian: true)
    }
}

/// SHA3-256: the sponge over KECCAK-p[1600, 24] with a rate of 1088 bits (FIPS 202 §6.1).
enum SHA3_256 {
    static let rate = 136
    static let digestLength = 32

    static func hash(_ message: [UInt8]) -> [UInt8] {
        var lanes = Keccak()
        message.withUnsafeBytes { bytes in
            let fullBlocks = bytes.count / rate
            for index in 0..<fullBlocks {
                lanes.absorb(UnsafeRawBufferPointer(rebasing: bytes[index * rate..<(index + 1) * rate]))
            }
            // §6.1 and §B.2: the suffix 01 and pad10*1, in bytes 0x06 … 0x80 (0x86 when they meet).
            var last = Array(bytes[(fullBlocks * rate)...]) + [0x06]
            last += repeatElement(0, count: rate - last.count)
            last[rate - 1] |= 0x80
            last.withUnsafeBytes { lanes.absorb($0) }
        }
        var digest = [UInt8]()
        digest.reserveCapacity(digestLength)
        for index in 0..<(digestLength / 8) {
            withUnsafeBytes(of: lanes.state[index].littleEndian) { digest += $0 }
        }
        return digest
    }
}

// MARK: - Merkle–Damgård blocks (MD5, SHA-1, SHA-256)

/// Calls `compress` with each 64-byte block of `message` after padding (RFC 1321 §3.1–3.2,
/// FIPS 180-4 §5.1.1): a 1 bit, zeros up to 56 bytes modulo 64, then the message's length in
/// bits as 64 bits, little-endian for MD5 and big-endian for SHA.
private func forEachPaddedBlock(
    of message: [UInt8], lengthBigEndian: Bool, _ compress: (UnsafeRawBufferPointer) -> Void
) {
    func blocks(_ bytes: UnsafeRawBufferPointer) {
        for start in stride(from: 0, to: bytes.count - 63, by: 64) {
            compress(UnsafeRawBufferPointer(rebasing: bytes[start..<start + 64]))
        }
    }
    message.withUnsafeBytes { bytes in
        blocks(bytes)
        var tail = Array(bytes[(bytes.count / 64 * 64)...]) + [0x80]
        while tail.count % 64 != 56 { tail.append(0) }
        let bitLength = UInt64(truncatingIfNeeded: bytes.count) &<< 3
        withUnsafeBytes(of: lengthBigEndian ? bitLength.bigEndian : bitLength.littleEndian) { tail += $0 }
        tail.withUnsafeBytes(blocks)
    }
}

/// The 16 words of one 64-byte block, indexed modulo 16: SHA-1 and SHA-256 overwrite them
/// with the message schedule as they go (FIPS 180-4 §6.1.3).
private struct Words {
    private var words = InlineArray<16, UInt32>(repeating: 0)

    init(_ block: UnsafeRawBufferPointer, bigEndian: Bool) {
        for index in 0..<16 {
            let word = block.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self)
            words[index] = bigEndian ? UInt32(bigEndian: word) : UInt32(littleEndian: word)
        }
    }

    subscript(index: Int) -> UInt32 {
        get { words[index & 15] }
        set { words[index & 15] = newValue }
    }
}

private func bytes(of state: [UInt32], bigEndian: Bool) -> [UInt8] {
    var digest = [UInt8]()
    digest.reserveCapacity(state.count * 4)
    for word in state {
        withUnsafeBytes(of: bigEndian ? word.bigEndian : word.littleEndian) { digest += $0 }
    }
    return digest
}

private func rotateLeft(_ word: UInt32, _ count: UInt32) -> UInt32 {
    word &<< count | word &>> (32 &- count)
}

private func rotateRight(_ word: UInt32, _ count: UInt32) -> UInt32 {
    word &>> count | word &<< (32 &- count)
}

/// RFC 1321 §3.4: T[i], the integer part of 2^32 × |sin(i)| for i = 1 … 64.
private let md5Sines: [UInt32] = [
    0xD76A_A478, 0xE8C7_B756, 0x2420_70DB, 0xC1BD_CEEE, 0xF57C_0FAF, 0x4787_C62A, 0xA830_4613, 0xFD46_9501,
    0x6980_98D8, 0x8B44_F7AF, 0xFFFF_5BB1, 0x895C_D7BE, 0x6B90_1122, 0xFD98_7193, 0xA679_438E, 0x49B4_0821,
    0xF61E_2562, 0xC040_B340, 0x265E_5A51, 0xE9B6_C7AA, 0xD62F_105D, 0x0244_1453, 0xD8A1_E681, 0xE7D3_FBC8,
    0x21E1_CDE6, 0xC337_07D6, 0xF4D5_0D87, 0x455A_14ED, 0xA9E3_E905, 0xFCEF_A3F8, 0x676F_02D9, 0x8D2A_4C8A,
    0xFFFA_3942, 0x8771_F681, 0x6D9D_6122, 0xFDE5_380C, 0xA4BE_EA44, 0x4BDE_CFA9, 0xF6BB_4B60, 0xBEBF_BC70,
    0x289B_7EC6, 0xEAA1_27FA, 0xD4EF_3085, 0x0488_1D05, 0xD9D4_D039, 0xE6DB_99E5, 0x1FA2_7CF8, 0xC4AC_5665,
    0xF429_2244, 0x432A_FF97, 0xAB94_23A7, 0xFC93_A039, 0x655B_59C3, 0x8F0C_CC92, 0xFFEF_F47D, 0x8584_5DD1,
    0x6FA8_7E4F, 0xFE2C_E6E0, 0xA301_4314, 0x4E08_11A1, 0xF753_7E82, 0xBD3A_F235, 0x2AD7_D2BB, 0xEB86_D391,
]

/// RFC 1321 §3.4: the rotation of each step, four per round.
private let md5Shifts: [UInt32] = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21]

/// FIPS 180-4 §4.2.2: K, the first 32 bits of the fractional parts of the cube roots of the
/// first 64 primes.
private let sha256Constants: [UInt32] = [
    0x428A_2F98, 0x7137_4491, 0xB5C0_FBCF, 0xE9B5_DBA5, 0x3956_C25B, 0x59F1_11F1, 0x923F_82A4, 0xAB1C_5ED5,
    0xD807_AA98, 0x1283_5B01, 0x2431_85BE, 0x550C_7DC3, 0x72BE_5D74, 0x80DE_B1FE, 0x9BDC_06A7, 0xC19B_F174,
    0xE49B_69C1, 0xEFBE_4786, 0x0FC1_9DC6, 0x240C_A1CC, 0x2DE9_2C6F, 0x4A74_84AA, 0x5CB0_A9DC, 0x76F9_88DA,
    0x983E_5152, 0xA831_C66D, 0xB003_27C8, 0xBF59_7FC7, 0xC6E0_0BF3, 0xD5A7_9147, 0x06CA_6351, 0x1429_2967,
    0x27B7_0A85, 0x2E1B_2138, 0x4D2C_6DFC, 0x5338_0D13, 0x650A_7354, 0x766A_0ABB, 0x81C2_C92E, 0x9272_2C85,
    0xA2BF_E8A1, 0xA81A_664B, 0xC24B_8B70, 0xC76C_51A3, 0xD192_E819, 0xD699_0624, 0xF40E_3585, 0x106A_A070,
    0x19A4_C116, 0x1E37_6C08, 0x2748_774C, 0x34B0_BCB5, 0x391C_0CB3, 0x4ED8_AA4A, 0x5B9C_CA4F, 0x682E_6FF3,
    0x748F_82EE, 0x78A5_636F, 0x84C8_7814, 0x8CC7_0208, 0x90BE_FFFA, 0xA450_6CEB, 0xBEF9_A3F7, 0xC671_78F2,
]

// MARK: - KECCAK-p[1600, 24] (SHA3-256)

/// The 5 × 5 lanes of 64 bits, lane (x, y) at index x + 5y (FIPS 202 §3.1.2 and §B.1: bytes
/// enter the lanes little-endian).
private struct Keccak {
    var state = InlineArray<25, UInt64>(repeating: 0)

    /// XORs one block of `SHA3_256.rate` bytes into the first lanes and permutes.
    mutating func absorb(_ block: UnsafeRawBufferPointer) {
        for index in 0..<(block.count / 8) {
            state[index] ^= UInt64(littleEndian: block.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self))
        }
        permute()
    }

    /// FIPS 202 §3.3: the 24 rounds of θ, ρ, π, χ and ι.
    mutating func permute() {
        for round in 0..<24 {
            // θ (§3.2.1): each lane takes the parity of two neighbouring columns.
            var columns = InlineArray<5, UInt64>(repeating: 0)
            for x in 0..<5 {
                columns[x] = state[x] ^ state[x + 5] ^ state[x + 10] ^ state[x + 15] ^ state[x + 20]
            }
            for x in 0..<5 {
                let parity = columns[(x + 4) % 5] ^ rotateLeft(columns[(x + 1) % 5], 1)
                for y in stride(from: 0, to: 25, by: 5) { state[x + y] ^= parity }
            }
            // ρ and π (§3.2.2, §3.2.3): lane (x, y) takes lane ((x + 3y) mod 5, x), rotated.
            var moved = InlineArray<25, UInt64>(repeating: 0)
            for index in 0..<25 {
                let source = keccakPiSources[index]
                moved[index] = rotateLeft(state[source], keccakRhoOffsets[source])
            }
            // χ (§3.2.4): each bit combines with the next two of its row.
            for y in stride(from: 0, to: 25, by: 5) {
                for x in 0..<5 {
                    state[x + y] = moved[x + y] ^ (~moved[(x + 1) % 5 + y] & moved[(x + 2) % 5 + y])
                }
            }
            // ι (§3.2.5).
            state[0] ^= keccakRoundConstants[round]
        }
    }
}

private func rotateLeft(_ lane: UInt64, _ count: UInt64) -> UInt64 {
    lane &<< count | lane &>> (64 &- count)
}

/// FIPS 202 §3.2.2 Algorithm 2: the offset of ρ for lane x + 5y, (t + 1)(t + 2)/2 mod 64.
private let keccakRhoOffsets: [UInt64] = [
    0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39, 41, 45, 15, 21, 8, 18, 2, 61, 56, 14,
]

/// FIPS 202 §3.2.3: π moves lane ((x + 3y) mod 5, x) to lane (x, y); the source for each x + 5y.
private let keccakPiSources: [Int] = [
    0, 6, 12, 18, 24, 3, 9, 10, 16, 22, 1, 7, 13, 19, 20, 4, 5, 11, 17, 23, 2, 8, 14, 15, 21,
]

/// FIPS 202 §3.2.5 Algorithms 5 and 6: RC for each round, from the LFSR rc(t).
private let keccakRoundConstants: [UInt64] = [
    0x0000_0000_0000_0001, 0x0000_0000_0000_8082, 0x8000_0000_0000_808A, 0x8000_0000_8000_8000,
    0x0000_0000_0000_808B, 0x0000_0000_8000_0001, 0x8000_0000_8000_8081, 0x8000_0000_0000_8009,
    0x0000_0000_0000_008A, 0x0000_0000_0000_0088, 0x0000_0000_8000_8009, 0x0000_0000_8000_000A,
    0x0000_0000_8000_808B, 0x8000_0000_0000_008B, 0x8000_0000_0000_8089, 0x8000_0000_0000_8003,
    0x8000_0000_0000_8002, 0x8000_0000_0000_0080, 0x0000_0000_0000_800A, 0x8000_0000_8000_000A,
    0x8000_0000_8000_8081, 0x8000_0000_0000_8080, 0x0000_0000_8000_0001, 0x8000_0000_8000_8008,
]
