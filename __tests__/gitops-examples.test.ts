/**
 * The example overlays build with a real `kubectl kustomize` over a render laid out as in the
 * repository (dist/ beside examples/), and their output passes the same strict validation and policy
 * checks as dist/. The Flux examples validate strictly against the Flux CRDs.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';
import { renderPlatform } from '../synth/render';
import { writeOutput } from '../synth/output';
import { branchLayout } from '../scripts/render-branch';
import { platformNames } from '../model/names';
import { TRUST_MANAGER_VERSION } from '../synth/runbook/runbook';
import { fluxLabelViolations, immutableFieldChanges, pruneProtectionViolations } from './support/gitops-policy';
import { kustomize } from './support/kubectl';
import { configsUnderTest, Manifest, objectsOf, PROJECT_ROOT } from './support/render';
import { StrictValidator } from './support/schemas';
import { strictTest } from './support/strict-tests';

const OVERLAYS_DIR = path.join(PROJECT_ROOT, 'examples', 'overlays');
const FLUX_DIR = path.join(PROJECT_ROOT, 'examples', 'flux');
const MLFLOW_IMAGE = 'ghcr.io/mlflow/mlflow';

const parseAll = (text: string): Manifest[] =>
  YAML.parseAllDocuments(text)
    .map((d) => d.toJS() as Manifest)
    .filter((o) => o);
const key = (o: Manifest) => `${o.apiVersion}/${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;
const find = (objects: Manifest[], kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);
const containers = (o: Manifest): Manifest[] => [...(o.spec?.template?.spec?.initContainers ?? []), ...(o.spec?.template?.spec?.containers ?? [])];
const overlayText = (name: string) => fs.readFileSync(path.join(OVERLAYS_DIR, name, 'kustomization.yaml'), 'utf8');

let validator: StrictValidator;
let scratch: string;

beforeAll(() => {
  validator = new StrictValidator();
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'mlflow-gke-overlays-'));
});
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** Lays out `<tmp>/dist` and `<tmp>/examples/overlays` as in the repository and builds one overlay. */
async function buildOverlay(configName: string, base: ReturnType<typeof renderPlatform>, overlay: string): Promise<Manifest[]> {
  const root = path.join(scratch, configName);
  if (!fs.existsSync(root)) {
    writeOutput(base, path.join(root, 'dist'));
    fs.cpSync(OVERLAYS_DIR, path.join(root, 'examples', 'overlays'), { recursive: true });
  }
  return parseAll(await kustomize(path.join(root, 'examples', 'overlays', overlay)));
}

test('there are at least two example overlays, each over the rendered dist/ and without the deprecated commonLabels', () => {
  const overlays = fs.readdirSync(OVERLAYS_DIR).filter((d) => fs.existsSync(path.join(OVERLAYS_DIR, d, 'kustomization.yaml')));
  expect(overlays.length).toBeGreaterThanOrEqual(2);
  for (const name of overlays) {
    const k = YAML.parse(overlayText(name));
    expect({ name, resources: k.resources }).toEqual({ name, resources: ['../../../dist'] });
    expect({ name, commonLabels: k.commonLabels, namespace: k.namespace }).toEqual({ name, commonLabels: undefined, namespace: undefined });
  }
});

describe.each(configsUnderTest().map(({ name, config }) => ({ name, files: renderPlatform(config) })))(
  'overlays over the render of config $name',
  ({ name, files }) => {
    const base = objectsOf(files, { mainOnly: true });

    describe.each(['scale-up', 'labels-and-image'])('overlay %s', (overlay) => {
      let built: Manifest[];
      beforeAll(async () => {
        built = await buildOverlay(name, files, overlay);
      });

      test('validates strictly and passes the prune-protection and Flux-label policies', () => {
        expect(validator.validate(built)).toEqual([]);
        expect(pruneProtectionViolations(built)).toEqual([]);
        expect(fluxLabelViolations(built)).toEqual([]);
      });

      test('keeps every object of dist/ (Jobs may be renamed) and changes no immutable field of a kept one', () => {
        const nonJobs = (list: Manifest[]) =>
          list
            .filter((o) => o.kind !== 'Job')
            .map(key)
            .sort();
        expect(nonJobs(built)).toEqual(nonJobs(base));
        expect(built.filter((o) => o.kind === 'Job')).toHaveLength(base.filter((o) => o.kind === 'Job').length);
        expect(immutableFieldChanges(base, built)).toEqual([]);
      });
    });

    test('scale-up raises the MLflow replica floor and ceiling and the MLflow container resources only', async () => {
      const built = await buildOverlay(name, files, 'scale-up');
      const hpa = find(built, 'HorizontalPodAutoscaler', 'mlflow');
      expect({ min: hpa?.spec.minReplicas, max: hpa?.spec.maxReplicas }).toEqual({ min: 4, max: 12 });
      const before = find(base, 'Deployment', 'mlflow')!;
      const after = find(built, 'Deployment', 'mlflow')!;
      expect(after.spec.replicas).toBe(before.spec.replicas);
      expect(containers(after).map((c) => c.name)).toEqual(containers(before).map((c) => c.name));
      for (const c of containers(after)) {
        // CPU and memory raised; the ephemeral storage of the artifact staging directory is kept.
        const storage = (r: any) => containers(before).find((b) => b.name === 'mlflow')!.resources[r]['ephemeral-storage'];
        if (c.name === 'mlflow')
          expect(c.resources).toEqual({
            requests: { cpu: '2', memory: '4Gi', 'ephemeral-storage': storage('requests') },
            limits: { cpu: '4', memory: '8Gi', 'ephemeral-storage': storage('limits') },
          });
        else expect(c.resources).toEqual(containers(before).find((b) => b.name === c.name)!.resources);
      }
    });

    test('labels-and-image labels every object, leaves selectors and pod labels alone, and moves only the MLflow image', async () => {
      const built = await buildOverlay(name, files, 'labels-and-image');
      for (const o of built)
        expect({ id: key(o), labels: o.metadata.labels }).toEqual({
          id: key(o),
          labels: expect.objectContaining({ team: 'ml-platform', 'cost-center': 'cc-4711' }),
        });
      const byKey = new Map(base.map((o) => [key(o), o]));
      for (const o of built.filter((x) => x.spec?.selector && byKey.has(key(x)))) {
        expect({ id: key(o), selector: o.spec.selector, podLabels: o.spec.template?.metadata?.labels }).toEqual({
          id: key(o),
          selector: byKey.get(key(o))!.spec.selector,
          podLabels: byKey.get(key(o))!.spec.template?.metadata?.labels,
        });
      }
      const images = (list: Manifest[]) => list.flatMap((o) => [...containers(o), ...containers(o.spec?.jobTemplate ?? {})].map((c) => c.image as string));
      const mlflowImages = images(built).filter((i) => i.startsWith(`${MLFLOW_IMAGE}:`));
      expect(mlflowImages.length).toBeGreaterThan(0);
      expect([...new Set(mlflowImages)]).toEqual([`${MLFLOW_IMAGE}:v3.16.1-full`]);
      const others = (list: Manifest[]) =>
        images(list)
          .filter((i) => !i.startsWith(`${MLFLOW_IMAGE}:`))
          .sort();
      expect(others(built)).toEqual(others(base));
    });

    test('labels-and-image renames every Job after the new tag (dots as dashes), because the new image changes its immutable pod template', async () => {
      const built = await buildOverlay(name, files, 'labels-and-image');
      const baseJobs = base.filter((o) => o.kind === 'Job');
      expect(baseJobs.length).toBeGreaterThan(0);
      for (const job of baseJobs) {
        const renamed = built.find((o) => o.kind === 'Job' && o.metadata.name === `${job.metadata.name}-v3-16-1-full`);
        expect(`${job.metadata.name} -> ${renamed?.metadata.name}`).toBe(`${job.metadata.name} -> ${job.metadata.name}-v3-16-1-full`);
        // Part of its Pods' names and host names: a DNS label, no dots (the API server warns about them).
        expect(renamed!.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
        // The Job controller copies the name into a label value: 63 characters at most.
        expect(renamed!.metadata.name.length).toBeLessThanOrEqual(63);
      }
    });
  },
);

describe('Flux examples', () => {
  let one: Manifest[];
  let two: Manifest[];
  beforeAll(async () => {
    one = parseAll(await kustomize(path.join(FLUX_DIR, 'one-cluster')));
    two = parseAll(await kustomize(path.join(FLUX_DIR, 'two-clusters')));
  });
  const kustomization = (list: Manifest[], layer: 'gcp' | 'apps' | 'cert-manager') =>
    list.find((o) => o.kind === 'Kustomization' && o.metadata.name.endsWith(`-${layer}`))!;
  const repository = (list: Manifest[], name: string) => list.find((o) => o.kind === 'GitRepository' && o.metadata.name === name)!;

  test('validate strictly against the Flux CRDs (one cluster and two clusters)', () => {
    expect(one.map((o) => `${o.apiVersion}/${o.kind}`).sort()).toEqual([
      'kustomize.toolkit.fluxcd.io/v1/Kustomization',
      'kustomize.toolkit.fluxcd.io/v1/Kustomization',
      'kustomize.toolkit.fluxcd.io/v1/Kustomization',
      'source.toolkit.fluxcd.io/v1/GitRepository',
      'source.toolkit.fluxcd.io/v1/GitRepository',
    ]);
    expect(validator.validate(one)).toEqual([]);
    expect(validator.validate(two)).toEqual([]);
  });

  describe('cert-manager', () => {
    let certManager: Manifest[];
    beforeAll(async () => {
      certManager = parseAll(await kustomize(path.join(FLUX_DIR, 'cert-manager')));
    });
    const release = () => certManager.find((o) => o.kind === 'HelmRelease' && o.metadata.name === 'cert-manager')!;
    const trustManager = () => certManager.find((o) => o.kind === 'HelmRelease' && o.metadata.name === 'trust-manager')!;

    test('a HelmRepository and the HelmReleases of cert-manager and trust-manager that validate strictly against the Flux CRDs', () => {
      expect(certManager.map((o) => `${o.apiVersion}/${o.kind}/${o.metadata.name}`).sort()).toEqual([
        'helm.toolkit.fluxcd.io/v2/HelmRelease/cert-manager',
        'helm.toolkit.fluxcd.io/v2/HelmRelease/trust-manager',
        'source.toolkit.fluxcd.io/v1/HelmRepository/jetstack',
      ]);
      expect(validator.validate(certManager)).toEqual([]);
    });

    // cert-manager v1.21.1 deploy/charts/cert-manager: its CRDs are templates that install only with
    // crds.enabled (default false) and stay when the release goes with crds.keep; the Helm release
    // namespace is cert-manager's cluster resource namespace, where the render's CA Certificate lives.
    test('the release pins the version the render is validated against, installs and keeps the CRDs, in the namespace the config names', () => {
      const spec = release().spec;
      expect(spec.chart.spec).toEqual({
        chart: 'cert-manager',
        version: 'v1.21.2',
        sourceRef: { kind: 'HelmRepository', name: certManager.find((o) => o.kind === 'HelmRepository')!.metadata.name },
      });
      expect(spec.values).toEqual({ crds: { enabled: true, keep: true } });
      expect(spec.targetNamespace).toBe(configsUnderTest()[0].config.tls.certManagerNamespace);
      expect(spec.install.createNamespace).toBe(true);
    });

    // trust-manager v0.24.0 deploy/charts/trust-manager/values.yaml: crds.enabled installs the Bundle CRD;
    // app.trust.namespace is where it reads sources; secretTargets.authorizedSecrets the Secrets it may write.
    test("trust-manager comes after cert-manager, pinned to the runbook's release, reading the CA's namespace and writing only the Bundle's Secret", () => {
      const config = configsUnderTest()[0].config;
      const names = platformNames(config);
      const spec = trustManager().spec;
      expect(spec.dependsOn).toEqual([{ name: release().metadata.name }]);
      expect(spec.chart.spec).toEqual({ chart: 'trust-manager', version: TRUST_MANAGER_VERSION, sourceRef: release().spec.chart.spec.sourceRef });
      expect(spec.targetNamespace).toBe(config.tls.certManagerNamespace);
      expect(spec.values).toEqual({
        crds: { enabled: true, keep: true },
        app: { trust: { namespace: config.tls.certManagerNamespace } },
        secretTargets: { enabled: true, authorizedSecrets: [names.tls.caBundle] },
      });
    });

    test('the apps layer waits for cert-manager, which its own Kustomization applies from the source branch and waits for', () => {
      const cm = kustomization(one, 'cert-manager');
      expect(kustomization(one, 'apps').spec.dependsOn).toContainEqual({ name: cm.metadata.name });
      expect({ wait: cm.spec.wait, prune: cm.spec.prune, deletionPolicy: cm.spec.deletionPolicy, path: cm.spec.path }).toEqual({
        wait: true,
        prune: true,
        deletionPolicy: 'Orphan',
        path: './examples/flux/cert-manager',
      });
      const source = repository(one, cm.spec.sourceRef.name);
      expect(source.spec.ignore.trim().split('\n')).toEqual(['/*', '!/examples/flux/cert-manager/']);
      expect(fs.existsSync(path.join(PROJECT_ROOT, cm.spec.path, 'kustomization.yaml'))).toBe(true);
    });

    test('with two clusters, helm-controller installs cert-manager and trust-manager into the workload cluster through the same kubeconfig', () => {
      const patches = kustomization(two, 'cert-manager').spec.patches;
      expect(patches.map((x: Manifest) => x.target)).toEqual([
        { kind: 'HelmRelease', name: release().metadata.name },
        { kind: 'HelmRelease', name: trustManager().metadata.name },
      ]);
      for (const patch of patches)
        expect(YAML.parse(patch.patch)).toEqual([{ op: 'add', path: '/spec/kubeConfig', value: kustomization(two, 'apps').spec.kubeConfig }]);
      // The patched HelmRelease still validates.
      const patched = { ...release(), spec: { ...release().spec, kubeConfig: kustomization(two, 'apps').spec.kubeConfig } };
      expect(validator.validate([patched])).toEqual([]);
    });
  });

  strictTest('the validator would reject a misspelled Flux field (the check is not vacuous)', () => {
    const bad = structuredClone(kustomization(one, 'gcp'));
    bad.spec.deletionPolicy = 'Keep';
    bad.spec.prunne = true;
    expect(validator.validate([bad]).join('\n')).toMatch(/deletionPolicy[\s\S]*unknown field "prunne"|unknown field "prunne"[\s\S]*deletionPolicy/);
  });

  test('the GitRepository follows a rendered branch and hands Flux only the gcp and apps layers', () => {
    const repo = repository(one, 'mlflow-gke-dev');
    expect(repo.spec.ref.branch).toMatch(/^rendered\/[a-z0-9-]+$/);
    expect(repo.spec.ignore.trim().split('\n')).toEqual(['/*', '!/gcp/', '!/apps/']);
    for (const layer of ['gcp', 'apps'] as const) expect(kustomization(one, layer).spec.sourceRef).toEqual({ kind: 'GitRepository', name: repo.metadata.name });
  });

  test('each layer prunes, waits, times out, retries and keeps everything when its Kustomization is deleted', () => {
    for (const layer of ['gcp', 'apps'] as const) {
      const spec = kustomization(one, layer).spec;
      expect({ layer, prune: spec.prune, wait: spec.wait, deletionPolicy: spec.deletionPolicy, force: spec.force, path: spec.path }).toEqual({
        layer,
        prune: true,
        wait: true,
        deletionPolicy: 'Orphan',
        force: false,
        path: `./${layer}`,
      });
      expect(spec.timeout).toMatch(/^\d+m$/);
      expect(spec.retryInterval).toMatch(/^\d+m$/);
    }
    // Creating a cluster or a Cloud SQL instance alone takes over 10 minutes.
    expect(parseInt(kustomization(one, 'gcp').spec.timeout, 10)).toBeGreaterThanOrEqual(30);
  });

  test('the apps layer depends on the Google Cloud layer, not the other way round', () => {
    expect(kustomization(one, 'apps').spec.dependsOn).toEqual([
      { name: kustomization(one, 'gcp').metadata.name },
      { name: kustomization(one, 'cert-manager').metadata.name },
    ]);
    expect(kustomization(one, 'gcp').spec.dependsOn).toBeUndefined();
  });

  test('the two-cluster variant sends only the apps layer to the workload cluster', () => {
    expect(kustomization(two, 'apps').spec.kubeConfig).toEqual({ secretRef: { name: 'mlflow-gke-dev-workload-kubeconfig', key: 'value' } });
    expect(kustomization(two, 'gcp').spec.kubeConfig).toBeUndefined();
    const { kubeConfig: _k, ...rest } = kustomization(two, 'apps').spec;
    expect(rest).toEqual(kustomization(one, 'apps').spec);
  });

  test('the paths the Kustomizations name exist on the rendered branch, each with a Kustomization file', () => {
    const layout = branchLayout(renderPlatform(configsUnderTest()[0].config)).map((f) => f.path);
    for (const layer of ['gcp', 'apps'] as const) expect(layout).toContain(`${kustomization(one, layer).spec.path.replace(/^\.\//, '')}/Kustomization`);
  });
});
