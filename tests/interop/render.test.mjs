// `floe scan` output read by other implementations: apache-arrow (npm) reads
// the --format arrow stream (Arrow IPC) and DuckDB the --format parquet file,
// and both must equal the --format csv output row for row, for a table with
// a column of every floe type (tests/tools/cli_mirror.c builds it through
// the engine: NULLs, NaN/Infinity/-0, 128-bit decimals, BC dates, empty and
// multi-line strings, empty lists and null elements). Read straight from the
// warehouse (--warehouse) and through the daemon's RPC scan (cli_mirror
// serving the same table with newer rows in memory).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { tableFromIPC } from 'apache-arrow';

import { assertSameTable } from './lib/check.mjs';
import { parseCsv, parseJsonExact, valueText } from './lib/data.mjs';
import { duckKey, lit, openDuck, renderExpr } from './lib/duck.mjs';
import { keyOfJson, keyOfText, keyOfValue } from './lib/keys.mjs';

const BIN = process.env.FLOE_BIN;
assert.ok(BIN, 'set FLOE_BIN to the floe executable (tests/interop/run does)');
const MIRROR = path.join(path.dirname(BIN), 'cli_mirror');
const TMP = process.env.INTEROP_TMP ?? fs.mkdtempSync(path.join(os.tmpdir(), 'floe-interop-'));
const WH = path.join(TMP, 'render-wh');
const TABLE = 'public.items';

// cli_mirror's columns (int16 is Iceberg's int: int32 from creation on).
const T = (id, extra = {}) => ({ id, ...extra });
const COLS = [
  ['id', T('int64')], ['b', T('bool')], ['s', T('int32')], ['i', T('int32')],
  ['l', T('int64')], ['f', T('float32')], ['d', T('float64')],
  ['m', T('decimal', { precision: 10, scale: 2 })],
  ['big', T('decimal', { precision: 38, scale: 9 })], ['t', T('utf8')],
  ['bin', T('binary')], ['dt', T('date')], ['tm', T('time')], ['ts', T('timestamp')],
  ['tz', T('timestamptz')], ['u', T('uuid')], ['li', T('list', { elem: T('int32') })],
  ['ls', T('list', { elem: T('utf8') })],
].map(([name, t]) => ({ name, t }));
const ARROW_TYPES = ['Int64', 'Bool', 'Int32', 'Int32', 'Int64', 'Float32', 'Float64',
  'Decimal[10e+2]', 'Decimal[38e+9]', 'Utf8', 'Binary', 'Date32<DAY>', 'Time64<MICROSECOND>',
  'Timestamp<MICROSECOND>', 'Timestamp<MICROSECOND, UTC>', 'FixedSizeBinary[16]',
  'List<Int32>', 'List<Utf8>'];

function floe(args, encoding = 'utf8') {
  const r = spawnSync(BIN, args, { encoding, maxBuffer: 1 << 30 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`floe ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

// ---- comparison keys from each output (lib/keys.mjs) ----

function csvKeys(text) {
  const recs = parseCsv(text);
  assert.deepEqual(recs[0].map((f) => f.text), COLS.map((c) => c.name), 'csv header');
  return recs.slice(1).map((rec) => rec.map((f, k) => {
    if (!f.quoted && f.text === '') return null;
    if (COLS[k].t.id === 'list') return keyOfJson(COLS[k].t, parseJsonExact(f.text));
    return keyOfText(COLS[k].t, f.text);
  }));
}

function jsonlKeys(text) {
  const lines = text.split('\n');
  assert.equal(lines.pop(), '', 'jsonl ends with a newline');
  return lines.map((line) => {
    const o = parseJsonExact(line);
    assert.deepEqual(Object.keys(o), COLS.map((c) => c.name));
    return COLS.map((c) => keyOfJson(c.t, o[c.name]));
  });
}

// floe's date text, BC years included ("0222-09-04 BC").
function dateText(days) {
  const d = new Date(days * 86400000);
  const y = d.getUTCFullYear();
  const p = (n, w) => String(n).padStart(w, '0');
  const md = `${p(d.getUTCMonth() + 1, 2)}-${p(d.getUTCDate(), 2)}`;
  return y > 0 ? `${p(y, 4)}-${md}` : `${p(1 - y, 4)}-${md} BC`;
}

const bit = (bytes, j) => ((bytes[j >> 3] >> (j & 7)) & 1) === 1;
const valid = (d, i) => !d.nullBitmap || d.nullBitmap.length === 0 || d.nullCount === 0 ||
  bit(d.nullBitmap, d.offset + i);

// Value i of an arrow Data as lib/data.mjs's typed value, read from the
// buffers themselves (so the test sees exactly what floe wrote).
function typed(t, d, i) {
  const j = d.offset + i;
  const v = d.values;
  const bytes = (a, b) => Buffer.from(v.buffer, v.byteOffset + a, b - a);
  switch (t.id) {
    case 'bool': return bit(v, j);
    case 'int32': case 'float32': case 'float64': case 'date': return v[j];
    case 'int64': case 'time': case 'timestamp': case 'timestamptz': return BigInt(v[j]);
    case 'decimal': {
      let x = 0n;
      for (let w = 3; w >= 0; w--) x = (x << 32n) | BigInt(v[4 * j + w]);
      return x >= 2n ** 127n ? x - 2n ** 128n : x;
    }
    case 'utf8': return bytes(d.valueOffsets[j], d.valueOffsets[j + 1]).toString('utf8');
    case 'binary': return Buffer.from(bytes(d.valueOffsets[j], d.valueOffsets[j + 1]));
    case 'uuid': return bytes(16 * j, 16 * j + 16).toString('hex');
    case 'list': {
      const c = d.children[0];
      const out = [];
      for (let k = d.valueOffsets[j]; k < d.valueOffsets[j + 1]; k++) {
        out.push(valid(c, k - c.offset) ? typed(t.elem, c, k - c.offset) : null);
      }
      return out;
    }
    default: throw new Error(`no reader for ${t.id}`);
  }
}

function arrowKeys(buf) {
  const tbl = tableFromIPC(buf);
  const fields = tbl.schema.fields;
  assert.deepEqual(fields.map((f) => f.name), COLS.map((c) => c.name), 'arrow field names');
  assert.deepEqual(fields.map((f) => String(f.type)), ARROW_TYPES, 'arrow types');
  assert.deepEqual(fields.map((f) => f.metadata.get('PARQUET:field_id')),
    COLS.map((c, k) => String(k + 1)), 'field ids');
  assert.equal(fields[0].nullable, false, 'id is required');
  assert.ok(fields.slice(1).every((f) => f.nullable), 'other columns nullable');
  assert.equal(fields[15].metadata.get('ARROW:extension:name'), 'arrow.uuid');
  assert.equal(fields[16].type.children[0].metadata.get('PARQUET:field_id'), '19');
  assert.equal(fields[17].type.children[0].metadata.get('PARQUET:field_id'), '20');
  const rows = Array.from({ length: tbl.numRows }, () => []);
  COLS.forEach((c, k) => {
    let r = 0;
    for (const d of tbl.getChildAt(k).data) {
      for (let i = 0; i < d.length; i++) {
        if (!valid(d, i)) rows[r++].push(null);
        else if (c.t.id === 'date') rows[r++].push(dateText(typed(c.t, d, i)));
        else rows[r++].push(keyOfValue(c.t, typed(c.t, d, i)));
      }
    }
    assert.equal(r, tbl.numRows, `column ${c.name} length`);
  });
  return { rows, batches: tbl.batches.length };
}

const NAMES = COLS.map((c) => c.name);
const byId = (rows) => [...rows].sort((a, b) => (BigInt(a[0]) < BigInt(b[0]) ? -1 : 1));

before(() => {
  const r = spawnSync(MIRROR, [WH], { encoding: 'utf8' });
  assert.equal(r.status, 0, `cli_mirror: ${r.stderr}`);
});

test('--warehouse: arrow (apache-arrow), jsonl and csv agree row for row', () => {
  const csv = csvKeys(floe(['scan', '--warehouse', WH, TABLE]));
  assert.equal(csv.length, 190, 'rows 0..199 less the 10 deleted');
  assert.ok(!csv.some((r) => r[0] === '25'), 'deleted rows are gone');
  assert.equal(csv.find((r) => r[0] === '12')[9], 'updated 12');
  const arrow = arrowKeys(floe(['scan', '--warehouse', WH, TABLE, '--format', 'arrow'], 'buffer'));
  assertSameTable(NAMES, csv, arrow.rows, 'arrow vs csv');
  assertSameTable(NAMES, csv, jsonlKeys(floe(['scan', '--warehouse', WH, TABLE, '--format', 'jsonl'])),
    'jsonl vs csv');
});

test('--warehouse: DuckDB reads the parquet output, equal to csv', async () => {
  const file = path.join(TMP, 'render-items.parquet');
  fs.writeFileSync(file, floe(['scan', '--warehouse', WH, TABLE, '--format', 'parquet'], 'buffer'));
  const csv = csvKeys(floe(['scan', '--warehouse', WH, TABLE]));
  const duck = await openDuck();
  try {
    const desc = await duck.rows(`SELECT column_name FROM (DESCRIBE SELECT * FROM read_parquet(${lit(file)}))`);
    assert.deepEqual(desc.map((r) => r[0]), NAMES, 'parquet columns');
    const got = await duck.rows(
      `SELECT ${COLS.map((c) => renderExpr(c)).join(', ')} FROM read_parquet(${lit(file)}) ORDER BY id`);
    // DuckDB writes BC dates as "0222-09-04 (BC)", floe as "0222-09-04 BC"
    const keys = got.map((r) => r.map((s, k) => {
      const v = duckKey(COLS[k], s);
      return COLS[k].t.id === 'date' && v ? v.replace(' (BC)', ' BC') : v;
    }));
    assertSameTable(NAMES, byId(csv), keys, 'duckdb(parquet) vs csv');
  } finally {
    duck.close();
  }
});

test('through the daemon: arrow and csv over RPC agree, with the rows in memory', async () => {
  const wh = path.join(TMP, 'render-wh2');
  const sock = path.join(TMP, 'render.sock');
  const d = spawn(MIRROR, [wh, sock], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    await new Promise((resolve, reject) => {
      d.stdout.on('data', (b) => { if (String(b).includes('ready')) resolve(); });
      d.on('exit', (c) => reject(new Error(`cli_mirror exited ${c}`)));
    });
    const csv = csvKeys(floe(['scan', '--socket', sock, TABLE]));
    assert.equal(csv.length, 194, '190 + 5 inserted - 1 deleted in memory');
    assert.ok(csv.some((r) => r[0] === '1004') && !csv.some((r) => r[0] === '0'));
    const arrow = arrowKeys(floe(['scan', '--socket', sock, TABLE, '--format', 'arrow'], 'buffer'));
    assert.ok(arrow.batches >= 2, 'several record batches (the engine batches 64 rows)');
    assertSameTable(NAMES, csv, arrow.rows, 'daemon arrow vs csv');
    const one = csvKeys(floe(['scan', '--socket', sock, TABLE, '--where-key', 'id=1003']));
    assert.deepEqual(one, csv.filter((r) => r[0] === '1003'), '--where-key');
    assert.equal(valueText(COLS[0].t, 1003n), one[0][0]);
  } finally {
    d.kill('SIGTERM');
  }
});

after(() => fs.rmSync(WH, { recursive: true, force: true }));
