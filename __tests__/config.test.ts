import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';
import { ConfigError, loadConfig, parseConfig } from '../model/load';
import { DEFAULT_CONFIG } from '../config/default';
import { configJsonSchemaText, withReference } from '../config/reference';
import { imageProblem, imageTag } from '../config/schema/primitives';
import { CONFIG_DIR, EXAMPLE_CONFIGS } from './support/render';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mlflow-gke-config-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Writes `data` (an object, or raw text) to a YAML file and returns the problems of loading it. */
function problemsOf(data: unknown, name = 'bad.yaml'): string[] {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, typeof data === 'string' ? data : YAML.stringify(data));
  try {
    loadConfig(file);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error(`${name} was accepted`);
}

/** The embedded default with one change, as a file. */
function withChange(change: (c: any) => void): unknown {
  const c: any = structuredClone(DEFAULT_CONFIG);
  change(c);
  return c;
}

describe('config loading', () => {
  test('the embedded default loads with every default applied', () => {
    const config = loadConfig();
    expect(config.project.id).toBe('mlflow-gke-example');
    expect(config.database.mode).toBe('cloudsql');
    expect(config.mlflow.image).toMatch(/-full$/);
    expect(config.namespaces.platform).toBe('mlflow');
  });

  test.each(['dev.yaml', 'prod.yaml'])('the example %s loads', (file) => {
    expect(() => loadConfig(path.join(CONFIG_DIR, file))).not.toThrow();
  });

  test('dev runs the in-cluster database and prod runs Cloud SQL with HA', () => {
    const dev = loadConfig(path.join(CONFIG_DIR, 'dev.yaml'));
    const prod = loadConfig(path.join(CONFIG_DIR, 'prod.yaml'));
    expect(dev.database.mode).toBe('statefulset');
    expect(dev.mlflow.replicas).toBe(1);
    expect(prod.database.mode).toBe('cloudsql');
    expect(prod.database.cloudsql.availability).toBe('REGIONAL');
    expect(prod.mlflow.replicas).toBeGreaterThanOrEqual(2);
  });

  test('the example files point editors at the generated JSON Schema', () => {
    for (const file of EXAMPLE_CONFIGS) {
      const text = fs.readFileSync(path.join(CONFIG_DIR, file), 'utf8');
      expect(text).toContain('$schema: ./config.schema.json');
    }
  });

  test('the example configs under test are exactly the YAML files the repository tracks in config/', () => {
    const tracked = execFileSync('git', ['ls-files', 'config'], { cwd: path.dirname(CONFIG_DIR), encoding: 'utf8' })
      .split('\n')
      .filter((f) => /\.ya?ml$/.test(f))
      .map((f) => path.basename(f));
    expect([...EXAMPLE_CONFIGS].sort()).toEqual(tracked.sort());
  });

  test('config/config.schema.json is up to date with the schema (run npm run config-docs)', () => {
    expect(fs.readFileSync(path.join(CONFIG_DIR, 'config.schema.json'), 'utf8')).toBe(configJsonSchemaText());
  });

  test('a project number written as a YAML number becomes a string', () => {
    const config = parseConfig(
      withChange((c) => (c.project.number = 123456789012)),
      'x',
    );
    expect(config.project.number).toBe('123456789012');
  });
});

describe('bad config input stops with one precise line per problem', () => {
  const cases: [string, unknown, RegExp][] = [
    ['a misspelled top-level field', withChange((c) => (c.mlflw = {})), /bad\.yaml: mlflw: unknown field \(did you mean "mlflow"\?\); allowed here: .*mlflow/],
    ['a misspelled nested field', withChange((c) => (c.mlflow = { replcas: 2 })), /bad\.yaml: mlflow\.replcas: unknown field \(did you mean "replicas"\?\)/],
    [
      'a string where a number belongs',
      withChange((c) => (c.mlflow = { replicas: 'two' })),
      /bad\.yaml: mlflow\.replicas: "two" is not allowed: must be a positive whole number/,
    ],
    [
      'a boolean given as a string',
      withChange((c) => (c.edge.enabled = 'yes')),
      /bad\.yaml: edge\.enabled: "yes" is not allowed: must be true or false, not a string/,
    ],
    ['a list where a mapping belongs', withChange((c) => (c.mlflow = [1])), /bad\.yaml: mlflow: \[1\] is not allowed: must be a mapping, not a list/],
    [
      'a malformed project id',
      withChange((c) => (c.project.id = 'My_Project')),
      /bad\.yaml: project\.id: "My_Project" is not allowed: must be a GCP project id/,
    ],
    ['a too short project id', withChange((c) => (c.project.id = 'abc')), /project\.id: "abc" is not allowed: must be a GCP project id: 6-30/],
    [
      'a project number with letters',
      withChange((c) => (c.project.number = '12ab56789012')),
      /project\.number: "12ab56789012" is not allowed: must be a GCP project number/,
    ],
    ['a missing project', withChange((c) => delete c.project), /bad\.yaml: project: \(missing\) is required \(a mapping\)/],
    ['a missing project id', withChange((c) => delete c.project.id), /bad\.yaml: project\.id: \(missing\) is required \(a string\)/],
    [
      'a missing project number',
      withChange((c) => delete c.project.number),
      /bad\.yaml: project\.number: \(missing\) is required \(a GCP project number: 6-19 digits/,
    ],
    [
      'a project number of the wrong type',
      withChange((c) => (c.project.number = true)),
      /bad\.yaml: project\.number: true is not allowed: must be a GCP project number/,
    ],
    [
      'a malformed region',
      withChange((c) => (c.project.region = 'Europe West')),
      /project\.region: "Europe West" is not allowed: must be a GCP region such as "europe-west1"/,
    ],
    ['a malformed zone', withChange((c) => (c.project.zones = ['europe-west1'])), /project\.zones\[0\]: "europe-west1" is not allowed: must be a GCP zone/],
    [
      'a zone of another region',
      withChange((c) => (c.project.zones = ['us-central1-a'])),
      /project\.zones\[0\]: "us-central1-a" is not allowed: must be a zone of region "europe-west1"/,
    ],
    ['no zones', withChange((c) => (c.project.zones = [])), /project\.zones: \[\] is not allowed: must list at least one zone/],
    [
      'a CIDR with host bits',
      withChange((c) => (c.network = { subnetCidr: '10.10.0.1/20' })),
      /network\.subnetCidr: "10\.10\.0\.1\/20" is not allowed: .*did you mean "10\.10\.0\.0\/20"\?/,
    ],
    [
      'a CIDR with an octet over 255',
      withChange((c) => (c.network.authorizedNetworks = [{ name: 'x', cidr: '300.1.1.0/24' }])),
      /network\.authorizedNetworks\[0\]\.cidr: "300\.1\.1\.0\/24" is not allowed: must be an IPv4 CIDR/,
    ],
    [
      'a control-plane range that is not /28',
      withChange((c) => (c.network = { masterCidr: '172.16.0.0/24' })),
      /network\.masterCidr: "172\.16\.0\.0\/24" is not allowed: must be a \/28 range/,
    ],
    [
      'a DNS name with upper case',
      withChange((c) => (c.edge.domain = 'ML.Example.com')),
      /edge\.domain: "ML\.Example\.com" is not allowed: must be a lower-case DNS name/,
    ],
    [
      'a single-label host name',
      withChange((c) => (c.edge.hosts = { mlflow: 'mlflow' })),
      /edge\.hosts\.mlflow: "mlflow" is not allowed: must be a lower-case DNS name/,
    ],
    [
      'a malformed email',
      withChange((c) => (c.monitoring.notificationEmail = 'alerts-at-example.com')),
      /monitoring\.notificationEmail: "alerts-at-example\.com" is not allowed: must be an email address/,
    ],
    [
      'an IAM member without a type',
      withChange((c) => (c.edge.iapMembers = ['ana@example.com'])),
      /edge\.iapMembers\[0\]: "ana@example\.com" is not allowed: must be an IAM member such as "user:/,
    ],
    [
      'an untagged image',
      withChange((c) => (c.mlflow = { image: 'ghcr.io/mlflow/mlflow' })),
      /mlflow\.image: "ghcr\.io\/mlflow\/mlflow" is not allowed: must be pinned by a version tag/,
    ],
    [
      'an image tagged latest',
      withChange((c) => (c.mlflow = { image: 'ghcr.io/mlflow/mlflow:latest-full' })),
      /mlflow\.image: "ghcr\.io\/mlflow\/mlflow:latest-full" is not allowed: must be pinned by a version tag or a digest, not "latest-full"/,
    ],
    [
      'a malformed image reference',
      withChange((c) => (c.mlflow = { image: 'ghcr.io/MLflow/mlflow:v3 beta' })),
      /mlflow\.image: .* is not allowed: must be an image reference/,
    ],
    [
      'a malformed duration',
      withChange((c) => (c.mlflow = { gcOlderThan: '30 days' })),
      /mlflow\.gcOlderThan: "30 days" is not allowed: must be a positive duration such as "90s"/,
    ],
    ['a zero duration', withChange((c) => (c.mlflow = { gcOlderThan: '0d' })), /mlflow\.gcOlderThan: "0d" is not allowed: must be a positive duration/],
    ['a negative replica count', withChange((c) => (c.mlflow = { replicas: -1 })), /mlflow\.replicas: -1 is not allowed: must be a positive whole number/],
    [
      'a zero storage size',
      withChange((c) => (c.workspaces = { jupyter: { storageSize: '0Gi' } })),
      /workspaces\.jupyter\.storageSize: "0Gi" is not allowed: must be a positive size/,
    ],
    [
      'a size without a unit',
      withChange((c) => (c.workspaces = { vscode: { storageSize: '20' } })),
      /workspaces\.vscode\.storageSize: "20" is not allowed: must be a positive size such as "512Mi"/,
    ],
    [
      'a zero CPU',
      withChange((c) => (c.mlflow = { resources: { requests: { cpu: '0m' } } })),
      /mlflow\.resources\.requests\.cpu: "0m" is not allowed: must be a positive CPU quantity/,
    ],
    [
      'a limit below its request',
      withChange((c) => (c.mlflow = { resources: { requests: { memory: '4Gi' }, limits: { memory: '1Gi' } } })),
      /mlflow\.resources\.limits\.memory: "1Gi" is not allowed: must be at least the memory request \(4Gi\)/,
    ],
    [
      'an unknown database mode',
      withChange((c) => (c.database = { mode: 'mysql' })),
      /database\.mode: "mysql" is not allowed: must be one of: "cloudsql", "statefulset"/,
    ],
    [
      'a key rotation longer than 90 days',
      withChange((c) => (c.kms = { rotationPeriodDays: 365 })),
      /kms\.rotationPeriodDays: 365 is not allowed: must be a whole number of days from 2 to 90/,
    ],
    [
      'a user name that is not a DNS label',
      withChange((c) => (c.workspaces = { users: [{ name: 'Ana_B', email: 'ana@example.com' }] })),
      /workspaces\.users\[0\]\.name: "Ana_B" is not allowed: must be a DNS label/,
    ],
    [
      'a duplicate user name',
      withChange(
        (c) =>
          (c.workspaces = {
            users: [
              { name: 'ana', email: 'a@example.com' },
              { name: 'ana', email: 'b@example.com' },
            ],
          }),
      ),
      /workspaces\.users\[1\]\.name: "ana" is not allowed: must be unique; users\[0\] has the same name/,
    ],
    [
      'more minimum than maximum replicas',
      withChange((c) => (c.mlflow = { replicas: 5, maxReplicas: 3 })),
      /mlflow\.maxReplicas: 3 is not allowed: must be at least replicas \(5\)/,
    ],
    [
      'a public edge that admits nobody',
      withChange((c) => (c.edge.iapMembers = [])),
      /edge\.iapMembers: \[\] is not allowed: must list at least one IAM member while edge\.enabled is true/,
    ],
    [
      'a name prefix without its hyphen',
      withChange((c) => (c.namePrefix = 'team')),
      /namePrefix: "team" is not allowed: must be empty or a DNS label of at most 11 characters followed by "-"/,
    ],
    [
      'a bad cron schedule',
      withChange((c) => (c.mlflow = { gcSchedule: 'weekly' })),
      /mlflow\.gcSchedule: "weekly" is not allowed: must be a five-field cron schedule/,
    ],
  ];

  test.each(cases)('%s', (_title, data, expected) => {
    const problems = problemsOf(data);
    expect(problems.some((p) => expected.test(p))).toBe(true);
    // Each line names the file and never carries a stack trace.
    for (const p of problems) {
      expect(p.startsWith(`${path.join(tmp, 'bad.yaml')}: `)).toBe(true);
      expect(p).not.toMatch(/\n/);
    }
  });

  test('there are at least 25 rejected cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(25);
  });

  test('several problems give several lines', () => {
    const problems = problemsOf(withChange((c) => ((c.project.id = 'X'), (c.mlflow = { replicas: 0, wrkers: 2 }))));
    expect(problems).toHaveLength(3);
  });

  test('a missing file is named', () => {
    expect(() => loadConfig(path.join(tmp, 'nope.yaml'))).toThrow(/nope\.yaml: file not found; give the path of a YAML config/);
  });

  test('a directory instead of a file is named', () => {
    expect(() => loadConfig(tmp)).toThrow(/: is a directory; give the path of a YAML config file/);
  });

  test('invalid YAML is reported with its line and column', () => {
    const problems = problemsOf('project:\n  id: [unclosed\n', 'broken.yaml');
    expect(problems[0]).toMatch(/broken\.yaml:\d+:\d+: invalid YAML: /);
  });

  test('a duplicated key is invalid YAML', () => {
    expect(problemsOf('environment: a\nenvironment: b\n', 'dup.yaml')[0]).toMatch(
      /dup\.yaml:2:1: invalid YAML: the key "environment" appears twice in the same mapping; keep one/,
    );
  });

  test('an empty file is named', () => {
    expect(problemsOf('', 'empty.yaml')).toEqual([
      `${path.join(tmp, 'empty.yaml')}: file is empty; expected a YAML mapping with at least "project" (see config/dev.yaml)`,
    ]);
  });

  test('a file of only comments counts as empty', () => {
    expect(problemsOf('# nothing here\n', 'comments.yaml')[0]).toMatch(/comments\.yaml: file is empty/);
  });

  test('a top level that is not a mapping is named', () => {
    expect(problemsOf('- a\n- b\n', 'list.yaml')[0]).toMatch(/list\.yaml: top level is a list; expected a mapping of config fields/);
  });
});

describe('image references', () => {
  test.each([
    ['postgres:16', '16'],
    ['localhost:5000/team/tool:1.2', '1.2'],
    ['us-docker.pkg.dev/p/repo/img:v3.9.0-full', 'v3.9.0-full'],
    ['ghcr.io/mlflow/mlflow:v3.9.0-full@sha256:' + 'a'.repeat(64), 'v3.9.0-full'],
  ])('%s is accepted with tag %s (a registry port is never taken for a tag)', (ref, tag) => {
    expect(imageProblem(ref)).toBeUndefined();
    expect(imageTag(ref)).toBe(tag);
  });
});

describe('README', () => {
  const readme = fs.readFileSync(path.join(CONFIG_DIR, '..', 'README.md'), 'utf8');

  test('the configuration reference is up to date with the schema (run npm run config-docs)', () => {
    expect(readme).toBe(withReference(readme));
  });

  test('the first screen gives the render and the test command', () => {
    const firstScreen = readme.split('\n').slice(0, 12).join('\n');
    expect(firstScreen).toContain('npm run synth');
    expect(firstScreen).toContain('npm test');
  });

  test('CI runs exactly the README test command', () => {
    const ci = fs.readFileSync(path.join(CONFIG_DIR, '..', '.ci', 'run'), 'utf8');
    expect(ci).toMatch(/^npm test$/m);
  });
});
