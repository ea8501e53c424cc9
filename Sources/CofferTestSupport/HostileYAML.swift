/// YAML crafted to exhaust a parser that expands aliases, shared by the tests of every layer that reads YAML.
public enum HostileYAML {
    /// The "billion laughs" alias bomb: nine anchored sequences, `a` of nine strings and each next one of nine
    /// aliases of the one before, so 9^9 (387 million) strings once expanded. Written, it has 100 nodes: the
    /// first anchor is at line 1, column 4, the first alias at line 2, column 8. No trailing newline.
    public static let billionLaughs = """
        a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
        b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
        c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
        d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
        e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
        f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
        g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
        h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
        i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
        """

    /// The bomb as the value of `key` in a block mapping (each line indented by two spaces), ending with a
    /// newline, to append to a document whose top level is a mapping.
    public static func billionLaughs(under key: String) -> String {
        "\(key):\n" + billionLaughs.split(separator: "\n").map { "  \($0)\n" }.joined()
    }
}
