/**
 * Audit and platform logs: data-access audit logs for the services that hold the platform's data
 * and keys, and a log bucket with its own retention that receives the platform's logs and those
 * audit logs.
 */
import { Construct } from 'constructs';
import { IamAuditConfig } from '../../imports/iam.cnrm.cloud.google.com';
import { LoggingLogBucket, LoggingLogSink } from '../../imports/logging.cnrm.cloud.google.com';
import { GcpScope, kccMetadata } from './common';

/**
 * Services whose reads and writes of data are logged, by the service name their audit logs carry
 * (the name an audit config must use). Cloud SQL's is `cloudsql.googleapis.com`, not the API name
 * `sqladmin.googleapis.com` (cloud.google.com/sql/docs/audit-logging, "Service name"): an
 * audit config for the API name enables nothing.
 */
const AUDITED_SERVICES: readonly { readonly slug: string; readonly service: string }[] = [
  { slug: 'storage', service: 'storage.googleapis.com' },
  { slug: 'cloudsql', service: 'cloudsql.googleapis.com' },
  { slug: 'cloudkms', service: 'cloudkms.googleapis.com' },
  // Who passed or was refused by IAP on the way to MLflow and the workspaces (and any IAP TCP tunnel
  // of the project). IAP's audit service name is iap.googleapis.com; its ADMIN_READ, DATA_READ and
  // DATA_WRITE methods write Data Access audit logs, ADMIN_WRITE ones Admin Activity logs, which are
  // always on (cloud.google.com/iap/docs/audit-log-howto, "Service name", "Methods by permission
  // type"). The three configurable types below are the whole AuditLogConfig.LogType enum besides
  // LOG_TYPE_UNSPECIFIED (google.iam.v1.AuditLogConfig).
  { slug: 'iap', service: 'iap.googleapis.com' },
];

/**
 * The log of data-access audit entries, as a `logName` filter term. Audit logs are named
 * `projects/PROJECT_ID/logs/cloudaudit.googleapis.com%2Fdata_access` (cloud.google.com/logging/docs/audit,
 * "Log name").
 */
function dataAccessLogName(project: string): string {
  return `projects/${project}/logs/cloudaudit.googleapis.com%2Fdata_access`;
}

export interface PlatformLoggingProps {
  readonly scope: GcpScope;
  /** Prefix of the object names. */
  readonly prefix: string;
  readonly retentionDays: number;
  /** Namespaces whose container logs go to the platform bucket. */
  readonly namespaces: readonly string[];
  readonly clusterName: string;
}

export class PlatformLogging extends Construct {
  constructor(scope: Construct, id: string, props: PlatformLoggingProps) {
    super(scope, id);
    const s = props.scope;
    for (const a of AUDITED_SERVICES) {
      new IamAuditConfig(this, `audit-${a.slug}`, {
        metadata: kccMetadata(s, `${props.prefix}audit-${a.slug}`),
        spec: {
          resourceRef: { kind: 'Project', external: `projects/${s.project}` },
          service: a.service,
          auditLogConfigs: [{ logType: 'ADMIN_READ' }, { logType: 'DATA_READ' }, { logType: 'DATA_WRITE' }],
        },
      });
    }
    // Logs are evidence: the bucket outlives the object.
    const bucket = new LoggingLogBucket(this, 'log-bucket', {
      metadata: kccMetadata(s, `${props.prefix}mlflow-platform-logs`, { stateful: true }),
      spec: {
        projectRef: { external: s.project },
        location: s.region,
        retentionDays: props.retentionDays,
        description: 'Logs of the MLflow platform workloads, its Cloud SQL instance and the data-access audit logs',
      },
    });
    const namespaces = props.namespaces.map((n) => `"${n}"`).join(' OR ');
    const audited = AUDITED_SERVICES.map((a) => `"${a.service}"`).join(' OR ');
    // Data-access audit logs land in the _Default bucket (30 days) unless a sink routes them: this one
    // copies them to the platform bucket. Admin Activity logs stay in _Required (400 days) anyway.
    // The _Default sink keeps its copy on purpose (docs/gcp.md, "Logs and retention").
    new LoggingLogSink(this, 'log-sink', {
      metadata: kccMetadata(s, `${props.prefix}mlflow-platform-logs`),
      spec: {
        projectRef: { external: s.project },
        destination: { loggingLogBucketRef: { name: bucket.name } },
        filter: [
          `(resource.type="k8s_container" AND resource.labels.cluster_name="${props.clusterName}" AND resource.labels.namespace_name=(${namespaces}))`,
          'resource.type="cloudsql_database"',
          `(logName="${dataAccessLogName(s.project)}" AND protoPayload.serviceName=(${audited}))`,
        ].join(' OR '),
        uniqueWriterIdentity: true,
        description: 'Routes the platform logs and the data-access audit logs to their own bucket and retention',
      },
    });
  }
}
