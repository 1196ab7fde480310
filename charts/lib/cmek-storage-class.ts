/**
 * A StorageClass of Persistent Disks encrypted with a customer-managed Cloud KMS key, for claims that
 * hold what must outlive every delete: the in-cluster PostgreSQL's data and the workspaces' home
 * volumes. GKE's Persistent Disk CSI driver (`pd.csi.storage.gke.io`) takes the key's full resource
 * path in the parameter `disk-encryption-kms-key` (GKE "Using customer-managed encryption keys
 * (CMEK)", https://cloud.google.com/kubernetes-engine/docs/how-to/using-cmek; the driver's
 * pkg/common/parameters.go: ParameterKeyDiskEncryptionKmsKey = "disk-encryption-kms-key"). Compute
 * Engine creates the disks: its service agent needs roles/cloudkms.cryptoKeyEncrypterDecrypter on the
 * key, which the gcp chart grants on the disk key (charts/gcp.ts, `kmsKeys.disk`).
 */
import { Construct } from 'constructs';
import * as kube from '../../imports/k8s-1.31';
import { PRUNE_DISABLED } from '../../common/contract';

export interface CmekStorageClassProps {
  /** Name of the cluster-scoped StorageClass. */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Full resource path of the Cloud KMS key: `projects/<p>/locations/<region>/keyRings/<ring>/cryptoKeys/<key>`. */
  readonly kmsKey: string;
  /** Persistent Disk type. */
  readonly diskType: 'pd-balanced' | 'pd-ssd';
  /**
   * Replicate each disk synchronously to a second zone.
   * @default false
   */
  readonly regionalDisk?: boolean;
}

export class CmekStorageClass extends Construct {
  readonly name: string;
  readonly storageClass: kube.KubeStorageClass;

  constructor(scope: Construct, id: string, props: CmekStorageClassProps) {
    super(scope, id);
    this.name = props.name;
    this.storageClass = new kube.KubeStorageClass(this, 'storage-class', {
      metadata: { name: props.name, labels: { ...props.labels }, annotations: PRUNE_DISABLED },
      provisioner: 'pd.csi.storage.gke.io',
      parameters: {
        type: props.diskType,
        'disk-encryption-kms-key': props.kmsKey,
        ...(props.regionalDisk ? { 'replication-type': 'regional-pd' } : {}),
      },
      // Dynamic volumes default to Delete; Retain keeps the disk when its claim goes.
      reclaimPolicy: 'Retain',
      allowVolumeExpansion: true,
      // The disk is created in the zone the scheduler picks for the pod.
      volumeBindingMode: 'WaitForFirstConsumer',
    });
  }
}
