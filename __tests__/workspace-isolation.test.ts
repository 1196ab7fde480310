/**
 * Workspaces on nodes of their own: the tainted workspace pools and the pods that tolerate them, GKE
 * Sandbox, the per-pod PID limit, and egress by host name (docs/security.md, "Workspace isolation").
 */
import { GKE_SANDBOX_RUNTIME_CLASS, WORKSPACE_NODES } from '../common/contract';
import type { Config } from '../config/schema';
import { FQDN_NETWORK_POLICY } from '../charts/lib/fqdn-network-policy';
import { runtimeClassesMadeElsewhere } from './cluster/support/apply';
import { configError, configsUnderTest, configWith, Manifest, render } from './support/render';
import { StrictValidator } from './support/schemas';
import { validateWithPackages } from './support/fallback-validation';
import { strictTest } from './support/strict-tests';

const TAINT = { key: WORKSPACE_NODES.key, value: WORKSPACE_NODES.value, effect: 'NO_SCHEDULE' };
const TOLERATION = { key: WORKSPACE_NODES.key, operator: 'Equal', value: WORKSPACE_NODES.value, effect: 'NoSchedule' };
const GPU = { workspaces: { gpu: { enabled: true, acceleratorType: 'nvidia-l4', count: 1 } } };
const USERS = { users: [{ name: 'ana', email: 'ana@example.com' }] };
const HOSTS = {
  workspaces: {
    ...USERS,
    internetEgress: false,
    hostEgress: true,
    packages: { hosts: ['pypi.example.com', 'files.example.com', 'pypi.example.com'] },
    git: { hosts: [{ host: 'git.example.com' }, { host: 'code.example.org' }] },
  },
};

const configs: Record<string, Config> = {
  default: configWith({}),
  gpu: configWith(GPU),
  users: configWith({ workspaces: USERS }),
  hosts: configWith(HOSTS),
  ...Object.fromEntries(configsUnderTest().map((c) => [`example ${c.name}`, c.config])),
};

const objectsOf = (config: Config) => render(config).objects;
const ofKind = (objects: Manifest[], kind: string) => objects.filter((o) => o.kind === kind);
const pools = (config: Config) => ofKind(objectsOf(config), 'ContainerNodePool');
const workspacePools = (config: Config) => pools(config).filter((p) => p.metadata.name.includes('-workspaces-'));
const isWorkspace = (o: Manifest) => o.kind === 'Deployment' && o.spec.template.metadata.labels['app.kubernetes.io/component'] === 'workspace';
const workspaceDeployments = (config: Config) => objectsOf(config).filter(isWorkspace);
const byApp = (config: Config, app: string) => workspaceDeployments(config).filter((d) => d.metadata.name.startsWith(app));

/** Every pod spec of the render with the object it belongs to. */
function podSpecs(objects: Manifest[]): { object: Manifest; spec: Manifest }[] {
  return objects.flatMap((o) =>
    [o.spec?.template?.spec, o.spec?.jobTemplate?.spec?.template?.spec, o.kind === 'Pod' ? o.spec : undefined]
      .filter(Boolean)
      .map((spec) => ({ object: o, spec })),
  );
}

/** Whether a toleration lets a pod onto the workspace nodes: the same key, or an empty key with Exists (every taint). */
const toleratesWorkspaceTaint = (t: Manifest) => t.key === WORKSPACE_NODES.key || ((t.key ?? '') === '' && t.operator === 'Exists');

describe('the workspace node pools', () => {
  test.each(Object.keys(configs))(
    'in the %s config every workspace pool carries the workspace label and NoSchedule taint, and the general pool neither',
    (name) => {
      const all = pools(configs[name]);
      const general = all.filter((p) => p.metadata.name.endsWith('-general'));
      expect(general).toHaveLength(1);
      expect(general[0].spec.nodeConfig.taint).toBeUndefined();
      expect(general[0].spec.nodeConfig.labels).toBeUndefined();
      const workspace = workspacePools(configs[name]);
      expect(workspace.length).toBeGreaterThan(0);
      expect(all).toHaveLength(workspace.length + 1);
      for (const pool of workspace) {
        expect(pool.spec.nodeConfig.labels).toEqual({ [WORKSPACE_NODES.key]: WORKSPACE_NODES.value });
        expect(pool.spec.nodeConfig.taint).toEqual([TAINT]);
      }
    },
  );

  test.each(Object.keys(configs))('in the %s config every workspace pod requires the workspace label and tolerates the workspace taint', (name) => {
    const deployments = workspaceDeployments(configs[name]);
    expect(deployments.length).toBeGreaterThan(0);
    for (const d of deployments) {
      expect(d.spec.template.spec.nodeSelector).toMatchObject({ [WORKSPACE_NODES.key]: WORKSPACE_NODES.value });
      expect(d.spec.template.spec.tolerations).toContainEqual(TOLERATION);
    }
  });

  test.each(Object.keys(configs))('in the %s config no other pod tolerates the workspace taint or selects the workspace nodes', (name) => {
    const others = podSpecs(objectsOf(configs[name])).filter(({ object }) => !isWorkspace(object));
    // MLflow, PostgreSQL and the Jobs among them: the pods that hold platform secrets.
    expect(others.length).toBeGreaterThan(3);
    const offenders = others
      .filter(({ spec }) => (spec.tolerations ?? []).some(toleratesWorkspaceTaint) || spec.nodeSelector?.[WORKSPACE_NODES.key] !== undefined)
      .map(({ object }) => `${object.kind} ${object.metadata.name}`);
    expect(offenders).toEqual([]);
  });

  const GPU_VARIANTS: Record<string, Config> = {
    ...configs,
    'gpu sandboxed': configWith({ workspaces: { gpu: { ...GPU.workspaces.gpu, sandbox: true } } }),
    'gpu without VS Code': configWith({ workspaces: { ...GPU.workspaces, vscode: { enabled: false } } }),
    'no sandbox': configWith({ cluster: { workspacePool: { sandbox: false } } }),
  };

  test.each(Object.keys(GPU_VARIANTS))('in the %s config every workspace pod fits a rendered pool: its labels, accelerator and runtime', (name) => {
    const config = GPU_VARIANTS[name];
    const rendered = workspacePools(config);
    for (const d of workspaceDeployments(config)) {
      const spec = d.spec.template.spec;
      const fits = rendered.filter((p) => {
        const nodeLabels = {
          ...p.spec.nodeConfig.labels,
          ...(p.spec.nodeConfig.guestAccelerator ? { 'cloud.google.com/gke-accelerator': p.spec.nodeConfig.guestAccelerator[0].type } : {}),
        };
        // GKE taints GPU nodes nvidia.com/gpu itself, so only pods that tolerate it land there.
        const taints = [...p.spec.nodeConfig.taint, ...(p.spec.nodeConfig.guestAccelerator ? [{ key: 'nvidia.com/gpu' }] : [])];
        const tolerated = taints.every((t) => (spec.tolerations ?? []).some((o: Manifest) => o.key === t.key));
        const sandboxed = p.spec.nodeConfig.sandboxConfig?.sandboxType === 'gvisor';
        return Object.entries(spec.nodeSelector).every(([k, v]) => nodeLabels[k] === v) && tolerated && sandboxed === (spec.runtimeClassName === 'gvisor');
      });
      expect({ deployment: d.metadata.name, pools: fits.length }).toEqual({ deployment: d.metadata.name, pools: 1 });
    }
  });

  test('the check above catches a toleration of the key and a toleration of every taint', () => {
    expect(toleratesWorkspaceTaint({ key: WORKSPACE_NODES.key, operator: 'Exists' })).toBe(true);
    expect(toleratesWorkspaceTaint({ operator: 'Exists' })).toBe(true);
    expect(toleratesWorkspaceTaint({ key: 'nvidia.com/gpu', operator: 'Exists' })).toBe(false);
  });

  test('the CPU workspace pool scales over its zones within cluster.workspacePool and exists only while a workspace runs on it', () => {
    const pool = workspacePools(configWith({ cluster: { workspacePool: { machineType: 'n2-standard-8', minNodes: 0, maxNodes: 5 } } }))[0];
    expect(pool.metadata.name).toBe('mlflow-gke-workspaces-gvisor');
    expect(pool.spec.autoscaling).toEqual({ totalMinNodeCount: 0, totalMaxNodeCount: 5, locationPolicy: 'ANY' });
    expect(pool.spec.nodeConfig.machineType).toBe('n2-standard-8');
    // A GPU Jupyter alone runs on the GPU pool: no CPU workspace pool then.
    const gpuOnly = workspacePools(configWith({ workspaces: { ...GPU.workspaces, vscode: { enabled: false } } }));
    expect(gpuOnly.map((p) => p.metadata.name)).toEqual(['mlflow-gke-workspaces-l4-runc']);
    expect(pools(configWith({ workspaces: { jupyter: { enabled: false }, vscode: { enabled: false } } })).map((p) => p.metadata.name)).toEqual([
      'mlflow-gke-general',
    ]);
  });

  test('a workspace pool with fewer maximum than minimum nodes is a config error', () => {
    expect(configError({ cluster: { workspacePool: { minNodes: 4, maxNodes: 2 } } })).toContain(
      'cluster.workspacePool.maxNodes: 2 is not allowed: must be at least workspacePool.minNodes (4)',
    );
  });
});

describe('GKE Sandbox', () => {
  test('on by default: the CPU workspace pool is a gVisor pool and its pods name the gvisor RuntimeClass', () => {
    const [pool] = workspacePools(configs.default);
    expect(pool.spec.nodeConfig.sandboxConfig).toEqual({ sandboxType: 'gvisor' });
    for (const d of workspaceDeployments(configs.default)) expect(d.spec.template.spec.runtimeClassName).toBe(GKE_SANDBOX_RUNTIME_CLASS);
  });

  test('switched off, the pool is another one (sandboxing is immutable) and the pods run on the default runtime', () => {
    const config = configWith({ cluster: { workspacePool: { sandbox: false } } });
    const [pool] = workspacePools(config);
    expect(pool.metadata.name).toBe('mlflow-gke-workspaces-runc');
    expect(pool.spec.nodeConfig.sandboxConfig).toBeUndefined();
    for (const d of workspaceDeployments(config)) expect(d.spec.template.spec.runtimeClassName).toBeUndefined();
  });

  test('the GPU pool is sandboxed only when workspaces.gpu.sandbox says so, independently of the CPU pool', () => {
    const gpuPool = (config: Config) => workspacePools(config).find((p) => p.spec.nodeConfig.guestAccelerator)!;
    expect(gpuPool(configs.gpu).spec.nodeConfig.sandboxConfig).toBeUndefined();
    expect(byApp(configs.gpu, 'jupyter')[0].spec.template.spec.runtimeClassName).toBeUndefined();
    expect(byApp(configs.gpu, 'vscode')[0].spec.template.spec.runtimeClassName).toBe('gvisor');
    const sandboxed = configWith({ workspaces: { gpu: { ...GPU.workspaces.gpu, sandbox: true } } });
    expect(gpuPool(sandboxed).metadata.name).toBe('mlflow-gke-workspaces-l4-gvisor');
    expect(gpuPool(sandboxed).spec.nodeConfig.sandboxConfig).toEqual({ sandboxType: 'gvisor' });
    const jupyter = byApp(sandboxed, 'jupyter')[0].spec.template.spec;
    expect(jupyter.runtimeClassName).toBe('gvisor');
    // The GPU handling stays: the accelerator's node label and taint.
    expect(jupyter.nodeSelector).toEqual({ [WORKSPACE_NODES.key]: WORKSPACE_NODES.value, 'cloud.google.com/gke-accelerator': 'nvidia-l4' });
    expect(jupyter.tolerations).toContainEqual({ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' });
  });

  test('workspaces.gpu.sandbox without the GPU is a config error that points at the CPU pool setting', () => {
    expect(configError({ workspaces: { gpu: { sandbox: true } } })).toContain(
      'workspaces.gpu.sandbox: true is used only while workspaces.gpu.enabled is true (it sandboxes the GPU pool); the CPU workspaces follow cluster.workspacePool.sandbox',
    );
  });

  test('sandboxed pods keep the restricted security context the namespace enforces', () => {
    for (const d of workspaceDeployments(configs.default)) {
      const spec = d.spec.template.spec;
      expect(spec.securityContext.seccompProfile).toEqual({ type: 'RuntimeDefault' });
      for (const c of [...(spec.initContainers ?? []), ...spec.containers]) expect(c.securityContext.allowPrivilegeEscalation).toBe(false);
    }
  });

  test('the local control plane gets a stand-in for the gvisor RuntimeClass GKE makes, and for nothing else', () => {
    expect(runtimeClassesMadeElsewhere(objectsOf(configs.default))).toEqual([
      { apiVersion: 'node.k8s.io/v1', kind: 'RuntimeClass', metadata: { name: 'gvisor' }, handler: 'runsc' },
    ]);
    expect(runtimeClassesMadeElsewhere(objectsOf(configWith({ cluster: { workspacePool: { sandbox: false } } })))).toEqual([]);
  });
});

describe('the PID limit of the workspace pods', () => {
  test('every workspace pool sets the kubelet podPidsLimit from cluster.workspacePool.podPidsLimit; the general pool keeps its default', () => {
    const config = configWith({ ...GPU, cluster: { workspacePool: { podPidsLimit: 2048 } } });
    const workspace = workspacePools(config);
    expect(workspace).toHaveLength(2);
    for (const pool of workspace) expect(pool.spec.nodeConfig.kubeletConfig).toEqual({ cpuManagerPolicy: 'none', podPidsLimit: 2048 });
    expect(pools(config).find((p) => p.metadata.name.endsWith('-general'))!.spec.nodeConfig.kubeletConfig).toBeUndefined();
    expect(workspacePools(configs.default)[0].spec.nodeConfig.kubeletConfig.podPidsLimit).toBe(4096);
  });

  test.each([1023, 4194304, 2048.5])('a podPidsLimit of %s is a config error naming GKE’s range', (value) => {
    expect(configError({ cluster: { workspacePool: { podPidsLimit: value } } })).toContain(
      `cluster.workspacePool.podPidsLimit: ${value} is not allowed: must be a whole number from 1024 to 4194303`,
    );
  });
});

describe('workspace egress by host name', () => {
  const fqdnPolicies = (config: Config) => ofKind(objectsOf(config), FQDN_NETWORK_POLICY.kind);

  test('hostEgress gives every workspace an FQDNNetworkPolicy: the package hosts and the host of the IAP keys on 443, the Git hosts on 22 and 443, each listed once', () => {
    const policies = fqdnPolicies(configs.hosts);
    expect(policies.map((p) => p.metadata.name).sort()).toEqual(['jupyter-ana-hosts', 'vscode-ana-hosts']);
    for (const p of policies) {
      expect(p.apiVersion).toBe('networking.gke.io/v1alpha1');
      expect(p.metadata.namespace).toBe('ml-workspaces');
      expect(p.spec.podSelector.matchLabels['app.kubernetes.io/name']).toBe(p.metadata.name.replace(/-hosts$/, ''));
      expect(p.spec.egress).toEqual([
        { matches: [{ name: 'files.example.com' }, { name: 'pypi.example.com' }, { name: 'www.gstatic.com' }], ports: [{ protocol: 'TCP', port: 443 }] },
        {
          matches: [{ name: 'code.example.org' }, { name: 'git.example.com' }],
          ports: [
            { protocol: 'TCP', port: 22 },
            { protocol: 'TCP', port: 443 },
          ],
        },
      ]);
    }
  });

  test('with hostEgress the NetworkPolicy has no internet rule, DNS to kube-dns stays allowed, and the cluster turns its FQDN network policy on', () => {
    for (const np of ofKind(objectsOf(configs.hosts), 'NetworkPolicy').filter((p) => /^(jupyter|vscode)-ana$/.test(p.metadata.name)))
      expect(JSON.stringify(np.spec.egress)).not.toContain('0.0.0.0/0');
    // The names resolve through kube-dns, which the namespace still admits on port 53.
    const dns = ofKind(objectsOf(configs.hosts), 'NetworkPolicy').find((p) => p.metadata.namespace === 'ml-workspaces' && p.metadata.name === 'allow-dns');
    expect(dns?.spec.egress).toEqual([
      {
        to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
        ports: [
          { protocol: 'UDP', port: 53 },
          { protocol: 'TCP', port: 53 },
        ],
      },
    ]);
    const cluster = (config: Config) => ofKind(objectsOf(config), 'ContainerCluster')[0];
    expect(cluster(configs.hosts).spec.enableFqdnNetworkPolicy).toBe(true);
    // Never turned off by the render: FQDN policies made outside it keep working.
    expect(cluster(configs.default).spec).not.toHaveProperty('enableFqdnNetworkPolicy');
    expect(fqdnPolicies(configs.default)).toEqual([]);
  });

  test('the prod example reaches only its named hosts: no internet rule, host egress on', () => {
    const prod = configsUnderTest().find((c) => c.name === 'prod')!.config;
    expect(prod.workspaces.internetEgress).toBe(false);
    expect(prod.workspaces.hostEgress).toBe(true);
    expect(fqdnPolicies(prod).length).toBe(workspaceDeployments(prod).length);
  });

  strictTest('the FQDNNetworkPolicy validates against the documented fields, which reject a misspelled one', () => {
    const validator = new StrictValidator();
    const [policy] = fqdnPolicies(configs.hosts);
    expect(validator.validate([policy])).toEqual([]);
    const wrong = { ...policy, spec: { ...policy.spec, egress: [{ to: [{ fqdns: ['pypi.example.com'] }] }] } };
    expect(validator.validate([wrong])).toEqual([
      `networking.gke.io/v1alpha1/FQDNNetworkPolicy ml-workspaces/${policy.metadata.name} (CRD): /spec/egress/0: unknown field "to"`,
    ]);
  });

  test('without the schema folder the fallback validation still checks the FQDNNetworkPolicy against the documented fields', () => {
    const [policy] = fqdnPolicies(configs.hosts);
    expect(validateWithPackages([policy])).toEqual({ problems: [], unvalidated: [] });
    const wrong = { ...policy, spec: { ...policy.spec, egress: [{ to: [{ fqdns: ['pypi.example.com'] }] }] } };
    expect(validateWithPackages([wrong]).problems).toEqual([`FQDNNetworkPolicy ${policy.metadata.name}: /spec/egress/0: unknown field "to"`]);
  });

  test('host egress beside the internet rule is a config error: it would restrict nothing', () => {
    expect(configError({ workspaces: { hostEgress: true, packages: { hosts: ['pypi.example.com'] } } })).toContain(
      'workspaces.hostEgress: true is not allowed: can be true only while workspaces.internetEgress is false',
    );
  });

  test('host egress without package hosts while a setup step downloads is a config error', () => {
    expect(configError({ workspaces: { internetEgress: false, hostEgress: true } })).toContain(
      'workspaces.packages.hosts: [] is not allowed: must list the package index hosts while workspaces.hostEgress is true',
    );
    // Nothing to download: no hosts needed.
    expect(() =>
      configWith({ workspaces: { internetEgress: false, hostEgress: true, mlflowClient: { install: false }, vscode: { extensions: [] } } }),
    ).not.toThrow();
  });

  test('a Git host needs no address ranges while hostEgress allows it by name', () => {
    expect(() => configWith(HOSTS)).not.toThrow();
    expect(
      configError({ workspaces: { internetEgress: false, mlflowClient: { install: false }, vscode: { extensions: [] }, git: HOSTS.workspaces.git } }),
    ).toContain(
      'workspaces.git.hosts[0].cidrs: [] is not allowed: must list the address ranges of "git.example.com" while workspaces.internetEgress and workspaces.hostEgress are false',
    );
  });
});
