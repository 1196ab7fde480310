/**
 * The roles Config Connector's Google service account needs for exactly what the render declares:
 * each Config Connector kind (and each kind of resource an IAMPolicyMember grants on) maps to the
 * narrowest predefined role that can create, update and delete it. The bootstrap script grants the
 * union over the rendered objects, so a config without Cloud SQL gets no Cloud SQL role, and a kind
 * added to the render without a role here stops synth instead of failing in the cluster.
 *
 * Role names and contents: cloud.google.com/iam/docs/roles-permissions/<service> (serviceusage,
 * cloudkms, storage, cloudsql, compute, servicenetworking, container, iam, resourcemanager, logging,
 * monitoring). Granted on the project: several kinds (the project's own IAM policy and audit
 * configs, API enablement) exist only there.
 *
 * Two exceptions keep the account from making itself anyone else (docs/security.md, "Google IAM"):
 * - Service accounts: no project-wide roles/iam.serviceAccountAdmin or roles/iam.serviceAccountUser.
 *   The former holds iam.serviceAccounts.setIamPolicy on every account of the project, so the holder
 *   could grant itself roles/iam.serviceAccountTokenCreator on any of them; the latter holds
 *   iam.serviceAccounts.actAs on every account (cloud.google.com/iam/docs/roles-permissions/iam). The
 *   bootstrap script creates the render's accounts itself and grants roles/iam.serviceAccountAdmin on
 *   each of them only (Config Connector then acquires the existing account: it "manages or acquires
 *   resources by mapping the combination of Kubernetes resource name, container annotation, ...",
 *   cloud.google.com/config-connector/docs/concepts/managing-conflicts; and sets its name and its
 *   Workload Identity binding), and roles/iam.serviceAccountUser only on the nodes' account
 *   (ACCOUNT_KIND_ROLES, configConnectorAccountGrants).
 * - The project's IAM policy: roles/resourcemanager.projectIamAdmin can grant any role on the project,
 *   so its grant carries the condition `api.getAttribute('iam.googleapis.com/modifiedGrantsByRole',
 *   []).hasOnly([...])` over the roles the render grants on the project (grantableProjectRoles;
 *   cloud.google.com/iam/docs/setting-limits-on-granting-roles).
 */
import type { Manifest } from '../rendered-file';

/** Roles per Config Connector kind. A kind that configures Config Connector itself needs none. */
export const KIND_ROLES: Readonly<Record<string, readonly string[]>> = {
  // Enabling APIs; ServiceIdentity calls services.generateServiceIdentity of the same API.
  Service: ['roles/serviceusage.serviceUsageAdmin'],
  ServiceIdentity: ['roles/serviceusage.serviceUsageAdmin'],
  KMSKeyRing: ['roles/cloudkms.admin'],
  KMSCryptoKey: ['roles/cloudkms.admin'],
  StorageBucket: ['roles/storage.admin'],
  // Not Cloud SQL Editor: it "provides full control of existing Cloud SQL instances excluding modifying
  // users, SSL certificates or deleting resources" (roles-permissions/cloudsql), and SQLUser modifies users.
  SQLInstance: ['roles/cloudsql.admin'],
  SQLDatabase: ['roles/cloudsql.admin'],
  SQLUser: ['roles/cloudsql.admin'],
  // Networks, subnetworks, routers and NAT, addresses and SSL policies: "networking resources,
  // except for firewall rules and SSL certificates" (roles/compute.networkAdmin).
  ComputeNetwork: ['roles/compute.networkAdmin'],
  ComputeSubnetwork: ['roles/compute.networkAdmin'],
  ComputeRouter: ['roles/compute.networkAdmin'],
  ComputeRouterNAT: ['roles/compute.networkAdmin'],
  ComputeAddress: ['roles/compute.networkAdmin'],
  ComputeSSLPolicy: ['roles/compute.networkAdmin'],
  ServiceNetworkingConnection: ['roles/servicenetworking.networksAdmin'],
  // Cluster Admin manages clusters, not the objects inside them. The Service Account User role the
  // nodes' account also needs is granted on that account only (ACCOUNT_KIND_ROLES).
  ContainerCluster: ['roles/container.clusterAdmin'],
  ContainerNodePool: ['roles/container.clusterAdmin'],
  // Created by the bootstrap script; Config Connector manages it with a role on the account only.
  IAMServiceAccount: [],
  // Audit configs are part of the project's IAM policy (IAMAuditConfig: "adds an audit config ... to
  // the associated Google Cloud resource's IAM policy").
  IAMAuditConfig: ['roles/resourcemanager.projectIamAdmin'],
  LoggingLogBucket: ['roles/logging.configWriter'],
  LoggingLogSink: ['roles/logging.configWriter'],
  MonitoringAlertPolicy: ['roles/monitoring.alertPolicyEditor'],
  MonitoringDashboard: ['roles/monitoring.dashboardEditor'],
  MonitoringNotificationChannel: ['roles/monitoring.notificationChannelEditor'],
  MonitoringUptimeCheckConfig: ['roles/monitoring.uptimeCheckConfigEditor'],
  ConfigConnectorContext: [],
};

/** Roles an IAMPolicyMember needs, by the kind of resource it grants on (its IAM policy's owner). */
export const GRANT_ROLES: Readonly<Record<string, readonly string[]>> = {
  // The project's IAM policy: granted with a condition that admits only the roles the render grants
  // there (projectIamAdminCondition).
  Project: ['roles/resourcemanager.projectIamAdmin'],
  KMSCryptoKey: ['roles/cloudkms.admin'],
  StorageBucket: ['roles/storage.admin'],
  // On the account only (ACCOUNT_KIND_ROLES).
  IAMServiceAccount: [],
};

/** The role that manages one service account: get, update, and its IAM policy (the Workload Identity binding). */
export const ACCOUNT_ADMIN = 'roles/iam.serviceAccountAdmin';
/**
 * "To set a service account on nodes, you must also have the Service Account User role
 * (roles/iam.serviceAccountUser) on the user-managed service account that your nodes will use"
 * (cloud.google.com/iam/docs/roles-permissions/container).
 */
export const ACCOUNT_USER = 'roles/iam.serviceAccountUser';

/** Roles on one service account, granted by the bootstrap script on that account alone. */
export interface AccountGrant {
  /** Account id: the IAMServiceAccount object's name. */
  readonly accountId: string;
  readonly role: string;
  /** The rendered kinds that need it. */
  readonly why: readonly string[];
}

/** The service accounts the render declares (IAMServiceAccount names), sorted: the bootstrap script creates them. */
export function platformAccounts(objects: readonly Manifest[]): string[] {
  return [...new Set(objects.filter((o) => o.kind === 'IAMServiceAccount' && isKcc(o)).map((o) => String(o.metadata?.name)))].sort();
}

/**
 * The per-account roles: Service Account Admin on every account of the render (Config Connector
 * updates it and keeps its IAM policy: the Workload Identity grants), Service Account User on the
 * account a node pool runs as. A node pool on an account the render does not declare stops synth:
 * the script could not grant on it.
 */
export function configConnectorAccountGrants(objects: readonly Manifest[]): AccountGrant[] {
  const accounts = new Set(platformAccounts(objects));
  const needs = new Map<string, Set<string>>();
  const add = (accountId: string, role: string, why: string) => {
    if (!accounts.has(accountId))
      throw new Error(`${why} names the service account ${accountId}, which the render does not declare (synth/bootstrap/config-connector-roles.ts)`);
    const key = `${accountId}\u0000${role}`;
    needs.set(key, (needs.get(key) ?? new Set()).add(why));
  };
  for (const o of objects) {
    if (!isKcc(o)) continue;
    if (o.kind === 'IAMServiceAccount') add(String(o.metadata?.name), ACCOUNT_ADMIN, 'IAMServiceAccount');
    if (o.kind === 'IAMPolicyMember' && o.spec?.resourceRef?.kind === 'IAMServiceAccount')
      add(String(o.spec.resourceRef.name), ACCOUNT_ADMIN, 'IAMPolicyMember on IAMServiceAccount');
    const nodeAccount = (o.kind === 'ContainerNodePool' || o.kind === 'ContainerCluster') && o.spec?.nodeConfig?.serviceAccountRef?.name;
    if (nodeAccount) add(String(nodeAccount), ACCOUNT_USER, o.kind);
  }
  return [...needs.entries()]
    .map(([key, why]) => {
      const [accountId, role] = key.split('\u0000');
      return { accountId, role, why: [...why].sort() };
    })
    .sort((a, b) => (a.accountId === b.accountId ? (a.role < b.role ? -1 : 1) : a.accountId < b.accountId ? -1 : 1));
}

/** The roles the render grants on the project (IAMPolicyMember on Project), sorted: all that Config Connector may grant there. */
export function grantableProjectRoles(objects: readonly Manifest[]): string[] {
  return [
    ...new Set(objects.filter((o) => isKcc(o) && o.kind === 'IAMPolicyMember' && o.spec?.resourceRef?.kind === 'Project').map((o) => String(o.spec.role))),
  ].sort();
}

/**
 * The condition of Config Connector's Project IAM Admin grant: it may add or remove bindings of these
 * roles only. Syntax from "Set limits on granting roles" (cloud.google.com/iam/docs/setting-limits-on-granting-roles):
 * `api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly([ROLES])`; the attribute
 * lists the roles whose bindings a setIamPolicy call changes, so a change of the audit configs alone
 * (IAMAuditConfig) modifies no grant and passes.
 */
export function projectIamAdminCondition(roles: readonly string[]): { title: string; description: string; expression: string } {
  return {
    title: 'mlflow-gke-rendered-grants-only',
    description: 'Grant or revoke only the roles the mlflow-gke render grants on the project',
    expression: `api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly([${roles.map((r) => `'${r}'`).join(', ')}])`,
  };
}

function isKcc(o: Manifest): boolean {
  return String(o.apiVersion ?? '')
    .split('/')[0]
    .endsWith('.cnrm.cloud.google.com');
}

/** Why each role is needed: the rendered kinds that need it, as `Kind` or `IAMPolicyMember on Kind`. */
export function configConnectorRoles(objects: readonly Manifest[]): Map<string, string[]> {
  const needs = new Map<string, Set<string>>();
  const add = (roles: readonly string[], why: string) => roles.forEach((r) => needs.set(r, (needs.get(r) ?? new Set()).add(why)));
  for (const o of objects) {
    const group = String(o.apiVersion ?? '').split('/')[0];
    if (!group.endsWith('.cnrm.cloud.google.com')) continue;
    if (o.kind === 'IAMPolicyMember') {
      const target = o.spec?.resourceRef?.kind;
      const roles = GRANT_ROLES[target];
      if (!roles)
        throw new Error(
          `IAMPolicyMember ${o.metadata?.name}: no Config Connector role is known for grants on ${target} (synth/bootstrap/config-connector-roles.ts, GRANT_ROLES)`,
        );
      add(roles, `IAMPolicyMember on ${target}`);
      continue;
    }
    const roles = KIND_ROLES[o.kind];
    if (!roles)
      throw new Error(`${o.kind} ${o.metadata?.name}: no Config Connector role is known for this kind (synth/bootstrap/config-connector-roles.ts, KIND_ROLES)`);
    add(roles, o.kind);
  }
  return new Map([...needs.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([role, why]) => [role, [...why].sort()]));
}
