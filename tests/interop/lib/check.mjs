// Shared checks: table comparison with readable failures, and the expected
// Parquet statistics of a column computed from the data.
import assert from 'node:assert/strict';

import { valueText } from './data.mjs';
import { parseFloatText } from './keys.mjs';

// Fails listing the first mismatching cells of two row-major key tables.
export function assertSameTable(names, want, got, label) {
  assert.equal(got.length, want.length, `${label}: row count`);
  const bad = [];
  let total = 0;
  for (let i = 0; i < want.length; i++) {
    assert.equal(got[i].length, names.length, `${label}: row ${i} has ${got[i].length} fields`);
    for (let k = 0; k < names.length; k++) {
      if (want[i][k] !== got[i][k]) {
        if (bad.length < 12) {
          bad.push(`  row ${i} ${names[k]}: want ${JSON.stringify(want[i][k])}, got ${JSON.stringify(got[i][k])}`);
        }
        total++;
      }
    }
  }
  if (total) assert.fail(`${label}: ${total} cells differ\n${bad.join('\n')}`);
}

// Orders two non-null values of scalar type t; null for NaN (which Parquet
// statistics leave out).
function cmp(t, a, b) {
  switch (t.id) {
    case 'bool': return Number(a) - Number(b);
    case 'int64': case 'decimal': case 'timestamp': case 'timestamptz':
      return a < b ? -1 : a > b ? 1 : 0;
    case 'utf8': return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
    case 'binary': return Buffer.compare(a, b);
    case 'uuid': return a < b ? -1 : a > b ? 1 : 0;
    default: return a - b; // int16, int32, float*, date, time (numbers)
  }
}

// Expected statistics of one leaf over some rows of a column: null_count
// counts every slot whose definition level is below the maximum (a NULL
// value; for lists also a NULL or empty list and a NULL element).
export function expectedStats(t, values) {
  const leaf = t.id === 'list' ? t.elem : t;
  let nulls = 0;
  let min;
  let max;
  const see = (v) => {
    if (v === null) {
      nulls++;
      return;
    }
    if ((leaf.id === 'float32' || leaf.id === 'float64') && Number.isNaN(v)) return;
    if (min === undefined || cmp(leaf, v, min) < 0) min = v;
    if (max === undefined || cmp(leaf, v, max) > 0) max = v;
  };
  for (const v of values) {
    if (t.id !== 'list') see(v);
    else if (v === null || v.length === 0) nulls++;
    else v.forEach(see);
  }
  return { leaf, nulls, min, max };
}

// DuckDB prints BLOB statistics with printable ASCII as is and every other
// byte (and backslash and double quote) as \xHH.
function duckBlob(s) {
  const out = [];
  for (let i = 0; i < s.length; i++) {
    const m = /^\\x([0-9A-Fa-f]{2})/.exec(s.slice(i, i + 4));
    if (m) {
      out.push(parseInt(m[1], 16));
      i += 3;
    } else out.push(s.charCodeAt(i));
  }
  return Buffer.from(out);
}

// Checks DuckDB's rendering of a chunk's min/max (stats_min_value,
// stats_max_value) against the expected value. exact=false accepts a
// truncated bound (lower <= min, upper >= max), as writers may shorten long
// strings.
export function assertStatValue(leaf, text, want, which, exact, label) {
  if (want === undefined) return; // no non-null value: nothing to bound
  const isFloat = leaf.id === 'float32' || leaf.id === 'float64';
  // DuckDB's parquet_metadata() shows an infinite float bound as NULL (it
  // does so for its own files too), so an infinite bound cannot be seen.
  if (isFloat && !Number.isFinite(want) && text === null) return;
  assert.notEqual(text, null, `${label}: ${which} statistic missing`);
  if (isFloat) {
    let got = parseFloatText(text);
    if (leaf.id === 'float32') got = Math.fround(got);
    // +0 and -0 are interchangeable in bounds (the spec even asks writers
    // to widen them), so compare with ==.
    assert.ok(got == want, `${label}: ${which} ${text}, want ${want}`); // eslint-disable-line eqeqeq
    return;
  }
  if (leaf.id === 'binary') {
    const got = duckBlob(text);
    assert.ok(got.equals(want), `${label}: ${which} ${got.toString('hex')}, want ${want.toString('hex')}`);
    return;
  }
  if (!exact && leaf.id === 'utf8') {
    const c = Buffer.compare(Buffer.from(text, 'utf8'), Buffer.from(want, 'utf8'));
    assert.ok(which === 'min' ? c <= 0 : c >= 0,
      `${label}: ${which} ${JSON.stringify(text.slice(0, 40))} does not bound ${JSON.stringify(want.slice(0, 40))}`);
    return;
  }
  assert.equal(text, valueText(leaf, want), `${label}: ${which}`);
}
