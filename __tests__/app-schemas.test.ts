/**
 * Every object of every config's render validates strictly: against the Kubernetes schemas of the
 * supported range (1.31 and 1.34), and custom resources against their CRDs, with unknown fields rejected.
 */
import { validateWithPackages } from './support/fallback-validation';
import { configsUnderTest, render } from './support/render';
import {
  availableKubernetesVersions,
  CrdValidator,
  KUBERNETES_VERSIONS,
  KubernetesValidator,
  schemasAvailable,
  StrictValidator,
  warnOncePerRun,
} from './support/schemas';
import { schemaTest, strictDescribe } from './support/strict-tests';

const configs = configsUnderTest();

// Without schemas the strict checks below are skipped (and counted in the run's banner); the packages
// still check what they can.
if (!schemasAvailable()) {
  describe('fallback validation with the kubernetes-models packages (schemas missing)', () => {
    test.each(configs.map((c) => [c.name, c.config] as const))('config %s validates', (_name, config) => {
      const { problems, unvalidated } = validateWithPackages(render(config).objects);
      if (unvalidated.length > 0) warnOncePerRun(`!! not validated (no package knows these kinds): ${unvalidated.join(', ')}`);
      expect(problems).toEqual([]);
    });

    test('the fallback rejects a wrong type', () => {
      const bad = {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'x' },
        spec: { replicas: 'two', selector: {}, template: { spec: { containers: [{ name: 'a' }] } } },
      };
      expect(validateWithPackages([bad]).problems.join()).toMatch(/replicas must be integer/);
    });
  });
}

strictDescribe('strict schema validation', () => {
  const validator = new StrictValidator();

  test.each(configs.map((c) => [c.name, c.config] as const))('every object of config %s validates strictly', (_name, config) => {
    expect(validator.validate(render(config).objects)).toEqual([]);
  });

  test('the validator rejects a misspelled field', () => {
    const k = new KubernetesValidator('v1.31.0');
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'x' },
      spec: { selector: {}, template: { spec: { containers: [{ name: 'a', image: 'i:1', imagePullPolicyy: 'Always' }] } } },
    };
    expect(k.validate(deployment)).toEqual(['/spec/template/spec/containers/0: unknown field "imagePullPolicyy"']);
  });

  test('the validator rejects a wrong type', () => {
    const k = new KubernetesValidator('v1.31.0');
    const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: { replicas: 'two', selector: {}, template: {} } };
    expect(k.validate(deployment)).toEqual(['/spec/replicas: must be integer']);
  });

  schemaTest('v1.34.0')('the validator rejects a field in metadata that does not exist', () => {
    const k = new KubernetesValidator('v1.34.0');
    expect(k.validate({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x', label: {} } })).toEqual(['/metadata: unknown field "label"']);
  });

  test('the CRD validator rejects unknown fields in custom resources', () => {
    const crds = new CrdValidator();
    const cert = {
      apiVersion: 'networking.gke.io/v1',
      kind: 'ManagedCertificate',
      metadata: { name: 'x' },
      spec: { domains: ['a.example.com'], domain: 'b' },
    };
    expect(crds.validate(cert)).toEqual(['/spec: unknown field "domain"']);
  });

  test('the CRD validator checks Config Connector kinds', () => {
    const crds = new CrdValidator();
    expect(crds.kinds()).toEqual(
      expect.arrayContaining(['sql.cnrm.cloud.google.com/v1beta1/SQLInstance', 'monitoring.cnrm.cloud.google.com/v1beta1/MonitoringDashboard']),
    );
    const bucket = {
      apiVersion: 'storage.cnrm.cloud.google.com/v1beta1',
      kind: 'StorageBucket',
      metadata: { name: 'b' },
      spec: { versioning: { enabled: 'yes' } },
    };
    expect(crds.validate(bucket)).toEqual(['/spec/versioning/enabled: must be boolean']);
  });

  test('an object of a kind no schema knows is reported, not skipped', () => {
    expect(validator.validate([{ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } }])).toEqual([
      `example.com/v1/Widget w: no schema for example.com/v1/Widget in Kubernetes ${validator.versions.join(', ')} or the CRDs`,
    ]);
  });

  test('the whole render is checked against every version of the supported range that has a schema', () => {
    expect(KUBERNETES_VERSIONS).toEqual(['v1.31.0', 'v1.34.0']);
    expect(validator.versions).toEqual(availableKubernetesVersions());
    expect(validator.versions[0]).toBe('v1.31.0');
  });

  // A native sidecar is an init container with restartPolicy Always (k8s.io/api core/v1/types.go,
  // Container.RestartPolicy, tag v0.31.0); the 1.27 API has no such field.
  const sidecarJob = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'j' },
    spec: {
      template: {
        spec: {
          restartPolicy: 'Never',
          initContainers: [{ name: 'proxy', image: 'p:1', restartPolicy: 'Always' }],
          containers: [{ name: 'main', image: 'm:1' }],
        },
      },
    },
  };

  test('a native sidecar validates in the supported range', () => {
    expect(validator.validate([sidecarJob])).toEqual([]);
  });

  schemaTest('v1.27.0')('1.27 rejects a native sidecar, which is why the range starts at 1.31', () => {
    expect(new KubernetesValidator('v1.27.0').validate(sidecarJob)).toEqual(['/spec/template/spec/initContainers/0: unknown field "restartPolicy"']);
  });

  schemaTest('v1.34.0')('each version checks on its own: a 1.34-only field fails on 1.31, named with the version', () => {
    // PodSpec.hostnameOverride exists in the 1.34 schema only.
    const job = structuredClone(sidecarJob) as any;
    job.spec.template.spec.hostnameOverride = 'h';
    expect(validator.validate([job])).toEqual(['batch/v1/Job j (Kubernetes v1.31.0): /spec/template/spec: unknown field "hostnameOverride"']);
  });
});
