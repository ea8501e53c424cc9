import ArgumentParser
import CofferManifest
import Foundation

struct SchemaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema", abstract: "Print the JSON Schema (draft 2020-12) of the manifest kinds.",
        discussion: """
            The schema describes one manifest document; editors can use it to complete and check manifests \
            (for example with the YAML language server: '# yaml-language-server: $schema=coffer.schema.json'). \
            Rules between resources are checked by 'coffer validate' only. The manifest reference \
            (docs/manifests.md) is generated from the same field definitions.

            Examples:
              coffer schema > coffer.schema.json
            """)

    func run() throws {
        Console.current.write(ManifestSchema.jsonSchema())
    }
}
