/**
 * dist/bootstrap/gcp.sh: the template synth/bootstrap/gcp.sh with the values of the config written
 * into its values block. A subfolder, so `kubectl apply -f dist` (which does not descend) never
 * reads it, and a shell script, so nothing that reads YAML does either.
 */
import type { PlatformModel } from '../../model';
import { scriptFile } from '../../charts/lib/script-files';
import { platformCustomRoles } from '../../charts/gcp';
import type { Manifest, RenderedFile } from '../rendered-file';
import { createHash } from 'crypto';
import {
  configConnectorAccountGrants,
  configConnectorRoles,
  grantableProjectRoles,
  platformAccounts,
  projectIamAdminCondition,
} from './config-connector-roles';

/** The role whose grant to Config Connector carries the condition of projectIamAdminCondition. */
export const PROJECT_IAM_ADMIN = 'roles/resourcemanager.projectIamAdmin';

const BOOTSTRAP_TEMPLATE = 'synth/bootstrap/gcp.sh';
export const BOOTSTRAP_PATH = 'bootstrap/gcp.sh';

const BEGIN = '# --- values from the config (npm run synth fills them in) ---';
const END = '# --- end of values ---';

/**
 * APIs the project needs before Config Connector can enable the others from the render's Service
 * objects, besides the Cloud Billing API that the script's billing check uses:
 * - serviceusage: "Config Connector uses the Service Usage API to enable service APIs"
 *   (cloud.google.com/config-connector/docs/how-to/getting-started);
 * - cloudresourcemanager: the project's IAM policy (`gcloud projects add-iam-policy-binding` here,
 *   the project-level IAMPolicyMember and IAMAuditConfig objects);
 * - iam: the Config Connector service account and its Workload Identity binding;
 * - storage: `gcloud storage service-agent`, which asks Cloud Storage for its service agent;
 * - compute: enabling it creates the Compute Engine default service account
 *   (cloud.google.com/compute/docs/access/service-accounts#default_service_account), which the
 *   cluster's first node pool runs as; the script grants Config Connector Service Account User on it
 *   (the cluster cannot be created otherwise), on that account alone.
 */
export const BOOTSTRAP_APIS: readonly string[] = [
  'cloudresourcemanager.googleapis.com',
  'compute.googleapis.com',
  'iam.googleapis.com',
  'serviceusage.googleapis.com',
  'storage.googleapis.com',
];

/**
 * APIs Config Connector's own identity needs before it can act, enabled in the project of its Google
 * service account (project.id) and in the project of the cluster it runs on (KCC_CLUSTER_PROJECT):
 * - iamcredentials: the IAM Service Account Credentials API, which mints the short-lived tokens of a
 *   Google service account (https://cloud.google.com/iam/docs/reference/credentials/rest). GKE
 *   Workload Identity, through which the controller acts as that account, lists it under "Before you
 *   begin" (https://cloud.google.com/kubernetes-engine/docs/how-to/workload-identity#before_you_begin).
 * The role it needs on that account, roles/iam.workloadIdentityUser, is the script's last step
 * (https://cloud.google.com/config-connector/docs/how-to/install-namespaced, "Create an identity").
 */
export const KCC_IDENTITY_APIS: readonly string[] = ['iamcredentials.googleapis.com'];

/** A word bash reads back as exactly `value`. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The values block of the rendered script. */
function bootstrapValues(model: PlatformModel, objects: readonly Manifest[]): string[] {
  const { config, names } = model;
  const array = (values: readonly string[]) => `(${values.map(shellQuote).join(' ')})`;
  const condition = iamAdminCondition(objects);
  const cluster = objects.find((o) => o.kind === 'ContainerCluster' && String(o.apiVersion).startsWith('container.cnrm.cloud.google.com/'));
  return [
    `PROJECT_ID=${shellQuote(config.project.id)}`,
    `KCC_ACCOUNT_ID=${shellQuote(names.serviceAccounts.configConnector.accountId)}`,
    `KCC_NAMESPACE=${shellQuote(names.namespaces.gcp)}`,
    `APIS=${array(BOOTSTRAP_APIS)}`,
    `PLATFORM_ACCOUNTS=${array(platformAccounts(objects))}`,
    `ACCOUNT_GRANTS=${array(configConnectorAccountGrants(objects).map((g) => `${g.accountId}=${g.role}`))}`,
    `KCC_ROLES=${array([...configConnectorRoles(objects).keys()])}`,
    `IAM_ADMIN_ROLE=${shellQuote(PROJECT_IAM_ADMIN)}`,
    `IAM_ADMIN_CONDITION_TITLE=${shellQuote(condition.title)}`,
    // gcloud's --condition is a KEY=VALUE list split at commas; the expression has commas, so the
    // list takes ';' as its delimiter (`^;^`, gcloud topic escaping).
    `IAM_ADMIN_CONDITION=${shellQuote(`^;^expression=${condition.expression};title=${condition.title};description=${condition.description}`)}`,
    `DEFAULT_NODE_ACCOUNT=${shellQuote(cluster && !cluster.spec?.nodeConfig?.serviceAccountRef ? `${config.project.number}-compute@developer.gserviceaccount.com` : '')}`,
    `KCC_IDENTITY_APIS=${array(KCC_IDENTITY_APIS)}`,
    // One "id|title|description|permission,..." per custom role (charts/gcp/custom-role.ts checks that none holds "|" or ",").
    `CUSTOM_ROLES=${array(platformCustomRoles(model).map((r) => [r.roleId, r.title, r.description, r.permissions.join(',')].join('|')))}`,
  ];
}

/**
 * The condition of Config Connector's Project IAM Admin grant, its title ending in a hash of the role
 * list: a changed list is another binding, and the script takes back the one of the old list.
 */
export function iamAdminCondition(objects: readonly Manifest[]): { title: string; description: string; expression: string } {
  const c = projectIamAdminCondition(grantableProjectRoles(objects));
  return { ...c, title: `${c.title}-${createHash('sha256').update(c.expression).digest('hex').slice(0, 8)}` };
}

/** The rendered bootstrap script for the model's config, whose roles follow the Config Connector objects among `objects`. */
export function bootstrapScript(model: PlatformModel, objects: readonly Manifest[]): RenderedFile {
  const lines = scriptFile(BOOTSTRAP_TEMPLATE).split('\n');
  const begin = lines.indexOf(BEGIN);
  const end = lines.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`${BOOTSTRAP_TEMPLATE}: the values block ("${BEGIN}" ... "${END}") is missing`);
  const content = [...lines.slice(0, begin + 1), ...bootstrapValues(model, objects), ...lines.slice(end)].join('\n');
  return { path: BOOTSTRAP_PATH, content };
}
