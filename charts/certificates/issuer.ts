/**
 * What every Certificate of the platform shares: the ClusterIssuer that signs it, its key and its
 * lifetime. Field semantics from cert-manager v1.21.1 (deploy/crds/cert-manager.io_certificates.yaml,
 * the copy the tests validate against).
 */
import {
  CertificateSpecIssuerRef,
  CertificateSpecPrivateKey,
  CertificateSpecPrivateKeyAlgorithm,
  CertificateSpecPrivateKeyRotationPolicy,
} from '../../imports/cert-manager.io';

export interface CertificateLifetime {
  /** spec.duration, in cert-manager's Go form (hours). */
  readonly duration: string;
  /** spec.renewBefore: cert-manager issues a new certificate this long before the old one ends. */
  readonly renewBefore: string;
}

/** A ClusterIssuer reference: the kind must be named, cert-manager's default is a namespaced Issuer. */
export function clusterIssuerRef(name: string): CertificateSpecIssuerRef {
  return { name, kind: 'ClusterIssuer', group: 'cert-manager.io' };
}

/**
 * A new ECDSA P-256 key at every issuance (rotationPolicy Always, the default since cert-manager
 * v1.18 stated explicitly): a renewal also replaces the key, so a leaked key dies with its certificate.
 * Python's ssl, PostgreSQL's OpenSSL and Prometheus's Go TLS all read it.
 */
export const LEAF_KEY: CertificateSpecPrivateKey = {
  algorithm: CertificateSpecPrivateKeyAlgorithm.ECDSA,
  size: 256,
  rotationPolicy: CertificateSpecPrivateKeyRotationPolicy.ALWAYS,
};
