/** The output contract of the whole render, for the embedded default and every config file. */
import * as YAML from 'yaml';
import { renderPlatform, KUSTOMIZATION_FILE, toYaml } from '../synth/render';
import { configsUnderTest, objectsOf, Manifest } from './support/render';

const CLUSTER_SCOPED = new Set([
  'Namespace',
  'StorageClass',
  'ClusterRole',
  'ClusterRoleBinding',
  'PriorityClass',
  'CustomResourceDefinition',
  'PersistentVolume',
  'ClusterPodMonitoring',
  'IngressClass',
  'ClusterIssuer',
  // trust-manager's Bundle (v0.24.0 pkg/apis/trust/v1alpha1/types_bundle.go: scope Cluster).
  'Bundle',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
]);

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob']);

const rendered = configsUnderTest().map(({ name, config }) => {
  const files = renderPlatform(config);
  return { name, config, files, objects: objectsOf(files) };
});

test('strings that a YAML 1.1 reader would take for numbers, booleans or null stay strings', () => {
  const tricky = [
    'on',
    'yes',
    'n',
    '03:00',
    '0755',
    '1e3',
    '1_000',
    '~',
    'null',
    '2024-01-01',
    '0x1F',
    '.inf',
    '+1',
    '1.0',
    '0b101',
    '<<',
    '=',
    '.',
    '+.',
    '+.5',
    '-.5e+3',
  ];
  expect(YAML.parse(toYaml([{ values: tricky }]), { version: '1.1' })).toEqual({ values: tricky });
});

describe.each(rendered)('render of config $name', ({ config, files, objects }) => {
  test('is byte-identical when rendered again', () => {
    expect(renderPlatform(config)).toEqual(files);
  });

  test('every file reads back, as YAML 1.1 like Kubernetes tools read it, to exactly the rendered objects', () => {
    for (const file of files.filter((f) => f.objects)) {
      const read = YAML.parseAllDocuments(file.content, { version: '1.1' }).map((d) => d.toJS());
      expect(read).toEqual(file.objects);
    }
  });

  test('has one numbered file per chart in apply order, namespaces first', () => {
    const manifests = files.filter((f) => !f.path.includes('/') && f.path.endsWith('.yaml')).map((f) => f.path);
    expect(manifests.length).toBeGreaterThan(1);
    manifests.forEach((file, i) => expect(file).toMatch(new RegExp(`^${String(i).padStart(4, '0')}-[a-z0-9-]+\\.yaml$`)));
    expect(manifests[0]).toBe('0000-namespaces.yaml');
  });

  test('the extensionless Kustomization lists exactly the manifests, in order, and not dist/tests', () => {
    const index = files.find((f) => f.path === KUSTOMIZATION_FILE)!;
    const listed = index.content
      .split('\n')
      .filter((l) => l.startsWith('  - '))
      .map((l) => l.slice(4));
    expect(listed).toEqual(files.filter((f) => !f.path.includes('/') && f.path.endsWith('.yaml')).map((f) => f.path));
    expect(index.content).toMatch(/^apiVersion: kustomize\.config\.k8s\.io\/v1beta1$/m);
  });

  test('every object carries the standard labels', () => {
    for (const o of objects) {
      const labels = o.metadata?.labels ?? {};
      expect({
        object: `${o.kind}/${o.metadata.name}`,
        partOf: labels['app.kubernetes.io/part-of'],
        managedBy: labels['app.kubernetes.io/managed-by'],
        instance: labels['app.kubernetes.io/instance'],
      }).toEqual({
        object: `${o.kind}/${o.metadata.name}`,
        partOf: 'mlflow-gke',
        managedBy: 'cdk8s',
        instance: config.environment,
      });
    }
  });

  test('no object carries labels that Flux owns', () => {
    const flux = objects.flatMap((o) =>
      Object.keys(o.metadata?.labels ?? {})
        .filter((l) => l.startsWith('kustomize.toolkit.fluxcd.io/'))
        .map((l) => `${o.kind}/${o.metadata.name}: ${l}`),
    );
    expect(flux).toEqual([]);
  });

  test('cluster-scoped objects carry no namespace and every other object has one', () => {
    for (const o of objects) {
      const id = `${o.kind}/${o.metadata.name}`;
      if (CLUSTER_SCOPED.has(o.kind)) expect(`${id} namespace=${o.metadata.namespace}`).toBe(`${id} namespace=undefined`);
      else expect(`${id} namespace=${typeof o.metadata.namespace}`).toBe(`${id} namespace=string`);
    }
  });

  test("every object's namespace exists in the render or is declared external", () => {
    const known = new Set([...objects.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name), ...config.namespaces.external]);
    // cert-manager's namespace comes with its Helm install: only the CA's Certificate lives there, and
    // it says so to the policy gate with a reasoned exemption.
    const certManager = (o: Manifest) =>
      o.metadata.namespace === config.tls.certManagerNamespace &&
      o.kind === 'Certificate' &&
      Boolean(o.metadata.annotations?.['policy.mlflow-gke.io/exempt.references.namespace']);
    const missing = objects
      .filter((o) => o.metadata.namespace && !known.has(o.metadata.namespace) && !certManager(o))
      .map((o) => `${o.kind}/${o.metadata.name} in ${o.metadata.namespace}`);
    expect(missing).toEqual([]);
    expect(objects.filter(certManager).map((o) => o.metadata.name)).toEqual([`${config.namePrefix}mlflow-gke-ca`]);
  });

  test('names are unique per kind and namespace and carry no generated hash', () => {
    const seen = new Set<string>();
    for (const o of objects) {
      const key = `${o.apiVersion}/${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
      expect(seen.has(key) ? `duplicate ${key}` : key).toBe(key);
      seen.add(key);
      // Jobs are exempt: their names change with their content on purpose, so a changed Job re-runs.
      if (o.kind !== 'Job') expect(`${o.kind}/${o.metadata.name}`).not.toMatch(/-[0-9a-f]{8}$/);
    }
  });

  test('workload selectors use only the stable labels and match their pod templates', () => {
    for (const o of objects.filter((x) => WORKLOAD_KINDS.has(x.kind) && x.kind !== 'Job' && x.kind !== 'CronJob')) {
      const selector: Record<string, string> = o.spec.selector.matchLabels;
      expect(Object.keys(selector).sort()).toEqual(['app.kubernetes.io/component', 'app.kubernetes.io/instance', 'app.kubernetes.io/name']);
      expect(o.spec.template.metadata.labels).toMatchObject(selector);
    }
  });

  test('no Secret values are rendered', () => {
    const secrets = objects.filter((o: Manifest) => o.kind === 'Secret' && (o.data || o.stringData));
    expect(secrets.map((s) => s.metadata.name)).toEqual([]);
  });
});
