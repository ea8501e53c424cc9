import CofferModel

/// The naming rules of the manifests themselves, beside Azure's (CofferModel's `NamingRule` table).
extension NamingRule {
    static let identifier = NamingRule(
        noun: "a resource name",
        form: characters(first: .of(letters: true, digits: true), middle: .of(letters: true, digits: true, "-_.")),
        minLength: 1, maxLength: 80,
        rule: "1–80 letters, digits, hyphens, underscores or periods, starting with a letter or digit")
    static let subscription = NamingRule(
        noun: "a subscription name or id", form: characters(first: .of(letters: true, digits: true, "-_.")), minLength: 1,
        maxLength: 64, rule: "the subscription's id or name: 1–64 letters, digits, hyphens, underscores or periods")
    static let labelKey = NamingRule(
        noun: "a label key",
        form: characters(
            first: .of(letters: true, digits: true), middle: .of(letters: true, digits: true, "-_./"),
            last: .of(letters: true, digits: true)),
        minLength: 1, maxLength: 63,
        rule: "1–63 letters, digits, hyphens, underscores, periods or slashes, starting and ending with a letter or digit")
    static let tagName = NamingRule(
        noun: "a tag name", form: characters(first: .none(of: "<>%&\\?/")), minLength: 1, maxLength: 512,
        rule: "1–512 characters other than < > % & \\ ? /")
}
