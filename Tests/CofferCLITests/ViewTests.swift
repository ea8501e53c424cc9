import CofferModel
import Foundation
import Testing

@testable import CofferCLI

/// The views' shared parts: the one output stream, the JSON document conventions and the table renderer.
@Suite struct ViewTests {
    static let manifests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("manifests").path

    /// Collects what a console was given, stream by stream.
    final class Capture: @unchecked Sendable {
        private let lock = NSLock()
        private var out = Data()
        private var error = Data()
        var standardOutput: String { lock.withLock { String(decoding: out, as: UTF8.self) } }
        var standardError: String { lock.withLock { String(decoding: error, as: UTF8.self) } }
        var console: Console {
            .capturing { toError, bytes in self.lock.withLock { if toError { self.error += bytes } else { self.out += bytes } } }
        }
    }

    @Test func aCommandWritesToTheInjectedConsole() async throws {
        let capture = Capture()
        try Console.$current.withValue(capture.console) {
            var command = try CofferCommand.parseAsRoot(["validate", Self.manifests, "--output", "json"])
            try command.run()
        }
        let document = try #require(try JSONSerialization.jsonObject(with: Data(capture.standardOutput.utf8)) as? [String: Any])
        #expect(document["format_version"] as? String == "1")
        #expect(document["valid"] as? Bool == true)
        #expect(capture.standardError.isEmpty)
    }

    @Test func aDocumentGetsItsFormatVersionAndKeepsNulls() async throws {
        struct Body: Encodable {
            var name = "rsv"
            var hint: String? = nil
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: DynamicKey.self)
                try container.encode(name, forKey: DynamicKey("name"))
                try container.encodeOrNull(hint, forKey: DynamicKey("hint"))
            }
        }
        #expect(try JSONOutput.text(Versioned(Body())) == "{\n  \"format_version\" : \"1\",\n  \"hint\" : null,\n  \"name\" : \"rsv\"\n}")
        #expect(try JSONOutput.text(Versioned(Keyed(key: "jobs", value: [Int]()))) == "{\n  \"format_version\" : \"1\",\n  \"jobs\" : [\n\n  ]\n}")
    }

    @Test func diagnosticsHaveTheSameKeysWhateverIsMissing() async throws {
        let bare = try JSONOutput.text(DiagnosticJSON(.error("E1", "broken")))
        let located = try JSONOutput.text(
            DiagnosticJSON(.error("E1", "broken", at: SourceLocation(file: "m.yaml", line: 3, column: 5), hint: "fix it")))
        func keys(_ text: String) throws -> Set<String> {
            Set(try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]).keys)
        }
        #expect(try keys(bare) == ["severity", "code", "summary", "detail", "hint", "range"])
        #expect(try keys(bare) == keys(located))
        #expect(located.contains("\"line\" : 3"))
    }

    @Test func tablesPadEveryColumnButTheLast() async {
        var table = TextTable("VM", "STATE")
        table.add("lnx-db-01", "Protected")
        table.add("w", "-")
        #expect(table.rendered == "VM         STATE\nlnx-db-01  Protected\nw          -")
    }
}
