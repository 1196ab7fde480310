/**
 * Applying a render to a local control plane as a person would: the CRDs it needs first, then every
 * file with `kubectl apply --server-side`, then test values for the Secrets the render reads but
 * leaves to be created out of band (the list synth prints). Every warning kubectl prints is returned,
 * so a test can require none: Pod Security's "would violate" and deprecations come as warnings.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';
import { outOfBandSecrets } from '../../../policy/rules/references';
import type { Cluster } from './cluster';
import { installCrds } from './crds';
import { GKE_SANDBOX_RUNTIME_CLASS } from '../../../common/contract';

type Json = Record<string, any>;

/** The field manager of every apply of a render, so that a later apply of another render owns the same fields. */
export const FIELD_MANAGER = 'mlflow-gke';

export interface ManifestFile {
  /** A name for messages, e.g. `0003-mlflow.yaml`. */
  readonly name: string;
  readonly content: string;
}

export interface Applied {
  /** Every object applied, in order. */
  readonly objects: Json[];
  /** kubectl's warnings, one a line, each with the file it came from. */
  readonly warnings: string[];
}

export const parseAll = (text: string): Json[] =>
  YAML.parseAllDocuments(text)
    .map((d) => d.toJS() as Json)
    .filter((o) => o);

/** Applies one YAML file's text server-side; throws with kubectl's output when anything is refused. */
export async function applyText(cluster: Cluster, name: string, content: string, extra: readonly string[] = []): Promise<string[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlflow-gke-apply-'));
  try {
    // A real file: kubectl reports refusals with the file name and the object, as for a person.
    const file = path.join(dir, name.replace(/\//g, '_'));
    fs.writeFileSync(file, content);
    const r = await cluster.run(['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, ...extra, '-f', file]);
    if (r.code !== 0) throw new Error(`kubectl apply --server-side -f ${name} was refused:\n${r.stderr}`);
    return warningsOf(r.stderr).map((w) => `${name}: ${w}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function warningsOf(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('Warning:'))
    .map((l) => l.trim());
}

/** Test values for the out-of-band Secrets of `objects`: every key the render reads, 32 characters each. */
export function testSecrets(objects: readonly Json[]): Json[] {
  const sources = objects.map((manifest, doc) => ({ file: 'render', doc, manifest }));
  return outOfBandSecrets(sources).map((s) => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: s.name, namespace: s.namespace, labels: { 'mlflow-gke.test/stand-in': 'out-of-band' } },
    type: 'Opaque',
    // A Secret read whole (a mounted volume) gets one key: the render names none it needs.
    stringData: Object.fromEntries((s.keys.length > 0 ? s.keys : ['value']).map((k) => [k, `test-${s.name}-${k}-0123456789abcdef`.slice(0, 64)])),
  }));
}

/** The render's mark on an object whose namespace another install makes (policy/rules/references.ts checks it). */
const NAMESPACE_MADE_ELSEWHERE = 'policy.mlflow-gke.io/exempt.references.namespace';

/**
 * Namespaces that objects use, that no object creates, and that every object in them declares as
 * made by another install (cert-manager's namespace, made by its Helm install): created here as that
 * install would. An undeclared missing namespace is left missing, so its apply fails.
 */
export function namespacesMadeElsewhere(objects: readonly Json[]): string[] {
  const made = new Set(objects.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name));
  const used = [...new Set(objects.map((o) => o.metadata?.namespace).filter((n): n is string => !!n && !made.has(n)))];
  return used.filter((n) => objects.filter((o) => o.metadata?.namespace === n).every((o) => o.metadata.annotations?.[NAMESPACE_MADE_ELSEWHERE])).sort();
}

/** The pod specs of the workloads among `objects` (Deployments, StatefulSets, Jobs, CronJobs, Pods). */
function podSpecs(objects: readonly Json[]): Json[] {
  return objects.flatMap((o) => [o.spec?.template?.spec, o.spec?.jobTemplate?.spec?.template?.spec, o.kind === 'Pod' ? o.spec : undefined].filter(Boolean));
}

/**
 * The RuntimeClasses the Pods name that no object of the render creates and that GKE makes: `gvisor`,
 * which GKE creates with a GKE Sandbox node pool (common/contract.ts GKE_SANDBOX_RUNTIME_CLASS). The
 * RuntimeClass admission plugin, on by default, refuses a Pod whose RuntimeClass does not exist, so a
 * stand-in is created here as GKE would; its handler is gVisor's runsc. Any other missing RuntimeClass
 * is left missing, so its Pods are refused.
 */
export function runtimeClassesMadeElsewhere(objects: readonly Json[]): Json[] {
  const made = new Set(objects.filter((o) => o.kind === 'RuntimeClass').map((o) => o.metadata.name));
  const used = new Set(podSpecs(objects).map((s) => s.runtimeClassName as string | undefined));
  return used.has(GKE_SANDBOX_RUNTIME_CLASS) && !made.has(GKE_SANDBOX_RUNTIME_CLASS)
    ? [{ apiVersion: 'node.k8s.io/v1', kind: 'RuntimeClass', metadata: { name: GKE_SANDBOX_RUNTIME_CLASS }, handler: 'runsc' }]
    : [];
}

/**
 * Applies files in order after installing the CRDs they use, then creates the out-of-band Secrets
 * (test values) in the namespaces the files made. Throws when anything is refused.
 */
export async function applyFiles(cluster: Cluster, files: readonly ManifestFile[]): Promise<Applied> {
  const objects = files.flatMap((f) => parseAll(f.content));
  await installCrds(cluster, objects);
  const elsewhere = [
    ...namespacesMadeElsewhere(objects).map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } })),
    ...runtimeClassesMadeElsewhere(objects),
  ];
  if (elsewhere.length > 0)
    await cluster.kubectl(
      ['apply', '--server-side', '--field-manager=mlflow-gke-tests', '-f', '-'],
      JSON.stringify({ apiVersion: 'v1', kind: 'List', items: elsewhere }),
    );
  const warnings: string[] = [];
  for (const f of files) warnings.push(...(await applyText(cluster, f.name, f.content)));
  const secrets = testSecrets(objects);
  if (secrets.length > 0) {
    const r = await cluster.run(
      ['apply', '--server-side', '--field-manager=mlflow-gke-tests', '-f', '-'],
      JSON.stringify({ apiVersion: 'v1', kind: 'List', items: secrets }),
    );
    if (r.code !== 0) throw new Error(`creating the out-of-band Secrets was refused:\n${r.stderr}`);
  }
  return { objects, warnings };
}

/** The manifest files of a folder written by synth (or a rendered branch's apps/ and gcp/), in apply order. */
export function renderFiles(dir: string): ManifestFile[] {
  return fs
    .readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => ({ name: f, content: fs.readFileSync(path.join(dir, f), 'utf8') }));
}
