/**
 * Keeping the servers and the load apart on a small machine: the servers on one core, this process
 * (the load generator) and what it starts before them (PostgreSQL) on the others, with taskset.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';

/** This process's CPUs, from its affinity list ("0,1" or "0-3"). */
function affinity(): number[] {
  const out = execFileSync('taskset', ['-c', '-p', String(process.pid)], { encoding: 'utf8' });
  const list = out.split(':').pop()!.trim();
  return list.split(',').flatMap((part) => {
    const [from, to] = part.split('-').map(Number);
    return to === undefined ? [from] : Array.from({ length: to - from + 1 }, (_, i) => from + i);
  });
}

/** The core for the servers and the list for everything else, or undefined on one core. */
export function serverCpus(): { server: string; others: string; othersCount: number } | undefined {
  const cpus = affinity();
  if (cpus.length < 2) return undefined;
  return { server: String(cpus[cpus.length - 1]), others: cpus.slice(0, -1).join(','), othersCount: cpus.length - 1 };
}

/** Pins this process and every thread of it; what it starts from now on inherits the pinning. */
export function pinSelf(cpus: string): void {
  execFileSync('taskset', ['-a', '-c', '-p', cpus, String(process.pid)], { stdio: 'ignore' });
}

/** The process and all its descendants, from /proc. */
function tree(root: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name may hold spaces and parentheses: the fields after its last ")" are fixed.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const found = [root];
  for (let i = 0; i < found.length; i++) found.push(...(parents.get(found[i]) ?? []));
  return found;
}

/** Pins a running server: its process, its workers and every thread of them. */
export function pinTree(root: number, cpus: string): void {
  for (const pid of tree(root)) {
    try {
      execFileSync('taskset', ['-a', '-c', '-p', cpus, String(pid)], { stdio: 'ignore' });
    } catch {
      // exited meanwhile
    }
  }
}
