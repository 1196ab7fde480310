/**
 * Audit and platform logs: data-access audit logs for the services that hold the platform's data
 * and keys, and a log bucket with its own retention that receives the platform's logs.
 */
import { Construct } from 'constructs';
import { IamAuditConfig } from '../../imports/iam.cnrm.cloud.google.com';
import { LoggingLogBucket, LoggingLogSink } from '../../imports/logging.cnrm.cloud.google.com';
import { GcpScope, kccMetadata } from './common';

/** Services whose reads and writes of data are logged. */
export const AUDITED_SERVICES: readonly { readonly slug: string; readonly service: string }[] = [
  { slug: 'storage', service: 'storage.googleapis.com' },
  { slug: 'cloudsql', service: 'sqladmin.googleapis.com' },
  { slug: 'cloudkms', service: 'cloudkms.googleapis.com' },
];

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
        description: 'Logs of the MLflow platform workloads and its Cloud SQL instance',
      },
    });
    const namespaces = props.namespaces.map((n) => `"${n}"`).join(' OR ');
    new LoggingLogSink(this, 'log-sink', {
      metadata: kccMetadata(s, `${props.prefix}mlflow-platform-logs`),
      spec: {
        projectRef: { external: s.project },
        destination: { loggingLogBucketRef: { name: bucket.name } },
        filter: [
          `(resource.type="k8s_container" AND resource.labels.cluster_name="${props.clusterName}" AND resource.labels.namespace_name=(${namespaces}))`,
          'resource.type="cloudsql_database"',
        ].join(' OR '),
        uniqueWriterIdentity: true,
        description: 'Routes the platform logs to their own bucket and retention',
      },
    });
  }
}
