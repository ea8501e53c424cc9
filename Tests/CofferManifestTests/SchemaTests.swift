import CofferManifest
import CofferModel
import Foundation
import Testing

/// A manifest document with whether it is valid, to check that the schema and the loader agree.
struct SchemaCase: CustomTestStringConvertible, Sendable {
    var name: String
    var yaml: String
    var testDescription: String { name }

    init(_ name: String, _ yaml: String) {
        self.name = name
        self.yaml = yaml
    }
}

@Suite struct SchemaTests {
    /// The schema, printed and parsed once for all the cases.
    static let schema: JSON = try! JSONSchemaChecker(schemaText: ManifestSchema.jsonSchema()).root

    let checker = JSONSchemaChecker(schema: SchemaTests.schema)

    /// The order in which the schema lists the kinds.
    static let schemaOrder: [ResourceKind] = [.recoveryServicesVault, .backupPolicy, .protectedVM, .keyVaultAccessPolicy, .keyVaultRoleAssignment]

    @Test func schemaIsStableDraft2020WithAClosedShapePerKind() throws {
        let text = ManifestSchema.jsonSchema()
        #expect(text == ManifestSchema.jsonSchema())
        #expect(text.hasSuffix("}\n"))
        let schema = checker.root
        #expect(schema["$schema"] == .string("https://json-schema.org/draft/2020-12/schema"))
        #expect(schema["$id"] == .string(ManifestSchema.id))
        #expect(schema["oneOf"] == .array(ResourceKind.allCases.sorted { a, b in
            Self.schemaOrder.firstIndex(of: a)! < Self.schemaOrder.firstIndex(of: b)!
        }.map { .object(["$ref": .string("#/$defs/\($0.rawValue)")]) }))
        for kind in ResourceKind.allCases {
            let definition = try #require(schema["$defs"]?[kind.rawValue])
            #expect(definition["properties"]?["kind"]?["const"] == .string(kind.rawValue))
        }
        // Every object type with declared properties is closed (the root is closed by its oneOf branches).
        func walk(_ node: JSON, _ path: String) {
            switch node {
            case .object(let members):
                if members["properties"] != nil, members["type"] == .string("object"), path != "#" {
                    #expect(members["additionalProperties"] == .bool(false), "\(path) is open")
                }
                for (key, value) in members { walk(value, path + "/" + key) }
            case .array(let items):
                for (index, item) in items.enumerated() { walk(item, path + "/\(index)") }
            default:
                break
            }
        }
        walk(schema, "#")
    }

    /// The shipped manifests, and those of every example, satisfy the schema.
    @Test func shippedManifestsSatisfyTheSchema() throws {
        var files = try FileManager.default.contentsOfDirectory(atPath: Package.manifests)
            .filter { $0.hasSuffix(".yaml") }.map { Package.manifests + "/" + $0 }
        let examples = Package.root.appendingPathComponent("examples").path
        for example in (try? FileManager.default.contentsOfDirectory(atPath: examples)) ?? [] {
            let folder = examples + "/" + example + "/manifests"
            let found = ManifestLoader().load(paths: [folder])
            if FileManager.default.fileExists(atPath: folder) { files += found.files }
        }
        var documents = 0
        for file in files {
            let text = try String(contentsOfFile: file, encoding: .utf8)
            for (index, document) in JSON.documents(ofYAML: text, path: file).enumerated() {
                documents += 1
                #expect(checker.errors(document) == [], "\(file) document \(index + 1)")
            }
        }
        // Never pass by checking nothing: manifests/ alone holds eleven documents.
        #expect(documents >= 11)
    }

    static let validCases: [SchemaCase] = [
        SchemaCase("minimal vault", """
            apiVersion: coffer.dev/v1
            kind: RecoveryServicesVault
            metadata: {name: rsv-c}
            spec: {resourceGroup: rg-c, location: eastus}
            """),
        SchemaCase("vault with every field", """
            apiVersion: coffer.dev/v1
            kind: RecoveryServicesVault
            metadata: {name: rsv-c, labels: {team: platform, app.kubernetes.io/name: coffer}}
            spec:
              subscription: 11111111-1111-1111-1111-111111111111
              resourceGroup: rg(c).1
              location: westeurope
              sku: RS0
              crossRegionRestore: true
              immutability: Locked
              softDelete: {state: AlwaysOn, retentionDays: 180}
              publicNetworkAccess: false
              identity: {type: SystemAssigned}
              encryption: {keyVault: kv-backup, key: backup-key, infrastructureEncryption: true}
              tags: {owner: ops, "cost center": "4711"}
            """),
        SchemaCase("weekly Standard policy", """
            apiVersion: coffer.dev/v1
            kind: BackupPolicy
            metadata: {name: pol-weekly}
            spec:
              vault: rsv-a
              schedule: {frequency: Weekly, time: "23:30", weekdays: [Saturday, Sunday]}
              instantRestoreRetentionDays: 5
              retention:
                weekly: {count: 12, weekdays: [Sunday]}
                monthly: {count: 12, weeks: [First, Last], weekdays: [Sunday]}
                yearly: {count: 99, months: [January], weeks: [First], weekdays: [Saturday]}
            """),
        SchemaCase("hourly Enhanced policy", """
            apiVersion: coffer.dev/v1
            kind: BackupPolicy
            metadata: {name: pol-hourly}
            spec:
              vault: rsv-a
              policyType: Enhanced
              timeZone: W. Europe Standard Time
              schedule: {frequency: Hourly, time: "08:00", hourInterval: 6, hourDuration: 12}
              instantRestoreRetentionDays: 30
              retention:
                daily: {count: 30}
                yearly: {count: 10, months: [March], includeLastDay: true}
            """),
        SchemaCase("daily policy, day-based monthly", """
            apiVersion: coffer.dev/v1
            kind: BackupPolicy
            metadata: {name: pol-days}
            spec:
              vault: rsv-a
              schedule: {frequency: Daily, time: "00:00"}
              retention:
                daily: {count: 9999}
                monthly: {count: 60, days: [1, 15, 31], includeLastDay: false}
            """),
        SchemaCase("VM by id", """
            apiVersion: coffer.dev/v1
            kind: ProtectedVM
            metadata: {name: vm-by-id}
            spec:
              vm: {id: /subscriptions/s/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/vm-1}
              vault: rsv-a
              policy: pol-a
              excludeDiskLuns: [0, 63]
            """),
        SchemaCase("VM by name", """
            apiVersion: coffer.dev/v1
            kind: ProtectedVM
            metadata: {name: vm-by-name}
            spec:
              vm: {subscription: sub-prod, resourceGroup: rg-app, name: vm_2}
              vault: rsv-b
              policy: pol-b
              protectionState: BackupsSuspended
              deletionPolicy: Delete
              includeDiskLuns: [1]
            """),
        SchemaCase("access policy by application id", """
            apiVersion: coffer.dev/v1
            kind: KeyVaultAccessPolicy
            metadata: {name: kv-appid}
            spec:
              keyVault: kv-app-1
              principal: {applicationId: 262044b1-e2ce-469f-a196-69ab7ada62d3}
              keyPermissions: [Get, List, Backup, UnwrapKey]
            """),
        SchemaCase("access policy by object id", """
            apiVersion: coffer.dev/v1
            kind: KeyVaultAccessPolicy
            metadata: {name: kv-object}
            spec:
              keyVault: kv-app-2
              principal: {objectId: 0B1E2F3A-4B5C-4D6E-8F90-A1B2C3D4E5F6}
              secretPermissions: [Get]
            """),
        SchemaCase("role assignment to the backup service", """
            apiVersion: coffer.dev/v1
            kind: KeyVaultRoleAssignment
            metadata: {name: kv-rbac-backup}
            spec:
              keyVault: kv-rbac-1
              principal: {name: Backup Management Service}
              role: Key Vault Administrator
            """),
        SchemaCase("custom role by object id", """
            apiVersion: coffer.dev/v1
            kind: KeyVaultRoleAssignment
            metadata: {name: kv-rbac-custom}
            spec:
              keyVault: kv-rbac-1
              principal: {objectId: 0B1E2F3A-4B5C-4D6E-8F90-A1B2C3D4E5F6}
              role: Backup Key Reader
            """),
    ]

    @Test(arguments: validCases)
    func validDocumentsPassBoth(_ example: SchemaCase) throws {
        let loaded = loadWithBase(example.yaml)
        #expect(!loaded.diagnostics.hasErrors, "\(loaded.diagnostics.map { $0.rendered() })")
        for document in JSON.documents(ofYAML: example.yaml) {
            #expect(checker.errors(document) == [])
        }
    }

    /// Documents with a problem within one resource: the loader and the schema both refuse them. Each is
    /// one change to a valid document.
    static let invalidCases: [SchemaCase] = {
        let vault = """
            apiVersion: coffer.dev/v1
            kind: RecoveryServicesVault
            metadata: {name: rsv-c}
            spec:
              resourceGroup: rg-c
              location: eastus

            """
        let policy = """
            apiVersion: coffer.dev/v1
            kind: BackupPolicy
            metadata: {name: pol-c}
            spec:
              vault: rsv-a

            """
        let protected = """
            apiVersion: coffer.dev/v1
            kind: ProtectedVM
            metadata: {name: vm-c}
            spec:
              vault: rsv-a
              policy: pol-a

            """
        let access = """
            apiVersion: coffer.dev/v1
            kind: KeyVaultAccessPolicy
            metadata: {name: kv-c}
            spec:
              keyVault: kv-app
              secretPermissions: [Get]

            """
        let assignment = """
            apiVersion: coffer.dev/v1
            kind: KeyVaultRoleAssignment
            metadata: {name: kv-r}
            spec:
              keyVault: kv-rbac

            """
        let daily = "  schedule: {frequency: Daily, time: \"02:00\"}\n"
        let dailyRetention = "  retention: {daily: {count: 30}}\n"
        return [
            SchemaCase("unknown field", vault + "  softDeleteDays: 14\n"),
            SchemaCase("missing location", vault.replacingOccurrences(of: "  location: eastus\n", with: "")),
            SchemaCase("unknown SKU", vault + "  sku: Premium\n"),
            SchemaCase("unknown region", vault.replacingOccurrences(of: "eastus", with: "East US")),
            SchemaCase("soft delete too short", vault + "  softDelete: {retentionDays: 7}\n"),
            SchemaCase("vault name with a digit first", vault.replacingOccurrences(of: "rsv-c", with: "1rsv")),
            SchemaCase("resource group ending with a period", vault.replacingOccurrences(of: "rg-c", with: "rg-c.")),
            SchemaCase("YAML 1.1 boolean", vault + "  crossRegionRestore: yes\n"),
            SchemaCase("CRR with LRS", vault + "  crossRegionRestore: true\n  storageRedundancy: LocallyRedundant\n"),
            SchemaCase("encryption without identity", vault + "  encryption: {keyVault: kv-backup, key: k1}\n"),
            SchemaCase("identity of another type", vault + "  identity: {type: UserAssigned}\n"),
            SchemaCase("bad label key", vault.replacingOccurrences(of: "{name: rsv-c}", with: "{name: rsv-c, labels: {-x: y}}")),
            SchemaCase("unknown apiVersion", vault.replacingOccurrences(of: "coffer.dev/v1", with: "coffer.dev/v2")),
            SchemaCase("unknown kind", vault.replacingOccurrences(of: "RecoveryServicesVault", with: "Vault")),
            SchemaCase("missing spec", "apiVersion: coffer.dev/v1\nkind: RecoveryServicesVault\nmetadata: {name: rsv-c}\n"),
            SchemaCase("time not on the half hour", policy + "  schedule: {frequency: Daily, time: \"02:15\"}\n" + dailyRetention),
            SchemaCase("time not HH:MM", policy + "  schedule: {frequency: Daily, time: \"2:00\"}\n" + dailyRetention),
            SchemaCase("quoted count", policy + daily + "  retention: {daily: {count: \"30\"}}\n"),
            SchemaCase("daily count below 7", policy + daily + "  retention: {daily: {count: 6}}\n"),
            SchemaCase("hourly without interval", policy + "  policyType: Enhanced\n  schedule: {frequency: Hourly, time: \"08:00\", hourDuration: 24}\n" + dailyRetention),
            SchemaCase("daily with interval", policy + "  schedule: {frequency: Daily, time: \"02:00\", hourInterval: 4}\n" + dailyRetention),
            SchemaCase("hourly on Standard", policy + "  schedule: {frequency: Hourly, time: \"08:00\", hourInterval: 4, hourDuration: 24}\n" + dailyRetention),
            SchemaCase("weekly without weekdays", policy + "  schedule: {frequency: Weekly, time: \"02:00\"}\n  retention: {weekly: {count: 4, weekdays: [Sunday]}}\n"),
            SchemaCase("weekly with daily retention", policy + "  schedule: {frequency: Weekly, time: \"02:00\", weekdays: [Sunday]}\n  retention: {daily: {count: 30}, weekly: {count: 4, weekdays: [Sunday]}}\n"),
            SchemaCase("weekly without weekly retention", policy + "  schedule: {frequency: Weekly, time: \"02:00\", weekdays: [Sunday]}\n  retention: {monthly: {count: 4, days: [1]}}\n"),
            SchemaCase("daily without daily retention", policy + daily + "  retention: {weekly: {count: 4, weekdays: [Sunday]}}\n"),
            SchemaCase("Standard instant restore 6", policy + daily + "  instantRestoreRetentionDays: 6\n" + dailyRetention),
            SchemaCase("Standard weekly instant restore 2", policy + "  schedule: {frequency: Weekly, time: \"02:00\", weekdays: [Sunday]}\n  instantRestoreRetentionDays: 2\n  retention: {weekly: {count: 4, weekdays: [Sunday]}}\n"),
            SchemaCase("Enhanced instant restore 31", policy + "  policyType: Enhanced\n" + daily + "  instantRestoreRetentionDays: 31\n  retention: {daily: {count: 31}}\n"),
            SchemaCase("monthly mixing formats", policy + daily + "  retention: {daily: {count: 30}, monthly: {count: 1, weeks: [First], weekdays: [Sunday], days: [1]}}\n"),
            SchemaCase("monthly weeks without weekdays", policy + daily + "  retention: {daily: {count: 30}, monthly: {count: 1, weeks: [First]}}\n"),
            SchemaCase("monthly with no day at all", policy + daily + "  retention: {daily: {count: 30}, monthly: {count: 1}}\n"),
            SchemaCase("yearly without months", policy + daily + "  retention: {daily: {count: 30}, yearly: {count: 1, days: [1]}}\n"),
            SchemaCase("day of month 32", policy + daily + "  retention: {daily: {count: 30}, monthly: {count: 1, days: [32]}}\n"),
            SchemaCase("lower-case weekday", policy + "  schedule: {frequency: Weekly, time: \"02:00\", weekdays: [sunday]}\n  instantRestoreRetentionDays: 5\n  retention: {weekly: {count: 4, weekdays: [Sunday]}}\n"),
            SchemaCase("VM id and name", protected + "  vm: {id: /subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/v, name: v}\n"),
            SchemaCase("VM name without group", protected + "  vm: {name: v}\n"),
            SchemaCase("VM id of a disk", protected + "  vm: {id: /subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/disks/d}\n"),
            SchemaCase("VM name of digits", protected + "  vm: {resourceGroup: rg, name: \"1234\"}\n"),
            SchemaCase("both LUN lists", protected + "  vm: {resourceGroup: rg, name: v}\n  excludeDiskLuns: [0]\n  includeDiskLuns: [1]\n"),
            SchemaCase("LUN 64", protected + "  vm: {resourceGroup: rg, name: v}\n  excludeDiskLuns: [64]\n"),
            SchemaCase("unknown protection state", protected + "  vm: {resourceGroup: rg, name: v}\n  protectionState: Paused\n"),
            SchemaCase("two principals", access + "  principal: {name: Backup Management Service, objectId: 0b1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6}\n"),
            SchemaCase("no principal", access + "  principal: {}\n"),
            SchemaCase("another principal by name", access + "  principal: {name: Key Vault Reader}\n"),
            SchemaCase("object id not a UUID", access + "  principal: {objectId: ops@partner.example}\n"),
            SchemaCase("lower-case permission", access + "  principal: {name: Backup Management Service}\n  keyPermissions: [get]\n"),
            SchemaCase("key vault name with --", access.replacingOccurrences(of: "kv-app", with: "kv--app") + "  principal: {name: Backup Management Service}\n"),
            SchemaCase("role assignment without a role", assignment + "  principal: {name: Backup Management Service}\n"),
            SchemaCase("role assignment with an empty role", assignment + "  principal: {name: Backup Management Service}\n  role: \"\"\n"),
            SchemaCase("role assignment with two principals", assignment + "  principal: {name: Backup Management Service, objectId: 0b1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6}\n  role: Key Vault Administrator\n"),
            SchemaCase("role assignment with permissions", assignment + "  principal: {name: Backup Management Service}\n  role: Key Vault Administrator\n  secretPermissions: [Get]\n"),
            SchemaCase("role given as a list", assignment + "  principal: {name: Backup Management Service}\n  role: [Key Vault Administrator]\n"),
        ]
    }()

    @Test(arguments: invalidCases)
    func invalidDocumentsFailBoth(_ example: SchemaCase) throws {
        let loaded = loadWithBase(example.yaml)
        #expect(loaded.diagnostics.hasErrors, "the loader accepts it")
        let documents = JSON.documents(ofYAML: example.yaml)
        #expect(documents.count == 1)
        #expect(documents.contains { !checker.errors($0).isEmpty }, "the schema accepts it")
    }

    /// Rules between resources, and arithmetic between fields, are beyond a JSON Schema: the schema accepts
    /// these documents and only the loader refuses them.
    @Test(arguments: [
        ("dangling-reference", "apiVersion: coffer.dev/v1\nkind: ProtectedVM\nmetadata: {name: v}\nspec: {vm: {resourceGroup: rg, name: v}, vault: rsv-a, policy: pol-z}\n"),
        ("policy-in-other-vault", "apiVersion: coffer.dev/v1\nkind: ProtectedVM\nmetadata: {name: v}\nspec: {vm: {resourceGroup: rg, name: v}, vault: rsv-a, policy: pol-b}\n"),
        ("suspend-requires-immutability", "apiVersion: coffer.dev/v1\nkind: ProtectedVM\nmetadata: {name: v}\nspec: {vm: {resourceGroup: rg, name: v}, vault: rsv-a, policy: pol-a, protectionState: BackupsSuspended}\n"),
        ("duplicate-resource", "apiVersion: coffer.dev/v1\nkind: RecoveryServicesVault\nmetadata: {name: rsv-a}\nspec: {resourceGroup: rg, location: eastus}\n"),
        ("out-of-range", "apiVersion: coffer.dev/v1\nkind: BackupPolicy\nmetadata: {name: pol-c}\nspec: {vault: rsv-a, policyType: Enhanced, schedule: {frequency: Hourly, time: \"08:00\", hourInterval: 8, hourDuration: 12}, retention: {daily: {count: 30}}}\n"),
        ("weekday-not-scheduled", "apiVersion: coffer.dev/v1\nkind: BackupPolicy\nmetadata: {name: pol-c}\nspec: {vault: rsv-a, schedule: {frequency: Weekly, time: \"02:00\", weekdays: [Sunday]}, retention: {weekly: {count: 4, weekdays: [Monday]}}}\n"),
    ])
    func rulesBeyondTheSchemaAreTheLoaders(_ code: String, _ yaml: String) throws {
        #expect(loadWithBase(yaml).codes == [code])
        #expect(JSON.documents(ofYAML: yaml).allSatisfy { checker.errors($0).isEmpty })
    }

    @Test func checkerRefusesKeywordsItDoesNotKnow() throws {
        let strict = try JSONSchemaChecker(schemaText: #"{"type": "object", "unevaluatedProperties": false}"#)
        #expect(strict.errors(.object([:])) == ["$: the checker does not support 'unevaluatedProperties'"])
    }
}
