/**
 * Throwaway certificates made with openssl (the tests and `npm run local`): EC P-256 keys, lifetimes of a day or two. Tests that run real
 * TLS servers and clients (PostgreSQL, the workspaces' MLflow client, code-server's reload) share it.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

function openssl(dir: string, args: string[]): void {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args[0]}: ${r.stderr}`);
}

/** A self-signed certificate and its key, `NAME.crt` and `NAME.key` in `dir` (a CA, or a server's own). */
export function selfSigned(dir: string, name: string, subject: string, days = 2): void {
  openssl(dir, ['req', '-x509', ...EC_KEY, '-keyout', `${name}.key`, '-out', `${name}.crt`, '-subj', `/CN=${subject}`, '-days', String(days)]);
}

export interface ServerCertificateOptions {
  /** Base name of the files written in the directory: NAME.crt, NAME.key. */
  readonly name: string;
  /** Base name of the signing CA's files in the same directory. @default 'ca' */
  readonly ca?: string;
  /** DNS names of the subjectAltName; the first is also the common name. */
  readonly dnsNames: readonly string[];
  /** IP addresses of the subjectAltName. @default none */
  readonly ipAddresses?: readonly string[];
}

/** A server certificate (serverAuth) for `dnsNames`, signed by the CA in `dir`. */
export function issueServerCertificate(dir: string, o: ServerCertificateOptions): void {
  const ca = o.ca ?? 'ca';
  openssl(dir, ['req', ...EC_KEY, '-keyout', `${o.name}.key`, '-out', `${o.name}.csr`, '-subj', `/CN=${o.dnsNames[0]}`]);
  const san = [...o.dnsNames.map((d) => `DNS:${d}`), ...(o.ipAddresses ?? []).map((ip) => `IP:${ip}`)].join(',');
  fs.writeFileSync(path.join(dir, `${o.name}.ext`), `subjectAltName=${san}\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\n`);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${o.name}.csr`,
    '-CA',
    `${ca}.crt`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-out',
    `${o.name}.crt`,
    '-days',
    '1',
    '-extfile',
    `${o.name}.ext`,
  ]);
}
