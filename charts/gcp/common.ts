/**
 * What every Config Connector object of the gcp chart shares: its namespace, the annotations that
 * pin the project and keep Config Connector from writing observed values back into the spec, and
 * the protection of stateful objects (docs/design.md, "Nothing is lost").
 */
import type { ApiObjectMetadata } from 'cdk8s';
import { FLUX_PRUNE_ANNOTATION } from '../../common/contract';

export const ANNOTATIONS = {
  projectId: 'cnrm.cloud.google.com/project-id',
  stateIntoSpec: 'cnrm.cloud.google.com/state-into-spec',
  deletionPolicy: 'cnrm.cloud.google.com/deletion-policy',
  fluxPrune: FLUX_PRUNE_ANNOTATION,
  removeDefaultNodePool: 'cnrm.cloud.google.com/remove-default-node-pool',
  forceDestroy: 'cnrm.cloud.google.com/force-destroy',
} as const;

/** The project and place every object of the chart belongs to. */
export interface GcpScope {
  /** Project id. */
  readonly project: string;
  /** Project number: the service agents' emails derive from it. */
  readonly projectNumber: string;
  readonly region: string;
  /** Namespace of the Config Connector objects. */
  readonly namespace: string;
}

export interface KccMetadataOptions {
  /**
   * The GCP resource holds data or is hard to recreate (a key, a bucket, a database, the cluster):
   * deleting the Kubernetes object leaves it in place and Flux never prunes it.
   * @default false
   */
  readonly stateful?: boolean;
  /** Extra annotations. @default - none */
  readonly annotations?: Record<string, string>;
}

/** Metadata of a Config Connector object: explicit stable name (the GCP name), namespace, annotations. */
export function kccMetadata(scope: GcpScope, name: string, options: KccMetadataOptions = {}): ApiObjectMetadata {
  return {
    name,
    namespace: scope.namespace,
    annotations: {
      [ANNOTATIONS.projectId]: scope.project,
      [ANNOTATIONS.stateIntoSpec]: 'absent',
      ...(options.stateful ? { [ANNOTATIONS.deletionPolicy]: 'abandon', [ANNOTATIONS.fluxPrune]: 'disabled' } : {}),
      ...options.annotations,
    },
  };
}

/** The service agents that use CMEK keys, derived from the project number. */
export function serviceAgents(projectNumber: string) {
  return {
    cloudSql: `service-${projectNumber}@gcp-sa-cloud-sql.iam.gserviceaccount.com`,
    storage: `service-${projectNumber}@gs-project-accounts.iam.gserviceaccount.com`,
    gke: `service-${projectNumber}@container-engine-robot.iam.gserviceaccount.com`,
    compute: `service-${projectNumber}@compute-system.iam.gserviceaccount.com`,
  };
}

/** A readable piece of an IAM role for object names: roles/cloudkms.cryptoKeyEncrypterDecrypter -> cryptokeyencrypterdecrypter. */
export function roleSlug(role: string): string {
  return role
    .replace(/^(roles|projects\/[^/]+\/roles)\//, '')
    .split('.')
    .pop()!
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-');
}

export const ENCRYPTER_DECRYPTER = 'roles/cloudkms.cryptoKeyEncrypterDecrypter';
