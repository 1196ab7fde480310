#!/usr/bin/env bash
# Bootstrap of a Google Cloud project for mlflow-gke: what Config Connector cannot do for itself.
#
# `npm run synth` writes this file, with the values of the config filled in below, to
# dist/bootstrap/gcp.sh; `kubectl apply -f dist` never reads it. Review it, then run it once per
# project, before the first apply, as a principal that may enable APIs, create service accounts and
# grant roles on the project (a project owner):
#
#   bash dist/bootstrap/gcp.sh
#
# It checks that billing is enabled, enables the APIs that Config Connector and this script need
# (Config Connector enables the rest itself, from the render's Service objects), enables what Config
# Connector's own identity needs before it can act (in this project and in the project of the Config
# Connector cluster), creates the Cloud
# Storage service agent (the bucket's key grant names it, and it exists only once asked for), creates
# the Google service account Config Connector acts as in the gcp namespace, creates the platform's own
# service accounts and gives Config Connector roles on those accounts only, creates or updates the
# custom roles the render binds (cloudsql mode: the pre-migration backup's), grants it the project roles
# the rendered Config Connector objects need (Project IAM Admin with a condition: only the roles the
# render grants on the project), takes back any other project role it holds (from an earlier, broader
# run), and lets Config Connector's controller for that namespace act as it through Workload Identity.
# Every step is idempotent: running it again changes nothing. Run it again after a change of the
# config that adds a service account, a custom role or a project-level grant (the render's lists below change).
# Why each right, and what it still allows: docs/security.md, "Google IAM".
#
# Config Connector's controller runs on the cluster that receives the gcp file. When that cluster is
# in another project (a management cluster, Config Controller), name the project:
#
#   KCC_CLUSTER_PROJECT=<project of that cluster> bash dist/bootstrap/gcp.sh
#
# The principal then also needs to enable APIs in that project (step 3).
set -euo pipefail

# --- values from the config (npm run synth fills them in) ---
PROJECT_ID=''
KCC_ACCOUNT_ID=''
KCC_NAMESPACE=''
APIS=()
PLATFORM_ACCOUNTS=()
ACCOUNT_GRANTS=()
KCC_ROLES=()
IAM_ADMIN_ROLE=''
IAM_ADMIN_CONDITION_TITLE=''
IAM_ADMIN_CONDITION=''
DEFAULT_NODE_ACCOUNT=''
KCC_IDENTITY_APIS=()
CUSTOM_ROLES=()
# --- end of values ---

die() {
  echo "gcp.sh: $*" >&2
  exit 1
}

# Prints a command as it would be typed, on stderr.
show() {
  local word line='+'
  for word in "$@"; do line+=" $(printf '%q' "$word")"; done
  echo "$line" >&2
}

run() {
  show "$@"
  "$@"
}

# IAM can refuse a binding on an account created a moment ago (PERMISSION_DENIED for an account it
# does not see yet): try a few times before giving up.
run_retrying() {
  local attempt
  for attempt in 1 2 3 4 5; do
    if run "$@"; then return 0; fi
    echo "gcp.sh: attempt ${attempt} failed; retrying in 10s" >&2
    sleep 10
  done
  die "gave up: $*"
}

[[ -n "$PROJECT_ID" ]] || die "this is the template: run the copy that npm run synth writes to dist/bootstrap/gcp.sh"
command -v gcloud >/dev/null || die "gcloud not found: install the Google Cloud CLI (cloud.google.com/sdk)"

KCC_CLUSTER_PROJECT="${KCC_CLUSTER_PROJECT:-$PROJECT_ID}"
KCC_EMAIL="${KCC_ACCOUNT_ID}@${PROJECT_ID}.iam.gserviceaccount.com"
# Namespaced mode runs one controller per namespace as this Kubernetes ServiceAccount.
KCC_MEMBER="serviceAccount:${KCC_CLUSTER_PROJECT}.svc.id.goog[cnrm-system/cnrm-controller-manager-${KCC_NAMESPACE}]"

echo "== 1/9 billing of ${PROJECT_ID}"
# `gcloud billing projects describe` uses the Cloud Billing API.
run gcloud services enable cloudbilling.googleapis.com --project="$PROJECT_ID"
show gcloud billing projects describe "$PROJECT_ID" --format='value(billingEnabled)'
billing="$(gcloud billing projects describe "$PROJECT_ID" --format='value(billingEnabled)')"
[[ "$billing" == True ]] ||
  die "billing is not enabled on ${PROJECT_ID} (billingEnabled: ${billing:-none}): link a billing account with 'gcloud billing projects link ${PROJECT_ID} --billing-account=ACCOUNT_ID', then run this again"

echo "== 2/9 APIs that Config Connector and this script need"
run gcloud services enable "${APIS[@]}" --project="$PROJECT_ID"

echo "== 3/9 APIs Config Connector's own identity needs, in ${PROJECT_ID} and in ${KCC_CLUSTER_PROJECT}"
# Config Connector's controller reaches Google Cloud through GKE Workload Identity: its Kubernetes
# ServiceAccount's token is exchanged for a short-lived token of ${KCC_EMAIL} through the IAM
# Service Account Credentials API. GKE lists that API under "Before you begin"
# (https://cloud.google.com/kubernetes-engine/docs/how-to/workload-identity#before_you_begin); without
# it in both projects the controller gets no token and reconciles nothing. The list and the reasons:
# synth/bootstrap/gcp-script.ts, KCC_IDENTITY_APIS.
identity_projects=("$PROJECT_ID")
[[ "$KCC_CLUSTER_PROJECT" == "$PROJECT_ID" ]] || identity_projects+=("$KCC_CLUSTER_PROJECT")
for project in "${identity_projects[@]}"; do
  run gcloud services enable "${KCC_IDENTITY_APIS[@]}" --project="$project"
done

echo "== 4/9 Cloud Storage service agent (created when missing)"
run gcloud storage service-agent --project="$PROJECT_ID"

echo "== 5/9 Config Connector's Google service account ${KCC_EMAIL}"
show gcloud iam service-accounts describe "$KCC_EMAIL" --project="$PROJECT_ID"
if gcloud iam service-accounts describe "$KCC_EMAIL" --project="$PROJECT_ID" >/dev/null 2>&1; then
  echo "exists already"
else
  run gcloud iam service-accounts create "$KCC_ACCOUNT_ID" --project="$PROJECT_ID" \
    --display-name="Config Connector (${KCC_NAMESPACE})" \
    --description="Config Connector acts as this account in namespace ${KCC_NAMESPACE} (mlflow-gke)"
fi

echo "== 6/9 the platform's service accounts, and Config Connector's roles on each of them only"
# Config Connector acquires an account that exists under its object's name and sets its name and
# description; it never needs to create one, so it holds no project-wide account role. Roles per
# account (synth/bootstrap/config-connector-roles.ts, configConnectorAccountGrants): Service Account
# Admin on each (update, and the Workload Identity grants on it), Service Account User on the nodes'.
for account in "${PLATFORM_ACCOUNTS[@]}"; do
  email="${account}@${PROJECT_ID}.iam.gserviceaccount.com"
  show gcloud iam service-accounts describe "$email" --project="$PROJECT_ID"
  if gcloud iam service-accounts describe "$email" --project="$PROJECT_ID" >/dev/null 2>&1; then
    echo "${account} exists already"
  else
    run gcloud iam service-accounts create "$account" --project="$PROJECT_ID" \
      --display-name="$account" --description="mlflow-gke; Config Connector sets its description"
  fi
done
for grant in "${ACCOUNT_GRANTS[@]}"; do
  account="${grant%%=*}"
  run_retrying gcloud iam service-accounts add-iam-policy-binding "${account}@${PROJECT_ID}.iam.gserviceaccount.com" --project="$PROJECT_ID" \
    --member="serviceAccount:${KCC_EMAIL}" --role="${grant#*=}" --condition=None --format=none
done
# The cluster's first node pool (removed once the cluster exists) runs as the Compute Engine default
# service account, and attaching an account to a resource needs iam.serviceAccounts.actAs on it
# (cloud.google.com/iam/docs/attach-service-accounts): Service Account User on that account alone.
# It appears a moment after the Compute Engine API is enabled (step 2), or never when an organization
# policy stops its creation: then the cluster cannot be created either, and this says so. Empty when
# the render's cluster names its nodes' account.
if [[ -n "$DEFAULT_NODE_ACCOUNT" ]]; then
  found=false
  for attempt in 1 2 3 4 5 6; do
    show gcloud iam service-accounts describe "$DEFAULT_NODE_ACCOUNT" --project="$PROJECT_ID"
    if gcloud iam service-accounts describe "$DEFAULT_NODE_ACCOUNT" --project="$PROJECT_ID" >/dev/null 2>&1; then
      found=true
      break
    fi
    echo "gcp.sh: ${DEFAULT_NODE_ACCOUNT} not there yet (attempt ${attempt}); retrying in 10s" >&2
    sleep 10
  done
  if "$found"; then
    run_retrying gcloud iam service-accounts add-iam-policy-binding "$DEFAULT_NODE_ACCOUNT" --project="$PROJECT_ID" \
      --member="serviceAccount:${KCC_EMAIL}" --role=roles/iam.serviceAccountUser --condition=None --format=none
  else
    echo "gcp.sh: warning: ${DEFAULT_NODE_ACCOUNT} does not exist (an organization policy may stop its creation); Config Connector cannot create the cluster until it does" >&2
  fi
fi

# The project's custom roles, which the render binds (charts/gcp/custom-role.ts): created here, not by
# Config Connector, which would need Role Administrator over every custom role of the project. A re-run
# sets each one's title, description and permissions to the render's. A role deleted less than 7 days
# ago must be undeleted first (gcloud iam roles undelete).
for role in "${CUSTOM_ROLES[@]}"; do
  IFS='|' read -r role_id role_title role_description role_permissions <<<"$role"
  show gcloud iam roles describe "$role_id" --project="$PROJECT_ID"
  if gcloud iam roles describe "$role_id" --project="$PROJECT_ID" >/dev/null 2>&1; then
    verb=update
  else
    verb=create
  fi
  run_retrying gcloud iam roles "$verb" "$role_id" --project="$PROJECT_ID" --title="$role_title" \
    --description="$role_description" --permissions="$role_permissions" --stage=GA --quiet --format=none
done

echo "== 7/9 its roles on ${PROJECT_ID}: what the rendered Config Connector objects need"
# --condition=None: the project's policy holds conditional bindings (the IAP grants), and gcloud
# refuses an unconditional binding on such a policy when it cannot ask. Project IAM Admin carries the
# condition that admits only the roles the render grants on the project; its title names the list.
# Project IAM Admin with the condition that admits only the render's roles; every other role without one.
grant_project_role() {
  local role="$1" condition=None
  [[ "$role" == "$IAM_ADMIN_ROLE" ]] && condition="$IAM_ADMIN_CONDITION"
  run_retrying gcloud projects add-iam-policy-binding "$PROJECT_ID" \
    --member="serviceAccount:${KCC_EMAIL}" --role="$role" --condition="$condition" --format=none
}
for role in "${KCC_ROLES[@]}"; do
  grant_project_role "$role"
done

echo "== 8/9 project roles it holds beyond those (an earlier, broader run): taken back"
# Each binding of the account as "role<TAB>condition title" (empty without a condition).
show gcloud projects get-iam-policy "$PROJECT_ID" --flatten=bindings[].members \
  --filter="bindings.members=serviceAccount:${KCC_EMAIL}" --format='value(bindings.role,bindings.condition.title)'
held="$(gcloud projects get-iam-policy "$PROJECT_ID" --flatten='bindings[].members' \
  --filter="bindings.members=serviceAccount:${KCC_EMAIL}" --format='value(bindings.role,bindings.condition.title)')"
while IFS=$'\t' read -r role title; do
  [[ -n "$role" ]] || continue
  wanted=false
  for want in "${KCC_ROLES[@]}"; do
    if [[ "$role" == "$want" ]]; then
      if [[ "$role" == "$IAM_ADMIN_ROLE" ]]; then
        [[ "$title" == "$IAM_ADMIN_CONDITION_TITLE" ]] && wanted=true
      else
        [[ -z "$title" ]] && wanted=true
      fi
    fi
  done
  "$wanted" && continue
  if [[ -z "$title" ]]; then
    run_retrying gcloud projects remove-iam-policy-binding "$PROJECT_ID" \
      --member="serviceAccount:${KCC_EMAIL}" --role="$role" --condition=None --format=none
  else
    # A binding under another condition: --all removes every binding of the role, so a wanted one is
    # added back.
    run_retrying gcloud projects remove-iam-policy-binding "$PROJECT_ID" \
      --member="serviceAccount:${KCC_EMAIL}" --role="$role" --all --format=none
    for want in "${KCC_ROLES[@]}"; do
      [[ "$role" == "$want" ]] && grant_project_role "$role"
    done
  fi
done <<<"$held"

echo "== 9/9 Workload Identity: ${KCC_MEMBER} may act as it"
run_retrying gcloud iam service-accounts add-iam-policy-binding "$KCC_EMAIL" --project="$PROJECT_ID" \
  --member="$KCC_MEMBER" --role=roles/iam.workloadIdentityUser --condition=None --format=none

echo "done: Config Connector may act as ${KCC_EMAIL} in namespace ${KCC_NAMESPACE} once its ConfigConnectorContext is applied"
