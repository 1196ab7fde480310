/**
 * The official PostgreSQL image's first start, as its docker-entrypoint.sh does it, for a rendered
 * StatefulSet's container environment and init files: the live tests and `npm run local` (statefulset
 * mode) use it.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Connection, Major, run, RunResult, Server, tempDir } from './postgres';

/**
 * The first start of the rendered StatefulSet's container on an empty data directory, as the image's
 * docker-entrypoint.sh does it (docker-library/postgres 16/bookworm/docker-entrypoint.sh at commit
 * 6edb0a8c4def40c371514b34aef9037ec82d9110: docker_init_database_dir, docker_temp_server_start,
 * docker_process_init_files, docker_process_sql): initdb as POSTGRES_USER with POSTGRES_PASSWORD and
 * POSTGRES_INITDB_ARGS, a socket-only server, PGPASSWORD set to the superuser's password, then every
 * init file: executed when executable, otherwise sourced under `set -Eeo pipefail`. The server stays
 * up. `env` is the container's (secrets filled in). Not reproduced: the pg_hba.conf line for TCP hosts (the tests use the socket only).
 */
export async function firstStart(
  major: Major,
  initFiles: Readonly<Record<string, string>>,
  env: Record<string, string>,
): Promise<{ server: Server; init: RunResult }> {
  const superuser: Connection = { user: env.POSTGRES_USER, password: env.POSTGRES_PASSWORD, database: env.POSTGRES_USER };
  const server = await Server.create(major, superuser, (env.POSTGRES_INITDB_ARGS ?? '').split(/\s+/).filter(Boolean));
  const init = await runInitFiles(server, initFiles, env);
  return { server, init };
}

/** Runs the init ConfigMap's files against a running server, as the entrypoint does; `env` is the container's. */
export async function runInitFiles(server: Server, initFiles: Readonly<Record<string, string>>, env: Record<string, string>): Promise<RunResult> {
  const dir = tempDir('initdb.d');
  // defaultMode 0444 of the ConfigMap volume: readable, not executable, so sourced.
  for (const [name, text] of Object.entries(initFiles)) fs.writeFileSync(path.join(dir, name), text, { mode: 0o444 });
  // docker_process_sql with the entrypoint's psql flags. The entrypoint empties PGHOST to reach the
  // default socket directory; here PGHOST names the test server's socket directory instead.
  const driver = [
    'set -Eeo pipefail',
    'docker_process_sql() {',
    '  local query_runner=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc)',
    '  if [ -n "$POSTGRES_DB" ]; then query_runner+=(--dbname "$POSTGRES_DB"); fi',
    '  PGHOSTADDR= "${query_runner[@]}" "$@"',
    '}',
    'for f in "$1"/*; do',
    '  case "$f" in',
    '    *.sh) if [ -x "$f" ]; then "$f"; else . "$f"; fi ;;',
    '    *) echo "the tests only handle .sh init files: $f" >&2; exit 3 ;;',
    '  esac',
    'done',
  ].join('\n');
  return run('bash', ['-c', driver, 'docker-entrypoint.sh', dir], {
    env: {
      ...env,
      // The entrypoint's defaults and exports at this point.
      POSTGRES_DB: env.POSTGRES_DB ?? env.POSTGRES_USER,
      PGPASSWORD: env.POSTGRES_PASSWORD,
      PGHOST: server.socketDir,
      PGPORT: server.env(server.superuser).PGPORT,
    },
  });
}
