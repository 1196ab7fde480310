/**
 * A server's certificate from the platform CA: every name a client in the cluster may use for its
 * Service (verify-full and Python's hostname check compare them with the host the client dialled),
 * a fresh key at every renewal, and a Secret (`tls.crt`, `tls.key`, `ca.crt`) the server mounts.
 */
import { Construct } from 'constructs';
import { Certificate, CertificateSpecUsages } from '../../imports/cert-manager.io';
import type * as kube from '../../imports/k8s-1.31';
import { CertificateLifetime, clusterIssuerRef, LEAF_KEY } from './issuer';

export interface ServerCertificateProps {
  /** Name of the Certificate and of its Secret. */
  readonly name: string;
  readonly namespace: string;
  readonly labels: Record<string, string>;
  /** Host names the certificate is valid for (serviceDnsNames of model/names.ts). */
  readonly dnsNames: readonly string[];
  readonly caIssuer: string;
  readonly lifetime: CertificateLifetime;
}

export class ServerCertificate extends Construct {
  /** The Secret cert-manager writes: mount it, never copy it. */
  public readonly secretName: string;

  constructor(scope: Construct, id: string, props: ServerCertificateProps) {
    super(scope, id);
    if (props.dnsNames.length === 0) throw new Error(`ServerCertificate ${props.name}: no DNS name`);
    this.secretName = props.name;
    new Certificate(this, 'certificate', {
      metadata: { name: props.name, namespace: props.namespace, labels: props.labels },
      spec: {
        secretName: props.name,
        dnsNames: [...props.dnsNames],
        // An ECDSA key signs the handshake; it never enciphers a key, so no "key encipherment".
        usages: [CertificateSpecUsages.SERVER_AUTH, CertificateSpecUsages.DIGITAL_SIGNATURE],
        duration: props.lifetime.duration,
        renewBefore: props.lifetime.renewBefore,
        privateKey: LEAF_KEY,
        issuerRef: clusterIssuerRef(props.caIssuer),
      },
    });
  }
}

/**
 * The pod volume with a server's key pair from its certificate Secret: `tls.crt` and `tls.key` only,
 * mode 0440. The kubelet writes Secret files as root and, with the pod's fsGroup, gives them that group
 * and ORs in 0440 (kubernetes pkg/volume/volume_linux.go changeFilePermission, roMask): the server's
 * group reads the key and nobody else does. Mount it without subPath: the kubelet then swaps
 * renewed files in place (a subPath mount never sees an update).
 */
export function serverCertificateVolume(name: string, secretName: string): kube.Volume {
  return {
    name,
    secret: {
      secretName,
      items: [
        { key: 'tls.crt', path: 'tls.crt' },
        { key: 'tls.key', path: 'tls.key' },
      ],
      defaultMode: 0o440,
    },
  };
}
