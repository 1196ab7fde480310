/**
 * The examples on a real control plane: each overlay of examples/overlays built by `kubectl kustomize`
 * over the default render (laid out as in the repository, dist/ beside examples/), the rendered
 * branch that the Flux examples reconcile (its root Kustomization: both layers), and the Flux
 * examples' own objects. And the negative: an overlay that breaks Pod Security's `restricted` level
 * is refused, Pod by Pod, by the namespace's enforce label.
 */
import * as fs from 'fs';
import * as path from 'path';
import { renderPlatform } from '../../synth/render';
import { writeOutput } from '../../synth/output';
import { loadConfig } from '../../model/load';
import { branchLayout } from '../../scripts/render-branch';
import { PROJECT_ROOT } from '../support/render';
import { applyFiles, applyText, parseAll } from './support/apply';
import { Cluster, CLUSTER_TIMEOUT, startCluster } from './support/cluster';
import { scratchDir } from './support/render-dir';
import { expectRenderChecks, onCluster } from './support/scenario';
import { unexplainedWarnings } from './support/warnings';
import { missingPods } from './support/workloads';

const OVERLAYS_DIR = path.join(PROJECT_ROOT, 'examples', 'overlays');
const FLUX_DIR = path.join(PROJECT_ROOT, 'examples', 'flux');

/** `kubectl kustomize DIR` with the kubectl built with the control plane. */
async function kustomize(cluster: Cluster, dir: string): Promise<string> {
  return cluster.kubectl(['kustomize', dir]);
}

/** The default render as dist/ beside a copy of examples/overlays, as in the repository; returns the root. */
function repositoryLayout(): string {
  const root = scratchDir();
  writeOutput(renderPlatform(loadConfig()), path.join(root, 'dist'));
  fs.cpSync(OVERLAYS_DIR, path.join(root, 'examples', 'overlays'), { recursive: true });
  return root;
}

/** Builds an overlay over the default render (after `extra` adds files to the layout) and applies it as one file. */
function overlayScenario(overlay: string, extra?: (root: string) => void) {
  const scenario = onCluster(async () => {
    const root = repositoryLayout();
    extra?.(root);
    return [{ name: `${overlay}.yaml`, content: await kustomize(scenario.cluster, path.join(root, 'examples', 'overlays', overlay)) }];
  });
  return scenario;
}

describe.each(fs.readdirSync(OVERLAYS_DIR).sort())('the example overlay %s over the default render, on a real control plane', (overlay) => {
  expectRenderChecks(overlayScenario(overlay));
});

describe('the rendered branch the Flux examples reconcile (its root Kustomization), on a real control plane', () => {
  const scenario = onCluster(async () => {
    const dir = scratchDir();
    for (const f of branchLayout(renderPlatform(loadConfig()))) {
      fs.mkdirSync(path.dirname(path.join(dir, f.path)), { recursive: true });
      fs.writeFileSync(path.join(dir, f.path), f.content);
    }
    return [{ name: 'rendered-branch.yaml', content: await kustomize(scenario.cluster, dir) }];
  });
  expectRenderChecks(scenario);
});

describe('the Flux examples, on a real control plane', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster();
    // Flux's own install makes its namespace; the examples put their objects there.
    await cluster.kubectl(['create', 'namespace', 'flux-system']);
  }, CLUSTER_TIMEOUT);
  afterAll(() => cluster?.stop());

  test.each(fs.readdirSync(FLUX_DIR).sort())('examples/flux/%s applies server-side with no error and no warning, and again as a no-op', async (example) => {
    const content = await kustomize(cluster, path.join(FLUX_DIR, example));
    expect(parseAll(content).length).toBeGreaterThan(0);
    const applied = await applyFiles(cluster, [{ name: `flux-${example}.yaml`, content }]);
    expect(unexplainedWarnings(applied.warnings)).toEqual([]);
    const diff = await cluster.run(['diff', '--server-side', '--field-manager=mlflow-gke', '-f', '-'], content);
    expect({ code: diff.code, diff: diff.stdout }).toEqual({ code: 0, diff: '' });
  });
});

/** A kustomize patch that gives the MLflow server's pod what `restricted` forbids: host networking. */
const BREAKS_RESTRICTED = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../../dist
patches:
  - target:
      kind: Deployment
      name: mlflow
    patch: |-
      - op: add
        path: /spec/template/spec/hostNetwork
        value: true
`;

describe('an overlay that breaks Pod Security restricted, on a real control plane', () => {
  const scenario = overlayScenario('breaks-restricted', (root) => {
    fs.mkdirSync(path.join(root, 'examples', 'overlays', 'breaks-restricted'));
    fs.writeFileSync(path.join(root, 'examples', 'overlays', 'breaks-restricted', 'kustomization.yaml'), BREAKS_RESTRICTED);
  });

  test('the API server warns at apply that the Deployment would violate restricted', () => {
    expect(scenario.applied.warnings.join('\n')).toMatch(/would violate PodSecurity "restricted:v1\.\d+": host namespaces \(hostNetwork=true\)/);
  });

  test('the namespace refuses the Pods: the Deployment gets none, and says why', async () => {
    const mlflow = scenario.applied.objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'mlflow')!;
    const missing = await missingPods(scenario.cluster, [mlflow], 15_000);
    expect(missing).toEqual([
      expect.stringMatching(/^Deployment mlflow\/mlflow: 0 of \d+ Pods created: .*violates PodSecurity "restricted:v1\.\d+": host namespaces/),
    ]);
  });

  test('the Pods of every other workload are still admitted', async () => {
    const others = scenario.workloads.filter((o) => !(o.kind === 'Deployment' && o.metadata.name === 'mlflow'));
    expect(await missingPods(scenario.cluster, others)).toEqual([]);
  });

  test('a Pod created directly with host networking is refused outright', async () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'host-network', namespace: 'mlflow' },
      spec: { hostNetwork: true, containers: [{ name: 'c', image: 'registry.example.com/c:1' }] },
    };
    await expect(applyText(scenario.cluster, 'pod.yaml', JSON.stringify(pod))).rejects.toThrow(/violates PodSecurity "restricted:v1\.\d+"/);
  });
});
