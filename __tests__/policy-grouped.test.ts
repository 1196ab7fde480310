/**
 * `npm run check` on a clean render prints its verdict without a wall of warnings: one line per rule
 * that warned (count, what the rule requires, the first object), each warning only with --verbose;
 * errors always in full; JSON always whole.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { writeOutput } from '../synth/output';
import { renderPlatform } from '../synth/render';
import { loadConfig } from '../model/load';
import { runCheck } from '../policy/cli';
import { formatGroupedText, summarize } from '../policy/report';
import { RULES } from '../policy/rules';
import type { Finding } from '../policy/types';
import { PROJECT_ROOT } from './support/render';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mlflow-gke-grouped-'));
  writeOutput(renderPlatform(loadConfig()), path.join(tmp, 'dist'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function check(argv: string[]) {
  let out = '';
  const code = runCheck(argv, { INIT_CWD: tmp }, { out: (t) => (out += t), err: (t) => (out += t) });
  return { code, out, lines: out.trimEnd().split('\n') };
}

describe('npm run check on a clean render', () => {
  test('prints one line per warning rule, with its count and explanation, then the verdict', () => {
    const json = JSON.parse(check(['--format', 'json']).out);
    const byRule = new Map<string, number>();
    for (const f of json.findings as Finding[]) byRule.set(f.rule, (byRule.get(f.rule) ?? 0) + 1);
    expect(json.summary.errors).toBe(0);
    expect(json.summary.warnings).toBeGreaterThan(10);
    const { code, out, lines } = check([]);
    expect(code).toBe(0);
    // Heading, one line per rule, verdict: no wall.
    expect(lines).toHaveLength(byRule.size + 2);
    expect(lines[0]).toBe('warnings by rule (each one: --verbose; they do not fail the gate):');
    for (const [rule, count] of byRule) {
      const requires = RULES.find((r) => r.id === rule)!.requires;
      expect(lines).toContainEqual(
        expect.stringMatching(
          new RegExp(`^ +${count} warning \\[${rule.replace(/\./g, '\\.')}\\] ${requires.replace(/[.*+?^${}()|[\]\\`]/g, '\\$&')} \\(first: `),
        ),
      );
    }
    expect(lines[lines.length - 1]).toBe(
      `policy check passed: 0 error(s), ${json.summary.warnings} warning(s) in ${json.summary.objects} object(s) from ${json.summary.files} file(s)`,
    );
    expect(out).not.toMatch(/^\S+\.yaml(#\d+)?: /m);
  });

  test('--verbose (-v) lists each warning on its own line, as before', () => {
    const json = JSON.parse(check(['--format', 'json']).out);
    for (const flag of ['--verbose', '-v']) {
      const { code, lines } = check([flag]);
      expect(code).toBe(0);
      expect(lines).toHaveLength(json.summary.warnings + 1);
      expect(lines.slice(0, -1).every((l) => /^\S+\.yaml(#\d+)?: \S+: \S+: warning \[[\w.-]+\] /.test(l))).toBe(true);
    }
  });

  test('errors stay one line each, above the grouped warnings', () => {
    const error: Finding = {
      rule: 'image.tag',
      severity: 'error',
      file: 'a.yaml',
      doc: 0,
      kind: 'Deployment',
      namespace: 'x',
      name: 'web',
      path: 'p',
      message: 'm',
      fix: 'f',
    };
    const warning: Finding = { ...error, rule: 'job.ttl', severity: 'warning', name: 'j' };
    const text = formatGroupedText([warning, error, warning], summarize([warning, error, warning], 3, 1), () => 'explained');
    expect(text.split('\n')).toEqual([
      'a.yaml: Deployment/x/web: p: error [image.tag] m (fix: f)',
      'warnings by rule (each one: --verbose; they do not fail the gate):',
      '  2 warning [job.ttl] explained (first: Deployment/x/j: p)',
      'policy check FAILED: 1 error(s), 2 warning(s) in 3 object(s) from 1 file(s)',
      '',
    ]);
  });

  test('docs/policy.md names --verbose and the grouped output', () => {
    const doc = fs.readFileSync(path.join(PROJECT_ROOT, 'docs/policy.md'), 'utf8');
    expect(doc).toContain('| `--verbose`, `-v` |');
    expect(doc).toContain('warnings by rule');
  });
});
