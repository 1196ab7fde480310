/**
 * A stand-in for Google's IAP signing keys: an ES256 key pair made at start, its public half served
 * as {kid: PEM} on loopback (where the real verifier reads https://www.gstatic.com/iap/verify/public_key),
 * and tokens shaped as IAP signs them (https://cloud.google.com/iap/docs/signed-headers-howto: header
 * alg ES256 and kid; claims iss "https://cloud.google.com/iap", aud
 * "/projects/NUMBER/global/backendServices/ID", email, sub, iat, exp).
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject, sign } from 'crypto';
import * as http from 'http';
import type { AddressInfo } from 'net';

export const IAP_ISSUER = 'https://cloud.google.com/iap';

export interface IapClaims {
  readonly email: string;
  readonly aud: string;
  readonly iss?: string;
  readonly iat?: number;
  readonly exp?: number;
  readonly sub?: string;
}

const b64 = (data: Buffer | string) => Buffer.from(data).toString('base64url');

/** A signing key with its key id; `toJSON` gives what `fromJSON` takes back (for another process). */
export class IapSigner {
  constructor(
    readonly privateKey: KeyObject,
    readonly kid: string,
  ) {}

  static generate(kid = 'mlflow-gke-local'): IapSigner {
    return new IapSigner(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, kid);
  }

  static fromJSON(value: { kid: string; jwk: Record<string, string> }): IapSigner {
    return new IapSigner(createPrivateKey({ key: value.jwk, format: 'jwk' }), value.kid);
  }

  toJSON(): { kid: string; jwk: Record<string, string> } {
    return { kid: this.kid, jwk: this.privateKey.export({ format: 'jwk' }) as Record<string, string> };
  }

  /** The key document a verifier reads, {kid: PEM}: the public key only. */
  publicKeys(): Record<string, string> {
    return { [this.kid]: createPublicKey(this.privateKey).export({ format: 'pem', type: 'spki' }).toString() };
  }

  /** A token as IAP makes it, valid for ten minutes from now unless the claims say otherwise. */
  mint(claims: IapClaims, header: Record<string, unknown> = {}): string {
    const now = Math.floor(Date.now() / 1000);
    const body = { iss: IAP_ISSUER, iat: now, exp: now + 600, sub: `accounts.google.com:${claims.email}`, ...claims };
    const head = b64(JSON.stringify({ alg: 'ES256', typ: 'JWT', kid: this.kid, ...header }));
    const payload = b64(JSON.stringify(body));
    const signature = sign('sha256', Buffer.from(`${head}.${payload}`), { key: this.privateKey, dsaEncoding: 'ieee-p1363' });
    return `${head}.${payload}.${b64(signature)}`;
  }
}

/** The audience IAP puts in tokens for a backend service of a project. */
export function iapAudience(projectNumber: string, backendServiceId: string): string {
  return `/projects/${projectNumber}/global/backendServices/${backendServiceId}`;
}

/** Serves the signer's public keys on 127.0.0.1; resolves with its URL and a way to stop. */
export async function serveIapKeys(signer: IapSigner): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify(signer.publicKeys()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/iap/verify/public_key`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
