/**
 * The rendered MLflow of a config, started on this machine (`npm run local`, the live tests, the
 * benchmarks): a real PostgreSQL laid out as the config's database mode expects, the rendered
 * Cloud SQL grant and migration Jobs, the rendered server Deployment's pod (schema wait, then the
 * server with TLS from a throwaway CA, basic-auth, fail-closed and the IAP verifier) and the rendered
 * provisioning Job, each run by local/pod-runner.ts through one seam (`seam` below).
 *
 * Loopback only. The server listens on 127.0.0.1; the load balancer's address is 127.0.0.2 (the
 * verifier trusts IAP tokens from there only), any other loopback address is "a pod in the cluster".
 */
import { execFileSync } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { LOAD_BALANCER_RANGES } from '../model/network';
import { IAP_KEYS_URL } from '../common/contract';
import { renderPlatform } from '../synth/render';
import { buildModel } from '../model';
import type { Config } from '../config/schema';
import { imageRepository } from '../config/schema/mlflow';
import { MlflowClient } from './client';
import { IapSigner, serveIapKeys } from './iap';
import { issueServerCertificate, selfSigned } from './pki';
import { LocalPod, LocalSeam, PodRunOptions, RunningContainer } from './pod-runner';
import { freePort, healthStatus } from './ports';
import { CLIENT_BIN, Major, Server, tempDir } from './postgres';
import { firstStart } from './postgres-entrypoint';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- rendered manifests, read at any depth
type Json = Record<string, any>;

/** How long the server's pod may take to answer on an upgrade, where it starts with the migration and waits for it. */
const UPGRADE_START_SECONDS = 400;

/** The load balancer's address here: the only peer whose IAP header the verifier trusts. */
export const LOAD_BALANCER_ADDRESS = '127.0.0.2';

export interface LocalAccount {
  readonly username: string;
  readonly password: string;
}

export interface LocalPlatformOptions {
  readonly config: Config;
  /** Folder for everything of this run (made; removed by `stop`). */
  readonly dir: string;
  /** The venv bin folder (scripts/python-env.js). */
  readonly pythonBin: string;
  /** PostgreSQL major. @default 15 */
  readonly postgres?: Major;
  /** Receives the processes' output lines. */
  readonly onLine?: (line: string) => void;
  /**
   * Set in every container's environment, after the rendered variables: settings the programs read
   * that the render leaves at their defaults (the certificate watcher's TLS_CHECK_SECONDS).
   * @default none
   */
  readonly env?: Readonly<Record<string, string>>;
  /** Folders on every Python process's PYTHONPATH before local/site (local/pod-runner.ts LocalSeam.pythonPath). @default none */
  readonly pythonPath?: readonly string[];
  /**
   * Runs once PostgreSQL has started and before any Job, to lay out an install of an earlier version
   * in it (the live tests of an upgrade); it gets the platform for its test Secrets and artifacts folder.
   * cloudsql mode: the server's pod then starts together with the grant and migration Jobs, as on a
   * rolling update: the migration waits for the server's pod to hand over the tables the server's IAM
   * user still owns (charts/mlflow/wait_for_schema.py). statefulset mode: the migration Job runs, then
   * the server starts, as on a first install (the server's pod waits for the schema either way).
   * @default - a first install: the Jobs run, then the server starts
   */
  readonly earlierInstall?: (postgres: Server, platform: LocalPlatform) => Promise<void>;
}

/** Every object of the render, by kind and name. */
export class Rendered {
  readonly objects: Json[];
  constructor(readonly config: Config) {
    this.objects = renderPlatform(config).flatMap((file) => [...(file.objects ?? [])]);
  }

  find(kind: string, predicate: (o: Json) => boolean, what: string): Json {
    const found = this.objects.find((o) => o.kind === kind && predicate(o));
    if (!found) throw new Error(`the render has no ${kind} ${what}`);
    return found;
  }

  named(kind: string, name: string): Json {
    return this.find(kind, (o) => o.metadata.name === name, `"${name}"`);
  }

  /** The Job whose name starts with `prefix` (Job names end with a content hash). */
  job(prefix: string): Json {
    return this.find('Job', (o) => o.metadata.name.startsWith(prefix), `named ${prefix}*`);
  }

  /** The pod template of every workload. */
  podSpecs(): Json[] {
    return this.objects.flatMap((o) =>
      o.kind === 'CronJob'
        ? [o.spec.jobTemplate.spec.template.spec]
        : ['Deployment', 'StatefulSet', 'Job', 'DaemonSet'].includes(o.kind)
          ? [o.spec.template.spec]
          : [],
    );
  }

  configMaps(namespace: string): Record<string, Record<string, string>> {
    return Object.fromEntries(
      this.objects.filter((o) => o.kind === 'ConfigMap' && o.metadata.namespace === namespace).map((o) => [o.metadata.name, o.data ?? {}]),
    );
  }
}

/** The Secret keys a pod spec reads, by Secret name. */
export function secretKeys(spec: Json): Map<string, Set<string>> {
  const keys = new Map<string, Set<string>>();
  const add = (name: string, key: string) => keys.set(name, (keys.get(name) ?? new Set()).add(key));
  for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])])
    for (const e of c.env ?? [])
      if (e.valueFrom?.secretKeyRef && !e.valueFrom.secretKeyRef.optional) add(e.valueFrom.secretKeyRef.name, e.valueFrom.secretKeyRef.key);
  for (const v of spec.volumes ?? []) if (v.secret) for (const item of v.secret.items ?? []) add(v.secret.secretName, item.key);
  return keys;
}

/**
 * Whether a trust-manager Bundle targets the namespace. The render selects namespaces by the
 * `kubernetes.io/metadata.name` label with `In` (charts/certificates/ca-bundle.ts); any other selector
 * is refused here rather than guessed.
 */
function bundleSelects(bundle: Json, namespace: string): boolean {
  const selector = bundle.spec.target.namespaceSelector;
  const expressions: Json[] = selector?.matchExpressions ?? [];
  const supported = selector && !selector.matchLabels && expressions.every((e) => e.key === 'kubernetes.io/metadata.name' && e.operator === 'In');
  if (!supported) throw new Error(`Bundle ${bundle.metadata.name}: local runs know only a namespaceSelector on kubernetes.io/metadata.name with In`);
  return expressions.every((e) => e.values.includes(namespace));
}

export class LocalPlatform {
  readonly rendered: Rendered;
  readonly secrets: Record<string, Record<string, string>> = {};
  readonly signer = IapSigner.generate();
  /** The server's port on 127.0.0.1. */
  port = 0;
  postgres?: Server;
  server?: LocalPod;
  serverContainer?: RunningContainer;
  private jwks?: { url: string; close: () => Promise<void> };
  private readonly caDir: string;
  readonly artifactsDir: string;
  /** The backup bucket's prefix here (charts/postgres/storage.sh LOCAL_BUCKET_DIR): the backup gate's and the backups' dumps. */
  readonly bucketDir: string;

  constructor(readonly options: LocalPlatformOptions) {
    this.rendered = new Rendered(options.config);
    fs.mkdirSync(options.dir, { recursive: true });
    this.caDir = path.join(options.dir, 'ca');
    this.artifactsDir = path.join(options.dir, 'artifacts');
    fs.mkdirSync(this.caDir, { recursive: true });
    fs.mkdirSync(this.artifactsDir, { recursive: true });
    this.bucketDir = path.join(options.dir, 'backup-bucket');
    fs.mkdirSync(this.bucketDir, { recursive: true });
  }

  get ns(): string {
    return this.rendered.named('Deployment', 'mlflow').metadata.namespace;
  }

  get caFile(): string {
    return path.join(this.caDir, 'ca.crt');
  }

  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  /** The public host name the edge serves MLflow on. */
  get publicHost(): string {
    return buildModel(this.options.config).names.mlflowHost;
  }

  /** A client that calls as a pod in the cluster would, by the Service's full name and port. */
  client(): MlflowClient {
    const name = this.serviceHosts[this.serviceHosts.length - 1];
    return new MlflowClient(this.port, this.caFile, name, `${name}:${buildModel(this.options.config).names.mlflowPort}`);
  }

  /** The names the pods use for the server, with the Service port. */
  get serviceHosts(): string[] {
    const certificate = this.rendered.find('Certificate', (o) => o.spec.secretName === this.tlsSecret, `for Secret ${this.tlsSecret}`);
    return certificate.spec.dnsNames;
  }

  private get tlsSecret(): string {
    return this.deploymentSpec.volumes.find((v: Json) => v.name === 'tls').secret.secretName;
  }

  private get deploymentSpec(): Json {
    return this.rendered.named('Deployment', 'mlflow').spec.template.spec;
  }

  /** The accounts the provisioning Job creates, with their test passwords. */
  accounts(): (LocalAccount & { secret: string; admin: boolean; workspace: boolean })[] {
    const provision = this.rendered.job('mlflow-auth-provision').spec.template.spec.containers[0];
    const listed = JSON.parse(provision.env.find((e: Json) => e.name === 'PROVISION_ACCOUNTS').value);
    // Workspace accounts are the ones granted the Default experiment (charts/mlflow.ts provisionedAccounts).
    return listed.map((a: Json) => ({
      username: a.username,
      secret: a.secret,
      admin: Boolean(a.admin),
      workspace: Boolean(a.defaultExperiment),
      password: this.secrets[a.secret]?.password,
    }));
  }

  /** The accounts of the workspaces. */
  workspaceAccounts(): LocalAccount[] {
    return this.accounts().filter((a) => a.workspace);
  }

  /** The metrics scraper's account: the one the server keeps to GET /metrics (MLFLOW_SERVICE_ROUTES). */
  metricsAccount(): LocalAccount {
    const env = this.deploymentSpec.containers.find((c: Json) => c.name === 'mlflow').env;
    const routes: Record<string, string[]> = JSON.parse(env.find((e: Json) => e.name === 'MLFLOW_SERVICE_ROUTES')?.value ?? '{}');
    const username = Object.keys(routes).find((u) => routes[u].includes('/metrics'));
    const found = this.accounts().find((a) => a.username === username);
    if (!found) throw new Error('the render has no metrics account (MLFLOW_SERVICE_ROUTES names none for /metrics)');
    return found;
  }

  admin(): LocalAccount {
    const env = this.deploymentSpec.containers.find((c: Json) => c.name === 'mlflow').env;
    const username = env.find((e: Json) => e.name === 'MLFLOW_AUTH_ADMIN_USERNAME').value;
    const secret = env.find((e: Json) => e.name === 'MLFLOW_AUTH_ADMIN_PASSWORD').valueFrom.secretKeyRef.name;
    return { username, password: this.secrets[secret].password };
  }

  /** Issues a new server key pair from the throwaway CA, as cert-manager does on renewal; returns the new certificate (PEM). */
  renewServerCertificate(): string {
    issueServerCertificate(this.caDir, { name: 'server', dnsNames: this.serviceHosts, ipAddresses: ['127.0.0.1'] });
    const secret = this.secrets[this.tlsSecret];
    secret['tls.crt'] = fs.readFileSync(path.join(this.caDir, 'server.crt'), 'utf8');
    secret['tls.key'] = fs.readFileSync(path.join(this.caDir, 'server.key'), 'utf8');
    // The kubelet updates a Secret volume atomically (a new folder, then a symbolic-link swap): the
    // files here are replaced by rename, key first, so no reader sees a half-written file.
    const dir = this.server!.volumeDir('tls');
    for (const key of ['tls.key', 'tls.crt']) {
      const mode = fs.statSync(path.join(dir, key)).mode & 0o777;
      fs.writeFileSync(path.join(dir, `.${key}.new`), secret[key], { mode });
      fs.renameSync(path.join(dir, `.${key}.new`), path.join(dir, key));
    }
    return secret['tls.crt'];
  }

  /** Test values for every Secret the MLflow pods read; the server's key pair from the throwaway CA. */
  private makeSecrets(specs: Json[]): void {
    selfSigned(this.caDir, 'ca', 'mlflow-gke local CA');
    issueServerCertificate(this.caDir, { name: 'server', dnsNames: this.serviceHosts, ipAddresses: ['127.0.0.1'] });
    const ca = fs.readFileSync(this.caFile, 'utf8');
    for (const spec of specs)
      for (const [name, keys] of secretKeys(spec)) {
        const secret = (this.secrets[name] ??= {});
        for (const key of keys) {
          if (key in secret) continue;
          if (key === 'ca.crt') secret[key] = ca;
          else if (key === 'tls.crt' || key === 'tls.key') secret[key] = fs.readFileSync(path.join(this.caDir, `server.${key.slice(4)}`), 'utf8');
          else secret[key] = randomBytes(24).toString('base64url');
        }
      }
  }

  private get cloudsql(): boolean {
    return this.options.config.database.mode === 'cloudsql';
  }

  /** host:port of the database in the server's backend store URI. */
  private get databaseEndpoint(): string {
    const env = this.deploymentSpec.containers.find((c: Json) => c.name === 'mlflow').env;
    const uri: string = env.find((e: Json) => e.name === 'MLFLOW_BACKEND_STORE_URI').value;
    return /@([^/?]+)\//.exec(uri)![1];
  }

  private seam(pgPort: number): LocalSeam {
    const uri = this.deploymentSpec.containers.find((c: Json) => c.name === 'mlflow').args;
    const destination = uri[uri.indexOf('--artifacts-destination') + 1];
    const host = this.databaseEndpoint.split(':')[0];
    return {
      pythonBin: this.options.pythonBin,
      path: [CLIENT_BIN],
      substitutions: [
        // cloudsql: the Auth Proxy's address becomes the server's; statefulset: the Service's port
        // becomes the server's, and libpq dials 127.0.0.1 for the Service name (PGHOSTADDR), still
        // checking the certificate against that name (sslmode=verify-full).
        [this.databaseEndpoint, `${this.cloudsql ? '127.0.0.1' : host}:${pgPort}`],
        [destination, this.artifactsDir],
        [IAP_KEYS_URL, this.jwks!.url],
        [LOAD_BALANCER_RANGES.join(','), `${LOAD_BALANCER_ADDRESS}/32`],
      ],
      options: { '--host': '127.0.0.1', '--port': String(this.port) },
      hosts: Object.fromEntries(this.serviceHosts.map((host) => [`${host}:${buildModel(this.options.config).names.mlflowPort}`, `127.0.0.1:${this.port}`])),
      // The configured Auth Proxy does not run: the server connects to PostgreSQL directly.
      skipImages: [imageRepository(this.options.config.mlflow.cloudSqlProxy.image)],
      // The grant Job's libpq variables name the proxy's port on their own (PGPORT).
      // The backup bucket is a folder (charts/postgres/storage.sh's own seam).
      env: { PGPORT: String(pgPort), ...(this.cloudsql ? {} : { PGHOSTADDR: '127.0.0.1' }), LOCAL_BUCKET_DIR: this.bucketDir, ...this.options.env },
      pythonPath: this.options.pythonPath,
    };
  }

  /**
   * The ConfigMaps of a namespace as the cluster has them: the rendered ones, and the one trust-manager
   * writes there for each Bundle of the render that selects the namespace (charts/certificates/ca-bundle.ts),
   * named after the Bundle, with the throwaway CA under the target key.
   */
  configMaps(namespace: string): Record<string, Record<string, string>> {
    const bundles = this.rendered.objects.filter((o) => o.kind === 'Bundle' && o.spec?.target?.configMap && bundleSelects(o, namespace));
    const ca = bundles.length > 0 ? fs.readFileSync(this.caFile, 'utf8') : '';
    return {
      ...this.rendered.configMaps(namespace),
      ...Object.fromEntries(bundles.map((b) => [b.metadata.name, { [b.spec.target.configMap.key]: ca }])),
    };
  }

  /** How a pod of the render runs here: the seam, the test Secrets, the ConfigMaps of its namespace. */
  podOptions(name: string, namespace = this.ns): PodRunOptions {
    return {
      name,
      namespace,
      dir: path.join(this.options.dir, 'pods', name),
      // Before PostgreSQL has started (its own pod) no database port is known, nor needed.
      seam: this.seam(this.postgres?.port ?? 0),
      sources: { secrets: this.secrets, configMaps: this.configMaps(namespace) },
      onLine: this.options.onLine,
    };
  }

  private pod(name: string, spec: Json): LocalPod {
    return new LocalPod(spec, this.podOptions(name));
  }

  /** Runs a rendered Job's pod to its end; throws with its output when it fails. */
  async runJob(prefix: string): Promise<RunningContainer[]> {
    const job = this.rendered.job(prefix);
    return this.pod(job.metadata.name, job.spec.template.spec).runJob();
  }

  /** Runs a rendered CronJob's pod once, as `kubectl create job --from=cronjob/NAME` would. */
  async runCronJob(name: string): Promise<RunningContainer[]> {
    const cron = this.rendered.named('CronJob', name);
    return this.pod(`${name}-manual`, cron.spec.jobTemplate.spec.template.spec).runJob();
  }

  /** A pod of a rendered Job or Deployment, laid out but not started. */
  podOf(spec: Json, name: string): LocalPod {
    return this.pod(name, spec);
  }

  /** PostgreSQL laid out as Cloud SQL: a superuser nobody uses, cloudsqlsuperuser, the built-in admin, the three IAM users. */
  private async startPostgres(): Promise<Server> {
    const grant = this.rendered.job('mlflow-sql-grant').spec.template.spec.containers.find((c: Json) => c.name === 'grant');
    const env = (name: string) => grant.env.find((e: Json) => e.name === name).value;
    const server = await Server.init(this.options.postgres ?? 15, { user: 'cloudsqladmin', database: 'postgres' }, ['--auth=trust']);
    server.port = await freePort();
    const started = await server.tryStart(['listen_addresses=127.0.0.1']);
    if (started.code !== 0) throw new Error(`PostgreSQL did not start:\n${started.stderr}${started.log}`);
    await server.query(`
      CREATE ROLE cloudsqlsuperuser NOLOGIN CREATEROLE CREATEDB;
      CREATE ROLE "${env('PGUSER')}" LOGIN NOSUPERUSER CREATEROLE CREATEDB IN ROLE cloudsqlsuperuser;
      CREATE DATABASE "${env('PGDATABASE')}" OWNER cloudsqlsuperuser;
    `);
    // The IAM users of the server, the migration and gc, as Cloud SQL makes them for their SQLUser
    // objects: LOGIN roles created by its superuser, with nothing but PUBLIC's privileges.
    for (const user of ['IAM_USER', 'MIGRATE_IAM_USER', 'GC_IAM_USER']) await server.query(`CREATE ROLE "${env(user)}" LOGIN`);
    return server;
  }

  /**
   * The in-cluster PostgreSQL as rendered: the image's first start with the rendered environment and
   * init files (local/postgres-entrypoint.ts), then the server with the rendered TLS and pg_hba
   * settings, a key pair for the rendered Certificate's names, on 127.0.0.1.
   */
  private async startStatefulPostgres(): Promise<Server> {
    const sts = this.rendered.find('StatefulSet', () => true, 'for PostgreSQL');
    const pod = new LocalPod(sts.spec.template.spec, {
      ...this.podOptions(sts.metadata.name, sts.metadata.namespace),
      claimTemplates: (sts.spec.volumeClaimTemplates ?? []).map((t: Json) => t.metadata.name),
    });
    const container = pod.container('postgres');
    const env = pod.prepare('postgres').env;
    const initVolume = sts.spec.template.spec.volumes.find(
      (v: Json) => v.name === container.volumeMounts.find((m: Json) => m.mountPath === '/docker-entrypoint-initdb.d').name,
    );
    const initFiles = this.configMaps(sts.metadata.namespace)[initVolume.configMap.name];
    const { server, init } = await firstStart(this.options.postgres ?? 15, initFiles, env);
    if (init.code !== 0) throw new Error(`PostgreSQL's first start failed:\n${init.stdout}${init.stderr}`);
    await server.stop();
    // The server reads its key pair and pg_hba.conf as the postgres user: a copy it owns, 0600.
    const files = tempDir('postgres-files');
    const secret = sts.spec.template.spec.volumes.find((v: Json) => v.name === 'tls').secret.secretName;
    const certificate = this.rendered.find('Certificate', (o) => o.spec.secretName === secret, `for Secret ${secret}`);
    issueServerCertificate(this.caDir, { name: 'postgres', dnsNames: certificate.spec.dnsNames });
    this.secrets[secret] = {
      'tls.crt': fs.readFileSync(path.join(this.caDir, 'postgres.crt'), 'utf8'),
      'tls.key': fs.readFileSync(path.join(this.caDir, 'postgres.key'), 'utf8'),
    };
    const mapped = new Map<string, string>();
    for (const mount of container.volumeMounts) {
      const volume = sts.spec.template.spec.volumes.find((v: Json) => v.name === mount.name);
      const data = volume?.secret
        ? this.secrets[volume.secret.secretName]
        : volume?.configMap
          ? this.configMaps(sts.metadata.namespace)[volume.configMap.name]
          : undefined;
      if (!data || mount.mountPath === '/docker-entrypoint-initdb.d') continue;
      const dir = path.join(files, mount.name);
      fs.mkdirSync(dir);
      for (const [key, text] of Object.entries(data)) fs.writeFileSync(path.join(dir, key), text, { mode: 0o600 });
      mapped.set(mount.mountPath, dir);
    }
    if (process.getuid?.() === 0) execFileSync('chown', ['-R', 'postgres:postgres', files]);
    const args: string[] = container.args;
    const settings = args.filter((a, i) => args[i - 1] === '-c').map((a) => [...mapped].reduce((text, [from, to]) => text.split(`${from}/`).join(`${to}/`), a));
    server.port = await freePort();
    const started = await server.tryStart([...settings, 'listen_addresses=127.0.0.1']);
    if (started.code !== 0) throw new Error(`PostgreSQL did not start with the rendered settings:\n${started.stderr}${started.log}`);
    return server;
  }

  /** First start: PostgreSQL, an earlier install when given, the grant and migration Jobs, the server, the provisioning Job. */
  async start(): Promise<void> {
    this.jwks = await serveIapKeys(this.signer);
    this.port = await freePort();
    this.makeSecrets(this.rendered.podSpecs());
    if (this.cloudsql) {
      this.postgres = await this.startPostgres();
      if (this.options.earlierInstall) {
        await this.options.earlierInstall(this.postgres, this);
        // As on an upgrade: the new server's pod, the grant and the migration start together.
        await Promise.all([this.runJob('mlflow-sql-grant'), this.runJob('mlflow-migrate'), this.startServer(UPGRADE_START_SECONDS)]);
        await this.runJob('mlflow-auth-provision');
        return;
      }
      // As on a first deployment: the grant and the migration start together; the migration waits for the grant.
      await Promise.all([this.runJob('mlflow-sql-grant'), this.runJob('mlflow-migrate')]);
    } else {
      this.postgres = await this.startStatefulPostgres();
      await this.options.earlierInstall?.(this.postgres, this);
      await this.runJob('mlflow-migrate');
    }
    await this.startServer();
    await this.runJob('mlflow-auth-provision');
  }

  /** Starts the server's pod and waits until /health answers over TLS. */
  async startServer(timeoutSeconds = 120): Promise<void> {
    this.server = this.pod('mlflow-server', this.deploymentSpec);
    const [main] = (await this.server.startAll()).filter((c) => c.name === 'mlflow');
    this.serverContainer = main;
    const deadline = Date.now() + timeoutSeconds * 1000;
    for (;;) {
      if (!main.running) throw new Error(`the MLflow server exited ${await main.exited}:\n${main.output}`);
      if ((await this.health()) === 200) return;
      if (Date.now() > deadline) throw new Error(`the MLflow server did not answer /health in ${timeoutSeconds}s:\n${main.output}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async stopServer(): Promise<void> {
    await this.server?.stopAll();
    this.server = undefined;
  }

  /** GET /health over TLS with the platform CA, as the probes do; the status, or 0 when nothing answers. */
  health(): Promise<number> {
    return healthStatus(this.port, { ca: fs.readFileSync(this.caFile), serverName: this.serviceHosts[0] });
  }

  async stop(): Promise<void> {
    await this.stopServer();
    await this.postgres?.stop();
    await this.jwks?.close();
  }
}
