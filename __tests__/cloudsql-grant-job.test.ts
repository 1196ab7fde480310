/**
 * The one-shot Cloud SQL grant Job (charts/mlflow/cloudsql-grant-job.ts): its identity, its proxy
 * sidecar, the Secret it reads, what it runs and when it runs again. The SQL and the script are run
 * against real PostgreSQL servers by __tests__/live/cloudsql-grant-job.test.ts.
 */
import * as fs from 'fs';
import * as path from 'path';
import { PORTS } from '../common/contract';
import { GRANT_DIR, PSQL_UID } from '../charts/mlflow/cloudsql-grant-job';
import { POSTGRES_IMAGES } from '../config/schema/postgres-image';
import { platformNames } from '../model/names';
import { outOfBandSecrets } from '../policy/rules/references';
import { chartObjects, configWith, DeepPartial, find, Manifest, PROJECT_ROOT, render } from './support/render';
import type { ConfigInput } from '../config/schema';
import { StrictValidator } from './support/schemas';
import { strictTest } from './support/strict-tests';

const cloudsql = (overrides: DeepPartial<ConfigInput> = {}) => configWith({ ...overrides, database: { mode: 'cloudsql', ...overrides.database } });
const grantObjects = (objects: Manifest[]) => objects.filter((o) => o.metadata?.labels?.['app.kubernetes.io/component'] === 'sql-grant');
const mlflowObjects = (overrides: DeepPartial<ConfigInput> = {}) => chartObjects(render(cloudsql(overrides)).files, 'mlflow');
const grantJob = (objects: Manifest[]) => {
  const jobs = grantObjects(objects).filter((o) => o.kind === 'Job');
  expect(jobs).toHaveLength(1);
  return jobs[0];
};
const podSpec = (job: Manifest) => job.spec.template.spec;
const env = (c: Manifest) => Object.fromEntries((c.env ?? []).map((e: Manifest) => [e.name, e.value ?? e.valueFrom]));

describe('Cloud SQL grant Job', () => {
  test('rendered in cloudsql mode only, into the MLflow namespace: ServiceAccount, ConfigMap, Job, NetworkPolicy', () => {
    const objects = mlflowObjects();
    expect(grantObjects(objects).map((o) => o.kind)).toEqual(['ServiceAccount', 'ConfigMap', 'Job', 'NetworkPolicy']);
    for (const o of grantObjects(objects)) expect(o.metadata.namespace).toBe('mlflow');
    expect(grantObjects(chartObjects(render(configWith({ database: { mode: 'statefulset' } })).files, 'mlflow'))).toEqual([]);
  });

  test('its own identity: a Kubernetes ServiceAccount bound to a Google service account that may only connect', () => {
    const config = cloudsql({ namePrefix: 'team-' });
    const names = platformNames(config);
    const { objects } = render(config);
    const ksa = find(objects, 'ServiceAccount', 'team-mlflow-sql-grant');
    expect(ksa.metadata.annotations['iam.gke.io/gcp-service-account']).toBe(`team-mlflow-sql-grant@${config.project.id}.iam.gserviceaccount.com`);
    expect(ksa.automountServiceAccountToken).toBe(false);
    const spec = podSpec(grantJob(objects));
    expect(spec.serviceAccountName).toBe('team-mlflow-sql-grant');
    expect(spec.automountServiceAccountToken).toBe(false);
    const grants = objects.filter(
      (o) =>
        o.kind === 'IAMPolicyMember' &&
        (o.spec.memberFrom?.serviceAccountRef?.name === 'team-mlflow-sql-grant' || o.spec.resourceRef.name === 'team-mlflow-sql-grant'),
    );
    expect(grants.map((g) => [g.spec.role, g.spec.resourceRef.kind, g.spec.member ?? 'the account'])).toEqual([
      ['roles/cloudsql.client', 'Project', 'the account'],
      ['roles/iam.workloadIdentityUser', 'IAMServiceAccount', `serviceAccount:${names.workloadIdentityPool}[mlflow/team-mlflow-sql-grant]`],
    ]);
  });

  // cloud-sql-proxy cmd/root.go at v2.1.0: --auto-iam-authn "Enables Automatic IAM Authentication for
  // all instances"; README at v2.25.3: "Only the IAM principal that is attached to the sourced
  // credentials will be able to successfully log in via automatic IAM database authentication".
  test.each(['2.1.0', '2.14.1'])('proxy %s: a native sidecar without --auto-iam-authn, so the admin logs in with its password', (version) => {
    const config = cloudsql({
      mlflow: { cloudSqlProxy: { image: `gcr.io/cloud-sql-connectors/cloud-sql-proxy:${version}`, extraArgs: ['--max-connections=5'] } },
    });
    const names = platformNames(config);
    const objects = chartObjects(render(config).files, 'mlflow');
    const spec = podSpec(grantJob(objects));
    expect(spec.initContainers.map((c: Manifest) => [c.name, c.restartPolicy])).toEqual([['cloud-sql-proxy', 'Always']]);
    const proxy = spec.initContainers[0];
    expect(proxy.image).toBe(`gcr.io/cloud-sql-connectors/cloud-sql-proxy:${version}`);
    expect(proxy.args[0]).toBe(names.cloudSql.connectionName);
    expect(proxy.args).toEqual(expect.arrayContaining(['--private-ip', '--address=127.0.0.1', '--port=5432', '--health-check', '--max-connections=5']));
    expect(proxy.args).not.toContain('--auto-iam-authn');
    expect(proxy.startupProbe.httpGet.path).toBe('/startup');
    // MLflow's own proxy keeps the IAM login.
    const server = find(objects, 'Deployment', 'mlflow').spec.template.spec.initContainers.find((c: Manifest) => c.name === 'cloud-sql-proxy');
    expect(server.args).toContain('--auto-iam-authn');
    expect(spec.containers.map((c: Manifest) => c.name)).toEqual(['grant']);
    expect(spec.restartPolicy).toBe('Never');
  });

  test('logs in as the built-in admin, its password from the Secret in its own namespace; the SQLUser reads the same Secret in the gcp namespace', () => {
    const config = cloudsql({ database: { cloudsql: { adminSecret: 'sql-admin-pw' } } });
    const names = platformNames(config);
    const { objects, files } = render(config);
    const job = grantJob(objects);
    const grant = podSpec(job).containers[0];
    expect(env(grant)).toMatchObject({
      PGHOST: '127.0.0.1',
      PGPORT: '5432',
      PGDATABASE: names.cloudSql.database,
      PGUSER: names.cloudSql.adminUser,
      PGPASSWORD: { secretKeyRef: { name: 'sql-admin-pw', key: 'password' } },
      IAM_USER: names.cloudSql.iamUser,
      MIGRATE_IAM_USER: names.cloudSql.migrateIamUser,
      GC_IAM_USER: names.cloudSql.gcIamUser,
      OWNER_ROLE: names.cloudSql.roles.owner,
      WRITER_ROLE: names.cloudSql.roles.writer,
    });
    expect(job.metadata.annotations['policy.mlflow-gke.io/external-secrets']).toBe('sql-admin-pw');
    expect(find(objects, 'SQLUser', names.cloudSql.adminUser).spec.type).toBe('BUILT_IN');
    const sources = files.filter((f) => !f.path.includes('/')).flatMap((f) => (f.objects ?? []).map((manifest, doc) => ({ file: f.path, doc, manifest })));
    const admin = outOfBandSecrets(sources).filter((s) => s.name === 'sql-admin-pw');
    expect(admin.map((s) => [s.namespace, s.keys, s.readers])).toEqual(
      expect.arrayContaining([
        [names.namespaces.gcp, ['password'], [`SQLUser/${names.cloudSql.adminUser}`]],
        [names.namespaces.platform, ['password'], [`Job/${job.metadata.name}`]],
      ]),
    );
    expect(admin).toHaveLength(2);
  });

  test('runs the idempotent grant file with psql: the ConfigMap holds exactly charts/mlflow/cloudsql-grant.{sql,sh}', () => {
    const objects = mlflowObjects();
    const cm = grantObjects(objects).find((o) => o.kind === 'ConfigMap')!;
    expect(cm.data).toEqual({
      'cloudsql-grant.sql': fs.readFileSync(path.join(PROJECT_ROOT, 'charts/mlflow/cloudsql-grant.sql'), 'utf8'),
      'cloudsql-grant.sh': fs.readFileSync(path.join(PROJECT_ROOT, 'charts/mlflow/cloudsql-grant.sh'), 'utf8'),
    });
    const spec = podSpec(grantJob(objects));
    const grant = spec.containers[0];
    expect(grant.command).toEqual(['bash', `${GRANT_DIR}/cloudsql-grant.sh`]);
    expect(env(grant).GRANT_SQL_FILE).toBe(`${GRANT_DIR}/cloudsql-grant.sql`);
    expect(grant.volumeMounts).toContainEqual({ name: 'grant', mountPath: GRANT_DIR, readOnly: true });
    expect(spec.volumes).toContainEqual({ name: 'grant', configMap: { name: cm.metadata.name, defaultMode: 0o444 } });
    // Every statement of the grant is written to be re-run (the live tests run it twice).
    expect(cm.data['cloudsql-grant.sql']).toMatch(/^GRANT USAGE, CREATE ON SCHEMA public TO :"owner_role";$/m);
    expect(cm.data['cloudsql-grant.sql']).toContain("SELECT format('GRANT %I TO %I WITH ADMIN OPTION', :'owner_role', :'migrate_user')");
    expect(cm.data['cloudsql-grant.sql']).toContain("FROM unnest(ARRAY[:'iam_user', :'gc_user']) AS u");
    expect(cm.data['cloudsql-grant.sh']).toMatch(
      /psql .*"\$\{users\[@\]\}" --set=owner_role="\$owner_role" --set=writer_role="\$writer_role" --file="\$grant_sql"/,
    );
  });

  test('the name carries a hash of what runs: unchanged config, same Job; another image, proxy or Secret, a new Job', () => {
    const name = (overrides: DeepPartial<ConfigInput> = {}) => grantJob(mlflowObjects(overrides)).metadata.name;
    expect(name()).toMatch(/^mlflow-sql-grant-[0-9a-f]{8}$/);
    expect(name()).toBe(name());
    expect(name({ database: { cloudsql: { version: 'POSTGRES_17' } } })).not.toBe(name());
    expect(name({ mlflow: { cloudSqlProxy: { image: 'gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.14.1' } } })).not.toBe(name());
    expect(name({ database: { cloudsql: { adminSecret: 'other' } } })).not.toBe(name());
    // MLflow's own settings do not touch the grant.
    expect(name({ mlflow: { replicas: 3, maxReplicas: 6 } })).toBe(name());
    expect(grantJob(mlflowObjects()).spec).toMatchObject({ backoffLimit: 3, activeDeadlineSeconds: 3600 });
  });

  // docker-library/official-images, library/postgres at 37079fb336f5: "Tags: 15.19-bookworm",
  // "16.15-bookworm", "17.11-bookworm"; docker-library/postgres 16/bookworm/Dockerfile: uid 999.
  test('psql comes from the one table of PostgreSQL images, at the Cloud SQL major version, pinned, as its postgres user', () => {
    expect(POSTGRES_IMAGES).toEqual({ 15: 'postgres:15.19-bookworm', 16: 'postgres:16.15-bookworm', 17: 'postgres:17.11-bookworm' });
    for (const major of [15, 16, 17] as const) {
      const grant = podSpec(grantJob(mlflowObjects({ database: { cloudsql: { version: `POSTGRES_${major}` } } }))).containers[0];
      expect(grant.image).toBe(POSTGRES_IMAGES[major]);
      expect(grant.securityContext).toMatchObject({ runAsUser: PSQL_UID, runAsGroup: PSQL_UID, runAsNonRoot: true, readOnlyRootFilesystem: true });
    }
    // The in-cluster database's default comes from the same table.
    expect(configWith({}).database.statefulset.image).toBe(POSTGRES_IMAGES[16]);
  });

  test('database.cloudsql.clientImage replaces psql under the database image rule: pinned to major and minor, at the instance major', () => {
    const mirror = 'europe-docker.pkg.dev/acme/mirror/postgres:17.11-bookworm';
    const grant = podSpec(grantJob(mlflowObjects({ database: { cloudsql: { version: 'POSTGRES_17', clientImage: mirror } } }))).containers[0];
    expect(grant.image).toBe(mirror);
    expect(() => cloudsql({ database: { cloudsql: { version: 'POSTGRES_16', clientImage: 'postgres:17.11-bookworm' } } })).toThrow(
      /^test config: database\.cloudsql\.clientImage: "postgres:17\.11-bookworm" is not allowed: must be PostgreSQL 16, the major of database\.cloudsql\.version \(POSTGRES_16\), such as "postgres:16\.15-bookworm"$/,
    );
    for (const image of ['postgres:16', 'postgres:latest', 'postgres:16-bookworm'])
      expect(() => cloudsql({ database: { cloudsql: { clientImage: image } } })).toThrow(/database\.cloudsql\.clientImage: .* is not allowed: must be/);
    // The statefulset mode runs no grant Job: its clientImage is not checked against a version it does not use.
    expect(() => configWith({ database: { mode: 'statefulset', cloudsql: { version: 'POSTGRES_16', clientImage: 'postgres:17.11-bookworm' } } })).not.toThrow();
  });

  test('egress: the instance on Cloud SQL port 3307 and the Google APIs, for exactly the grant pods', () => {
    const config = cloudsql();
    const objects = chartObjects(render(config).files, 'mlflow');
    const np = find(objects, 'NetworkPolicy', 'mlflow-sql-grant-egress');
    const labels = grantJob(objects).spec.template.metadata.labels;
    for (const [k, v] of Object.entries(np.spec.podSelector.matchLabels)) expect(labels[k]).toBe(v);
    expect(np.spec.policyTypes).toEqual(['Egress']);
    expect(PORTS.cloudSqlServer).toBe(3307);
    expect(np.spec.egress[0]).toEqual({ to: [{ ipBlock: { cidr: config.network.privateServicesCidr } }], ports: [{ protocol: 'TCP', port: 3307 }] });
    expect(np.spec.egress.map((r: Manifest) => r.ports.map((p: Manifest) => p.port)).flat()).toEqual([3307, 80, 988, 443]);
    // MLflow's egress policy does not cover the grant pods: the component is not among those it selects.
    expect(find(objects, 'NetworkPolicy', 'mlflow-egress').spec.podSelector.matchExpressions[0].values).not.toContain('sql-grant');
  });

  strictTest('every grant object validates strictly', () => {
    expect(new StrictValidator().validate(grantObjects(mlflowObjects()))).toEqual([]);
  });
});
