import CofferManifest
import CofferModel
import CofferTestSupport
import Foundation
import Testing

@testable import CofferCLI

/// The hand-written pages under docs/ keep to what the code does: their examples load, run and parse, and
/// their tables match the built-in ones.
@Suite struct DocsTests {
    static func page(_ name: String) throws -> String {
        try String(contentsOf: packageRoot.appendingPathComponent("docs/\(name)"), encoding: .utf8)
    }

    /// The fenced blocks of `language` in a Markdown page, in order.
    static func blocks(_ language: String, in page: String) -> [String] {
        Markdown.blocks(language, in: page)
    }

    /// Every JSON example of docs/json.md parses (watch's block line by line), and every document has a
    /// format_version.
    @Test func jsonExamplesParse() async throws {
        let page = try Self.page("json.md")
        let blocks = Self.blocks("json", in: page)
        #expect(blocks.count >= 15)
        for block in blocks {
            let documents: [String] =
                block.hasPrefix("{\"event\"") ? block.split(separator: "\n").map(String.init) : [block]
            for document in documents {
                let object = try JSONSerialization.jsonObject(with: Data(document.utf8)) as? [String: Any]
                #expect(object != nil, "not a JSON object: \(document.prefix(80))")
                if !document.contains("\"event\"") {
                    #expect(object?["format_version"] as? String == "1", "no format_version: \(document.prefix(80))")
                }
            }
        }
    }

    /// The examples of docs/manifests.md, together, plan against the reference world without a diagnostic.
    @Test func manifestExamplesPlanAgainstTheReferenceWorld() async throws {
        let directory = try TemporaryDirectory()
        let state = try ReferencePlatform.copy(into: directory)
        for example in ManifestReference.examples {
            try directory.write(example.yaml, to: "manifests/\(example.kind).yaml")
        }
        let plan = try runCofferProcess(["plan", "--state", state, directory.path("manifests"), "--output", "json", "--detailed-exitcode"])
        #expect(plan.status == CofferExitCode.changesPresent.rawValue, "\(plan.output)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(plan.output.utf8)) as? [String: Any])
        #expect((object["diagnostics"] as? [Any])?.isEmpty == true)
        #expect((object["summary"] as? [String: Int])?["add"] == ManifestReference.examples.count)
    }
}
