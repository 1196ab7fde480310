/** Names that must change whenever an immutable object's content does. */
import { createHash } from 'crypto';

/**
 * Short content hash: part of a Job's name, because a Job's pod template is immutable.
 * Taken of the props the Job is built from (Quantity and IntOrString serialize with their value).
 */
export function contentHash(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 8);
}
