/**
 * Validation when the schema folder is missing: the npm packages kubernetes-models and
 * @kubernetes-models/gke carry JSON Schemas for Kubernetes, GKE and Config Connector kinds. They do
 * not reject unknown fields, so this is weaker than the strict validator; the run's banner says so.
 */
import Ajv, { ValidateFunction } from 'ajv';
import { FALLBACK_EXCEPTIONS, HAND_WRITTEN_CRDS } from './schema-exceptions';

type Json = Record<string, any>;

function modulePathFor(o: Json): string[] {
  const [group, version] = String(o.apiVersion).includes('/') ? String(o.apiVersion).split('/') : ['', o.apiVersion];
  return group
    ? [`kubernetes-models/${group}/${version}/${o.kind}`, `@kubernetes-models/gke/${group}/${version}/${o.kind}`]
    : [`kubernetes-models/${version}/${o.kind}`];
}

export interface FallbackResult {
  readonly problems: string[];
  /** Kinds neither package knows: not validated at all. */
  readonly unvalidated: string[];
}

/** Adds `additionalProperties: false` to every object schema with properties that sets none. */
function closed(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Json = Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, closed(v)]));
  if (out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

let handWritten: Map<string, ValidateFunction> | undefined;

/**
 * The hand-written CRDs of support/schema-exceptions.ts, by `apiVersion/kind`, compiled with unknown
 * fields rejected: no package knows these kinds, so the fallback checks them as the strict validator does.
 */
function handWrittenValidators(): Map<string, ValidateFunction> {
  if (handWritten) return handWritten;
  const ajv = new Ajv({ strict: false, allErrors: true });
  handWritten = new Map();
  for (const crd of HAND_WRITTEN_CRDS)
    for (const version of crd.spec.versions) {
      const schema = closed(version.schema.openAPIV3Schema) as Json;
      schema.properties = { ...schema.properties, apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' } };
      handWritten.set(`${crd.spec.group}/${version.name}/${crd.spec.names.kind}`, ajv.compile(schema));
    }
  return handWritten;
}

export function validateWithPackages(objects: Json[]): FallbackResult {
  const problems: string[] = [];
  const unvalidated = new Set<string>();
  for (const o of objects) {
    const own = handWrittenValidators().get(`${o.apiVersion}/${o.kind}`);
    if (own) {
      const valid: boolean = own(o);
      const errors = (own.errors ?? []).map((e) =>
        e.keyword === 'additionalProperties'
          ? `${e.instancePath || '/'}: unknown field "${e.params.additionalProperty}"`
          : `${e.instancePath || '/'}: ${e.message}`,
      );
      if (!valid) problems.push(`${o.kind} ${o.metadata?.name}: ${errors.join('; ')}`);
      continue;
    }
    const Model = modulePathFor(o)
      .map((p) => {
        try {
          // eslint-disable-next-line @typescript-eslint/no-require-imports -- the package module is known only at run time
          return require(p)[o.kind];
        } catch {
          return undefined;
        }
      })
      .find(Boolean);
    if (!Model) {
      unvalidated.add(`${o.apiVersion}/${o.kind}`);
      continue;
    }
    try {
      new Model(o).validate();
    } catch (e) {
      const message = (e as Error).message;
      if (!FALLBACK_EXCEPTIONS.some((x) => x.kind === o.kind && x.message.test(message))) problems.push(`${o.kind} ${o.metadata?.name}: ${message}`);
    }
  }
  return { problems, unvalidated: [...unvalidated].sort() };
}
