// Test data for the interop tests: a table covering every floe type, its
// values as typed JS values, and their text in floe's forms
// (src/columnar/text.h), plus the CSV and JSON handling the tests need.
//
// Typed values: bool -> boolean; int16/int32/float/date/time -> number;
// int64/decimal (unscaled)/timestamp[tz] (microseconds) -> BigInt;
// utf8 -> string; binary -> Buffer; uuid -> 32 lowercase hex digits;
// list<T> -> array of T values (null elements allowed). null is NULL.

export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;
export const DATE_MIN = -719162; // 0001-01-01
export const DATE_MAX = 2932896; // 9999-12-31
const DAY_US = 86400000000n;
export const TS_MIN = BigInt(DATE_MIN) * DAY_US; // 0001-01-01 00:00:00
export const TS_MAX = BigInt(DATE_MAX + 1) * DAY_US - 1n; // 9999-12-31 23:59:59.999999

// ---- types ----

// Parses "decimal(9,2)", "list<utf8>", "int32" into {id, precision, scale, elem}.
export function parseType(t) {
  let m = /^list<(.+)>$/.exec(t);
  if (m) return { id: 'list', elem: parseType(m[1]) };
  m = /^decimal\((\d+),(\d+)\)$/.exec(t);
  if (m) return { id: 'decimal', precision: Number(m[1]), scale: Number(m[2]) };
  return { id: t };
}

// ---- deterministic randomness ----

export function rng(seed) {
  let s = seed >>> 0;
  // mulberry32: small, fast, and the same on every machine.
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const r = {
    f: next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)), // inclusive
    pick: (xs) => xs[Math.floor(next() * xs.length)],
    u32: () => BigInt(Math.floor(next() * 4294967296)),
    // uniform-ish BigInt in [lo, hi]
    big: (lo, hi) => {
      const span = hi - lo + 1n;
      let v = 0n;
      for (let k = 0; k < 5; k++) v = (v << 32n) | r.u32();
      return lo + (v % span);
    },
    bytes: (n) => Buffer.from(Array.from({ length: n }, () => Math.floor(next() * 256))),
  };
  return r;
}

// ---- text forms (floe's, text.h) ----

const pad = (n, w) => String(n).padStart(w, '0');

export function dateText(days) {
  const d = new Date(days * 86400000);
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}`;
}

// Microseconds since midnight -> HH:MM:SS[.ffffff] without trailing zeros.
export function timeText(us) {
  us = BigInt(us);
  const frac = us % 1000000n;
  const s = Number(us / 1000000n);
  let t = `${pad(Math.floor(s / 3600), 2)}:${pad(Math.floor(s / 60) % 60, 2)}:${pad(s % 60, 2)}`;
  if (frac) t += '.' + pad(frac, 6).replace(/0+$/, '');
  return t;
}

export function tsText(us) {
  let days = us / DAY_US;
  let rem = us % DAY_US;
  if (rem < 0n) {
    rem += DAY_US;
    days -= 1n;
  }
  return `${dateText(Number(days))} ${timeText(rem)}`;
}

export function decimalText(unscaled, scale) {
  const neg = unscaled < 0n;
  let digits = (neg ? -unscaled : unscaled).toString();
  if (scale > 0) {
    digits = digits.padStart(scale + 1, '0');
    digits = digits.slice(0, digits.length - scale) + '.' + digits.slice(digits.length - scale);
  }
  return (neg ? '-' : '') + digits;
}

export function floatText(x) {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  if (Object.is(x, -0)) return '-0';
  return String(x); // shortest round-trip text for a double (and exact for a float32)
}

export function uuidText(hex) {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// The text of a non-null value v of type t (parsed), as floe prints it.
// Lists: a JSON array (the tests compare lists as parsed JSON, not as text).
export function valueText(t, v) {
  switch (t.id) {
    case 'bool': return v ? 'true' : 'false';
    case 'int16': case 'int32': case 'int64': return String(v);
    case 'float32': case 'float64': return floatText(v);
    case 'decimal': return decimalText(v, t.scale);
    case 'utf8': return v;
    case 'binary': return '\\x' + v.toString('hex');
    case 'date': return dateText(v);
    case 'time': return timeText(v);
    case 'timestamp': return tsText(v);
    case 'timestamptz': return tsText(v) + '+00';
    case 'uuid': return uuidText(v);
    case 'list':
      return '[' + v.map((e) => (e === null ? 'null' : jsonScalar(t.elem, e))).join(',') + ']';
    default: throw new Error(`no text form for ${t.id}`);
  }
}

// A list element inside floe's JSON array text: strings quoted, numbers bare.
function jsonScalar(t, v) {
  const s = valueText(t, v);
  switch (t.id) {
    case 'bool': case 'int16': case 'int32': case 'int64': case 'decimal': return s;
    case 'float32': case 'float64': return Number.isFinite(v) ? s : JSON.stringify(s);
    default: return JSON.stringify(s);
  }
}

// ---- CSV ----

// RFC 4180 quoting. NULL is an empty unquoted field; every other value is
// quoted, so an empty string ("") stays distinct from NULL.
export function csvField(s) {
  if (s === null) return '';
  return '"' + s.replaceAll('"', '""') + '"';
}

// Parses CSV text into rows of fields; a field is {text, quoted}. Handles
// quoted commas, quotes and newlines; a row ends at LF or CRLF outside quotes.
export function parseCsv(text) {
  const rows = [];
  let row = [];
  let i = 0;
  const n = text.length;
  if (n === 0) return rows;
  for (;;) {
    let field;
    if (text[i] === '"') {
      let s = '';
      i++;
      for (;;) {
        const j = text.indexOf('"', i);
        if (j < 0) throw new Error('csv: unterminated quoted field');
        s += text.slice(i, j);
        i = j + 1;
        if (text[i] === '"') {
          s += '"';
          i++;
        } else break;
      }
      field = { text: s, quoted: true };
    } else {
      let j = i;
      while (j < n && text[j] !== ',' && text[j] !== '\n' && text[j] !== '\r') j++;
      field = { text: text.slice(i, j), quoted: false };
      i = j;
    }
    row.push(field);
    if (i >= n) {
      rows.push(row);
      break;
    }
    if (text[i] === ',') {
      i++;
      continue;
    }
    if (text[i] === '\r' && text[i + 1] === '\n') i++;
    if (text[i] !== '\n') throw new Error(`csv: unexpected character at ${i}`);
    i++;
    rows.push(row);
    row = [];
    if (i >= n) break;
  }
  return rows;
}

// ---- JSON that keeps numbers as their text ----

// Parses one JSON value; numbers become {num: 'text'} so int64 and decimals
// survive exactly (JSON.parse would round them through a double).
export function parseJsonExact(text) {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\r\n'.includes(text[i])) i++;
  };
  const fail = (m) => {
    throw new Error(`json: ${m} at ${i} in ${text.slice(0, 200)}`);
  };
  const value = () => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const o = {};
      ws();
      if (text[i] === '}') {
        i++;
        return o;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected key');
        const k = str();
        ws();
        if (text[i++] !== ':') fail('expected :');
        o[k] = value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') {
          i++;
          return o;
        } else fail('expected , or }');
      }
    }
    if (c === '[') {
      i++;
      const a = [];
      ws();
      if (text[i] === ']') {
        i++;
        return a;
      }
      for (;;) {
        a.push(value());
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') {
          i++;
          return a;
        } else fail('expected , or ]');
      }
    }
    if (c === '"') return str();
    if (text.startsWith('true', i)) return (i += 4), true;
    if (text.startsWith('false', i)) return (i += 5), false;
    if (text.startsWith('null', i)) return (i += 4), null;
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 400));
    if (!m) fail('bad value');
    i += m[0].length;
    return { num: m[0] };
  };
  const str = () => {
    // JSON.parse decodes the string exactly; find its end first.
    let j = i + 1;
    while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
    if (j >= text.length) fail('unterminated string');
    const s = JSON.parse(text.slice(i, j + 1));
    i = j + 1;
    return s;
  };
  const v = value();
  ws();
  if (i !== text.length) fail('trailing text');
  return v;
}
