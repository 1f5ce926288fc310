// The interop table: one column per floe type (two for utf8: one with few
// distinct values so writers use a dictionary, one of long distinct strings
// that overflows it and falls back to PLAIN), nulls in every nullable column
// and the extreme values of each type at fixed rows.
import {
  DATE_MAX, DATE_MIN, INT64_MAX, INT64_MIN, TS_MAX, TS_MIN, csvField, parseType, rng, tsText, valueText,
} from './data.mjs';

const F32_MAX = 3.4028234663852886e38;
const F32_MIN_SUB = 1.401298464324817e-45;
const F64_EXTREMES = [NaN, Infinity, -Infinity, -0, 0, 1.7976931348623157e308, -1.7976931348623157e308,
  5e-324, 2.2250738585072014e-308, 0.1, 1e21, 123456789.125];
const F32_EXTREMES = [NaN, Infinity, -Infinity, -0, 0, F32_MAX, -F32_MAX, F32_MIN_SUB,
  Math.fround(0.1), Math.fround(1.17549435e-38)];
const STR_SPECIALS = ['', ' ', 'a,b', 'say "hi"', '"', '""', 'line1\nline2', 'cr\r\nlf', ',', "it's",
  'héllo wörld ✓', '日本語テキスト', '🙂🚀 emoji', '  padded  ', 'NULL', '\\N', 'null', 'tab\there',
  '[1,2]', '{"k": "v"}', '\\x00'];
const ALPHABET = Array.from('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ,.;"\'-_é中🙂\n');
const CATS = ['alpha', 'beta', 'gamma', 'δέλτα', '', 'with,comma', 'with "quote"'];

const ext = (i, xs) => (i < xs.length ? xs[i] : undefined);
// Null at rows i = o (mod p), leaving the first rows to the extremes.
const nul = (i, p, o) => i >= 24 && i % p === o;

// Every column: name, type text, nullable, gen(i, r) -> typed value or null.
// Rows 0..~20 carry the extremes; nulls appear at a different period in
// each column so no row is all-null.
export const COLUMNS = [
  { name: 'id', type: 'int64', nullable: false, gen: (i) => BigInt(i) },
  {
    name: 'c_bool', type: 'bool', gen: (i, r) => (nul(i, 11, 3) ? null : r.f() < 0.5),
  },
  {
    name: 'c_int16', type: 'int16',
    gen: (i, r) => (nul(i, 13, 1) ? null : ext(i, [-32768, 32767, 0, -1]) ?? r.int(-3, 3)),
  },
  {
    name: 'c_int32', type: 'int32',
    gen: (i, r) => (nul(i, 17, 2) ? null : ext(i, [-2147483648, 2147483647, 0]) ?? r.int(-2147483648, 2147483647)),
  },
  {
    name: 'c_int64', type: 'int64',
    gen: (i, r) => (nul(i, 19, 4) ? null : ext(i, [INT64_MIN, INT64_MAX, 0n, -1n]) ?? r.big(INT64_MIN, INT64_MAX)),
  },
  {
    name: 'c_float32', type: 'float32',
    gen: (i, r) => (nul(i, 23, 5) ? null
      : ext(i, F32_EXTREMES) ?? Math.fround((r.f() - 0.5) * 10 ** r.int(-30, 30))),
  },
  {
    name: 'c_float64', type: 'float64',
    gen: (i, r) => (nul(i, 29, 6) ? null
      : ext(i, F64_EXTREMES) ?? (r.f() - 0.5) * 10 ** r.int(-300, 300)),
  },
  {
    name: 'c_dec9', type: 'decimal(9,2)',
    gen: (i, r) => (nul(i, 7, 0) ? null
      : ext(i, [999999999n, -999999999n, 0n, -5n]) ?? BigInt(r.pick([100, 250, 1999, -1, 5, 123456, 99]))),
  },
  {
    name: 'c_dec18', type: 'decimal(18,4)',
    gen: (i, r) => (nul(i, 31, 7) ? null
      : ext(i, [10n ** 18n - 1n, -(10n ** 18n - 1n), 0n, 1n]) ?? r.big(-(10n ** 18n - 1n), 10n ** 18n - 1n)),
  },
  {
    name: 'c_dec38', type: 'decimal(38,10)',
    gen: (i, r) => (nul(i, 37, 8) ? null
      : ext(i, [10n ** 38n - 1n, -(10n ** 38n - 1n), 0n, -1n, 10n ** 10n])
        ?? ((m) => r.big(-m, m))(10n ** BigInt(r.int(1, 38)) - 1n)),
  },
  {
    name: 'c_text', type: 'utf8',
    gen: (i, r) => {
      if (nul(i, 9, 4)) return null;
      if (i < STR_SPECIALS.length) return STR_SPECIALS[i];
      if (r.f() < 0.05) return r.pick(STR_SPECIALS);
      // Long and distinct: the dictionary of a chunk outgrows 1 MiB.
      const n = r.int(0, 2000);
      let s = `${i}:`;
      for (let k = 0; k < n; k++) s += ALPHABET[Math.floor(r.f() * ALPHABET.length)];
      return s;
    },
  },
  {
    name: 'c_cat', type: 'utf8', gen: (i, r) => (nul(i, 10, 9) ? null : r.pick(CATS)),
  },
  {
    name: 'c_binary', type: 'binary',
    gen: (i, r) => (nul(i, 14, 3) ? null
      : ext(i, [Buffer.alloc(0), Buffer.from([0]), Buffer.alloc(16, 0xff), Buffer.from('\\x41"', 'latin1')])
        ?? r.bytes(r.int(0, 40))),
  },
  {
    name: 'c_date', type: 'date',
    gen: (i, r) => (nul(i, 15, 2) ? null
      : ext(i, [DATE_MIN, DATE_MAX, 0, -1, 10957]) ?? r.int(DATE_MIN, DATE_MAX)),
  },
  {
    name: 'c_time', type: 'time',
    gen: (i, r) => {
      if (nul(i, 16, 5)) return null;
      const e = ext(i, [0, 86399999999, 1, 43200000000, 1000]);
      if (e !== undefined) return e;
      const s = r.int(0, 86399) * 1000000;
      return r.pick([s, s + r.int(0, 999) * 1000, s + r.int(0, 999999)]);
    },
  },
  {
    name: 'c_timestamp', type: 'timestamp',
    gen: (i, r) => (nul(i, 18, 6) ? null
      : ext(i, [TS_MIN, TS_MAX, 0n, -1n, 946684800000000n]) ?? r.big(TS_MIN, TS_MAX)),
  },
  {
    name: 'c_timestamptz', type: 'timestamptz',
    gen: (i, r) => (nul(i, 20, 7) ? null
      : ext(i, [TS_MIN, TS_MAX, 0n, -1n]) ?? r.big(TS_MIN + 2n * 86400000000n, TS_MAX - 2n * 86400000000n)),
    // Input text in another zone now and then: floe converts it to UTC.
    csvText: (i, v) => {
      if (v === null || i < 4) return null;
      const offMin = [0, 330, -480, 60, -570, 0][i % 6];
      if (i % 6 === 5) return tsText(v) + 'Z';
      const local = v + BigInt(offMin) * 60000000n;
      const a = Math.abs(offMin);
      const sign = offMin < 0 ? '-' : '+';
      return `${tsText(local)}${sign}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
    },
  },
  {
    name: 'c_uuid', type: 'uuid',
    gen: (i, r) => (nul(i, 21, 8) ? null
      : ext(i, ['0'.repeat(32), 'f'.repeat(32)]) ?? r.bytes(16).toString('hex')),
  },
  {
    name: 'c_list_int', type: 'list<int32>',
    gen: (i, r) => {
      if (nul(i, 12, 5)) return null;
      const e = ext(i, [[], [null], [-2147483648, 2147483647, 0], [null, null]]);
      if (e !== undefined) return e;
      return Array.from({ length: r.int(0, 5) }, () => (r.f() < 0.1 ? null : r.int(-1000, 1000)));
    },
  },
  {
    name: 'c_list_text', type: 'list<utf8>',
    gen: (i, r) => {
      if (nul(i, 10, 6)) return null;
      const e = ext(i, [[], [''], [null], ['a,b', 'say "hi"', 'line1\nline2', 'héllo ✓ 🙂']]);
      if (e !== undefined) return e;
      return Array.from({ length: r.int(0, 4) }, () => (r.f() < 0.1 ? null : r.pick([...CATS, ...STR_SPECIALS])));
    },
  },
].map((c) => ({ nullable: true, ...c, t: parseType(c.type) }));

// The table: rows[i][k] is the typed value of column k in row i.
export function makeRows(n, seed = 20240601) {
  const r = rng(seed);
  const rows = [];
  for (let i = 0; i < n; i++) rows.push(COLUMNS.map((c) => c.gen(i, r)));
  return rows;
}

// Canonical floe text of every cell (null stays null).
export function canonicalRows(rows) {
  return rows.map((row) => row.map((v, k) => (v === null ? null : valueText(COLUMNS[k].t, v))));
}

// The text a CSV source file carries for a cell (usually the canonical text).
export function csvInputText(k, i, v) {
  const c = COLUMNS[k];
  if (v === null) return null;
  return (c.csvText && c.csvText(i, v)) ?? valueText(c.t, v);
}

// The source CSV text: a header of column names, then one line per row.
export function tableCsv(rows) {
  const lines = [COLUMNS.map((c) => csvField(c.name)).join(',')];
  rows.forEach((row, i) => lines.push(row.map((v, k) => csvField(csvInputText(k, i, v))).join(',')));
  return lines.join('\n') + '\n';
}
