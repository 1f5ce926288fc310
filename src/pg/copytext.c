/*
 * COPY text rows (see copytext.h). One pass over the line: bytes without a
 * special meaning are copied down to the write position (a no-op until the
 * first escape), so the common row without escapes costs one compare per
 * byte and no moves.
 */
#include "pg/copytext.h"

#include <string.h>

static int hexval(unsigned char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
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
