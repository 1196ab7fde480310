/**
 * The platform CA: a self-signed ClusterIssuer that signs one CA certificate, and a CA ClusterIssuer
 * that signs every server certificate and CA bundle with it.
 *
 * A ClusterIssuer of type CA reads its key pair from cert-manager's cluster resource namespace
 * (cert-manager v1.21.1 pkg/controller/helper.go ResourceNamespace: an issuer without a namespace
 * uses ClusterResourceNamespace), which the Helm chart sets to its release namespace
 * (deploy/charts/cert-manager/templates/deployment.yaml: --cluster-resource-namespace=$(POD_NAMESPACE)).
 * So the CA's Certificate lives in that namespace, which the install creates, not the render.
 */
import { Construct } from 'constructs';
import { Certificate, CertificateSpecPrivateKeyAlgorithm, CertificateSpecPrivateKeyRotationPolicy, ClusterIssuer } from '../../imports/cert-manager.io';
import { EXEMPT_PREFIX } from '../../policy/model';
import { clusterIssuerRef } from './issuer';

/**
 * Ten years, renewed two years ahead: always far longer than any certificate it signs (the config
 * allows at most a year), so the CA never cuts a leaf short.
 */
const CA_DURATION = '87600h';
const CA_RENEW_BEFORE = '17520h';

export interface PlatformCaProps {
  readonly labels: Record<string, string>;
  /** ClusterIssuer that self-signs the CA certificate. */
  readonly selfSignedIssuer: string;
  /** ClusterIssuer that signs with the CA. */
  readonly caIssuer: string;
  /** Name of the CA's Certificate and of the Secret that holds its key pair. */
  readonly ca: string;
  /** cert-manager's namespace (its cluster resource namespace). */
  readonly certManagerNamespace: string;
}

export class PlatformCa extends Construct {
  constructor(scope: Construct, id: string, props: PlatformCaProps) {
    super(scope, id);
    const selfSigned = new ClusterIssuer(this, 'self-signed', {
      metadata: { name: props.selfSignedIssuer, labels: props.labels },
      spec: { selfSigned: {} },
    });
    const ca = new Certificate(this, 'ca', {
      metadata: {
        name: props.ca,
        namespace: props.certManagerNamespace,
        labels: props.labels,
        annotations: {
          [`${EXEMPT_PREFIX}references.namespace`]: `cert-manager's own namespace, created by its Helm install (docs/first-deployment.md): a ClusterIssuer of type CA reads its key pair only from there`,
        },
      },
      spec: {
        isCa: true,
        commonName: `${props.caIssuer} platform CA`,
        secretName: props.ca,
        duration: CA_DURATION,
        renewBefore: CA_RENEW_BEFORE,
        // The same key across renewals: a renewed CA certificate (same subject, same key) verifies
        // every certificate signed before it, and every CA bundle already handed out keeps
        // verifying the new ones. Replacing the CA key is a planned operation (docs/mlflow.md, "TLS").
        privateKey: { algorithm: CertificateSpecPrivateKeyAlgorithm.ECDSA, size: 256, rotationPolicy: CertificateSpecPrivateKeyRotationPolicy.NEVER },
        issuerRef: clusterIssuerRef(props.selfSignedIssuer),
      },
    });
    ca.addDependency(selfSigned);
    const caIssuer = new ClusterIssuer(this, 'ca-issuer', {
      metadata: { name: props.caIssuer, labels: props.labels },
      spec: { ca: { secretName: props.ca } },
    });
    caIssuer.addDependency(ca);
  }
}
