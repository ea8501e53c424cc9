#!/usr/bin/env bash
# What Azure Backup for VMs does not support, each refused with the service's error code: at plan time
# (before anything breaks), at apply time, at backup time or at restore time. Every check asserts the exit
# status and the exact code.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"   # the helpers and checks
M="$EXAMPLE_DIR/manifests"
WITHOUT_VAULT=("$M/policy.yaml" "$M/access.yaml" "$M/protected.yaml")

# plan_errors CODES PATH...: the plan of these manifests fails (exit 1) with exactly these error codes (a JSON list).
plan_errors() {
    local expected=$1
    shift
    coffer plan --state "$STATE" "$@" --output json
    expect_rc 1 "the plan fails"
    expect_json 'sorted({x["code"] for x in d["diagnostics"] if x["severity"] == "error"})' "$expected" "its errors: $expected"
}

step "The base: a geo-redundant vault with cross-region restore and win-ade-11 (BitLocker + KEK)"
coffer platform init --state "$STATE" --world "$EXAMPLE_DIR/world.yaml"
expect_rc 0 "platform init"
coffer apply --state "$STATE" "$M" --auto-approve --output json
expect_rc 0 "apply"
expect_json '(d["result"], d["summary"]["add"])' '["succeeded", 4]' "4 resources created"
coffer backup --state "$STATE" win-ade-11 --output json
expect_json 'd["status"]' Completed "backup win-ade-11"
POINT=$(json 'd["recoveryPoint"]')

step "Restores of an ADE VM: disks only"
coffer restore --state "$STATE" win-ade-11 --recovery-point "$POINT" --mode files --disk os --offset 0 --length 4K
expect_error UserErrorFileRecoveryNotSupportedForEncryptedVm 1 "file-level (item-level) recovery"
[ "$(stat -c %s "$OUT_FILE")" -eq 0 ] || fail "file-level recovery printed data"
pass "and no data was printed"
coffer restore --state "$STATE" win-ade-11 --recovery-point "$POINT" --mode replace-existing
expect_error UserErrorRestoreModeNotSupportedForEncryptedVm 1 "replace existing"
coffer restore --state "$STATE" win-ade-11 --recovery-point "$POINT" --mode create-vm
expect_error UserErrorRestoreModeNotSupportedForEncryptedVm 1 "create a VM"
coffer restore --state "$STATE" win-ade-11 --recovery-point "$POINT" --mode restore-disks --target-subscription sub-dev
expect_error UserErrorCrossSubscriptionRestoreNotSupported 1 "restore the disks into another subscription"
coffer get jobs --state "$STATE" --vm win-ade-11 --output json
expect_json '[j["operation"] for j in d["jobs"]]' '["Backup"]' "no restore job was started by the refused requests"
coffer restore --state "$STATE" win-ade-11 --recovery-point "$POINT" --mode restore-disks --output json
expect_rc 0 "restore-disks, the supported way"

step "Backups the service refuses, and the plan that says so first"
plan_errors '["UserErrorUnsupportedDiskSize"]' "$M" "$EXAMPLE_DIR/manifests-big-disk"
expect_json '[x["range"]["file"].split("/")[-2:] for x in d["diagnostics"]]' '[["manifests-big-disk", "lnx-big-12.yaml"]]' \
    "an ADE disk of 5,000 GiB (encrypted disks: up to 4,096 GiB), at lnx-big-12's manifest"
coffer platform vm set-agent --state "$STATE" win-ade-11 stopped
expect_rc 0 "stop win-ade-11's VM agent (out of band)"
plan_errors '["UserErrorGuestAgentStatusUnavailable"]' "$M"
expect_json 'd["summary"]' '{"add": 0, "change": 0, "destroy": 0, "replace": 0}' "nothing to change, and still an error: the next backup would fail"
coffer backup --state "$STATE" win-ade-11
expect_error UserErrorGuestAgentStatusUnavailable 1 "a VM whose agent is stopped"
coffer platform vm set-agent --state "$STATE" win-ade-11 running
expect_rc 0 "start it again"
coffer platform keyvault remove-access --state "$STATE" kv-apps-limits BackupManagementService
expect_rc 0 "remove the Backup Management Service's access to the key vault (out of band)"
coffer backup --state "$STATE" win-ade-11
expect_error UserErrorKeyVaultPermissionsNotConfigured 1 "an ADE VM whose key vault the service cannot read"
coffer apply --state "$STATE" "$M" --auto-approve --output json
expect_json '[(s["address"], s["status"]) for s in d["steps"]]' '[["KeyVaultAccessPolicy/kv-apps-limits-backup", "succeeded"]]' \
    "apply puts the access policy back"
coffer backup --state "$STATE" win-ade-11 --output json
expect_json 'd["status"]' Completed "and win-ade-11 backs up again"
coffer backup --state "$STATE" win-cert-13
expect_error UserErrorBcmDatasourceNotPresent 1 "a VM that is not protected"

step "Cross-region restore cannot be turned off (manifests-crr-off/)"
plan_errors '["UserErrorCrossRegionRestoreCannotBeDisabled"]' "${WITHOUT_VAULT[@]}" "$EXAMPLE_DIR/manifests-crr-off"
expect_json '[x["range"]["file"].split("/")[-2:] + [x["range"]["line"]] for x in d["diagnostics"]]' '[["manifests-crr-off", "vault.yaml", 10]]' \
    "reported at crossRegionRestore in manifests-crr-off/vault.yaml"
coffer apply --state "$STATE" "${WITHOUT_VAULT[@]}" "$EXAMPLE_DIR/manifests-crr-off" --auto-approve
expect_error plan-has-errors 1 "apply refuses the plan"
coffer get vaults --state "$STATE" --output json
expect_json '[v["spec"]["crossRegionRestore"] for v in d["vaults"]]' '[true]' "the vault still has cross-region restore"

step "Storage redundancy cannot change once VMs are registered (manifests-lrs/)"
plan_errors '["StorageModelModifyError", "UserErrorCrossRegionRestoreCannotBeDisabled"]' "${WITHOUT_VAULT[@]}" "$EXAMPLE_DIR/manifests-lrs"

step "A VM in another subscription than its vault (manifests-other-subscription/)"
plan_errors '["UserErrorVmAndVaultNotInSameSubscriptionAndRegion"]' "$M" "$EXAMPLE_DIR/manifests-other-subscription"
expect_true '"subscription sub-dev" in d["diagnostics"][0]["summary"]' "the message names the VM's subscription"
coffer apply --state "$STATE" "$M" "$EXAMPLE_DIR/manifests-other-subscription" --auto-approve
expect_error plan-has-errors 1 "apply refuses the plan"
coffer get protected-vms --state "$STATE" --output json
expect_json 'sorted(i["vm"] for i in d["protectedVMs"])' '["win-ade-11"]' "lnx-dev-14 is not protected"

step "A KEK that belongs to a certificate (manifests-certificate-kek/)"
coffer validate --state "$STATE" "$M" "$EXAMPLE_DIR/manifests-certificate-kek"
expect_rc 0 "the manifests themselves are valid (validate does not look at the platform)"
plan_errors '["UserErrorCertificateBackedKeyNotSupported"]' "$M" "$EXAMPLE_DIR/manifests-certificate-kek"
expect_json '[x["range"]["file"].split("/")[-1] for x in d["diagnostics"]]' '["win-cert-13.yaml"]' "reported at win-cert-13's manifest"
coffer apply --state "$STATE" "$M" "$EXAMPLE_DIR/manifests-certificate-kek" --auto-approve
expect_error plan-has-errors 1 "apply refuses the plan"

step "Leaving a disk of an ADE VM out of its backup under a Standard policy (manifests-disk-exclusion/)"
plan_errors '["UserErrorEncryptedVmNotSupportedWithDiskEx"]' "$M" "$EXAMPLE_DIR/manifests-disk-exclusion"
expect_json '[x["range"]["file"].split("/")[-2:] for x in d["diagnostics"]]' '[["manifests-disk-exclusion", "lnx-ade-15.yaml"]]' \
    "reported at the disk list of lnx-ade-15's manifest, before anything is applied"
coffer apply --state "$STATE" "$M" "$EXAMPLE_DIR/manifests-disk-exclusion" --auto-approve
expect_error plan-has-errors 1 "apply refuses the plan"
coffer get protected-vms --state "$STATE" --output json
expect_true '"lnx-ade-15" not in [i["vm"] for i in d["protectedVMs"]]' "lnx-ade-15 is not protected"
coffer history --state "$STATE" --output json
expect_json '[a["result"] for a in d["applies"]]' '["succeeded", "succeeded"]' "no apply ran: the history has the two earlier ones"

step "Pruning the access policy that win-ade-11's backups need"
plan_errors '["UserErrorKeyVaultPermissionsNotConfigured"]' --prune "$M/vault.yaml" "$M/policy.yaml" "$M/protected.yaml"
expect_json '[c["address"] for c in d["resource_changes"] if c["action"] == "delete"]' '["KeyVaultAccessPolicy/kv-apps-limits-backup"]' \
    "the plan would destroy the access policy, and says that win-ade-11's backups would then fail"
expect_json '[x["range"]["file"].split("/")[-1] for x in d["diagnostics"]]' '["protected.yaml"]' "reported at win-ade-11's manifest"

step "A policy's type is fixed (manifests-enhanced/)"
plan_errors '["UserErrorBackupPolicyInUse"]' "$M/vault.yaml" "$M/access.yaml" "$M/protected.yaml" "$EXAMPLE_DIR/manifests-enhanced"
expect_json '[(c["address"], c["action"], c["replace_paths"]) for c in d["resource_changes"] if c["action"] != "no-op"]' \
    '[["BackupPolicy/daily-limits", "replace", ["policyType"]]]' "Standard to Enhanced is a replacement"
expect_true '"declare a new Enhanced policy, move the VMs to it" in d["diagnostics"][0]["hint"]' "the hint names the migration"

step "A Trusted Launch VM needs an Enhanced policy (manifests-trusted-launch/)"
plan_errors '["UserErrorTrustedLaunchVMRequiresEnhancedPolicy"]' "$M" "$EXAMPLE_DIR/manifests-trusted-launch"
expect_json '[x["range"]["file"].split("/")[-2:] + [x["range"]["line"]] for x in d["diagnostics"]]' \
    '[["manifests-trusted-launch", "lnx-tl-16.yaml", 9]]' "reported at the policy of lnx-tl-16's manifest"
coffer apply --state "$STATE" "$M" "$EXAMPLE_DIR/manifests-trusted-launch" --auto-approve
expect_error plan-has-errors 1 "apply refuses the plan"
coffer apply --state "$STATE" "$M" "$EXAMPLE_DIR/manifests-trusted-launch-enhanced" --auto-approve --output json
expect_json '[(s["address"], s["status"]) for s in d["steps"]]' '[["ProtectedVM/lnx-tl-16", "succeeded"]]' \
    "protected with the vault's EnhancedPolicy"
coffer backup --state "$STATE" lnx-tl-16 --output json
expect_json 'd["status"]' Completed "backup lnx-tl-16"
plan_errors '["UserErrorTrustedLaunchVMRequiresEnhancedPolicy"]' "$M" "$EXAMPLE_DIR/manifests-trusted-launch"
expect_true 'all(x["summary"].startswith("ProtectedVM/lnx-tl-16") for x in d["diagnostics"])' "moving it back to the Standard policy is refused"
coffer get protected-vms --state "$STATE" --output json
expect_json '[i["policy"] for i in d["protectedVMs"] if i["vm"] == "lnx-tl-16"]' '["EnhancedPolicy"]' "lnx-tl-16 keeps its Enhanced policy"

finish
