/**
 * MLflow's authentication as rendered (charts/mlflow/auth.ts, charts/mlflow/auth-provision.ts): the
 * basic-auth app and its settings, the auth file the server reads (parsed here by Python's own
 * configparser, as MLflow reads it), the IAP verifier's settings, the accounts of gc, the verification
 * Job, the metrics scrape and the workspaces, the provisioning Job, and no secret value anywhere.
 *
 * Upstream facts (mlflow/mlflow, read at d5a8ec8dbaff, near v3.17.0): mlflow/server/auth/config.py
 * read_auth_config (section [mlflow], default_permission and database_uri required,
 * authorization_function "module:function", MLFLOW_AUTH_ADMIN_USERNAME/PASSWORD win over the file);
 * mlflow/server/auth/__init__.py (MLFLOW_FLASK_SERVER_SECRET_KEY required by
 * get_flask_server_secret_key, MLFLOW_BASIC_AUTH_FAIL_CLOSED in _before_request and
 * add_fastapi_permission_middleware, MLFLOW_SERVER_ENABLE_GRAPHQL_AUTH in
 * get_graphql_authorization_middleware, /metrics answered to admins only under fail-closed: no
 * validator, and admins skip validators).
 */
import { spawnSync } from 'child_process';
import * as path from 'path';
import type { ConfigInput } from '../config/schema';
import { platformNames } from '../model/names';
import { provisionedAccounts } from '../charts/mlflow';
import { LOAD_BALANCER_RANGES } from '../model/network';
import { AUTH_DIR, TOKEN_CHECK_FILE, VERIFIER_FILE } from '../charts/mlflow/auth';
import { IAP_KEYS_URL } from '../common/contract';
import { scriptFile } from '../charts/lib/script-files';
import { chartObjects, configError, configWith, DeepPartial, find, Manifest, PROJECT_ROOT, render } from './support/render';
import { pythonEnvBin } from './support/python-env';

const mlflowOf = (overrides: DeepPartial<ConfigInput> = {}) => chartObjects(render(configWith(overrides)).files, 'mlflow');
const podSpec = (o: Manifest): Manifest => (o.kind === 'CronJob' ? o.spec.jobTemplate.spec.template.spec : o.spec.template.spec);
const container = (o: Manifest, name: string): Manifest =>
  [...(podSpec(o).initContainers ?? []), ...podSpec(o).containers].find((c: Manifest) => c.name === name);
const server = (objects: Manifest[]) => container(find(objects, 'Deployment', 'mlflow'), 'mlflow');
const env = (c: Manifest, name: string): Manifest | undefined => c.env?.find((e: Manifest) => e.name === name);
const value = (c: Manifest, name: string): string | undefined => env(c, name)?.value;
const secretRef = (c: Manifest, name: string) => env(c, name)?.valueFrom?.secretKeyRef;
const ofComponent = (objects: Manifest[], kind: string, component: string) =>
  objects.filter((o) => o.kind === kind && o.metadata.labels?.['app.kubernetes.io/component'] === component);
const provisionJob = (objects: Manifest[]) => {
  const jobs = ofComponent(objects, 'Job', 'auth-provision');
  expect(jobs).toHaveLength(1);
  return jobs[0];
};

function python(script: string, input: string): string {
  // The project's Python environment: iap_auth.py imports the token check, which needs google-auth.
  const r = spawnSync(path.join(pythonEnvBin(), 'python'), ['-c', script], {
    cwd: PROJECT_ROOT,
    input,
    encoding: 'utf8',
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
  });
  if (r.error) throw new Error(`python did not run: ${r.error.message}`);
  expect(r.stderr).toBe('');
  return r.stdout;
}

describe('the server runs the basic-auth app, fail-closed', () => {
  test('--app-name basic-auth, fail-closed and GraphQL checks on, the admin and the Flask key from Secrets', () => {
    const objects = mlflowOf();
    const names = platformNames(configWith({}));
    const c = server(objects);
    expect(c.args.slice(c.args.indexOf('--app-name'), c.args.indexOf('--app-name') + 2)).toEqual(['--app-name', 'basic-auth']);
    expect(value(c, 'MLFLOW_BASIC_AUTH_FAIL_CLOSED')).toBe('true');
    expect(value(c, 'MLFLOW_SERVER_ENABLE_GRAPHQL_AUTH')).toBe('true');
    expect(value(c, 'MLFLOW_AUTH_ADMIN_USERNAME')).toBe(names.mlflowAuth.admin.username);
    // Required references: a missing Secret holds the pod in CreateContainerConfigError rather than
    // starting a server without its key or its admin.
    expect(secretRef(c, 'MLFLOW_AUTH_ADMIN_PASSWORD')).toEqual({ name: 'mlflow-auth-admin', key: 'password' });
    expect(secretRef(c, 'MLFLOW_FLASK_SERVER_SECRET_KEY')).toEqual({ name: 'mlflow-auth-flask', key: 'secret-key' });
    expect(find(objects, 'Deployment', 'mlflow').metadata.annotations['policy.mlflow-gke.io/external-secrets']).toContain(
      'mlflow-auth-flask, mlflow-auth-admin',
    );
  });

  test.each(['cloudsql', 'statefulset'] as const)(
    '%s: the auth file, as configparser reads it, names the tracking database, the permission and the verifier',
    (mode) => {
      const objects = mlflowOf({ database: { mode }, mlflow: { auth: { defaultPermission: 'NO_PERMISSIONS' } } });
      const c = server(objects);
      const cm = find(objects, 'ConfigMap', 'mlflow-auth');
      expect(value(c, 'MLFLOW_AUTH_CONFIG_PATH')).toBe(`${AUTH_DIR}/basic_auth.ini`);
      expect(c.volumeMounts).toContainEqual({ name: 'auth', mountPath: AUTH_DIR, readOnly: true });
      expect(podSpec(find(objects, 'Deployment', 'mlflow')).volumes).toContainEqual({ name: 'auth', configMap: { name: 'mlflow-auth' } });
      // configparser's default interpolation turns "%%" into "%": the URI MLflow gets is the server's own.
      const parsed = JSON.parse(
        python(
          'import configparser, json, sys; c = configparser.ConfigParser(); c.read_string(sys.stdin.read()); print(json.dumps(dict(c["mlflow"])))',
          cm.data['basic_auth.ini'],
        ),
      );
      expect(parsed).toEqual({
        default_permission: 'NO_PERMISSIONS',
        database_uri: value(c, 'MLFLOW_BACKEND_STORE_URI'),
        authorization_function: 'iap_auth:authenticate',
        grant_default_workspace_access: 'false',
        auth_cache_ttl_seconds: '30',
      });
      expect(parsed.database_uri).toContain('%');
      // MLflow imports the module by name: the file is there, found through PYTHONPATH.
      expect(cm.data[VERIFIER_FILE]).toBe(scriptFile(`charts/mlflow/${VERIFIER_FILE}`));
      // ...and the token check it imports, beside it in the same folder.
      expect(scriptFile(`charts/mlflow/${VERIFIER_FILE}`)).toMatch(/^from iap_verify import /m);
      expect(cm.data[TOKEN_CHECK_FILE]).toBe(scriptFile(`charts/mlflow/${TOKEN_CHECK_FILE}`));
      expect(value(c, 'PYTHONPATH')).toBe(AUTH_DIR);
    },
  );

  test('checked Basic credentials are trusted for mlflow.auth.credentialCacheSeconds, as MLflow reads the file; 0 turns it off', () => {
    const readByMlflow = (o: DeepPartial<ConfigInput>) => {
      const ini = find(mlflowOf(o), 'ConfigMap', 'mlflow-auth').data['basic_auth.ini'];
      // MLflow's own reader (mlflow/server/auth/config.py read_auth_config), on the rendered file.
      const script = [
        'import os, sys, tempfile, warnings',
        'warnings.simplefilter("ignore")  # importing mlflow.server warns about Starlette',
        'f = tempfile.NamedTemporaryFile("w", suffix=".ini", delete=False); f.write(sys.stdin.read()); f.close()',
        'os.environ["MLFLOW_AUTH_CONFIG_PATH"] = f.name',
        'from mlflow.server.auth.config import read_auth_config',
        'c = read_auth_config(); os.unlink(f.name); print(c.auth_cache_ttl_seconds)',
      ].join('\n');
      return Number(python(script, ini).trim());
    };
    expect(readByMlflow({})).toBe(30);
    expect(readByMlflow({ mlflow: { auth: { credentialCacheSeconds: 0 } } })).toBe(0);
    expect(readByMlflow({ mlflow: { auth: { credentialCacheSeconds: 300 } } })).toBe(300);
  });

  test('the credential cache is bounded: beyond 300 seconds or below 0 is refused, naming the field', () => {
    for (const bad of [301, -1, 1.5])
      expect(configError({ mlflow: { auth: { credentialCacheSeconds: bad } } })).toContain('mlflow.auth.credentialCacheSeconds');
  });

  test('a changed auth file rolls the servers (the pod template carries its hash)', () => {
    const hash = (o: DeepPartial<ConfigInput>) => find(mlflowOf(o), 'Deployment', 'mlflow').spec.template.metadata.annotations['mlflow-gke/auth-config'];
    expect(hash({})).toMatch(/^[0-9a-f]{16}$/);
    expect(hash({ mlflow: { auth: { defaultPermission: 'READ' } } })).not.toBe(hash({}));
    expect(hash({ mlflow: { replicas: 3 } })).toBe(hash({}));
  });

  test('the migration Job upgrades the auth tables with the same auth file (mlflow.server.auth reads it at import)', () => {
    const objects = mlflowOf();
    const job = objects.find((o) => o.kind === 'Job' && /-migrate-/.test(o.metadata.name))!;
    const c = container(job, 'migrate');
    expect(value(c, 'MLFLOW_AUTH_CONFIG_PATH')).toBe(`${AUTH_DIR}/basic_auth.ini`);
    expect(c.volumeMounts).toContainEqual({ name: 'auth', mountPath: AUTH_DIR, readOnly: true });
    expect(c.command[2]).toContain('AUTH_UPGRADE = ["python", "-m", "mlflow.server.auth", "db", "upgrade", "--url"]');
  });
});

describe('the IAP verifier settings', () => {
  test('project number, load-balancer peers and Google keys; the audience prefix until the backend service id is pinned', () => {
    const config = configWith({});
    const c = server(mlflowOf());
    expect(value(c, 'IAP_ENABLED')).toBe('true');
    expect(value(c, 'IAP_PROJECT_NUMBER')).toBe(config.project.number);
    expect(value(c, 'IAP_TRUSTED_PEERS')).toBe(LOAD_BALANCER_RANGES.join(','));
    expect(value(c, 'IAP_KEYS_URL')).toBe(IAP_KEYS_URL);
    expect(env(c, 'IAP_BACKEND_SERVICE_ID')).toBeUndefined();
    const pinned = server(mlflowOf({ mlflow: { auth: { iapBackendServiceId: '5432109876543210987' } } }));
    expect(value(pinned, 'IAP_BACKEND_SERVICE_ID')).toBe('5432109876543210987');
  });

  test('without the edge no request comes through IAP: the verifier trusts no token', () => {
    const c = server(mlflowOf({ edge: { enabled: false } }));
    expect(value(c, 'IAP_ENABLED')).toBe('false');
    expect(value(c, 'IAP_TRUSTED_PEERS')).toBe('');
  });

  test('a backend service id that is not a number is refused with the field and what is allowed', () => {
    expect(configError({ mlflow: { auth: { iapBackendServiceId: 'k8s-be-30001--abc' } } })).toContain(
      'mlflow.auth.iapBackendServiceId: "k8s-be-30001--abc" is not allowed: must be the numeric id of the MLflow backend service',
    );
  });

  // The verifier's own tests (__tests__/python/test_iap_auth.py) check tokens; this one checks that
  // the rendered settings, read by the verifier's Settings, keep the metrics admin to GET /metrics.
  test('the rendered settings keep the metrics account to GET /metrics, and trust the load balancer alone', () => {
    const c = server(mlflowOf());
    const settings = Object.fromEntries(c.env.filter((e: Manifest) => typeof e.value === 'string').map((e: Manifest) => [e.name, e.value]));
    const script = [
      'import importlib.util, json, sys',
      'sys.path.insert(0, "charts/mlflow")',
      `spec = importlib.util.spec_from_file_location("iap_auth", "charts/mlflow/${VERIFIER_FILE}")`,
      'm = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)',
      's = m.Settings(json.loads(sys.stdin.read()))',
      'print(json.dumps([s.allowed("mlflow-gke-metrics", "/metrics", "GET"), s.allowed("mlflow-gke-metrics", "/api/2.0/mlflow/experiments/search", "GET"),',
      '  s.allowed("mlflow-gke-metrics", "/metrics", "POST"), s.allowed("mlflow-gke-gc", "/api/2.0/mlflow-artifacts/artifacts/1", "DELETE"),',
      '  s.trusted("35.191.0.1"), s.trusted("10.8.0.5"), s.trusted(None)]))',
    ].join('\n');
    expect(JSON.parse(python(script, JSON.stringify(settings)))).toEqual([true, false, false, true, true, false, false]);
  });
});

describe('every client has its own account', () => {
  test('gc and the verification Job authenticate as themselves; the admin password stays with the server and the provisioning Job', () => {
    const { files } = render(configWith({}));
    const objects = chartObjects(files, 'mlflow');
    const gc = container(find(objects, 'CronJob', 'mlflow-gc'), 'gc');
    expect(value(gc, 'MLFLOW_TRACKING_USERNAME')).toBe('mlflow-gke-gc');
    expect(secretRef(gc, 'MLFLOW_TRACKING_PASSWORD')).toEqual({ name: 'mlflow-auth-gc', key: 'password' });
    expect(find(objects, 'CronJob', 'mlflow-gc').metadata.annotations['policy.mlflow-gke.io/external-secrets']).toBe('mlflow-auth-gc');
    const verifyJob = chartObjects(files, 'tests/mlflow-verify').find((o) => o.kind === 'Job')!;
    const verify = container(verifyJob, 'verify');
    expect(value(verify, 'MLFLOW_TRACKING_USERNAME')).toBe('mlflow-gke-verify');
    expect(secretRef(verify, 'MLFLOW_TRACKING_PASSWORD')).toEqual({ name: 'mlflow-auth-verify', key: 'password' });
    expect(verifyJob.metadata.annotations['policy.mlflow-gke.io/external-secrets']).toBe('mlflow-auth-verify');
    const readers = [...objects, verifyJob]
      .filter((o) => ['Deployment', 'Job', 'CronJob'].includes(o.kind))
      .filter((o) =>
        [...(podSpec(o).initContainers ?? []), ...podSpec(o).containers].some((c: Manifest) =>
          (c.env ?? []).some((e: Manifest) => e.valueFrom?.secretKeyRef?.name === 'mlflow-auth-admin'),
        ),
      )
      .map((o) => o.metadata.labels['app.kubernetes.io/component']);
    expect(readers.sort()).toEqual(['auth-provision', 'server']);
  });

  test('the metrics scrape authenticates with the metrics account; the collector may read that Secret and no other', () => {
    const objects = mlflowOf();
    const pm = find(objects, 'PodMonitoring', 'mlflow');
    const https = pm.spec.endpoints.find((e: Manifest) => e.port === 'https');
    expect(https.basicAuth).toEqual({ username: 'mlflow-gke-metrics', password: { secret: { name: 'mlflow-auth-metrics', key: 'password' } } });
    // prometheus-engine @2ffde4e CRD: at most one of authorization, basicAuth, oauth2; no namespace on the reference.
    expect([https.authorization, https.oauth2, https.basicAuth.password.secret.namespace]).toEqual([undefined, undefined, undefined]);
    expect(pm.metadata.annotations['policy.mlflow-gke.io/external-secrets']).toBe('mlflow-auth-metrics');
    const role = find(objects, 'Role', 'mlflow-auth-metrics-reader');
    expect(role.rules).toEqual([{ apiGroups: [''], resources: ['secrets'], resourceNames: ['mlflow-auth-metrics'], verbs: ['get', 'list', 'watch'] }]);
    const binding = find(objects, 'RoleBinding', 'mlflow-auth-metrics-reader');
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'mlflow-auth-metrics-reader' });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'collector', namespace: 'gmp-system' }]);
  });

  test('workspace accounts: a user is their Google email in lower case; the shared instances share one account', () => {
    const perUser = platformNames(configWith({ namePrefix: 'team-a-', workspaces: { users: [{ name: 'ana', email: 'Ana.Lima@Example.com' }] } })).mlflowAuth;
    expect(perUser.workspaceAccounts).toEqual([{ username: 'ana.lima@example.com', secret: 'team-a-mlflow-user-ana' }]);
    expect(perUser.workspaceAccount({ name: 'ana', email: 'Ana.Lima@Example.com' })).toEqual(perUser.workspaceAccounts[0]);
    const shared = platformNames(configWith({})).mlflowAuth;
    expect(shared.workspaceAccounts).toEqual([{ username: 'shared-workspace', secret: 'mlflow-user-shared-workspace' }]);
    expect(platformNames(configWith({ workspaces: { jupyter: { enabled: false }, vscode: { enabled: false } } })).mlflowAuth.workspaceAccounts).toEqual([]);
    // No platform account can be a Google identity's name: those always hold "@".
    for (const a of [shared.admin, shared.metrics, shared.gc, shared.verify, shared.workspaceAccount()]) expect(a.username).not.toContain('@');
  });

  test('no secret value is rendered: every password and key comes from a Secret reference', () => {
    for (const database of [{ mode: 'cloudsql' }, { mode: 'statefulset' }] as const) {
      const { objects } = render(configWith({ database, workspaces: { users: [{ name: 'ana', email: 'ana@example.com' }] } }));
      for (const o of objects.filter((x) => ['Deployment', 'Job', 'CronJob', 'StatefulSet'].includes(x.kind)))
        for (const c of [...(podSpec(o).initContainers ?? []), ...podSpec(o).containers])
          for (const e of c.env ?? [])
            if (/PASSWORD|SECRET_KEY|PASSPHRASE/.test(e.name)) expect([o.metadata.name, e.name, e.value]).toEqual([o.metadata.name, e.name, undefined]);
    }
  });
});

describe('the provisioning Job', () => {
  test('acts as the admin over HTTPS and sets every account from its own Secret', () => {
    const config = configWith({
      workspaces: {
        users: [
          { name: 'bo', email: 'bo@example.com' },
          { name: 'ana', email: 'Ana@Example.com' },
        ],
      },
    });
    const objects = chartObjects(render(config).files, 'mlflow');
    const job = provisionJob(objects);
    const c = container(job, 'provision');
    expect(value(c, 'MLFLOW_TRACKING_URI')).toBe(platformNames(config).mlflowUrl);
    expect(value(c, 'MLFLOW_TRACKING_SERVER_CERT_PATH')).toBe('/etc/platform-ca/ca.crt');
    expect(value(c, 'MLFLOW_TRACKING_USERNAME')).toBe('mlflow-gke-admin');
    expect(secretRef(c, 'MLFLOW_TRACKING_PASSWORD')).toEqual({ name: 'mlflow-auth-admin', key: 'password' });
    expect(value(c, 'DEFAULT_EXPERIMENT_PERMISSION')).toBe('READ');
    expect(value(c, 'PERSONAL_EXPERIMENT_PREFIX')).toBe('users/');
    expect(value(c, 'MANAGED_ROLE_PREFIX')).toBe('mlflow-gke-');
    const accounts = JSON.parse(value(c, 'PROVISION_ACCOUNTS')!);
    expect(accounts.map((a: Manifest) => [a.username, a.admin, a.defaultExperiment])).toEqual([
      ['mlflow-gke-metrics', true, false],
      ['mlflow-gke-gc', false, false],
      ['mlflow-gke-verify', false, false],
      ['ana@example.com', false, true],
      ['bo@example.com', false, true],
    ]);
    for (const a of accounts) expect(secretRef(c, a.passwordVariable)).toEqual({ name: a.secret, key: 'password' });
    expect(accounts.map((a: Manifest) => a.secret)).toEqual(provisionedAccounts(platformNames(config).mlflowAuth).map((a) => a.secret));
    expect(job.metadata.annotations['policy.mlflow-gke.io/external-secrets']).toBe(
      'mlflow-auth-admin, mlflow-auth-metrics, mlflow-auth-gc, mlflow-auth-verify, mlflow-user-ana, mlflow-user-bo',
    );
    // No database, no Google APIs, no ServiceAccount token: the server's REST API only. Its own
    // ServiceAccount, which no Workload Identity annotation links to a Google service account.
    expect(podSpec(job).serviceAccountName).toBe('mlflow-auth-provision');
    const sa = find(objects, 'ServiceAccount', 'mlflow-auth-provision');
    expect(sa.metadata.annotations?.['iam.gke.io/gcp-service-account']).toBeUndefined();
    expect(sa.automountServiceAccountToken).toBe(false);
    expect(podSpec(job).automountServiceAccountToken).toBe(false);
  });

  test('a changed list of accounts makes a new Job (its name carries the hash of its spec)', () => {
    const name = (o: DeepPartial<ConfigInput>) => provisionJob(mlflowOf(o)).metadata.name;
    expect(name({})).toMatch(/^mlflow-auth-provision-[0-9a-f]{8}$/);
    expect(name({ workspaces: { users: [{ name: 'ana', email: 'ana@example.com' }] } })).not.toBe(name({}));
    expect(name({ mlflow: { auth: { defaultExperimentPermission: 'NO_PERMISSIONS' } } })).not.toBe(name({}));
    expect(
      name({
        workspaces: { users: [{ name: 'ana', email: 'ana@example.com' }] },
        mlflow: { auth: { sharing: [{ experiment: 'x', users: ['ana'], permission: 'READ' }] } },
      }),
    ).not.toBe(name({ workspaces: { users: [{ name: 'ana', email: 'ana@example.com' }] } }));
    expect(name({ mlflow: { replicas: 3 } })).toBe(name({}));
  });

  test('its two NetworkPolicies open exactly its hop to the server port', () => {
    const objects = mlflowOf();
    const self = { 'app.kubernetes.io/name': 'mlflow', 'app.kubernetes.io/instance': 'default', 'app.kubernetes.io/component': 'auth-provision' };
    const serverPods = { 'app.kubernetes.io/name': 'mlflow', 'app.kubernetes.io/instance': 'default', 'app.kubernetes.io/component': 'server' };
    expect(find(objects, 'NetworkPolicy', 'mlflow-auth-provision-egress').spec).toEqual({
      podSelector: { matchLabels: self },
      policyTypes: ['Egress'],
      egress: [{ to: [{ podSelector: { matchLabels: serverPods } }], ports: [{ protocol: 'TCP', port: 5000 }] }],
    });
    expect(find(objects, 'NetworkPolicy', 'mlflow-auth-provision-to-server').spec).toEqual({
      podSelector: { matchLabels: serverPods },
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: { matchLabels: self } }], ports: [{ protocol: 'TCP', port: 5000 }] }],
    });
    expect(provisionJob(objects).spec.template.metadata.labels).toMatchObject(self);
  });
});

test('the server may fetch the IAP keys: its egress reaches public addresses on 443 and nothing of the cluster', () => {
  const np = find(mlflowOf(), 'NetworkPolicy', 'mlflow-egress');
  expect(np.spec.podSelector.matchExpressions[0].values).toContain('server');
  const https = np.spec.egress.find((r: Manifest) => r.to[0].ipBlock?.cidr === '0.0.0.0/0');
  expect(https.ports).toEqual([{ protocol: 'TCP', port: 443 }]);
  // The internet rule of charts/lib/network-policy.ts: every private and cluster range excepted.
  expect(https.to[0].ipBlock.except).toEqual(expect.arrayContaining(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16']));
  expect(new URL(IAP_KEYS_URL).protocol).toBe('https:');
});

describe('private by default: permissions and sharing', () => {
  const users = [
    { name: 'ana', email: 'Ana@Example.com' },
    { name: 'bo', email: 'bo@example.com' },
  ];
  const roles = (o: DeepPartial<ConfigInput>) => JSON.parse(value(container(provisionJob(mlflowOf(o)), 'provision'), 'PROVISION_ROLES')!);

  test('by default nobody reads what others own and the Default experiment is READ', () => {
    const objects = mlflowOf();
    const ini = find(objects, 'ConfigMap', 'mlflow-auth').data['basic_auth.ini'];
    expect(ini).toContain('default_permission = NO_PERMISSIONS\n');
    expect(value(server(objects), 'DEFAULT_EXPERIMENT_PERMISSION')).toBe('READ');
    expect(value(server(objects), 'PERSONAL_EXPERIMENT_PREFIX')).toBe('users/');
  });

  test('default_permission and the Default experiment accept NO_PERMISSIONS or READ only, naming what is allowed', () => {
    // MLflow accepts more (permissions.py ALL_PERMISSIONS), but anything that updates would let every user
    // overwrite every experiment's artifacts.
    for (const field of ['defaultPermission', 'defaultExperimentPermission'])
      for (const level of ['EDIT', 'USE', 'MANAGE']) {
        const message = configError({ mlflow: { auth: { [field]: level } } } as DeepPartial<ConfigInput>);
        expect(message).toContain(`mlflow.auth.${field}`);
        expect(message).toContain('NO_PERMISSIONS');
        expect(message).toContain('READ');
      }
  });

  test('gc is no admin: its role gives MANAGE on every experiment, and nothing else', () => {
    expect(roles({})).toEqual([
      {
        name: 'mlflow-gke-gc',
        description: expect.any(String),
        members: ['mlflow-gke-gc'],
        grants: [{ resourceType: 'experiment', pattern: '*', permission: 'MANAGE' }],
      },
    ]);
  });

  test('groups become roles of their members, and sharing grants go to the group and user roles, the higher permission winning', () => {
    const config: DeepPartial<ConfigInput> = {
      workspaces: { users },
      mlflow: {
        auth: {
          groups: { team: ['bo', 'ana'] },
          sharing: [
            { experiment: 'churn', groups: ['team'], permission: 'EDIT' },
            { registeredModel: 'churn-model', users: ['bo'], permission: 'READ' },
            { experiment: 'churn', groups: ['team'], permission: 'READ' },
            { registeredModel: 'churn-model', users: ['bo'], permission: 'MANAGE' },
          ],
        },
      },
    };
    expect(roles(config).slice(1)).toEqual([
      {
        name: 'mlflow-gke-group-team',
        description: expect.any(String),
        members: ['ana@example.com', 'bo@example.com'],
        grants: [{ experiment: 'churn', permission: 'EDIT' }],
      },
      {
        name: 'mlflow-gke-user-bo',
        description: expect.any(String),
        members: ['bo@example.com'],
        grants: [{ registeredModel: 'churn-model', permission: 'MANAGE' }],
      },
    ]);
  });

  test('sharing with an unknown user or group, or a bad permission, is a precise config error', () => {
    const base = { workspaces: { users } };
    expect(configError({ ...base, mlflow: { auth: { sharing: [{ experiment: 'x', users: ['carl'], permission: 'READ' }] } } })).toContain(
      'mlflow.auth.sharing[0].users[0]: "carl" is not allowed: unknown user "carl": must be one of workspaces.users[].name: "ana", "bo"',
    );
    expect(configError({ ...base, mlflow: { auth: { groups: { team: ['ana', 'zed'] } } } })).toContain(
      'mlflow.auth.groups.team[1]: "zed" is not allowed: unknown user "zed": must be one of workspaces.users[].name',
    );
    expect(configError({ ...base, mlflow: { auth: { sharing: [{ experiment: 'x', groups: ['nope'], permission: 'READ' }] } } })).toContain(
      'mlflow.auth.sharing[0].groups[0]: "nope" is not allowed: unknown group "nope": must be a key of mlflow.auth.groups, which is empty',
    );
    const bad = configError({
      ...base,
      mlflow: { auth: { sharing: [{ experiment: 'x', users: ['ana'], permission: 'OWNER' }] } },
    } as unknown as DeepPartial<ConfigInput>);
    expect(bad).toContain('mlflow.auth.sharing[0].permission');
    expect(bad).toMatch(/READ.*USE.*EDIT.*MANAGE/);
    expect(configError({ ...base, mlflow: { auth: { sharing: [{ experiment: 'x', registeredModel: 'y', users: ['ana'], permission: 'READ' }] } } })).toContain(
      'must name exactly one of experiment or registeredModel',
    );
    expect(configError({ ...base, mlflow: { auth: { sharing: [{ experiment: 'Default', users: ['ana'], permission: 'EDIT' }] } } })).toContain(
      'mlflow.auth.sharing[0].experiment: "Default" is not allowed: must not be "Default"',
    );
  });

  test("each workspace points the MLflow client at its account's personal experiment", () => {
    const { files } = render(configWith({ workspaces: { users } }));
    const deployments = ['jupyter', 'vscode'].flatMap((app) => chartObjects(files, app).filter((o) => o.kind === 'Deployment'));
    const experiments = deployments.map((d) => [d.metadata.name, value(d.spec.template.spec.containers[0], 'MLFLOW_EXPERIMENT_NAME')]);
    expect(experiments).toEqual([
      ['jupyter-ana', 'users/ana@example.com'],
      ['jupyter-bo', 'users/bo@example.com'],
      ['vscode-ana', 'users/ana@example.com'],
      ['vscode-bo', 'users/bo@example.com'],
    ]);
  });
});
