/**
 * Installs, for real, the CustomResourceDefinitions that a set of objects needs, from the shared schema
 * copies (`MLFLOW_GKE_SCHEMAS`, else `../shared/schemas`). The copies are read in memory and never
 * written back. The one correction, in memory too, is CRD_SCHEMA_PATCHES (support/schema-exceptions.ts):
 * the BackendConfig copy is an old third-party one that still requires iap.oauthclientCredentials, which
 * ingress-gce made optional in v1.28.0, and lacks customResponseHeaders (shared/schemas/README.md,
 * "Caveats"); the same correction the offline validation makes, so that both judge the render by the
 * same CRD. No corrected copy is written anywhere. Kinds whose owner publishes no CRD file
 * (FQDNNetworkPolicy, which GKE installs itself) come from HAND_WRITTEN_CRDS in the same file, as the
 * offline validation uses them; kinds whose CRD lives only in a Helm chart get one made from their
 * stand-in schema (STAND_IN_SCHEMAS: trust-manager's Bundle), built in memory too.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { CRD_SCHEMA_PATCHES, HAND_WRITTEN_CRDS, STAND_IN_SCHEMAS, StandInSchema } from '../../support/schema-exceptions';
import { schemaDir } from '../../support/schemas';
import type { Cluster } from './cluster';

type Json = Record<string, any>;

let byGroupKind: Map<string, Json> | undefined;

function listYaml(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? listYaml(path.join(dir, e.name)) : /\.ya?ml$/.test(e.name) ? [path.join(dir, e.name)] : []))
    .sort();
}

/**
 * A CRD for a kind the schema folder has no CRD for, made from its stand-in schema
 * (support/schema-exceptions.ts STAND_IN_SCHEMAS): the API server then validates the kind against
 * the same schema the offline validation uses. Not the upstream CRD: no CEL rules, no other versions.
 */
export function standInCrd(stand: StandInSchema): Json {
  const [group, version, kind] = stand.crd.split('/');
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${stand.plural}.${group}`, labels: { 'app.kubernetes.io/managed-by': 'mlflow-gke-tests' } },
    spec: {
      group,
      names: { kind, plural: stand.plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      scope: stand.scope,
      versions: [{ name: version, served: true, storage: true, schema: { openAPIV3Schema: structuredClone(stand.schema) } }],
    },
  };
}

/** Every shared CRD by `group/Kind`, parsed once per test file, and a stand-in for each kind without one. */
export function sharedCrds(): Map<string, Json> {
  if (byGroupKind) return byGroupKind;
  const dir = path.join(schemaDir(), 'crds');
  if (!fs.existsSync(dir)) throw new Error(`no CRDs at ${dir}: set MLFLOW_GKE_SCHEMAS or put shared/schemas beside the repository`);
  byGroupKind = new Map();
  for (const file of listYaml(dir)) {
    for (const doc of YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'))) {
      const crd = doc.toJS() as Json;
      if (crd?.kind === 'CustomResourceDefinition') byGroupKind.set(`${crd.spec.group}/${crd.spec.names.kind}`, crd);
    }
  }
  // Kinds with no published CRD, as the offline validation knows them (support/schema-exceptions.ts).
  for (const crd of HAND_WRITTEN_CRDS) {
    const key = `${crd.spec.group}/${crd.spec.names.kind}`;
    if (!byGroupKind.has(key)) byGroupKind.set(key, crd);
  }
  for (const stand of STAND_IN_SCHEMAS) {
    const [group, , kind] = stand.crd.split('/');
    if (!byGroupKind.has(`${group}/${kind}`)) byGroupKind.set(`${group}/${kind}`, standInCrd(stand));
  }
  return byGroupKind;
}

const groupKind = (o: Json) => `${String(o.apiVersion).includes('/') ? String(o.apiVersion).split('/')[0] : ''}/${o.kind}`;

/** The CRD as it is installed: the copy's spec with the known correction, metadata cut to its name and labels. */
function installable(crd: Json): Json {
  const spec = structuredClone(crd.spec);
  for (const version of spec.versions) {
    const key = `${spec.group}/${version.name}/${spec.names.kind}`;
    for (const p of CRD_SCHEMA_PATCHES.filter((x) => x.crd === key)) p.patch(version.schema.openAPIV3Schema);
  }
  return { apiVersion: crd.apiVersion, kind: crd.kind, metadata: { name: crd.metadata.name, labels: crd.metadata.labels }, spec };
}

/** Installs the CRDs of every custom resource among `objects` and waits until they are served. */
export async function installCrds(cluster: Cluster, objects: readonly Json[]): Promise<string[]> {
  const crds = sharedCrds();
  const needed = [...new Set(objects.map(groupKind))].filter((k) => crds.has(k)).sort();
  if (needed.length === 0) return [];
  const items = needed.map((k) => installable(crds.get(k)!));
  await cluster.kubectl(['apply', '--server-side', '--field-manager=mlflow-gke-tests', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
  await cluster.kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...items.map((c) => `crd/${c.metadata.name}`)]);
  return needed;
}
