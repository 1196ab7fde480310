import { cloudSqlProxyArgs } from '../charts/lib/cloud-sql-proxy';
import { PROXY_FLAGS, parseVersion, proxySupports } from '../common/cloud-sql-proxy-flags';
import { LOAD_BALANCER_RANGES } from '../model/network';
import { platformNames } from '../model/names';
import { MIGRATION_BACKUP_WAIT_SECONDS, MIGRATION_DEADLINE_SECONDS, MIGRATION_GRANT_WAIT_SECONDS } from '../charts/mlflow/migration';
import { GRACEFUL_SHUTDOWN_SECONDS, KEEP_ALIVE_SECONDS, METRICS_DIR, PRE_STOP_SECONDS, WORKER_READY_SECONDS } from '../charts/mlflow/server';
import { PROXY_MAX_SIGTERM_SECONDS } from '../charts/mlflow/workload';
import { mlflowProgram, schemaPrivilegeQuery } from '../charts/mlflow/programs';
import { chartObjects, configError, configsUnderTest, configWith, DeepPartial, find, Manifest, render } from './support/render';
import type { Config, ConfigInput } from '../config/schema';

const cloudsql = () => configWith({ database: { mode: 'cloudsql' } });
const statefulset = () => configWith({ database: { mode: 'statefulset' } });

function mlflowOf(overrides: DeepPartial<ConfigInput> = {}): Manifest[] {
  return chartObjects(render(configWith(overrides)).files, 'mlflow');
}

const podSpec = (o: Manifest): Manifest => (o.kind === 'CronJob' ? o.spec.jobTemplate.spec.template.spec : o.spec.template.spec);
const containers = (o: Manifest): Manifest[] => [...(podSpec(o).initContainers ?? []), ...podSpec(o).containers];
const container = (o: Manifest, name: string): Manifest => {
  const c = containers(o).find((x) => x.name === name);
  if (!c) throw new Error(`no container ${name} in ${o.kind}/${o.metadata.name}`);
  return c;
};
const deploymentOf = (objects: Manifest[]) => find(objects, 'Deployment', 'mlflow');
const migrationOf = (objects: Manifest[]) => {
  const jobs = objects.filter((o) => o.kind === 'Job' && /-migrate-/.test(o.metadata.name));
  expect(jobs).toHaveLength(1);
  return jobs[0];
};
/**
 * MLflow's own pods; the Cloud SQL grant Job has its own identity and policies (__tests__/cloudsql-grant-job.test.ts),
 * and the user provisioning Job talks to the server only (__tests__/mlflow-auth.test.ts).
 */
const workloads = (objects: Manifest[]) =>
  objects.filter(
    (o) => ['Deployment', 'Job', 'CronJob'].includes(o.kind) && !['sql-grant', 'auth-provision'].includes(o.metadata.labels?.['app.kubernetes.io/component']),
  );
const argValue = (args: string[], flag: string) => args[args.indexOf(flag) + 1];
const env = (c: Manifest, name: string) => c.env?.find((e: Manifest) => e.name === name);

describe('mlflow chart', () => {
  test('renders the cloudsql mode as in the snapshot', () => {
    expect(chartObjects(render(cloudsql()).files, 'mlflow')).toMatchSnapshot();
  });

  test('renders the statefulset mode as in the snapshot', () => {
    expect(chartObjects(render(statefulset()).files, 'mlflow')).toMatchSnapshot();
  });

  test('renders the verification Job as in the snapshot', () => {
    expect(chartObjects(render(cloudsql()).files, 'tests/mlflow-verify')).toMatchSnapshot();
  });

  describe('1. server', () => {
    test('listens on 0.0.0.0:5000, proxies artifacts to the GCS bucket, exposes metrics into an emptyDir, workers from config', () => {
      const config = configWith({ mlflow: { workers: 3 }, database: { cloudsql: { maxConnections: 1000 } } });
      const names = platformNames(config);
      const server = container(deploymentOf(chartObjects(render(config).files, 'mlflow')), 'mlflow');
      const args: string[] = server.args;
      expect(argValue(args, '--host')).toBe('0.0.0.0');
      expect(argValue(args, '--port')).toBe(String(names.mlflowPort));
      expect(args).toContain('--serve-artifacts');
      expect(argValue(args, '--artifacts-destination')).toBe(`gs://${names.bucket}/artifacts`);
      expect(argValue(args, '--expose-prometheus')).toBe(METRICS_DIR);
      expect(argValue(args, '--workers')).toBe('3');
      expect(server.volumeMounts).toContainEqual({ name: 'metrics', mountPath: METRICS_DIR });
      expect(server.image).toBe(config.mlflow.image);
      expect(server.image).toMatch(/-full$/);
    });

    test('allowed hosts cover the public host, the in-cluster Service URL and the pod IP for the scraper', () => {
      const config = configWith({ edge: { hosts: { mlflow: 'tracking.example.org' } }, mlflow: { extraAllowedHosts: ['*.corp.example.com'] } });
      const names = platformNames(config);
      const hosts = argValue(container(deploymentOf(chartObjects(render(config).files, 'mlflow')), 'mlflow').args, '--allowed-hosts').split(',');
      expect(hosts).toEqual(
        expect.arrayContaining(['tracking.example.org', new URL(names.mlflowUrl).host, 'mlflow', 'mlflow:5000', '*.corp.example.com', '$(POD_IP):5000']),
      );
      expect(env(container(deploymentOf(chartObjects(render(config).files, 'mlflow')), 'mlflow'), 'POD_IP').valueFrom.fieldRef.fieldPath).toBe('status.podIP');
    });

    test('an explicit allowedHosts list replaces the derived one', () => {
      const hosts = argValue(
        container(deploymentOf(mlflowOf({ mlflow: { allowedHosts: ['*.example.com', '*.svc.cluster.local:5000'] } })), 'mlflow').args,
        '--allowed-hosts',
      );
      expect(hosts).toBe('*.example.com,*.svc.cluster.local:5000,$(POD_IP):5000');
    });

    // The default is the newest release built after mlflow/mlflow#23892 (merged 2026-06-10), which
    // put the `auth` extra (Flask-WTF) into docker/Dockerfile.full.
    test('the default image is the v3.17.0 -full release', () => {
      expect(configWith({}).mlflow.image).toBe('ghcr.io/mlflow/mlflow:v3.17.0-full');
      expect(container(deploymentOf(mlflowOf()), 'mlflow').image).toBe('ghcr.io/mlflow/mlflow:v3.17.0-full');
    });

    // Init containers run in order, each after the one before has started (a sidecar: its startup
    // probe passed) or completed, and the app containers after all of them (k8s.io/api
    // core/v1/types.go, Container.RestartPolicy, tag v0.31.0).
    test('cloudsql: the proxy sidecar starts first, then an init container waits for the schema revision, then mlflow server runs', () => {
      const d = deploymentOf(mlflowOf({ database: { mode: 'cloudsql' } }));
      expect(podSpec(d).initContainers.map((c: Manifest) => [c.name, c.restartPolicy])).toEqual([
        ['cloud-sql-proxy', 'Always'],
        ['wait-for-schema', undefined],
      ]);
      const wait = container(d, 'wait-for-schema');
      const server = container(d, 'mlflow');
      expect(wait.command.slice(0, 2)).toEqual(['python', '-c']);
      expect(wait.command[2]).toContain('_get_latest_schema_revision');
      // It returns only with both the tracking schema and the auth tables at their head.
      expect(wait.command[2]).toMatch(/if current == head:\n.*auth_schema_state\(\)\n\s+if auth_current == auth_head:\n.*\n\s+break\n/);
      expect(wait.command[2]).not.toMatch(/execvp|urlopen\("http:\/\/127/);
      // The same image (same Alembic head) and the same database settings as the server, without its KEK.
      expect(wait.image).toBe(server.image);
      expect(env(wait, 'MLFLOW_BACKEND_STORE_URI')).toEqual(env(server, 'MLFLOW_BACKEND_STORE_URI'));
      expect(env(wait, 'MLFLOW_CRYPTO_KEK_PASSPHRASE')).toBeUndefined();
      // charts/mlflow/serve.py starts the certificate watcher and execs `mlflow server`: the MLflow CLI
      // becomes the main process and receives the kubelet's SIGTERM itself.
      expect(server.command).toEqual(['python', '-c', mlflowProgram('serve'), 'mlflow', 'server']);
      expect(mlflowProgram('serve')).toMatch(/os\.execvp\(argv\[0\], argv\)/);
      expect(server.args[0]).toBe('--host');
      expect(podSpec(d).containers.map((c: Manifest) => c.name)).toEqual(['mlflow']);
    });

    test('statefulset: the schema wait is the only init container; no proxy', () => {
      const d = deploymentOf(mlflowOf({ database: { mode: 'statefulset' } }));
      expect(podSpec(d).initContainers.map((c: Manifest) => [c.name, c.restartPolicy])).toEqual([['wait-for-schema', undefined]]);
    });

    test('no script contains a $( that Kubernetes would expand', () => {
      for (const w of workloads(mlflowOf())) for (const c of containers(w)) for (const part of c.command ?? []) expect(part).not.toMatch(/\$\(/);
    });
  });

  describe('2. database', () => {
    test('cloudsql: the user is the IAM user of the MLflow Google service account, with no password anywhere', () => {
      const config = cloudsql();
      const names = platformNames(config);
      expect(names.cloudSql.iamUser).toBe(`mlflow-server@${config.project.id}.iam`);
      const uri = env(container(deploymentOf(chartObjects(render(config).files, 'mlflow')), 'mlflow'), 'MLFLOW_BACKEND_STORE_URI').value;
      expect(uri).toBe(`postgresql+psycopg2://mlflow-server%40${config.project.id}.iam@127.0.0.1:5432/${config.database.name}`);
      // The one-shot grant Job alone logs in to the database with a password, the admin's, by Secret
      // reference (__tests__/cloudsql-grant-job.test.ts). MLflow's own accounts have passwords, each
      // from a Secret (__tests__/mlflow-auth.test.ts): no env value and no URI holds one.
      const objects = chartObjects(render(config).files, 'mlflow').filter((o) => o.metadata.labels?.['app.kubernetes.io/component'] !== 'sql-grant');
      expect(JSON.stringify(objects)).not.toMatch(/PGPASSWORD|postgres(ql)?(\+psycopg2)?:\/\/[^@/"]*:[^@/"]*@/i);
      for (const w of workloads(objects))
        for (const c of containers(w))
          for (const e of c.env ?? [])
            if (/password|secret/i.test(e.name)) expect([e.name, e.valueFrom?.secretKeyRef?.name]).toEqual([e.name, expect.any(String)]);
    });

    test('cloudsql: the proxy sidecar connects to the instance with private IP, IAM login, structured logs, health and metrics', () => {
      const config = cloudsql();
      const proxy = container(deploymentOf(chartObjects(render(config).files, 'mlflow')), 'cloud-sql-proxy');
      expect(proxy.image).toBe('gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.1.0');
      expect(proxy.args[0]).toBe(platformNames(config).cloudSql.connectionName);
      expect(proxy.args).toEqual(
        expect.arrayContaining([
          '--private-ip',
          '--auto-iam-authn',
          '--structured-logs',
          '--health-check',
          '--http-address=0.0.0.0',
          '--prometheus',
          `--max-sigterm-delay=${PROXY_MAX_SIGTERM_SECONDS}s`,
        ]),
      );
      expect(proxy.startupProbe.httpGet.path).toBe('/startup');
      expect(proxy.livenessProbe.httpGet.path).toBe('/liveness');
      expect(proxy.readinessProbe).toBeUndefined();
    });

    test('proxy 2.0.0 and 2.1.0 receive only flags they know; a newer proxy gets --exit-zero-on-sigterm', () => {
      for (const version of ['2.0.0', '2.1.0']) {
        const args = container(
          deploymentOf(mlflowOf({ mlflow: { cloudSqlProxy: { image: `gcr.io/cloud-sql-connectors/cloud-sql-proxy:${version}` } } })),
          'cloud-sql-proxy',
        ).args.slice(1);
        for (const arg of args) expect([version, arg, proxySupports(parseVersion(version), arg)]).toEqual([version, arg, true]);
        expect(args).not.toContain('--exit-zero-on-sigterm');
      }
      const newer = container(
        deploymentOf(mlflowOf({ mlflow: { cloudSqlProxy: { image: 'gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.14.1' } } })),
        'cloud-sql-proxy',
      ).args;
      expect(newer).toContain('--exit-zero-on-sigterm');
    });

    // A native sidecar is stopped by the kubelet once the app containers have ended (k8s.io/api
    // core/v1/types.go, Container.RestartPolicy, tag v0.31.0), and during a pod's termination it gets
    // SIGTERM only after the last app container has exited (kubernetes/enhancements
    // keps/sig-node/753-sidecar-containers, "Termination of containers"). Nothing needs to stop the
    // proxy, nor keep it accepting connections after SIGTERM.
    test.each(['2.1.0', '2.14.1'])('proxy %s: no admin endpoint, no --quitquitquit and no --min-sigterm-delay in any pod', (version) => {
      const objects = mlflowOf({
        database: { mode: 'cloudsql' },
        mlflow: { cloudSqlProxy: { image: `gcr.io/cloud-sql-connectors/cloud-sql-proxy:${version}` } },
      });
      const pods = workloads(objects);
      expect(pods.map((w) => w.kind).sort()).toEqual(['CronJob', 'Deployment', 'Job']);
      for (const w of pods) {
        const proxy = container(w, 'cloud-sql-proxy');
        expect(proxy.restartPolicy).toBe('Always');
        expect(proxy.args.filter((a: string) => /^--(quitquitquit|admin-port|min-sigterm-delay)/.test(a))).toEqual([]);
        expect(proxy.ports).toEqual([{ name: 'proxy-metrics', containerPort: 9801, protocol: 'TCP' }]);
        for (const c of containers(w)) for (const part of [...(c.command ?? []), ...(c.args ?? [])]) expect(part).not.toMatch(/quitquitquit|9091/);
      }
    });

    // --auto-iam-authn makes every connection through the proxy an IAM login (cmd/root.go at v2.1.0:
    // "Enables Automatic IAM Authentication for all instances"); a client that logs in with a
    // database password needs the proxy without it.
    test('a proxy for a password login leaves out --auto-iam-authn and keeps everything else', () => {
      const base = { connectionName: 'p:r:i', version: parseVersion('2.1.0'), maxSigtermDelaySeconds: 10 };
      const iam = cloudSqlProxyArgs(base);
      expect(iam).toContain('--auto-iam-authn');
      expect(cloudSqlProxyArgs({ ...base, autoIamAuthn: false })).toEqual(iam.filter((a) => a !== '--auto-iam-authn'));
    });

    test('the version table decides: a flag is supported from its release on, and every emitted flag is in the table', () => {
      const lazy = PROXY_FLAGS.find((f) => f.flag === '--lazy-refresh')!;
      expect(proxySupports(parseVersion('2.10.9'), '--lazy-refresh')).toBe(false);
      expect(proxySupports(parseVersion(lazy.since), '--lazy-refresh')).toBe(true);
      expect(proxySupports(parseVersion('2.6.0'), '--exit-zero-on-sigterm')).toBe(true);
      expect(proxySupports(parseVersion('2.5.9'), '--exit-zero-on-sigterm')).toBe(false);
      expect(() => proxySupports(parseVersion('2.1.0'), '--no-such-flag')).toThrow(/missing from PROXY_FLAGS/);
    });

    // Each row was read from GoogleCloudPlatform/cloud-sql-proxy cmd/root.go at the release tags
    // (`git show v2.0.0:cmd/root.go`, v2.1.0, v2.2.0, v2.4.0, v2.5.0, v2.6.0, v2.9.0, v2.11.0, v2.12.0):
    // the flag is defined at `since` and absent from the release before it. v2.0.0 has no
    // --quitquitquit (it came in v2.1.0), and --debug-logs came in v2.9.0 (v2.1.0 has only --debug,
    // which opens pprof on the admin server).
    test.each([
      ['--port', '2.0.0', undefined],
      ['--address', '2.0.0', undefined],
      ['--private-ip', '2.0.0', undefined],
      ['--auto-iam-authn', '2.0.0', undefined],
      ['--structured-logs', '2.0.0', undefined],
      ['--health-check', '2.0.0', undefined],
      ['--http-address', '2.0.0', undefined],
      ['--http-port', '2.0.0', undefined],
      ['--prometheus', '2.0.0', undefined],
      ['--max-sigterm-delay', '2.0.0', undefined],
      ['--admin-port', '2.0.0', undefined],
      ['--max-connections', '2.0.0', undefined],
      ['--quitquitquit', '2.1.0', '2.0.0'],
      ['--auto-ip', '2.2.0', '2.1.2'],
      ['--run-connection-test', '2.4.0', '2.3.0'],
      ['--psc', '2.5.0', '2.4.0'],
      ['--exit-zero-on-sigterm', '2.6.0', '2.5.0'],
      ['--debug-logs', '2.9.0', '2.8.2'],
      ['--lazy-refresh', '2.11.0', '2.10.1'],
      ['--min-sigterm-delay', '2.12.0', '2.11.4'],
    ])('the flag table matches cmd/root.go: %s exists from %s on', (flag, since, before) => {
      expect(PROXY_FLAGS.find((f) => f.flag === flag)?.since).toBe(since);
      expect(proxySupports(parseVersion(since), flag)).toBe(true);
      if (before) expect(proxySupports(parseVersion(before), flag)).toBe(false);
    });

    test('every flag the table knows is pinned above', () => {
      expect(PROXY_FLAGS.map((f) => f.flag).sort()).toEqual(
        [
          '--port',
          '--address',
          '--private-ip',
          '--auto-iam-authn',
          '--structured-logs',
          '--health-check',
          '--http-address',
          '--http-port',
          '--prometheus',
          '--max-sigterm-delay',
          '--admin-port',
          '--max-connections',
          '--quitquitquit',
          '--auto-ip',
          '--run-connection-test',
          '--psc',
          '--exit-zero-on-sigterm',
          '--debug-logs',
          '--lazy-refresh',
          '--min-sigterm-delay',
        ].sort(),
      );
    });

    test('extra proxy flags are passed when the version has them', () => {
      const args = container(
        deploymentOf(
          mlflowOf({ mlflow: { cloudSqlProxy: { image: 'gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.14.1-alpine', extraArgs: ['--lazy-refresh'] } } }),
        ),
        'cloud-sql-proxy',
      ).args;
      expect(args).toContain('--lazy-refresh');
    });

    test('statefulset: connects to the in-cluster PostgreSQL Service with the password referenced from the Secret, never rendered', () => {
      const config = statefulset();
      const names = platformNames(config);
      const objects = chartObjects(render(config).files, 'mlflow');
      const server = container(deploymentOf(objects), 'mlflow');
      expect(containers(deploymentOf(objects)).map((c) => c.name)).toEqual(['wait-for-schema', 'mlflow']);
      // TLS with the certificate and host name checked against the platform CA (libpq verify-full,
      // which SQLAlchemy's psycopg2 dialect passes on from the URL query).
      expect(env(server, 'MLFLOW_BACKEND_STORE_URI').value).toBe(
        `postgresql+psycopg2://${config.database.statefulset.user}@${names.mlflowDb}:5432/${config.database.name}?sslmode=verify-full&sslrootcert=%2Fetc%2Fplatform-ca%2Fca.crt`,
      );
      // Every pod that connects mounts the CA bundle's ca.crt, and the host it dials is on the certificate.
      for (const pod of [deploymentOf(objects), migrationOf(objects), find(objects, 'CronJob', 'mlflow-gc')]) {
        expect(podSpec(pod).volumes).toContainEqual({
          name: 'platform-ca',
          configMap: { name: names.tls.caBundle, items: [{ key: 'ca.crt', path: 'ca.crt' }], defaultMode: 0o444 },
        });
        // The backup gate's upload talks to Cloud Storage only.
        for (const c of containers(pod).filter((x) => !['cloud-sql-proxy', 'backup-upload'].includes(x.name)))
          expect(c.volumeMounts).toContainEqual({ name: 'platform-ca', mountPath: '/etc/platform-ca', readOnly: true });
      }
      const dbCert = find(chartObjects(render(config).files, 'certificates'), 'Certificate', names.tls.db);
      expect(dbCert.spec.dnsNames).toContain(names.mlflowDb);
      expect(env(server, 'PGPASSWORD')).toEqual({
        name: 'PGPASSWORD',
        valueFrom: { secretKeyRef: { name: config.database.statefulset.credentialsSecret, key: 'mlflow-password' } },
      });
    });
  });

  // The server's Google account holds roles/storage.objectUser on the artifact bucket (it deletes
  // artifacts); in statefulset mode both the migration and gc log in to PostgreSQL with a password, and
  // gc deletes artifacts through the server (charts/mlflow/gc.py): only the migration's backup gate
  // needs a Google identity, the backup's, to upload its dump.
  test("3b. statefulset mode: the migration Job and gc run as ServiceAccounts of their own; only the migration has a Google identity, the backup's", () => {
    const config = statefulset();
    const names = platformNames(config);
    const objects = chartObjects(render(config).files, 'mlflow');
    const serverSa = names.serviceAccounts.mlflow.kubernetes!.name;
    const byComponent = (c: string) => workloads(objects).filter((w) => w.metadata.labels['app.kubernetes.io/component'] === c);
    expect(byComponent('server').map((w) => podSpec(w).serviceAccountName)).toEqual([serverSa]);
    expect(byComponent('migrate').map((w) => podSpec(w).serviceAccountName)).toEqual([names.mlflowJobServiceAccounts.migrate]);
    expect(byComponent('gc').map((w) => podSpec(w).serviceAccountName)).toEqual([names.mlflowJobServiceAccounts.gc]);
    const googleAccount = (name: string) => find(objects, 'ServiceAccount', name).metadata.annotations?.['iam.gke.io/gcp-service-account'];
    for (const name of [names.mlflowJobServiceAccounts.migrate, names.mlflowJobServiceAccounts.gc])
      expect(find(objects, 'ServiceAccount', name).automountServiceAccountToken).toBe(false);
    // gc has no Google identity; the migration only the backup's, for its backup gate's upload.
    expect(googleAccount(names.mlflowJobServiceAccounts.gc)).toBeUndefined();
    expect(googleAccount(names.mlflowJobServiceAccounts.migrate)).toBe(names.serviceAccounts.dbBackup.email);
    const grants = chartObjects(render(config).files, 'gcp')
      .filter((o) => o.kind === 'IAMPolicyMember')
      .map((o) => [o.spec.resourceRef?.name, String(o.spec.member ?? '')]);
    expect(grants.filter(([, m]) => /mlflow-(migrate|gc|auth-provision)\]/.test(m))).toEqual([
      [names.serviceAccounts.dbBackup.accountId, expect.stringMatching(/\[mlflow\/mlflow-migrate\]$/)],
    ]);
  });

  test('3. Workload Identity: the server, the migration and gc each act as their own Google service account, and use no API token', () => {
    const config = cloudsql();
    const names = platformNames(config);
    const objects = chartObjects(render(config).files, 'mlflow');
    const sa = find(objects, 'ServiceAccount', names.serviceAccounts.mlflow.kubernetes!.name);
    expect(sa.metadata.annotations['iam.gke.io/gcp-service-account']).toBe(names.serviceAccounts.mlflow.email);
    expect(sa.automountServiceAccountToken).toBe(false);
    const component = (w: Manifest) => w.metadata.labels['app.kubernetes.io/component'];
    const own: Record<string, { name: string; email: string; iamUser: string }> = {
      migrate: { name: names.mlflowJobServiceAccounts.migrate, email: names.serviceAccounts.mlflowMigrate.email, iamUser: names.cloudSql.migrateIamUser },
      gc: { name: names.mlflowJobServiceAccounts.gc, email: names.serviceAccounts.mlflowGc.email, iamUser: names.cloudSql.gcIamUser },
    };
    for (const [c, account] of Object.entries(own)) {
      const jobSa = find(objects, 'ServiceAccount', account.name);
      expect(jobSa.metadata.annotations['iam.gke.io/gcp-service-account']).toBe(account.email);
      expect(jobSa.automountServiceAccountToken).toBe(false);
      const [w] = workloads(objects).filter((o) => component(o) === c);
      expect(podSpec(w).serviceAccountName).toBe(account.name);
      // Its own IAM database user in the backend store URI: the proxy logs it in with its own token.
      const main = podSpec(w).containers[0];
      expect(env(main, 'MLFLOW_BACKEND_STORE_URI').value).toBe(
        `postgresql+psycopg2://${encodeURIComponent(account.iamUser)}@127.0.0.1:5432/${names.cloudSql.database}`,
      );
      expect(podSpec(w).initContainers.map((i: Manifest) => i.args ?? [])).toEqual([expect.arrayContaining(['--auto-iam-authn'])]);
    }
    // Everything else of the server's runs as the server; the grant Job and the provisioning Job have their own.
    const others = new Set(['migrate', 'gc', 'sql-grant', 'auth-provision']);
    for (const w of workloads(objects)) {
      if (!others.has(component(w))) expect(podSpec(w).serviceAccountName).toBe(sa.metadata.name);
      expect(podSpec(w).automountServiceAccountToken).toBe(false);
    }
  });

  describe('4. schema migrations', () => {
    test('the Job name carries the MLflow version and a content hash; it changes with the image and stays with unrelated config', () => {
      const base = migrationOf(mlflowOf()).metadata.name;
      expect(base).toMatch(/^mlflow-migrate-v3-17-0-full-[0-9a-f]{8}$/);
      expect(migrationOf(mlflowOf({ mlflow: { replicas: 3, maxReplicas: 5 } })).metadata.name).toBe(base);
      const bumped = migrationOf(mlflowOf({ mlflow: { image: 'ghcr.io/mlflow/mlflow:v3.17.1-full' }, workspaces: { mlflowClient: { version: '3.17.0' } } }))
        .metadata.name;
      expect(bumped).toMatch(/^mlflow-migrate-v3-17-1-full-[0-9a-f]{8}$/);
      // Same version, different pod template (more memory): a new Job, because Job templates are immutable.
      const resized = migrationOf(mlflowOf({ mlflow: { resources: { limits: { memory: '3Gi' } } } })).metadata.name;
      expect(resized).not.toBe(base);
      expect(resized.startsWith('mlflow-migrate-v3-17-0-full-')).toBe(true);
      // The sidecar is part of the pod template too.
      expect(migrationOf(mlflowOf({ mlflow: { cloudSqlProxy: { image: 'gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.14.1' } } })).metadata.name).not.toBe(
        base,
      );
      expect(migrationOf(mlflowOf({ database: { mode: 'statefulset' } })).metadata.name).not.toBe(base);
    });

    test('cloudsql: the Job reaches the database through the proxy sidecar, which the kubelet ends with the migration', () => {
      const job = migrationOf(mlflowOf({ database: { mode: 'cloudsql' } }));
      expect(podSpec(job).restartPolicy).toBe('Never');
      expect(podSpec(job).initContainers.map((c: Manifest) => [c.name, c.restartPolicy])).toEqual([['cloud-sql-proxy', 'Always']]);
      expect(podSpec(job).containers.map((c: Manifest) => c.name)).toEqual(['migrate']);
      const script = container(job, 'migrate').command[2];
      expect(script).toContain('"mlflow", "db", "upgrade"');
      expect(script).not.toMatch(/stop_proxy|wait_for_proxy/);
    });

    // charts/mlflow/cloudsql-grant.sql gives the IAM user USAGE and CREATE on schema public; until it
    // has run, creating MLflow's tables fails with "permission denied for schema public"
    // (__tests__/live/cloudsql-grant.test.ts shows it on PostgreSQL 15, 16 and 17).
    test('the Job waits for the Cloud SQL grant within its deadline instead of failing at once', () => {
      const job = migrationOf(mlflowOf({ database: { mode: 'cloudsql' } }));
      const migrate = container(job, 'migrate');
      expect(env(migrate, 'GRANT_WAIT_SECONDS')).toEqual({ name: 'GRANT_WAIT_SECONDS', value: String(MIGRATION_GRANT_WAIT_SECONDS) });
      expect(job.spec.activeDeadlineSeconds).toBe(MIGRATION_DEADLINE_SECONDS);
      // The wait leaves time for the migration itself before the deadline ends the pod.
      expect(MIGRATION_DEADLINE_SECONDS - MIGRATION_GRANT_WAIT_SECONDS).toBeGreaterThanOrEqual(600);
      expect(migrate.command[2]).toContain(`PRIVILEGE_QUERY = "${schemaPrivilegeQuery()}"`);
      // cloudsql: the wait, the take-over and the owner role come first (prepare_owner); statefulset: before a migration only.
      expect(migrate.command[2]).toMatch(/def migrate\(\):\n\s+if OWNER and not prepare_owner\(\):\n\s+return 1\n/);
      expect(migrate.command[2]).toMatch(
        /if not OWNER and not wait_for_grant\(int\(os\.environ\["GRANT_WAIT_SECONDS"\]\)\):\n\s+return 1\n\s+if current is None and tables == 0:/,
      );
    });

    // charts/mlflow/migrate.py, BACKUP_GATE=cloudsql (__tests__/python/test_migrate_backup.py): an
    // on-demand backup through the Admin API, as the backup account, before any schema change.
    test('cloudsql: the backup gate gets the instance, the backup account and its wait; the test seam is never rendered', () => {
      const config = configWith({ namePrefix: 'team-', database: { mode: 'cloudsql' } });
      const names = platformNames(config);
      const job = migrationOf(chartObjects(render(config).files, 'mlflow'));
      const migrate = container(job, 'migrate');
      // No SQLADMIN_API_URL among them: the unit tests' seam is never rendered.
      const gate = migrate.env.filter((e: Manifest) => /^(BACKUP_|CLOUDSQL_|SQLADMIN_)/.test(e.name));
      expect(gate).toEqual([
        { name: 'BACKUP_GATE', value: 'cloudsql' },
        { name: 'CLOUDSQL_PROJECT', value: config.project.id },
        { name: 'CLOUDSQL_INSTANCE', value: names.cloudSql.instance },
        { name: 'BACKUP_ACCOUNT', value: 'team-mlflow-sql-backup@mlflow-gke-example.iam.gserviceaccount.com' },
        { name: 'BACKUP_WAIT_SECONDS', value: String(MIGRATION_BACKUP_WAIT_SECONDS) },
      ]);
      expect(names.serviceAccounts.mlflowSqlBackup.email).toBe('team-mlflow-sql-backup@mlflow-gke-example.iam.gserviceaccount.com');
      // The Job runs as the migration's own account, which may only mint the backup account's tokens.
      expect(podSpec(job).serviceAccountName).toBe(names.mlflowJobServiceAccounts.migrate);
      // Even after the whole grant wait, the backup wait leaves the migration time before the deadline.
      expect(MIGRATION_DEADLINE_SECONDS - MIGRATION_GRANT_WAIT_SECONDS - MIGRATION_BACKUP_WAIT_SECONDS).toBeGreaterThanOrEqual(300);
    });

    test('statefulset: no Cloud SQL backup settings in the migration Job', () => {
      const migrate = container(migrationOf(chartObjects(render(statefulset()).files, 'mlflow')), 'migrate');
      expect(migrate.env.filter((e: Manifest) => /^(CLOUDSQL_|BACKUP_ACCOUNT|BACKUP_WAIT_SECONDS|SQLADMIN_)/.test(e.name))).toEqual([]);
      expect(migrate.env.find((e: Manifest) => e.name === 'BACKUP_GATE')?.value).not.toBe('cloudsql');
    });

    test("cloudsql: the Job acts as the owner role and takes the tables over from the server's IAM user; the server's init container hands them over", () => {
      const config = cloudsql();
      const names = platformNames(config);
      const objects = chartObjects(render(config).files, 'mlflow');
      const migrate = container(migrationOf(objects), 'migrate');
      expect(env(migrate, 'DB_OWNER_ROLE').value).toBe(names.cloudSql.roles.owner);
      expect(env(migrate, 'DB_WRITER_ROLE').value).toBe(names.cloudSql.roles.writer);
      expect(env(migrate, 'DB_HANDOVER_FROM').value).toBe(names.cloudSql.iamUser);
      const server = podSpec(find(objects, 'Deployment', names.mlflow));
      const wait = server.initContainers.find((c: Manifest) => c.name === 'wait-for-schema');
      expect(env(wait, 'DB_OWNER_ROLE').value).toBe(names.cloudSql.roles.owner);
      expect(env(wait, 'DB_WRITER_ROLE').value).toBe(names.cloudSql.roles.writer);
      expect(env(wait, 'DB_HANDOVER_FROM')).toBeUndefined();
      // The server itself and gc never act as the owner.
      for (const c of [server.containers.find((x: Manifest) => x.name === 'mlflow'), podSpec(find(objects, 'CronJob', `${names.mlflow}-gc`)).containers[0]])
        expect(env(c, 'DB_OWNER_ROLE')).toBeUndefined();
      // statefulset: the MLflow role owns its database; none of it.
      const sts = chartObjects(render(statefulset()).files, 'mlflow');
      expect(env(container(migrationOf(sts), 'migrate'), 'DB_OWNER_ROLE')).toBeUndefined();
    });

    test('statefulset: the Job has no proxy and uses the Secret-referenced password', () => {
      const job = migrationOf(mlflowOf({ database: { mode: 'statefulset' } }));
      // The backup gate's init containers first (their behaviour: __tests__/live/backup-gate.test.ts).
      expect(containers(job).map((c) => c.name)).toEqual(['backup-plan', 'backup-dump', 'backup-upload', 'migrate']);
      expect(env(container(job, 'migrate'), 'BACKUP_GATE').value).toBe('statefulset');
      expect(env(container(job, 'migrate'), 'PGPASSWORD').valueFrom.secretKeyRef.key).toBe('mlflow-password');
    });
  });

  describe('5. high availability', () => {
    test('the autoscaler keeps at least the configured replicas; the Deployment leaves the count to it', () => {
      const objects = mlflowOf({ mlflow: { replicas: 3, maxReplicas: 7, targetCpuUtilization: 60 }, database: { cloudsql: { maxConnections: 1000 } } });
      const hpa = find(objects, 'HorizontalPodAutoscaler', 'mlflow');
      expect(hpa.spec.minReplicas).toBe(3);
      expect(hpa.spec.maxReplicas).toBe(7);
      expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'mlflow' });
      expect(hpa.spec.metrics[0].containerResource).toEqual({ name: 'cpu', container: 'mlflow', target: { type: 'Utilization', averageUtilization: 60 } });
      expect(deploymentOf(objects).spec.replicas).toBeUndefined();
    });

    test('a PodDisruptionBudget exists only when the autoscaler may run 2 or more replicas', () => {
      expect(mlflowOf({ mlflow: { replicas: 1, maxReplicas: 1 } }).some((o) => o.kind === 'PodDisruptionBudget')).toBe(false);
      expect(find(mlflowOf({ mlflow: { replicas: 1, maxReplicas: 2 } }), 'PodDisruptionBudget', 'mlflow').spec.maxUnavailable).toBe(1);
      const pdb = find(mlflowOf({ mlflow: { replicas: 2 } }), 'PodDisruptionBudget', 'mlflow');
      expect(pdb.spec.maxUnavailable).toBe(1);
      expect(pdb.spec.unhealthyPodEvictionPolicy).toBe('AlwaysAllow');
    });

    test('prod keeps at least 2 replicas', () => {
      const prod = configsUnderTest().find((c) => c.name === 'prod');
      expect(prod?.config.mlflow.replicas).toBeGreaterThanOrEqual(2);
    });

    test('pods spread across zones and nodes', () => {
      const spread = podSpec(deploymentOf(mlflowOf())).topologySpreadConstraints;
      expect(spread.map((s: Manifest) => s.topologyKey)).toEqual(['topology.kubernetes.io/zone', 'kubernetes.io/hostname']);
    });

    test('startup, readiness and liveness probes on /health; graceful termination outlasts the drain', () => {
      const d = deploymentOf(mlflowOf());
      const server = container(d, 'mlflow');
      for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe'])
        expect(server[probe].httpGet).toEqual({ path: '/health', port: 'https', scheme: 'HTTPS' });
      expect(server.lifecycle.preStop.exec.command).toEqual(['sleep', String(PRE_STOP_SECONDS)]);
      expect(podSpec(d).terminationGracePeriodSeconds).toBeGreaterThan(PRE_STOP_SECONDS + PROXY_MAX_SIGTERM_SECONDS);
    });

    test('the update strategy follows config', () => {
      expect(deploymentOf(mlflowOf()).spec.strategy.rollingUpdate).toEqual({ maxSurge: 1, maxUnavailable: 0 });
      expect(deploymentOf(mlflowOf({ mlflow: { updateStrategy: 'Recreate' } })).spec.strategy).toEqual({ type: 'Recreate' });
    });

    test('selectors match the pod labels of the Deployment, the Service, the PDB and the PodMonitoring', () => {
      const objects = mlflowOf();
      const podLabels = deploymentOf(objects).spec.template.metadata.labels;
      const matches = (selector: Record<string, string>) => Object.entries(selector).every(([k, v]) => podLabels[k] === v);
      expect(matches(deploymentOf(objects).spec.selector.matchLabels)).toBe(true);
      expect(matches(find(objects, 'Service', 'mlflow').spec.selector)).toBe(true);
      expect(matches(find(objects, 'PodDisruptionBudget', 'mlflow').spec.selector.matchLabels)).toBe(true);
      expect(matches(find(objects, 'PodMonitoring', 'mlflow').spec.selector.matchLabels)).toBe(true);
      expect(matches(find(objects, 'NetworkPolicy', 'mlflow-server-ingress').spec.podSelector.matchLabels)).toBe(true);
    });
  });

  test('6. metrics: PodMonitoring scrapes MLflow /metrics and, in cloudsql mode, the proxy port', () => {
    const cloud = find(mlflowOf({ database: { mode: 'cloudsql' } }), 'PodMonitoring', 'mlflow');
    expect(cloud.apiVersion).toBe('monitoring.googleapis.com/v1');
    expect(cloud.spec.endpoints.map((e: Manifest) => `${e.port}${e.path}`)).toEqual(['https/metrics', '9801/metrics']);
    const local = find(mlflowOf({ database: { mode: 'statefulset' } }), 'PodMonitoring', 'mlflow');
    expect(local.spec.endpoints.map((e: Manifest) => e.port)).toEqual(['https']);
  });

  // prometheus-engine @2ffde4e pkg/operator/apis/monitoring/v1/http_types.go: scheme, tls.serverName
  // ("used to verify the hostname for the targets"), tls.ca from a Secret of the PodMonitoring's own
  // namespace; examples/instrumentation/go-synthetic/go-synthetic-basic-auth.yaml grants the collector
  // ServiceAccount (gmp-system/collector) read access to such a Secret with a Role and RoleBinding.
  test("6b. metrics over TLS: the collector checks the server certificate against the CA bundle's CA-only Secret, and may read exactly the Secrets the PodMonitoring names, none with a key", () => {
    const config = cloudsql();
    const names = platformNames(config);
    const objects = mlflowOf();
    const [endpoint] = find(objects, 'PodMonitoring', 'mlflow').spec.endpoints;
    expect(endpoint.scheme).toBe('https');
    expect(endpoint.tls).toEqual({ serverName: 'mlflow.mlflow.svc', ca: { secret: { name: names.tls.caBundle, key: 'ca.crt' } } });
    // The name the collector expects is on the server's certificate.
    expect(find(chartObjects(render(config).files, 'certificates'), 'Certificate', names.tls.mlflow).spec.dnsNames).toContain(endpoint.tls.serverName);
    // The CA Secret is a target of the trust-manager Bundle (CA certificate only), not a cert-manager Secret.
    const { objects: all } = render(config);
    const bundle = find(all, 'Bundle', names.tls.caBundle);
    expect(bundle.spec.target.secret).toEqual({ key: 'ca.crt' });
    const certificateSecrets = all.filter((o) => o.kind === 'Certificate').map((c) => c.spec.secretName);
    const referenced = [...JSON.stringify(find(objects, 'PodMonitoring', 'mlflow').spec).matchAll(/"secret":\{"key":"[^"]+","name":"([^"]+)"/g)].map(
      (m) => m[1],
    );
    expect([...new Set(referenced)].sort()).toEqual([names.mlflowAuth.metrics.secret, names.tls.caBundle].sort());
    const role = find(objects, 'Role', 'mlflow-ca-bundle-reader');
    expect(role.rules).toEqual([{ apiGroups: [''], resources: ['secrets'], resourceNames: [names.tls.caBundle], verbs: ['get', 'list', 'watch'] }]);
    // Every Role bound to the collector, together: exactly the Secrets the PodMonitoring names, none a cert-manager Secret.
    const collectorRoles = objects
      .filter((o) => o.kind === 'RoleBinding' && o.subjects.some((x: Manifest) => x.name === 'collector' && x.namespace === 'gmp-system'))
      .map((b) => find(objects, 'Role', b.roleRef.name));
    const readable = collectorRoles.flatMap((r) => r.rules.flatMap((x: Manifest) => (x.resources.includes('secrets') ? x.resourceNames : []))).sort();
    expect(readable).toEqual([...new Set(referenced)].sort());
    for (const name of readable) expect(certificateSecrets).not.toContain(name);
    const binding = find(objects, 'RoleBinding', 'mlflow-ca-bundle-reader');
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata.name });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'collector', namespace: 'gmp-system' }]);
    // Never the server's own Secret, which holds its key.
    expect(JSON.stringify(objects.filter((o) => o.kind === 'Role'))).not.toContain(names.tls.mlflow);
  });

  describe('6b. behind the load balancer', () => {
    const uvicornOption = (flag: string) => {
      const opts = argValue(container(deploymentOf(mlflowOf()), 'mlflow').args, '--uvicorn-opts').split(' ');
      return opts[opts.indexOf(flag) + 1];
    };
    test("idle connections outlast the load balancer's 600 s backend keep-alive, so it never sends on a closing one", () => {
      expect(KEEP_ALIVE_SECONDS).toBeGreaterThan(610);
      expect(uvicornOption('--timeout-keep-alive')).toBe(String(KEEP_ALIVE_SECONDS));
    });
    test("a stopping worker waits for requests in flight at most until the pod's grace period ends", () => {
      expect(Number(uvicornOption('--timeout-graceful-shutdown'))).toBe(GRACEFUL_SHUTDOWN_SECONDS);
      expect(PRE_STOP_SECONDS + GRACEFUL_SHUTDOWN_SECONDS).toBeLessThan(podSpec(deploymentOf(mlflowOf())).terminationGracePeriodSeconds);
    });
    test('a reload gives each new worker a minute to start, through the variable every uvicorn accepts', () => {
      expect(env(container(deploymentOf(mlflowOf()), 'mlflow'), 'UVICORN_TIMEOUT_WORKER_HEALTHCHECK')).toEqual({
        name: 'UVICORN_TIMEOUT_WORKER_HEALTHCHECK',
        value: String(WORKER_READY_SECONDS),
      });
      // Two workers, each within the bound, fit the watcher's 180 s wait for the new certificate.
      expect(2 * WORKER_READY_SECONDS).toBeLessThan(180);
    });
    test('the browser UI behind the edge may write: CORS allows exactly the edge origin', () => {
      const names = platformNames(cloudsql());
      expect(argValue(container(deploymentOf(mlflowOf()), 'mlflow').args, '--cors-allowed-origins')).toBe(`https://${names.mlflowHost}`);
    });
    test("with no edge, CORS stays at MLflow's default (localhost origins only)", () => {
      expect(container(deploymentOf(mlflowOf({ edge: { enabled: false } })), 'mlflow').args).not.toContain('--cors-allowed-origins');
    });
  });

  describe('6c. HTTPS', () => {
    // uvicorn 0.35.0 uvicorn/main.py --ssl-certfile, --ssl-keyfile; mlflow/cli.py --uvicorn-opts ("forwarded
    // to uvicorn processes"), shlex-split by mlflow/server/__init__.py _build_uvicorn_command.
    test('the server serves its certificate through uvicorn, from the Secret cert-manager fills, mounted without subPath', () => {
      const names = platformNames(cloudsql());
      const d = deploymentOf(mlflowOf());
      const server = container(d, 'mlflow');
      expect(argValue(server.args, '--uvicorn-opts')).toMatch(/^--ssl-certfile \/etc\/mlflow\/tls\/tls\.crt --ssl-keyfile \/etc\/mlflow\/tls\/tls\.key /);
      expect(server.volumeMounts).toContainEqual({ name: 'tls', mountPath: '/etc/mlflow/tls', readOnly: true });
      expect(server.volumeMounts.every((m: Manifest) => m.subPath === undefined)).toBe(true);
      expect(podSpec(d).volumes).toContainEqual({
        name: 'tls',
        secret: {
          secretName: names.tls.mlflow,
          items: [
            { key: 'tls.crt', path: 'tls.crt' },
            { key: 'tls.key', path: 'tls.key' },
          ],
          defaultMode: 0o440,
        },
      });
      // Only the server mounts its key; the init container and the Jobs get the CA alone.
      for (const c of containers(d).filter((x) => x.name !== 'mlflow')) expect((c.volumeMounts ?? []).map((m: Manifest) => m.name)).not.toContain('tls');
      // serve.py's watcher compares this file.
      expect(env(server, 'TLS_CERT_FILE').value).toBe('/etc/mlflow/tls/tls.crt');
      expect(server.ports).toEqual([{ name: 'https', containerPort: 5000, protocol: 'TCP' }]);
    });

    test('the Service port is named https and, with the edge, tells the load balancer to speak HTTPS to it', () => {
      const svc = find(mlflowOf(), 'Service', 'mlflow');
      expect(svc.spec.ports).toEqual([{ name: 'https', port: 5000, targetPort: 'https', protocol: 'TCP' }]);
      expect(JSON.parse(svc.metadata.annotations['cloud.google.com/app-protocols'])).toEqual({ https: 'HTTPS' });
      expect(find(mlflowOf({ edge: { enabled: false } }), 'Service', 'mlflow').metadata.annotations?.['cloud.google.com/app-protocols']).toBeUndefined();
    });

    test("gc reaches the server over HTTPS and trusts the platform CA through MLflow's own variable", () => {
      const gc = container(find(mlflowOf(), 'CronJob', 'mlflow-gc'), 'gc');
      expect(env(gc, 'MLFLOW_TRACKING_URI').value).toBe('https://mlflow.mlflow.svc.cluster.local:5000');
      expect(env(gc, 'MLFLOW_TRACKING_SERVER_CERT_PATH').value).toBe('/etc/platform-ca/ca.crt');
      // Not the variables that would replace the system store of every other client in the pod.
      for (const name of ['REQUESTS_CA_BUNDLE', 'SSL_CERT_FILE']) expect(env(gc, name)).toBeUndefined();
    });
  });

  describe('7. network policies', () => {
    test('ingress only from workspace pods, the load balancer ranges and the managed Prometheus collector', () => {
      const config = cloudsql();
      const np = find(chartObjects(render(config).files, 'mlflow'), 'NetworkPolicy', 'mlflow-server-ingress');
      expect(np.spec.policyTypes).toEqual(['Ingress']);
      const [workspaces, lb, prometheus] = np.spec.ingress;
      expect(workspaces.from).toEqual([
        {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': config.namespaces.workspaces } },
          podSelector: { matchLabels: { 'app.kubernetes.io/part-of': 'mlflow-gke', 'app.kubernetes.io/component': 'workspace' } },
        },
      ]);
      expect(lb.from).toEqual(LOAD_BALANCER_RANGES.map((cidr) => ({ ipBlock: { cidr } })));
      expect(prometheus.from[0].namespaceSelector.matchLabels).toEqual({ 'kubernetes.io/metadata.name': 'gmp-system' });
      expect(prometheus.from[0].podSelector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'collector' });
      expect(prometheus.ports.map((p: Manifest) => p.port)).toEqual([5000, 9801]);
      for (const rule of np.spec.ingress) expect(rule.ports.length).toBeGreaterThan(0);
    });

    test('without the public entry the load balancer ranges are not admitted', () => {
      const np = find(mlflowOf({ edge: { enabled: false } }), 'NetworkPolicy', 'mlflow-server-ingress');
      expect(JSON.stringify(np)).not.toContain('35.191.0.0/16');
    });

    // The internet rule is the shared one of charts/lib/network-policy.ts (__tests__/network-policy.test.ts).
    test('cloudsql egress: the private services range on 3307, the metadata server, Google APIs on 443 outside the cluster', () => {
      const config = configWith({ database: { mode: 'cloudsql' }, network: { privateServicesCidr: '10.99.0.0/16' } });
      const np = find(chartObjects(render(config).files, 'mlflow'), 'NetworkPolicy', 'mlflow-egress');
      expect(np.spec.policyTypes).toEqual(['Egress']);
      expect(np.spec.podSelector.matchExpressions[0].values).toEqual(['server', 'migrate', 'gc']);
      const [dbRule, ...rest] = np.spec.egress;
      const metadata = rest.slice(0, 2);
      const apis = rest[2];
      expect(rest).toHaveLength(3);
      expect(dbRule).toEqual({ to: [{ ipBlock: { cidr: '10.99.0.0/16' } }], ports: [{ protocol: 'TCP', port: 3307 }] });
      expect(apis.to[0].ipBlock).toEqual({ cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16'] });
      expect(apis.ports).toEqual([{ protocol: 'TCP', port: 443 }]);
      expect(metadata.map((m: Manifest) => `${m.to[0].ipBlock.cidr}:${m.ports[0].port}`)).toEqual(['169.254.169.254/32:80', '169.254.169.252/32:988']);
    });

    test('statefulset egress: the PostgreSQL pods on 5432, selected by the labels the postgres chart uses', () => {
      const config = statefulset();
      const np = find(chartObjects(render(config).files, 'mlflow'), 'NetworkPolicy', 'mlflow-egress');
      expect(np.spec.egress[0]).toEqual({
        to: [
          {
            podSelector: {
              matchLabels: {
                'app.kubernetes.io/name': platformNames(config).mlflowDb,
                'app.kubernetes.io/instance': config.environment,
                'app.kubernetes.io/component': 'database',
              },
            },
          },
        ],
        ports: [{ protocol: 'TCP', port: 5432 }],
      });
    });

    test('every pod the egress policy covers carries the labels it selects', () => {
      const objects = mlflowOf();
      const np = find(objects, 'NetworkPolicy', 'mlflow-egress');
      for (const w of workloads(objects)) {
        const labels = w.kind === 'CronJob' ? w.spec.jobTemplate.spec.template.metadata.labels : w.spec.template.metadata.labels;
        for (const [k, v] of Object.entries(np.spec.podSelector.matchLabels)) expect(labels[k]).toBe(v);
        expect(np.spec.podSelector.matchExpressions[0].values).toContain(labels['app.kubernetes.io/component']);
      }
    });
  });

  test('8. security baseline: non-root numeric user, no privilege escalation, drop ALL, seccomp, read-only root, requests and limits', () => {
    for (const { config } of [{ config: cloudsql() }, { config: statefulset() }]) {
      const objects = [...chartObjects(render(config).files, 'mlflow'), ...chartObjects(render(config).files, 'tests/mlflow-verify')];
      const provisioning = objects.filter((o) => o.metadata.labels?.['app.kubernetes.io/component'] === 'auth-provision' && o.kind === 'Job');
      expect(provisioning).toHaveLength(1);
      for (const w of [...workloads(objects), ...provisioning]) {
        expect(podSpec(w).securityContext.runAsNonRoot).toBe(true);
        expect(podSpec(w).securityContext.seccompProfile).toEqual({ type: 'RuntimeDefault' });
        for (const c of containers(w)) {
          const sc = c.securityContext;
          expect(sc.runAsNonRoot).toBe(true);
          expect(Number.isInteger(sc.runAsUser ?? podSpec(w).securityContext.runAsUser)).toBe(true);
          expect(sc.allowPrivilegeEscalation).toBe(false);
          expect(sc.capabilities).toEqual({ drop: ['ALL'] });
          expect(sc.seccompProfile).toEqual({ type: 'RuntimeDefault' });
          expect(sc.readOnlyRootFilesystem).toBe(true);
          // cpu and memory everywhere; the server also reserves ephemeral storage for its artifact staging,
          // the provisioning Job for its small /tmp.
          const kinds = (c.name === 'mlflow' && w.kind === 'Deployment') || c.name === 'provision' ? ['cpu', 'ephemeral-storage', 'memory'] : ['cpu', 'memory'];
          expect(Object.keys(c.resources.requests).sort()).toEqual(kinds);
          expect(Object.keys(c.resources.limits).sort()).toEqual(kinds);
          expect(c.image).not.toMatch(/:latest$/);
        }
        const mlflowContainer = containers(w).find((c) => c.name !== 'cloud-sql-proxy')!;
        expect(mlflowContainer.volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
        expect(env(mlflowContainer, 'HOME').value).toBe('/tmp');
      }
    }
  });

  describe('9. post-deploy verification', () => {
    test('is rendered to dist/tests only, in the platform namespace, and exercises every kind of record', () => {
      const { files } = render(cloudsql());
      expect(files.some((f) => !f.path.includes('/') && f.content.includes('name: mlflow-verify'))).toBe(false);
      const objects = chartObjects(files, 'tests/mlflow-verify');
      const job = objects.find((o) => o.kind === 'Job')!;
      expect(job.metadata.namespace).toBe('mlflow');
      const script = container(job, 'verify').command[2];
      for (const call of [
        'create_experiment',
        'log_param',
        'log_metric',
        'log_artifact',
        'create_registered_model',
        'create_model_version',
        'get_run',
        'download_artifacts',
        'get_model_version',
      ])
        expect(script).toContain(call);
      expect(script).toContain('sys.exit("MLflow verification FAILED');
      expect(env(container(job, 'verify'), 'MLFLOW_TRACKING_URI').value).toBe(platformNames(cloudsql()).mlflowUrl);
    });

    test('its Job is named after its spec, so that a changed check is a new Job (a pod template is immutable) and an unchanged one keeps its name', () => {
      const job = (config: Config) => chartObjects(render(config).files, 'tests/mlflow-verify').find((o) => o.kind === 'Job')!;
      const before = job(cloudsql());
      expect(before.metadata.name).toMatch(/^mlflow-verify-[0-9a-f]{8}$/);
      expect(job(cloudsql()).metadata.name).toBe(before.metadata.name);
      expect(
        job(
          configWith({
            database: { mode: 'cloudsql' },
            mlflow: { image: 'ghcr.io/mlflow/mlflow:v3.16.1-full' },
            workspaces: { mlflowClient: { version: '3.17.0' } },
          }),
        ).metadata.name,
      ).not.toBe(before.metadata.name);
    });

    test('its NetworkPolicies open only verify pod -> MLflow server on the MLflow port', () => {
      const objects = chartObjects(render(cloudsql()).files, 'tests/mlflow-verify');
      const egress = find(objects, 'NetworkPolicy', 'mlflow-verify-egress');
      const ingress = find(objects, 'NetworkPolicy', 'mlflow-verify-to-server');
      expect(egress.spec.egress[0].to[0].podSelector.matchLabels['app.kubernetes.io/component']).toBe('server');
      expect(ingress.spec.ingress[0].from[0].podSelector.matchLabels['app.kubernetes.io/component']).toBe('verify');
      expect(ingress.spec.podSelector.matchLabels['app.kubernetes.io/component']).toBe('server');
    });
  });

  describe('10b. gc reaches the tracking server', () => {
    // mlflow/cli/__init__.py gc() (3.10 and later): "Tracking URL is not set. Please set
    // MLFLOW_TRACKING_URI environment variable or provide --tracking-uri cli option." is raised before
    // any run is touched, and a run's proxied `mlflow-artifacts:` artifacts are deleted through the
    // tracking server the URI names; --artifacts-destination does not apply to those URIs.
    test('the CronJob sets MLFLOW_TRACKING_URI to the in-cluster Service and passes no --artifacts-destination', () => {
      const config = cloudsql();
      const objects = chartObjects(render(config).files, 'mlflow');
      const c = container(find(objects, 'CronJob', 'mlflow-gc'), 'gc');
      expect(env(c, 'MLFLOW_TRACKING_URI')).toEqual({ name: 'MLFLOW_TRACKING_URI', value: platformNames(config).mlflowUrl });
      expect(env(c, 'ARTIFACTS_DESTINATION')).toBeUndefined();
      expect(c.command[2]).not.toContain('--artifacts-destination');
      expect(c.command[2]).toContain('"--backend-store-uri", URI');
      // gc waits for /health first, so a rollout of the server does not fail the run.
      expect(c.command[2]).toMatch(/if not wait_for_server\(\):\n\s+return 1\n\s+command = \[/);
      // The server accepts the Host header gc sends.
      const hosts = argValue(container(deploymentOf(objects), 'mlflow').args, '--allowed-hosts').split(',');
      expect(hosts).toContain(new URL(platformNames(config).mlflowUrl).host);
    });

    test('NetworkPolicies let gc pods, and only them, reach the server port', () => {
      const objects = mlflowOf();
      const gcPods = find(objects, 'CronJob', 'mlflow-gc').spec.jobTemplate.spec.template.metadata.labels;
      const serverPods = deploymentOf(objects).spec.template.metadata.labels;
      const matches = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);
      const egress = find(objects, 'NetworkPolicy', 'mlflow-gc-egress');
      expect(matches(egress.spec.podSelector.matchLabels, gcPods)).toBe(true);
      expect(matches(egress.spec.podSelector.matchLabels, serverPods)).toBe(false);
      expect(egress.spec.egress).toHaveLength(1);
      expect(matches(egress.spec.egress[0].to[0].podSelector.matchLabels, serverPods)).toBe(true);
      expect(egress.spec.egress[0].ports).toEqual([{ protocol: 'TCP', port: 5000 }]);
      const ingress = find(objects, 'NetworkPolicy', 'mlflow-gc-to-server');
      expect(matches(ingress.spec.podSelector.matchLabels, serverPods)).toBe(true);
      expect(ingress.spec.policyTypes).toEqual(['Ingress']);
      expect(matches(ingress.spec.ingress[0].from[0].podSelector.matchLabels, gcPods)).toBe(true);
      expect(matches(ingress.spec.ingress[0].from[0].podSelector.matchLabels, serverPods)).toBe(false);
      expect(ingress.spec.ingress[0].ports).toEqual([{ protocol: 'TCP', port: 5000 }]);
    });
  });

  test('10. garbage collection: a CronJob runs mlflow gc with the configured age, through the proxy sidecar', () => {
    const gc = find(mlflowOf({ database: { mode: 'cloudsql' }, mlflow: { gcSchedule: '0 4 * * *', gcOlderThan: '14d' } }), 'CronJob', 'mlflow-gc');
    expect(gc.spec.schedule).toBe('0 4 * * *');
    expect(gc.spec.concurrencyPolicy).toBe('Forbid');
    const c = container(gc, 'gc');
    expect(env(c, 'GC_OLDER_THAN').value).toBe('14d');
    expect(c.command[2]).toContain('"mlflow", "gc"');
    expect(podSpec(gc).restartPolicy).toBe('Never');
    expect(podSpec(gc).initContainers.map((i: Manifest) => [i.name, i.restartPolicy])).toEqual([['cloud-sql-proxy', 'Always']]);
  });

  describe('10c. artifact staging space', () => {
    // mlflow/server/handlers.py: _upload_artifact writes the whole request body into a
    // tempfile.TemporaryDirectory() before log_artifact sends it to the bucket, and _download_artifact
    // downloads into one before streaming it back. A 1Gi /tmp capped every artifact at 1Gi and got
    // the pod evicted when exceeded.
    test('the server /tmp is sized from mlflow.scratchSize (default 10Gi) and the container requests ephemeral storage to match', () => {
      const server = (objects: Manifest[]) => container(deploymentOf(objects), 'mlflow');
      const tmpOf = (objects: Manifest[]) => podSpec(deploymentOf(objects)).volumes.find((v: Manifest) => v.name === 'tmp');
      const byDefault = mlflowOf();
      expect(configWith({}).mlflow.scratchSize).toBe('10Gi');
      expect(tmpOf(byDefault).emptyDir.sizeLimit).toBe('10Gi');
      expect(server(byDefault).volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
      // /tmp (10240Mi) + metrics (256Mi) + 512Mi of log room, requested and limited alike.
      expect(server(byDefault).resources.requests['ephemeral-storage']).toBe('11008Mi');
      expect(server(byDefault).resources.limits['ephemeral-storage']).toBe('11008Mi');
      const big = mlflowOf({ mlflow: { scratchSize: '40Gi' } });
      expect(tmpOf(big).emptyDir.sizeLimit).toBe('40Gi');
      expect(server(big).resources.requests['ephemeral-storage']).toBe(`${40 * 1024 + 256 + 512}Mi`);
    });

    test('the one-shot Jobs keep a small /tmp: they stage no artifacts', () => {
      const objects = mlflowOf({ mlflow: { scratchSize: '40Gi' } });
      for (const job of [migrationOf(objects), find(objects, 'CronJob', 'mlflow-gc')])
        expect(podSpec(job).volumes.find((v: Manifest) => v.name === 'tmp').emptyDir.sizeLimit).toBe('1Gi');
    });

    test('a staging directory under 1Gi, or over half the node boot disk, is refused', () => {
      expect(configError({ mlflow: { scratchSize: '512Mi' } })).toContain('mlflow.scratchSize: "512Mi" is not allowed: must be at least 1Gi');
      expect(configError({ mlflow: { scratchSize: '60Gi' } })).toContain(
        'mlflow.scratchSize: "60Gi" is not allowed: must be at most half of the node boot disk (cluster.diskSizeGb 100 GB)',
      );
      expect(() => configWith({ mlflow: { scratchSize: '60Gi' }, cluster: { diskSizeGb: 200 } })).not.toThrow();
    });
  });

  describe('10d. AI Gateway key and server jobs', () => {
    // mlflow/utils/crypto.py: KEKManager reads MLFLOW_CRYPTO_KEK_PASSPHRASE (and MLFLOW_CRYPTO_KEK_VERSION,
    // default 1) and, when the passphrase is unset, derives the key from DEFAULT_KEK_PASSPHRASE =
    // "mlflow-default-kek-passphrase-for-development-only", published in the source: anyone with the
    // database could then decrypt the stored gateway secrets. mlflow/cli/crypto.py rotate-kek re-wraps
    // them under a new passphrase and version.
    test('the server reads the KEK passphrase, and optionally its version, from the configured Secret', () => {
      const server = container(deploymentOf(mlflowOf({ mlflow: { kekSecret: 'team-kek' } })), 'mlflow');
      expect(env(server, 'MLFLOW_CRYPTO_KEK_PASSPHRASE')).toEqual({
        name: 'MLFLOW_CRYPTO_KEK_PASSPHRASE',
        valueFrom: { secretKeyRef: { name: 'team-kek', key: 'passphrase' } },
      });
      expect(env(server, 'MLFLOW_CRYPTO_KEK_VERSION')).toEqual({
        name: 'MLFLOW_CRYPTO_KEK_VERSION',
        valueFrom: { secretKeyRef: { name: 'team-kek', key: 'version', optional: true } },
      });
      expect(env(container(deploymentOf(mlflowOf()), 'mlflow'), 'MLFLOW_CRYPTO_KEK_PASSPHRASE').valueFrom.secretKeyRef.name).toBe('mlflow-kek');
    });

    test('the passphrase is required (never optional) and only the server holds it; the Deployment declares its out-of-band Secrets', () => {
      const objects = mlflowOf({ database: { mode: 'statefulset' } });
      const ref = env(container(deploymentOf(objects), 'mlflow'), 'MLFLOW_CRYPTO_KEK_PASSPHRASE').valueFrom.secretKeyRef;
      expect(ref.optional).toBeUndefined();
      for (const job of [migrationOf(objects), find(objects, 'CronJob', 'mlflow-gc')])
        for (const c of containers(job)) expect(env(c, 'MLFLOW_CRYPTO_KEK_PASSPHRASE')).toBeUndefined();
      expect(deploymentOf(objects).metadata.annotations['policy.mlflow-gke.io/external-secrets']).toBe(
        'mlflow-kek, mlflow-db-credentials, mlflow-auth-flask, mlflow-auth-admin',
      );
    });

    // mlflow/environment_variables.py MLFLOW_SERVER_ENABLE_JOB_EXECUTION; its default became true with
    // mlflow/mlflow#19850 ("Enable job execution by default"), which starts the job runner's worker
    // processes beside every server. The chart always sets it, from mlflow.jobExecution (default false).
    test('MLFLOW_SERVER_ENABLE_JOB_EXECUTION is set explicitly, off', () => {
      expect(env(container(deploymentOf(mlflowOf()), 'mlflow'), 'MLFLOW_SERVER_ENABLE_JOB_EXECUTION')).toEqual({
        name: 'MLFLOW_SERVER_ENABLE_JOB_EXECUTION',
        value: 'false',
      });
    });

    // mlflow/server/__init__.py _run_server (the version with the 3.10 SIGTERM forwarding): the job runner
    // gets MLFLOW_TRACKING_URI = f"http://{host}:{port}", overriding the environment; the server is HTTPS only.
    test('jobExecution: true is refused, naming the field, the value and why', () => {
      expect(configError({ mlflow: { jobExecution: true } })).toContain(
        "mlflow.jobExecution: true is not allowed: must be false: the server serves HTTPS only, and MLflow's job runner reaches it at the plain http://<host>:<port> it derives itself",
      );
    });
  });

  test('11. the Deployment and the Service are called mlflow, prefixed only when config says so', () => {
    expect(deploymentOf(mlflowOf()).metadata.name).toBe('mlflow');
    expect(find(mlflowOf(), 'Service', 'mlflow').spec.ports[0].port).toBe(5000);
    const prefixed = mlflowOf({ namePrefix: 'team-a-' });
    // find throws when the object is missing.
    find(prefixed, 'Deployment', 'team-a-mlflow');
    find(prefixed, 'Service', 'team-a-mlflow');
    expect(migrationOf(prefixed).metadata.name).toMatch(/^team-a-mlflow-migrate-/);
  });

  describe('12. unsafe combinations are rejected with a clear message', () => {
    test('a plain (non -full) MLflow image', () => {
      expect(configError({ mlflow: { image: 'ghcr.io/mlflow/mlflow:v3.17.0' } })).toContain(
        'mlflow.image: "ghcr.io/mlflow/mlflow:v3.17.0" is not allowed: must be a "-full" tag of ghcr.io/mlflow/mlflow from v3.16.1 on, such as "v3.17.0-full": the plain image lacks',
      );
    });

    // Before 3.16.1 mlflow/server/auth/config.py read_auth_config takes admin_username and
    // admin_password from the auth file alone (config["mlflow"]["admin_username"] in the 3.10.1 to
    // 3.16.0 wheels); the render keeps the admin out of that ConfigMap and passes it through the
    // environment, which MLflow reads from 3.16.1 on. Every MLflow pod would fail at its first import
    // of mlflow.server.auth. (3.9.0 also published no -full tag, and before 3.10 no SIGTERM forwarding.)
    test.each(['v3.16.0-full', 'v3.13.0-full', 'v3.10.0-full', 'v3.9.0-full', 'v3.16.0rc0-full'])(
      'an official -full tag older than 3.16.1 (%s): its auth cannot read the admin the render gives it',
      (tag) => {
        expect(configError({ mlflow: { image: `ghcr.io/mlflow/mlflow:${tag}` } })).toContain(
          `mlflow.image: "ghcr.io/mlflow/mlflow:${tag}" is not allowed: must be a "-full" tag of ghcr.io/mlflow/mlflow from v3.16.1 on, such as "v3.17.0-full": before 3.16.1 MLflow's auth reads its admin from the auth file only`,
        );
      },
    );

    test('3.16.1 and later -full tags are accepted, release candidates included', () => {
      // The workspaces' client stays at the version their lock holds (config/workspace-locks/).
      for (const tag of ['v3.16.1-full', 'v3.16.1rc0-full', 'v3.17.0-full', 'v4.0.0-full'])
        expect(configWith({ mlflow: { image: `ghcr.io/mlflow/mlflow:${tag}` }, workspaces: { mlflowClient: { version: '3.17.0' } } }).mlflow.image).toBe(
          `ghcr.io/mlflow/mlflow:${tag}`,
        );
    });

    test('a proxy flag the configured proxy version lacks', () => {
      expect(configError({ mlflow: { cloudSqlProxy: { extraArgs: ['--lazy-refresh'] } } })).toContain(
        'mlflow.cloudSqlProxy.extraArgs[0]: "--lazy-refresh" is not allowed: must be a flag of the configured proxy 2.1.0: it needs cloud-sql-proxy 2.11.0 or newer',
      );
    });

    test('an unknown proxy flag, or one the chart sets itself', () => {
      expect(configError({ mlflow: { cloudSqlProxy: { extraArgs: ['--frobnicate'] } } })).toMatch(
        /extraArgs\[0\]: "--frobnicate" is not allowed: must be one of the known extra proxy flags: --max-connections, /,
      );
      expect(configError({ mlflow: { cloudSqlProxy: { extraArgs: ['--private-ip'] } } })).toMatch(
        /extraArgs\[0\]: "--private-ip" is not allowed: must not be a flag the chart sets itself/,
      );
    });

    test('--debug-logs on proxy 2.1.0 (cmd/root.go at v2.1.0 has only --debug, the pprof switch; --debug-logs is from v2.9.0)', () => {
      expect(configError({ mlflow: { cloudSqlProxy: { extraArgs: ['--debug-logs'] } } })).toContain(
        'mlflow.cloudSqlProxy.extraArgs[0]: "--debug-logs" is not allowed: must be a flag of the configured proxy 2.1.0: it needs cloud-sql-proxy 2.9.0 or newer',
      );
      expect(() =>
        configWith({ mlflow: { cloudSqlProxy: { image: 'gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.9.0', extraArgs: ['--debug-logs'] } } }),
      ).not.toThrow();
    });

    // With native sidecars no flag newer than 2.0.0 is needed: cmd/root.go at v2.0.0 defines every
    // flag the chart sets, and the /startup, /liveness and /readiness endpoints of --health-check.
    test('proxy 2.0.0 is accepted; a 1.x proxy, whose command line differs (-instances=), is refused', () => {
      expect(configWith({ mlflow: { cloudSqlProxy: { image: 'gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.0.0' } } }).mlflow.cloudSqlProxy.image).toBe(
        'gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.0.0',
      );
      expect(configError({ mlflow: { cloudSqlProxy: { image: 'gcr.io/cloudsql-docker/gce-proxy:1.33.0' } } })).toContain(
        'mlflow.cloudSqlProxy.image: "gcr.io/cloudsql-docker/gce-proxy:1.33.0" is not allowed: must be tagged with a 2.x proxy version such as "2.1.0" or "2.14.1-alpine": the flags are chosen by version from the table of 2.x releases, and 1.x proxies take another command line',
      );
    });

    test('a proxy image without a version tag', () => {
      expect(configError({ mlflow: { cloudSqlProxy: { image: 'gcr.io/cloud-sql-connectors/cloud-sql-proxy:stable' } } })).toMatch(
        /mlflow\.cloudSqlProxy\.image: .* must be tagged with a 2\.x proxy version/,
      );
    });

    test('allowed hosts that exclude the configured host name or the Service URL', () => {
      const message = configError({ mlflow: { allowedHosts: ['mlflow.mlflow.svc.cluster.local:5000'] } });
      expect(message).toContain('mlflow.allowedHosts');
      expect(message).toContain('must cover "mlflow.ml.example.com"');
      expect(configError({ mlflow: { allowedHosts: ['*.example.com'] } })).toContain('must cover "mlflow.mlflow.svc.cluster.local:5000"');
      expect(() => configWith({ mlflow: { allowedHosts: ['*.example.com', '*.svc.cluster.local:5000'] } })).not.toThrow();
    });

    test('a file or sqlite store cannot be configured at all (so no replica count can meet one)', () => {
      expect(configError({ database: { mode: 'sqlite' as any } })).toMatch(
        /database\.mode: "sqlite" is not allowed: must be one of: "cloudsql", "statefulset"/,
      );
    });
  });
});
