/**
 * One home per concept: what config and charts share lives in common/ (no cdk8s there), config/ never
 * imports charts/, and the values two charts must agree on are written once.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';
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

/** Every project file a source file imports, type-only imports and re-exports included. */
function projectImports(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(fs.readFileSync(path.join(PROJECT_ROOT, file), 'utf8'), true, false);
  return importedFiles
    .map((i) => i.fileName)
    .filter((spec) => spec.startsWith('.'))
    .map((spec) => {
      const target = path.relative(PROJECT_ROOT, path.resolve(path.dirname(path.join(PROJECT_ROOT, file)), spec));
      return [`${target}.ts`, `${target}/index.ts`].find((candidate) => fs.existsSync(path.join(PROJECT_ROOT, candidate)));
    })
    .filter((f): f is string => f !== undefined);
}

/** Strongly connected components of more than one file (Tarjan): each is an import cycle. */
function importCycles(files: readonly string[]): string[][] {
  const graph = new Map<string, string[]>();
  const edges = (f: string): string[] => {
    if (!graph.has(f)) graph.set(f, projectImports(f));
    return graph.get(f)!;
  };
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of edges(v)) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || edges(v).includes(v)) cycles.push(component.sort());
    }
  };
  for (const f of files) if (!index.has(f)) visit(f);
  return cycles;
}

const PIPELINE = ['common', 'config', 'model', 'charts', 'synth'] as const;
const productSources = () => ['main.ts', ...PIPELINE.flatMap(sources), ...['policy', 'local', 'scripts', 'bench'].flatMap(sources)];

describe('the pipeline: common -> config -> model -> charts -> synth', () => {
  test('no two files import each other, directly or through others (type-only imports count)', () => {
    expect(importCycles(productSources())).toEqual([]);
  });

  test('the cycle check finds a cycle: a file importing itself through another', () => {
    const dir = fs.mkdtempSync(path.join(PROJECT_ROOT, 'node_modules', '.cycle-'));
    try {
      const rel = path.relative(PROJECT_ROOT, dir);
      fs.writeFileSync(path.join(dir, 'a.ts'), "import type { B } from './b';\nexport type A = B;\n");
      fs.writeFileSync(path.join(dir, 'b.ts'), "export { type A as B } from './a';\n");
      expect(importCycles([`${rel}/a.ts`, `${rel}/b.ts`])).toEqual([[`${rel}/a.ts`, `${rel}/b.ts`]]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('each stage imports only the stages before it', () => {
    const stageOf = (f: string) => PIPELINE.findIndex((stage) => f.startsWith(`${stage}/`));
    const offending = PIPELINE.flatMap(sources).flatMap((f) =>
      projectImports(f)
        .filter((i) => stageOf(i) > stageOf(f))
        .map((i) => `${f} -> ${i}`),
    );
    expect(offending).toEqual([]);
  });

  test("no chart calls another chart's props function: charts read the model", () => {
    const offending = sources('charts').flatMap((f) =>
      [...fs.readFileSync(path.join(PROJECT_ROOT, f), 'utf8').matchAll(/\b([a-z][A-Za-z]*ChartProps)\(/g)]
        .map(([, fn]) => fn)
        .filter((fn) => !new RegExp(`export function ${fn}\\(`).test(fs.readFileSync(path.join(PROJECT_ROOT, f), 'utf8')))
        .filter(() => f !== 'charts/app.ts')
        .map((fn) => `${f}: ${fn}`),
    );
    expect(offending).toEqual([]);
  });
});

describe('one model, computed once', () => {
  test('names, edge sites, IAP grants and the client version are derived in model/ only: the rest reads the model', () => {
    const derivations = /\b(platformNames|edgeSites|iapGrants|derivedMlflowClientVersion|workspaceInstances|mlflowAuthNames|clusterRanges)\(/;
    const offending = ['charts', 'synth', 'local', 'policy']
      .flatMap(sources)
      .filter((f) => derivations.test(fs.readFileSync(path.join(PROJECT_ROOT, f), 'utf8')));
    expect(offending).toEqual([]);
  });

  test('configs are read through model/load.ts, so no caller skips the rules that need the model', () => {
    const offending = [...productSources(), ...sources('__tests__')]
      .filter((f) => !f.startsWith('config/') && !f.startsWith('model/'))
      .filter((f) => projectImports(f).includes('config/load.ts'));
    expect(offending).toEqual([]);
  });
});

describe('Kubernetes types', () => {
  test('one type set: every Kubernetes object and type comes from imports/k8s-1.31, none from cdk8s-plus-27 (docs/design.md)', () => {
    const offending = productSources().filter((f) => /from 'cdk8s-plus-\d+'/.test(fs.readFileSync(path.join(PROJECT_ROOT, f), 'utf8')));
    expect(offending).toEqual([]);
  });

  test('every generated import is used by a chart', () => {
    const imported = new Set(sources('charts').flatMap(projectImports));
    const unused = fs
      .readdirSync(path.join(PROJECT_ROOT, 'imports'))
      .map((f) => `imports/${f}`)
      .filter((f) => !imported.has(f));
    expect(unused).toEqual([]);
  });
});

describe('constructs small enough to read', () => {
  /** Line counts of every constructor in a file. */
  function constructorLengths(file: string): { name: string; lines: number }[] {
    const source = ts.createSourceFile(file, fs.readFileSync(path.join(PROJECT_ROOT, file), 'utf8'), ts.ScriptTarget.Latest, true);
    const found: { name: string; lines: number }[] = [];
    const visit = (node: ts.Node): void => {
      if (ts.isConstructorDeclaration(node) && node.body) {
        const start = source.getLineAndCharacterOfPosition(node.getStart()).line;
        const end = source.getLineAndCharacterOfPosition(node.end).line;
        found.push({ name: `${file} ${(node.parent as ts.ClassDeclaration).name?.text}`, lines: end - start + 1 });
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
    return found;
  }

  test('every construct of the MLflow chart has a constructor under 150 lines', () => {
    const constructs = ['charts/mlflow.ts', ...sources('charts/mlflow')].flatMap(constructorLengths);
    expect(constructs.length).toBeGreaterThanOrEqual(8);
    expect(constructs.filter((c) => c.lines >= 150)).toEqual([]);
  });
});
