/// "Did you mean" suggestions by edit distance, for every table of names a user may misspell (manifest
/// fields and choices, references, time zones).
public enum Suggestions {
    /// The candidate closest to `word`: one that differs only in case or in spaces, hyphens and underscores
    /// first, else the nearest by edit distance when it is close enough to be a likely typo.
    public static func closest(to word: String, in candidates: [String]) -> String? {
        guard word.count <= 256 else { return nil }
        let folded = fold(word)
        if let loose = candidates.first(where: { fold($0) == folded }) { return loose }
        var best: (candidate: String, distance: Int)?
        for candidate in candidates {
            let distance = editDistance(word.lowercased(), candidate.lowercased())
            if distance < best?.distance ?? Int.max { best = (candidate, distance) }
        }
        guard let best else { return nil }
        let allowed = max(1, min(3, best.candidate.count / 3))
        return best.distance <= allowed ? best.candidate : nil
    }

    /// ", did you mean 'x'?"-style hint text, or a list of the candidates when none is close.
    public static func hint(for word: String, in candidates: [String], listing noun: String) -> String {
        if let closest = closest(to: word, in: candidates) { return "did you mean '\(closest)'?" }
        let shown = candidates.count > 12 ? candidates.prefix(12).joined(separator: ", ") + ", …" : candidates.joined(separator: ", ")
        return "\(noun): \(shown)"
    }

    private static func fold(_ text: String) -> String {
        String(text.lowercased().unicodeScalars.filter { $0 != " " && $0 != "-" && $0 != "_" })
    }

    /// Levenshtein distance over Unicode scalars.
    public static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.unicodeScalars)
        let b = Array(b.unicodeScalars)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = Array(repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
