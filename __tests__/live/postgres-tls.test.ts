/**
 * The in-cluster PostgreSQL's TLS as rendered, on real servers of every major here (15, 16, 17): the
 * rendered `-c` TLS settings and pg_hba.conf, a key file with the owner and mode the kubelet gives it
 * (root, group postgres, 0440), and a certificate for the rendered Certificate's DNS names from a test
 * CA made with openssl. Then MLflow's URI, the rendered backup and restore, a plain connection, another
 * CA and another host name, the rendered tls-reload sidecar after a renewal, and a key others may read.
 *
 * The servers listen on 127.0.0.1 with a free port each; clients dial the rendered host names with
 * hostaddr=127.0.0.1 (libpq checks the certificate against the host name, not the address).
 */
import { execFileSync } from 'child_process';
import { buildModel } from '../../model';
import * as fs from 'fs';
import * as path from 'path';
import { Testing } from 'cdk8s';
import { CertificatesChart, certificatesChartProps } from '../../charts/certificates';
import { mlflowChartProps } from '../../charts/mlflow';
import { backendStoreUri } from '../../charts/mlflow/database';
import { DUMP_FILE, MONITORING_ROLE, SUPERUSER, TLS_DIR } from '../../charts/postgres';
import { CA_BUNDLE_DIR } from '../../charts/certificates/ca-bundle';
import { platformNames } from '../../model/names';
import { configWith } from '../support/render';
import { Connection, Major, removeTempDirs, run, Server, tempDir, writeOwned } from './support/postgres';
import { containerEnv, firstStart, renderPostgres, runContainer, Secrets } from './support/rendered';
import { testApp } from '../support/app';
import { freePort } from '../../local/ports';
import { issueServerCertificate, selfSigned } from '../../local/pki';

const MAJORS: Major[] = [15, 16, 17];
const config = configWith({ database: { mode: 'statefulset' } });
const names = platformNames(config);
const secrets: Secrets = { 'postgres-password': 'superuser tls 1', 'mlflow-password': 'mlflow tls 2', 'monitoring-password': 'monitoring tls 3' };
const rendered = renderPostgres(config);
const certificate = Testing.synth(new CertificatesChart(testApp(), 'certificates', certificatesChartProps(buildModel(config)))).find(
  (o) => o.kind === 'Certificate' && o.metadata.name === names.tls.db,
)!;
const mlflow: Connection = { user: config.database.statefulset.user, password: secrets['mlflow-password'], database: config.database.name };
const isRoot = process.getuid?.() === 0;

interface Pki {
  readonly dir: string;
  /** What the CA bundle's ca.crt holds. */
  readonly caFile: string;
  readonly otherCaFile: string;
}

/** A CA and another CA. */
function makePki(): Pki {
  const dir = tempDir('pki');
  selfSigned(dir, 'ca', 'test platform CA');
  selfSigned(dir, 'other', 'another CA');
  for (const f of fs.readdirSync(dir)) fs.chmodSync(path.join(dir, f), 0o644);
  return { dir, caFile: path.join(dir, 'ca.crt'), otherCaFile: path.join(dir, 'other.crt') };
}

let serial = 0;
/**
 * Writes a server key pair signed by the test CA into `tlsDir` as the kubelet presents a Secret
 * volume with defaultMode 0440 and the pod's fsGroup: owned by root, group postgres, 0440 (when the
 * tests run as root; otherwise owned by the test user, 0600). Files are swapped in atomically.
 */
function issue(pki: Pki, tlsDir: string, keyMode = 0o440): string {
  const name = `leaf${++serial}`;
  issueServerCertificate(pki.dir, { name, dnsNames: certificate.spec.dnsNames });
  const group = isRoot ? Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim()) : undefined;
  for (const [from, to, mode] of [
    [`${name}.crt`, 'tls.crt', 0o444],
    [`${name}.key`, 'tls.key', keyMode],
  ] as const) {
    const tmp = path.join(tlsDir, `.${to}.tmp`);
    fs.copyFileSync(path.join(pki.dir, from), tmp);
    if (isRoot) fs.chownSync(tmp, 0, group!);
    else writeOwned(tmp, fs.readFileSync(tmp, 'utf8'));
    fs.chmodSync(tmp, isRoot ? mode : 0o600);
    fs.renameSync(tmp, path.join(tlsDir, to));
  }
  return execFileSync('openssl', ['x509', '-noout', '-serial', '-in', path.join(pki.dir, `${name}.crt`)], { encoding: 'utf8' }).trim();
}

/** The server's rendered `-c` settings that concern TLS and client authentication, mount paths mapped. */
function renderedTlsSettings(tlsDir: string, configDir: string): string[] {
  const args: string[] = rendered.server.args;
  return args.filter((a, i) => args[i - 1] === '-c' && /^(ssl|hba_file)/.test(a)).map((a) => a.replace(TLS_DIR, tlsDir).replace(rendered.configDir, configDir));
}

interface Started {
  readonly server: Server;
  readonly tlsDir: string;
  readonly settings: string[];
}

const pki = () => pkiValue!;
let pkiValue: Pki | undefined;
const started = new Map<Major, Started>();

beforeAll(async () => {
  pkiValue = makePki();
  await Promise.all(
    MAJORS.map(async (major) => {
      const { server, init } = await firstStart(major, rendered, secrets);
      if (init.code !== 0) throw new Error(`first start on PostgreSQL ${major} failed: ${init.stderr}`);
      await server.stop();
      const tlsDir = tempDir(`tls${major}`);
      const configDir = tempDir(`config${major}`);
      for (const [file, text] of Object.entries(rendered.configFiles)) writeOwned(path.join(configDir, file), text, 0o644);
      issue(pki(), tlsDir);
      server.port = await freePort();
      const settings = [...renderedTlsSettings(tlsDir, configDir), `listen_addresses=127.0.0.1`];
      const result = await server.tryStart(settings);
      if (result.code !== 0) throw new Error(`PostgreSQL ${major} did not start with the rendered TLS settings:\n${result.stderr}${result.log}`);
      started.set(major, { server, tlsDir, settings });
    }),
  );
});

afterAll(async () => {
  await Server.stopAll();
  removeTempDirs();
});

/** libpq variables of a TCP connection to `host` (resolved to 127.0.0.1) as the MLflow role. */
function tcp(server: Server, host: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PGHOST: host,
    PGHOSTADDR: '127.0.0.1',
    PGPORT: String(server.port),
    PGUSER: mlflow.user,
    PGDATABASE: mlflow.database,
    PGPASSWORD: mlflow.password!,
    ...extra,
  };
}

const SSL_IN_USE = 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()';

function psql(env: Record<string, string>, sql = SSL_IN_USE) {
  return run('psql', ['--no-psqlrc', '--no-password', '--tuples-only', '--no-align', `--command=${sql}`], { env });
}

test('the settings under test are the rendered ones: TLS on, the certificate and key of the mounted Secret, the mounted pg_hba.conf', () => {
  expect(renderedTlsSettings(TLS_DIR, rendered.configDir)).toEqual([
    'ssl=on',
    `ssl_cert_file=${TLS_DIR}/tls.crt`,
    `ssl_key_file=${TLS_DIR}/tls.key`,
    `hba_file=${rendered.configDir}/pg_hba.conf`,
  ]);
});

describe.each(MAJORS)('PostgreSQL %i', (major) => {
  const s = () => started.get(major)!;

  test("MLflow's URI connects over TLS with verify-full: its host, sslmode and sslrootcert as rendered", async () => {
    const uri = new URL(backendStoreUri(mlflowChartProps(buildModel(config)).database));
    const sslrootcert = uri.searchParams.get('sslrootcert')!;
    expect(sslrootcert.startsWith(`${CA_BUNDLE_DIR}/`)).toBe(true);
    // The CA bundle's ca.crt, at the path MLflow's pods mount it.
    const caFile = path.join(pki().dir, path.basename(sslrootcert));
    expect(caFile).toBe(pki().caFile);
    const r = await psql(tcp(s().server, uri.hostname, { PGSSLMODE: uri.searchParams.get('sslmode')!, PGSSLROOTCERT: caFile }));
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('t');
  });

  // Over loopback, the one plain line (the exporter's) admits the monitoring role alone: the MLflow role is refused.
  test('a plain TCP connection is refused by pg_hba.conf', async () => {
    const r = await psql(tcp(s().server, names.mlflowDb, { PGSSLMODE: 'disable' }));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/no pg_hba\.conf entry for host "127\.0\.0\.1", user "mlflow", database "mlflow", no encryption/);
  });

  test('the superuser is refused over TCP: with TLS and verify-full, and in plain text over the loopback', async () => {
    const superuser = { PGUSER: SUPERUSER, PGDATABASE: SUPERUSER, PGPASSWORD: secrets['postgres-password'] };
    const overTls = await psql(tcp(s().server, names.mlflowDb, { ...superuser, PGSSLMODE: 'verify-full', PGSSLROOTCERT: pki().caFile }));
    expect(overTls.code).not.toBe(0);
    expect(overTls.stderr).toMatch(/pg_hba\.conf rejects connection for host "127\.0\.0\.1", user "postgres", database "postgres", SSL encryption/);
    const plain = await psql(tcp(s().server, '127.0.0.1', { ...superuser, PGSSLMODE: 'disable' }));
    expect(plain.code).not.toBe(0);
    expect(plain.stderr).toMatch(/pg_hba\.conf rejects connection for host "127\.0\.0\.1", user "postgres", database "postgres", no encryption/);
    // The socket still admits it: the tls-reload sidecar and operators.
    expect(await s().server.query('SELECT current_user')).toBe(SUPERUSER);
  });

  test("the exporter's rendered connection logs in as the monitoring role and reads pg_stat_database, not the MLflow tables", async () => {
    const env = containerEnv(rendered.exporter, secrets);
    // postgres_exporter's DATA_SOURCE_URI is host:port/database?options; the port is the test server's.
    const uri = new URL(`postgresql://${env.DATA_SOURCE_URI}`);
    expect([uri.hostname, uri.pathname, uri.searchParams.get('sslmode')]).toEqual(['127.0.0.1', '/postgres', 'disable']);
    const exporter = {
      PGHOST: uri.hostname,
      PGPORT: String(s().server.port),
      PGDATABASE: uri.pathname.slice(1),
      PGSSLMODE: uri.searchParams.get('sslmode')!,
      PGUSER: env.DATA_SOURCE_USER,
      PGPASSWORD: env.DATA_SOURCE_PASS,
    };
    const stats = await psql(exporter, `SELECT count(*) > 0 FROM pg_stat_database WHERE datname = '${mlflow.database}'`);
    expect(stats.stderr).toBe('');
    expect(stats.stdout.trim()).toBe('t');
    const mlflowDb = await psql({ ...exporter, PGDATABASE: mlflow.database });
    expect(mlflowDb.code).not.toBe(0);
    expect(mlflowDb.stderr).toMatch(/pg_hba\.conf rejects connection for host "127\.0\.0\.1", user "monitoring", database "mlflow", no encryption/);
    // From another pod's address the `host all monitoring all reject` line refuses it even over TLS; every
    // client here dials from 127.0.0.1, so that line is pinned by the pg_hba.conf test of __tests__/postgres.test.ts.
  });

  test('the rendered pg_isready probes see the server ready on 127.0.0.1, and the server logs no refusal for them', async () => {
    const log = path.join(s().server.socketDir, 'server.log');
    const before = fs.readFileSync(log, 'utf8').length;
    for (const probe of [rendered.server.startupProbe, rendered.server.readinessProbe]) {
      const args = probe.exec.command.slice(1).map((a: string) => a.replace(/^--port=\d+$/, `--port=${s().server.port}`));
      expect(args).toEqual(expect.arrayContaining(['--host=127.0.0.1', `--username=${MONITORING_ROLE}`]));
      const r = await run('pg_isready', args);
      expect(r.code).toBe(0);
    }
    expect(fs.readFileSync(log, 'utf8').slice(before)).not.toMatch(/pg_hba\.conf rejects connection/);
  });

  test('a server certificate from another CA fails verify-full', async () => {
    const r = await psql(tcp(s().server, names.mlflowDb, { PGSSLMODE: 'verify-full', PGSSLROOTCERT: pki().otherCaFile }));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/certificate verify failed/);
  });

  test('a host name the certificate does not carry fails verify-full', async () => {
    const r = await psql(tcp(s().server, 'postgres.example.com', { PGSSLMODE: 'verify-full', PGSSLROOTCERT: pki().caFile }));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/server certificate for "[^"]+" .*does not match host name "postgres\.example\.com"/);
  });
});

// The client tools here are PostgreSQL 15's, and pg_dump refuses a newer server: the round trip runs on 15.
test('the rendered backup dumps, and the rendered restore restores, over TLS with verify-full (PostgreSQL 15)', async () => {
  const scratch = tempDir('scratch');
  const mounts = { '/backup': scratch, '/tmp': tempDir('tmp'), [CA_BUNDLE_DIR]: pki().dir };
  const { PGHOST } = containerEnv(rendered.backup.dump, secrets);
  expect(certificate.spec.dnsNames).toContain(PGHOST);
  const env = { PGHOSTADDR: '127.0.0.1', PGPORT: String(started.get(15)!.server.port) };
  await started.get(15)!.server.query('CREATE TABLE IF NOT EXISTS tls_probe (id int); INSERT INTO tls_probe VALUES (1);', mlflow);
  const dump = await runContainer(rendered.backup.dump, { secrets, mounts, env });
  expect(dump.stderr).toBe('');
  expect(dump.code).toBe(0);
  const restoreEnv = { ...env, RESTORE_FILE: path.join(scratch, path.basename(DUMP_FILE)) };
  const restore = await runContainer(rendered.restore.restore, { secrets, mounts, env: restoreEnv });
  expect(restore.stderr).toBe('');
  expect(restore.code).toBe(0);
  expect(await started.get(15)!.server.query('SELECT count(*) FROM tls_probe', mlflow)).toBe('1');
});

/** The serial number of the certificate the server presents now. */
async function servedSerial(server: Server): Promise<string> {
  const r = await run('bash', [
    '-c',
    `openssl s_client -starttls postgres -connect 127.0.0.1:${server.port} </dev/null 2>/dev/null | openssl x509 -noout -serial`,
  ]);
  return r.stdout.trim();
}

test('after a renewal, the rendered tls-reload sidecar makes the server present the new certificate', async () => {
  const { server, tlsDir } = started.get(16)!;
  const before = await servedSerial(server);
  expect(before).toMatch(/^serial=/);
  const sidecarEnv = {
    ...containerEnv(rendered.tlsReload, secrets, { [TLS_DIR]: tlsDir }),
    PGHOST: server.socketDir,
    PGPORT: String(server.port),
    TLS_CHECK_SECONDS: '1',
  };
  const [command, ...args] = [...rendered.tlsReload.command, ...rendered.tlsReload.args];
  const sidecar = run('timeout', ['8', command, ...args], { env: sidecarEnv });
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const renewed = issue(pki(), tlsDir);
  const result = await sidecar;
  expect(result.stderr).toBe('');
  expect(result.stdout).toContain(`certificate ${tlsDir}/tls.crt changed: PostgreSQL reloaded its configuration`);
  expect(await servedSerial(server)).toBe(renewed);
  expect(renewed).not.toBe(before);
});

(isRoot ? test : test.skip)('a key others may read keeps PostgreSQL from starting: the 0440 of the rendered volume matters', async () => {
  const { server, tlsDir, settings } = started.get(15)!;
  await server.stop();
  issue(pki(), tlsDir, 0o444);
  const refused = await server.tryStart(settings);
  expect(refused.code).not.toBe(0);
  expect(refused.log).toMatch(/private key file ".*tls\.key" has group or world access/);
  issue(pki(), tlsDir, 0o440);
  const accepted = await server.tryStart(settings);
  expect(accepted.code).toBe(0);
});
