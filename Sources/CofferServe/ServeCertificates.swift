import CofferSystem
import Crypto
import Foundation
public import NIOSSL
import SwiftASN1
import X509

/// The TLS identity of `coffer serve`: a certificate authority made for this state directory, and a server
/// certificate it signed for the loopback names. Clients trust the CA file (`connection_verify=CA`,
/// `REQUESTS_CA_BUNDLE`), as they would a company CA.
///
/// The CA's private key is never written anywhere: it signs the server certificate once and is dropped, so
/// that nobody holding the state directory can mint other certificates that clients trusting the CA would
/// accept. When the server certificate nears its end, or is asked to cover a new address, both are made
/// again (and clients trust the new CA file).
public struct ServeCertificates: Sendable {
    /// The CA certificate clients trust (public).
    public let caPath: String
    /// The server certificate (public).
    public let certificatePath: String
    /// The server's private key, mode 0600.
    public let keyPath: String
    /// Whether this call made them (on the first start, or to replace old ones).
    public let created: Bool

    /// How long a new pair is valid.
    static let validity: TimeInterval = 2 * 365 * 86400
    /// A pair with less than this left is replaced at start.
    static let renewBefore: TimeInterval = 30 * 86400

    /// The names every server certificate covers.
    static let loopbackNames = ["localhost", "127.0.0.1", "::1"]

    /// The certificates in `directory` (`ca.pem`, `server.pem`, `server-key.pem`), made when missing, near
    /// expiry, or not covering `host`.
    public static func ensure(directory: String, host: String, now: Date = Date()) throws -> ServeCertificates {
        let caPath = FileSystem.join(directory, "ca.pem")
        let certificatePath = FileSystem.join(directory, "server.pem")
        let keyPath = FileSystem.join(directory, "server-key.pem")
        let names = names(covering: host)
        if let existing = try? String(contentsOfFile: certificatePath, encoding: .utf8),
            FileSystem.exists(caPath), FileSystem.exists(keyPath),
            let certificate = try? Certificate(pemEncoded: existing),
            certificate.notValidAfter.timeIntervalSince(now) > renewBefore,
            Set(names).isSubset(of: coveredNames(certificate))
        {
            return ServeCertificates(caPath: caPath, certificatePath: certificatePath, keyPath: keyPath, created: false)
        }
        do {
            try ensureDirectory(directory)
            let (caPEM, certificatePEM, keyPEM) = try make(names: names, now: now)
            // The key first, then the certificate that names it, then the CA: a crash between them leaves a
            // pair that the next start replaces.
            try FileSystem.writeAtomically(Array(keyPEM.utf8), to: keyPath)
            try FileSystem.writeAtomically(Array(certificatePEM.utf8), to: certificatePath)
            try FileSystem.writeAtomically(Array(caPEM.utf8), to: caPath)
            // The certificates are public: readable by the clients that run as other users.
            chmod(certificatePath, 0o644)
            chmod(caPath, 0o644)
        } catch let error as ServeError {
            throw error
        } catch {
            throw ServeError(.certificate, "cannot create the TLS certificate in \(directory): \(error)", underlying: error)
        }
        return ServeCertificates(caPath: caPath, certificatePath: certificatePath, keyPath: keyPath, created: true)
    }

    /// The server's TLS configuration: its certificate and key, TLS 1.2 or later, HTTP/1.1.
    public func tlsConfiguration() throws -> TLSConfiguration {
        do {
            let certificate = try NIOSSLCertificate(file: certificatePath, format: .pem)
            let key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
            var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: [.certificate(certificate)], privateKey: .privateKey(key))
            configuration.minimumTLSVersion = .tlsv12
            configuration.applicationProtocols = ["http/1.1"]
            return configuration
        } catch {
            throw ServeError(.certificate, "cannot load the TLS certificate \(certificatePath): \(error)",
                             hint: "remove \(certificatePath) and start serve again to make a new one", underlying: error)
        }
    }

    /// The loopback names, and `host` when it is a particular address or name (not a wildcard).
    static func names(covering host: String) -> [String] {
        let wildcard = ["", "0.0.0.0", "::", "*"]
        let lowered = host.lowercased()
        return loopbackNames + (wildcard.contains(lowered) || loopbackNames.contains(lowered) ? [] : [lowered])
    }

    static func coveredNames(_ certificate: Certificate) -> Set<String> {
        guard let alternatives = try? certificate.extensions.subjectAlternativeNames else { return [] }
        var names = Set<String>()
        for name in alternatives {
            switch name {
            case .dnsName(let dns): names.insert(dns.lowercased())
            case .ipAddress(let octets): if let text = ipText(Array(octets.bytes)) { names.insert(text) }
            default: break
            }
        }
        return names
    }

    /// A new CA and a server certificate it signed, as PEM: (CA certificate, server certificate, server key).
    static func make(names: [String], now: Date) throws -> (String, String, String) {
        let notBefore = now.addingTimeInterval(-3600)
        let notAfter = now.addingTimeInterval(validity)
        let caKey = P256.Signing.PrivateKey()
        let caPrivate = Certificate.PrivateKey(caKey)
        let caName = try DistinguishedName {
            OrganizationName("coffer")
            CommonName("coffer serve local CA")
        }
        let caPublic = caPrivate.publicKey
        let caKeyID = SubjectKeyIdentifier(hash: caPublic)
        let ca = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: caPublic, notValidBefore: notBefore,
            notValidAfter: notAfter, issuer: caName, subject: caName, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(digitalSignature: true, keyCertSign: true, cRLSign: true))
                caKeyID
            },
            issuerPrivateKey: caPrivate)

        let serverKey = P256.Signing.PrivateKey()
        let serverPrivate = Certificate.PrivateKey(serverKey)
        let serverName = try DistinguishedName {
            OrganizationName("coffer")
            CommonName("coffer serve")
        }
        let alternatives = SubjectAlternativeNames(names.map { name -> GeneralName in
            if let octets = ipOctets(name) { return .ipAddress(ASN1OctetString(contentBytes: ArraySlice(octets))) }
            return .dnsName(name)
        })
        let server = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: serverPrivate.publicKey, notValidBefore: notBefore,
            notValidAfter: notAfter, issuer: caName, subject: serverName, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                alternatives
                SubjectKeyIdentifier(hash: serverPrivate.publicKey)
                AuthorityKeyIdentifier(keyIdentifier: caKeyID.keyIdentifier)
            },
            issuerPrivateKey: caPrivate)
        return (try ca.serializeAsPEM().pemString, try server.serializeAsPEM().pemString, try serverPrivate.serializeAsPEM().pemString)
    }

    /// The bytes of an IPv4 or IPv6 address in text, or nil for a name.
    static func ipOctets(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }

    static func ipText(_ octets: [UInt8]) -> String? {
        let family = octets.count == 4 ? AF_INET : (octets.count == 16 ? AF_INET6 : -1)
        guard family >= 0 else { return nil }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let ok = octets.withUnsafeBytes { bytes in inet_ntop(family, bytes.baseAddress, &buffer, socklen_t(buffer.count)) != nil }
        return ok ? String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : nil
    }

    /// Creates `directory` (mode 0700) with its parents when missing.
    static func ensureDirectory(_ directory: String) throws {
        if FileSystem.isDirectory(directory) { return }
        do {
            try FileManager.default.createDirectory(atPath: FileSystem.parent(directory), withIntermediateDirectories: true)
            try FileSystem.makeDirectory(directory)
        } catch {
            if FileSystem.isDirectory(directory) { return }
            throw ServeError(.certificate, "cannot create \(directory): \(error)", underlying: error)
        }
    }
}
