/**
 * The certificates chart: the platform CA chain, the server certificates and the CA bundles, their
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
import { CA_BUNDLE_FILE, caBundleMount, caBundleVolume } from '../charts/certificates/ca-bundle';
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
    const leaves = ofKind(certificatesOf({ tls: { certificateLifetime: '60d', renewBefore: '20d' } }), 'Certificate').filter((c) => !c.spec.isCA);
    expect(leaves.length).toBeGreaterThanOrEqual(3);
    for (const leaf of leaves) {
      expect(leaf.spec.privateKey).toEqual({ algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' });
      expect({ duration: leaf.spec.duration, renewBefore: leaf.spec.renewBefore }).toEqual({ duration: '1440h', renewBefore: '480h' });
      expect(leaf.spec.issuerRef).toEqual({ name: names.tls.caIssuer, kind: 'ClusterIssuer', group: 'cert-manager.io' });
    }
  });

  test('a CA bundle in the platform namespace and, while a workspace app renders, in the workspaces namespace', () => {
    const names = platformNames(configWith({}));
    const bundles = (o: DeepPartial<ConfigInput>) =>
      ofKind(certificatesOf(o), 'Certificate')
        .filter((c) => c.metadata.name === names.tls.caBundle)
        .map((c) => c.metadata.namespace);
    expect(bundles({})).toEqual(['mlflow', 'ml-workspaces']);
    expect(bundles({ workspaces: { jupyter: { enabled: false }, vscode: { enabled: false } } })).toEqual(['mlflow']);
  });

  test("pods mount the bundle's ca.crt alone, never its key", () => {
    expect(caBundleVolume('b')).toEqual({ name: 'platform-ca', secret: { secretName: 'b', items: [{ key: 'ca.crt', path: 'ca.crt' }], defaultMode: 0o444 } });
    expect(path.join(caBundleMount().mountPath, 'ca.crt')).toBe(CA_BUNDLE_FILE);
  });

  strictTest('validates strictly against the cert-manager CRDs, and the validator would catch a wrong field', () => {
    const validator = new StrictValidator();
    const objects = certificatesOf({ database: { mode: 'statefulset' } });
    expect(validator.validate(objects)).toEqual([]);
    const bad = structuredClone(find(objects, 'Certificate', 'mlflow-tls'));
    bad.spec.privateKey.rotationPolicy = 'Sometimes';
    expect(validator.validate([bad]).join('\n')).toMatch(/rotationPolicy/);
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
