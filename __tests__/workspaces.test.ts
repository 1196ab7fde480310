import { Testing } from 'cdk8s';
import { WorkspacesChart, workspacesChartProps } from '../charts/workspaces';
import { buildModel } from '../model';
import { mlflowClientVersion } from '../charts/workspaces/app-definition';
import { PIP_USER_INSTALL } from '../charts/workspaces/apps/jupyter';
import { UV_BIN, vscode, VSCODE_VENV } from '../charts/workspaces/apps/vscode';
import { jupyter } from '../charts/workspaces/apps/jupyter';
import { IAP_PROXY_FILE, iapProxyProgram, PROXY_CONTAINER } from '../charts/workspaces/iap-proxy';
import { SHARED_FILES_HASH_ANNOTATION, SHARED_FILES_PATH, SHARED_FILES_VOLUME } from '../charts/lib/workspace';
import { lockText, WORKSPACE_LOCKS, WorkspaceLock } from '../config/workspace-locks';
import { scriptFile } from '../charts/lib/script-files';
import { LOAD_BALANCER_RANGES } from '../model/network';
import { platformNames } from '../model/names';
import type { Config } from '../config/schema';
import { ConfigError } from '../model/load';
import { chartObjects, configsUnderTest, configWith, Manifest, render } from './support/render';
import { StrictValidator } from './support/schemas';
import { strictTest } from './support/strict-tests';
import { testApp } from './support/app';

const THREE_USERS = {
  workspaces: {
    users: [
      { name: 'carol', email: 'carol@example.com' },
      { name: 'ana', email: 'ana@example.com' },
      { name: 'bo', email: 'bo@example.com' },
    ],
  },
};
const GPU = { workspaces: { gpu: { enabled: true, acceleratorType: 'nvidia-l4', count: 1 } } };

const configs: Record<string, Config> = {
  default: configWith({}),
  threeUsers: configWith(THREE_USERS),
  gpu: configWith(GPU),
  noEdge: configWith({ edge: { enabled: false } }),
  offline: configWith({ workspaces: { internetEgress: false, mlflowClient: { install: false }, vscode: { extensions: [] } } }),
};

function objects(config: Config, chart: 'jupyter' | 'vscode'): Manifest[] {
  return chartObjects(render(config).files, chart);
}
const ofKind = (list: Manifest[], kind: string) => list.filter((o) => o.kind === kind);
const deployments = (config: Config, chart: 'jupyter' | 'vscode') => ofKind(objects(config, chart), 'Deployment');
const podSpec = (d: Manifest) => d.spec.template.spec;
const server = (d: Manifest) => podSpec(d).containers[0];
/** The setup steps: the init containers that run to completion (not the native sidecars, the verifying proxy). */
const setupSteps = (d: Manifest): Manifest[] => (podSpec(d).initContainers ?? []).filter((c: Manifest) => c.restartPolicy !== 'Always');
const envOf = (c: Manifest) => Object.fromEntries((c.env ?? []).map((e: any) => [e.name, e.value ?? e.valueFrom]));

describe('workspaces charts', () => {
  test.each(['default', 'threeUsers', 'gpu'])('the %s config renders the same objects as the snapshot', (name) => {
    expect({ jupyter: objects(configs[name], 'jupyter'), vscode: objects(configs[name], 'vscode') }).toMatchSnapshot();
  });

  strictTest.each(Object.keys(configs))('every object of the %s config validates strictly against Kubernetes 1.31 and 1.34', (name) => {
    expect(new StrictValidator().validate([...objects(configs[name], 'jupyter'), ...objects(configs[name], 'vscode')])).toEqual([]);
  });

  test('a chart is rendered only while its app is enabled', () => {
    const paths = (c: Config) =>
      render(c)
        .files.map((f) => f.path)
        .join(' ');
    expect(paths(configWith({ workspaces: { jupyter: { enabled: false } } }))).not.toMatch(/jupyter/);
    expect(paths(configWith({ workspaces: { vscode: { enabled: false } } }))).not.toMatch(/vscode/);
    expect(paths(configs.default)).toMatch(/-jupyter\.yaml.*-vscode\.yaml/);
  });

  test('every object lives in the workspaces namespace', () => {
    const config = configWith({ namespaces: { workspaces: 'team-ws' } });
    for (const o of [...objects(config, 'jupyter'), ...objects(config, 'vscode')]) expect(o.metadata.namespace).toBe('team-ws');
  });

  describe('1. Jupyter', () => {
    test('runs a pinned quay.io/jupyter image through its own start script at the root base URL', () => {
      const [d] = deployments(configs.default, 'jupyter');
      const c = server(d);
      expect(c.image).toBe(configs.default.workspaces.jupyter.image);
      expect(c.image).toMatch(/^quay\.io\/jupyter\/scipy-notebook:\d{4}-\d{2}-\d{2}$/);
      expect(c.command).toBeUndefined();
      expect(c.args[0]).toBe('start-notebook.py');
      expect(c.args).toContain('--ServerApp.base_url=/');
      // With the edge the app's port is on loopback, behind the verifying proxy (workspace-iap-proxy.test.ts).
      expect(c.ports).toEqual([{ name: 'app', containerPort: 8888, protocol: 'TCP' }]);
    });

    test('points MLFLOW_TRACKING_URI at the in-cluster MLflow Service', () => {
      const config = configWith({ namePrefix: 'team-', namespaces: { platform: 'ml-core' } });
      const c = server(deployments(config, 'jupyter')[0]);
      expect(envOf(c).MLFLOW_TRACKING_URI).toBe(platformNames(config).mlflowUrl);
      expect(envOf(c).MLFLOW_TRACKING_URI).toBe('https://team-mlflow.ml-core.svc.cluster.local:5000');
    });

    test('puts the user-installed scripts (the mlflow command) first on PATH', () => {
      const c = server(deployments(configs.default, 'jupyter')[0]);
      expect(envOf(c).PATH.split(':').slice(0, 2)).toEqual(['/home/jovyan/.local/bin', '/opt/conda/bin']);
    });

    test('probes /api and runs as uid 1000, gid 100 with fsGroup 100', () => {
      const d = deployments(configs.default, 'jupyter')[0];
      const c = server(d);
      for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) expect(c[probe].httpGet).toEqual({ path: '/api', port: 8443, scheme: 'HTTPS' });
      expect(podSpec(d).securityContext).toMatchObject({ runAsUser: 1000, runAsGroup: 100, fsGroup: 100, runAsNonRoot: true });
      expect(c.securityContext).toMatchObject({ runAsUser: 1000, runAsGroup: 100 });
    });

    test('keeps the home directory on its own volume claim', () => {
      const list = objects(configs.default, 'jupyter');
      const d = ofKind(list, 'Deployment')[0];
      const claim = ofKind(list, 'PersistentVolumeClaim')[0];
      expect(claim.metadata.name).toBe('jupyter-home');
      expect(claim.spec).toEqual({ accessModes: ['ReadWriteOnce'], storageClassName: 'mlflow-workspaces-cmek', resources: { requests: { storage: '20Gi' } } });
      expect(podSpec(d).volumes).toContainEqual({ name: 'home', persistentVolumeClaim: { claimName: 'jupyter-home' } });
      expect(server(d).volumeMounts).toContainEqual({ name: 'home', mountPath: '/home/jovyan' });
      // One pod at a time holds a ReadWriteOnce volume.
      expect(d.spec.strategy).toEqual({ type: 'Recreate' });
      expect(d.spec.replicas).toBe(1);
    });

    test('installs the MLflow client of the server version into the home volume before the server starts', () => {
      const d = deployments(configWith({ mlflow: { image: 'ghcr.io/mlflow/mlflow:v3.17.0-full' } }), 'jupyter')[0];
      const [init] = setupSteps(d);
      expect(init.name).toBe('install-mlflow');
      expect(init.image).toBe(server(d).image);
      // The script file, run by bash with its name as $0, the lock as $1 and the pinned requirement as $2.
      expect(init.command.slice(0, 2)).toEqual(['bash', '-c']);
      expect(init.command.slice(3)).toEqual(['pip-user-install.sh', '/etc/workspace-shared/mlflow-client.lock', 'mlflow-skinny==3.17.0']);
      expect(init.command[2]).toBe(scriptFile(PIP_USER_INSTALL));
      expect(init.command[2]).toMatch(
        /pip install --user --no-cache-dir --require-hashes --only-binary=:all: --constraint "\$constraints" --requirement "\$lock"/,
      );
      // Installed only when missing: a restart does not download again.
      expect(init.command[2]).toMatch(/if python -c .*m\.version\(sys\.argv\[1\]\) != sys\.argv\[2\]/);
      expect(init.volumeMounts).toContainEqual({ name: 'home', mountPath: '/home/jovyan' });
    });

    test('a configured client version wins over the server image tag', () => {
      // (Installed, a version must also be one the workspace lock holds: workspace-locks.test.ts.)
      const notInstalled = { install: false };
      expect(mlflowClientVersion(buildModel(configWith({ workspaces: { mlflowClient: { ...notInstalled, version: '3.8.2' } } })))).toBe('3.8.2');
      expect(
        mlflowClientVersion(buildModel(configWith({ mlflow: { image: 'ghcr.io/mlflow/mlflow:v3.18.0rc1-full' }, workspaces: { mlflowClient: notInstalled } }))),
      ).toBe('3.18.0rc1');
    });

    test('an MLflow image tag without a version needs an explicit client version', () => {
      expect(() => configWith({ mlflow: { image: 'registry.example.com/mlflow:stable-full' } })).toThrow(
        'test config: workspaces.mlflowClient.version: (missing) is required while mlflow.image ("registry.example.com/mlflow:stable-full") names no MLflow release in its tag: set it to the server\'s release, such as "3.17.0"',
      );
    });

    test('without the install step no setup container runs and no version is needed', () => {
      const config = configWith({ mlflow: { image: 'registry.example.com/mlflow:stable-full' }, workspaces: { mlflowClient: { install: false } } });
      expect(setupSteps(deployments(config, 'jupyter')[0])).toEqual([]);
    });
  });

  describe('2. GPU', () => {
    test('the GPU config requests nvidia.com/gpu, selects the accelerator nodes, tolerates their taint and uses the CUDA image', () => {
      const d = deployments(configs.gpu, 'jupyter')[0];
      const c = server(d);
      expect(c.resources.limits['nvidia.com/gpu']).toBe(1);
      expect(c.resources.requests['nvidia.com/gpu']).toBe(1);
      // The GPU workspace pool: the workspace label and taint, and the accelerator's.
      expect(podSpec(d).nodeSelector).toEqual({ 'mlflow-gke/workload': 'workspaces', 'cloud.google.com/gke-accelerator': 'nvidia-l4' });
      expect(podSpec(d).tolerations).toEqual([
        { key: 'mlflow-gke/workload', operator: 'Equal', value: 'workspaces', effect: 'NoSchedule' },
        { key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' },
      ]);
      expect(c.image).toBe(configs.gpu.workspaces.gpu.image);
      expect(c.image).toMatch(/^quay\.io\/jupyter\/pytorch-notebook:cuda12-/);
      expect(podSpec(d).volumes).toContainEqual({ name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: '1Gi' } });
    });

    // jupyter/docker-stacks images/pytorch-notebook/cuda12/Dockerfile appends /usr/local/nvidia/bin
    // (where GKE mounts nvidia-smi) to PATH; the chart sets PATH itself, so it must keep that entry.
    test('with the GPU, PATH keeps the CUDA image entry /usr/local/nvidia/bin after the image PATH', () => {
      const path = envOf(server(deployments(configs.gpu, 'jupyter')[0])).PATH.split(':');
      expect(path[path.length - 1]).toBe('/usr/local/nvidia/bin');
      expect(path.slice(0, 3)).toEqual(['/home/jovyan/.local/bin', '/opt/conda/bin', '/usr/local/sbin']);
      expect(envOf(server(deployments(configs.default, 'jupyter')[0])).PATH).not.toContain('nvidia');
    });

    // docker-stacks tagging (tagging/apps/write_tags_file.py, tagging/taggers/date.py) re-pushes
    // cuda12-latest and cuda12-python-3.x with every build; only the cuda12-<build date> tag stays put.
    test('the default and the prod CUDA images are pinned by a cuda12 date tag', () => {
      const prod = configsUnderTest().find((c) => c.name === 'prod')!.config;
      expect(configs.gpu.workspaces.gpu.image).toBe('quay.io/jupyter/pytorch-notebook:cuda12-2025-10-06');
      expect(prod.workspaces.gpu.enabled).toBe(true);
      expect(prod.workspaces.gpu.image).toMatch(/^quay\.io\/jupyter\/pytorch-notebook:cuda12-\d{4}-\d{2}-\d{2}$/);
    });

    test('the GPU count comes from the config and reaches the rendered YAML', () => {
      const { files } = render(configWith({ workspaces: { gpu: { enabled: true, count: 2 } } }));
      expect(files.find((f) => f.path.endsWith('-jupyter.yaml'))!.content).toMatch(/nvidia\.com\/gpu: 2/);
    });

    test('without the GPU nothing asks for one, and VS Code never does', () => {
      expect(render(configs.default).files.some((f) => /nvidia\.com\/gpu/.test(f.content))).toBe(false);
      const vscode = deployments(configs.gpu, 'vscode')[0];
      expect(podSpec(vscode).nodeSelector).toEqual({ 'mlflow-gke/workload': 'workspaces' });
      expect(JSON.stringify(vscode)).not.toMatch(/nvidia/);
    });

    test('a GPU node pool too small for every Jupyter instance is a config error', () => {
      expect(() => configWith({ workspaces: { ...THREE_USERS.workspaces, gpu: { enabled: true, maxNodes: 2 } } })).toThrow(
        /workspaces\.gpu\.maxNodes: 2 is not allowed: must be at least the number of Jupyter instances \(3\): each one holds a GPU node/,
      );
    });
  });

  describe('3. VS Code', () => {
    test('runs the pinned code-server image with a persistent workspace volume and /healthz probes as uid 1000', () => {
      const list = objects(configs.default, 'vscode');
      const d = ofKind(list, 'Deployment')[0];
      const c = server(d);
      expect(c.image).toBe('codercom/code-server:4.104.0');
      expect(c.ports).toEqual([{ name: 'app', containerPort: 8080, protocol: 'TCP' }]);
      for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe'])
        expect(c[probe].httpGet).toEqual({ path: '/healthz', port: 8443, scheme: 'HTTPS' });
      expect(podSpec(d).securityContext).toMatchObject({ runAsUser: 1000, fsGroup: 1000, runAsNonRoot: true });
      expect(ofKind(list, 'PersistentVolumeClaim')[0].metadata.name).toBe('vscode-home');
      expect(c.volumeMounts).toContainEqual({ name: 'home', mountPath: '/home/coder' });
      expect(envOf(c).MLFLOW_TRACKING_URI).toBe(platformNames(configs.default).mlflowUrl);
    });

    test('scripts in the terminal find a Python with the MLflow client on the workspace volume', () => {
      const d = deployments(configs.default, 'vscode')[0];
      const env = envOf(server(d));
      expect(env.PATH.split(':')[0]).toBe(`${VSCODE_VENV}/bin`);
      expect(env.VIRTUAL_ENV).toBe(VSCODE_VENV);
      const [python, mlflow] = setupSteps(d);
      expect(python.image).toBe(configs.default.workspaces.vscode.uvImage);
      expect(python.command).toEqual(['/usr/local/bin/uv', 'venv', '--allow-existing', '--python', '3.12', VSCODE_VENV]);
      expect(envOf(python).UV_PYTHON_INSTALL_DIR).toMatch(/^\/home\/coder\//);
      // From the locks, in hash-checking mode (workspace-locks.test.ts).
      expect(mlflow.command.slice(0, 5)).toEqual(['/usr/local/bin/uv', 'pip', 'install', '--python', `${VSCODE_VENV}/bin/python`]);
      expect(mlflow.command).toContain('--require-hashes');
    });

    // astral-sh/uv at 0.10.8: the Dockerfile's final stage is `FROM scratch` with `/uv` alone (no
    // shell, no libc: uv cannot run a managed Python there), and .github/workflows/build-docker.yml
    // builds `<version>-<base>` images with `COPY --from=... /uv /uvx /usr/local/bin/`; its 0.10.x
    // Debian bases are trixie (`debian:trixie-slim` -> `-trixie-slim`), no bookworm.
    test('the setup steps run uv from /usr/local/bin of the Debian trixie-slim uv image', () => {
      expect(configs.default.workspaces.vscode.uvImage).toBe('ghcr.io/astral-sh/uv:0.10.8-trixie-slim');
      expect(UV_BIN).toBe('/usr/local/bin/uv');
      for (const step of setupSteps(deployments(configs.default, 'vscode')[0]).filter((c: Manifest) => c.image === configs.default.workspaces.vscode.uvImage))
        expect(step.command[0]).toBe('/usr/local/bin/uv');
    });

    test.each([
      ['ghcr.io/astral-sh/uv:0.10.8', 'the plain "0.10.8" image is FROM scratch (no shell, no libc), so uv cannot run the Python it installs'],
      ['ghcr.io/astral-sh/uv:0.10.8-alpine', 'an Alpine base makes uv install a musl Python, which the glibc code-server image cannot run'],
      ['ghcr.io/astral-sh/uv:0.10.8-python3.12-alpine', 'an Alpine base makes uv install a musl Python'],
    ])('the uv image %s is refused', (uvImage, why) => {
      expect(() => configWith({ workspaces: { vscode: { uvImage } } })).toThrow(
        `workspaces.vscode.uvImage: "${uvImage}" is not allowed: must be a ghcr.io/astral-sh/uv tag with a Debian base such as "0.10.8-trixie-slim": ${why}`,
      );
    });

    test('Debian-based uv tags and other repositories are accepted; without the install step uvImage is unused', () => {
      for (const uvImage of [
        'ghcr.io/astral-sh/uv:0.10.8-trixie',
        'ghcr.io/astral-sh/uv:0.10.8-python3.12-trixie-slim',
        'registry.example.com/tools/uv:0.10.8',
      ])
        expect(configWith({ workspaces: { vscode: { uvImage } } }).workspaces.vscode.uvImage).toBe(uvImage);
      expect(() => configWith({ workspaces: { mlflowClient: { install: false }, vscode: { uvImage: 'ghcr.io/astral-sh/uv:0.10.8' } } })).not.toThrow();
    });

    test('extensions come from Open VSX into the workspace volume', () => {
      const d = deployments(configWith({ workspaces: { vscode: { extensions: ['ms-python.python@2025.14.0', 'redhat.vscode-yaml@1.18.0'] } } }), 'vscode')[0];
      const ext = podSpec(d).initContainers.find((c: any) => c.name === 'install-extensions');
      expect(ext.command).toEqual([
        '/usr/bin/code-server',
        '--install-extension',
        'ms-python.python@2025.14.0',
        '--install-extension',
        'redhat.vscode-yaml@1.18.0',
      ]);
      expect(ext.volumeMounts).toContainEqual({ name: 'home', mountPath: '/home/coder' });
      expect(envOf(server(d)).EXTENSIONS_GALLERY).toBeUndefined();
    });

    test('without the install step PATH has no Python environment, only the toolchain folders and the image PATH', () => {
      const d = deployments(configs.offline, 'vscode')[0];
      expect(envOf(server(d)).PATH).toBe(
        '/home/coder/.local/bin:/home/coder/.cargo/bin:/home/coder/go/bin:/home/coder/.local/go/bin:/home/coder/.local/node/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      );
      expect(envOf(server(d)).VIRTUAL_ENV).toBeUndefined();
      expect(setupSteps(d)).toEqual([]);
    });
  });

  describe('4. per-user workspaces', () => {
    test('without users there is one shared instance of each app', () => {
      const names = platformNames(configs.default).workspaces.map((w) => w.name);
      expect(names).toEqual(['jupyter', 'vscode']);
      expect(deployments(configs.default, 'jupyter').map((d) => d.metadata.name)).toEqual(['jupyter']);
      expect(deployments(configs.default, 'vscode').map((d) => d.metadata.name)).toEqual(['vscode']);
    });

    test('three users get their own Jupyter and VS Code, each with its own volume, Service and NetworkPolicy', () => {
      for (const app of ['jupyter', 'vscode'] as const) {
        const list = objects(configs.threeUsers, app);
        const expected = ['ana', 'bo', 'carol'].map((u) => `${app}-${u}`);
        for (const kind of ['Deployment', 'Service', 'NetworkPolicy', 'ServiceAccount'])
          expect(
            ofKind(list, kind)
              .map((o) => o.metadata.name)
              .sort(),
          ).toEqual(expected);
        expect(
          ofKind(list, 'PersistentVolumeClaim')
            .map((o) => o.metadata.name)
            .sort(),
        ).toEqual(expected.map((n) => `${n}-home`));
      }
    });

    test('each instance selects only its own pods', () => {
      const list = [...objects(configs.threeUsers, 'jupyter'), ...objects(configs.threeUsers, 'vscode')];
      const selectors = ofKind(list, 'Deployment').map((d) => JSON.stringify(d.spec.selector.matchLabels));
      expect(new Set(selectors).size).toBe(6);
      for (const d of ofKind(list, 'Deployment')) {
        const service = list.find((o) => o.kind === 'Service' && o.metadata.name === d.metadata.name)!;
        const policy = list.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === d.metadata.name)!;
        expect(service.spec.selector).toEqual(d.spec.selector.matchLabels);
        expect(policy.spec.podSelector.matchLabels).toEqual(d.spec.selector.matchLabels);
        expect(d.spec.selector.matchLabels['app.kubernetes.io/name']).toBe(d.metadata.name);
      }
    });

    test('an instance records its user and the host name the edge serves it under', () => {
      const d = deployments(configs.threeUsers, 'jupyter').find((o) => o.metadata.name === 'jupyter-bo')!;
      expect(d.spec.template.metadata.annotations).toMatchObject({ 'mlflow-gke/user': 'bo@example.com' });
      expect(platformNames(configs.threeUsers).workspaces.find((w) => w.name === 'jupyter-bo')!.host).toBe('jupyter-bo.ml.example.com');
    });

    test('reordering the user list changes nothing', () => {
      const reordered = configWith({ workspaces: { users: [...THREE_USERS.workspaces.users].reverse() } });
      for (const app of ['jupyter', 'vscode'] as const) expect(objects(reordered, app)).toEqual(objects(configs.threeUsers, app));
    });

    test('bad and duplicate user names are config errors', () => {
      expect(() => configWith({ workspaces: { users: [{ name: 'Ana.B', email: 'a@example.com' }] } })).toThrow(
        /workspaces\.users\[0\]\.name: "Ana\.B" is not allowed: must be a DNS label/,
      );
      expect(() =>
        configWith({
          workspaces: {
            users: [
              { name: 'a', email: 'a@example.com' },
              { name: 'a', email: 'b@example.com' },
            ],
          },
        }),
      ).toThrow(/workspaces\.users\[1\]\.name: "a" is not allowed: must be unique/);
    });
  });

  describe('5. login', () => {
    test('behind IAP the servers run without their own login', () => {
      const jupyter = server(deployments(configs.default, 'jupyter')[0]);
      expect(jupyter.args).toContain('--IdentityProvider.token=');
      expect(envOf(jupyter).JUPYTER_TOKEN).toBeUndefined();
      const vscode = server(deployments(configs.default, 'vscode')[0]);
      expect(vscode.args).toContain('--auth=none');
      expect(envOf(vscode).PASSWORD).toBeUndefined();
    });

    test('without the edge both read their token from the referenced Secret', () => {
      const config = configWith({ edge: { enabled: false }, workspaces: { tokenSecret: 'team-token' } });
      const jupyter = server(deployments(config, 'jupyter')[0]);
      expect(jupyter.args.join(' ')).not.toMatch(/token=/);
      expect(envOf(jupyter).JUPYTER_TOKEN).toEqual({ secretKeyRef: { name: 'team-token', key: 'token' } });
      const vscode = server(deployments(config, 'vscode')[0]);
      expect(vscode.args).toContain('--auth=password');
      expect(envOf(vscode).PASSWORD).toEqual({ secretKeyRef: { name: 'team-token', key: 'token' } });
    });
  });

  describe('6. NetworkPolicies', () => {
    const policy = (config: Config, app: 'jupyter' | 'vscode') => ofKind(objects(config, app), 'NetworkPolicy')[0];

    test('ingress comes only from the load balancer and IAP ranges, on the verifying proxy port', () => {
      for (const [app, port] of [
        ['jupyter', 8443],
        ['vscode', 8443],
      ] as const) {
        const p = policy(configs.default, app);
        expect(p.spec.policyTypes).toEqual(['Ingress', 'Egress']);
        expect(p.spec.ingress).toEqual([{ from: LOAD_BALANCER_RANGES.map((cidr) => ({ ipBlock: { cidr } })), ports: [{ protocol: 'TCP', port }] }]);
      }
      expect(LOAD_BALANCER_RANGES).toEqual(['35.191.0.0/16', '130.211.0.0/22']);
    });

    test('without a public edge nothing may open a connection to a workspace', () => {
      const config = configWith({ edge: { enabled: false } });
      for (const app of ['jupyter', 'vscode'] as const) {
        const p = policy(config, app);
        expect(p.spec.policyTypes).toEqual(['Ingress', 'Egress']);
        // No rule (not an empty list, which the API server drops, so that each apply would change it again).
        expect(p.spec).not.toHaveProperty('ingress');
      }
    });

    test('egress reaches the MLflow server pods on their port', () => {
      const config = configWith({ namePrefix: 'team-', environment: 'prod', namespaces: { platform: 'ml-core' } });
      const [mlflow] = policy(config, 'jupyter').spec.egress;
      expect(mlflow).toEqual({
        to: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ml-core' } },
            podSelector: {
              matchLabels: { 'app.kubernetes.io/name': 'team-mlflow', 'app.kubernetes.io/instance': 'prod', 'app.kubernetes.io/component': 'server' },
            },
          },
        ],
        ports: [{ protocol: 'TCP', port: 5000 }],
      });
    });

    test('internet egress never reaches private ranges (the database) or the metadata server', () => {
      for (const app of ['jupyter', 'vscode'] as const) {
        const internet = policy(configs.default, app).spec.egress[1];
        expect(internet.to[0].ipBlock.cidr).toBe('0.0.0.0/0');
        expect(internet.ports).toBeUndefined();
        expect(internet.to[0].ipBlock.except).toEqual(
          expect.arrayContaining(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16']),
        );
      }
    });

    test('cluster and private-services ranges outside the private ranges are excluded too', () => {
      const config = configWith({ network: { privateServicesCidr: '11.30.0.0/16' } });
      const except = policy(config, 'jupyter').spec.egress[1].to[0].ipBlock.except;
      expect(except).toContain('11.30.0.0/16');
      expect(policy(configs.default, 'jupyter').spec.egress[1].to[0].ipBlock.except).not.toContain('10.30.0.0/16');
    });

    test('internet egress can be switched off, which needs images that ship the MLflow client', () => {
      for (const app of ['jupyter', 'vscode'] as const) expect(policy(configs.offline, app).spec.egress).toHaveLength(1);
      expect(() => configWith({ workspaces: { internetEgress: false } })).toThrow(
        /workspaces\.mlflowClient\.install: .* is not allowed: can be true only while workspaces\.internetEgress or workspaces\.hostEgress is true/,
      );
      expect(() => configWith({ workspaces: { internetEgress: false, mlflowClient: { install: false } } })).toThrow(
        /workspaces\.vscode\.extensions: .* is not allowed: must list only \.vsix files in the image while workspaces\.internetEgress and workspaces\.hostEgress are false/,
      );
    });

    test('workspace pods carry the labels the MLflow chart admits', () => {
      for (const app of ['jupyter', 'vscode'] as const)
        for (const d of deployments(configs.threeUsers, app))
          expect(d.spec.template.metadata.labels).toMatchObject({ 'app.kubernetes.io/component': 'workspace', 'app.kubernetes.io/part-of': 'mlflow-gke' });
    });
  });

  describe('7. security baseline', () => {
    const allContainers = (d: Manifest) => [...(podSpec(d).initContainers ?? []), ...podSpec(d).containers];

    test.each(['default', 'gpu', 'noEdge'])('every container of the %s config is restricted, read-only and bounded', (name) => {
      for (const app of ['jupyter', 'vscode'] as const)
        for (const d of deployments(configs[name], app)) {
          expect(podSpec(d).securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } });
          for (const c of allContainers(d)) {
            expect(c.securityContext).toMatchObject({
              allowPrivilegeEscalation: false,
              capabilities: { drop: ['ALL'] },
              runAsNonRoot: true,
              runAsUser: 1000,
              readOnlyRootFilesystem: true,
              seccompProfile: { type: 'RuntimeDefault' },
            });
            expect(Object.keys(c.resources.requests)).toEqual(expect.arrayContaining(['cpu', 'memory']));
            expect(Object.keys(c.resources.limits)).toEqual(expect.arrayContaining(['cpu', 'memory']));
            expect(c.image).not.toMatch(/:latest$|^[^:]+$/);
            // Writable paths are volumes, so the image can stay read-only; the verifying proxy writes nothing.
            if (c.name === 'iap-proxy') expect(c.volumeMounts.every((m: any) => m.readOnly)).toBe(true);
            else expect(c.volumeMounts.map((m: any) => m.mountPath)).toEqual(expect.arrayContaining(['/tmp']));
          }
        }
    });

    test('workspaces get no Google Cloud credentials and no Kubernetes token', () => {
      for (const app of ['jupyter', 'vscode'] as const) {
        const list = objects(configs.threeUsers, app);
        for (const sa of ofKind(list, 'ServiceAccount')) {
          expect(sa.automountServiceAccountToken).toBe(false);
          expect(sa.metadata.annotations?.['iam.gke.io/gcp-service-account']).toBeUndefined();
        }
        for (const d of ofKind(list, 'Deployment')) {
          expect(podSpec(d).automountServiceAccountToken).toBe(false);
          expect(podSpec(d).serviceAccountName).toBe(d.metadata.name);
        }
      }
    });

    test('workspace volumes are never pruned by Flux', () => {
      for (const app of ['jupyter', 'vscode'] as const)
        for (const claim of ofKind(objects(configs.threeUsers, app), 'PersistentVolumeClaim'))
          expect(claim.metadata.annotations['kustomize.toolkit.fluxcd.io/prune']).toBe('disabled');
    });

    test('Services expose the stable port name the edge refers to, on the verifying proxy (the app itself without the edge)', () => {
      for (const app of ['jupyter', 'vscode'] as const) {
        for (const s of ofKind(objects(configs.threeUsers, app), 'Service'))
          expect(s.spec.ports).toEqual([{ name: 'https', port: 443, targetPort: 8443, protocol: 'TCP' }]);
        for (const s of ofKind(objects(configs.noEdge, app), 'Service'))
          expect(s.spec.ports).toEqual([{ name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' }]);
      }
    });
  });

  describe('8. what every instance shares, once per app', () => {
    const USERS = 12;
    const many = configWith({
      workspaces: { users: Array.from({ length: USERS }, (_, i) => ({ name: `user${String(i).padStart(2, '0')}`, email: `user${i}@example.com` })) },
    });
    const LOCKS: Record<'jupyter' | 'vscode', WorkspaceLock[]> = { jupyter: ['mlflowClient'], vscode: ['mlflowClient', 'pip'] };
    /** Every string anywhere in the objects (data values, commands, arguments, environment). */
    const strings = (value: unknown): string[] =>
      typeof value === 'string' ? [value] : value && typeof value === 'object' ? Object.values(value).flatMap(strings) : [];
    const count = (list: Manifest[], text: string) => strings(list).filter((v) => v.includes(text)).length;

    test.each(['jupyter', 'vscode'] as const)('%s: with many users the locks and the proxy program are rendered once, in the shared ConfigMap', (app) => {
      const list = objects(many, app);
      expect(ofKind(list, 'Deployment')).toHaveLength(USERS);
      const shared = list.filter((o) => o.kind === 'ConfigMap' && o.metadata.name === `${app}-shared`);
      expect(shared).toHaveLength(1);
      const files = Object.fromEntries(LOCKS[app].map((lock) => [`${WORKSPACE_LOCKS[lock]}.lock`, lockText(lock)]));
      expect(shared[0].data).toEqual({ ...files, [IAP_PROXY_FILE]: iapProxyProgram() });
      for (const text of [...Object.values(files), iapProxyProgram()]) expect(count(list, text)).toBe(1);
      // The instances' own ConfigMaps keep only their own files.
      for (const m of ofKind(list, 'ConfigMap').filter((o) => o !== shared[0])) {
        expect(m.metadata.name).toMatch(/-files$/);
        expect(Object.keys(m.data ?? {}).filter((k) => k.endsWith('.lock') || k === IAP_PROXY_FILE)).toEqual([]);
      }
      // Labelled like the instances' objects, and prunable like them (only the home claims are kept).
      expect(shared[0].metadata).toEqual({
        name: `${app}-shared`,
        namespace: many.namespaces.workspaces,
        labels: expect.objectContaining({
          'app.kubernetes.io/part-of': 'mlflow-gke',
          'app.kubernetes.io/component': 'workspace',
          'app.kubernetes.io/instance': many.environment,
        }),
      });
    });

    test.each(['jupyter', 'vscode'] as const)('%s: every instance mounts the shared files read-only where the proxy and the setup steps read them', (app) => {
      const list = objects(many, app);
      const data = list.find((o) => o.kind === 'ConfigMap' && o.metadata.name === `${app}-shared`)!.data;
      for (const d of ofKind(list, 'Deployment')) {
        expect(podSpec(d).volumes).toContainEqual({ name: SHARED_FILES_VOLUME, configMap: { name: `${app}-shared`, defaultMode: 0o444 } });
        const readers = (podSpec(d).initContainers as Manifest[]).filter((c) => c.name === PROXY_CONTAINER || c.name === 'install-mlflow');
        expect(readers).toHaveLength(2);
        for (const c of readers) {
          expect(c.volumeMounts).toContainEqual({ name: SHARED_FILES_VOLUME, mountPath: SHARED_FILES_PATH, readOnly: true });
          // Every shared path the container names is a file of the ConfigMap.
          const named = strings([c.command, c.args]).flatMap((v) => v.match(new RegExp(`${SHARED_FILES_PATH}/[\\w.-]+`, 'g')) ?? []);
          expect(named.length).toBeGreaterThan(0);
          for (const file of named) expect(Object.keys(data)).toContain(file.slice(SHARED_FILES_PATH.length + 1));
        }
        // The server itself does not need them.
        expect(server(d).volumeMounts.map((m: Manifest) => m.name)).not.toContain(SHARED_FILES_VOLUME);
      }
    });

    test('without locks or the proxy there is nothing to share: no ConfigMap, no volume, no annotation', () => {
      const config = configWith({
        edge: { enabled: false },
        workspaces: { internetEgress: false, mlflowClient: { install: false }, vscode: { extensions: [] } },
      });
      for (const app of ['jupyter', 'vscode'] as const) {
        const list = objects(config, app);
        expect(list.filter((o) => o.metadata.name === `${app}-shared`)).toEqual([]);
        for (const d of ofKind(list, 'Deployment')) {
          expect(podSpec(d).volumes.map((v: Manifest) => v.name)).not.toContain(SHARED_FILES_VOLUME);
          expect(d.spec.template.metadata.annotations ?? {}).not.toHaveProperty(SHARED_FILES_HASH_ANNOTATION);
        }
      }
    });

    test.each([
      ['jupyter', jupyter],
      ['vscode', vscode],
    ] as const)('%s: a changed shared file changes the pod template of every instance, and nothing else of theirs', (_, app) => {
      const props = workspacesChartProps(buildModel(many), app);
      const synth = (files: Record<string, string>) =>
        Testing.synth(new WorkspacesChart(testApp(), app.id, { ...props, shared: { ...props.shared!, files } })).filter((o) => o.kind === 'Deployment');
      const files = props.shared!.files;
      const before = synth(files);
      expect(synth({ ...files })).toEqual(before);
      for (const file of Object.keys(files)) {
        const after = synth({ ...files, [file]: `${files[file]}\n# changed\n` });
        expect(after).toHaveLength(USERS);
        after.forEach((d, i) => {
          const hash = d.spec.template.metadata.annotations[SHARED_FILES_HASH_ANNOTATION];
          expect(hash).toMatch(/^[0-9a-f]{8}$/);
          expect(hash).not.toBe(before[i].spec.template.metadata.annotations[SHARED_FILES_HASH_ANNOTATION]);
          const { [SHARED_FILES_HASH_ANNOTATION]: _h, ...rest } = d.spec.template.metadata.annotations;
          const { [SHARED_FILES_HASH_ANNOTATION]: _b, ...restBefore } = before[i].spec.template.metadata.annotations;
          expect(rest).toEqual(restBefore);
          expect(d.spec.template.spec).toEqual(before[i].spec.template.spec);
        });
      }
    });
  });

  test('the chart class renders from props alone', () => {
    const chart = new WorkspacesChart(testApp(), 'vscode', workspacesChartProps(buildModel(configs.threeUsers), vscode));
    expect(Testing.synth(chart).filter((o) => o.kind === 'Deployment')).toHaveLength(3);
  });

  test('config errors name the field', () => {
    expect(() => configWith({ workspaces: { vscode: { python: '3' } } })).toThrow(ConfigError);
    expect(() => configWith({ workspaces: { vscode: { extensions: ['not an id'] } } })).toThrow(
      /workspaces\.vscode\.extensions\[0\]: "not an id" is not allowed: must be an Open VSX extension id/,
    );
    expect(() => configWith({ workspaces: { mlflowClient: { version: 'three' } } })).toThrow(
      /workspaces\.mlflowClient\.version: "three" is not allowed: must be an MLflow release/,
    );
  });
});
