#!/usr/bin/env python3
"""Generates a world and manifests for the serve benchmark: N VMs, all protected in one vault by one policy.

The VMs are server-side encrypted with platform keys and hold no data, so that applying the manifests (the
setup, not measured) is quick; what bench/serve.sh measures is serve answering for them.
"""
import os
import sys

n = int(sys.argv[1])
out = sys.argv[2]
os.makedirs(os.path.join(out, "manifests"), exist_ok=True)

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
    "virtualMachines:",
]
for v in range(n):
    world.append(
        f"  - {{name: vm-{v:05d}, os: linux, region: eastus, resourceGroup: rg-vms, agent: running, "
        f"osDisk: {{sizeGiB: 32, managed: true}}, encryption: {{type: sse-pmk}}}}")
with open(os.path.join(out, "world.yaml"), "w") as f:
    f.write("\n".join(world) + "\n")

documents = ["""apiVersion: coffer.dev/v1
kind: RecoveryServicesVault
metadata:
  name: rsv-bench
spec:
  resourceGroup: rg-vaults
  location: eastus
  storageRedundancy: GeoRedundant
""", """apiVersion: coffer.dev/v1
kind: BackupPolicy
metadata:
  name: daily
spec:
  vault: rsv-bench
  policyType: Standard
  schedule:
    frequency: Daily
    time: "02:00"
  instantRestoreRetentionDays: 2
  retention:
    daily:
      count: 30
"""]
for v in range(n):
    documents.append(f"""apiVersion: coffer.dev/v1
kind: ProtectedVM
metadata:
  name: protect-vm-{v:05d}
spec:
  vm:
    resourceGroup: rg-vms
    name: vm-{v:05d}
  vault: rsv-bench
  policy: daily
""")
per_file = 100
for start in range(0, len(documents), per_file):
    with open(os.path.join(out, "manifests", f"part-{start // per_file:04d}.yaml"), "w") as f:
        f.write("---\n".join(documents[start:start + per_file]))
print(f"{n} protected VMs in rsv-bench")
