/**
 * Every name that more than one chart relies on, derived from the config in one place. Renaming a
 * Config Connector object recreates the Google Cloud resource, and renaming a PVC loses its data, so
 * these derivations change only on purpose.
 */
import type { Config } from '../config/schema';
import type { Resources } from '../config/schema/primitives';
import { WORKSPACE_APPS } from '../config/schema/workspaces';

/** A workspace app's id: its config section under `workspaces`, its chart and its registry entry. */
export type WorkspaceApp = string;

/** What every workspace app's config section holds. */
export interface WorkspaceAppSection {
  readonly enabled: boolean;
  readonly image: string;
  readonly storageSize: string;
  readonly resources: Resources;
}

/** The config section of a workspace app; undefined for an id the config has no section for. */
export function workspaceAppSection(config: Config, app: WorkspaceApp): WorkspaceAppSection | undefined {
  return (config.workspaces as unknown as Readonly<Record<string, WorkspaceAppSection | undefined>>)[app];
}

/** The apps this config turns on, in apply order. `apps` lists the known ones: the registry's, by default. */
export function enabledWorkspaceApps(config: Config, apps: readonly WorkspaceApp[] = WORKSPACE_APPS): WorkspaceApp[] {
  return apps.filter((app) => workspaceAppSection(config, app)?.enabled === true);
}

/** The host name an app's shared instance takes when the config sets one (`edge.hosts.<app>`). */
export function configuredHost(config: Config, app: WorkspaceApp): string | undefined {
  return (config.edge.hosts as Readonly<Record<string, string | undefined>>)[app];
}

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
  /** More Kubernetes ServiceAccounts bound to it, each also bound to an account of its own or to none. @default - none */
  readonly alsoKubernetes?: readonly { readonly namespace: string; readonly name: string }[];
}

/** The uses that each get their own Cloud KMS key (one key per consuming service agent). */
export type KmsKeyUse = 'sql' | 'gcs' | 'gkeSecrets' | 'disk';

export interface KmsNames {
  /** Location of the key ring: the region, because a CMEK key must sit where its consumer does. */
  readonly location: string;
  readonly keyRing: string;
  /** Key names per use; `disk` encrypts node boot disks and the persistent disks of the StorageClass. */
  readonly keys: { readonly [use in KmsKeyUse]: string };
  /** Full resource path `projects/<p>/locations/<region>/keyRings/<ring>/cryptoKeys/<key>`. */
  keyPath(use: KmsKeyUse): string;
}

export interface TlsNames {
  /** Namespace cert-manager runs in; the CA's key pair (a Secret) lives there. */
  readonly certManagerNamespace: string;
  /** ClusterIssuer that self-signs the CA certificate. */
  readonly selfSignedIssuer: string;
  /** ClusterIssuer that signs with the CA: every server certificate and CA bundle. */
  readonly caIssuer: string;
  /** The CA's Certificate and Secret, in certManagerNamespace. */
  readonly ca: string;
  /** Certificate and Secret of the MLflow server (platform namespace). */
  readonly mlflow: string;
  /** Certificate and Secret of the in-cluster PostgreSQL (platform namespace). */
  readonly db: string;
  /**
   * trust-manager Bundle, and the ConfigMap (and CA-only Secret) it writes in each client namespace,
   * whose `ca.crt` clients trust. Not the old `mlflow-gke-ca-bundle`: that was a Certificate's Secret
   * (with a key), which an upgrade leaves behind for the operator to delete.
   */
  readonly caBundle: string;
  /** ValidatingAdmissionPolicy (and binding) that keeps the CA ClusterIssuer to the platform's namespaces. */
  readonly caIssuerScope: string;
}

/** An MLflow user and the Secret (created out of band) whose key `password` holds its password. */
export interface MlflowAccount {
  readonly username: string;
  readonly secret: string;
}

/**
 * MLflow's own accounts (basic-auth app, docs/mlflow.md "Authentication"). A person's username is their
 * Google email in lower case, whether they come through IAP or from their workspace; the platform's
 * accounts carry no "@", so no Google identity can ever take one of their names.
 */
export interface MlflowAuthNames {
  /** ConfigMap with basic_auth.ini and the IAP verifier module. */
  readonly configMap: string;
  /** Secret with key `secret-key`: MLFLOW_FLASK_SERVER_SECRET_KEY, the same on every replica. */
  readonly flaskSecret: string;
  /** The bootstrap admin the server creates (MLFLOW_AUTH_ADMIN_USERNAME/PASSWORD); the provisioning Job acts as it. */
  readonly admin: MlflowAccount;
  /** The metrics scraper: an admin that the verifier admits on GET /metrics only; the collector reads its Secret. */
  readonly metrics: MlflowAccount;
  /** `mlflow gc`: not an admin; its role (`roles.gc`) gives MANAGE on every experiment, which deleting a run's proxied artifacts needs. */
  readonly gc: MlflowAccount;
  /** The post-deploy verification Job: an ordinary user. */
  readonly verify: MlflowAccount;
  /**
   * The account a workspace uses: its user's (username = email) or, for the shared instances, the shared
   * one. The Secret exists in the platform namespace (the provisioning Job sets the password from it) and
   * in the workspaces namespace (the workspace reads MLFLOW_TRACKING_PASSWORD from it), with the same value.
   */
  workspaceAccount(user?: { readonly name: string; readonly email: string }): MlflowAccount;
  /** Every workspace account of the config: one per user, or the shared one (none without users and workspaces). */
  readonly workspaceAccounts: readonly MlflowAccount[];
  /** Experiment names under this prefix are personal: `users/<username>` belongs to that user alone. */
  readonly personalExperimentPrefix: string;
  /** A person's (or the shared workspace account's) own experiment, where their workspaces log. */
  personalExperiment(username: string): string;
  /** The MLflow roles the provisioning Job owns: every role of this prefix that the config lacks is deleted. */
  readonly roles: {
    readonly prefix: string;
    readonly gc: string;
    group(name: string): string;
    user(name: string): string;
  };
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
  /** The platform CA (cert-manager) and the certificates it issues; docs/mlflow.md, "TLS". */
  readonly tls: TlsNames;
  readonly mlflowHost: string;
  readonly serviceAccounts: {
    readonly mlflow: GoogleServiceAccount;
    readonly dbBackup: GoogleServiceAccount;
    /** The one-shot Job that grants the MLflow IAM database user its privileges (cloudsql mode). */
    readonly sqlGrant: GoogleServiceAccount;
    /**
     * The schema migration Job (cloudsql mode): its own IAM database user, a member of the tables'
     * owner role; no right on the artifact bucket.
     */
    readonly mlflowMigrate: GoogleServiceAccount;
    /** `mlflow gc` (cloudsql mode): its own IAM database user with DML only; no right on the artifact bucket. */
    readonly mlflowGc: GoogleServiceAccount;
    /**
     * The migration's pre-migration backup (cloudsql mode): may create and read on-demand backups of the
     * instance and nothing else; no Kubernetes ServiceAccount, only the migration's account may act as it.
     */
    readonly mlflowSqlBackup: GoogleServiceAccount;
    readonly nodes: GoogleServiceAccount;
    /** The identity Config Connector acts as in the gcp namespace; created by the bootstrap script, not by the render. */
    readonly configConnector: GoogleServiceAccount;
  };
  /**
   * Kubernetes ServiceAccounts of MLflow's Jobs, none of them the server's: the provisioning Job's never
   * holds a Google identity; the migration Job's and gc's hold none in statefulset mode (a password
   * login to PostgreSQL) and, in cloudsql mode, act as their own Google service accounts
   * (`serviceAccounts.mlflowMigrate`, `serviceAccounts.mlflowGc`) for their own IAM database logins.
   */
  readonly mlflowJobServiceAccounts: { readonly migrate: string; readonly gc: string; readonly provision: string };
  readonly bucket: string;
  /** Object prefix of the database backups in the backup bucket. */
  readonly backupPrefix: string;
  /** The bucket of the in-cluster database's backups (statefulset mode): only the backup identity writes there. */
  readonly backupBucket: string;
  readonly cloudSql: {
    readonly instance: string;
    /** project:region:instance, as the Auth Proxy takes it. */
    readonly connectionName: string;
    readonly database: string;
    /** IAM database user of the MLflow Google service account (email without `.gserviceaccount.com`). */
    readonly iamUser: string;
    /** IAM database user of the migration Job's Google service account. */
    readonly migrateIamUser: string;
    /** IAM database user of gc's Google service account. */
    readonly gcIamUser: string;
    /** Id of the custom role of the pre-migration backup (IAM role ids allow letters, digits, "_" and "."). */
    readonly backupRoleId: string;
    /**
     * The NOLOGIN roles the grant Job creates: `owner` owns MLflow's tables (the migration's IAM user is
     * its member and acts as it), `writer` holds DML on them (the server's and gc's IAM users).
     */
    readonly roles: { readonly owner: string; readonly writer: string };
    /** Built-in admin user the grant Job logs in as (its password lives in an out-of-band Secret). */
    readonly adminUser: string;
  };
  readonly cluster: string;
  /** Global external address of the MLflow load balancer (DNS of the MLflow host points here). */
  readonly globalAddress: string;
  /** Global external address of the workspaces load balancer (an Ingress serves one namespace only). */
  readonly workspacesGlobalAddress: string;
  /** Cluster-scoped StorageClass of the workspaces' home volumes (workspaces.homeStorage: cmek). */
  readonly workspaceHomeStorageClass: string;
  readonly sslPolicy: string;
  /** Cloud KMS key ring and keys (CMEK); key rings and keys can never be deleted, so never rename. */
  readonly kms: KmsNames;
  readonly workloadIdentityPool: string;
  readonly workspaces: readonly WorkspaceInstance[];
  /**
   * The ConfigMap of what every instance of an app shares (its package locks, the verifying proxy's
   * program), rendered once per app in the workspaces namespace. No instance's own ConfigMap can take
   * the name: those all end in `-files`.
   */
  workspaceSharedFiles(app: WorkspaceApp): string;
  /** MLflow's users and the Secrets of their passwords. */
  readonly mlflowAuth: MlflowAuthNames;
}

export function platformNames(config: Config, apps: readonly WorkspaceApp[] = WORKSPACE_APPS): PlatformNames {
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
  const jobAccounts = { migrate: `${mlflow}-migrate`, gc: `${mlflow}-gc`, provision: `${mlflow}-auth-provision` };
  const migrateSa = gsa(`${prefix}mlflow-migrate`, { namespace: ns.platform, name: jobAccounts.migrate });
  const gcSa = gsa(`${prefix}mlflow-gc`, { namespace: ns.platform, name: jobAccounts.gc });
  // Cloud SQL names a service account's IAM database user after its email without the domain suffix.
  const iamUserOf = (account: GoogleServiceAccount) => account.email.replace(/\.gserviceaccount\.com$/, '');
  return {
    namespaces: { platform: ns.platform, workspaces: ns.workspaces, gcp: ns.gcp },
    mlflow,
    mlflowPort: 5000,
    // HTTPS: the server's certificate names the Service (serviceDnsNames); clients trust the platform CA.
    mlflowUrl: `https://${mlflow}.${ns.platform}.svc.cluster.local:5000`,
    mlflowDb: `${prefix}mlflow-db`,
    tls: {
      certManagerNamespace: config.tls.certManagerNamespace,
      selfSignedIssuer: `${prefix}mlflow-gke-selfsigned`,
      caIssuer: `${prefix}mlflow-gke-ca`,
      ca: `${prefix}mlflow-gke-ca`,
      mlflow: `${mlflow}-tls`,
      db: `${prefix}mlflow-db-tls`,
      caBundle: `${prefix}mlflow-gke-trust-bundle`,
      caIssuerScope: `${prefix}mlflow-gke-ca-scope`,
    },
    mlflowHost: config.edge.hosts.mlflow ?? `mlflow.${config.edge.domain}`,
    serviceAccounts: {
      mlflow: mlflowSa,
      // The migration Job uploads its backup gate's dump with it (statefulset mode, charts/mlflow/migration.ts).
      dbBackup: {
        ...gsa(`${prefix}mlflow-db-backup`, { namespace: ns.platform, name: `${prefix}mlflow-db-backup` }),
        alsoKubernetes: [{ namespace: ns.platform, name: jobAccounts.migrate }],
      },
      sqlGrant: gsa(`${prefix}mlflow-sql-grant`, { namespace: ns.platform, name: `${prefix}mlflow-sql-grant` }),
      mlflowMigrate: migrateSa,
      mlflowGc: gcSa,
      mlflowSqlBackup: gsa(`${prefix}mlflow-sql-backup`),
      nodes: gsa(`${prefix}gke-nodes`),
      // Config Connector in namespaced mode runs one controller per namespace, as this Kubernetes
      // ServiceAccount (k8s-config-connector v1.155.1, operator/channels/packages/configconnector/1.155.1/
      // namespaced/per-namespace-components.yaml: cnrm-controller-manager-${NAMESPACE?} in cnrm-system).
      configConnector: gsa(`${prefix}config-connector`, { namespace: 'cnrm-system', name: `cnrm-controller-manager-${ns.gcp}` }),
    },
    mlflowJobServiceAccounts: jobAccounts,
    bucket: config.storage.bucket ?? `${project}-mlflow-artifacts`,
    backupPrefix: 'backups/',
    backupBucket: config.database.statefulset.backup.bucket ?? `${project}-mlflow-db-backups`,
    cloudSql: {
      instance: sqlInstance,
      connectionName: `${project}:${config.project.region}:${sqlInstance}`,
      database: config.database.name,
      iamUser: iamUserOf(mlflowSa),
      migrateIamUser: iamUserOf(migrateSa),
      gcIamUser: iamUserOf(gcSa),
      backupRoleId: `${prefix.replace(/-/g, '_')}mlflow_sql_backup`,
      roles: { owner: 'mlflow_owner', writer: 'mlflow_writer' },
      adminUser: `${prefix}mlflow-admin`,
    },
    cluster: config.cluster.name,
    globalAddress: `${prefix}mlflow-gke-ip`,
    workspacesGlobalAddress: `${prefix}mlflow-gke-workspaces-ip`,
    workspaceHomeStorageClass: `${prefix}mlflow-workspaces-cmek`,
    sslPolicy: `${prefix}mlflow-gke-tls`,
    kms: kmsNames(project, config.project.region, prefix),
    workloadIdentityPool: `${project}.svc.id.goog`,
    workspaces: workspaceInstances(config, apps),
    workspaceSharedFiles: (app) => `${prefix}${app}-shared`,
    mlflowAuth: mlflowAuthNames(config, apps),
  };
}

/** Where personal experiments live: "users/<email>" (docs/mlflow.md, "Permissions"). */
const PERSONAL_EXPERIMENT_PREFIX = 'users/';

/** MLflow usernames and Secret names; see MlflowAuthNames. */
export function mlflowAuthNames(config: Config, apps: readonly WorkspaceApp[] = WORKSPACE_APPS): MlflowAuthNames {
  const prefix = config.namePrefix;
  const account = (username: string, secret: string): MlflowAccount => ({ username, secret: `${prefix}${secret}` });
  const workspaceAccount = (user?: { readonly name: string; readonly email: string }): MlflowAccount =>
    user ? account(user.email.toLowerCase(), `mlflow-user-${user.name}`) : account('shared-workspace', 'mlflow-user-shared-workspace');
  const users = [...config.workspaces.users].sort((a, b) => a.name.localeCompare(b.name));
  return {
    configMap: `${prefix}mlflow-auth`,
    flaskSecret: `${prefix}mlflow-auth-flask`,
    admin: account('mlflow-gke-admin', 'mlflow-auth-admin'),
    metrics: account('mlflow-gke-metrics', 'mlflow-auth-metrics'),
    gc: account('mlflow-gke-gc', 'mlflow-auth-gc'),
    verify: account('mlflow-gke-verify', 'mlflow-auth-verify'),
    workspaceAccount,
    // Users have an account whether or not a workspace app is on (they reach MLflow through IAP too);
    // the shared account exists only while shared workspaces do.
    workspaceAccounts: users.length > 0 ? users.map((u) => workspaceAccount(u)) : enabledWorkspaceApps(config, apps).length > 0 ? [workspaceAccount()] : [],
    personalExperimentPrefix: PERSONAL_EXPERIMENT_PREFIX,
    personalExperiment: (username) => `${PERSONAL_EXPERIMENT_PREFIX}${username}`,
    roles: { prefix: 'mlflow-gke-', gc: 'mlflow-gke-gc', group: (name) => `mlflow-gke-group-${name}`, user: (name) => `mlflow-gke-user-${name}` },
  };
}

/**
 * The workspace instances: one shared per app, or one per user per app. Names derive from the user
 * name only, so reordering the list changes nothing.
 */
export function workspaceInstances(config: Config, apps: readonly WorkspaceApp[] = WORKSPACE_APPS): WorkspaceInstance[] {
  const prefix = config.namePrefix;
  const users = [...config.workspaces.users].sort((a, b) => a.name.localeCompare(b.name));
  return enabledWorkspaceApps(config, apps).flatMap((app): WorkspaceInstance[] => {
    if (users.length === 0) return [{ app, name: `${prefix}${app}`, host: configuredHost(config, app) ?? `${app}.${config.edge.domain}` }];
    return users.map((user) => ({ app, user, name: `${prefix}${app}-${user.name}`, host: `${app}-${user.name}.${config.edge.domain}` }));
  });
}

function kmsNames(project: string, location: string, prefix: string): KmsNames {
  const keyRing = `${prefix}mlflow-gke`;
  const keys: { [use in KmsKeyUse]: string } = {
    sql: `${prefix}mlflow-sql`,
    gcs: `${prefix}mlflow-gcs`,
    gkeSecrets: `${prefix}mlflow-gke-secrets`,
    disk: `${prefix}mlflow-disk`,
  };
  return {
    location,
    keyRing,
    keys,
    keyPath: (use) => `projects/${project}/locations/${location}/keyRings/${keyRing}/cryptoKeys/${keys[use]}`,
  };
}

/**
 * Every name a client in the cluster may use for a Service: short, with the namespace, with `.svc`
 * and fully qualified. A server certificate lists them all, so that verify-full checks pass whichever
 * the client uses.
 */
export function serviceDnsNames(service: string, namespace: string): string[] {
  return [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`];
}

/** The Workload Identity member for a Kubernetes ServiceAccount. */
export function workloadIdentityMember(names: PlatformNames, ksa: { namespace: string; name: string }): string {
  return `serviceAccount:${names.workloadIdentityPool}[${ksa.namespace}/${ksa.name}]`;
}
