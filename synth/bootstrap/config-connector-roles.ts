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
  // "To set a service account on nodes, you must also have the Service Account User role
  // (roles/iam.serviceAccountUser) on the user-managed service account that your nodes will use"
  // (roles-permissions/container). Cluster Admin manages clusters, not the objects inside them.
  ContainerCluster: ['roles/container.clusterAdmin', 'roles/iam.serviceAccountUser'],
  ContainerNodePool: ['roles/container.clusterAdmin', 'roles/iam.serviceAccountUser'],
  IAMServiceAccount: ['roles/iam.serviceAccountAdmin'],
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
  // The project's IAM policy: Project IAM Admin can grant any role on the project, so this account is
  // as powerful as whoever controls what it applies (see docs/gcp.md).
  Project: ['roles/resourcemanager.projectIamAdmin'],
  KMSCryptoKey: ['roles/cloudkms.admin'],
  StorageBucket: ['roles/storage.admin'],
  IAMServiceAccount: ['roles/iam.serviceAccountAdmin'],
};

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
