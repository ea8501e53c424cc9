/// Reading the examples out of the documentation's Markdown pages.
public enum Markdown {
    /// A fenced code block: its info string (the language tag, `sh` in "```sh"), and its lines with the line
    /// number of the first one in the page (1-based), so that a failure can name where a line came from.
    public struct Block: Sendable, Equatable {
        public var language: String
        public var firstLine: Int
        public var lines: [String]

        /// The page's line number of `lines[index]`.
        public func line(_ index: Int) -> Int { firstLine + index }
    }

    /// Every fenced block of a page, in order, whatever its language (an untagged block has "").
    public static func fencedBlocks(in page: String) -> [Block] {
        var blocks: [Block] = []
        var current: Block?
        for (index, line) in page.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if current == nil, line.hasPrefix("```") {
                current = Block(language: String(line.dropFirst(3)).trimmingSpaces, firstLine: index + 2, lines: [])
            } else if current != nil, line == "```" {
                blocks.append(current!)
                current = nil
            } else if current != nil {
                current!.lines.append(String(line))
            }
        }
        return blocks
    }

    /// The fenced blocks of `language` in a Markdown page, in order, each ending with a newline.
    public static func blocks(_ language: String, in page: String) -> [String] {
        fencedBlocks(in: page).filter { $0.language == language }.map { $0.lines.joined(separator: "\n") + "\n" }
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
