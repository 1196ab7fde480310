/**
 * The MLflow pods' Python programs are the files under charts/mlflow/ (composed by
 * charts/mlflow/programs.ts), and nothing else: the rendered pods run exactly those texts, the Python
 * unit tests (__tests__/python, run by `npm test`) run the same texts, and no chart's TypeScript
 * holds program text of its own.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { MLFLOW_PROGRAMS, mlflowProgram, PROGRAM_MARKER, programPart } from '../charts/mlflow/programs';
import { chartObjects, configWith, find, Manifest, PROJECT_ROOT, render } from './support/render';

const podSpec = (o: Manifest): Manifest => (o.kind === 'CronJob' ? o.spec.jobTemplate.spec.template.spec : o.spec.template.spec);
const container = (o: Manifest, name: string): Manifest =>
  [...(podSpec(o).initContainers ?? []), ...podSpec(o).containers].find((c: Manifest) => c.name === name);

describe('the rendered pods run the program files', () => {
  test.each(['cloudsql', 'statefulset'] as const)('%s mode: server init container, migration Job, gc CronJob, verification Job, provisioning Job', (mode) => {
    const { files, objects } = render(configWith({ database: { mode } }));
    const migration = objects.find((o) => o.kind === 'Job' && o.metadata.labels?.['app.kubernetes.io/component'] === 'migrate');
    const commands = {
      wait_for_schema: container(find(objects, 'Deployment', 'mlflow'), 'wait-for-schema').command,
      migrate: container(migration!, 'migrate').command,
      // The backup gate's plan: an init container of the migration in statefulset mode only (cloudsql's gate is the migration's own).
      backup_plan: mode === 'statefulset' ? container(migration!, 'backup-plan').command : ['python', '-c', mlflowProgram('backup_plan')],
      gc: container(find(objects, 'CronJob', 'mlflow-gc'), 'gc').command,
      verify: container(
        chartObjects(files, 'tests/mlflow-verify').find((o) => o.kind === 'Job')!,
        'verify',
      ).command,
      // serve.py runs first and then becomes `mlflow server` with the server's arguments (exec).
      serve: container(find(objects, 'Deployment', 'mlflow'), 'mlflow').command.slice(0, 3),
      provision: container(
        objects.find((o) => o.kind === 'Job' && o.metadata.labels?.['app.kubernetes.io/component'] === 'auth-provision')!,
        'provision',
      ).command,
    };
    for (const name of MLFLOW_PROGRAMS) expect(commands[name]).toEqual(['python', '-c', mlflowProgram(name)]);
    if (mode === 'cloudsql') expect(container(migration!, 'backup-plan')).toBeUndefined();
    expect(container(find(objects, 'Deployment', 'mlflow'), 'mlflow').command.slice(3)).toEqual(['mlflow', 'server']);
  });

  test('a program that imports from shared runs shared.py first; the headers stay out of the pods', () => {
    const shared = programPart('charts/mlflow/shared.py');
    for (const name of ['wait_for_schema', 'backup_plan', 'migrate', 'gc'] as const) {
      expect(mlflowProgram(name)).toBe(`${shared}\n${programPart(`charts/mlflow/${name}.py`)}`);
      expect(mlflowProgram(name)).not.toContain('from shared import');
      expect(mlflowProgram(name)).not.toContain(PROGRAM_MARKER);
    }
    expect(mlflowProgram('verify')).toBe(programPart('charts/mlflow/verify.py'));
    expect(mlflowProgram('verify')).not.toContain('def schema_state');
  });

  test('a file without the marker line is refused with its name', () => {
    expect(() => programPart('charts/mlflow/programs.ts')).toThrow(`charts/mlflow/programs.ts: no line "${PROGRAM_MARKER}"`);
  });
});

test('the Python unit tests compose the programs exactly as synth does (__tests__/python/pod.py)', () => {
  const script = 'import json, sys; sys.path.insert(0, "__tests__/python"); import pod; print(json.dumps({n: pod.program(n) for n in sys.argv[1:]}))';
  const r = spawnSync('python3', ['-c', script, ...MLFLOW_PROGRAMS], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
  });
  if (r.error) throw new Error(`python3 did not run (${r.error.message}): it is part of the project's machine (.ci/run installs it when missing)`);
  expect(r.stderr).toBe('');
  const composed = JSON.parse(r.stdout);
  for (const name of MLFLOW_PROGRAMS) expect(composed[name]).toBe(mlflowProgram(name));
});

describe('no program text inside TypeScript', () => {
  // Telltale lines of Python (a statement at the start of a line, as in a program) and of shell
  // scripts; a TypeScript line never starts like these.
  const TELLTALES: [string, RegExp][] = [
    ['Python import', /^\s*(import [a-z_][\w.]*(, [a-z_][\w.]*)*|from [a-z_][\w.]* import \w[\w, ]*)\s*$/m],
    ['Python def', /^\s*def [a-z_]\w*\(.*\):\s*$/m],
    ['Python control line', /^\s*(while True|try|except( \w+( as \w+)?)?|if __name__ == "__main__"):\s*$/m],
    ['Python call of sys.exit or print', /\b(sys\.exit|print)\([^)]*\)\s*$/m],
    ['a shell shebang or set -e', /^#!\/(usr\/)?bin\/(env )?(ba)?sh\b|^\s*set -e/m],
  ];

  function tsFiles(dir: string): string[] {
    return fs.readdirSync(path.join(PROJECT_ROOT, dir), { withFileTypes: true }).flatMap((e) => {
      const rel = path.join(dir, e.name);
      if (e.isDirectory()) return tsFiles(rel);
      return e.name.endsWith('.ts') ? [rel] : [];
    });
  }

  /** The text inside template and string literals, roughly: enough to find embedded programs. */
  function literals(source: string): string[] {
    const found: string[] = [];
    for (const m of source.matchAll(/`((?:[^`\\]|\\.)*)`/gs)) found.push(m[1].replace(/\\n/g, '\n'));
    // Arrays of quoted lines joined into a script: ['line', 'line'].join('\n').
    // Each element is a quoted string and its comma, whitespace only between them: no two ways to match
    // the same text, so a long multi-line array cannot make the search backtrack exponentially.
    for (const m of source.matchAll(/\[\s*((?:'(?:[^'\\]|\\.)*'\s*,\s*)*'(?:[^'\\]|\\.)*'\s*,?\s*)\]\s*\.join\('\\n'\)/gs))
      found.push([...m[1].matchAll(/'((?:[^'\\]|\\.)*)'/g)].map((q) => q[1].replace(/\\'/g, "'")).join('\n'));
    return found;
  }

  function findings(file: string, source: string): string[] {
    return literals(source).flatMap((text) =>
      TELLTALES.filter(([, re]) => re.test(text)).map(([what]) => `${file}: ${what} in a string: ${text.trim().split('\n')[0]}`),
    );
  }

  test('no chart source holds Python or shell program text', () => {
    const files = tsFiles('charts');
    expect(files).toEqual(expect.arrayContaining(['charts/mlflow.ts', 'charts/mlflow/programs.ts', 'charts/mlflow-verify.ts']));
    expect(files.flatMap((f) => findings(f, fs.readFileSync(path.join(PROJECT_ROOT, f), 'utf8')))).toEqual([]);
  });

  test('the check finds a program in a template string (the check is live)', () => {
    const bad = 'const SCRIPT = `import os, sys\n\ndef main():\n    sys.exit(0)\n`;';
    expect(findings('bad.ts', bad)).toEqual([
      'bad.ts: Python import in a string: import os, sys',
      'bad.ts: Python def in a string: import os, sys',
      'bad.ts: Python call of sys.exit or print in a string: import os, sys',
    ]);
    const shell = "const S = [\n  '#!/usr/bin/env bash',\n  'set -euo pipefail',\n].join('\\n');";
    expect(findings('bad.ts', shell)).toEqual(['bad.ts: a shell shebang or set -e in a string: #!/usr/bin/env bash']);
  });
});
