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
