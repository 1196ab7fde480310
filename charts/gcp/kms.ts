/**
 * Customer-managed encryption keys: one key ring in the region and one key per consuming service,
 * each granted to exactly that service's agent. Keys and rings cannot be deleted in Cloud KMS, and
 * deleting the object would schedule every key version for destruction (data loss), so both are
 * abandoned on delete and never pruned.
 */
import { Construct } from 'constructs';
import { IamPolicyMember } from '../../imports/iam.cnrm.cloud.google.com';
import { KmsCryptoKey, KmsKeyRing } from '../../imports/kms.cnrm.cloud.google.com';
import { ENCRYPTER_DECRYPTER, GcpScope, kccMetadata } from './common';

const DAY_SECONDS = 86400;

/** Who may encrypt and decrypt with a key. */
export type KeyUser =
  /** A service agent by email, derived from the project number. */
  | { readonly agent: string; readonly email: string }
  /** A service agent created by a ServiceIdentity object of the chart. */
  | { readonly agent: string; readonly serviceIdentity: string };

export interface KeyProps {
  /** Name of the key (and of its object). */
  readonly name: string;
  readonly users: readonly KeyUser[];
}

export interface KmsProps {
  readonly scope: GcpScope;
  readonly keyRing: string;
  /** Location of the ring: the consumers' region. */
  readonly location: string;
  readonly keys: readonly KeyProps[];
  /** Days between automatic rotations (2-90). */
  readonly rotationPeriodDays: number;
  /** Days a destroyed key version stays recoverable. */
  readonly destroyScheduledDays: number;
  /**
   * Protection level of new key versions.
   * @default 'SOFTWARE'
   */
  readonly protectionLevel?: 'SOFTWARE' | 'HSM';
}

export class Kms extends Construct {
  constructor(scope: Construct, id: string, props: KmsProps) {
    super(scope, id);
    const s = props.scope;
    if (props.rotationPeriodDays < 2 || props.rotationPeriodDays > 90)
      throw new Error(`Kms: rotationPeriodDays ${props.rotationPeriodDays} is outside the 2 to 90 days Cloud KMS allows`);
    const ring = new KmsKeyRing(this, 'key-ring', {
      metadata: kccMetadata(s, props.keyRing, { stateful: true }),
      spec: { location: props.location },
    });
    for (const key of props.keys) {
      const cryptoKey = new KmsCryptoKey(this, key.name, {
        metadata: kccMetadata(s, key.name, { stateful: true }),
        spec: {
          keyRingRef: { name: ring.name },
          purpose: 'ENCRYPT_DECRYPT',
          rotationPeriod: `${props.rotationPeriodDays * DAY_SECONDS}s`,
          destroyScheduledDuration: `${props.destroyScheduledDays * DAY_SECONDS}s`,
          versionTemplate: { algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION', protectionLevel: props.protectionLevel ?? 'SOFTWARE' },
        },
      });
      for (const user of key.users) {
        // Additive grant on the key only: the agent can use this key and no other.
        new IamPolicyMember(this, `${key.name}-${user.agent}`, {
          metadata: kccMetadata(s, `${key.name}-encrypter-${user.agent}`),
          spec: {
            resourceRef: { kind: 'KMSCryptoKey', name: cryptoKey.name },
            role: ENCRYPTER_DECRYPTER,
            ...('email' in user ? { member: `serviceAccount:${user.email}` } : { memberFrom: { serviceIdentityRef: { name: user.serviceIdentity } } }),
          },
        });
      }
    }
  }
}
