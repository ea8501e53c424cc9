import CofferReconciler
import Foundation

/// Where the shared state is: `postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=disable|require]`
/// (also `postgresql://`). A password can also come from `$PGPASSWORD`; it never appears in `description`.
public struct PostgresURL: Sendable, Hashable, CustomStringConvertible {
    public enum TLSMode: String, Sendable, Hashable {
        /// Plain TCP: for loopback and private networks.
        case disable
        /// TLS, verifying the server's certificate against the system's trust roots.
        case require
    }

    public var user: String
    public var password: String?
    public var host: String
    public var port: Int
    public var database: String
    public var tls: TLSMode

    public init(user: String, password: String? = nil, host: String, port: Int = 5432, database: String, tls: TLSMode = .disable) {
        self.user = user
        self.password = password
        self.host = host
        self.port = port
        self.database = database
        self.tls = tls
    }

    /// Parses `text`; an error says what is wrong and shows the expected form.
    public init(parsing text: String, environment: [String: String] = [:]) throws {
        func invalid(_ what: String) -> ReconcilerError {
            ReconcilerError(
                code: .unavailable, message: "the state backend '\(Self.redacting(text))' is not a PostgreSQL URL: \(what)",
                hint: "write postgres://USER@HOST:PORT/DB (a password from $PGPASSWORD, or postgres://USER:PASSWORD@HOST:PORT/DB)")
        }
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased() else {
            throw invalid("it cannot be read as a URL")
        }
        guard scheme == "postgres" || scheme == "postgresql" else { throw invalid("the scheme must be postgres://, not \(scheme)://") }
        guard let user = components.user, !user.isEmpty else { throw invalid("it names no user") }
        guard let host = components.host, !host.isEmpty else { throw invalid("it names no host") }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else { throw invalid("it names no database (the path, /DB)") }
        var tls = TLSMode.disable
        for item in components.queryItems ?? [] {
            switch (item.name, item.value ?? "") {
            case ("sslmode", "disable"): tls = .disable
            case ("sslmode", "require"), ("sslmode", "verify-full"): tls = .require
            case ("sslmode", let other): throw invalid("sslmode '\(other)' is not one coffer knows (disable, require, verify-full)")
            default: throw invalid("the parameter '\(item.name)' is not one coffer knows (sslmode)")
            }
        }
        let password = components.password.flatMap { $0.isEmpty ? nil : $0 } ?? environment["PGPASSWORD"].flatMap { $0.isEmpty ? nil : $0 }
        self.init(user: user, password: password, host: host, port: components.port ?? 5432, database: database, tls: tls)
    }

    /// The URL without its password.
    public var description: String {
        "postgres://\(user)@\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)" + (tls == .require ? "?sslmode=require" : "")
    }

    /// `text` with any password between `:` and `@` of its authority masked.
    static func redacting(_ text: String) -> String {
        guard let scheme = text.range(of: "://"), let at = text[scheme.upperBound...].firstIndex(of: "@") else { return text }
        let authority = text[scheme.upperBound..<at]
        guard let colon = authority.firstIndex(of: ":") else { return text }
        return String(text[..<colon]) + ":***" + String(text[at...])
    }
}
