/// Reading the examples out of the documentation's Markdown pages.
public enum Markdown {
    /// The fenced blocks of `language` in a Markdown page, in order, each ending with a newline.
    public static func blocks(_ language: String, in page: String) -> [String] {
        var blocks: [String] = []
        var current: [Substring]?
        for line in page.split(separator: "\n", omittingEmptySubsequences: false) {
            if current == nil, line == "```\(language)" {
                current = []
            } else if current != nil, line == "```" {
                blocks.append(current!.joined(separator: "\n") + "\n")
                current = nil
            } else if current != nil {
                current!.append(line)
            }
        }
        return blocks
    }
}
