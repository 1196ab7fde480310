/**
 * The Google APIs the platform uses, and the Cloud SQL service agent, which must exist (and hold the
 * key grant) before a CMEK instance can be created.
 */
import { Construct } from 'constructs';
import { Service, ServiceIdentity } from '../../imports/serviceusage.cnrm.cloud.google.com';
import { GcpScope, kccMetadata } from './common';

/** APIs every deployment needs, whatever the database mode. */
export const BASE_APIS: readonly string[] = [
  'cloudkms.googleapis.com',
  'cloudresourcemanager.googleapis.com',
  'compute.googleapis.com',
  'container.googleapis.com',
  'iam.googleapis.com',
  'iamcredentials.googleapis.com',
  'iap.googleapis.com',
  'logging.googleapis.com',
  'monitoring.googleapis.com',
  'storage.googleapis.com',
  'sts.googleapis.com',
];

/** APIs of the Cloud SQL database mode (the instance and its private services access). */
export const CLOUD_SQL_APIS: readonly string[] = ['servicenetworking.googleapis.com', 'sqladmin.googleapis.com'];

export const SQL_SERVICE_IDENTITY = 'sqladmin.googleapis.com';

export interface ApisProps {
  readonly scope: GcpScope;
  /** API names, e.g. `compute.googleapis.com`. */
  readonly apis: readonly string[];
  /**
   * Create the Cloud SQL service agent through a ServiceIdentity.
   * @default false
   */
  readonly cloudSqlServiceIdentity?: boolean;
}

export class Apis extends Construct {
  constructor(scope: Construct, id: string, props: ApisProps) {
    super(scope, id);
    const s = props.scope;
    // Disabling an API deletes what it holds, so a removed Service object must leave the API on.
    for (const api of [...props.apis].sort()) {
      new Service(this, api, {
        metadata: kccMetadata(s, api, { stateful: true }),
        spec: { projectRef: { external: s.project } },
      });
    }
    if (props.cloudSqlServiceIdentity ?? false) {
      new ServiceIdentity(this, 'sql-service-identity', {
        metadata: kccMetadata(s, SQL_SERVICE_IDENTITY, { stateful: true }),
        spec: { projectRef: { external: s.project } },
      });
    }
  }
}
