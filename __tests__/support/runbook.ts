/** Reading dist/DEPLOY.md back: its shell blocks, and the gcloud commands in them as bash would run them. */
import { spawnSync } from 'child_process';

/** The contents of the ```sh blocks of a markdown text. */
export function shellBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
}

/**
 * Every gcloud command of the shell blocks, as its argv after bash's quoting and expansion, with the
 * variables the first block (the names) sets: at the start of a line, after a pipe, or inside `<(...)`.
 */
export function gcloudCommandsOf(markdown: string): string[][] {
  const blocks = shellBlocks(markdown);
  const names = blocks[0];
  const found: string[] = [];
  for (const block of blocks) {
    for (const line of block.replace(/\\\n/g, ' ').split('\n')) {
      const code = line.replace(/\s+#.*$/, '');
      for (const m of code.matchAll(/<\((gcloud [^)]*)\)/g)) found.push(m[1]);
      for (const segment of code.replace(/<\([^)]*\)/g, '').split(/\s\|\s/)) {
        const s = segment.trim();
        if (s.startsWith('gcloud ')) found.push(s);
      }
    }
  }
  return found.map((command) => {
    const r = spawnSync('bash', ['-c', `${names}\neval "set -- $1"; printf '%s\\x1f' "$@"`, '_', command.slice('gcloud '.length)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`bash could not read ${command}: ${r.stderr}`);
    return r.stdout.split('\x1f').slice(0, -1);
  });
}
