/**
 * Every object of every config's render validates strictly: against the Kubernetes 1.27, 1.31 and
 * 1.34 schemas, and custom resources against their CRDs, with unknown fields rejected.
 */
import { validateWithPackages } from './support/fallback-validation';
import { configsUnderTest, render } from './support/render';
import { CrdValidator, KubernetesValidator, schemasAvailable, StrictValidator, warnNoSchemas } from './support/schemas';

const configs = configsUnderTest();

if (!schemasAvailable()) {
  warnNoSchemas();

  describe('fallback validation with the kubernetes-models packages (schemas missing)', () => {
    test.each(configs.map((c) => [c.name, c.config] as const))('config %s validates', (_name, config) => {
      const { problems, unvalidated } = validateWithPackages(render(config).objects);
      if (unvalidated.length > 0) console.warn(`!! not validated (no package knows them): ${unvalidated.join(', ')}`);
      expect(problems).toEqual([]);
    });

    test('the fallback rejects a wrong type', () => {
      const bad = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: { replicas: 'two', selector: {}, template: { spec: { containers: [{ name: 'a' }] } } } };
      expect(validateWithPackages([bad]).problems.join()).toMatch(/replicas must be integer/);
    });
  });
} else {
  const validator = new StrictValidator();

  describe('strict schema validation', () => {
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
      const k = new KubernetesValidator('v1.27.0');
      const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: { replicas: 'two', selector: {}, template: {} } };
      expect(k.validate(deployment)).toEqual(['/spec/replicas: must be integer']);
    });

    test('the validator rejects a field in metadata that does not exist', () => {
      const k = new KubernetesValidator('v1.34.0');
      expect(k.validate({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x', label: {} } })).toEqual(['/metadata: unknown field "label"']);
    });

    test('the CRD validator rejects unknown fields in custom resources', () => {
      const crds = new CrdValidator();
      const cert = { apiVersion: 'networking.gke.io/v1', kind: 'ManagedCertificate', metadata: { name: 'x' }, spec: { domains: ['a.example.com'], domain: 'b' } };
      expect(crds.validate(cert)).toEqual(['/spec: unknown field "domain"']);
    });

    test('the CRD validator checks Config Connector kinds', () => {
      const crds = new CrdValidator();
      expect(crds.kinds()).toEqual(expect.arrayContaining(['sql.cnrm.cloud.google.com/v1beta1/SQLInstance', 'monitoring.cnrm.cloud.google.com/v1beta1/MonitoringDashboard']));
      const bucket = { apiVersion: 'storage.cnrm.cloud.google.com/v1beta1', kind: 'StorageBucket', metadata: { name: 'b' }, spec: { versioning: { enabled: 'yes' } } };
      expect(crds.validate(bucket)).toEqual(['/spec/versioning/enabled: must be boolean']);
    });

    test('an object of a kind no schema knows is reported, not skipped', () => {
      expect(validator.validate([{ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } }])).toEqual([
        'example.com/v1/Widget w: no schema for example.com/v1/Widget in Kubernetes v1.27.0, v1.31.0, v1.34.0 or the CRDs',
      ]);
    });
  });
}
