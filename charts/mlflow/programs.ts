/**
 * The Python programs the MLflow pods run with the image's own interpreter, MLflow and Alembic
 * (`python -c TEXT`), read at synth from the files beside this one. Each file holds a header for
 * readers, the checker and the unit tests (docstring, imports), then the marker line, then what the
 * pod runs. A program whose header imports from `shared` runs as shared.py's part followed by its own:
 * one text, so the pod needs no file of ours and a Job's content hash covers everything it runs.
 *
 * __tests__/python/pod.py composes the programs the same way for the unit tests;
 * __tests__/mlflow-scripts.test.ts checks that both agree.
 *
 * In cloudsql mode the Cloud SQL Auth Proxy is a native sidecar (charts/lib/cloud-sql-proxy.ts): the
 * kubelet starts these programs only after its startup probe has passed and stops it after them, so
 * they neither wait for it nor end it.
 */
import { scriptFile } from '../lib/script-files';

const PROGRAM_DIR = 'charts/mlflow';
/** The line that ends a program file's header. */
export const PROGRAM_MARKER = '# ---- the pod runs what follows ----';
export const MLFLOW_PROGRAMS = ['wait_for_schema', 'backup_plan', 'migrate', 'gc', 'verify', 'serve', 'provision'] as const;
export type MlflowProgram = (typeof MLFLOW_PROGRAMS)[number];

/** What the pod runs of one file: the text after the marker line. */
export function programPart(file: string): string {
  const text = scriptFile(file);
  const at = text.indexOf(`\n${PROGRAM_MARKER}\n`);
  if (at < 0) throw new Error(`${file}: no line "${PROGRAM_MARKER}" between the header and what the pod runs`);
  return text.slice(at + PROGRAM_MARKER.length + 2);
}

/** The text a pod runs with `python -c`. */
export function mlflowProgram(name: MlflowProgram): string {
  const file = `${PROGRAM_DIR}/${name}.py`;
  const header = scriptFile(file).split(`\n${PROGRAM_MARKER}\n`)[0];
  const own = programPart(file);
  const text = /^from shared import /m.test(header) ? `${programPart(`${PROGRAM_DIR}/shared.py`)}\n${own}` : own;
  // Kubernetes expands "$(NAME)" in command and args.
  if (text.includes('$')) throw new Error(`${file}: a pod's command may not contain "$" (Kubernetes expands $(NAME) in it)`);
  return text;
}

/**
 * The migration Job's privilege query (PRIVILEGE_QUERY in migrate.py), which the live tests run
 * against PostgreSQL before and after the Cloud SQL grant.
 */
export function schemaPrivilegeQuery(): string {
  const m = /^PRIVILEGE_QUERY = "([^"\n]+)"$/m.exec(programPart(`${PROGRAM_DIR}/migrate.py`));
  if (!m) throw new Error(`${PROGRAM_DIR}/migrate.py: no line PRIVILEGE_QUERY = "..."`);
  return m[1];
}

/**
 * The migration Job's cloudsql privilege query (OWNER_QUERY in migrate.py, with its :owner parameter
 * as a psql variable), which the live tests run against PostgreSQL before and after the grant.
 */
export function ownerQuery(): string {
  const m = /^OWNER_QUERY = \(\n((?:\s+"[^"\n]*"\n)+)\)$/m.exec(programPart(`${PROGRAM_DIR}/migrate.py`));
  if (!m) throw new Error(`${PROGRAM_DIR}/migrate.py: no lines OWNER_QUERY = ( "..." )`);
  return [...m[1].matchAll(/"([^"\n]*)"/g)]
    .map((p) => p[1])
    .join('')
    .replace(/:owner\b/g, ":'owner'");
}
