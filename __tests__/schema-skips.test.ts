/**
 * Tests skipped for want of schema files are counted, once for the run, by the reporter: those and no
 * others.
 */
import { SKIP_MARK } from './support/strict-tests';
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the reporter is plain JavaScript
const { countSchemaSkips } = require('./support/schema-skips-reporter');

const result = (status: string, title: string, ancestorTitles: string[] = []) => ({ status, title, ancestorTitles });

describe('the skipped-schema count', () => {
  test('counts skipped tests marked in their own name or in a describe block around them, and nothing else', () => {
    const aggregated = {
      testResults: [
        { testResults: [result('pending', `validates strictly ${SKIP_MARK}`), result('passed', 'renders'), result('pending', 'skipped for another reason')] },
        {
          testResults: [
            result('pending', 'rejects a misspelled field', [`strict schema validation ${SKIP_MARK}`]),
            result('pending', 'another', ['outer', `inner ${SKIP_MARK}`]),
          ],
        },
        // A marked name that ran (a filter, say) is not a skip.
        { testResults: [result('passed', `validates strictly ${SKIP_MARK}`)] },
      ],
    };
    expect(countSchemaSkips(aggregated)).toBe(3);
  });
});
