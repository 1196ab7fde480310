/**
 * Values that several charts, and the config, must agree on: ports, Secret keys and the annotations
 * that protect stateful objects. One home each, so two charts can never drift apart.
 */

/** Ports. */
export const PORTS = {
  /** PostgreSQL, in-cluster and behind the Auth Proxy's local listener. */
  postgres: 5432,
  /** Cloud SQL's server-side proxy port, which the Auth Proxy dials on the instance's private IP. */
  cloudSqlServer: 3307,
  /** The PostgreSQL exporter's metrics. */
  postgresExporter: 9187,
} as const;

/** Keys of the in-cluster PostgreSQL credentials Secret (`database.statefulset.credentialsSecret`). */
export const DB_SECRET_KEYS = { superuser: 'postgres-password', mlflow: 'mlflow-password' } as const;

/** Flux never prunes an object that carries this annotation with the value "disabled". */
export const FLUX_PRUNE_ANNOTATION = 'kustomize.toolkit.fluxcd.io/prune';

/** The annotation that keeps Flux from pruning a stateful object. */
export const PRUNE_DISABLED: Readonly<Record<string, string>> = { [FLUX_PRUNE_ANNOTATION]: 'disabled' };

/**
 * Keys of the Git credential Secrets a workspace mounts (`workspaces.*.git.credentials[].secret`):
 * `ssh-privatekey` is the key of Kubernetes' `kubernetes.io/ssh-auth` Secret type
 * (k8s.io/api core/v1/types.go, SecretTypeSSHAuth and SSHAuthPrivateKey).
 */
export const GIT_SECRET_KEYS = { token: 'token', ssh: 'ssh-privatekey' } as const;
