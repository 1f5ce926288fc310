/*
 * Numbers from the Parquet format (parquet.thrift) that both the writer and
 * the reader speak. Values are the thrift enum values and field ids: they are
 * the file format and never change.
 */
#ifndef FLOE_PARQUET_FORMAT_H
#define FLOE_PARQUET_FORMAT_H

/* "PAR1" at both ends of every file */
#define PQ_MAGIC "PAR1"

/* Type (physical) */
enum {
  PQT_BOOLEAN = 0,
  PQT_INT32 = 1,
  PQT_INT64 = 2,
  PQT_INT96 = 3,
  PQT_FLOAT = 4,
  PQT_DOUBLE = 5,
  PQT_BYTE_ARRAY = 6,
  PQT_FIXED_LEN_BYTE_ARRAY = 7,
};

/* ConvertedType */
enum {
  PQCT_UTF8 = 0,
  PQCT_MAP = 1,
  PQCT_MAP_KEY_VALUE = 2,
  PQCT_LIST = 3,
  PQCT_ENUM = 4,
  PQCT_DECIMAL = 5,
  PQCT_DATE = 6,
  PQCT_TIME_MILLIS = 7,
  PQCT_TIME_MICROS = 8,
  PQCT_TIMESTAMP_MILLIS = 9,
  PQCT_TIMESTAMP_MICROS = 10,
  PQCT_UINT_8 = 11,
  PQCT_UINT_16 = 12,
  PQCT_UINT_32 = 13,
  PQCT_UINT_64 = 14,
  PQCT_INT_8 = 15,
  PQCT_INT_16 = 16,
  PQCT_INT_32 = 17,
  PQCT_INT_64 = 18,
  PQCT_JSON = 19,
  PQCT_BSON = 20,
  PQCT_INTERVAL = 21,
};

/* FieldRepetitionType */
enum { PQR_REQUIRED = 0, PQR_OPTIONAL = 1, PQR_REPEATED = 2 };

/* Encoding */
enum {
  PQE_PLAIN = 0,
  PQE_PLAIN_DICTIONARY = 2,
  PQE_RLE = 3,
  PQE_BIT_PACKED = 4,
  PQE_DELTA_BINARY_PACKED = 5,
  PQE_DELTA_LENGTH_BYTE_ARRAY = 6,
  PQE_DELTA_BYTE_ARRAY = 7,
  PQE_RLE_DICTIONARY = 8,
  PQE_BYTE_STREAM_SPLIT = 9,
};

/* PageType */
enum {
  PQP_DATA_PAGE = 0,
  PQP_INDEX_PAGE = 1,
  PQP_DICTIONARY_PAGE = 2,
  PQP_DATA_PAGE_V2 = 3,
};

/* LogicalType union members (field ids inside the LogicalType struct) */
enum {
  PQL_STRING = 1,
  PQL_MAP = 2,
  PQL_LIST = 3,
  PQL_ENUM = 4,
  PQL_DECIMAL = 5,
  PQL_DATE = 6,
  PQL_TIME = 7,
  PQL_TIMESTAMP = 8,
  PQL_INTEGER = 10,
  PQL_UNKNOWN = 11,
  PQL_JSON = 12,
  PQL_BSON = 13,
  PQL_UUID = 14,
  PQL_FLOAT16 = 15,
};

/* TimeUnit union members */
enum { PQU_MILLIS = 1, PQU_MICROS = 2, PQU_NANOS = 3 };

/* Thrift compact protocol type nibbles */
enum {
  TC_STOP = 0,
  TC_TRUE = 1,  /* bool field whose value is true */
  TC_FALSE = 2, /* bool field false; as a list element type: bool */
  TC_BYTE = 3,
  TC_I16 = 4,
  TC_I32 = 5,
  TC_I64 = 6,
  TC_DOUBLE = 7,
  TC_BINARY = 8,
  TC_LIST = 9,
  TC_SET = 10,
  TC_MAP = 11,
  TC_STRUCT = 12,
};

#endif
