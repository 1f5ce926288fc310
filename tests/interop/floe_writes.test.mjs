// floe writes, DuckDB reads: `floe parquet write` turns a CSV covering every
// floe type into Parquet with each codec and page version, in several row
// groups; DuckDB must read back every value exactly, see the floe types as
// the matching DuckDB types, find the field ids, and find statistics that
// match the data of each row group.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { assertSameTable, assertStatValue, expectedStats } from './lib/check.mjs';
import { duckKey, duckType, lit, openDuck, q, renderExpr } from './lib/duck.mjs';
import { floeWrite } from './lib/floe.mjs';
import { keyOfValue } from './lib/keys.mjs';
import { COLUMNS, makeRows, tableCsv } from './lib/table.mjs';

const BIN = process.env.FLOE_BIN;
assert.ok(BIN, 'set FLOE_BIN to the floe executable (tests/interop/run does)');
const TMP = process.env.INTEROP_TMP ?? fs.mkdtempSync(path.join(os.tmpdir(), 'floe-interop-'));
const N = 4000;
// Small row groups so every file has several (the data is ~6 MB).
const ROW_GROUP_SIZE = '1M';
const NAMES = COLUMNS.map((c) => c.name);

const rows = makeRows(N, 1001);
const want = rows.map((row) => row.map((v, k) => keyOfValue(COLUMNS[k].t, v)));
const srcCsv = path.join(TMP, 'floe-writes-src.csv');
fs.writeFileSync(srcCsv, tableCsv(rows));

let duck;
before(async () => {
  duck = await openDuck();
});
after(() => duck.close());

const CODECS = { zstd: 'ZSTD', snappy: 'SNAPPY', none: 'UNCOMPRESSED' };

for (const codec of Object.keys(CODECS)) {
  for (const pageVersion of [1, 2]) {
    test(`floe writes ${codec}, data page v${pageVersion}; DuckDB reads it back`, async (t) => {
      const file = path.join(TMP, `floe-${codec}-v${pageVersion}.parquet`);
      floeWrite(BIN, srcCsv, file, { codec, pageVersion, rowGroupSize: ROW_GROUP_SIZE });
      const src = `read_parquet(${lit(file)}, file_row_number = true)`;

      // Types as DuckDB sees them.
      const desc = await duck.rows(`DESCRIBE SELECT * EXCLUDE (file_row_number) FROM ${src}`);
      assert.deepEqual(desc.map((r) => [r[0], r[1]]), COLUMNS.map((c) => [c.name, duckType(c.t)]));

      // Every value, in file order.
      const got = await duck.rows(
        `SELECT ${COLUMNS.map((c) => renderExpr(c)).join(', ')} FROM ${src} ORDER BY file_row_number`);
      assertSameTable(NAMES, want, got.map((r) => r.map((s, k) => duckKey(COLUMNS[k], s))),
        `${codec} v${pageVersion} values`);

      // Schema: repetition and Iceberg field ids (columns 1..n, list
      // elements n+1.. in column order; the middle 'list' group has none).
      const schema = await duck.objects(
        `SELECT name, repetition_type, field_id FROM parquet_schema(${lit(file)})`);
      let at = 1;
      let nextElem = COLUMNS.length + 1;
      COLUMNS.forEach((c, k) => {
        const el = schema[at++];
        assert.equal(el.name, c.name, 'schema order');
        assert.equal(el.field_id, String(k + 1), `${c.name} field_id`);
        assert.equal(el.repetition_type, c.nullable ? 'OPTIONAL' : 'REQUIRED', `${c.name} repetition`);
        if (c.t.id === 'list') {
          const mid = schema[at++];
          const elem = schema[at++];
          assert.equal(mid.repetition_type, 'REPEATED', `${c.name} list group`);
          assert.equal(mid.field_id, null, `${c.name}.list carries no field id`);
          assert.equal(elem.field_id, String(nextElem++), `${c.name} element field_id`);
        }
      });
      assert.equal(at, schema.length, 'no extra schema elements');

      // Row groups, codec, dictionary use and statistics per column chunk.
      const meta = await duck.objects(
        `SELECT row_group_id, row_group_num_rows, column_id, path_in_schema, compression, encodings,
                stats_null_count, stats_min_value, stats_max_value, dictionary_page_offset
         FROM parquet_metadata(${lit(file)}) ORDER BY row_group_id, column_id`);
      const groups = [...new Set(meta.map((m) => m.row_group_id))];
      assert.ok(groups.length >= 3, `want several row groups, got ${groups.length}`);
      let first = 0;
      const textEncodings = [];
      for (const g of groups) {
        const chunks = meta.filter((m) => m.row_group_id === g);
        assert.equal(chunks.length, COLUMNS.length, `row group ${g}: one chunk per leaf`);
        const nrows = Number(chunks[0].row_group_num_rows);
        chunks.forEach((m, k) => {
          const c = COLUMNS[k];
          const label = `${codec} v${pageVersion} row group ${g} ${c.name}`;
          assert.equal(m.path_in_schema, c.t.id === 'list' ? `${c.name}, list, element` : c.name, label);
          assert.equal(m.compression, CODECS[codec], `${label} compression`);
          const s = expectedStats(c.t, rows.slice(first, first + nrows).map((r) => r[k]));
          assert.equal(m.stats_null_count, String(s.nulls), `${label} null_count`);
          const exact = c.name !== 'c_text';
          assertStatValue(s.leaf, m.stats_min_value, s.min, 'min', exact, label);
          assertStatValue(s.leaf, m.stats_max_value, s.max, 'max', exact, label);
          if (c.name === 'c_cat') {
            assert.match(m.encodings, /DICTIONARY/, `${label}: few distinct values, want a dictionary`);
          }
          if (c.name === 'c_text') textEncodings.push(m.encodings);
        });
        first += nrows;
      }
      assert.equal(first, N, 'row groups cover every row');
      t.diagnostic(`${groups.length} row groups; c_text encodings per chunk: ${textEncodings.join(' | ')}`);
    });
  }
}

test('DuckDB reads a floe file with a column projection and a filter', async () => {
  const file = path.join(TMP, 'floe-zstd-v1.parquet');
  if (!fs.existsSync(file)) floeWrite(BIN, srcCsv, file, { rowGroupSize: ROW_GROUP_SIZE });
  const cols = COLUMNS.filter((c) => ['id', 'c_list_text', 'c_dec38'].includes(c.name));
  const got = await duck.rows(
    `SELECT ${cols.map((c) => renderExpr(c)).join(', ')} FROM read_parquet(${lit(file)})
     WHERE ${q('c_int16')} = 2 ORDER BY id`);
  const idx = cols.map((c) => COLUMNS.indexOf(c));
  const wantRows = rows.filter((r) => r[2] === 2).map((r) => idx.map((k) => keyOfValue(COLUMNS[k].t, r[k])));
  assert.ok(wantRows.length > 100);
  assertSameTable(cols.map((c) => c.name), wantRows,
    got.map((r) => r.map((s, j) => duckKey(cols[j], s))), 'projection');
});
