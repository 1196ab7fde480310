/**
 * The in-cluster PostgreSQL image: which majors the chart can run, read from the image tag. Shared by
 * the config schema (which refuses other images) and the chart (which derives paths from the major).
 */
import { imageTag } from './primitives';

/** Supported PostgreSQL majors: 18+ moved PGDATA and the image's volume, so its layout differs. */
export const SUPPORTED_MAJORS = [16, 17] as const;

/** The PostgreSQL major of an image tag such as `16.13-bookworm`, or undefined when the tag names none. */
export function postgresMajor(image: string): number | undefined {
  const m = /^(\d+)\.(\d+)(?:$|[-.])/.exec(imageTag(image));
  return m ? Number(m[1]) : undefined;
}

/** Why the chart cannot run this image, or undefined. */
export function postgresImageProblem(image: string): string | undefined {
  const major = postgresMajor(image);
  if (major === undefined) return 'must be pinned to a PostgreSQL major and minor version such as "postgres:16.13-bookworm"';
  if (!(SUPPORTED_MAJORS as readonly number[]).includes(major))
    return `must be PostgreSQL ${SUPPORTED_MAJORS.join(' or ')} (the data directory layout of other majors differs)`;
  return undefined;
}
