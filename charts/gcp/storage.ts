/**
 * The MLflow artifact bucket: private (uniform access, public access prevention), versioned with
 * soft delete, encrypted with its own key, readable only by the service accounts that need it. And
 * the backup bucket of the in-cluster database (statefulset mode): the same protections, plus a
 * retention policy, and no grant to the MLflow server.
 */
import { Construct } from 'constructs';
import { IamPolicyMember } from '../../imports/iam.cnrm.cloud.google.com';
import { StorageBucket, StorageBucketSpecLifecycleRule } from '../../imports/storage.cnrm.cloud.google.com';
import { ANNOTATIONS, GcpScope, kccMetadata, roleSlug } from './common';

export interface BucketAccess {
  /** Name of the IAMServiceAccount object that gets the role. */
  readonly serviceAccount: string;
  /** Bucket-level role, e.g. `roles/storage.objectUser`. */
  readonly role: string;
  /**
   * IAM condition that narrows the grant, e.g. to an object prefix.
   * @default - the grant covers the whole bucket
   */
  readonly condition?: { readonly title: string; readonly description: string; readonly expression: string };
}

export interface ArtifactBucketProps {
  readonly scope: GcpScope;
  /** Globally unique bucket name. */
  readonly name: string;
  /** Location of the bucket; the key must be in the same location. */
  readonly location: string;
  /** Name of the KMSCryptoKey object that encrypts new objects. */
  readonly kmsKey: string;
  /** Days after which noncurrent versions are deleted. */
  readonly noncurrentVersionDays: number;
  /** Days after which incomplete multipart uploads are aborted. */
  readonly abortIncompleteUploadDays: number;
  /** Days deleted objects stay restorable. */
  readonly softDeleteDays: number;
  /**
   * Extra delete-after-age rules by prefix.
   * @default - none
   */
  readonly ageRules?: readonly { readonly prefix: string; readonly days: number }[];
  /** Who may use the objects; nobody else gets a grant on the bucket. */
  readonly access: readonly BucketAccess[];
}

/** IAM condition expression: the object lies under `prefix` of `bucket`. */
export function underPrefix(bucket: string, prefix: string): string {
  return `resource.name.startsWith("projects/_/buckets/${bucket}/objects/${prefix}")`;
}

export class ArtifactBucket extends Construct {
  public readonly bucketName: string;

  constructor(scope: Construct, id: string, props: ArtifactBucketProps) {
    super(scope, id);
    const s = props.scope;
    this.bucketName = props.name;
    const lifecycleRule: StorageBucketSpecLifecycleRule[] = [
      { action: { type: 'Delete' }, condition: { withState: 'ARCHIVED', daysSinceNoncurrentTime: props.noncurrentVersionDays } },
      { action: { type: 'AbortIncompleteMultipartUpload' }, condition: { age: props.abortIncompleteUploadDays } },
      ...(props.ageRules ?? []).map((r) => ({ action: { type: 'Delete' }, condition: { age: r.days, matchesPrefix: [r.prefix] } })),
    ];
    const bucket = new StorageBucket(this, 'bucket', {
      // force-destroy stays off: deleting the object must never empty the bucket.
      metadata: kccMetadata(s, props.name, { stateful: true, annotations: { [ANNOTATIONS.forceDestroy]: 'false' } }),
      spec: {
        location: props.location,
        storageClass: 'STANDARD',
        uniformBucketLevelAccess: true,
        publicAccessPrevention: 'enforced',
        versioning: { enabled: true },
        softDeletePolicy: { retentionDurationSeconds: props.softDeleteDays * 86400 },
        lifecycleRule,
        encryption: { kmsKeyRef: { name: props.kmsKey } },
      },
    });
    grantAccess(this, s, bucket.name, props.access);
  }
}

/** One IAMPolicyMember per grant, on the bucket. */
function grantAccess(scope: Construct, s: GcpScope, bucket: string, access: readonly BucketAccess[]): void {
  for (const a of access) {
    new IamPolicyMember(scope, `${a.serviceAccount}-${roleSlug(a.role)}`, {
      metadata: kccMetadata(s, `${bucket}-${a.serviceAccount}-${roleSlug(a.role)}`),
      spec: {
        resourceRef: { kind: 'StorageBucket', name: bucket },
        role: a.role,
        memberFrom: { serviceAccountRef: { name: a.serviceAccount } },
        ...(a.condition ? { condition: a.condition } : {}),
      },
    });
  }
}

export interface BackupBucketProps {
  readonly scope: GcpScope;
  /** Globally unique bucket name. */
  readonly name: string;
  readonly location: string;
  /** Name of the KMSCryptoKey object that encrypts new objects. */
  readonly kmsKey: string;
  /** Days no object can be deleted or overwritten after it was written (the retention policy). */
  readonly retentionDays: number;
  /**
   * Days after which the lifecycle deletes an object; at least retentionDays.
   * @default - objects stay until deleted by hand
   */
  readonly deleteAfterDays?: number;
  /** Days after which incomplete multipart uploads are aborted. */
  readonly abortIncompleteUploadDays: number;
  /** Days deleted objects stay restorable. */
  readonly softDeleteDays: number;
  /** The only grants on the bucket. */
  readonly access: readonly BucketAccess[];
}

/**
 * A bucket for backups that nobody who holds an object role on it can destroy early. Its retention
 * policy: "Any attempt to overwrite or delete objects younger than the retention period will result in
 * a PERMISSION_DENIED error" (Cloud Storage JSON API, Bucket.retentionPolicy); `retentionPeriod` in
 * seconds, under 3,155,760,000 (StorageBucket CRD, k8s-config-connector v1.155.1). Left unlocked: a
 * lock is irreversible and also forbids shortening the period ("A locked retention policy cannot be
 * removed or shortened in duration for the lifetime of the bucket"); docs/postgres.md says how to lock
 * it. No object versioning: nothing can be overwritten or deleted inside the period anyway, and the
 * uploader never overwrites (--no-clobber).
 */
export class BackupBucket extends Construct {
  constructor(scope: Construct, id: string, props: BackupBucketProps) {
    super(scope, id);
    const s = props.scope;
    if (props.deleteAfterDays !== undefined && props.deleteAfterDays < props.retentionDays)
      throw new Error(`BackupBucket ${props.name}: deleteAfterDays (${props.deleteAfterDays}) is shorter than retentionDays (${props.retentionDays})`);
    const lifecycleRule: StorageBucketSpecLifecycleRule[] = [
      { action: { type: 'AbortIncompleteMultipartUpload' }, condition: { age: props.abortIncompleteUploadDays } },
      ...(props.deleteAfterDays === undefined ? [] : [{ action: { type: 'Delete' }, condition: { age: props.deleteAfterDays } }]),
    ];
    const bucket = new StorageBucket(this, 'bucket', {
      metadata: kccMetadata(s, props.name, { stateful: true, annotations: { [ANNOTATIONS.forceDestroy]: 'false' } }),
      spec: {
        location: props.location,
        storageClass: 'STANDARD',
        uniformBucketLevelAccess: true,
        publicAccessPrevention: 'enforced',
        versioning: { enabled: false },
        retentionPolicy: { retentionPeriod: props.retentionDays * 86400 },
        softDeletePolicy: { retentionDurationSeconds: props.softDeleteDays * 86400 },
        lifecycleRule,
        encryption: { kmsKeyRef: { name: props.kmsKey } },
      },
    });
    grantAccess(this, s, bucket.name, props.access);
  }
}
