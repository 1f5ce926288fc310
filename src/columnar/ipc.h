/*
 * col_ipc: record batches in the Arrow IPC streaming format ("Arrow
 * Columnar Format", section "Serialization and Interprocess
 * Communication"), written by hand: the flatbuffers of Schema.fbs and
 * Message.fbs (metadata version V5), little-endian, every message
 * 8-byte aligned.
 *
 * A stream is col_ipc_schema, then col_ipc_batch per batch, then
 * col_ipc_eos. Each message is encapsulated as
 *
 *   u32 0xFFFFFFFF    continuation token
 *   i32 meta_len      flatbuffer bytes + padding (a multiple of 8)
 *   Message           flatbuffer (root table Message), zero padded
 *   body              the buffers, each starting at a multiple of 8
 *
 * and the stream ends with 0xFFFFFFFF 0x00000000.
 *
 * Type mapping (Field.type):
 *   bool Bool; int16/32/64 Int(16|32|64, signed); float32/64
 *   FloatingPoint(SINGLE|DOUBLE); decimal Decimal(p, s, 128); utf8 Utf8;
 *   binary Binary; date Date(DAY); time Time(MICROSECOND, 64); timestamp
 *   Timestamp(MICROSECOND) without zone, timestamptz with zone "UTC"; uuid
 *   FixedSizeBinary(16) with field metadata ARROW:extension:name =
 *   arrow.uuid (and ARROW:extension:metadata = ""); list List with one
 *   child field "item" (nullable as the list's elem_nullable).
 * Every field (list elements too) carries its Iceberg id as metadata
 * PARQUET:field_id, as col_schema_export does.
 *
 * Buffers per column (RecordBatch.buffers, pre-order): validity (length 0
 * when the column has no nulls), then values (bool: bitmap; fixed width:
 * the values), or offsets + data (utf8/binary), or offsets then the child's
 * buffers (list). FieldNodes are pre-order too (a list, then its child).
 */
#ifndef FLOE_COLUMNAR_IPC_H
#define FLOE_COLUMNAR_IPC_H

#include "columnar/batch.h"

/* Appends the Schema message of s to out. */
floe_status col_ipc_schema(const col_schema *s, fbuf *out, floe_error *err);
/* Appends a RecordBatch message holding the rows of b to out (the batch's
 * buffers are copied in). Batches larger than 2^31 - 1 rows or with a
 * body past 2^62 bytes are FLOE_ERANGE. */
floe_status col_ipc_batch(const col_batch *b, fbuf *out, floe_error *err);
/* Appends the end-of-stream marker. */
floe_status col_ipc_eos(fbuf *out, floe_error *err);

#endif
