/// Something in a YAML file that the composer refuses, at its position.
///
/// Problems carry facts, not sentences: each front end (manifests, world files) words them for its users and
/// gives them its own diagnostic codes.
public struct YAMLProblem: Sendable, Hashable {
    /// What is wrong.
    public enum Kind: Sendable, Hashable {
        /// The file is larger than the limit (`size` and `limit` in bytes); it was not parsed.
        case fileTooLarge(size: Int, limit: Int)
        /// The file starts with a UTF-16 or UTF-32 byte-order mark (`encoding` is "UTF-16" or "UTF-32").
        case unsupportedEncoding(encoding: String)
        /// A NUL byte: binary data, or text in an encoding other than UTF-8.
        case nulByte
        /// A control character YAML forbids (a byte-order mark inside the file included).
        case controlCharacter(scalar: UInt32)
        /// A byte that does not start a valid UTF-8 sequence (overlong forms, surrogates, past U+10FFFF).
        case invalidUTF8(byte: UInt8)
        /// libyaml cannot parse the text: its problem, and the context it was in, with where that started.
        case syntax(problem: String, context: String?, contextMark: YAMLMark?)
        /// An anchor (`&name`); only the first of a file is reported, `count` is the file's total.
        case anchor(count: Int)
        /// An alias (`*name`), never resolved; only the first of a file is reported, `count` is the total.
        case alias(count: Int)
        /// An explicit tag, shown short for the YAML core tags (`!!str`), as written otherwise (`!foo`).
        case tag(String)
        /// A merge key (`<<`).
        case mergeKey
        /// A sequence (`isSequence`) or mapping used as a mapping key.
        case nonScalarKey(isSequence: Bool)
        /// A key repeated in one mapping; the first one is kept.
        case duplicateKey(String, first: YAMLMark)
        /// Nesting deeper than `limit`; reading stopped here.
        case tooDeep(limit: Int)
        /// More nodes than `limit` in the load; reading stopped here.
        case tooManyNodes(limit: Int)
        /// More documents than `limit` in the load; reading stopped here.
        case tooManyDocuments(limit: Int)
        /// libyaml's parser could not be initialised (out of memory).
        case parserUnavailable
    }

    /// What is wrong.
    public var kind: Kind
    /// Where: the file's 1-based line and column (columns count Unicode scalars).
    public var mark: YAMLMark

    /// A problem of `kind` at `mark`.
    public init(_ kind: Kind, at mark: YAMLMark) {
        self.kind = kind
        self.mark = mark
    }
}
