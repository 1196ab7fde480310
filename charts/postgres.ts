/**
 * The in-cluster PostgreSQL of database mode `statefulset`: one StatefulSet of the official image on a
 * CMEK-encrypted Persistent Disk that outlives every delete, pg_isready probes, a metrics exporter,
 * a nightly pg_dump to its own backup bucket through Workload Identity, and NetworkPolicies that admit
 * only MLflow and the backup pods. Operator guide: docs/postgres.md.
 *
 * The StatefulSet and the backup CronJob are built with the restricted helpers of charts/lib/pod.ts.
 */
import { Construct } from 'constructs';
import type { PlatformModel } from '../model';
import { durationSeconds, imageTag, type Resources } from '../config/schema/primitives';
import * as kube from '../imports/k8s-1.31';
import { PodMonitoring, PodMonitoringSpecEndpointsPort } from '../imports/monitoring.googleapis.com';
import { appLabels, selectorLabels } from './lib/labels';
import { CmekStorageClass } from './lib/cmek-storage-class';
import { googleApisEgress } from './lib/network-policy';
import { PlatformChart } from './lib/platform-chart';
import { RestrictedContainer, restrictedContainer, restrictedPodSpec } from './lib/pod';
import { bashScript, scriptFile } from './lib/script-files';
import { DB_FIXED_ROLES, DB_SECRET_KEYS, PORTS, PRUNE_DISABLED } from '../common/contract';
import { postgresImageProblem, postgresMajor } from '../config/schema/postgres-image';
import { CA_BUNDLE_FILE, caBundleMount, caBundleVolume } from './certificates/ca-bundle';
import { serverCertificateVolume } from './certificates/server-certificate';

/** Port of PostgreSQL and of its Services. */
/** Port of the exporter's /metrics. */
/** uid/gid of the `postgres` user of the official Debian image; owns PGDATA. */
export const POSTGRES_UID = 999;
/** `nobody`, the user of the exporter image. */
const EXPORTER_UID = 65534;
/** Any non-root uid works for the Cloud CLI once HOME and its config directory are writable. */
export const UPLOADER_UID = 1000;
/** Superuser created by the image's first start; pg_hba.conf admits it on the pod's socket only (operators, the tls-reload sidecar). */
export const SUPERUSER = DB_FIXED_ROLES.superuser;
/**
 * Role of the metrics exporter, created by charts/postgres/init-monitoring-role.sh: a member of
 * pg_monitor, admitted by pg_hba.conf from the pod's loopback to the `postgres` database only.
 */
export const MONITORING_ROLE = DB_FIXED_ROLES.monitoring;
/** Keys of the credentials Secret. */
/** Where the claim is mounted; PGDATA is a subdirectory because the disk's root holds lost+found. */
export const DATA_MOUNT = '/var/lib/postgresql/data';
export const PGDATA = `${DATA_MOUNT}/pgdata`;
/** The fast-shutdown checkpoint of a busy database needs more than the default 30 s. */
export const TERMINATION_GRACE_SECONDS = 120;
/** Google Cloud Managed Service for Prometheus collectors. */
const GMP_COLLECTOR = { namespace: 'gmp-system', labels: { 'app.kubernetes.io/name': 'collector' } };
/** Pod components of the backup CronJob and the restore Job (dist/tests). */
const BACKUP_COMPONENTS = ['backup', 'restore'] as const;
/** Scripts of this chart and of the restore chart, by path from the project root; inlined at synth. */
export const SCRIPT_FILES = {
  /** Sourced by the image's entrypoint on the first start. */
  init: 'charts/postgres/init-mlflow-role.sh',
  /** Sourced after it on the first start; idempotent, run by hand on an older database (docs/postgres.md). */
  initMonitoring: 'charts/postgres/init-monitoring-role.sh',
  /** Backup step 1: pg_dump and a full read-back. */
  dump: 'charts/postgres/dump.sh',
  /** Backup step 2 (`upload`) and restore step 1 (`download`): the bucket. */
  storage: 'charts/postgres/storage.sh',
  /** Restore step 2: pg_restore in one transaction. */
  restore: 'charts/postgres/restore.sh',
  /** The tls-reload sidecar: a configuration reload when the certificate changes. */
  reloadTls: 'charts/postgres/reload-tls.sh',
  /** Client authentication: the superuser on the socket only, TLS for every TCP connection from outside the pod. */
  hba: 'charts/postgres/pg_hba.conf',
} as const;
/** Name of the monitoring role's init file in the init ConfigMap: the entrypoint runs the files in name order. */
export const MONITORING_INIT_FILE = '20-monitoring-role.sh';
/** Where the server's certificate Secret and the configuration ConfigMap are mounted. */
export const TLS_DIR = '/etc/postgres/tls';
export const CONFIG_DIR = '/etc/postgres/config';
/** Connection of every client outside the pod: TLS, the certificate checked against the CA and the host name. */
const CLIENT_SSLMODE = 'verify-full';
/** Stateful objects that Flux must never prune (docs/design.md, "Nothing is lost"). */
/** A shell loop that hashes one file a minute and, rarely, runs psql. */
const TLS_RELOAD_RESOURCES = { requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '100m', memory: '64Mi' } };

export interface BackupProps {
  /** Five-field cron schedule, evaluated in UTC. */
  readonly schedule: string;
  /** Google Cloud CLI image that uploads the dump. */
  readonly uploaderImage: string;
  /** Seconds after which a backup Job is stopped and marked failed. */
  readonly deadlineSeconds: number;
  /** Size limit of the scratch volume that holds the dump. */
  readonly scratchSize: string;
  readonly resources: Resources;
  readonly bucket: string;
  /** Object prefix inside the bucket, without a trailing slash (starts with `backups/`). */
  readonly objectPrefix: string;
  /** Kubernetes ServiceAccount bound to `googleServiceAccount` through Workload Identity. */
  readonly serviceAccount: string;
  readonly googleServiceAccount: string;
  readonly project: string;
}

export interface PostgresChartProps {
  /** Environment name (instance label). */
  readonly instance: string;
  /** Namespace of every namespaced object. */
  readonly namespace: string;
  /** Name of the StatefulSet, its client Service and its claim template. */
  readonly name: string;
  /** Cluster-scoped StorageClass of the data disk. */
  readonly storageClassName: string;
  /** Full resource path of the Cloud KMS key that encrypts the data disk. */
  readonly kmsKey: string;
  readonly diskType: 'pd-balanced' | 'pd-ssd';
  /**
   * Replicate the disk to a second zone.
   * @default false
   */
  readonly regionalDisk?: boolean;
  readonly image: string;
  readonly storageSize: string;
  readonly resources: Resources;
  /** max_connections: the limit the config rule checks MLflow's worst case against (model/connection-budget.ts). */
  readonly maxConnections: number;
  /** Secret holding `postgres-password`, `mlflow-password` and `monitoring-password`. */
  readonly credentialsSecret: string;
  /** Database and role of MLflow. */
  readonly database: string;
  readonly user: string;
  readonly exporter: { readonly image: string; readonly resources: Resources };
  readonly backup: BackupProps;
  /** `app.kubernetes.io/name` of the MLflow pods (server, migration, gc) that may connect. */
  readonly clientAppName: string;
  /** The cluster's own ranges, which the backup pods' internet rule excludes (charts/lib/network-policy.ts). */
  readonly clusterRanges: readonly string[];
  /** The server's certificate Secret (charts/certificates.ts) and the CA bundle ConfigMap its clients mount. */
  readonly tls: { readonly secretName: string; readonly caBundleConfigMap: string };
}

/**
 * The in-cluster database's backup as every pod that dumps or restores it sees it (the backup
 * CronJob, the restore Job, the MLflow migration's backup gate), from the model.
 */
export function postgresBackupOf(model: PlatformModel): PostgresBackupProps {
  const { config, names } = model;
  const db = config.database.statefulset;
  const backupKsa = names.serviceAccounts.dbBackup.kubernetes;
  if (!backupKsa) throw new Error('names.serviceAccounts.dbBackup has no Kubernetes service account');
  return {
    instance: config.environment,
    namespace: names.namespaces.platform,
    dbName: names.mlflowDb,
    image: db.image,
    credentialsSecret: db.credentialsSecret,
    database: config.database.name,
    user: db.user,
    backup: {
      schedule: db.backupSchedule,
      uploaderImage: db.backup.uploaderImage,
      deadlineSeconds: durationSeconds(db.backup.deadline),
      scratchSize: db.backup.scratchSize,
      resources: db.backup.resources,
      bucket: names.backupBucket,
      objectPrefix: `${names.backupPrefix}${names.mlflowDb}/${config.database.name}`,
      serviceAccount: backupKsa.name,
      googleServiceAccount: names.serviceAccounts.dbBackup.email,
      project: config.project.id,
    },
    caBundleConfigMap: names.tls.caBundle,
  };
}

export function postgresChartProps(model: PlatformModel): PostgresChartProps {
  const { config, names } = model;
  const db = config.database.statefulset;
  checkImage(db.image);
  return {
    instance: config.environment,
    namespace: names.namespaces.platform,
    name: names.mlflowDb,
    storageClassName: `${names.mlflowDb}-cmek`,
    kmsKey: names.kms.keyPath('disk'),
    diskType: db.diskType,
    regionalDisk: db.regionalDisk,
    image: db.image,
    storageSize: db.storageSize,
    resources: db.resources,
    maxConnections: db.maxConnections,
    credentialsSecret: db.credentialsSecret,
    database: config.database.name,
    user: db.user,
    exporter: db.exporter,
    backup: postgresBackupOf(model).backup,
    clientAppName: names.mlflow,
    clusterRanges: model.ranges.cluster,
    tls: { secretName: names.tls.db, caBundleConfigMap: names.tls.caBundle },
  };
}

/** The PostgreSQL major of the image; the schema has refused every image without a supported one. */
export function checkImage(image: string): number {
  const major = postgresMajor(image);
  if (major === undefined || postgresImageProblem(image)) throw new Error(`PostgresChart: image "${image}" passed the schema without a supported major`);
  return major;
}

export class PostgresChart extends PlatformChart {
  constructor(scope: Construct, id: string, props: PostgresChartProps) {
    // No chart namespace: the StorageClass is cluster-scoped; namespaced objects set theirs.
    super(scope, id, { instance: props.instance });
    const ns = props.namespace;
    const version = imageTag(props.image);
    const dbSelector = selectorLabels({ name: props.name, instance: props.instance, component: 'database' });
    const dbLabels = appLabels({ name: props.name, instance: props.instance, component: 'database', version });

    const storageClass = new CmekStorageClass(this, 'storage-class', {
      name: props.storageClassName,
      labels: dbLabels,
      kmsKey: props.kmsKey,
      diskType: props.diskType,
      regionalDisk: props.regionalDisk,
    }).storageClass;

    new kube.KubeServiceAccount(this, 'service-account', {
      metadata: { name: props.name, namespace: ns, labels: dbLabels },
      automountServiceAccountToken: false,
    });

    const initScript = new kube.KubeConfigMap(this, 'init-script', {
      metadata: { name: `${props.name}-init`, namespace: ns, labels: dbLabels },
      data: { '10-mlflow-role.sh': scriptFile(SCRIPT_FILES.init), [MONITORING_INIT_FILE]: scriptFile(SCRIPT_FILES.initMonitoring) },
    });
    const serverConfig = new kube.KubeConfigMap(this, 'config', {
      metadata: { name: `${props.name}-config`, namespace: ns, labels: dbLabels },
      data: { 'pg_hba.conf': scriptFile(SCRIPT_FILES.hba) },
    });

    new kube.KubeService(this, 'headless-service', {
      metadata: { name: `${props.name}-headless`, namespace: ns, labels: dbLabels },
      spec: {
        clusterIp: 'None',
        // The StatefulSet's stable pod DNS names exist before the pod is ready.
        publishNotReadyAddresses: true,
        selector: dbSelector,
        ports: [{ name: 'postgres', port: PORTS.postgres, targetPort: kube.IntOrString.fromString('postgres'), protocol: 'TCP' }],
      },
    });

    new kube.KubeService(this, 'service', {
      metadata: { name: props.name, namespace: ns, labels: dbLabels },
      spec: {
        type: 'ClusterIP',
        selector: dbSelector,
        ports: [{ name: 'postgres', port: PORTS.postgres, targetPort: kube.IntOrString.fromString('postgres'), protocol: 'TCP' }],
      },
    });

    const statefulSet = new kube.KubeStatefulSet(this, 'statefulset', {
      metadata: { name: props.name, namespace: ns, labels: dbLabels },
      spec: {
        // One writer: PostgreSQL has no multi-primary mode; HA is Cloud SQL's job (database mode cloudsql).
        replicas: 1,
        serviceName: `${props.name}-headless`,
        podManagementPolicy: 'OrderedReady',
        updateStrategy: { type: 'RollingUpdate' },
        selector: { matchLabels: dbSelector },
        persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
        template: {
          metadata: { labels: dbLabels },
          spec: databasePodSpec(props, { init: initScript.name, config: serverConfig.name }),
        },
        volumeClaimTemplates: [
          {
            // Only stable labels: claim templates are immutable once the StatefulSet exists.
            metadata: { name: props.name, labels: dbSelector, annotations: PRUNE_DISABLED },
            spec: {
              accessModes: ['ReadWriteOnce'],
              storageClassName: props.storageClassName,
              resources: { requests: { storage: kube.Quantity.fromString(props.storageSize) } },
            },
          },
        ],
      },
    });
    statefulSet.addDependency(storageClass);

    new PodMonitoring(this, 'pod-monitoring', {
      metadata: { name: props.name, namespace: ns, labels: dbLabels },
      spec: {
        selector: { matchLabels: dbSelector },
        endpoints: [{ port: PodMonitoringSpecEndpointsPort.fromString('metrics'), path: '/metrics', interval: '30s', timeout: '10s' }],
      },
    });

    new PostgresBackup(this, 'backup', {
      instance: props.instance,
      namespace: ns,
      dbName: props.name,
      image: props.image,
      credentialsSecret: props.credentialsSecret,
      database: props.database,
      user: props.user,
      backup: props.backup,
      caBundleConfigMap: props.tls.caBundleConfigMap,
    });

    const backupPods = backupPodSelector(props.name, props.instance);
    new kube.KubeNetworkPolicy(this, 'ingress-policy', {
      metadata: { name: `${props.name}-ingress`, namespace: ns, labels: dbLabels },
      spec: {
        podSelector: { matchLabels: dbSelector },
        policyTypes: ['Ingress'],
        ingress: [
          {
            // The MLflow server, its schema migration Job and its garbage collection, plus backup and restore.
            from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': props.clientAppName } } }, { podSelector: backupPods }],
            ports: [{ protocol: 'TCP', port: kube.IntOrString.fromNumber(PORTS.postgres) }],
          },
          {
            from: [
              {
                namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': GMP_COLLECTOR.namespace } },
                podSelector: { matchLabels: GMP_COLLECTOR.labels },
              },
            ],
            ports: [{ protocol: 'TCP', port: kube.IntOrString.fromNumber(PORTS.postgresExporter) }],
          },
        ],
      },
    });

    new kube.KubeNetworkPolicy(this, 'backup-egress-policy', {
      metadata: { name: `${props.name}-backup-egress`, namespace: ns, labels: dbLabels },
      spec: {
        podSelector: backupPods,
        policyTypes: ['Egress'],
        egress: [
          { to: [{ podSelector: { matchLabels: dbSelector } }], ports: [{ protocol: 'TCP', port: kube.IntOrString.fromNumber(PORTS.postgres) }] },
          ...googleApisEgress(props.clusterRanges),
        ],
      },
    });
  }
}

/**
 * The database pod: the server (the image's entrypoint with TLS and the hba file from the first
 * start), the certificate-reload sidecar, and the metrics exporter, with pg_isready probes.
 */
function databasePodSpec(props: PostgresChartProps, configMaps: { readonly init: string; readonly config: string }): kube.PodSpec {
  const secretEnv = (name: string, key: string): kube.EnvVar => ({
    name,
    valueFrom: { secretKeyRef: { name: props.credentialsSecret, key } },
  });
  // Both probes ask the postmaster whether it accepts connections; pg_isready needs no password. They
  // name the monitoring role, which pg_hba.conf admits on loopback and the socket: the superuser would be
  // rejected over TCP, and every probe would log that refusal.
  const isReady = (host: string, timeout: number) => ({
    exec: {
      command: [
        'pg_isready',
        '--quiet',
        `--host=${host}`,
        `--port=${PORTS.postgres}`,
        `--username=${MONITORING_ROLE}`,
        `--dbname=${SUPERUSER}`,
        `--timeout=${timeout}`,
      ],
    },
  });

  return restrictedPodSpec({
    serviceAccountName: props.name,
    enableServiceLinks: false,
    terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
    runAsUser: POSTGRES_UID,
    runAsGroup: POSTGRES_UID,
    fsGroup: POSTGRES_UID,
    // A recursive chown of a large data disk at every start would delay recovery.
    fsGroupChangePolicy: 'OnRootMismatch',
    // Beside the server for the pod's whole life, stopped after it.
    sidecars: [
      restrictedContainer({
        name: 'tls-reload',
        image: props.image,
        ...bashScript(SCRIPT_FILES.reloadTls),
        env: [
          { name: 'TLS_CERT_FILE', value: `${TLS_DIR}/tls.crt` },
          { name: 'PGHOST', value: '/var/run/postgresql' },
          { name: 'PGUSER', value: SUPERUSER },
          { name: 'PGDATABASE', value: SUPERUSER },
          secretEnv('PGPASSWORD', DB_SECRET_KEYS.superuser),
        ],
        resources: TLS_RELOAD_RESOURCES,
        runAsUser: POSTGRES_UID,
        runAsGroup: POSTGRES_UID,
        volumeMounts: [
          { name: 'run', mountPath: '/var/run/postgresql' },
          { name: 'tls', mountPath: TLS_DIR, readOnly: true },
        ],
      }),
    ],
    containers: [
      restrictedContainer({
        name: 'postgres',
        image: props.image,
        // The image's entrypoint passes the same arguments to its first-start server too
        // (docker-library/postgres 6edb0a8 16/bookworm/docker-entrypoint.sh docker_temp_server_start),
        // so the certificate and the hba file are in force from the very first start.
        args: [
          'postgres',
          '-c',
          'password_encryption=scram-sha-256',
          // Rendered even at PostgreSQL's default: the config rule counts MLflow's connections against it.
          '-c',
          `max_connections=${props.maxConnections}`,
          '-c',
          'log_connections=on',
          '-c',
          'log_disconnections=on',
          '-c',
          'ssl=on',
          '-c',
          `ssl_cert_file=${TLS_DIR}/tls.crt`,
          '-c',
          `ssl_key_file=${TLS_DIR}/tls.key`,
          '-c',
          `hba_file=${CONFIG_DIR}/pg_hba.conf`,
        ],
        ports: [{ name: 'postgres', containerPort: PORTS.postgres, protocol: 'TCP' }],
        env: [
          { name: 'PGDATA', value: PGDATA },
          { name: 'POSTGRES_USER', value: SUPERUSER },
          secretEnv('POSTGRES_PASSWORD', DB_SECRET_KEYS.superuser),
          // scram-sha-256 for remote connections and, through initdb, for the socket and localhost too:
          // no connection to this server is trusted without a password.
          { name: 'POSTGRES_HOST_AUTH_METHOD', value: 'scram-sha-256' },
          { name: 'POSTGRES_INITDB_ARGS', value: '--auth-local=scram-sha-256 --auth-host=scram-sha-256 --data-checksums' },
          { name: 'MLFLOW_DB_USER', value: props.user },
          { name: 'MLFLOW_DB_NAME', value: props.database },
          secretEnv('MLFLOW_DB_PASSWORD', DB_SECRET_KEYS.mlflow),
          { name: 'MONITORING_DB_USER', value: MONITORING_ROLE },
          secretEnv('MONITORING_DB_PASSWORD', DB_SECRET_KEYS.monitoring),
        ],
        resources: props.resources,
        runAsUser: POSTGRES_UID,
        runAsGroup: POSTGRES_UID,
        // Crash recovery replays WAL before the server accepts connections: allow up to 10 minutes.
        startupProbe: { ...isReady('127.0.0.1', 5), periodSeconds: 10, timeoutSeconds: 6, failureThreshold: 60 },
        readinessProbe: { ...isReady('127.0.0.1', 5), periodSeconds: 10, timeoutSeconds: 6, failureThreshold: 3 },
        // Through the socket and far more patient: a busy server leaves the Service before it is restarted.
        livenessProbe: { ...isReady('/var/run/postgresql', 10), periodSeconds: 20, timeoutSeconds: 12, failureThreshold: 6 },
        volumeMounts: [
          // The claim template's name is the volume name.
          { name: props.name, mountPath: DATA_MOUNT },
          { name: 'run', mountPath: '/var/run/postgresql' },
          { name: 'tmp', mountPath: '/tmp' },
          { name: 'shm', mountPath: '/dev/shm' },
          { name: 'init', mountPath: '/docker-entrypoint-initdb.d', readOnly: true },
          // No subPath: renewed files then replace these in place (charts/postgres/reload-tls.sh).
          { name: 'tls', mountPath: TLS_DIR, readOnly: true },
          { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
        ],
      }),
      restrictedContainer({
        name: 'exporter',
        image: props.exporter.image,
        args: [`--web.listen-address=:${PORTS.postgresExporter}`, '--web.telemetry-path=/metrics'],
        ports: [{ name: 'metrics', containerPort: PORTS.postgresExporter, protocol: 'TCP' }],
        env: [
          // The monitoring role over the pod's loopback, to the `postgres` database: the one plain TCP
          // line of pg_hba.conf. The statistics views it reads are cluster-wide.
          { name: 'DATA_SOURCE_URI', value: `127.0.0.1:${PORTS.postgres}/${SUPERUSER}?sslmode=disable` },
          { name: 'DATA_SOURCE_USER', value: MONITORING_ROLE },
          secretEnv('DATA_SOURCE_PASS', DB_SECRET_KEYS.monitoring),
        ],
        resources: props.exporter.resources,
        runAsUser: EXPORTER_UID,
        runAsGroup: EXPORTER_UID,
        readinessProbe: {
          httpGet: { path: '/', port: kube.IntOrString.fromString('metrics') },
          periodSeconds: 15,
          timeoutSeconds: 5,
          failureThreshold: 3,
        },
        livenessProbe: {
          httpGet: { path: '/', port: kube.IntOrString.fromString('metrics') },
          periodSeconds: 30,
          timeoutSeconds: 5,
          failureThreshold: 5,
        },
      }),
    ],
    volumes: [
      { name: 'run', emptyDir: { sizeLimit: kube.Quantity.fromString('16Mi') } },
      { name: 'tmp', emptyDir: { sizeLimit: kube.Quantity.fromString('1Gi') } },
      // The container runtime's 64 MiB /dev/shm is too small for parallel queries.
      { name: 'shm', emptyDir: { medium: 'Memory', sizeLimit: kube.Quantity.fromString('256Mi') } },
      { name: 'init', configMap: { name: configMaps.init, defaultMode: 0o444 } },
      // PostgreSQL refuses a key that others may read: owned by root, it allows at most
      // u=rw,g=r (postgres src/backend/libpq/be-secure-common.c, check_ssl_key_file_permissions).
      // The volume's 0440 root:999 is exactly that.
      serverCertificateVolume('tls', props.tls.secretName),
      { name: 'config', configMap: { name: configMaps.config, defaultMode: 0o444 } },
    ],
  });
}

/** Selects the backup and restore pods of a database. */
function backupPodSelector(dbName: string, instance: string): kube.LabelSelector {
  return {
    matchLabels: { 'app.kubernetes.io/name': dbName, 'app.kubernetes.io/instance': instance },
    matchExpressions: [{ key: 'app.kubernetes.io/component', operator: 'In', values: [...BACKUP_COMPONENTS] }],
  };
}

export interface PostgresBackupProps {
  readonly instance: string;
  readonly namespace: string;
  /** Name of the database StatefulSet (label `app.kubernetes.io/name` of the backup pods). */
  readonly dbName: string;
  /** PostgreSQL image: pg_dump of the server's own version. */
  readonly image: string;
  readonly credentialsSecret: string;
  readonly database: string;
  readonly user: string;
  readonly backup: BackupProps;
  /** CA bundle ConfigMap: the dump and restore steps check the server's certificate against it. */
  readonly caBundleConfigMap: string;
}

/**
 * The nightly logical backup. pg_dump runs in an init container of the server's own image (a dump
 * needs a pg_dump at least as new as the server, which no Cloud CLI image ships), writes to a scratch
 * volume and checks the archive; the Cloud CLI container then uploads it with the Workload Identity
 * of the backup Google service account. Any failure fails the pod, so the Job and the CronJob's last
 * schedule show it.
 */
class PostgresBackup extends Construct {
  constructor(scope: Construct, id: string, props: PostgresBackupProps) {
    super(scope, id);
    const b = props.backup;
    const labels = appLabels({ name: props.dbName, instance: props.instance, component: 'backup', version: imageTag(props.image) });

    new kube.KubeServiceAccount(this, 'service-account', {
      metadata: {
        name: b.serviceAccount,
        namespace: props.namespace,
        labels,
        annotations: { 'iam.gke.io/gcp-service-account': b.googleServiceAccount },
      },
      // The GKE metadata server hands out Google tokens; the Kubernetes API is never called.
      automountServiceAccountToken: false,
    });

    new kube.KubeCronJob(this, 'cronjob', {
      metadata: { name: `${props.dbName}-backup`, namespace: props.namespace, labels },
      spec: {
        schedule: b.schedule,
        timeZone: 'Etc/UTC',
        concurrencyPolicy: 'Forbid',
        // A run missed by more than an hour (cluster upgrade, controller down) is skipped, not stacked.
        startingDeadlineSeconds: 3600,
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 5,
        jobTemplate: {
          metadata: { labels },
          spec: {
            backoffLimit: 2,
            activeDeadlineSeconds: b.deadlineSeconds,
            ttlSecondsAfterFinished: 7 * 86400,
            template: {
              metadata: { labels },
              spec: backupPodSpec(props, [dumpContainer(props)], [uploadContainer(props)]),
            },
          },
        },
      },
    });
  }
}

/** Environment of a PostgreSQL client connecting as the MLflow role through the client Service. */
export function clientEnv(props: PostgresBackupProps): kube.EnvVar[] {
  return [
    { name: 'PGHOST', value: `${props.dbName}.${props.namespace}.svc.cluster.local` },
    { name: 'PGPORT', value: String(PORTS.postgres) },
    { name: 'PGUSER', value: props.user },
    { name: 'PGDATABASE', value: props.database },
    { name: 'PGPASSWORD', valueFrom: { secretKeyRef: { name: props.credentialsSecret, key: DB_SECRET_KEYS.mlflow } } },
    // TLS, the server's certificate checked against the platform CA and against PGHOST (libpq
    // sslmode=verify-full: "the server host name matches the name stored in the server certificate").
    { name: 'PGSSLMODE', value: CLIENT_SSLMODE },
    { name: 'PGSSLROOTCERT', value: CA_BUNDLE_FILE },
  ];
}

/** Environment of the Cloud CLI on a read-only root filesystem, authenticated by Workload Identity. */
export function cloudCliEnv(props: PostgresBackupProps): kube.EnvVar[] {
  return [
    { name: 'HOME', value: '/tmp' },
    { name: 'CLOUDSDK_CONFIG', value: '/tmp/gcloud' },
    { name: 'CLOUDSDK_CORE_PROJECT', value: props.backup.project },
    { name: 'CLOUDSDK_CORE_DISABLE_PROMPTS', value: '1' },
    { name: 'PYTHONDONTWRITEBYTECODE', value: '1' },
    { name: 'BACKUP_PREFIX', value: `gs://${props.backup.bucket}/${props.backup.objectPrefix}` },
  ];
}

export const DUMP_FILE = '/backup/mlflow.dump';

/**
 * Command and arguments that run a script file with bash. `$0` is the file's name, so its messages
 * name it; `args` become `$1...`.
 */

function dumpContainer(props: PostgresBackupProps): RestrictedContainer {
  return restrictedContainer({
    name: 'dump',
    image: props.image,
    ...bashScript(SCRIPT_FILES.dump),
    env: [...clientEnv(props), { name: 'DUMP_FILE', value: DUMP_FILE }],
    resources: props.backup.resources,
    runAsUser: POSTGRES_UID,
    runAsGroup: POSTGRES_UID,
    volumeMounts: clientMounts(),
  });
}

function uploadContainer(props: PostgresBackupProps): RestrictedContainer {
  return restrictedContainer({
    name: 'upload',
    image: props.backup.uploaderImage,
    ...bashScript(SCRIPT_FILES.storage, 'upload'),
    env: [...cloudCliEnv(props), { name: 'DUMP_FILE', value: DUMP_FILE }],
    resources: props.backup.resources,
    runAsUser: UPLOADER_UID,
    runAsGroup: UPLOADER_UID,
    volumeMounts: scratchMounts(),
  });
}

export function scratchMounts(): kube.VolumeMount[] {
  return [
    { name: 'backup', mountPath: '/backup' },
    { name: 'tmp', mountPath: '/tmp' },
  ];
}

/** Mounts of a container that connects to the database: the scratch volume and the CA bundle. */
export function clientMounts(): kube.VolumeMount[] {
  return [...scratchMounts(), caBundleMount()];
}

/** Pod spec shared by the backup CronJob and the restore Job: each container brings its own user. */
export function backupPodSpec(props: PostgresBackupProps, initContainers: RestrictedContainer[], containers: RestrictedContainer[]): kube.PodSpec {
  return restrictedPodSpec({
    serviceAccountName: props.backup.serviceAccount,
    enableServiceLinks: false,
    // A failed container fails the pod, and the Job counts it: the failure shows in the Job status.
    restartPolicy: 'Never',
    fsGroup: POSTGRES_UID,
    initContainers,
    containers,
    volumes: [
      { name: 'backup', emptyDir: { sizeLimit: kube.Quantity.fromString(props.backup.scratchSize) } },
      { name: 'tmp', emptyDir: { sizeLimit: kube.Quantity.fromString('1Gi') } },
      caBundleVolume(props.caBundleConfigMap),
    ],
  });
}
