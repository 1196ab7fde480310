/**
 * Every name that more than one chart relies on, derived from the config in one place. Renaming a
 * Config Connector object recreates the Google Cloud resource, and renaming a PVC loses its data, so
 * these derivations change only on purpose.
 */
import type { Config } from '../../config/schema';

export type WorkspaceApp = 'jupyter' | 'vscode';

export interface WorkspaceInstance {
  readonly app: WorkspaceApp;
  /** The user this instance belongs to; undefined for the shared instance. */
  readonly user?: { readonly name: string; readonly email: string };
  /** Name of the workload, its Service and the prefix of its volume. */
  readonly name: string;
  /** Public host name. */
  readonly host: string;
}

export interface GoogleServiceAccount {
  /** Account id (the part before @), 6-30 characters. */
  readonly accountId: string;
  readonly email: string;
  /** Kubernetes ServiceAccount bound to it through Workload Identity, if any. */
  readonly kubernetes?: { readonly namespace: string; readonly name: string };
}

export interface PlatformNames {
  readonly namespaces: { readonly platform: string; readonly workspaces: string; readonly gcp: string };
  /** The MLflow Deployment and Service. */
  readonly mlflow: string;
  readonly mlflowPort: number;
  /** In-cluster URL of the tracking server. */
  readonly mlflowUrl: string;
  /** The PostgreSQL StatefulSet, its client Service and its claim template. */
  readonly mlflowDb: string;
  readonly mlflowHost: string;
  readonly serviceAccounts: {
    readonly mlflow: GoogleServiceAccount;
    readonly dbBackup: GoogleServiceAccount;
    readonly nodes: GoogleServiceAccount;
  };
  readonly bucket: string;
  readonly cloudSql: {
    readonly instance: string;
    /** project:region:instance, as the Auth Proxy takes it. */
    readonly connectionName: string;
    readonly database: string;
    /** IAM database user of the MLflow Google service account (email without `.gserviceaccount.com`). */
    readonly iamUser: string;
  };
  readonly cluster: string;
  readonly globalAddress: string;
  readonly sslPolicy: string;
  readonly workloadIdentityPool: string;
  readonly workspaces: readonly WorkspaceInstance[];
}

export function platformNames(config: Config): PlatformNames {
  const prefix = config.namePrefix;
  const project = config.project.id;
  const gsa = (accountId: string, kubernetes?: { namespace: string; name: string }): GoogleServiceAccount => ({
    accountId,
    email: `${accountId}@${project}.iam.gserviceaccount.com`,
    kubernetes,
  });
  const ns = config.namespaces;
  const mlflow = `${prefix}mlflow`;
  const sqlInstance = `${prefix}mlflow-metadata`;
  const mlflowSa = gsa(`${prefix}mlflow-server`, { namespace: ns.platform, name: mlflow });
  return {
    namespaces: { platform: ns.platform, workspaces: ns.workspaces, gcp: ns.gcp },
    mlflow,
    mlflowPort: 5000,
    mlflowUrl: `http://${mlflow}.${ns.platform}.svc.cluster.local:5000`,
    mlflowDb: `${prefix}mlflow-db`,
    mlflowHost: config.edge.hosts.mlflow ?? `mlflow.${config.edge.domain}`,
    serviceAccounts: {
      mlflow: mlflowSa,
      dbBackup: gsa(`${prefix}mlflow-db-backup`, { namespace: ns.platform, name: `${prefix}mlflow-db-backup` }),
      nodes: gsa(`${prefix}gke-nodes`),
    },
    bucket: config.storage.bucket ?? `${project}-mlflow-artifacts`,
    cloudSql: {
      instance: sqlInstance,
      connectionName: `${project}:${config.project.region}:${sqlInstance}`,
      database: config.database.name,
      iamUser: mlflowSa.email.replace(/\.gserviceaccount\.com$/, ''),
    },
    cluster: config.cluster.name,
    globalAddress: `${prefix}mlflow-gke-ip`,
    sslPolicy: `${prefix}mlflow-gke-tls`,
    workloadIdentityPool: `${project}.svc.id.goog`,
    workspaces: workspaceInstances(config),
  };
}

/**
 * The workspace instances: one shared per app, or one per user per app. Names derive from the user
 * name only, so reordering the list changes nothing.
 */
export function workspaceInstances(config: Config): WorkspaceInstance[] {
  const prefix = config.namePrefix;
  const apps: WorkspaceApp[] = [];
  if (config.workspaces.jupyter.enabled) apps.push('jupyter');
  if (config.workspaces.vscode.enabled) apps.push('vscode');
  const users = [...config.workspaces.users].sort((a, b) => a.name.localeCompare(b.name));
  return apps.flatMap((app): WorkspaceInstance[] => {
    if (users.length === 0) return [{ app, name: `${prefix}${app}`, host: config.edge.hosts[app] ?? `${app}.${config.edge.domain}` }];
    return users.map((user) => ({ app, user, name: `${prefix}${app}-${user.name}`, host: `${app}-${user.name}.${config.edge.domain}` }));
  });
}

/** The Workload Identity member for a Kubernetes ServiceAccount. */
export function workloadIdentityMember(names: PlatformNames, ksa: { namespace: string; name: string }): string {
  return `serviceAccount:${names.workloadIdentityPool}[${ksa.namespace}/${ksa.name}]`;
}
