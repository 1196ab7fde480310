/**
 * Validation when the schema folder is missing: the npm packages kubernetes-models and
 * @kubernetes-models/gke carry JSON Schemas for Kubernetes, GKE and Config Connector kinds. They do
 * not reject unknown fields, so this is weaker than the strict validator; the run's banner says so.
 */
import { FALLBACK_EXCEPTIONS } from './schema-exceptions';

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

export function validateWithPackages(objects: Json[]): FallbackResult {
  const problems: string[] = [];
  const unvalidated = new Set<string>();
  for (const o of objects) {
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
