/**
 * Safety of the whole render under GitOps: nothing stateful is ever pruned, Flux's own labels are
 * left to Flux, Jobs re-run when (and only when) their content changes, and the gcp file stands on
 * its own for a separate Config Connector cluster.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { parseConfig } from '../model/load';
import { DEFAULT_CONFIG } from '../config/default';
import type { Config } from '../config/schema';
import { renderPlatform } from '../synth/render';
import {
  fluxLabelViolations,
  immutableFieldChanges,
  isKcc,
  isStateful,
  pruneProtectionViolations,
  STATEFUL_KCC_KINDS,
  STATELESS_CERT_MANAGER_KINDS,
  STATELESS_KCC_KINDS,
} from './support/gitops-policy';
import { CrdValidator } from './support/schemas';
import { strictTest } from './support/strict-tests';
import { CONFIG_DIR, configsUnderTest, Manifest, objectsOf } from './support/render';

const MLFLOW_IMAGE = 'ghcr.io/mlflow/mlflow';

/** The input of a config under test (the embedded default or a file), for deriving variants. */
function inputOf(name: string): Record<string, any> {
  if (name === 'default') return structuredClone(DEFAULT_CONFIG) as Record<string, any>;
  return YAML.parse(fs.readFileSync(path.join(CONFIG_DIR, `${name}.yaml`), 'utf8'));
}

function variant(name: string, edit: (input: Record<string, any>) => void): Config {
  const input = inputOf(name);
  edit(input);
  return parseConfig(input, `${name} (variant)`);
}

/** Replaces the tag of an image reference. */
function retag(image: string, tag: string): string {
  const colon = image.lastIndexOf(':');
  return `${colon > image.lastIndexOf('/') ? image.slice(0, colon) : image}:${tag}`;
}

const containersOf = (job: Manifest): Manifest[] => [...(job.spec?.template?.spec?.initContainers ?? []), ...(job.spec?.template?.spec?.containers ?? [])];
const runsImage = (job: Manifest, repo: string) => containersOf(job).some((c) => String(c.image).startsWith(`${repo}:`));
const mainObjects = (config: Config) => objectsOf(renderPlatform(config), { mainOnly: true });

const rendered = configsUnderTest().map(({ name, config }) => {
  const files = renderPlatform(config);
  return { name, config, files, objects: objectsOf(files), main: objectsOf(files, { mainOnly: true }) };
});

describe('the stateful kinds list', () => {
  strictTest('classifies every Config Connector kind there is a CRD for, so a new kind cannot slip past the prune check', () => {
    const kinds = new CrdValidator()
      .kinds()
      .filter((k) => k.includes('.cnrm.cloud.google.com/'))
      .map((k) => k.split('/').pop()!);
    expect(kinds.length).toBeGreaterThan(20);
    const unclassified = [...new Set(kinds)].filter((k) => !STATEFUL_KCC_KINDS.includes(k) && !STATELESS_KCC_KINDS.includes(k));
    expect(unclassified).toEqual([]);
  });

  test('flags a PVC, a Namespace and a Cloud SQL instance, and not a Deployment or a Config Connector IAM binding', () => {
    const kcc = (kind: string) => ({ apiVersion: 'sql.cnrm.cloud.google.com/v1beta1', kind, metadata: { name: 'x' } });
    expect(isStateful({ kind: 'PersistentVolumeClaim', apiVersion: 'v1' })).toBe(true);
    expect(isStateful({ kind: 'Namespace', apiVersion: 'v1' })).toBe(true);
    expect(isStateful(kcc('SQLInstance'))).toBe(true);
    expect(isStateful({ kind: 'Deployment', apiVersion: 'apps/v1' })).toBe(false);
    expect(isStateful({ apiVersion: 'iam.cnrm.cloud.google.com/v1beta1', kind: 'IAMPolicyMember' })).toBe(false);
  });

  test('a stateful object without the annotations is reported, with both missing annotations', () => {
    const bucket = { apiVersion: 'storage.cnrm.cloud.google.com/v1beta1', kind: 'StorageBucket', metadata: { name: 'b', namespace: 'g' } };
    expect(pruneProtectionViolations([bucket])).toEqual([
      'StorageBucket g/b: annotation kustomize.toolkit.fluxcd.io/prune is undefined, must be "disabled"',
      'StorageBucket g/b: annotation cnrm.cloud.google.com/deletion-policy is undefined, must be "abandon"',
    ]);
  });

  test('Flux-owned labels are found in pod templates too, other fluxcd.io-looking keys are not', () => {
    const deployment = {
      kind: 'Deployment',
      metadata: { name: 'd', labels: { 'example.com/fluxcd.io': 'x' } },
      spec: { template: { metadata: { labels: { 'kustomize.toolkit.fluxcd.io/name': 'apps' } } } },
    };
    expect(fluxLabelViolations([deployment])).toEqual(['Deployment d: spec.template.metadata.labels has Flux-owned label kustomize.toolkit.fluxcd.io/name']);
  });
});

describe.each(rendered)('GitOps safety of config $name', ({ name, objects, main }) => {
  test('every PVC, Namespace and stateful Config Connector object is protected from pruning (and abandons its cloud resource)', () => {
    expect(objects.filter(isStateful).length).toBeGreaterThan(0);
    expect(pruneProtectionViolations(objects)).toEqual([]);
  });

  test('every Config Connector kind in the render is classified as stateful or stateless', () => {
    const unclassified = [
      ...new Set(objects.filter((o) => isKcc(o) && !STATEFUL_KCC_KINDS.includes(o.kind) && !STATELESS_KCC_KINDS.includes(o.kind)).map((o) => o.kind)),
    ];
    expect(unclassified).toEqual([]);
  });

  test('every cert-manager kind in the render is classified, and none needs prune protection', () => {
    const certManager = objects.filter((o) => String(o.apiVersion).startsWith('cert-manager.io/'));
    expect(certManager.length).toBeGreaterThan(0);
    expect([...new Set(certManager.map((o) => o.kind))].filter((k) => !STATELESS_CERT_MANAGER_KINDS.includes(k))).toEqual([]);
    expect(certManager.filter((o) => o.kind === 'Secret')).toEqual([]);
  });

  test('no object carries a Flux-owned label, in its metadata or in any template', () => {
    expect(fluxLabelViolations(objects)).toEqual([]);
  });

  test('no Job in dist/ has ttlSecondsAfterFinished: Flux would recreate, and so re-run, a Job the TTL deleted', () => {
    expect(main.filter((o) => o.kind === 'Job' && o.spec?.ttlSecondsAfterFinished !== undefined).map((o) => o.metadata.name)).toEqual([]);
  });

  test('the MLflow migration Job is renamed when the MLflow image changes, and no object keeps its name with a changed immutable field', () => {
    const changed = mainObjects(
      variant(name, (input) => {
        input.mlflow = { ...input.mlflow, image: retag(input.mlflow?.image ?? `${MLFLOW_IMAGE}:v3.17.0-full`, 'v3.17.1-full') };
        // The workspaces' client stays at the version their lock holds (config/workspace-locks/).
        input.workspaces = { ...input.workspaces, mlflowClient: { ...input.workspaces?.mlflowClient, version: '3.17.0' } };
      }),
    );
    const mlflowJobs = main.filter((o) => o.kind === 'Job' && runsImage(o, MLFLOW_IMAGE));
    expect(mlflowJobs.map((j) => j.metadata.name)).not.toEqual([]);
    const newNames = new Set(changed.filter((o) => o.kind === 'Job').map((o) => o.metadata.name));
    for (const job of mlflowJobs) expect(`${job.metadata.name} present after the image change: ${newNames.has(job.metadata.name)}`).toMatch(/: false$/);
    expect(changed.filter((o) => o.kind === 'Job' && runsImage(o, MLFLOW_IMAGE))).toHaveLength(mlflowJobs.length);
    expect(immutableFieldChanges(main, changed)).toEqual([]);
  });

  test('changing the MLflow workers or the Cloud SQL Auth Proxy image hits no immutable field either', () => {
    for (const edit of [
      // Two workers with smaller pools: the connection budget of every config holds them.
      (input: Record<string, any>) => (input.mlflow = { ...input.mlflow, workers: 2, databasePool: { size: 2, maxOverflow: 2 } }),
      (input: Record<string, any>) =>
        (input.mlflow = { ...input.mlflow, cloudSqlProxy: { ...input.mlflow?.cloudSqlProxy, image: 'gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.1.1' } }),
    ]) {
      expect(immutableFieldChanges(main, mainObjects(variant(name, edit)))).toEqual([]);
    }
  });

  test('a Job keeps its name when nothing about it changed (it does not re-run on every render)', () => {
    const unrelated = mainObjects(variant(name, (input) => (input.monitoring = { ...input.monitoring, logRetentionDays: 90 })));
    const jobs = (list: Manifest[]) =>
      list
        .filter((o) => o.kind === 'Job')
        .map((o) => o.metadata.name)
        .sort();
    expect(jobs(unrelated)).toEqual(jobs(main));
  });

  test('the gcp file stands alone on a Config Connector cluster: it holds every Config Connector object and creates the namespaces they use', () => {
    const gcpFile = rendered.find((r) => r.name === name)!.files.find((f) => /^(\d{4}-)?gcp\.yaml$/.test(f.path));
    expect(gcpFile?.path).toMatch(/gcp\.yaml$/);
    const gcp = objectsOf([gcpFile!]);
    const elsewhere = main.filter(
      (o) => isKcc(o) && !gcp.some((g) => g.kind === o.kind && g.metadata.name === o.metadata.name && g.metadata.namespace === o.metadata.namespace),
    );
    expect(elsewhere.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([]);
    const created = new Set(gcp.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name));
    const config = rendered.find((r) => r.name === name)!.config;
    const missing = [...new Set(gcp.map((o) => o.metadata.namespace).filter((ns) => ns && !created.has(ns) && !config.namespaces.external.includes(ns)))];
    expect(missing).toEqual([]);
  });
});
