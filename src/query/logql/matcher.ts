import type { Matcher } from './ast.js';
import { jsRegex } from './regex.js';

const compiled = new WeakMap<object, RegExp>();

/** Whether a matcher accepts a value: the one rule for selectors, label filters and drop/keep items. */
export function matchesValue(m: Pick<Matcher, 'op' | 'value'>, value: string): boolean {
  switch (m.op) {
    case '=':
      return value === m.value;
    case '!=':
      return value !== m.value;
    default: {
      let re = compiled.get(m);
      if (re === undefined) {
        // Anchored at both ends, `.` matching a newline: Prometheus' ^(?s:re)$.
        re = jsRegex(m.value, true);
        compiled.set(m, re);
      }
      return re.test(value) === (m.op === '=~');
    }
  }
}
