/**
 * One home per concept: what config and charts share lives in common/ (no cdk8s there), config/ never
 * imports charts/, and the values two charts must agree on are written once.
 */
import * as fs from 'fs';
import * as path from 'path';
import { PROJECT_ROOT } from './support/render';

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(PROJECT_ROOT, dir), { withFileTypes: true })) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) out.push(...sources(rel));
    else if (rel.endsWith('.ts')) out.push(rel);
  }
  return out;
}

/** Module specifiers a file imports, resolved against the project root when relative. */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(path.join(PROJECT_ROOT, file), 'utf8');
  return [...text.matchAll(/^import\s[^;]*?from\s+'([^']+)'/gms)].map(([, spec]) =>
    spec.startsWith('.') ? path.relative(PROJECT_ROOT, path.resolve(path.dirname(path.join(PROJECT_ROOT, file)), spec)) : spec,
  );
}

describe('one validation channel', () => {
  test('no chart throws an error about a config field: those are schema rules, reported with the others', () => {
    const sections = ['project', 'namespaces', 'network', 'edge', 'database', 'mlflow', 'workspaces', 'cluster', 'kms', 'storage', 'monitoring'];
    const thrown = new RegExp(`throw new Error\\(\\s*\`(${sections.join('|')})\\.`);
    const offending = sources('charts').filter((f) => thrown.test(fs.readFileSync(path.join(PROJECT_ROOT, f), 'utf8')));
    expect(offending).toEqual([]);
  });
});

describe('tests', () => {
  test('build charts with support/app.ts, not Testing.app() or Testing.chart(), which leave a folder in the temp directory per call', () => {
    const offending = sources('__tests__').filter(
      (f) =>
        !['__tests__/architecture.test.ts', '__tests__/support/app.ts'].includes(f) &&
        /Testing\.(app|chart)\(/.test(fs.readFileSync(path.join(PROJECT_ROOT, f), 'utf8')),
    );
    expect(offending).toEqual([]);
  });
});

describe('module boundaries', () => {
  test('config/ imports neither charts/ nor generated imports/', () => {
    const offending = sources('config').flatMap((f) =>
      importsOf(f)
        .filter((i) => /^(charts|imports)\//.test(i))
        .map((i) => `${f} -> ${i}`),
    );
    expect(offending).toEqual([]);
  });

  test('common/ depends on no cdk8s package, chart or generated import', () => {
    const offending = sources('common').flatMap((f) =>
      importsOf(f)
        .filter((i) => /^(cdk8s|cdk8s-plus-\d+|constructs)$/.test(i) || /^(charts|imports)\//.test(i))
        .map((i) => `${f} -> ${i}`),
    );
    expect(offending).toEqual([]);
  });

  test('the values charts must agree on are written once, in common/contract.ts', () => {
    const literals = [/'kustomize\.toolkit\.fluxcd\.io\/prune'/, /'mlflow-password'/, /'postgres-password'/, /\b3307\b/];
    const offending = sources('charts').flatMap((f) => {
      const text = fs.readFileSync(path.join(PROJECT_ROOT, f), 'utf8');
      return literals.filter((l) => l.test(text)).map((l) => `${f}: ${l.source}`);
    });
    expect(offending).toEqual([]);
  });
});
