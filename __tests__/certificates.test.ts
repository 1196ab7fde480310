/**
 * The certificates chart: the platform CA chain, the server certificates and the CA bundle, their
 * place in the apply order, and the tls config section. Field semantics: cert-manager v1.21.1
 * (deploy/crds/cert-manager.io_certificates.yaml and _clusterissuers.yaml, the copies the strict
 * validation uses).
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { serviceDnsNames, platformNames } from '../model/names';
import { certManagerDuration } from '../config/schema/tls';
import { CA_BUNDLE_DIR, CA_BUNDLE_FILE, caBundleMount, caBundleVolume } from '../charts/certificates/ca-bundle';
import { notFromIssuer } from '../charts/certificates/issuer-scope';
import { chartObjects, configError, configsUnderTest, configWith, DeepPartial, find, Manifest, render } from './support/render';
import type { ConfigInput } from '../config/schema';
import { StrictValidator } from './support/schemas';
import { strictTest } from './support/strict-tests';

const certificatesOf = (overrides: DeepPartial<ConfigInput> = {}) => chartObjects(render(configWith(overrides)).files, 'certificates');
const ofKind = (objects: Manifest[], kind: string) => objects.filter((o) => o.kind === kind);

describe('certificates chart', () => {
  test('comes right after the namespaces and the Google Cloud layer, before every workload', () => {
    for (const { config } of configsUnderTest()) {
      const files = render(config)
        .files.filter((f) => !f.path.includes('/') && f.path.endsWith('.yaml'))
        .map((f) => f.path.replace(/^\d{4}-/, ''));
      expect(files.slice(0, 3)).toEqual(['namespaces.yaml', 'gcp.yaml', 'certificates.yaml']);
    }
  });

  test('a self-signed ClusterIssuer signs the CA certificate; the CA ClusterIssuer signs with its Secret', () => {
    const config = configWith({});
    const names = platformNames(config);
    const objects = certificatesOf();
    const selfSigned = find(objects, 'ClusterIssuer', names.tls.selfSignedIssuer);
    expect(selfSigned.spec).toEqual({ selfSigned: {} });
    expect(selfSigned.metadata.namespace).toBeUndefined();
    const ca = find(objects, 'Certificate', names.tls.ca);
    expect(ca.metadata.namespace).toBe('cert-manager');
    expect(ca.spec.isCA).toBe(true);
    expect(ca.spec.issuerRef).toEqual({ name: selfSigned.metadata.name, kind: 'ClusterIssuer', group: 'cert-manager.io' });
    // A renewal keeps the CA's key, so every certificate and bundle already out keeps verifying.
    expect(ca.spec.privateKey.rotationPolicy).toBe('Never');
    expect(find(objects, 'ClusterIssuer', names.tls.caIssuer).spec).toEqual({ ca: { secretName: ca.spec.secretName } });
    // The namespace comes with cert-manager's install: the policy gate is told why, not silenced.
    expect(ca.metadata.annotations['policy.mlflow-gke.io/exempt.references.namespace']).toMatch(/Helm install/);
  });

  test('the MLflow certificate names every form of the Service, prefixed names included; PostgreSQL gets one in statefulset mode', () => {
    for (const namePrefix of ['', 'team-a-']) {
      const config = configWith({ namePrefix, database: { mode: 'statefulset' } });
      const names = platformNames(config);
      const objects = chartObjects(render(config).files, 'certificates');
      const mlflow = find(objects, 'Certificate', names.tls.mlflow);
      expect(mlflow.spec.dnsNames).toEqual(serviceDnsNames(names.mlflow, names.namespaces.platform));
      expect(mlflow.spec.dnsNames).toContain(new URL(names.mlflowUrl).hostname);
      expect(find(objects, 'Certificate', names.tls.db).spec.dnsNames).toEqual(serviceDnsNames(names.mlflowDb, names.namespaces.platform));
    }
    expect(serviceDnsNames('mlflow', 'mlflow')).toEqual(['mlflow', 'mlflow.mlflow', 'mlflow.mlflow.svc', 'mlflow.mlflow.svc.cluster.local']);
    expect(ofKind(certificatesOf({ database: { mode: 'cloudsql' } }), 'Certificate').map((c) => c.metadata.name)).not.toContain('mlflow-db-tls');
  });

  test('every leaf rotates its key at renewal, is renewed renewBefore ahead, and comes from the CA ClusterIssuer', () => {
    const names = platformNames(configWith({}));
    const leaves = ofKind(certificatesOf({ tls: { certificateLifetime: '60d', renewBefore: '20d' }, database: { mode: 'statefulset' } }), 'Certificate').filter(
      (c) => !c.spec.isCA,
    );
    expect(leaves.map((c) => c.metadata.name).sort()).toEqual([names.tls.db, names.tls.mlflow]);
    for (const leaf of leaves) {
      expect(leaf.spec.privateKey).toEqual({ algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' });
      expect({ duration: leaf.spec.duration, renewBefore: leaf.spec.renewBefore }).toEqual({ duration: '1440h', renewBefore: '480h' });
      expect(leaf.spec.issuerRef).toEqual({ name: names.tls.caIssuer, kind: 'ClusterIssuer', group: 'cert-manager.io' });
    }
  });

  test('one trust-manager Bundle copies the CA certificate (tls.crt of the CA Secret, never its key) into ConfigMap and Secret ca.crt', () => {
    const names = platformNames(configWith({}));
    const bundles = ofKind(certificatesOf(), 'Bundle');
    expect(bundles).toHaveLength(1);
    const [bundle] = bundles;
    expect(bundle.apiVersion).toBe('trust.cert-manager.io/v1alpha1');
    expect(bundle.metadata.name).toBe(names.tls.caBundle);
    expect(bundle.metadata.namespace).toBeUndefined();
    expect(bundle.spec.sources).toEqual([{ secret: { name: names.tls.ca, key: 'tls.crt' } }]);
    expect(bundle.spec.target.configMap).toEqual({ key: 'ca.crt' });
    expect(bundle.spec.target.secret).toEqual({ key: 'ca.crt' });
  });

  test("the Bundle's targets are the platform namespace and, while a workspace app renders, the workspaces namespace", () => {
    const targets = (o: DeepPartial<ConfigInput>) => ofKind(certificatesOf(o), 'Bundle')[0].spec.target.namespaceSelector;
    const by = (values: string[]) => ({ matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values }] });
    expect(targets({})).toEqual(by(['ml-workspaces', 'mlflow']));
    expect(targets({ workspaces: { jupyter: { enabled: false }, vscode: { enabled: false } } })).toEqual(by(['mlflow']));
    expect(targets({ namespaces: { platform: 'ml-core', workspaces: 'ml-users' } })).toEqual(by(['ml-core', 'ml-users']));
  });

  test('no client namespace holds a Certificate for the CA bundle: every leaf Certificate is a server certificate, and pods take the CA from the ConfigMap', () => {
    for (const { name, config } of configsUnderTest()) {
      const names = platformNames(config);
      const { objects } = render(config);
      const certificates = ofKind(objects, 'Certificate');
      expect({ name, bundleCertificates: certificates.filter((c) => c.spec.secretName === names.tls.caBundle) }).toEqual({ name, bundleCertificates: [] });
      for (const c of certificates.filter((x) => !x.spec.isCA))
        expect({ name, c: c.metadata.name, usages: c.spec.usages }).toEqual({ name, c: c.metadata.name, usages: expect.arrayContaining(['server auth']) });
      const templates = objects.flatMap((o) => (o.kind === 'CronJob' ? [o.spec.jobTemplate.spec.template] : o.spec?.template?.spec ? [o.spec.template] : []));
      let mounts = 0;
      for (const t of templates)
        for (const c of [...(t.spec.initContainers ?? []), ...t.spec.containers])
          for (const m of (c.volumeMounts ?? []).filter((v: Manifest) => v.mountPath === CA_BUNDLE_DIR)) {
            mounts++;
            const volume = t.spec.volumes.find((v: Manifest) => v.name === m.name);
            expect({ name, volume }).toEqual({ name, volume: caBundleVolume(names.tls.caBundle) });
          }
      expect(mounts).toBeGreaterThan(0);
    }
  });

  test('a ValidatingAdmissionPolicy refuses Certificates and CertificateRequests naming the CA ClusterIssuer outside the platform namespaces', () => {
    for (const overrides of [{}, { namePrefix: 'team-', namespaces: { platform: 'ml-core', workspaces: 'ml-users' } }] as DeepPartial<ConfigInput>[]) {
      const names = platformNames(configWith(overrides));
      const objects = certificatesOf(overrides);
      const policy = find(objects, 'ValidatingAdmissionPolicy', names.tls.caIssuerScope);
      expect(policy.apiVersion).toBe('admissionregistration.k8s.io/v1');
      expect(policy.spec.failurePolicy).toBe('Fail');
      expect(policy.spec.matchConstraints.resourceRules).toEqual([
        { apiGroups: ['cert-manager.io'], apiVersions: ['*'], operations: ['CREATE', 'UPDATE'], resources: ['certificates', 'certificaterequests'] },
      ]);
      expect(policy.spec.validations).toEqual([
        {
          expression: notFromIssuer(names.tls.caIssuer),
          message: `the platform CA ClusterIssuer ${names.tls.caIssuer} signs only for the namespaces ${[names.namespaces.platform, names.namespaces.workspaces].sort().join(', ')}`,
          reason: 'Forbidden',
        },
      ]);
      const binding = find(objects, 'ValidatingAdmissionPolicyBinding', names.tls.caIssuerScope);
      expect(binding.spec).toEqual({
        policyName: policy.metadata.name,
        validationActions: ['Deny'],
        matchResources: {
          namespaceSelector: {
            matchExpressions: [
              { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [names.namespaces.platform, names.namespaces.workspaces].sort() },
            ],
          },
        },
      });
      // Every leaf Certificate of the render is in a namespace the binding leaves out, so the policy never refuses the platform's own.
      for (const c of ofKind(render(configWith(overrides)).objects, 'Certificate').filter((x) => x.spec.issuerRef.name === names.tls.caIssuer))
        expect(binding.spec.matchResources.namespaceSelector.matchExpressions[0].values).toContain(c.metadata.namespace);
    }
  });

  test('the CEL expression names the issuer by name, ClusterIssuer kind (empty means Issuer) and cert-manager group (empty is the default)', () => {
    expect(notFromIssuer('mlflow-gke-ca')).toBe(
      "!(object.spec.issuerRef.name == 'mlflow-gke-ca' && (has(object.spec.issuerRef.kind) && object.spec.issuerRef.kind == 'ClusterIssuer') && (!has(object.spec.issuerRef.group) || object.spec.issuerRef.group == '' || object.spec.issuerRef.group == 'cert-manager.io'))",
    );
    // A name that could break out of the CEL string is refused, not quoted.
    expect(() => notFromIssuer("x' || true || '")).toThrow(/not a ClusterIssuer name/);
  });

  test("pods mount the bundle ConfigMap's ca.crt alone, read-only", () => {
    expect(caBundleVolume('b')).toEqual({ name: 'platform-ca', configMap: { name: 'b', items: [{ key: 'ca.crt', path: 'ca.crt' }], defaultMode: 0o444 } });
    expect(path.join(caBundleMount().mountPath, 'ca.crt')).toBe(CA_BUNDLE_FILE);
    expect(caBundleMount().readOnly).toBe(true);
  });

  strictTest('validates strictly against the cert-manager CRDs, and the validator would catch a wrong field', () => {
    const validator = new StrictValidator();
    const objects = certificatesOf({ database: { mode: 'statefulset' } });
    expect(validator.validate(objects)).toEqual([]);
    const bad = structuredClone(find(objects, 'Certificate', 'mlflow-tls'));
    bad.spec.privateKey.rotationPolicy = 'Sometimes';
    expect(validator.validate([bad]).join('\n')).toMatch(/rotationPolicy/);
  });

  strictTest("the Bundle validates against its stand-in schema (trust-manager v0.24.0's Go types), which catches a wrong field", () => {
    const validator = new StrictValidator();
    const bundle = ofKind(certificatesOf(), 'Bundle')[0];
    expect(validator.validate([bundle])).toEqual([]);
    const misspelt = structuredClone(bundle);
    misspelt.spec.target.configMaps = misspelt.spec.target.configMap;
    expect(validator.validate([misspelt]).join('\n')).toMatch(/configMaps/);
    const twoSources = structuredClone(bundle);
    twoSources.spec.sources[0].inLine = 'x';
    expect(validator.validate([twoSources])).not.toEqual([]);
    const noKey = structuredClone(bundle);
    delete noKey.spec.target.configMap.key;
    expect(validator.validate([noKey]).join('\n')).toMatch(/key/);
  });

  // A renewed CA certificate with the same key and subject verifies what the old one signed: why the CA
  // keeps its key (rotationPolicy Never). Shown with openssl.
  test('a CA certificate re-issued with the same key still verifies a certificate signed before', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlflow-gke-ca-'));
    try {
      const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
      ssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key');
      ssl('req', '-x509', '-new', '-key', 'ca.key', '-subj', '/CN=platform CA', '-days', '2', '-out', 'ca1.crt', '-set_serial', '1');
      ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'leaf.key', '-subj', '/CN=mlflow', '-out', 'leaf.csr');
      ssl('x509', '-req', '-in', 'leaf.csr', '-CA', 'ca1.crt', '-CAkey', 'ca.key', '-set_serial', '7', '-days', '1', '-out', 'leaf.crt');
      ssl('req', '-x509', '-new', '-key', 'ca.key', '-subj', '/CN=platform CA', '-days', '3', '-out', 'ca2.crt', '-set_serial', '2');
      expect(execFileSync('openssl', ['verify', '-CAfile', 'ca2.crt', 'leaf.crt'], { cwd: dir, encoding: 'utf8' }).trim()).toBe('leaf.crt: OK');
      // With a new key it would not.
      ssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'other.key');
      ssl('req', '-x509', '-new', '-key', 'other.key', '-subj', '/CN=platform CA', '-days', '3', '-out', 'ca3.crt');
      expect(() => execFileSync('openssl', ['verify', '-CAfile', 'ca3.crt', 'leaf.crt'], { cwd: dir, stdio: 'pipe' })).toThrow();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('tls config', () => {
  test("durations become cert-manager's Go form", () => {
    expect(['90d', '30d', '12h', '90m', '45s'].map(certManagerDuration)).toEqual(['2160h', '720h', '12h', '90m', '45s']);
  });

  test('renewBefore must be shorter than the lifetime, the lifetime from 1h to a year, as cert-manager and the CA allow', () => {
    expect(configError({ tls: { certificateLifetime: '30d', renewBefore: '30d' } })).toContain(
      'tls.renewBefore: "30d" is not allowed: must be shorter than certificateLifetime (30d)',
    );
    expect(configError({ tls: { certificateLifetime: '30m' } })).toContain('tls.certificateLifetime: "30m" is not allowed: must be at least 1h');
    expect(configError({ tls: { certificateLifetime: '400d' } })).toContain('tls.certificateLifetime: "400d" is not allowed: must be at most 365d');
    expect(configError({ tls: { renewBefore: '1m' } })).toContain('tls.renewBefore: "1m" is not allowed: must be at least 5m');
  });

  test('the CA Certificate follows certManagerNamespace', () => {
    const objects = certificatesOf({ tls: { certManagerNamespace: 'security' } });
    expect(find(objects, 'Certificate', 'mlflow-gke-ca').metadata.namespace).toBe('security');
  });
});
