// Reading an Iceberg table independently of floe: avsc decodes manifest
// lists and manifests, deletion vectors are decoded from the Puffin bytes by
// the spec (big-endian length, magic D1 D3 39 64, CRC-32, u64 count, then u32
// key + portable 32-bit roaring bitmap each). Shared by iceberg.test.mjs and
// table_engine.test.mjs.
import assert from 'node:assert/strict';
import fs from 'node:fs';

import avro from 'avsc';

// Avro longs past 2^53 (random snapshot ids) as their decimal text; the
// rest as numbers.
const LONG = avro.types.LongType.__with({
  fromBuffer: (buf) => {
    const v = buf.readBigInt64LE();
    return v >= -(2n ** 53n) && v <= 2n ** 53n ? Number(v) : v.toString();
  },
  toBuffer: (n) => {
    const b = Buffer.alloc(8);
    b.writeBigInt64LE(BigInt(n));
    return b;
  },
  fromJSON: (x) => x,
  toJSON: (x) => x,
  isValid: (x) => typeof x === 'number' || typeof x === 'string',
  compare: (a, b) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0),
});

export function readAvro(file) {
  return new Promise((resolve, reject) => {
    const records = [];
    avro.createFileDecoder(file, {
      parseHook: (schema) => avro.Type.forSchema(schema, { registry: { long: LONG } }),
    })
      .on('data', (r) => records.push(r))
      .on('error', reject)
      .on('end', () => resolve(records));
  });
}

// CRC-32 (IEEE), as the Puffin DV blob uses it.
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// A 32-bit roaring bitmap in the portable format at buf[off..]: its values
// (as numbers), the bytes it took, and how many run containers it had.
function readRoaring(buf, off) {
  const start = off;
  const cookie = buf.readUInt32LE(off);
  off += 4;
  let size;
  let runFlags = null;
  if ((cookie & 0xffff) === 12347) {
    size = (cookie >>> 16) + 1;
    runFlags = buf.subarray(off, off + Math.ceil(size / 8));
    off += Math.ceil(size / 8);
  } else {
    assert.equal(cookie, 12346, 'roaring cookie');
    size = buf.readUInt32LE(off);
    off += 4;
  }
  const keys = [];
  const cards = [];
  for (let i = 0; i < size; i++) {
    keys.push(buf.readUInt16LE(off));
    cards.push(buf.readUInt16LE(off + 2) + 1);
    off += 4;
  }
  if (!runFlags || size >= 4) off += 4 * size; // container offsets
  const values = [];
  let runs = 0;
  for (let i = 0; i < size; i++) {
    const hi = keys[i] * 65536;
    const isRun = runFlags && (runFlags[i >> 3] >> (i & 7)) & 1;
    if (isRun) {
      runs++;
      const n = buf.readUInt16LE(off);
      off += 2;
      for (let r = 0; r < n; r++) {
        const s = buf.readUInt16LE(off);
        const len = buf.readUInt16LE(off + 2);
        off += 4;
        for (let v = s; v <= s + len; v++) values.push(hi + v);
      }
    } else if (cards[i] <= 4096) {
      for (let k = 0; k < cards[i]; k++) values.push(hi + buf.readUInt16LE(off + 2 * k));
      off += 2 * cards[i];
    } else {
      for (let w = 0; w < 8192; w++) {
        const byte = buf[off + w];
        for (let bit = 0; bit < 8; bit++) if ((byte >> bit) & 1) values.push(hi + w * 8 + bit);
      }
      off += 8192;
    }
    if (!isRun) assert.equal(values.filter((v) => v >= hi && v < hi + 65536).length, cards[i]);
  }
  return { values, bytes: off - start, runs };
}

// A deletion-vector-v1 blob: u32 BE length of magic + vector, magic
// D1 D3 39 64, vector (u64 LE count, then u32 LE key + roaring each),
// u32 BE CRC-32 of magic + vector.
export function decodeDV(blob) {
  const len = blob.readUInt32BE(0);
  assert.equal(len, blob.length - 8, 'DV length field');
  assert.deepEqual([...blob.subarray(4, 8)], [0xd1, 0xd3, 0x39, 0x64], 'DV magic');
  assert.equal(blob.readUInt32BE(4 + len), crc32(blob.subarray(4, 4 + len)), 'DV CRC-32');
  let off = 8;
  const count = Number(blob.readBigUInt64LE(off));
  off += 8;
  const positions = [];
  let runs = 0;
  let lastKey = -1;
  for (let i = 0; i < count; i++) {
    const key = blob.readUInt32LE(off);
    off += 4;
    assert.ok(key > lastKey, 'DV keys ascending');
    lastKey = key;
    const r = readRoaring(blob, off);
    off += r.bytes;
    runs += r.runs;
    for (const v of r.values) positions.push(key * 2 ** 32 + v);
  }
  assert.equal(off, 4 + len, 'DV vector fills its length');
  return { positions, runs };
}

// The live files of a snapshot, read with avsc: data files in manifest
// order with their data sequence numbers, and DV entries.
export async function planOf(md, snapshotId) {
  const snap = md.snapshots.find((s) => s['snapshot-id'] === snapshotId);
  const list = await readAvro(snap['manifest-list']);
  const data = [];
  const dvs = [];
  for (const mf of list) {
    for (const e of await readAvro(mf.manifest_path)) {
      if (e.status === 2) continue;
      // ADDED entries inherit the manifest's sequence number
      const seq = e.sequence_number ?? mf.sequence_number;
      const f = e.data_file;
      if (f.content === 0) data.push({ path: f.file_path, records: f.record_count, seq });
      else {
        assert.equal(f.content, 1);
        assert.equal(f.file_format, 'PUFFIN');
        dvs.push({ ...f, seq });
      }
    }
  }
  return { data, dvs };
}


// The positions deleted by DV entry d (a manifest data_file of content 1),
// read from its Puffin file by content offset and size.
export function readDV(d) {
  const fd = fs.openSync(d.file_path, 'r');
  const blob = Buffer.alloc(d.content_size_in_bytes);
  fs.readSync(fd, blob, 0, blob.length, d.content_offset);
  fs.closeSync(fd);
  return decodeDV(blob);
}
