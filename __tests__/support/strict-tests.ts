/**
 * Tests that need the schema files. Without them these tests are skipped, never passed: the name of a
 * skipped one carries SKIP_MARK, which schema-skips-reporter.js counts into one banner for the run.
 */
import { hasKubernetesSchema, KubernetesVersion, schemasAvailable } from './schemas';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- the reporter is plain JavaScript; one mark for both
export const SKIP_MARK: string = require('./schema-skips-reporter').SKIP_MARK;

type TestFunction = (name: string, fn?: jest.ProvidesCallback, timeout?: number) => void;
export type StrictTest = TestFunction & { readonly each: jest.Each };

const markedSkip: StrictTest = Object.assign((name: string, fn?: jest.ProvidesCallback, timeout?: number) => test.skip(`${name} ${SKIP_MARK}`, fn, timeout), {
  each: ((table: any) => (name: string, fn: any, timeout?: number) => test.skip.each(table)(`${name} ${SKIP_MARK}`, fn, timeout)) as jest.Each,
});

/** `test` when the Kubernetes definitions of `version` are in the schema folder, else a marked skip. */
export function schemaTest(version: KubernetesVersion): StrictTest {
  return hasKubernetesSchema(version) ? test : markedSkip;
}

/** A test that needs the schema folder. */
export const strictTest: StrictTest = schemasAvailable() ? test : markedSkip;

/** A describe block whose tests all need the schema folder. */
export function strictDescribe(name: string, fn: () => void): void {
  if (schemasAvailable()) describe(name, fn);
  else describe.skip(`${name} ${SKIP_MARK}`, fn);
}
