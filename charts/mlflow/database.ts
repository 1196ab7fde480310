/** Where the MLflow server keeps its metadata, as its pods see it. */
import type { Version } from '../../common/cloud-sql-proxy-flags';
import { PORTS } from '../../common/contract';
import type { Resources } from '../../config/schema/primitives';

export type MlflowDatabase =
  | {
      readonly mode: 'cloudsql';
      readonly connectionName: string;
      /** IAM database user of the pod's Google service account (its email without `.gserviceaccount.com`): the server's, or a Job's own. */
      readonly iamUser: string;
      /**
       * The NOLOGIN roles of charts/mlflow/cloudsql-grant.sql: `owner` owns MLflow's tables (the
       * migration's IAM user is its member and acts as it), `writer` holds DML on them (the server's and
       * gc's IAM users are its members).
       */
      readonly roles: { readonly owner: string; readonly writer: string };
      readonly database: string;
      readonly proxy: { readonly image: string; readonly version: Version; readonly resources: Resources; readonly extraArgs: readonly string[] };
      /** Private services access range where the Cloud SQL private IP lives. */
      readonly privateServicesCidr: string;
    }
  | {
      readonly mode: 'statefulset';
      /** Service of the in-cluster PostgreSQL, in the same namespace. */
      readonly service: string;
      readonly user: string;
      readonly database: string;
      readonly passwordSecret: { readonly name: string; readonly key: string };
      /** Labels of the PostgreSQL pods (egress peer). */
      readonly podLabels: Record<string, string>;
      /** CA file that verifies the server's certificate (libpq sslrootcert, with sslmode=verify-full). */
      readonly caFile: string;
    };

/**
 * The backend store URI: never a password in it (IAM login through the proxy, or PGPASSWORD from a
 * Secret). In-cluster PostgreSQL speaks TLS only: sslmode=verify-full checks the server's certificate
 * against the platform CA and its name against the host dialled (the short Service name, which the
 * certificate lists). SQLAlchemy's psycopg2 dialect hands the query to libpq as connection options
 * (lib/sqlalchemy/dialects/postgresql/psycopg2.py create_connect_args: opts.update(url.query)).
 */
export function backendStoreUri(db: MlflowDatabase): string {
  if (db.mode === 'cloudsql') return `postgresql+psycopg2://${encodeURIComponent(db.iamUser)}@127.0.0.1:${PORTS.postgres}/${db.database}`;
  const tls = `sslmode=verify-full&sslrootcert=${encodeURIComponent(db.caFile)}`;
  return `postgresql+psycopg2://${encodeURIComponent(db.user)}@${db.service}:${PORTS.postgres}/${db.database}?${tls}`;
}

/**
 * What the schema programs need to know about the tables' ownership (cloudsql mode; nothing in
 * statefulset mode, where the MLflow role owns its database): the owner role and the DML role of
 * charts/mlflow/cloudsql-grant.sql, and for the migration the server's IAM user, which owned the
 * tables before this split and hands them to the owner role once (charts/mlflow/migrate.py,
 * wait_for_schema.py).
 */
export function ownershipEnv(db: MlflowDatabase, handoverFrom?: string): { name: string; value: string }[] {
  if (db.mode !== 'cloudsql') return [];
  return [
    { name: 'DB_OWNER_ROLE', value: db.roles.owner },
    { name: 'DB_WRITER_ROLE', value: db.roles.writer },
    ...(handoverFrom ? [{ name: 'DB_HANDOVER_FROM', value: handoverFrom }] : []),
  ];
}
