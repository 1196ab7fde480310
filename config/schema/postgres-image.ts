/**
 * The PostgreSQL images: one table of the official images the platform runs, which majors the
 * in-cluster chart can run, and the major read from an image tag. Shared by the config schema (its
 * defaults and the rules that refuse other images) and the charts (the in-cluster database derives
 * paths from the major; the Cloud SQL grant Job runs psql of the instance's major).
 */
import { imageTag } from './primitives';

/**
 * The official postgres image of each major the platform uses, Debian bookworm, whose `postgres`
 * user is uid and gid 999 (docker-library/postgres, 16/bookworm/Dockerfile: `useradd -r -g postgres
 * --uid=999`). Tags as published in docker-library/official-images, library/postgres at commit
 * 37079fb336f5 (2026-08-21): the newest minor of each major. The in-cluster database's default
 * (`database.statefulset.image`) and the grant Job's psql (`database.cloudsql.clientImage`) both
 * come from here, so a minor release is one edit.
 */
export const POSTGRES_IMAGES = {
  15: 'postgres:15.19-bookworm',
  16: 'postgres:16.15-bookworm',
  17: 'postgres:17.11-bookworm',
} as const satisfies Readonly<Record<number, string>>;

/** The uid and gid of the `postgres` user of the official images (above). */
export const POSTGRES_UID = 999;

/** Supported PostgreSQL majors of the in-cluster database: 18+ moved PGDATA and the image's volume, so its layout differs. */
export const SUPPORTED_MAJORS = [16, 17] as const;

/** The PostgreSQL major of an image tag such as `16.15-bookworm`, or undefined when the tag names none. */
export function postgresMajor(image: string): number | undefined {
  const m = /^(\d+)\.(\d+)(?:$|[-.])/.exec(imageTag(image));
  return m ? Number(m[1]) : undefined;
}

const PINNED = `must be pinned to a PostgreSQL major and minor version such as "${POSTGRES_IMAGES[16]}"`;

/** Why the in-cluster chart cannot run this image, or undefined. */
export function postgresImageProblem(image: string): string | undefined {
  const major = postgresMajor(image);
  if (major === undefined) return PINNED;
  if (!(SUPPORTED_MAJORS as readonly number[]).includes(major))
    return `must be PostgreSQL ${SUPPORTED_MAJORS.join(' or ')} (the data directory layout of other majors differs)`;
  return undefined;
}

/** The major of a Cloud SQL version such as `POSTGRES_16`. */
export function cloudSqlMajor(version: `POSTGRES_${keyof typeof POSTGRES_IMAGES}`): keyof typeof POSTGRES_IMAGES {
  return Number(version.slice('POSTGRES_'.length)) as keyof typeof POSTGRES_IMAGES;
}

/**
 * Why this image cannot be the grant Job's psql for a Cloud SQL instance of `major`, or undefined:
 * the same rule as the in-cluster image (a tag that names major and minor), at the instance's major.
 */
export function clientImageProblem(image: string, major: number): string | undefined {
  const own = postgresMajor(image);
  if (own === undefined)
    return `must be pinned to a PostgreSQL major and minor version such as "${POSTGRES_IMAGES[major as keyof typeof POSTGRES_IMAGES] ?? POSTGRES_IMAGES[16]}"`;
  if (own !== major)
    return `must be PostgreSQL ${major}, the major of database.cloudsql.version (POSTGRES_${major}), such as "${POSTGRES_IMAGES[major as keyof typeof POSTGRES_IMAGES]}"`;
  return undefined;
}
