// Comparison keys: every cell, whoever rendered it (our generator, DuckDB,
// floe's CSV or JSONL), is turned into one string per type so equality is
// plain string equality. Floats compare by value (NaN equals NaN, -0 differs
// from 0), since floe and DuckDB each print the shortest round-trip text in
// their own style; lists compare element by element. Everything else must
// already be floe's canonical text.
import { floatText, valueText } from './data.mjs';

const isFloat = (t) => t.id === 'float32' || t.id === 'float64';
const fix = (t, x) => (t.id === 'float32' ? Math.fround(x) : x);

// Parses a float in any of the styles seen: floe ('NaN', 'Infinity',
// '1e+300', '1.5e-07'), DuckDB ('nan', 'inf', '-inf', '-0.0').
export function parseFloatText(s) {
  const l = s.toLowerCase();
  if (l === 'nan' || l === '-nan') return NaN;
  if (l === 'inf' || l === 'infinity' || l === '+inf' || l === '+infinity') return Infinity;
  if (l === '-inf' || l === '-infinity') return -Infinity;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) throw new Error(`not a float: ${JSON.stringify(s)}`);
  return Number(s);
}

// From a typed value of the generator.
export function keyOfValue(t, v) {
  if (v === null) return null;
  if (isFloat(t)) return floatText(fix(t, v));
  if (t.id === 'list') return JSON.stringify(v.map((e) => keyOfValue(t.elem, e)));
  return valueText(t, v);
}

// From scalar text (floe CSV, or DuckDB's VARCHAR cast after duckText).
export function keyOfText(t, s) {
  if (s === null) return null;
  if (isFloat(t)) return floatText(fix(t, parseFloatText(s)));
  if (t.id === 'list') throw new Error('lists go through keyOfJson');
  return s;
}

// From a value parsed by parseJsonExact (floe JSONL, list texts, to_json).
// Numbers arrive as {num: text}.
export function keyOfJson(t, j) {
  if (j === null) return null;
  if (t.id === 'list') {
    if (!Array.isArray(j)) throw new Error(`expected a JSON array, got ${JSON.stringify(j)}`);
    return JSON.stringify(j.map((e) => keyOfJson(t.elem, e)));
  }
  if (typeof j === 'object' && 'num' in j) return keyOfText(t, j.num);
  if (typeof j === 'boolean') return j ? 'true' : 'false';
  if (typeof j === 'string') return keyOfText(t, j);
  throw new Error(`unexpected JSON value ${JSON.stringify(j)}`);
}
