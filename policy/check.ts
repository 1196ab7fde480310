/**
 * The engine: runs every rule over the set, drops findings covered by a valid exemption, reports
 * malformed exemptions, and returns the findings in a stable order.
 */
import { describeObject, EXEMPT_PREFIX, PolicySet } from './model';
import { ALL_RULE_IDS, RULES } from './rules';
import type { ExternalDeclarations, Finding, Severity, SourceObject, Violation } from './types';
import type { Rule } from './rule';

export interface CheckOptions {
  readonly external?: ExternalDeclarations;
  /** Rules to run (default: all); tests use it to isolate one rule. */
  readonly rules?: readonly Rule[];
}

export function toFinding(rule: string, severity: Severity, v: Pick<Violation, 'object' | 'path' | 'message' | 'fix'>): Finding {
  const m = v.object.manifest;
  return {
    rule,
    severity,
    file: v.object.file,
    doc: v.object.doc,
    kind: String(m?.kind ?? ''),
    namespace: m?.metadata?.namespace || undefined,
    name: String(m?.metadata?.name ?? ''),
    path: v.path,
    message: v.message,
    fix: v.fix,
  };
}

/** Valid exemptions per object, and findings for the malformed ones. */
export function exemptionsOf(objects: readonly SourceObject[]): { exempt: Map<SourceObject, Set<string>>; findings: Finding[] } {
  const exempt = new Map<SourceObject, Set<string>>();
  const findings: Finding[] = [];
  for (const o of objects) {
    for (const [key, value] of Object.entries(o.manifest.metadata?.annotations ?? {})) {
      if (!key.startsWith(EXEMPT_PREFIX)) continue;
      const id = key.slice(EXEMPT_PREFIX.length);
      const path = `metadata.annotations.${key}`;
      if (!ALL_RULE_IDS.has(id) || id === 'policy.exemption' || id === 'input.invalid')
        findings.push(
          toFinding('policy.exemption', 'error', {
            object: o,
            path,
            message: `exemption names unknown rule "${id}"`,
            fix: 'use a rule id from docs/policy.md',
          }),
        );
      else if (typeof value !== 'string' || value.trim() === '')
        findings.push(
          toFinding('policy.exemption', 'error', {
            object: o,
            path,
            message: `exemption from ${id} gives no reason`,
            fix: 'write why the object needs the exemption as the annotation value',
          }),
        );
      else {
        const set = exempt.get(o) ?? new Set<string>();
        set.add(id);
        exempt.set(o, set);
      }
    }
  }
  return { exempt, findings };
}

export function checkObjects(objects: readonly SourceObject[], options: CheckOptions = {}): Finding[] {
  const set = new PolicySet(objects, options.external);
  const { exempt, findings } = exemptionsOf(objects);
  for (const rule of options.rules ?? RULES) {
    for (const v of rule.check(set)) {
      if (exempt.get(v.object)?.has(rule.id)) continue;
      findings.push(toFinding(rule.id, v.severity ?? rule.severity, v));
    }
  }
  return sortFindings(findings);
}

export function sortFindings(findings: Finding[]): Finding[] {
  const cmp = (a: string | number, b: string | number) => (a < b ? -1 : a > b ? 1 : 0);
  return findings.sort((a, b) => cmp(a.file, b.file) || cmp(a.doc, b.doc) || cmp(a.path, b.path) || cmp(a.rule, b.rule) || cmp(a.message, b.message));
}

export { describeObject };
