// floe writes Iceberg manifests and manifest lists, avsc (an independent
// Avro implementation, pinned in package-lock.json) reads them: the unit
// test test_iceberg_manifest dumps the files of its round trips into
// FLOE_DUMP_DIR; here every header key, every field id of the spec's
// manifest_entry / data_file / manifest_file / field_summary tables (with
// its type and optional-ness) and the decoded values are checked.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, test } from 'node:test';

import avro from 'avsc';

const BIN = process.env.FLOE_BIN;
assert.ok(BIN, 'set FLOE_BIN to the floe executable (tests/interop/run does)');
const TMP = process.env.INTEROP_TMP ?? fs.mkdtempSync(path.join(os.tmpdir(), 'floe-interop-'));
const DUMP = path.join(TMP, 'manifests');
// The unit test binary sits next to floe in the build directory.
const UNIT = path.join(path.dirname(BIN), 'test_iceberg_manifest');

// The spec's tables (format version 3): [id, name, required, Avro type of
// the value]; map key/value ids and list element ids as their own rows.
const ENTRY_FIELDS = [
  [0, 'status', true, 'int'],
  [1, 'snapshot_id', false, 'long'],
  [3, 'sequence_number', false, 'long'],
  [4, 'file_sequence_number', false, 'long'],
  [2, 'data_file', true, 'record'],
];
const DATA_FILE_FIELDS = [
  [134, 'content', true, 'int'],
  [100, 'file_path', true, 'string'],
  [101, 'file_format', true, 'string'],
  [102, 'partition', true, 'record'],
  [103, 'record_count', true, 'long'],
  [104, 'file_size_in_bytes', true, 'long'],
  [108, 'column_sizes', false, 'array'],
  [117, 'key', true, 'int'],
  [118, 'value', true, 'long'],
  [109, 'value_counts', false, 'array'],
  [119, 'key', true, 'int'],
  [120, 'value', true, 'long'],
  [110, 'null_value_counts', false, 'array'],
  [121, 'key', true, 'int'],
  [122, 'value', true, 'long'],
  [137, 'nan_value_counts', false, 'array'],
  [138, 'key', true, 'int'],
  [139, 'value', true, 'long'],
  [125, 'lower_bounds', false, 'array'],
  [126, 'key', true, 'int'],
  [127, 'value', true, 'bytes'],
  [128, 'upper_bounds', false, 'array'],
  [129, 'key', true, 'int'],
  [130, 'value', true, 'bytes'],
  [131, 'key_metadata', false, 'bytes'],
  [132, 'split_offsets', false, 'array'],
  [133, 'element', true, 'long'],
  [135, 'equality_ids', false, 'array'],
  [136, 'element', true, 'int'],
  [140, 'sort_order_id', false, 'int'],
  [142, 'first_row_id', false, 'long'],
  [143, 'referenced_data_file', false, 'string'],
  [144, 'content_offset', false, 'long'],
  [145, 'content_size_in_bytes', false, 'long'],
];
const MAP_RECORDS = {
  column_sizes: 'k117_v118', value_counts: 'k119_v120', null_value_counts: 'k121_v122',
  nan_value_counts: 'k138_v139', lower_bounds: 'k126_v127', upper_bounds: 'k129_v130',
};
const MANIFEST_FILE_FIELDS = [
  [500, 'manifest_path', true, 'string'],
  [501, 'manifest_length', true, 'long'],
  [502, 'partition_spec_id', true, 'int'],
  [517, 'content', true, 'int'],
  [515, 'sequence_number', true, 'long'],
  [516, 'min_sequence_number', true, 'long'],
  [503, 'added_snapshot_id', true, 'long'],
  [504, 'added_files_count', true, 'int'],
  [505, 'existing_files_count', true, 'int'],
  [506, 'deleted_files_count', true, 'int'],
  [512, 'added_rows_count', true, 'long'],
  [513, 'existing_rows_count', true, 'long'],
  [514, 'deleted_rows_count', true, 'long'],
  [507, 'partitions', false, 'array'],
  [508, 'element', true, 'record'],
  [509, 'contains_null', true, 'boolean'],
  [518, 'contains_nan', false, 'boolean'],
  [510, 'lower_bound', false, 'bytes'],
  [511, 'upper_bound', false, 'bytes'],
  [519, 'key_metadata', false, 'bytes'],
  [520, 'first_row_id', false, 'long'],
];

// Every id in an Avro schema (JSON): field-id of record fields, element-id
// of arrays. Optional means a ["null", T] union with a null default.
function collectIds(schema, named = new Map(), out = new Map()) {
  const typeName = (t) => {
    if (typeof t === 'string') return named.get(t)?.type ?? t;
    return t.type;
  };
  const visit = (t) => {
    if (Array.isArray(t)) return t.forEach(visit);
    if (typeof t !== 'object') return undefined;
    if (t.name) named.set(t.name, t);
    if (t.type === 'record') {
      for (const f of t.fields) {
        const union = Array.isArray(f.type);
        const optional = union && f.type.length === 2 && f.type[0] === 'null' &&
          Object.hasOwn(f, 'default') && f.default === null;
        if (union) assert.ok(optional, `${f.name}: the only union allowed is ["null", T] with a null default`);
        const value = union ? f.type[1] : f.type;
        assert.ok(Number.isInteger(f['field-id']), `${f.name} has a field-id`);
        assert.ok(!out.has(f['field-id']), `field id ${f['field-id']} used once`);
        out.set(f['field-id'], { name: f.name, required: !union, type: typeName(value), schema: value });
        visit(f.type);
      }
    } else if (t.type === 'array') {
      if (t['element-id'] !== undefined) {
        out.set(t['element-id'], { name: 'element', required: !Array.isArray(t.items),
          type: typeName(t.items), schema: t.items });
      }
      visit(t.items);
    }
    return undefined;
  };
  visit(schema);
  return out;
}

function checkTable(ids, table, what) {
  for (const [id, name, required, type] of table) {
    const got = ids.get(id);
    assert.ok(got, `${what}: field id ${id} (${name}) missing`);
    assert.equal(got.name, name, `${what}: name of field id ${id}`);
    assert.equal(got.required, required, `${what}: ${name} (${id}) required`);
    assert.equal(got.type, type, `${what}: ${name} (${id}) type`);
  }
}

// Header (as strings) and records of an Avro container file, decoded by avsc.
function readAvro(file) {
  return new Promise((resolve, reject) => {
    let meta;
    const records = [];
    avro.createFileDecoder(file)
      .on('metadata', (type, codec, header) => {
        meta = { codec, keys: Object.keys(header.meta) };
        for (const k of meta.keys) meta[k] = header.meta[k].toString('utf8');
      })
      .on('data', (r) => records.push(r))
      .on('error', reject)
      .on('end', () => resolve({ meta, records }));
  });
}

const hex = (b) => (b === null ? null : Buffer.from(b).toString('hex'));
// avsc decodes records as instances of generated classes: compare plain pairs
const pairs = (m) => m.map((kv) => [kv.key, kv.value]);
const le32 = (n) => { const b = Buffer.alloc(4); b.writeInt32LE(n); return b.toString('hex'); };

before(() => {
  assert.ok(fs.existsSync(UNIT), `${UNIT} missing: build the unit tests (make)`);
  fs.mkdirSync(DUMP, { recursive: true });
  const r = spawnSync(UNIT, [], { encoding: 'utf8', env: { ...process.env, FLOE_DUMP_DIR: DUMP } });
  assert.equal(r.status, 0, `test_iceberg_manifest failed:\n${r.stdout}\n${r.stderr}`);
});

test('manifest: header keys and every field id of manifest_entry / data_file', async () => {
  const { meta, records } = await readAvro(path.join(DUMP, 'manifest.avro'));
  assert.equal(meta.codec, 'deflate');
  assert.deepEqual(meta.keys, ['avro.schema', 'avro.codec', 'schema', 'schema-id', 'partition-spec',
    'partition-spec-id', 'format-version', 'content']);
  assert.equal(meta['format-version'], '3');
  assert.equal(meta.content, 'data');
  assert.equal(meta['schema-id'], '3');
  assert.equal(meta['partition-spec-id'], '2');
  assert.equal(JSON.parse(meta.schema).type, 'struct');
  const spec = JSON.parse(meta['partition-spec']);
  assert.deepEqual(spec.map((f) => [f.name, f.transform, f['source-id'], f['field-id']]), [
    ['id_bucket', 'bucket[16]', 1, 1000], ['ts_day', 'day', 2, 1001],
    ['name_trunc', 'truncate[4]', 3, 1002], ['price', 'identity', 4, 1003],
    ['f-val', 'identity', 5, 1004], ['u', 'identity', 6, 1005],
    ['price2', 'identity', 7, 1006], ['name_void', 'void', 3, 1007]]);

  const schema = JSON.parse(meta['avro.schema']);
  assert.equal(schema.name, 'manifest_entry');
  const ids = collectIds(schema);
  checkTable(ids, ENTRY_FIELDS, 'manifest_entry');
  checkTable(ids, DATA_FILE_FIELDS, 'data_file');
  assert.equal(ids.get(2).schema.name, 'r2');
  assert.equal(ids.get(102).schema.name, 'r102');
  for (const [field, rec] of Object.entries(MAP_RECORDS)) {
    const id = DATA_FILE_FIELDS.find((f) => f[1] === field)[0];
    const arr = ids.get(id).schema;
    assert.equal(arr.logicalType, 'map', `${field} is a map`);
    assert.equal(arr.items.name, rec, `${field} key/value record name`);
  }
  // partition fields: the spec's partition field ids, result types, optional
  const part = [[1000, 'id_bucket', 'int', undefined], [1001, 'ts_day', 'int', 'date'],
    [1002, 'name_trunc', 'string', undefined], [1003, 'price', 'fixed', 'decimal'],
    [1004, 'f_x2Dval', 'double', undefined], [1005, 'u', 'fixed', 'uuid'],
    [1006, 'price2', 'fixed', 'decimal'], [1007, 'name_void', 'string', undefined]];
  for (const [id, name, type, logical] of part) {
    const f = ids.get(id);
    assert.equal(f.name, name);
    assert.equal(f.required, false, `${name} optional`);
    assert.equal(f.type, type, `${name} type`);
    if (typeof f.schema === 'object') assert.equal(f.schema.logicalType, logical, `${name} logicalType`);
  }
  assert.equal(ids.size, ENTRY_FIELDS.length + DATA_FILE_FIELDS.length + part.length, 'no other ids');

  // values, as avsc decodes them
  assert.equal(records.length, 3);
  const [e0, e1, e2] = records;
  assert.deepEqual([e0.status, e0.snapshot_id, e0.sequence_number, e0.file_sequence_number], [0, 41, 5, 6]);
  assert.deepEqual([e1.status, e1.snapshot_id, e1.sequence_number, e1.file_sequence_number], [1, 77, null, null]);
  assert.deepEqual([e2.status, e2.snapshot_id, e2.sequence_number, e2.file_sequence_number], [2, 42, 3, 4]);
  const d0 = e0.data_file;
  assert.equal(d0.content, 0);
  assert.equal(d0.file_path, 's3://b/t/data/00000.parquet');
  assert.equal(d0.file_format, 'PARQUET');
  assert.equal(d0.record_count, 100);
  assert.equal(d0.file_size_in_bytes, 4096);
  const p0 = d0.partition;
  assert.equal(p0.id_bucket, 3);
  assert.equal(p0.ts_day, 17486);
  assert.equal(p0.name_trunc, 'iceb');
  assert.equal(hex(p0.price), '0000000429'); // 10.65, sign-extended to 5 bytes
  assert.equal(p0.f_x2Dval, 1.5);
  assert.equal(hex(p0.u), 'f79c3e09677c4bbda4793f349cb785e7');
  assert.equal(hex(p0.price2), 'fffffffbd7'); // -10.65
  assert.equal(p0.name_void, null);
  assert.deepEqual(pairs(d0.column_sizes), [[1, 1000], [2, 1001], [3, 1002]]);
  assert.deepEqual(d0.value_counts.map((kv) => kv.value), [100, 100, 100]);
  assert.deepEqual(d0.null_value_counts.map((kv) => kv.value), [0, 1, 2]);
  assert.deepEqual(pairs(d0.nan_value_counts), [[3, 1]]);
  assert.deepEqual(d0.lower_bounds.map((kv) => [kv.key, hex(kv.value)]), [[1, le32(0)], [3, le32(-2)]]);
  assert.deepEqual(d0.upper_bounds.map((kv) => [kv.key, hex(kv.value)]), [[1, le32(0)], [3, le32(2)]]);
  assert.equal(d0.key_metadata, null);
  assert.deepEqual(d0.split_offsets, [4, 2048]);
  assert.equal(d0.equality_ids, null);
  assert.equal(d0.sort_order_id, 1);
  assert.equal(d0.first_row_id, 5000);
  assert.equal(d0.referenced_data_file, null);
  assert.equal(d0.content_offset, null);
  assert.equal(d0.content_size_in_bytes, null);
  const d1 = e1.data_file;
  assert.ok(Object.values(d1.partition).every((v) => v === null), 'all-null partition');
  for (const k of Object.keys(MAP_RECORDS)) assert.equal(d1[k], null, `${k} null`);
  assert.equal(d1.split_offsets, null);
  assert.equal(d1.first_row_id, null);
  assert.equal(d1.sort_order_id, null);
  assert.equal(e2.data_file.partition.id_bucket, 11);
  assert.ok(Number.isNaN(e2.data_file.partition.f_x2Dval));
});

test('delete manifest: deletion vector and equality delete entries', async () => {
  const { meta, records } = await readAvro(path.join(DUMP, 'manifest-deletes.avro'));
  assert.equal(meta.content, 'deletes');
  assert.equal(meta['partition-spec'], '[]');
  const ids = collectIds(JSON.parse(meta['avro.schema']));
  checkTable(ids, ENTRY_FIELDS, 'manifest_entry');
  checkTable(ids, DATA_FILE_FIELDS, 'data_file');
  assert.deepEqual(ids.get(102).schema.fields, []);
  assert.equal(records.length, 2);
  const dv = records[0].data_file;
  assert.equal(records[0].status, 1);
  assert.equal(records[0].sequence_number, null);
  assert.equal(dv.content, 1);
  assert.equal(dv.file_format, 'PUFFIN');
  assert.equal(dv.file_path, 's3://b/t/data/dv-1.puffin');
  assert.equal(dv.record_count, 3);
  assert.equal(dv.referenced_data_file, 's3://b/t/data/00000.parquet');
  assert.equal(dv.content_offset, 4);
  assert.equal(dv.content_size_in_bytes, 57);
  assert.equal(dv.first_row_id, null); // never for delete files
  const eq = records[1].data_file;
  assert.equal(eq.content, 2);
  assert.deepEqual(eq.equality_ids, [1, 3]);
  assert.equal(records[1].sequence_number, 2);
});

test('manifest list: header keys, every field id of manifest_file, assigned row ids', async () => {
  const { meta, records } = await readAvro(path.join(DUMP, 'manifest-list.avro'));
  assert.equal(meta.codec, 'deflate');
  assert.deepEqual(meta.keys, ['avro.schema', 'avro.codec', 'snapshot-id', 'parent-snapshot-id',
    'sequence-number', 'first-row-id', 'format-version']);
  assert.equal(meta['snapshot-id'], '20');
  assert.equal(meta['parent-snapshot-id'], '19');
  assert.equal(meta['sequence-number'], '6');
  assert.equal(meta['first-row-id'], '100');
  assert.equal(meta['format-version'], '3');
  const schema = JSON.parse(meta['avro.schema']);
  assert.equal(schema.name, 'manifest_file');
  const ids = collectIds(schema);
  checkTable(ids, MANIFEST_FILE_FIELDS, 'manifest_file');
  assert.equal(ids.size, MANIFEST_FILE_FIELDS.length, 'no other ids');
  assert.equal(ids.get(508).schema.name, 'r508');

  assert.deepEqual(records.map((r) => [r.manifest_path, r.content, r.sequence_number,
    r.min_sequence_number, r.added_snapshot_id, r.first_row_id]), [
    ['s3://m/new-data.avro', 0, 6, 3, 20, 100],
    ['s3://m/new-dv.avro', 1, 6, 6, 20, null],
    ['s3://m/old.avro', 0, 2, 2, 11, 40],
    ['s3://m/new-data-2.avro', 0, 6, 6, 20, 115], // 100 + 10 added + 5 existing
  ]);
  const r0 = records[0];
  assert.deepEqual([r0.manifest_length, r0.partition_spec_id, r0.added_files_count,
    r0.existing_files_count, r0.deleted_files_count, r0.added_rows_count,
    r0.existing_rows_count, r0.deleted_rows_count], [1234, 0, 2, 1, 0, 10, 5, 3]);
  assert.deepEqual(r0.partitions, []);
  assert.equal(r0.key_metadata, null);
  assert.deepEqual(records[3].partitions.map((s) => [s.contains_null, s.contains_nan,
    hex(s.lower_bound), hex(s.upper_bound)]), [[true, null, null, null], [false, true, '01', '0900']]);
});
