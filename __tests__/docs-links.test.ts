/**
 * The docs stand on their own: every relative link of the README and docs/ reaches a file of the
 * repository (and a heading, when it names one), and no tracked file cites a document that lives
 * outside the repository.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { PROJECT_ROOT } from './support/render';

const tracked = execFileSync('git', ['ls-files'], { cwd: PROJECT_ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);
const markdown = tracked.filter((f) => f.endsWith('.md') && fs.existsSync(path.join(PROJECT_ROOT, f)));

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[`*_]/g, '')
    .replace(/[^\p{L}\p{N} -]/gu, '')
    .replace(/ /g, '-');
}

function anchors(file: string): Set<string> {
  const text = fs.readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
  return new Set([...text.matchAll(/^#+\s+(.+)$/gm)].map((m) => slug(m[1])));
}

describe('links in the docs', () => {
  test.each(markdown)('%s: every relative link reaches a file and heading of the repository', (file) => {
    const text = fs.readFileSync(path.join(PROJECT_ROOT, file), 'utf8').replace(/```[\s\S]*?```/g, '');
    const broken: string[] = [];
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target)) continue; // an absolute URL
      const [rel, anchor] = target.split('#');
      const dest = rel ? path.resolve(path.dirname(path.join(PROJECT_ROOT, file)), rel) : path.join(PROJECT_ROOT, file);
      if (!fs.existsSync(dest)) broken.push(`${target}: no such file`);
      else if (anchor && dest.endsWith('.md') && !anchors(dest).has(anchor)) broken.push(`${target}: no such heading`);
    }
    expect(broken).toEqual([]);
  });
});

describe('the repository cites only itself', () => {
  test('no tracked file cites the team notes or a design document outside the repository', () => {
    const outside = /DESIGN\.md|shared\/research|shared\/brief|shared\/DESIGN/;
    const citing = tracked.filter(
      (f) =>
        !f.startsWith('imports/') &&
        f !== '__tests__/docs-links.test.ts' &&
        fs.existsSync(path.join(PROJECT_ROOT, f)) &&
        outside.test(fs.readFileSync(path.join(PROJECT_ROOT, f), 'utf8')),
    );
    expect(citing).toEqual([]);
  });
});
