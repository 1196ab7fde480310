/** Output: one line per finding for people, or a JSON document for machines. */
import type { Finding } from './types';

export interface Summary {
  readonly errors: number;
  readonly warnings: number;
  readonly objects: number;
  readonly files: number;
}

export function summarize(findings: readonly Finding[], objects: number, files: number): Summary {
  return { errors: findings.filter((f) => f.severity === 'error').length, warnings: findings.filter((f) => f.severity === 'warning').length, objects, files };
}

export function objectLabel(f: Pick<Finding, 'kind' | 'namespace' | 'name'>): string {
  return `${f.kind}/${f.namespace ? `${f.namespace}/` : ''}${f.name}`;
}

/** `FILE[#doc]: Kind/namespace/name: field.path: severity [rule] message (fix: ...)` */
export function formatFinding(f: Finding): string {
  const where = f.doc > 0 ? `${f.file}#${f.doc + 1}` : f.file;
  const object = f.kind || f.name ? `${objectLabel(f)}: ` : '';
  return `${where}: ${object}${f.path ? `${f.path}: ` : ''}${f.severity} [${f.rule}] ${f.message} (fix: ${f.fix})`;
}

export function formatText(findings: readonly Finding[], summary: Summary): string {
  const lines = findings.map(formatFinding);
  const verdict = summary.errors > 0 ? 'FAILED' : 'passed';
  lines.push(
    `policy check ${verdict}: ${summary.errors} error(s), ${summary.warnings} warning(s) in ${summary.objects} object(s) from ${summary.files} file(s)`,
  );
  return `${lines.join('\n')}\n`;
}

export function formatJson(findings: readonly Finding[], summary: Summary): string {
  return `${JSON.stringify({ ok: summary.errors === 0, summary, findings }, null, 2)}\n`;
}

/**
 * Text for people, warnings grouped: each error on its own line as in formatText, then one line per
 * rule that warned, with the count, what the rule requires (`explain`) and the first object it named;
 * `--verbose` prints each warning instead.
 */
export function formatGroupedText(findings: readonly Finding[], summary: Summary, explain: (rule: string) => string | undefined): string {
  const errors = findings.filter((f) => f.severity === 'error');
  const groups = new Map<string, Finding[]>();
  for (const f of findings) if (f.severity === 'warning') groups.set(f.rule, [...(groups.get(f.rule) ?? []), f]);
  const lines = errors.map(formatFinding);
  if (groups.size > 0) {
    lines.push(`warnings by rule (each one: --verbose; they do not fail the gate):`);
    const sorted = [...groups].sort(([a, x], [b, y]) => y.length - x.length || a.localeCompare(b));
    const width = String(sorted[0][1].length).length;
    for (const [rule, list] of sorted) {
      const first = list[0];
      const where = `${objectLabel(first)}${first.path ? `: ${first.path}` : ''}`;
      lines.push(`  ${String(list.length).padStart(width)} warning [${rule}] ${explain(rule) ?? list[0].message} (first: ${where})`);
    }
  }
  return formatText([], summary).replace(/^/, lines.length > 0 ? `${lines.join('\n')}\n` : '');
}
