/**
 * The verifying proxy in every workspace pod while the edge is on (charts/workspaces/iap-proxy.ts,
 * iap_proxy.py): a native sidecar on the MLflow image in front of an app that listens on loopback
 * only, with the instance's audience and user. Its behaviour against a real Jupyter is
 * __tests__/live/iap-proxy.test.ts; its token check, __tests__/python/iap/.
 */
import { programPart } from '../charts/mlflow/programs';
import { SHARED_FILES_PATH, WORKSPACE_TLS_DIR } from '../charts/lib/workspace';
import { IAP_KEYS_URL } from '../common/contract';
import { IAP_PROXY_FILE, iapProxyProgram, PROXY_PORT } from '../charts/workspaces/iap-proxy';
import type { Config } from '../config/schema';
import { chartObjects, configError, configWith, find, Manifest, render } from './support/render';
import { nextSteps, unpinnedAudiences } from '../synth/runbook/next-steps';

const APPS = ['jupyter', 'vscode'] as const;
const USERS = { workspaces: { users: ['ana', 'bo'].map((name) => ({ name, email: `${name}@example.com` })) } };
const CONFIGS: Record<string, Config> = {
  default: configWith({}),
  users: configWith(USERS),
  gpu: configWith({ workspaces: { gpu: { enabled: true, acceleratorType: 'nvidia-l4', count: 1 } } }),
  pinned: configWith({ ...USERS, edge: { backendServiceIds: { 'jupyter-ana': '1234567890123456789', 'vscode-bo': 42 } } }),
};

const deployments = (config: Config): Manifest[] =>
  APPS.flatMap((app) => (config.workspaces[app].enabled ? chartObjects(render(config).files, app) : [])).filter((o) => o.kind === 'Deployment');
const spec = (d: Manifest) => d.spec.template.spec;
const sidecars = (d: Manifest): Manifest[] => (spec(d).initContainers ?? []).filter((c: Manifest) => c.restartPolicy === 'Always');
const envOf = (c: Manifest): Record<string, string> => Object.fromEntries((c.env ?? []).map((e: Manifest) => [e.name, e.value]));

describe.each(Object.keys(CONFIGS))('the %s config', (name) => {
  const config = CONFIGS[name];

  test('every workspace pod has the verifying proxy as a native sidecar on the MLflow image, serving the Service port with the instance certificate', () => {
    const list = deployments(config);
    expect(list.length).toBeGreaterThan(0);
    for (const d of list) {
      const [proxy, ...others] = sidecars(d);
      expect(others).toEqual([]);
      expect(proxy.name).toBe('iap-proxy');
      // First among the init containers: the kubelet starts it, and waits for its startup probe, before the setup steps and the app.
      expect(spec(d).initContainers[0]).toBe(proxy);
      expect(proxy.startupProbe.tcpSocket.port).toBe(PROXY_PORT);
      expect(proxy.image).toBe(config.mlflow.image);
      // The program is a file of the app's shared ConfigMap, mounted read-only.
      expect(proxy.command).toEqual(['python', `${SHARED_FILES_PATH}/${IAP_PROXY_FILE}`]);
      const shared = proxy.volumeMounts.find((m: Manifest) => m.mountPath === SHARED_FILES_PATH);
      expect(shared.readOnly).toBe(true);
      const app = d.metadata.name.startsWith('jupyter') ? 'jupyter' : 'vscode';
      expect(spec(d).volumes.find((v: Manifest) => v.name === shared.name).configMap.name).toBe(`${app}-shared`);
      expect(find(chartObjects(render(config).files, app), 'ConfigMap', `${app}-shared`).data[IAP_PROXY_FILE]).toBe(iapProxyProgram());
      expect(proxy.ports).toEqual([{ name: 'https', containerPort: PROXY_PORT, protocol: 'TCP' }]);
      const env = envOf(proxy);
      expect(env).toMatchObject({
        PROXY_PORT: String(PROXY_PORT),
        IAP_PROJECT_NUMBER: config.project.number,
        IAP_KEYS_URL,
        TLS_CERT_FILE: `${WORKSPACE_TLS_DIR}/tls.crt`,
        TLS_KEY_FILE: `${WORKSPACE_TLS_DIR}/tls.key`,
      });
      const mount = proxy.volumeMounts.find((m: Manifest) => m.mountPath === WORKSPACE_TLS_DIR);
      expect(mount.readOnly).toBe(true);
      expect(spec(d).volumes.find((v: Manifest) => v.name === mount.name).secret.secretName).toBe(`${d.metadata.name}-tls`);
      // Restricted like every container, as a user of the pod's group (which may read the key).
      expect(proxy.securityContext).toMatchObject({
        runAsNonRoot: true,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
      });
    }
  });

  test('the app listens on loopback only, in plain HTTP, and everything that reaches the pod goes to the proxy', () => {
    const objects = APPS.flatMap((app) => chartObjects(render(config).files, app));
    for (const d of deployments(config)) {
      const app = spec(d).containers[0];
      const proxy = sidecars(d)[0];
      const port = Number(envOf(proxy).UPSTREAM_PORT);
      expect(app.ports).toEqual([{ name: 'app', containerPort: port, protocol: 'TCP' }]);
      const line = [...(app.command ?? []), ...app.args].join(' ');
      if (d.metadata.name.startsWith('jupyter')) {
        expect(app.args).toEqual(expect.arrayContaining(['--ServerApp.ip=127.0.0.1', `--ServerApp.port=${port}`, '--IdentityProvider.token=']));
        expect(line).not.toMatch(/certfile|keyfile/);
      } else {
        expect(app.command).toEqual(['/usr/bin/entrypoint.sh', '--bind-addr', `127.0.0.1:${port}`, '/home/coder']);
        expect(line).not.toMatch(/--cert|0\.0\.0\.0/);
      }
      // The probes go through the proxy's health path to the app.
      for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe'])
        expect(app[probe].httpGet).toEqual({ path: envOf(proxy).HEALTH_PATH, port: PROXY_PORT, scheme: 'HTTPS' });
      const service = find(objects, 'Service', d.metadata.name);
      expect(service.spec.ports.map((p: Manifest) => p.targetPort)).toEqual([PROXY_PORT]);
      const policy = find(objects, 'NetworkPolicy', d.metadata.name);
      expect(policy.spec.ingress.flatMap((r: Manifest) => r.ports.map((p: Manifest) => p.port))).toEqual([PROXY_PORT]);
    }
  });

  test("the health path the proxy leaves open is the load balancer's health check path, and only that", () => {
    const edge = chartObjects(render(config).files, 'edge');
    for (const d of deployments(config)) {
      const bc = find(edge, 'BackendConfig', d.metadata.name);
      expect(envOf(sidecars(d)[0]).HEALTH_PATH).toBe(bc.spec.healthCheck.requestPath);
    }
  });
});

test('a per-user workspace admits its user alone; the shared one any member IAP admits', () => {
  for (const d of deployments(CONFIGS.users)) {
    const user = d.metadata.name.endsWith('-ana') ? 'ana@example.com' : 'bo@example.com';
    expect(envOf(sidecars(d)[0]).WORKSPACE_USER).toBe(user);
  }
  for (const d of deployments(CONFIGS.default)) expect(envOf(sidecars(d)[0])).not.toHaveProperty('WORKSPACE_USER');
});

test("a pinned backend service id reaches that workspace's proxy alone; the others accept any backend of the project until pinned", () => {
  const ids = Object.fromEntries(deployments(CONFIGS.pinned).map((d) => [d.metadata.name, envOf(sidecars(d)[0]).IAP_BACKEND_SERVICE_ID]));
  expect(ids).toEqual({ 'jupyter-ana': '1234567890123456789', 'jupyter-bo': undefined, 'vscode-ana': undefined, 'vscode-bo': '42' });
});

test('a backend service id for something that is not a workspace of the edge, or not a number, is refused with the field', () => {
  expect(configError({ ...USERS, edge: { backendServiceIds: { 'jupyter-carol': '1' } } })).toContain(
    'edge.backendServiceIds.jupyter-carol: "1" is set for "jupyter-carol", which is no workspace Service of the edge; the workspaces are: jupyter-ana, jupyter-bo, vscode-ana, vscode-bo',
  );
  expect(configError({ edge: { backendServiceIds: { jupyter: 'k8s-be-30001' } } })).toContain(
    'edge.backendServiceIds.jupyter: "k8s-be-30001" is not allowed: must be the numeric id of the backend service',
  );
});

test('without the edge there is no proxy: the app serves its port with TLS and its own login', () => {
  for (const d of deployments(configWith({ edge: { enabled: false } }))) {
    expect(sidecars(d)).toEqual([]);
    expect(spec(d).containers[0].ports[0].name).toBe('https');
  }
});

test("the sidecar runs the token check's part and then the proxy's, as one file", () => {
  expect(iapProxyProgram()).toBe(`${programPart('charts/mlflow/iap_verify.py')}\n${programPart('charts/workspaces/iap_proxy.py')}`);
  expect(iapProxyProgram()).not.toMatch(/^from iap_verify import/m);
});

test('synth warns about every backend whose audience is still open, and the runbook says how to pin each', () => {
  const files = render(CONFIGS.pinned).files;
  expect(unpinnedAudiences(files)).toEqual(['ml-workspaces/jupyter-bo', 'ml-workspaces/vscode-ana', 'mlflow/mlflow']);
  const all = configWith({
    ...USERS,
    mlflow: { auth: { iapBackendServiceId: '7' } },
    edge: { backendServiceIds: { 'jupyter-ana': '1', 'jupyter-bo': '2', 'vscode-ana': '3', 'vscode-bo': '4' } },
  });
  expect(unpinnedAudiences(render(all).files)).toEqual([]);
  expect(nextSteps(render(all).files, 'dist/').join('\n')).not.toMatch(/warning/);
  // Without the edge nothing checks an IAP token, so nothing is open.
  expect(unpinnedAudiences(render(configWith({ edge: { enabled: false } })).files)).toEqual([]);
  const deploy = render(CONFIGS.pinned).files.find((f) => f.path === 'DEPLOY.md')!.content;
  expect(deploy).toContain('grep -E \'"ml-workspaces/(jupyter-ana|jupyter-bo|vscode-ana|vscode-bo)"\'');
  expect(deploy).toContain('`edge.backendServiceIds.<Service>`');
});

test("without the internet rule, every workspace with a verifying proxy reaches the host of IAP's keys by name, and the cluster enforces names", () => {
  const keysHost = new URL(IAP_KEYS_URL).host;
  const offline = render(configWith({ workspaces: { internetEgress: false, mlflowClient: { install: false }, vscode: { extensions: [] } } })).files;
  const objects = offline.flatMap((f) => f.objects ?? []);
  const proxied = objects.filter(
    (o) => o.kind === 'Deployment' && (o.spec.template.spec.initContainers ?? []).some((c: { name: string }) => c.name === 'iap-proxy'),
  );
  expect(proxied.map((d) => d.metadata.name).sort()).toEqual(['jupyter', 'vscode']);
  for (const d of proxied) {
    const policy = objects.find(
      (o) => o.kind === 'FQDNNetworkPolicy' && o.metadata.namespace === d.metadata.namespace && o.metadata.name === `${d.metadata.name}-hosts`,
    );
    expect(policy?.spec.egress).toEqual([{ matches: [{ name: keysHost }], ports: [{ protocol: 'TCP', port: 443 }] }]);
  }
  expect(objects.find((o) => o.kind === 'ContainerCluster')?.spec.enableFqdnNetworkPolicy).toBe(true);
  // With the package hosts, the key host joins them on HTTPS.
  const hosts = render(
    configWith({ workspaces: { internetEgress: false, hostEgress: true, packages: { hosts: ['pkgs.example.com'] }, vscode: { extensions: [] } } }),
  ).files.flatMap((f) => f.objects ?? []);
  expect(hosts.find((o) => o.kind === 'FQDNNetworkPolicy')?.spec.egress[0].matches).toEqual([{ name: 'pkgs.example.com' }, { name: keysHost }]);
  // Without the edge no proxy runs, and nothing is opened for it.
  const noEdge = render(
    configWith({ edge: { enabled: false }, workspaces: { internetEgress: false, mlflowClient: { install: false }, vscode: { extensions: [] } } }),
  ).files;
  expect(noEdge.flatMap((f) => f.objects ?? []).filter((o) => o.kind === 'FQDNNetworkPolicy')).toEqual([]);
});
