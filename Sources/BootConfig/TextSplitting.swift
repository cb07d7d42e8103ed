extension StringProtocol {
    /// Splits on `separator` outside square brackets, so that `[2001:db8::1]:3260` is two fields.
    func splitOutsideBrackets(_ separator: Character) -> [Substring] {
        var fields: [Substring] = []
        var depth = 0
        var start = startIndex
        var index = startIndex
        while index < endIndex {
            let character = self[index]
            if character == "[" {
                depth += 1
            } else if character == "]" {
                depth = Swift.max(0, depth - 1)
            } else if character == separator, depth == 0 {
                fields.append(Substring(self[start..<index]))
                start = self.index(after: index)
            }
            index = self.index(after: index)
        }
        fields.append(Substring(self[start..<endIndex]))
        return fields
    }

    /// Whether every character is an ASCII decimal digit (and there is at least one).
    var isDecimalNumber: Bool { !isEmpty && utf8.allSatisfy { (0x30...0x39).contains($0) } }
}
