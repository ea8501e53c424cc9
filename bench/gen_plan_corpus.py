#!/usr/bin/env python3
"""Generates a world file and manifests with N resources for the plan benchmark.

About 5 % vaults, 10 % policies, 5 % key-vault access policies and 80 % protected VMs; the world has the
VMs (server-side encrypted with platform keys, no initial data) and the key vaults they name.
"""
import os
import sys
import uuid

n = int(sys.argv[1])
out = sys.argv[2]
vaults = max(1, n * 5 // 100)
policies = max(1, n * 10 // 100)
access = max(1, n * 5 // 100)
vms = n - vaults - policies - access
per_file = 100

os.makedirs(os.path.join(out, "manifests"), exist_ok=True)
rng = uuid.UUID(int=0x12345678123456781234567812345678)

world = [
    "tenant: bench",
    "clock: 2026-01-05T00:00:00Z",
    "operator: {user: bench@example.com, type: member}",
    "subscriptions:",
    "  - {name: sub-bench, id: 22222222-2222-2222-2222-222222222222, default: true}",
    "regions: [eastus]",
    "resourceGroups:",
    "  - {name: rg-vaults, region: eastus}",
    "  - {name: rg-vms, region: eastus}",
    "  - {name: rg-keys, region: eastus}",
    "keyVaults:",
]
for k in range(access):
    world.append(f"  - {{name: kv-bench-{k:05d}, resourceGroup: rg-keys, region: eastus, enabledForDiskEncryption: true}}")
world.append("virtualMachines:")
for v in range(vms):
    world.append(
        f"  - {{name: vm-{v:05d}, os: linux, region: eastus, resourceGroup: rg-vms, agent: running, "
        f"osDisk: {{sizeGiB: 32, managed: true}}, encryption: {{type: sse-pmk}}}}")
with open(os.path.join(out, "world.yaml"), "w") as f:
    f.write("\n".join(world) + "\n")

documents = []
for i in range(vaults):
    documents.append(f"""apiVersion: coffer.dev/v1
kind: RecoveryServicesVault
metadata:
  name: rsv-bench-{i:05d}
spec:
  resourceGroup: rg-vaults
  location: eastus
  storageRedundancy: GeoRedundant
  crossRegionRestore: true
""")
for p in range(policies):
    documents.append(f"""apiVersion: coffer.dev/v1
kind: BackupPolicy
metadata:
  name: policy-{p:05d}
spec:
  vault: rsv-bench-{p % vaults:05d}
  policyType: Standard
  schedule:
    frequency: Daily
    time: "02:00"
  instantRestoreRetentionDays: 2
  retention:
    daily:
      count: {30 + p % 60}
    weekly:
      count: 12
      weekdays: [Sunday]
""")
for a in range(access):
    documents.append(f"""apiVersion: coffer.dev/v1
kind: KeyVaultAccessPolicy
metadata:
  name: access-{a:05d}
spec:
  keyVault: kv-bench-{a:05d}
  principal:
    objectId: {uuid.UUID(int=rng.int + a)}
  keyPermissions: [Get, List]
  secretPermissions: [Get, List]
""")
for v in range(vms):
    vault = v % vaults
    # A policy of the same vault: policies p with p % vaults == vault.
    policy = vault + vaults * ((v // vaults) % max(1, policies // vaults)) if policies >= vaults else 0
    documents.append(f"""apiVersion: coffer.dev/v1
kind: ProtectedVM
metadata:
  name: protect-vm-{v:05d}
spec:
  vm:
    resourceGroup: rg-vms
    name: vm-{v:05d}
  vault: rsv-bench-{vault:05d}
  policy: policy-{policy:05d}
""")

for start in range(0, len(documents), per_file):
    with open(os.path.join(out, "manifests", f"part-{start // per_file:04d}.yaml"), "w") as f:
        f.write("---\n".join(documents[start:start + per_file]))
print(f"{n} resources: {vaults} vaults, {policies} policies, {access} access policies, {vms} protected VMs")
