/**
 * The one-shot Job that gives MLflow's IAM database users their roles (cloudsql mode).
 *
 * Cloud SQL creates an IAM database user with the privileges of PUBLIC only, and since PostgreSQL 15
 * PUBLIC may not create objects in schema public, so MLflow's first migration would fail with
 * "permission denied for schema public". cloudsql-grant.sql creates two NOLOGIN roles: an owner role
 * with USAGE and CREATE on public, whose member the migration's IAM user is (it acts as that role, so
 * the tables belong to the role), and a writer role with DML, whose members the server's and gc's IAM
 * users are. Not database ownership: from PostgreSQL 16 on, CREATEROLE no longer lets the admin act
 * for roles it did not create (the IAM users), so it cannot hand them the database or the schema.
 *
 * The Job logs in as the built-in admin user (charts/gcp/cloud-sql.ts), with the password from an
 * out-of-band Secret, through its own Auth Proxy native sidecar started without --auto-iam-authn: that
 * flag makes every login through the proxy an IAM login (cloud-sql-proxy cmd/root.go at v2.1.0:
 * "Enables Automatic IAM Authentication for all instances"), and the admin has no IAM identity. The
 * proxy itself still authorizes the connection with IAM, as this Job's own Google service account,
 * which holds roles/cloudsql.client on the instance only (gcp chart).
 *
 * Its last step replaces the admin's password with a random one that nothing keeps
 * (cloudsql-grant.sh): the admin Secret opens nothing once the grant is done. Running the grant again
 * takes setting the password back first (docs/mlflow.md, "One-time database grant").
 *
 * The name carries a hash of everything the pod runs, like the migration Job: a Job's pod template is
 * immutable, so a changed grant, image or proxy becomes a new Job that runs once; an unchanged render
 * keeps the name and re-applying it is a no-op.
 */
import { createHash } from 'crypto';
import type { PlatformModel } from '../../model';
import { Construct } from 'constructs';
import type { Config } from '../../config/schema';
import { cloudSqlMajor, POSTGRES_IMAGES, POSTGRES_UID } from '../../config/schema/postgres-image';
import { imageTag, type Resources } from '../../config/schema/primitives';
import * as kube from '../../imports/k8s-1.31';
import { EXTERNAL_SECRETS_ANNOTATION } from '../../common/contract';
import { proxyVersionOf, Version } from '../../common/cloud-sql-proxy-flags';
import { cloudSqlProxyContainer } from '../lib/cloud-sql-proxy';
import { appLabels, selectorLabels } from '../lib/labels';
import { googleApisEgress } from '../lib/network-policy';
import { restrictedContainer, restrictedPodSpec } from '../lib/pod';
import { scriptFile } from '../lib/script-files';
import { PORTS } from '../../common/contract';

export const GRANT_SQL = 'charts/mlflow/cloudsql-grant.sql';
const GRANT_SCRIPT = 'charts/mlflow/cloudsql-grant.sh';
/** Where the ConfigMap with both files is mounted. */
export const GRANT_DIR = '/etc/mlflow-gke/grant';

/**
 * psql of the Cloud SQL instance's major: `database.cloudsql.clientImage`, by default the official
 * postgres image of that major from the one table of PostgreSQL images (config/schema/postgres-image.ts),
 * run as that image's postgres user.
 */
export function psqlImage(cloudsql: Config['database']['cloudsql']): string {
  return cloudsql.clientImage ?? POSTGRES_IMAGES[cloudSqlMajor(cloudsql.version)];
}
export const PSQL_UID = POSTGRES_UID;

/** How long one pod waits for the instance, the admin's password and the IAM user. */
export const GRANT_WAIT_SECONDS = 2700;
const GRANT_DEADLINE_SECONDS = 3600;

export interface CloudSqlGrantJobProps {
  /** Environment name (instance label). */
  readonly instance: string;
  /** The MLflow name: the objects are `<name>-sql-grant...`, labelled as part of it. */
  readonly name: string;
  /** Image with psql, at the instance's major version. */
  readonly image: string;
  readonly serviceAccount: { readonly name: string; readonly gcpServiceAccount: string };
  readonly database: string;
  /** The built-in admin user, and the Secret (in the Job's namespace) and key of its password. */
  readonly admin: { readonly user: string; readonly passwordSecret: { readonly name: string; readonly key: string } };
  /** The server's IAM database user. */
  readonly iamUser: string;
  /** The migration Job's IAM database user: a member of the owner role. */
  readonly migrateIamUser: string;
  /** gc's IAM database user: a member of the writer role, like the server's. */
  readonly gcIamUser: string;
  /** The NOLOGIN roles it creates: the tables' owner, and the role with DML on them. */
  readonly roles: { readonly owner: string; readonly writer: string };
  readonly proxy: {
    readonly connectionName: string;
    readonly image: string;
    readonly version: Version;
    readonly resources: Resources;
    readonly extraArgs: readonly string[];
  };
  /** Private services access range, where the instance's private IP lives. */
  readonly privateServicesCidr: string;
  /** The cluster's own ranges, which the rule to Google APIs excludes. */
  readonly clusterRanges: readonly string[];
  /**
   * Seconds each pod waits for the database before it fails.
   * @default GRANT_WAIT_SECONDS
   */
  readonly waitSeconds?: number;
}

export function cloudSqlGrantJobProps(model: PlatformModel): CloudSqlGrantJobProps {
  const { config, names } = model;
  const sa = names.serviceAccounts.sqlGrant;
  const proxyImage = config.mlflow.cloudSqlProxy.image;
  const version = proxyVersionOf(imageTag(proxyImage));
  // The schema refuses a proxy image without a version tag: an invariant here.
  if (!version) throw new Error(`CloudSqlGrantJob: proxy image "${proxyImage}" has no version tag`);
  return {
    instance: config.environment,
    name: names.mlflow,
    image: psqlImage(config.database.cloudsql),
    serviceAccount: { name: sa.kubernetes!.name, gcpServiceAccount: sa.email },
    database: names.cloudSql.database,
    admin: { user: names.cloudSql.adminUser, passwordSecret: { name: config.database.cloudsql.adminSecret, key: 'password' } },
    iamUser: names.cloudSql.iamUser,
    migrateIamUser: names.cloudSql.migrateIamUser,
    gcIamUser: names.cloudSql.gcIamUser,
    roles: names.cloudSql.roles,
    proxy: {
      connectionName: names.cloudSql.connectionName,
      image: proxyImage,
      version,
      resources: config.mlflow.cloudSqlProxy.resources,
      extraArgs: config.mlflow.cloudSqlProxy.extraArgs,
    },
    privateServicesCidr: config.network.privateServicesCidr,
    clusterRanges: model.ranges.cluster,
  };
}

/** psql does little: a small, fixed budget. */
const PSQL_RESOURCES: Resources = { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '500m', memory: '128Mi' } };

export class CloudSqlGrantJob extends Construct {
  /** Name of the rendered Job, with its content hash. */
  readonly jobName: string;

  constructor(scope: Construct, id: string, props: CloudSqlGrantJobProps) {
    super(scope, id);
    const base = `${props.name}-sql-grant`;
    const labels = appLabels({ name: props.name, instance: props.instance, component: 'sql-grant', version: imageTag(props.image) });
    const selector = selectorLabels({ name: props.name, instance: props.instance, component: 'sql-grant' });
    const files = { 'cloudsql-grant.sql': scriptFile(GRANT_SQL), 'cloudsql-grant.sh': scriptFile(GRANT_SCRIPT) };

    new kube.KubeServiceAccount(this, 'service-account', {
      metadata: { name: props.serviceAccount.name, labels, annotations: { 'iam.gke.io/gcp-service-account': props.serviceAccount.gcpServiceAccount } },
      automountServiceAccountToken: false,
    });

    const psql = restrictedContainer({
      name: 'grant',
      image: props.image,
      command: ['bash', `${GRANT_DIR}/cloudsql-grant.sh`],
      runAsUser: PSQL_UID,
      runAsGroup: PSQL_UID,
      resources: PSQL_RESOURCES,
      env: [
        { name: 'PGHOST', value: '127.0.0.1' },
        { name: 'PGPORT', value: String(PORTS.postgres) },
        { name: 'PGDATABASE', value: props.database },
        { name: 'PGUSER', value: props.admin.user },
        { name: 'PGPASSWORD', valueFrom: { secretKeyRef: { name: props.admin.passwordSecret.name, key: props.admin.passwordSecret.key } } },
        // The proxy encrypts to the instance; the hop to it stays inside the pod.
        { name: 'PGSSLMODE', value: 'disable' },
        { name: 'PGCONNECT_TIMEOUT', value: '10' },
        { name: 'IAM_USER', value: props.iamUser },
        { name: 'MIGRATE_IAM_USER', value: props.migrateIamUser },
        { name: 'GC_IAM_USER', value: props.gcIamUser },
        { name: 'OWNER_ROLE', value: props.roles.owner },
        { name: 'WRITER_ROLE', value: props.roles.writer },
        { name: 'GRANT_SQL_FILE', value: `${GRANT_DIR}/cloudsql-grant.sql` },
        { name: 'WAIT_SECONDS', value: String(props.waitSeconds ?? GRANT_WAIT_SECONDS) },
        { name: 'HOME', value: '/tmp' },
        { name: 'TMPDIR', value: '/tmp' },
      ],
      volumeMounts: [
        { name: 'grant', mountPath: GRANT_DIR, readOnly: true },
        { name: 'tmp', mountPath: '/tmp' },
      ],
    });
    const proxy = cloudSqlProxyContainer({
      image: props.proxy.image,
      resources: props.proxy.resources,
      connectionName: props.proxy.connectionName,
      version: props.proxy.version,
      maxSigtermDelaySeconds: 10,
      // A password login: with --auto-iam-authn the proxy would turn it into an IAM login of this
      // pod's Google service account, which is no database user.
      autoIamAuthn: false,
      extraArgs: props.proxy.extraArgs,
    });
    const spec: kube.JobSpec = {
      backoffLimit: 3,
      activeDeadlineSeconds: GRANT_DEADLINE_SECONDS,
      template: {
        metadata: { labels },
        spec: restrictedPodSpec({
          restartPolicy: 'Never',
          serviceAccountName: props.serviceAccount.name,
          sidecars: [proxy],
          containers: [psql],
          volumes: [
            { name: 'grant', configMap: { name: base, defaultMode: 0o444 } },
            { name: 'tmp', emptyDir: { sizeLimit: kube.Quantity.fromString('64Mi') } },
          ],
        }),
      },
    };
    // The files are part of what runs, so they are part of the hash.
    this.jobName = `${base}-${createHash('sha256').update(JSON.stringify({ files, spec })).digest('hex').slice(0, 8)}`;

    new kube.KubeConfigMap(this, 'files', { metadata: { name: base, labels }, data: files });
    new kube.KubeJob(this, 'job', {
      metadata: {
        name: this.jobName,
        labels,
        annotations: {
          'mlflow-gke/purpose':
            "Creates MLflow's owner and writer database roles and grants them to the migration's, the server's and gc's IAM users, once per change, then replaces the admin's password with one nothing keeps; the migration waits for it.",
          // The admin's password, created out of band in this namespace too.
          [EXTERNAL_SECRETS_ANNOTATION]: props.admin.passwordSecret.name,
        },
      },
      spec,
    });

    new kube.KubeNetworkPolicy(this, 'egress', {
      metadata: { name: `${base}-egress`, labels },
      spec: {
        podSelector: { matchLabels: selector },
        policyTypes: ['Egress'],
        egress: [
          // The proxy to the instance's private IP, on Cloud SQL's server-side proxy port.
          { to: [{ ipBlock: { cidr: props.privateServicesCidr } }], ports: [{ protocol: 'TCP', port: kube.IntOrString.fromNumber(PORTS.cloudSqlServer) }] },
          // Its certificates and the instance's address: the metadata server, then the Cloud SQL Admin API.
          ...googleApisEgress(props.clusterRanges),
        ],
      },
    });
  }
}
