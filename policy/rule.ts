/** A policy rule: what it is (RuleMeta) and the check it runs over a set of rendered objects. */
import type { PolicySet } from './model';
import type { RuleMeta, Violation } from './types';

export interface Rule extends RuleMeta {
  check(set: PolicySet): Iterable<Violation>;
}
