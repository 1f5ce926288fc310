/*
 * COPY text rows (see copytext.h). One pass over the line: bytes without a
 * special meaning are copied down to the write position (a no-op until the
 * first escape), so the common row without escapes costs one compare per
 * byte and no moves.
 */
#include "pg/copytext.h"

#include <stdint.h>
#include <string.h>

static int hexval(unsigned char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

/* The first index >= i (or n) holding delim or a backslash. SWAR: a byte of
 * x ^ pattern is zero exactly where x has the pattern's byte. */
static size_t span_plain(const char *line, size_t i, size_t n, char delim) {
  const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
  const uint64_t dpat = ones * (uint8_t)delim, bpat = ones * (uint8_t)'\\';
  while (n - i >= 8) {
    uint64_t x;
    memcpy(&x, line + i, 8);
    uint64_t a = x ^ dpat, b = x ^ bpat;
    if (((a - ones) & ~a & highs) | ((b - ones) & ~b & highs)) break;
    i += 8;
  }
  while (i < n && line[i] != delim && line[i] != '\\') i++;
  return i;
}

floe_status pgcp_split(char *line, size_t n, char delim, pgcp_field *out,
                       size_t nfields, floe_error *err) {
  if (n && line[n - 1] == '\n') n--;
  if (nfields == 0 || delim == '\\' || delim == '\n' || delim == '\r')
    return ferr_set(err, FLOE_EINVAL,
                    "copy row: no fields expected or a bad delimiter");
  if (n == 2 && line[0] == '\\' && line[1] == '.')
    return ferr_set(err, FLOE_EEOF, "copy row: end-of-data marker \\.");
  size_t f = 0, i = 0, w = 0, start = 0;
  for (;;) {
    /* one field: raw text from i, decoded to [start, w); NULL is decided on
     * the raw text, before decoding overwrites it */
    size_t raw = i;
    bool null = n - i >= 2 && line[i] == '\\' && line[i + 1] == 'N' &&
                (n - i == 2 || line[i + 2] == delim);
    if (null) i += 2;
    if (w == i) {
      /* nothing decoded in this line yet: skip plain bytes without moving
       * them, eight at a time while no delimiter or backslash is in sight */
      size_t j = span_plain(line, i, n, delim);
      i = w = j;
    }
    while (i < n && line[i] != delim) {
      unsigned char ch = (unsigned char)line[i];
      if (ch != '\\') {
        line[w++] = (char)ch;
        i++;
        continue;
      }
      if (++i == n)
        return ferr_set(err, FLOE_ECORRUPT,
                        "copy row: field %zu: backslash at the end of the "
                        "line (offset %zu)",
                        f + 1, i - 1);
      ch = (unsigned char)line[i++];
      switch (ch) {
      case 'b': line[w++] = '\b'; break;
      case 'f': line[w++] = '\f'; break;
      case 'n': line[w++] = '\n'; break;
      case 'r': line[w++] = '\r'; break;
      case 't': line[w++] = '\t'; break;
      case 'v': line[w++] = '\v'; break;
      case 'x': {
        int h = i < n ? hexval((unsigned char)line[i]) : -1;
        if (h < 0) { /* \x without digits is a plain x */
          line[w++] = 'x';
          break;
        }
        unsigned v = (unsigned)h;
        i++;
        if (i < n && (h = hexval((unsigned char)line[i])) >= 0) {
          v = v << 4 | (unsigned)h;
          i++;
        }
        line[w++] = (char)v;
        break;
      }
      default:
        if (ch >= '0' && ch <= '7') {
          unsigned v = (unsigned)(ch - '0');
          for (int k = 0; k < 2 && i < n && line[i] >= '0' && line[i] <= '7';
               k++)
            v = v << 3 | (unsigned)(line[i++] - '0');
          line[w++] = (char)(v & 0xff);
        } else {
          line[w++] = (char)ch; /* \\, \N inside text, \<delim>, ... */
        }
        break;
      }
    }
    if (f == nfields)
      return ferr_set(err, FLOE_ECORRUPT,
                      "copy row: more than the %zu fields expected (offset "
                      "%zu)",
                      nfields, raw);
    pgcp_field *o = &out[f++];
    o->p = line + start;
    o->n = w - start;
    o->null = null;
    if (i >= n) break;
    i++; /* the delimiter */
    w = start = i;
  }
  if (f != nfields)
    return ferr_set(err, FLOE_ECORRUPT, "copy row: %zu fields, expected %zu", f,
                    nfields);
  return FLOE_OK;
}

floe_status pgcp_append_row(const pgcp_field *fields, size_t nfields,
                            col_column *const *cols, const pgt_map *maps,
                            fbuf *scratch, floe_error *err) {
  for (size_t k = 0; k < nfields; k++) {
    floe_status st = fields[k].null
                         ? pgt_append_null(cols[k], err)
                         : pgt_append_text(cols[k], &maps[k], fields[k].p,
                                           fields[k].n, scratch, err);
    if (FLOE_UNLIKELY(st != FLOE_OK)) {
      /* the failed column is unchanged; the earlier ones got one row */
      for (size_t j = 0; j < k; j++) col_truncate(cols[j], cols[j]->length - 1);
      return ferr_prefix(err, st, "copy field %zu", k + 1);
    }
  }
  return FLOE_OK;
}

/* ---- binary ---- */

static const uint8_t SIGNATURE[11] = {'P',  'G',  'C',  'O',  'P', 'Y',
                                      '\n', 0xff, '\r', '\n', 0};

floe_status pgcp_binary_header(const uint8_t *p, size_t n, size_t *used,
                               floe_error *err) {
  fcur c = fcur_make(p, n, "copy binary header", 0);
  const uint8_t *sig;
  uint32_t flags, ext;
  FLOE_TRY(fcur_bytes(&c, sizeof SIGNATURE, &sig, err));
  if (memcmp(sig, SIGNATURE, sizeof SIGNATURE) != 0) {
    c.pos = 0;
    return fcur_fail(&c, err, "not the PGCOPY signature");
  }
  FLOE_TRY(fcur_be32(&c, &flags, err));
  if (flags & 0xffff0000u) {
    c.pos -= 4;
    floe_status st = fcur_fail(
        &c, err, "flags 0x%08x: OIDs or unknown critical flags", flags);
    if (err) err->code = FLOE_EUNSUPPORTED;
    return st == FLOE_ECORRUPT ? FLOE_EUNSUPPORTED : st;
  }
  FLOE_TRY(fcur_be32(&c, &ext, err));
  FLOE_TRY(fcur_skip(&c, ext, err));
  *used = c.pos;
  return FLOE_OK;
}

floe_status pgcp_binary_row(const uint8_t *p, size_t n, pgcp_field *out,
                            size_t nfields, size_t *used, floe_error *err) {
  fcur c = fcur_make(p, n, "copy binary tuple", 0);
  const uint8_t *b;
  FLOE_TRY(fcur_bytes(&c, 2, &b, err));
  int16_t count = (int16_t)((unsigned)b[0] << 8 | b[1]);
  if (count == -1) {
    *used = 2;
    return ferr_set(err, FLOE_EEOF, "copy binary: trailer");
  }
  if (count < 0 || (size_t)count != nfields) {
    c.pos = 0;
    return fcur_fail(&c, err, "%d fields, expected %zu", count, nfields);
  }
  for (size_t k = 0; k < nfields; k++) {
    uint32_t len;
    FLOE_TRY(fcur_be32(&c, &len, err));
    out[k].null = len == 0xffffffffu;
    out[k].n = 0;
    out[k].p = (const char *)p + c.pos;
    if (out[k].null) continue;
    if (len > fcur_left(&c))
      return fcur_fail(&c, err, "field %zu of %u bytes but only %zu left",
                       k + 1, len, fcur_left(&c));
    out[k].n = len;
    c.pos += len;
  }
  *used = c.pos;
  return FLOE_OK;
}

floe_status pgcp_append_binary_row(const pgcp_field *fields, size_t nfields,
                                   col_column *const *cols, const pgt_map *maps,
                                   floe_error *err) {
  for (size_t k = 0; k < nfields; k++) {
    floe_status st =
        fields[k].null
            ? pgt_append_null(cols[k], err)
            : pgt_append_binary(cols[k], &maps[k], (const uint8_t *)fields[k].p,
                                fields[k].n, err);
    if (FLOE_UNLIKELY(st != FLOE_OK)) {
      for (size_t j = 0; j < k; j++) col_truncate(cols[j], cols[j]->length - 1);
      return ferr_prefix(err, st, "copy field %zu", k + 1);
    }
  }
  return FLOE_OK;
}
