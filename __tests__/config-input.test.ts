/**
 * Config input found by trying as a user would: every bad input is one line that names the file, the
 * field and what is allowed, and nothing the later tools (Linux, the API server, kubectl) would refuse
 * gets through synth.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';
import { runSynth } from '../synth/cli';
import { limitProblems, MAX_ARG_STRLEN, MAX_APPLIED_OBJECT_BYTES } from '../synth/limits';
import { ConfigError, loadConfig } from '../model/load';
import { configReferenceMarkdown } from '../config/reference';
import { DEFAULT_CONFIG } from '../config/default';
import { cronProblem, imageProblem, imageTag } from '../config/schema/primitives';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mlflow-gke-input-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function problemsOf(content: string | Buffer, name = 'input.yaml'): string[] {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, content);
  try {
    loadConfig(file, name);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error(`${name} was accepted`);
}

const defaultYaml = (change: (c: any) => void = () => undefined) => {
  const c: any = structuredClone(DEFAULT_CONFIG);
  change(c);
  return YAML.stringify(c);
};

describe('cron schedules are checked field by field, as the CronJob controller parses them', () => {
  test.each([
    ['61 3 * * *', 'minute field "61" is out of range: allowed 0-59'],
    ['0 24 * * *', 'hour field "24" is out of range: allowed 0-23'],
    ['0 2 0 * *', 'day of month field "0" is out of range: allowed 1-31'],
    ['0 2 * 13 *', 'month field "13" is out of range: allowed 1-12'],
    ['0 2 * * 7', 'day of week field "7" is out of range: allowed 0-6'],
    ['0 2 * * 5-1', 'day of week field "5-1" has a range that runs backwards (5-1)'],
    ['*/0 * * * *', 'minute field "*/0" has a bad step'],
    ['0 2 * * MONDAY', 'day of week field "MONDAY" is not understood'],
    ['0 2 * *', 'must be a five-field cron schedule'],
    ['@daily', 'must be a five-field cron schedule'],
  ])('%s is refused: %s', (schedule, message) => {
    expect(cronProblem(schedule)).toContain(message);
  });

  test.each(['0 2 * * *', '30 3 * * 0', '*/15 * * * *', '0 0-23/6 * * MON-FRI', '0 2 1,15 JAN,jul ?', '5/10 * * * *', '59 23 31 12 6'])(
    '%s is accepted',
    (schedule) => {
      expect(cronProblem(schedule)).toBeUndefined();
    },
  );

  test('the message names the file and the field', () => {
    expect(
      problemsOf(
        defaultYaml((c) => (c.mlflow = { ...c.mlflow, gcSchedule: '61 3 * * *' })),
        'gc.yaml',
      ),
    ).toEqual(['gc.yaml: mlflow.gcSchedule: "61 3 * * *" is not allowed: must be a valid cron schedule: minute field "61" is out of range: allowed 0-59']);
  });
});

describe('image references', () => {
  const digest = `@sha256:${'a'.repeat(64)}`;
  test.each([
    [`postgres${digest}`, ''],
    [`postgres:16.4${digest}`, '16.4'],
    [`quay.io/jupyter/scipy-notebook${digest}`, ''],
    ['quay.io/jupyter/pytorch-notebook:cuda12-2025-10-06', 'cuda12-2025-10-06'],
    ['quay.io/jupyter/scipy-notebook:x86_64-2025-10-06', 'x86_64-2025-10-06'],
  ])('%s is pinned (a digest with or without a tag, a docker-stacks date tag)', (ref, tag) => {
    expect(imageProblem(ref)).toBeUndefined();
    expect(imageTag(ref)).toBe(tag);
  });

  test.each([
    ['quay.io/jupyter/pytorch-notebook:cuda12-python-3.12', 'docker-stacks re-pushes "cuda12-python-3.12" with every build'],
    ['quay.io/jupyter/scipy-notebook:python-3.12', 'must be pinned by a date tag'],
    ['jupyter/scipy-notebook:lab-4.2.5', 'must be pinned by a date tag'],
    ['postgres', 'must be pinned by a version tag such as ":v3.17.0-full" or a digest'],
    ['ghcr.io/mlflow/mlflow:latest-full', 'not "latest-full"'],
    ['postgres@sha256:abc', 'must be an image reference'],
  ])('%s is refused: %s', (ref, message) => {
    expect(imageProblem(ref)).toContain(message);
  });
});

describe('YAML input', () => {
  test('duplicate keys name the key and where it is', () => {
    expect(problemsOf('project:\n  id: a\n  id: b\n', 'dup.yaml')).toEqual([
      'dup.yaml:3:3: invalid YAML: the key "id" appears twice in the same mapping; keep one',
    ]);
  });

  test('merge keys (<<) work: a block shared through an anchor, explicit keys winning', () => {
    const text = `${defaultYaml()}workspaces:
  jupyter:
    resources: &small
      requests: { cpu: 250m, memory: 512Mi }
      limits: { cpu: "1", memory: 1Gi }
  vscode:
    resources:
      <<: *small
      limits: { cpu: "2", memory: 2Gi }
`;
    const file = path.join(tmp, 'merge.yaml');
    fs.writeFileSync(file, text);
    const { jupyter, vscode } = loadConfig(file).workspaces;
    expect(vscode.resources.requests).toEqual(jupyter.resources.requests);
    expect(vscode.resources.limits).toEqual({ cpu: '2', memory: '2Gi' });
  });

  test('an alias expansion attack (billion laughs) is one line naming the file', () => {
    const laughs = ['a: &a [x,x,x,x,x,x,x,x,x]', ...'bcdefg'.split('').map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcdefg'[i]}`).join(',')}]`)].join(
      '\n',
    );
    const problems = problemsOf(`${laughs}\n`, 'laughs.yaml');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^laughs\.yaml: invalid YAML: its aliases expand too far .*; at most 100 alias uses are allowed$/);
  });

  test('UTF-16 and binary files are refused with what to do', () => {
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('project: {}\n', 'utf16le')]);
    expect(problemsOf(utf16, 'utf16.yaml')).toEqual(['utf16.yaml: is UTF-16 text; save it as UTF-8']);
    expect(problemsOf(Buffer.from('project: {}\n', 'utf16le'), 'utf16-nobom.yaml')).toEqual([
      'utf16-nobom.yaml:1: holds a NUL byte: not a text file (UTF-16 without a byte-order mark, or binary); save it as UTF-8',
    ]);
    expect(problemsOf(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0xc3, 0x28]), 'image.png')).toEqual([
      'image.png: is not UTF-8 text (a binary file?); give a YAML config such as config/dev.yaml',
    ]);
  });

  test('a UTF-8 byte-order mark is accepted', () => {
    const file = path.join(tmp, 'bom.yaml');
    fs.writeFileSync(file, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(defaultYaml())]));
    expect(loadConfig(file).project.id).toBe(DEFAULT_CONFIG.project.id);
  });
});

describe('one validation channel', () => {
  test('rules that span sections report together with plain field errors, each naming the file', () => {
    const text = defaultYaml((c) => {
      c.project.zones = ['europe-west1-b'];
      c.database = { mode: 'statefulset', statefulset: { regionalDisk: true, image: 'postgres:18.1' } };
      c.edge = { ...c.edge, hosts: { jupyter: 'mlflow.ml.example.com' } };
      c.monitoring = { notificationEmail: 'not-an-email' };
    });
    const problems = problemsOf(text, 'many.yaml');
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^many\.yaml: database\.statefulset\.image: "postgres:18\.1" is not allowed: must be PostgreSQL 16 or 17/),
        expect.stringMatching(/^many\.yaml: monitoring\.notificationEmail: "not-an-email" is not allowed/),
      ]),
    );
    // Cross-section rules run once every field parses: fix the field errors and they appear, all at once.
    const fixed = problemsOf(text.replace('postgres:18.1', 'postgres:16.13-bookworm').replace('not-an-email', 'alerts@example.com'), 'many.yaml');
    // The schema's own rules first, then those that need derived values (model/rules.ts).
    expect(fixed).toEqual([
      expect.stringMatching(/^many\.yaml: database\.statefulset\.regionalDisk: true is not allowed: needs at least two zones/),
      expect.stringMatching(/^many\.yaml: edge\.hosts\.jupyter: "mlflow\.ml\.example\.com" is not allowed: gives jupyter the host name/),
    ]);
  });

  test('a rule about a default value shows the default it saw', () => {
    const text = defaultYaml((c) => (c.database = { mode: 'cloudsql', cloudsql: { edition: 'ENTERPRISE_PLUS' } }));
    expect(problemsOf(text, 'plus.yaml')).toEqual([
      'plus.yaml: database.cloudsql.tier: "db-custom-2-7680" is not allowed: must be a db-perf-optimized-N-* tier while database.cloudsql.edition is ENTERPRISE_PLUS',
    ]);
  });
});

describe('removed settings', () => {
  test('are explained where they are set, and are not rows of the configuration reference', () => {
    expect(configReferenceMarkdown()).not.toContain('`database.cloudsql.diskSizeGb`');
    expect(configReferenceMarkdown()).toContain('`database.cloudsql.diskAutoresizeLimitGb`');
    const text = defaultYaml((c) => (c.database = { cloudsql: { diskSizeGb: 50 } }));
    expect(problemsOf(text, 'old.yaml')).toEqual([expect.stringMatching(/^old\.yaml: database\.cloudsql\.diskSizeGb: 50 is no longer a setting: /)]);
  });
});

describe('workspace users', () => {
  test('two users with one email (in any case) are refused', () => {
    const text = defaultYaml(
      (c) =>
        (c.workspaces = {
          ...c.workspaces,
          users: [
            { name: 'ana', email: 'ana@example.com' },
            { name: 'ana2', email: 'Ana@Example.com' },
          ],
        }),
    );
    expect(problemsOf(text, 'users.yaml')).toEqual([
      'users.yaml: workspaces.users[1].email: "Ana@Example.com" is not allowed: must be unique; users[0] has the same email (emails ignore case)',
    ]);
  });
});

describe('limits that Linux and kubectl enforce later are checked at synth', () => {
  const deployment = (args: string[], env: { name: string; value: string }[] = []) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'mlflow', namespace: 'mlflow' },
    spec: { template: { spec: { containers: [{ name: 'mlflow', args, env }] } } },
  });

  test('one argument or environment string over 128 KiB (MAX_ARG_STRLEN) is refused, naming the flag', () => {
    const long = 'h'.repeat(MAX_ARG_STRLEN);
    expect(limitProblems('0002-mlflow.yaml', [deployment(['--allowed-hosts', long])])).toEqual([
      '0002-mlflow.yaml: Deployment mlflow/mlflow, container mlflow: argument --allowed-hosts value is 128.0 KiB; Linux limits one argument or environment string to 128 KiB (MAX_ARG_STRLEN): list fewer items in the config fields it is built from',
    ]);
    expect(limitProblems('f', [deployment([], [{ name: 'X', value: long }])])[0]).toMatch(/environment variable X is 128\.0 KiB/);
    expect(limitProblems('f', [deployment(['--allowed-hosts', long.slice(0, MAX_ARG_STRLEN - 1)])])).toEqual([]);
  });

  test('an object over the 256 KiB that kubectl apply keeps in an annotation is refused', () => {
    const big = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'n' }, data: { a: 'x'.repeat(MAX_APPLIED_OBJECT_BYTES) } };
    expect(limitProblems('f', [big])).toEqual([
      expect.stringMatching(/^f: ConfigMap n\/x is 256\.1 KiB as JSON; kubectl apply stores each object in an annotation limited to 256 KiB/),
    ]);
  });

  test('50,000 extra allowed hosts stop synth with the limit, naming the config file', () => {
    const file = path.join(tmp, 'hosts.yaml');
    fs.writeFileSync(
      file,
      defaultYaml((c) => (c.mlflow = { ...c.mlflow, extraAllowedHosts: Array.from({ length: 50000 }, (_, i) => `host-${i}.example.com`) })),
    );
    const errors: string[] = [];
    jest.spyOn(console, 'error').mockImplementation((line) => void errors.push(String(line)));
    try {
      expect(runSynth(['--config', 'hosts.yaml', '--out', 'out'], { INIT_CWD: tmp })).toBe(1);
    } finally {
      jest.restoreAllMocks();
    }
    expect(errors).toContainEqual(
      expect.stringMatching(
        /^hosts\.yaml: \d{4}-mlflow\.yaml: Deployment mlflow\/mlflow, container mlflow: argument --allowed-hosts value is \d+\.\d KiB; Linux limits one argument/,
      ),
    );
    expect(errors[errors.length - 1]).toMatch(/^synth failed: \d problem\(s\); out\/ left unchanged$/);
    expect(fs.existsSync(path.join(tmp, 'out'))).toBe(false);
  });

  test('a chart that refuses a config (2,000 users) names the config file', () => {
    const file = path.join(tmp, 'many.yaml');
    fs.writeFileSync(
      file,
      defaultYaml((c) => (c.workspaces = { ...c.workspaces, users: Array.from({ length: 2000 }, (_, i) => ({ name: `u${i}`, email: `u${i}@example.com` })) })),
    );
    const errors: string[] = [];
    jest.spyOn(console, 'error').mockImplementation((line) => void errors.push(String(line)));
    try {
      expect(runSynth(['--config', 'many.yaml', '--out', 'out'], { INIT_CWD: tmp })).toBe(1);
    } finally {
      jest.restoreAllMocks();
    }
    expect(errors[0]).toMatch(/^many\.yaml: workspaces\.users: /);
  });
});
