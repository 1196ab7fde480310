/**
 * Tenant isolation on the rendered MLflow, run for real (local/platform.ts): with the private default
 * (default_permission NO_PERMISSIONS, READ on the Default experiment), one person cannot read, write,
 * overwrite or delete another's experiments, runs, artifacts or registered models, through the REST
 * API, the artifact proxy (/api/2.0/mlflow-artifacts/... and its /ajax-api/ twin) or an artifact path
 * that names no experiment; the sharing of the config works as configured; gc is no admin yet deletes
 * any run's artifacts; and a grant above READ on the Default experiment, given by an earlier version,
 * is lowered by the next provisioning run.
 *
 * People: ana and bo (workspace users, Basic), cy (in the group "team" with ana); the team shares the
 * experiment "team-exp" with EDIT, and bo may READ the registered model "shared-model".
 */
import { MlflowClient, Call } from '../../local/client';
import { iapAudience } from '../../local/iap';
import { LOAD_BALANCER_ADDRESS, LocalPlatform } from '../../local/platform';
import { configWith } from '../support/render';
import { runPython, START_SECONDS, startPlatform, stopPlatform, workspacePod } from './support/platform';

const config = configWith({
  workspaces: {
    users: [
      { name: 'ana', email: 'ana@example.com' },
      { name: 'bo', email: 'bo@example.com' },
      { name: 'cy', email: 'cy@example.com' },
    ],
  },
  mlflow: {
    auth: {
      groups: { team: ['ana', 'cy'] },
      sharing: [
        { experiment: 'team-exp', groups: ['team'], permission: 'EDIT' },
        { registeredModel: 'shared-model', users: ['bo'], permission: 'READ' },
      ],
    },
  },
});

let platform: LocalPlatform;
let client: MlflowClient;
type Account = { username: string; password: string };
const person = (email: string): Account => {
  const found = platform.accounts().find((a) => a.username === email);
  if (!found?.password) throw new Error(`no provisioned account ${email}`);
  return { username: found.username, password: found.password };
};
const ana = () => person('ana@example.com');
const bo = () => person('bo@example.com');
const cy = () => person('cy@example.com');
const gc = () => person('mlflow-gke-gc');

let anaExperiment = '';
let anaRun = '';
let anaArtifact = '';
const MODEL = Buffer.from('pickled model of ana');

const as = (user: Account, c: Call) => client.call({ ...c, basic: user });
const experimentByName = async (user: Account, name: string) =>
  as(user, { path: `/api/2.0/mlflow/experiments/get-by-name?experiment_name=${encodeURIComponent(name)}` });

beforeAll(async () => {
  platform = await startPlatform(config);
  client = platform.client();
  const found = await experimentByName(ana(), 'users/ana@example.com');
  if (found.status !== 200) throw new Error(`ana's personal experiment: ${found.status} ${found.text()}`);
  anaExperiment = found.json().experiment.experiment_id;
  const run = await as(ana(), { path: '/api/2.0/mlflow/runs/create', body: { experiment_id: anaExperiment } });
  anaRun = run.json().run.info.run_id;
  anaArtifact = `${anaExperiment}/${anaRun}/artifacts/model/model.pkl`;
  const put = await as(ana(), { method: 'PUT', path: `/api/2.0/mlflow-artifacts/artifacts/${anaArtifact}`, body: MODEL });
  if (put.status !== 200) throw new Error(`ana's upload: ${put.status} ${put.text()}`);
  const model = await as(ana(), { path: '/api/2.0/mlflow/registered-models/create', body: { name: 'ana-model' } });
  if (model.status !== 200) throw new Error(`ana's model: ${model.status} ${model.text()}`);
}, START_SECONDS * 1000);

afterAll(() => stopPlatform(platform), 120000);

describe('each person has a personal experiment of their own', () => {
  test('the provisioning Job made users/<email> with MANAGE for its person, and ana logs and reads back there', async () => {
    const permission = await as(platform.admin(), {
      path: `/api/3.0/mlflow/users/permissions/get?username=ana@example.com&resource_type=experiment&resource_id=${anaExperiment}`,
    });
    expect(permission.json().permission).toBe('MANAGE');
    const back = await as(ana(), { path: `/api/2.0/mlflow-artifacts/artifacts/${anaArtifact}` });
    expect([back.status, back.body.toString()]).toEqual([200, MODEL.toString()]);
  });

  test("a workspace's bare mlflow.start_run() logs to its user's personal experiment", async () => {
    const pod = workspacePod(platform);
    const user = pod.spec.containers[0].env.find((e: { name: string }) => e.name === 'MLFLOW_TRACKING_USERNAME').value;
    const logged = await runPython(pod, pod.spec.containers[0].name, 'bare_run.py', []);
    expect(logged.experiment_name).toBe(`users/${user}`);
    const run = await as(person(user), { path: `/api/2.0/mlflow/runs/get?run_id=${logged.run_id}` });
    expect(run.status).toBe(200);
    const other = user === 'ana@example.com' ? bo() : ana();
    expect((await as(other, { path: `/api/2.0/mlflow/runs/get?run_id=${logged.run_id}` })).status).toBe(403);
  }, 120000);

  test("nobody may create or take a name in another person's space", async () => {
    expect((await as(bo(), { path: '/api/2.0/mlflow/experiments/create', body: { name: 'users/dan@example.com' } })).status).toBe(403);
    expect((await as(bo(), { path: '/ajax-api/2.0/mlflow/experiments/create', body: { name: 'users/ana@example.com/copy' } })).status).toBe(403);
    const own = await as(bo(), { path: '/api/2.0/mlflow/experiments/create', body: { name: 'bo-scratch' } });
    expect(own.status).toBe(200);
    const rename = { experiment_id: own.json().experiment_id, new_name: 'users/dan@example.com' };
    expect((await as(bo(), { path: '/api/2.0/mlflow/experiments/update', body: rename })).status).toBe(403);
  });

  test('a first sign-in through IAP makes the personal experiment; two at once both succeed', async () => {
    const token = platform.signer.mint({ email: 'Dee@Example.com', aud: iapAudience(platform.options.config.project.number, '4242') });
    const signIn = () =>
      client.call({ from: LOAD_BALANCER_ADDRESS, host: platform.publicHost, path: '/api/2.0/mlflow/experiments/search?max_results=5', iap: token });
    const answers = await Promise.all([signIn(), signIn(), signIn()]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    const found = await experimentByName(platform.admin(), 'users/dee@example.com');
    expect(found.status).toBe(200);
    const id = found.json().experiment.experiment_id;
    const permission = await as(platform.admin(), {
      path: `/api/3.0/mlflow/users/permissions/get?username=dee@example.com&resource_type=experiment&resource_id=${id}`,
    });
    expect(permission.json().permission).toBe('MANAGE');
    const onDefault = await as(platform.admin(), {
      path: '/api/3.0/mlflow/users/permissions/get?username=dee@example.com&resource_type=experiment&resource_id=0',
    });
    expect(onDefault.json().permission).toBe('READ');
  });
});

describe("bo and ana's work: refused with 403", () => {
  test.each<[string, () => Call]>([
    ["reading ana's experiment", () => ({ path: `/api/2.0/mlflow/experiments/get?experiment_id=${anaExperiment}` })],
    ["reading ana's experiment by name", () => ({ path: '/api/2.0/mlflow/experiments/get-by-name?experiment_name=users%2Fana%40example.com' })],
    ["reading ana's run", () => ({ path: `/api/2.0/mlflow/runs/get?run_id=${anaRun}` })],
    ["logging to ana's run", () => ({ path: '/api/2.0/mlflow/runs/log-metric', body: { run_id: anaRun, key: 'x', value: 1, timestamp: 0 } })],
    ["creating a run in ana's experiment", () => ({ path: '/api/2.0/mlflow/runs/create', body: { experiment_id: anaExperiment } })],
    ["reading ana's registered model", () => ({ path: '/api/2.0/mlflow/registered-models/get?name=ana-model' })],
    [
      "adding a version to ana's registered model",
      () => ({ path: '/api/2.0/mlflow/model-versions/create', body: { name: 'ana-model', source: `mlflow-artifacts:/${anaArtifact}` } }),
    ],
    [
      "granting itself ana's experiment",
      () => ({
        path: '/api/3.0/mlflow/users/permissions/grant',
        body: { username: 'bo@example.com', resource_type: 'experiment', resource_id: anaExperiment, permission: 'MANAGE' },
      }),
    ],
  ])('%s', async (_, call) => {
    expect((await as(bo(), call())).status).toBe(403);
  });

  test("ana's experiment does not appear in bo's search", async () => {
    const answer = await as(bo(), { path: '/api/2.0/mlflow/experiments/search?max_results=1000' });
    expect(answer.status).toBe(200);
    expect((answer.json().experiments ?? []).map((e: { experiment_id: string }) => e.experiment_id)).not.toContain(anaExperiment);
  });

  describe.each(['/api/2.0', '/ajax-api/2.0'])('through the artifact proxy under %s', (prefix) => {
    test("bo may not download ana's model", async () => {
      expect((await as(bo(), { path: `${prefix}/mlflow-artifacts/artifacts/${anaArtifact}` })).status).toBe(403);
    });
    test("bo may not list ana's artifacts", async () => {
      expect((await as(bo(), { path: `${prefix}/mlflow-artifacts/artifacts?path=${encodeURIComponent(`${anaExperiment}/${anaRun}/artifacts`)}` })).status).toBe(
        403,
      );
    });
    test("bo may not overwrite ana's model, which stays as ana logged it", async () => {
      const put = await as(bo(), {
        method: 'PUT',
        path: `${prefix}/mlflow-artifacts/artifacts/${anaArtifact}`,
        body: Buffer.from('import os; os.system("evil")'),
      });
      expect(put.status).toBe(403);
      const back = await as(ana(), { path: `/api/2.0/mlflow-artifacts/artifacts/${anaArtifact}` });
      expect(back.body.toString()).toBe(MODEL.toString());
    });
    test("bo may not delete ana's artifacts", async () => {
      expect((await as(bo(), { method: 'DELETE', path: `${prefix}/mlflow-artifacts/artifacts/${anaExperiment}/${anaRun}/artifacts` })).status).toBe(403);
    });
    test('an artifact path that names no experiment is refused to anyone but an admin', async () => {
      // MLflow judges such a path by default_permission alone (_get_permission_from_experiment_id_artifact_proxy):
      // NO_PERMISSIONS here, and never more than READ (the config refuses more).
      for (const user of [bo(), ana()]) {
        expect((await as(user, { method: 'PUT', path: `${prefix}/mlflow-artifacts/artifacts/shared/model.pkl`, body: MODEL })).status).toBe(403);
        expect((await as(user, { path: `${prefix}/mlflow-artifacts/artifacts/shared/model.pkl` })).status).toBe(403);
      }
    });
  });
});

describe("ana's logged model (where MLflow 3's log_model puts a model) and encoded paths", () => {
  test("bo may not read ana's logged model, nor download or overwrite its files", async () => {
    const created = await as(ana(), { path: '/api/2.0/mlflow/logged-models', body: { experiment_id: anaExperiment, name: 'clf' } });
    expect(created.status).toBe(200);
    const info = created.json().model.info;
    const file = `${info.artifact_uri.replace(/^mlflow-artifacts:\//, '')}/model.pkl`;
    expect(file).toBe(`${anaExperiment}/models/${info.model_id}/artifacts/model.pkl`);
    expect((await as(ana(), { method: 'PUT', path: `/api/2.0/mlflow-artifacts/artifacts/${file}`, body: MODEL })).status).toBe(200);
    expect((await as(bo(), { path: `/api/2.0/mlflow/logged-models/${info.model_id}` })).status).toBe(403);
    expect((await as(bo(), { path: `/ajax-api/2.0/mlflow/logged-models/${info.model_id}/artifacts/files?artifact_file_path=model.pkl` })).status).toBe(403);
    for (const prefix of ['/api/2.0', '/ajax-api/2.0']) {
      expect((await as(bo(), { path: `${prefix}/mlflow-artifacts/artifacts/${file}` })).status).toBe(403);
      expect((await as(bo(), { method: 'PUT', path: `${prefix}/mlflow-artifacts/artifacts/${file}`, body: Buffer.from('evil') })).status).toBe(403);
    }
    const back = await as(ana(), { path: `/api/2.0/mlflow-artifacts/artifacts/${file}` });
    expect([back.status, back.body.toString()]).toEqual([200, MODEL.toString()]);
  });

  test("a doubly percent-encoded experiment id does not get bo past ana's experiment", async () => {
    // "%25" + the hex of each digit: decoded once by the router and once more by MLflow's path check.
    const encoded = [...anaExperiment].map((d) => `%25${d.charCodeAt(0).toString(16)}`).join('');
    const path = `/api/2.0/mlflow-artifacts/artifacts/${encoded}/${anaRun}/artifacts/model/model.pkl`;
    expect((await as(bo(), { method: 'PUT', path, body: Buffer.from('evil') })).status).not.toBe(200);
    expect((await as(bo(), { path })).status).not.toBe(200);
    const back = await as(ana(), { path: `/api/2.0/mlflow-artifacts/artifacts/${anaArtifact}` });
    expect(back.body.toString()).toBe(MODEL.toString());
  });
});

describe("bo's own registered model pointing at ana's artifacts", () => {
  test("a version of bo's model whose source is ana's run cannot hand bo ana's model", async () => {
    expect((await as(bo(), { path: '/api/2.0/mlflow/registered-models/create', body: { name: 'bo-model' } })).status).toBe(200);
    const source = `mlflow-artifacts:/${anaExperiment}/${anaRun}/artifacts/model`;
    // Without run_id MLflow refuses a source it cannot tie to a run (handlers.py _create_model_version,
    // _resolve_registered_model_source_lineage); with ana's run_id the auth app asks READ on the run.
    const created = await as(bo(), { path: '/api/2.0/mlflow/model-versions/create', body: { name: 'bo-model', source } });
    expect([created.status, created.json().message]).toEqual([
      400,
      expect.stringContaining('The run_id request parameter must identify the resource that contains the source'),
    ]);
    const withRun = await as(bo(), { path: '/api/2.0/mlflow/model-versions/create', body: { name: 'bo-model', source, run_id: anaRun } });
    expect(withRun.status).toBe(403);
  });
});

describe('the Default experiment: READ for everyone', () => {
  test('bo reads it but may not create a run or upload there', async () => {
    expect((await as(bo(), { path: '/api/2.0/mlflow/experiments/get?experiment_id=0' })).status).toBe(200);
    expect((await as(bo(), { path: '/api/2.0/mlflow/runs/create', body: { experiment_id: '0' } })).status).toBe(403);
    expect((await as(bo(), { method: 'PUT', path: '/api/2.0/mlflow-artifacts/artifacts/0/planted/model.pkl', body: MODEL })).status).toBe(403);
  });

  test('an EDIT grant an earlier version gave is lowered to READ by the next provisioning run', async () => {
    const admin = platform.admin();
    const key = { username: 'bo@example.com', resource_type: 'experiment', resource_id: '0' };
    expect((await as(admin, { path: '/api/3.0/mlflow/users/permissions/revoke', body: key })).status).toBe(200);
    expect((await as(admin, { path: '/api/3.0/mlflow/users/permissions/grant', body: { ...key, permission: 'EDIT' } })).status).toBe(200);
    // The old grant bites: bo writes to the Default experiment.
    expect((await as(bo(), { path: '/api/2.0/mlflow/runs/create', body: { experiment_id: '0' } })).status).toBe(200);
    const [job] = await platform.runJob('mlflow-auth-provision');
    expect(job.output).toContain('bo@example.com: Default experiment EDIT -> READ');
    expect((await as(bo(), { path: '/api/2.0/mlflow/runs/create', body: { experiment_id: '0' } })).status).toBe(403);
    const now = await as(admin, { path: '/api/3.0/mlflow/users/permissions/get?username=bo@example.com&resource_type=experiment&resource_id=0' });
    expect(now.json().permission).toBe('READ');
  }, 180000);
});

describe('sharing from the config', () => {
  test('the group team (ana, cy) logs to team-exp, which bo cannot see', async () => {
    const teamExp = (await experimentByName(cy(), 'team-exp')).json().experiment.experiment_id;
    const run = await as(cy(), { path: '/api/2.0/mlflow/runs/create', body: { experiment_id: teamExp } });
    expect(run.status).toBe(200);
    const artifact = `${teamExp}/${run.json().run.info.run_id}/artifacts/notes.txt`;
    expect((await as(cy(), { method: 'PUT', path: `/api/2.0/mlflow-artifacts/artifacts/${artifact}`, body: Buffer.from('team') })).status).toBe(200);
    expect((await as(ana(), { path: `/api/2.0/mlflow-artifacts/artifacts/${artifact}` })).status).toBe(200);
    expect((await as(bo(), { path: `/api/2.0/mlflow/experiments/get?experiment_id=${teamExp}` })).status).toBe(403);
    expect((await as(bo(), { path: `/api/2.0/mlflow-artifacts/artifacts/${artifact}` })).status).toBe(403);
  });

  test('bo reads shared-model but may not change it; ana, not shared with, may not read it', async () => {
    expect((await as(bo(), { path: '/api/2.0/mlflow/registered-models/get?name=shared-model' })).status).toBe(200);
    expect(
      (await as(bo(), { method: 'PATCH', path: '/api/2.0/mlflow/registered-models/update', body: { name: 'shared-model', description: 'mine' } })).status,
    ).toBe(403);
    expect((await as(ana(), { path: '/api/2.0/mlflow/registered-models/get?name=shared-model' })).status).toBe(403);
  });
});

describe("gc's account: no admin, yet deletes any run's artifacts", () => {
  test('it is no admin and may not administer users', async () => {
    const user = await as(platform.admin(), { path: '/api/2.0/mlflow/users/get?username=mlflow-gke-gc' });
    expect(user.json().user.is_admin).toBe(false);
    expect((await as(gc(), { path: '/api/2.0/mlflow/users/create', body: { username: 'eve', password: 'eve-password-0123456' } })).status).toBe(403);
    expect((await as(gc(), { path: '/api/2.0/mlflow/registered-models/get?name=ana-model' })).status).toBe(403);
  });

  test("the gc CronJob's pod removes a deleted run of ana's for good, artifacts included", async () => {
    const run = await as(ana(), { path: '/api/2.0/mlflow/runs/create', body: { experiment_id: anaExperiment } });
    const runId = run.json().run.info.run_id;
    const file = `${anaExperiment}/${runId}/artifacts/old.bin`;
    expect((await as(ana(), { method: 'PUT', path: `/api/2.0/mlflow-artifacts/artifacts/${file}`, body: MODEL })).status).toBe(200);
    expect((await as(ana(), { path: '/api/2.0/mlflow/runs/delete', body: { run_id: runId } })).status).toBe(200);
    expect((await as(ana(), { path: `/api/2.0/mlflow-artifacts/artifacts/${file}` })).status).toBe(200);
    // The rendered CronJob's pod, with --older-than 1s instead of the configured 30d.
    const cron = platform.rendered.named('CronJob', 'mlflow-gc');
    const spec = structuredClone(cron.spec.jobTemplate.spec.template.spec);
    const main = spec.containers.find((c: { name: string }) => c.name === 'gc');
    main.env = main.env.map((e: { name: string }) => (e.name === 'GC_OLDER_THAN' ? { name: 'GC_OLDER_THAN', value: '1s' } : e));
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const [gcPod] = await platform.podOf(spec, 'mlflow-gc-now').runJob();
    expect(gcPod.output).toContain(`Run with ID ${runId} has been permanently deleted.`);
    expect((await as(ana(), { path: `/api/2.0/mlflow-artifacts/artifacts/${file}` })).status).toBe(404);
  }, 240000);

  test("it deletes a run's artifacts through the proxy, as mlflow gc does", async () => {
    const run = await as(ana(), { path: '/api/2.0/mlflow/runs/create', body: { experiment_id: anaExperiment } });
    const dir = `${anaExperiment}/${run.json().run.info.run_id}/artifacts`;
    expect((await as(ana(), { method: 'PUT', path: `/api/2.0/mlflow-artifacts/artifacts/${dir}/gone.bin`, body: MODEL })).status).toBe(200);
    expect((await as(gc(), { method: 'DELETE', path: `/api/2.0/mlflow-artifacts/artifacts/${dir}` })).status).toBe(200);
    expect((await as(ana(), { path: `/api/2.0/mlflow-artifacts/artifacts/${dir}/gone.bin` })).status).not.toBe(200);
  });
});
