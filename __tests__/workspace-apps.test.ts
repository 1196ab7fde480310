/**
 * Workspace apps are a registry: every app's chart, its edge backend, its IAP grants and its MLflow
 * account come from its registry entry and its config section through one path, shown here with a
 * third app that exists only in this test.
 */
import { WORKSPACE_APP_REGISTRY } from '../charts/workspaces/apps';
import type { Config } from '../config/schema';
import { WORKSPACE_APPS } from '../config/schema/workspaces';
import { renderPlatform } from '../synth/render';
import { labx, LabxSection } from './fixtures/workspace-apps/labx';
import { chartObjects, configWith, DeepPartial, find, objectsOf } from './support/render';
import type { ConfigInput } from '../config/schema';

const LABX: LabxSection = {
  enabled: true,
  image: 'registry.example.com/labx:1.2.3',
  storageSize: '5Gi',
  resources: { requests: { cpu: '250m', memory: '512Mi' }, limits: { cpu: '1', memory: '1Gi' } },
};

/** A parsed config with a `workspaces.labx` section, as a schema section would give it. */
function withLabx(overrides: DeepPartial<ConfigInput> = {}, labxSection: LabxSection = LABX): Config {
  const config = configWith(overrides);
  return { ...config, workspaces: { ...config.workspaces, labx: labxSection } } as Config;
}

const render = (config: Config) => renderPlatform(config, [...WORKSPACE_APP_REGISTRY, labx]);

describe('the workspace app registry', () => {
  test('holds one entry per app the config schema knows, in the same order', () => {
    expect(WORKSPACE_APP_REGISTRY.map((app) => app.id)).toEqual([...WORKSPACE_APPS]);
  });

  test('a registered app without a config section renders nothing', () => {
    const files = renderPlatform(configWith({}), [...WORKSPACE_APP_REGISTRY, labx]);
    expect(files.map((f) => f.path)).not.toContainEqual(expect.stringMatching(/labx/));
  });
});

describe('a third app, rendered through the same path', () => {
  const files = render(withLabx());
  const objects = chartObjects(files, 'labx');

  test('gets its own chart file, after the other apps and before the edge', () => {
    const charts = files.map((f) => f.path).filter((p) => /^\d{4}-/.test(p));
    expect(charts.slice(-4)).toEqual(['0004-jupyter.yaml', '0005-vscode.yaml', '0006-labx.yaml', '0007-edge.yaml']);
  });

  test('its Deployment runs its image with its runtime, command, TLS options, setup step and files', () => {
    const deployment = find(objects, 'Deployment', 'labx');
    const pod = deployment.spec.template.spec;
    const server = pod.containers.find((c: { name: string }) => c.name === 'labx');
    expect(server.image).toBe(LABX.image);
    expect(server.command).toEqual(['labx', 'serve']);
    expect(server.args).toEqual(['--port=9443', '--tls-cert=/etc/workspace-tls/tls.crt', '--tls-key=/etc/workspace-tls/tls.key']);
    expect(server.ports).toEqual([expect.objectContaining({ containerPort: 9443 })]);
    expect(server.resources).toEqual(LABX.resources);
    expect(server.readinessProbe.httpGet).toMatchObject({ path: '/ready', scheme: 'HTTPS' });
    expect(pod.securityContext).toMatchObject({ runAsUser: 1001, runAsGroup: 1001, fsGroup: 1001 });
    expect(server.volumeMounts).toContainEqual(expect.objectContaining({ mountPath: '/home/lab' }));
    // Every app is an MLflow client of the platform, with the platform CA.
    expect(server.env.slice(0, 2).map((e: { name: string }) => e.name)).toEqual(['MLFLOW_TRACKING_URI', 'MLFLOW_TRACKING_SERVER_CERT_PATH']);
    expect(server.env.map((e: { name: string }) => e.name)).toEqual(expect.arrayContaining(['MLFLOW_TRACKING_USERNAME', 'MLFLOW_TRACKING_PASSWORD']));
    expect(pod.initContainers.map((c: { name: string }) => c.name)).toContain('warm-up');
    expect(find(objects, 'ConfigMap', 'labx-files').data).toEqual({ 'labx.json': '{"theme": "dark"}\n' });
    expect(find(objects, 'PersistentVolumeClaim', 'labx-home').spec.resources.requests.storage).toBe('5Gi');
  });

  test('the edge routes its host to it, checks its health path, and IAP admits the shared members', () => {
    const edge = chartObjects(files, 'edge');
    const ingress = edge.find((o) => o.kind === 'Ingress' && o.metadata.namespace === 'ml-workspaces')!;
    expect(ingress.spec.rules.map((r: { host: string }) => r.host)).toContain('labx.ml.example.com');
    expect(find(edge, 'BackendConfig', 'labx').spec.healthCheck).toMatchObject({ requestPath: '/ready', type: 'HTTPS' });
    const grants = chartObjects(files, 'gcp').filter((o) => o.kind === 'IAMPolicyMember' && JSON.stringify(o).includes('labx.ml.example.com'));
    expect(grants).toHaveLength(1);
  });

  test('per-user workspaces give each user an instance of it, behind that user only', () => {
    const perUser = render(withLabx({ workspaces: { users: [{ name: 'ana', email: 'ana@example.com' }] } }));
    expect(find(chartObjects(perUser, 'labx'), 'Deployment', 'labx-ana').spec.template.spec.containers[0].image).toBe(LABX.image);
    const grants = objectsOf(perUser).filter((o) => o.kind === 'IAMPolicyMember' && JSON.stringify(o).includes('labx-ana.ml.example.com'));
    expect(grants.map((g) => g.spec.member)).toEqual(['user:ana@example.com']);
  });

  test('turned off in its section, it renders nothing, and no other app changes', () => {
    const off = render(withLabx({}, { ...LABX, enabled: false }));
    const plain = renderPlatform(configWith({}));
    expect(off.map((f) => [f.path, f.content])).toEqual(plain.map((f) => [f.path, f.content]));
  });
});
