/**
 * The scenario the live tests run on the real rendered MLflow of a config, in either database mode:
 * first start (grant, migration, server, provisioning), a workspace's MLflow client with the rendered
 * environment (parameters, metrics, tags, a 20 MB artifact through the proxied artifact routes, a
 * registered model, the artifact back byte for byte), a server restart, the verification Job, the gc
 * CronJob, the metrics scrape and the UI behind the edge. Every process runs the rendered command line
 * (local/pod-runner.ts).
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Config } from '../../../config/schema';
import { buildModel } from '../../../model';
import { MlflowClient } from '../../../local/client';
import { iapAudience } from '../../../local/iap';
import { LOAD_BALANCER_ADDRESS, LocalPlatform } from '../../../local/platform';
import type { Major } from '../../../local/postgres';
import { runPython, START_SECONDS, startPlatform, stopPlatform, workspacePod } from './platform';

/** Every test of the scenario, for `config` on PostgreSQL `major`. */
export function liveScenario(config: Config, major: Major): void {
  let platform: LocalPlatform;
  let client: MlflowClient;

  beforeAll(async () => {
    platform = await startPlatform(config, { postgres: major });
    client = platform.client();
  }, START_SECONDS * 1000);

  afterAll(() => stopPlatform(platform), 120000);

  const workspaceAccount = () => platform.workspaceAccounts()[0];
  const sql = (query: string) => platform.postgres!.query(query, { ...platform.postgres!.superuser, database: config.database.name });

  describe('first start', () => {
    test('the migration Job brought the tracking schema and the auth tables to their head, owned by the role it acts as', async () => {
      expect(await sql('SELECT count(*) FROM alembic_version')).toBe('1');
      expect(await sql('SELECT count(*) FROM alembic_version_auth')).toBe('1');
      const owners = await sql("SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class WHERE relnamespace = 'public'::regnamespace");
      // statefulset: the mlflow role MLflow connects as owns its database. cloudsql: the owner role of
      // the grant, which the migration's own IAM user acts as; no login owns a table.
      const uri = platform.rendered
        .named('Deployment', 'mlflow')
        .spec.template.spec.containers[0].env.find((e: any) => e.name === 'MLFLOW_BACKEND_STORE_URI').value;
      const owner = config.database.mode === 'cloudsql' ? buildModel(config).names.cloudSql.roles.owner : decodeURIComponent(/\/\/([^@]+)@/.exec(uri)![1]);
      expect(owners.split('\n')).toEqual([owner]);
    });

    if (config.database.mode === 'cloudsql')
      test("the server's and gc's IAM users may not drop a table nor act as its owner; the migration's may", async () => {
        const { iamUser, migrateIamUser, gcIamUser, roles, database } = buildModel(config).names.cloudSql;
        const as = (user: string, statements: string) => platform.postgres!.psql(`BEGIN; ${statements}; ROLLBACK;`, { user, database });
        for (const user of [iamUser, gcIamUser]) {
          expect((await as(user, 'DROP TABLE metrics')).stderr).toMatch(/must be owner of table metrics/);
          expect((await as(user, `SET ROLE ${roles.owner}`)).stderr).toMatch(/permission denied to set role/);
          expect(await platform.postgres!.query('SELECT count(*) > 0 FROM experiments', { user, database })).toBe('t');
        }
        const dropped = await as(migrateIamUser, `SET ROLE ${roles.owner}; DROP TABLE metrics`);
        expect([dropped.code, dropped.stderr]).toEqual([0, expect.not.stringContaining('ERROR')]);
      });

    test('the server started on the schema the Job made: no process migrated the auth tables again', () => {
      const wait = platform.server!.running.find((c) => c.name === 'wait-for-schema')!;
      expect(wait.output).toContain('as this MLflow expects; the server may start');
      expect(platform.serverContainer!.output).not.toMatch(/Running upgrade .* -> /);
    });

    test('every provisioned account logs in with the password of its Secret', async () => {
      for (const a of platform.accounts()) {
        const answer = await client.call({ path: '/api/2.0/mlflow/experiments/get?experiment_id=0', basic: a });
        // Authenticated (never 401); the metrics account is then kept to GET /metrics (403 here).
        expect([a.username, answer.status]).toEqual([a.username, a.username === platform.metricsAccount().username ? 403 : 200]);
      }
    });

    test('the admin account of the server Secret is an admin', async () => {
      const admin = platform.admin();
      const answer = await client.call({ path: `/api/2.0/mlflow/users/get?username=${admin.username}`, basic: admin });
      expect(answer.status).toBe(200);
      expect(answer.json().user.is_admin).toBe(true);
    });

    test('the provisioning Job is idempotent: a second run keeps every account and its password', async () => {
      await platform.runJob('mlflow-auth-provision');
      const a = workspaceAccount();
      expect((await client.call({ path: '/api/2.0/mlflow/experiments/get?experiment_id=0', basic: a })).status).toBe(200);
    }, 120000);
  });

  describe('a workspace uses MLflow', () => {
    let logged: any;
    beforeAll(async () => {
      logged = await runPython(workspacePod(platform), 'jupyter', 'notebook.py', ['workspace-scenario']);
    }, 240000);

    test('a run with parameters, metrics and tags is recorded as the workspace account', () => {
      expect(logged.params).toEqual({ alpha: '0.5', l1_ratio: '0.1' });
      expect(logged.metrics).toEqual({ rmse: 0.2 });
      expect(logged.tags).toEqual({ team: 'ml', stage: 'test' });
      expect(logged.user).toBe(workspaceAccount().username);
    });

    test('the 20 MB artifact goes through the proxied artifact routes and comes back byte for byte', () => {
      expect(logged.artifact_uri).toMatch(/^mlflow-artifacts:\//);
      expect(logged.received).toBe(logged.sent);
    });

    test('the artifact lies in the artifact destination (the bucket), under its experiment and run', () => {
      const stored = (fs.readdirSync(platform.artifactsDir, { recursive: true }) as string[]).filter((f) => f.endsWith('weights.bin'));
      expect(stored).toHaveLength(1);
      expect(stored[0].split(path.sep)).toEqual(expect.arrayContaining([logged.experiment_id, logged.run_id, 'model', 'weights.bin']));
      expect(fs.statSync(path.join(platform.artifactsDir, stored[0])).size).toBe(20 * 1024 * 1024);
    });

    test('the model version is registered and ready', () => {
      expect(logged.model_version).toBe('1');
      expect(logged.model_status).toBe('READY');
    });

    test('the run survives a server restart', async () => {
      await platform.stopServer();
      await platform.startServer();
      const answer = await client.call({ path: `/api/2.0/mlflow/runs/get?run_id=${logged.run_id}`, basic: workspaceAccount() });
      expect(answer.status).toBe(200);
      expect(answer.json().run.data.params).toEqual(
        expect.arrayContaining([
          { key: 'alpha', value: '0.5' },
          { key: 'l1_ratio', value: '0.1' },
        ]),
      );
      const model = await client.call({ path: '/api/2.0/mlflow/registered-models/get?name=workspace-scenario', basic: workspaceAccount() });
      expect(model.status).toBe(200);
    }, 240000);
  });

  describe('the platform Jobs against the real server', () => {
    test('the verification Job passes', async () => {
      const [verify] = await platform.runJob('mlflow-verify');
      expect(verify.output).toContain('[mlflow-verify] MLflow verification passed');
      expect(verify.output).not.toContain('FAIL');
    }, 240000);

    test('the gc CronJob runs once to its end', async () => {
      const [gc] = await platform.runCronJob('mlflow-gc');
      expect(gc.output).not.toContain('failed');
    }, 240000);

    test('the metrics account scrapes /metrics by the pod IP, as the PodMonitoring does', async () => {
      const answer = await client.call({ path: '/metrics', basic: platform.metricsAccount(), host: '127.0.0.1:5000' });
      expect(answer.status).toBe(200);
      expect(answer.text()).toMatch(/^# HELP /m);
    });
  });

  describe('the UI behind the edge', () => {
    const viaEdge = (email: string, call: { method?: string; path: string; body?: unknown; origin?: string }) =>
      client.call({
        ...call,
        from: LOAD_BALANCER_ADDRESS,
        host: platform.publicHost,
        iap: platform.signer.mint({ email, aud: iapAudience(platform.options.config.project.number, '4242') }),
        headers: call.origin ? { origin: call.origin } : {},
      });

    test('a signed-in user creates an experiment from the UI (a same-origin POST with Origin)', async () => {
      const answer = await viaEdge('alice@example.com', {
        path: '/ajax-api/2.0/mlflow/experiments/create',
        body: { name: 'from-the-ui' },
        origin: `https://${platform.publicHost}`,
      });
      expect([answer.status, answer.text()]).toEqual([200, expect.stringContaining('experiment_id')]);
    });

    test('run search from the UI (a POST) answers', async () => {
      const answer = await viaEdge('alice@example.com', {
        path: '/ajax-api/2.0/mlflow/runs/search',
        body: { experiment_ids: ['0'], max_results: 10 },
        origin: `https://${platform.publicHost}`,
      });
      expect(answer.status).toBe(200);
    });

    test('the first sign-in made an MLflow user of the email, in lower case', async () => {
      await viaEdge('Bob@Example.com', { path: '/api/2.0/mlflow/experiments/get?experiment_id=0' });
      const answer = await client.call({ path: '/api/2.0/mlflow/users/get?username=bob@example.com', basic: platform.admin() });
      expect(answer.status).toBe(200);
    });
  });
}
