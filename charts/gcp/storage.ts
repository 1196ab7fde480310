/**
 * The MLflow artifact bucket: private (uniform access, public access prevention), versioned with
 * soft delete, encrypted with its own key, readable only by the service accounts that need it.
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
    for (const a of props.access) {
      new IamPolicyMember(this, `${a.serviceAccount}-${roleSlug(a.role)}`, {
        metadata: kccMetadata(s, `${props.name}-${a.serviceAccount}-${roleSlug(a.role)}`),
        spec: {
          resourceRef: { kind: 'StorageBucket', name: bucket.name },
          role: a.role,
          memberFrom: { serviceAccountRef: { name: a.serviceAccount } },
          ...(a.condition ? { condition: a.condition } : {}),
        },
      });
    }
  }
}
