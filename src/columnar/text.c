/*
 * Text form of values (see text.h for the grammar). Parsing never allocates
 * for scalars: numbers go through a stack copy (strtod needs a NUL), the
 * other types are parsed in place. Only a list element string with escapes
 * needs a scratch buffer, allocated once per call.
 *
 * strtod/snprintf follow LC_NUMERIC; floe assumes the host leaves it at "C"
 * (the default until a program calls setlocale).
 */
#include "columnar/text.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

__extension__ typedef __int128 i128;
__extension__ typedef unsigned __int128 u128;

#define US_PER_DAY 86400000000LL
#define US_PER_SEC 1000000LL

/* ---- errors ---- */

/* Writes s[0..n) as a short, printable quotation: at most 40 bytes of the
 * input, non-printable bytes as \xNN, "..." when cut. */
static const char *quote(const char *s, size_t n, char *buf, size_t cap) {
  size_t o = 0, i = 0;
  for (; i < n && i < 40 && o + 5 < cap; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch == '"' || ch == '\\')
      o += (size_t)snprintf(buf + o, cap - o, "\\%c", ch);
    else if (ch < 0x20 || ch >= 0x7f)
      o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", ch);
    else
      buf[o++] = (char)ch;
  }
  if (i < n && o + 4 <= cap) {
    memcpy(buf + o, "...", 3);
    o += 3;
  }
  buf[o] = 0;
  return buf;
}

static floe_status bad_text(col_dtype t, const char *s, size_t n,
                            const char *why, floe_error *err) {
  char tn[48], q[200];
  return ferr_set(err, FLOE_EINVAL, "%s: %s: \"%s\"",
                  col_dtype_format(t, tn, sizeof tn), why,
                  quote(s, n, q, sizeof q));
}

/* ---- small scanners ---- */

static bool is_digit(char ch) { return ch >= '0' && ch <= '9'; }

static int hex_val(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

static bool ieq(const char *s, size_t n, const char *lit) {
  size_t m = strlen(lit);
  if (n != m) return false;
  for (size_t i = 0; i < n; i++) {
    char a = s[i];
    if (a >= 'A' && a <= 'Z') a = (char)(a - 'A' + 'a');
    if (a != lit[i]) return false;
  }
  return true;
}

/* Exactly k digits at s[*pos]; -1 otherwise. */
static int64_t digits_n(const char *s, size_t n, size_t *pos, int k) {
  if (n - *pos < (size_t)k) return -1;
  int64_t v = 0;
  for (int i = 0; i < k; i++) {
    char ch = s[*pos + (size_t)i];
    if (!is_digit(ch)) return -1;
    v = v * 10 + (ch - '0');
  }
  *pos += (size_t)k;
  return v;
}

size_t col_utf8_check(const uint8_t *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    if (n - i >= 8) {
      uint64_t w;
      memcpy(&w, s + i, 8);
      if (!(w & 0x8080808080808080ULL)) {
        i += 8;
        continue;
      }
    }
    uint8_t c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t len;
    uint8_t lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      if (c == 0xe0) lo = 0xa0; /* overlong */
      if (c == 0xed) hi = 0x9f; /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      if (c == 0xf0) lo = 0x90; /* overlong */
      if (c == 0xf4) hi = 0x8f; /* past U+10FFFF */
    } else {
      return i;
    }
    if (n - i < len || s[i + 1] < lo || s[i + 1] > hi) return i;
    for (size_t k = 2; k < len; k++)
      if ((s[i + k] & 0xc0) != 0x80) return i;
    i += len;
  }
  return n;
}

/* ---- integers ---- */

/* [+-]digits within [lo, hi]. Returns NULL or why it failed. */
static const char *parse_int(const char *s, size_t n, int64_t lo, int64_t hi,
                             int64_t *out) {
  size_t i = 0;
  bool neg = false;
  if (i < n && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
  if (i == n) return "not an integer";
  uint64_t limit = neg ? (uint64_t)(-(lo + 1)) + 1 : (uint64_t)hi;
  uint64_t v = 0;
  bool range = false;
  for (; i < n; i++) {
    if (!is_digit(s[i])) return "not an integer";
    unsigned d = (unsigned)(s[i] - '0');
    if (v > (limit - d) / 10)
      range = true; /* keep scanning for syntax */
    else
      v = v * 10 + d;
  }
  if (range) return "out of range";
  *out = neg ? (int64_t)(0 - v) : (int64_t)v;
  return NULL;
}

/* ---- floats ---- */

/* Checks the float grammar (so strtod's extras such as hex floats, "nan(...)"
 * and leading spaces are refused) and parses. */
static const char *parse_float(const char *s, size_t n, bool f32, double *dv,
                               float *fv) {
  size_t i = 0;
  bool neg = false;
  if (i < n && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
  const char *w = s + i;
  size_t wn = n - i;
  if (ieq(w, wn, "nan")) {
    *dv = NAN;
    *fv = NAN;
    return NULL;
  }
  if (ieq(w, wn, "infinity") || ieq(w, wn, "inf")) {
    *dv = neg ? -INFINITY : INFINITY;
    *fv = neg ? -INFINITY : INFINITY;
    return NULL;
  }
  size_t digits = 0;
  while (i < n && is_digit(s[i])) i++, digits++;
  if (i < n && s[i] == '.') {
    i++;
    while (i < n && is_digit(s[i])) i++, digits++;
  }
  if (!digits) return "not a number";
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < n && (s[i] == '+' || s[i] == '-')) i++;
    if (i == n || !is_digit(s[i])) return "not a number";
    while (i < n && is_digit(s[i])) i++;
  }
  if (i != n) return "not a number";
  /* strtod needs a NUL: a stack copy, or the heap for absurdly long
   * spellings (hundreds of digits) */
  char stack[128];
  char *buf = n < sizeof stack ? stack : malloc(n + 1);
  if (!buf) return "too long";
  memcpy(buf, s, n);
  buf[n] = 0;
  const char *why = NULL;
  if (f32) {
    *fv = strtof(buf, NULL);
    if (isinf(*fv)) why = "out of range";
  } else {
    *dv = strtod(buf, NULL);
    if (isinf(*dv)) why = "out of range";
  }
  if (buf != stack) free(buf);
  return why;
}

static bool roundtrips(const char *buf, double v, bool f32) {
  if (f32) {
    float back = strtof(buf, NULL), fv = (float)v;
    return memcmp(&back, &fv, sizeof fv) == 0;
  }
  double back = strtod(buf, NULL);
  return memcmp(&back, &v, sizeof v) == 0;
}

/*
 * The shortest text that reads back as v. Round-tripping is monotonic in the
 * digit count (the nearest p-digit decimal is also a (p+1)-digit decimal, and
 * the nearest (p+1)-digit one is no farther), so a binary search over 1..17
 * (1..9 for float32) finds the least p. Positional notation is used for
 * decimal exponents -4..16, exponent notation ("1e+20") outside.
 */
static size_t format_float(double v, bool f32, char *buf, size_t cap) {
  int lo = 1, hi = f32 ? 9 : 17;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    snprintf(buf, cap, "%.*e", mid - 1, v);
    if (roundtrips(buf, v, f32))
      hi = mid;
    else
      lo = mid + 1;
  }
  int n = snprintf(buf, cap, "%.*e", lo - 1, v);
  const char *e = strchr(buf, 'e');
  int x = e ? atoi(e + 1) : 0;
  if (x >= -4 && x < 17) {
    int dec = lo - 1 - x;
    n = snprintf(buf, cap, "%.*f", dec > 0 ? dec : 0, v);
  }
  return (size_t)n;
}

/* ---- decimals ---- */

/*
 * [+-]digits[.digits][e[+-]digits] as the unscaled value at the given scale.
 * The digits are consumed into a 128-bit accumulator; fraction digits past
 * the scale must be zeros, and at most `precision` significant digits fit.
 */
static const char *parse_decimal(const char *s, size_t n, int precision,
                                 int scale, i128 *out) {
  size_t i = 0;
  bool neg = false;
  if (i < n && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
  size_t int_start = i;
  while (i < n && is_digit(s[i])) i++;
  size_t int_end = i, frac_start = i, frac_end = i;
  if (i < n && s[i] == '.') {
    frac_start = ++i;
    while (i < n && is_digit(s[i])) i++;
    frac_end = i;
  }
  if (int_end == int_start && frac_end == frac_start) return "not a number";
  int64_t exp = 0;
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    bool eneg = false;
    if (i < n && (s[i] == '+' || s[i] == '-')) eneg = s[i++] == '-';
    if (i == n) return "not a number";
    for (; i < n && is_digit(s[i]); i++) {
      exp = exp * 10 + (s[i] - '0');
      if (exp > 1000) return "exponent out of range";
    }
    if (eneg) exp = -exp;
  }
  if (i != n) return "not a number";
  /* digit string D = int digits + frac digits; the value is D * 10^-f with
   * f fraction digits, and the unscaled value D * 10^(scale - f) */
  int64_t f = (int64_t)(frac_end - frac_start) - exp;
  int64_t ndig = (int64_t)(int_end - int_start + frac_end - frac_start);
  int64_t keep = ndig; /* digits of D that enter the value */
  if (f > scale) {
    keep = ndig - (f - scale);
    if (keep < 0) keep = 0;
  }
  u128 acc = 0;
  int sig = 0;
  for (int64_t k = 0; k < ndig; k++) {
    size_t pos = (size_t)k < int_end - int_start
                     ? int_start + (size_t)k
                     : frac_start + (size_t)k - (int_end - int_start);
    int d = s[pos] - '0';
    if (k >= keep) {
      if (d != 0) return "more fraction digits than the scale allows";
      continue;
    }
    if (sig == 0 && d == 0) continue;
    if (++sig > precision) return "more digits than the precision allows";
    acc = acc * 10 + (unsigned)d;
  }
  if (f < scale && acc != 0) {
    int64_t pad = scale - f;
    if (sig + pad > precision) return "more digits than the precision allows";
    for (int64_t k = 0; k < pad; k++) acc *= 10;
  }
  *out = neg ? -(i128)acc : (i128)acc;
  return NULL;
}

/* Digits of |v| with the decimal point `scale` places from the right. */
static size_t format_decimal(i128 v, int scale, char *buf) {
  char tmp[48];
  size_t n = 0;
  u128 u = v < 0 ? -(u128)v : (u128)v;
  /* 128-bit division is a library call: peel 19-digit chunks with one, then
   * finish each chunk in 64 bits */
  while (u > UINT64_MAX) {
    uint64_t chunk = (uint64_t)(u % 10000000000000000000ULL);
    u /= 10000000000000000000ULL;
    for (int k = 0; k < 19; k++, chunk /= 10)
      tmp[n++] = (char)('0' + chunk % 10);
  }
  uint64_t w = (uint64_t)u;
  do {
    tmp[n++] = (char)('0' + w % 10);
    w /= 10;
  } while (w);
  while (n > 1 && tmp[n - 1] == '0') n--; /* leading zeros of the chunks */
  while (n <= (size_t)scale) tmp[n++] = '0';
  size_t o = 0;
  if (v < 0) buf[o++] = '-';
  for (size_t k = n; k-- > 0;) {
    buf[o++] = tmp[k];
    if (k == (size_t)scale && scale > 0) buf[o++] = '.';
  }
  return o;
}

/* ---- dates and times ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date (any int64 year that
 * keeps the arithmetic in range). Shifting the year to start in March puts
 * the leap day last, so the day of the year is a linear formula. */
static int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;                                   /* 0..399 */
  int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* 0..365 */
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* 0..146096 */
  return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

static bool leap(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m) {
  static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : dim[m - 1];
}

/* Strips a trailing " BC" (Postgres' era marker); returns whether it was
 * there. */
static bool strip_bc(const char *s, size_t *n) {
  if (*n >= 3 && ieq(s + *n - 3, 3, " bc")) {
    *n -= 3;
    return true;
  }
  return false;
}

/* YYYY-MM-DD (4 to 7 year digits) at s[*pos]: days since the epoch. */
static const char *parse_date(const char *s, size_t n, size_t *pos, bool bc,
                              int64_t *days) {
  size_t i = *pos;
  int64_t y = 0;
  int yd = 0;
  while (i < n && is_digit(s[i]) && yd < 8) y = y * 10 + (s[i++] - '0'), yd++;
  if (yd < 4 || yd > 7 || i == n || s[i] != '-') return "not a date";
  i++;
  int64_t m = digits_n(s, n, &i, 2);
  if (m < 0 || i == n || s[i] != '-') return "not a date";
  i++;
  int64_t d = digits_n(s, n, &i, 2);
  if (d < 0) return "not a date";
  if (y == 0) return "year 0 does not exist (1 BC precedes 1 AD)";
  if (m < 1 || m > 12) return "month out of range";
  if (bc) y = 1 - y; /* astronomical year numbering */
  if (d < 1 || d > days_in_month(y, (int)m)) return "day out of range";
  *days = days_from_civil(y, (int)m, (int)d);
  *pos = i;
  return NULL;
}

/* HH:MM[:SS[.fraction]] at s[*pos]: microseconds since midnight. 24:00:00 is
 * accepted as Postgres does. */
static const char *parse_time(const char *s, size_t n, size_t *pos,
                              int64_t *us) {
  size_t i = *pos;
  int64_t h = digits_n(s, n, &i, 2);
  if (h < 0 || i == n || s[i] != ':') return "not a time";
  i++;
  int64_t mi = digits_n(s, n, &i, 2), sec = 0, frac = 0;
  if (mi < 0) return "not a time";
  if (i < n && s[i] == ':') {
    i++;
    sec = digits_n(s, n, &i, 2);
    if (sec < 0) return "not a time";
    if (i < n && s[i] == '.') {
      i++;
      int k = 0;
      if (i == n || !is_digit(s[i])) return "not a time";
      for (; i < n && is_digit(s[i]); i++, k++) {
        if (k < 6)
          frac = frac * 10 + (s[i] - '0');
        else if (s[i] != '0')
          return "more than 6 fraction digits (microseconds)";
      }
      for (; k < 6; k++) frac *= 10;
    }
  }
  if (h > 24 || mi > 59 || sec > 59) return "time out of range";
  if (h == 24 && (mi || sec || frac)) return "time out of range";
  *us = ((h * 60 + mi) * 60 + sec) * US_PER_SEC + frac;
  *pos = i;
  return NULL;
}

/* Z, +HH, +HH:MM, +HHMM, +HH:MM:SS (or -) at s[*pos]: seconds east of UTC. */
static const char *parse_offset(const char *s, size_t n, size_t *pos,
                                int64_t *secs) {
  size_t i = *pos;
  if (s[i] == 'Z' || s[i] == 'z') {
    *secs = 0;
    *pos = i + 1;
    return NULL;
  }
  int sign = s[i] == '-' ? -1 : 1;
  i++;
  int64_t h = digits_n(s, n, &i, 2), m = 0, sec = 0;
  if (h < 0) return "bad UTC offset";
  if (i < n && s[i] == ':') {
    i++;
    if ((m = digits_n(s, n, &i, 2)) < 0) return "bad UTC offset";
    if (i < n && s[i] == ':') {
      i++;
      if ((sec = digits_n(s, n, &i, 2)) < 0) return "bad UTC offset";
    }
  } else if (i < n && is_digit(s[i])) {
    if ((m = digits_n(s, n, &i, 2)) < 0) return "bad UTC offset";
  }
  if (h > 18 || m > 59 || sec > 59) return "UTC offset out of range";
  *secs = sign * ((h * 60 + m) * 60 + sec);
  *pos = i;
  return NULL;
}

static const char *parse_timestamp(const char *s, size_t n, bool tz,
                                   int64_t *out) {
  bool bc = strip_bc(s, &n);
  size_t i = 0;
  int64_t days, tod = 0, off = 0;
  const char *why = parse_date(s, n, &i, bc, &days);
  if (why) return why;
  if (i < n && (s[i] == ' ' || s[i] == 'T' || s[i] == 't')) {
    i++;
    if ((why = parse_time(s, n, &i, &tod))) return why;
  }
  if (i < n && s[i] == ' ') i++; /* "12:00:00 +02" */
  if (i < n && (s[i] == '+' || s[i] == '-' || s[i] == 'Z' || s[i] == 'z')) {
    if (!tz)
      return "a timestamp without time zone takes no UTC offset (use "
             "timestamptz)";
    if ((why = parse_offset(s, n, &i, &off))) return why;
  }
  if (i != n) return "not a timestamp";
  /* in 128 bits: days * US_PER_DAY alone may pass INT64_MIN while the sum
   * with the time of day is still in range */
  i128 us = (i128)days * US_PER_DAY + tod - (i128)off * US_PER_SEC;
  if (us < INT64_MIN || us > INT64_MAX) return "out of range";
  *out = (int64_t)us;
  return NULL;
}

/* floor division into whole days and the time of day */
static void split_us(int64_t us, int64_t *days, int64_t *tod) {
  *days = us / US_PER_DAY;
  *tod = us % US_PER_DAY;
  if (*tod < 0) {
    *tod += US_PER_DAY;
    (*days)--;
  }
}

static size_t format_date(int64_t days, char *buf, bool *bc) {
  int64_t y;
  int m, d;
  civil_from_days(days, &y, &m, &d);
  *bc = y <= 0;
  return (size_t)sprintf(buf, "%04lld-%02d-%02d", (long long)(*bc ? 1 - y : y),
                         m, d);
}

/* HH:MM:SS plus the fraction without trailing zeros */
static size_t format_tod(int64_t us, char *buf) {
  int64_t secs = us / US_PER_SEC, frac = us % US_PER_SEC;
  int n = sprintf(buf, "%02d:%02d:%02d", (int)(secs / 3600),
                  (int)(secs / 60 % 60), (int)(secs % 60));
  if (frac) {
    int digits = 6;
    while (frac % 10 == 0) frac /= 10, digits--;
    n += sprintf(buf + n, ".%0*lld", digits, (long long)frac);
  }
  return (size_t)n;
}

/* ---- parsing ---- */

static floe_status append_scalar(col_column *c, const char *s, size_t n,
                                 floe_error *err);
static floe_status append_list(col_column *c, const char *s, size_t n,
                               floe_error *err);

floe_status col_text_append(col_column *c, const char *s, size_t n,
                            floe_error *err) {
  if (c->type.id == COL_LIST) return append_list(c, s, n, err);
  return append_scalar(c, s, n, err);
}

static floe_status append_scalar(col_column *c, const char *s, size_t n,
                                 floe_error *err) {
  const char *why = NULL;
  int64_t v = 0;
  col_dtype t = c->type;
  switch (t.id) {
  case COL_BOOL:
    if (ieq(s, n, "true") || ieq(s, n, "t") || ieq(s, n, "1"))
      return col_append_bool(c, true, err);
    if (ieq(s, n, "false") || ieq(s, n, "f") || ieq(s, n, "0"))
      return col_append_bool(c, false, err);
    why = "not a boolean (true/false)";
    break;
  case COL_INT16:
    if (!(why = parse_int(s, n, INT16_MIN, INT16_MAX, &v)))
      return col_append_i16(c, (int16_t)v, err);
    break;
  case COL_INT32:
    if (!(why = parse_int(s, n, INT32_MIN, INT32_MAX, &v)))
      return col_append_i32(c, (int32_t)v, err);
    break;
  case COL_INT64:
    if (!(why = parse_int(s, n, INT64_MIN, INT64_MAX, &v)))
      return col_append_i64(c, v, err);
    break;
  case COL_FLOAT32:
  case COL_FLOAT64: {
    double d;
    float f;
    if (!(why = parse_float(s, n, t.id == COL_FLOAT32, &d, &f)))
      return t.id == COL_FLOAT32 ? col_append_f32(c, f, err)
                                 : col_append_f64(c, d, err);
    break;
  }
  case COL_DECIMAL: {
    i128 d;
    if (!(why = parse_decimal(s, n, t.precision, t.scale, &d)))
      return col_append_dec(c, (uint64_t)d, (int64_t)(d >> 64), err);
    break;
  }
  case COL_UTF8: {
    size_t bad = col_utf8_check((const uint8_t *)s, n);
    if (bad == n) return col_append_bytes(c, s, n, err);
    char msg[64];
    snprintf(msg, sizeof msg, "invalid UTF-8 at byte %zu", bad);
    return bad_text(t, s, n, msg, err);
  }
  case COL_BINARY: {
    if (n < 2 || s[0] != '\\' || (s[1] != 'x' && s[1] != 'X')) {
      why = "expected \\x followed by hex digits";
      break;
    }
    if (n % 2) {
      why = "odd number of hex digits";
      break;
    }
    /* decode straight into the column's value buffer */
    size_t len = (n - 2) / 2;
    uint8_t *dst = NULL;
    FLOE_TRY(col_bytes_begin(c, len, &dst, err));
    for (size_t k = 0; k < len; k++) {
      int hi = hex_val(s[2 + 2 * k]), lo = hex_val(s[3 + 2 * k]);
      if (hi < 0 || lo < 0) return bad_text(t, s, n, "bad hex digit", err);
      dst[k] = (uint8_t)(hi << 4 | lo);
    }
    col_bytes_commit(c, len);
    return FLOE_OK;
  }
  case COL_DATE: {
    bool bc = strip_bc(s, &n);
    size_t i = 0;
    int64_t days;
    if (!(why = parse_date(s, n, &i, bc, &days))) {
      if (i != n)
        why = "not a date";
      else if (days < INT32_MIN || days > INT32_MAX)
        why = "out of range";
      else
        return col_append_i32(c, (int32_t)days, err);
    }
    break;
  }
  case COL_TIME: {
    size_t i = 0;
    if (!(why = parse_time(s, n, &i, &v))) {
      if (i == n) return col_append_i64(c, v, err);
      why = "not a time";
    }
    break;
  }
  case COL_TIMESTAMP:
  case COL_TIMESTAMPTZ:
    if (!(why = parse_timestamp(s, n, t.id == COL_TIMESTAMPTZ, &v)))
      return col_append_i64(c, v, err);
    break;
  case COL_UUID: {
    uint8_t u[16];
    int k = 0;
    if (n != 36) {
      why = "not a uuid (8-4-4-4-12 hex digits)";
      break;
    }
    for (size_t i = 0; i < 36 && !why; i++) {
      if (i == 8 || i == 13 || i == 18 || i == 23) {
        if (s[i] != '-') why = "not a uuid (8-4-4-4-12 hex digits)";
        continue;
      }
      int hi = hex_val(s[i]), lo = hex_val(s[i + 1]);
      if (hi < 0 || lo < 0)
        why = "not a uuid (8-4-4-4-12 hex digits)";
      else
        u[k++] = (uint8_t)(hi << 4 | lo);
      i++;
    }
    if (!why) return col_append_uuid(c, u, err);
    break;
  }
  case COL_LIST:
  case COL_TYPE_COUNT: why = "not a scalar type"; break;
  }
  return bad_text(t, s, n, why, err);
}

/* ---- JSON arrays for lists ---- */

static void put_utf8(fbuf *b, uint32_t cp) {
  uint8_t *p = b->data + b->len;
  if (cp < 0x80) {
    p[0] = (uint8_t)cp;
    b->len += 1;
  } else if (cp < 0x800) {
    p[0] = (uint8_t)(0xc0 | cp >> 6);
    p[1] = (uint8_t)(0x80 | (cp & 0x3f));
    b->len += 2;
  } else if (cp < 0x10000) {
    p[0] = (uint8_t)(0xe0 | cp >> 12);
    p[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
    p[2] = (uint8_t)(0x80 | (cp & 0x3f));
    b->len += 3;
  } else {
    p[0] = (uint8_t)(0xf0 | cp >> 18);
    p[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
    p[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
    p[3] = (uint8_t)(0x80 | (cp & 0x3f));
    b->len += 4;
  }
}

static int hex4(const char *s) {
  int v = 0;
  for (int k = 0; k < 4; k++) {
    int h = hex_val(s[k]);
    if (h < 0) return -1;
    v = v << 4 | h;
  }
  return v;
}

/* Unescapes the JSON string body s[0..n) (between the quotes) into b, which
 * has room for n bytes (an escape never grows: \uXXXX is 6 bytes for at most
 * 3, a surrogate pair 12 for 4). */
static const char *json_unescape(const char *s, size_t n, fbuf *b) {
  for (size_t i = 0; i < n; i++) {
    if (s[i] != '\\') {
      b->data[b->len++] = (uint8_t)s[i];
      continue;
    }
    if (++i == n) return "unterminated escape";
    switch (s[i]) {
    case '"': b->data[b->len++] = '"'; break;
    case '\\': b->data[b->len++] = '\\'; break;
    case '/': b->data[b->len++] = '/'; break;
    case 'b': b->data[b->len++] = '\b'; break;
    case 'f': b->data[b->len++] = '\f'; break;
    case 'n': b->data[b->len++] = '\n'; break;
    case 'r': b->data[b->len++] = '\r'; break;
    case 't': b->data[b->len++] = '\t'; break;
    case 'u': {
      int cp = n - i > 4 ? hex4(s + i + 1) : -1;
      if (cp < 0) return "bad \\u escape";
      i += 4;
      if (cp >= 0xdc00 && cp <= 0xdfff) return "lone low surrogate";
      if (cp >= 0xd800 && cp <= 0xdbff) {
        int lo = n - i > 6 && s[i + 1] == '\\' && s[i + 2] == 'u'
                     ? hex4(s + i + 3)
                     : -1;
        if (lo < 0xdc00 || lo > 0xdfff) return "high surrogate without a pair";
        i += 6;
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
      }
      put_utf8(b, (uint32_t)cp);
      break;
    }
    default: return "bad escape";
    }
  }
  return NULL;
}

typedef struct jtok {
  const char *p; /* token text (string body without quotes) */
  size_t n;
  bool string;  /* a JSON string */
  bool escaped; /* ... containing backslashes */
  bool null;
} jtok;

static void skip_ws(const char *s, size_t n, size_t *i) {
  while (*i < n &&
         (s[*i] == ' ' || s[*i] == '\t' || s[*i] == '\n' || s[*i] == '\r'))
    (*i)++;
}

/* One array element at s[*i]: a string, number, true, false or null. */
static const char *json_token(const char *s, size_t n, size_t *i, jtok *t) {
  memset(t, 0, sizeof *t);
  size_t k = *i;
  if (k == n) return "unexpected end";
  char ch = s[k];
  if (ch == '"') {
    size_t start = ++k;
    while (k < n && s[k] != '"') {
      if (s[k] == '\\') {
        t->escaped = true;
        k++;
      }
      k++;
    }
    if (k >= n) return "unterminated string";
    t->p = s + start;
    t->n = k - start;
    t->string = true;
    *i = k + 1;
    return NULL;
  }
  if (ch == '[' || ch == '{')
    return "nested arrays and objects are not "
           "supported";
  size_t start = k;
  if (ch == '-' || is_digit(ch)) {
    if (s[k] == '-') k++;
    if (k == n || !is_digit(s[k])) return "bad number";
    if (s[k] == '0')
      k++;
    else
      while (k < n && is_digit(s[k])) k++;
    if (k < n && s[k] == '.') {
      k++;
      if (k == n || !is_digit(s[k])) return "bad number";
      while (k < n && is_digit(s[k])) k++;
    }
    if (k < n && (s[k] == 'e' || s[k] == 'E')) {
      k++;
      if (k < n && (s[k] == '+' || s[k] == '-')) k++;
      if (k == n || !is_digit(s[k])) return "bad number";
      while (k < n && is_digit(s[k])) k++;
    }
  } else {
    while (k < n && s[k] >= 'a' && s[k] <= 'z') k++;
    size_t len = k - start;
    if (len == 4 && memcmp(s + start, "null", 4) == 0)
      t->null = true;
    else if (!(len == 4 && memcmp(s + start, "true", 4) == 0) &&
             !(len == 5 && memcmp(s + start, "false", 5) == 0))
      return "expected a string, number, true, false or null";
  }
  t->p = s + start;
  t->n = k - start;
  *i = k;
  return NULL;
}

static floe_status append_list(col_column *c, const char *s, size_t n,
                               floe_error *err) {
  col_column *ch = c->child;
  int64_t child_len = ch->length;
  fbuf scratch = FBUF_INIT; /* only for strings with escapes */
  floe_status st = FLOE_OK;
  const char *why = NULL;
  char whybuf[128];
  size_t i = 0;
  int64_t elem = -1; /* the element being parsed, for messages */
  skip_ws(s, n, &i);
  if (i == n || s[i] != '[') {
    why = "expected a JSON array";
    goto fail;
  }
  i++;
  skip_ws(s, n, &i);
  if (i < n && s[i] == ']') {
    i++;
  } else {
    for (elem = 0;; elem++) {
      jtok t;
      skip_ws(s, n, &i);
      if ((why = json_token(s, n, &i, &t))) goto fail;
      if (t.null) {
        st = col_append_null(ch, err);
      } else if (!t.string &&
                 (ch->type.id == COL_UTF8 || ch->type.id == COL_BINARY ||
                  ch->type.id == COL_UUID)) {
        why = "expected a JSON string";
        goto fail;
      } else if (t.escaped) {
        scratch.len = 0;
        st = fbuf_reserve(&scratch, t.n, err);
        if (st != FLOE_OK) goto fail;
        if ((why = json_unescape(t.p, t.n, &scratch))) goto fail;
        st = append_scalar(ch, (const char *)scratch.data, scratch.len, err);
      } else {
        st = append_scalar(ch, t.p, t.n, err);
      }
      if (st != FLOE_OK) {
        char tn[48];
        st = ferr_prefix(err, st, "%s: element %lld",
                         col_dtype_format(c->type, tn, sizeof tn),
                         (long long)elem);
        goto fail;
      }
      skip_ws(s, n, &i);
      if (i < n && s[i] == ',') {
        i++;
        continue;
      }
      if (i < n && s[i] == ']') {
        i++;
        break;
      }
      why = "expected ',' or ']'";
      goto fail;
    }
  }
  skip_ws(s, n, &i);
  if (i != n) {
    why = "text after the array";
    goto fail;
  }
  fbuf_free(&scratch);
  st = col_list_end(c, err);
  if (st != FLOE_OK) col_truncate(ch, child_len);
  return st;
fail:
  fbuf_free(&scratch);
  col_truncate(ch, child_len); /* the row never happened */
  if (!why) return st;
  if (elem >= 0) {
    snprintf(whybuf, sizeof whybuf, "element %lld: %s", (long long)elem, why);
    why = whybuf;
  }
  return bad_text(c->type, s, n, why, err);
}

/* ---- formatting ---- */

static floe_status put_json_string(fbuf *out, const uint8_t *p, size_t n,
                                   floe_error *err) {
  /* worst case every byte becomes \u00XX */
  if (n > (SIZE_MAX - 2) / 6) return ferr_nomem(err, SIZE_MAX);
  FLOE_TRY(fbuf_reserve(out, n * 6 + 3, err)); /* + sprintf's NUL */
  uint8_t *o = out->data + out->len;
  *o++ = '"';
  for (size_t i = 0; i < n; i++) {
    uint8_t ch = p[i];
    if (ch >= 0x20 && ch != '"' && ch != '\\') {
      *o++ = ch;
      continue;
    }
    *o++ = '\\';
    switch (ch) {
    case '"': *o++ = '"'; break;
    case '\\': *o++ = '\\'; break;
    case '\b': *o++ = 'b'; break;
    case '\f': *o++ = 'f'; break;
    case '\n': *o++ = 'n'; break;
    case '\r': *o++ = 'r'; break;
    case '\t': *o++ = 't'; break;
    default: o += sprintf((char *)o, "u%04x", ch); break;
    }
  }
  *o++ = '"';
  out->len = (size_t)(o - out->data);
  return FLOE_OK;
}

/* Appends the ASCII text t[0..n), quoted when json (no escaping needed:
 * callers pass only digits, signs, letters, '-', ':', '.', '+', ' '). */
static floe_status put_text(fbuf *out, const char *t, size_t n, bool json,
                            floe_error *err) {
  FLOE_TRY(fbuf_reserve(out, n + 2, err));
  if (json) out->data[out->len++] = '"';
  memcpy(out->data + out->len, t, n);
  out->len += n;
  if (json) out->data[out->len++] = '"';
  return FLOE_OK;
}

static floe_status format_list(const col_column *c, int64_t i, fbuf *out,
                               floe_error *err) {
  const int32_t *o = col_offsets(c);
  FLOE_TRY(fbuf_put_u8(out, '[', err));
  for (int32_t k = o[i]; k < o[i + 1]; k++) {
    if (k > o[i]) FLOE_TRY(fbuf_put_u8(out, ',', err));
    if (!col_is_valid(c->child, k))
      FLOE_TRY(fbuf_append(out, "null", 4, err));
    else
      FLOE_TRY(col_text_format(c->child, k, true, out, err));
  }
  return fbuf_put_u8(out, ']', err);
}

floe_status col_text_format(const col_column *c, int64_t i, bool json,
                            fbuf *out, floe_error *err) {
  char tn[48];
  if (i < 0 || i >= c->length)
    return ferr_set(err, FLOE_EINVAL, "%s: row %lld outside 0..%lld",
                    col_dtype_format(c->type, tn, sizeof tn), (long long)i,
                    (long long)c->length);
  if (!col_is_valid(c, i))
    return ferr_set(err, FLOE_EINVAL, "%s: row %lld is null",
                    col_dtype_format(c->type, tn, sizeof tn), (long long)i);
  char buf[128];
  size_t n = 0;
  int w = col_type_width(c->type.id);
  const void *p = w ? col_get_fixed(c, i, w) : NULL;
  switch (c->type.id) {
  case COL_BOOL:
    return col_get_bool(c, i) ? fbuf_append(out, "true", 4, err)
                              : fbuf_append(out, "false", 5, err);
  case COL_INT16: {
    int16_t v;
    memcpy(&v, p, 2);
    n = (size_t)sprintf(buf, "%d", v);
    return put_text(out, buf, n, false, err);
  }
  case COL_INT32: {
    int32_t v;
    memcpy(&v, p, 4);
    n = (size_t)sprintf(buf, "%d", (int)v);
    return put_text(out, buf, n, false, err);
  }
  case COL_INT64: {
    int64_t v;
    memcpy(&v, p, 8);
    n = (size_t)sprintf(buf, "%lld", (long long)v);
    return put_text(out, buf, n, false, err);
  }
  case COL_FLOAT32:
  case COL_FLOAT64: {
    double v;
    if (c->type.id == COL_FLOAT32) {
      float f;
      memcpy(&f, p, 4);
      v = f;
    } else {
      memcpy(&v, p, 8);
    }
    if (isnan(v)) return put_text(out, "NaN", 3, json, err);
    if (isinf(v))
      return v > 0 ? put_text(out, "Infinity", 8, json, err)
                   : put_text(out, "-Infinity", 9, json, err);
    n = format_float(v, c->type.id == COL_FLOAT32, buf, sizeof buf);
    return put_text(out, buf, n, false, err);
  }
  case COL_DECIMAL: {
    uint64_t h[2];
    memcpy(h, p, 16);
    i128 v = (i128)(((u128)h[1] << 64) | h[0]);
    n = format_decimal(v, c->type.scale, buf);
    return put_text(out, buf, n, json, err);
  }
  case COL_UTF8: {
    size_t len;
    const uint8_t *b = col_get_bytes(c, i, &len);
    if (!json) return fbuf_append(out, b, len, err);
    size_t bad = col_utf8_check(b, len);
    if (bad != len)
      return ferr_set(err, FLOE_EINVAL,
                      "utf8: row %lld is not valid UTF-8 (byte %zu); it "
                      "cannot be written as JSON",
                      (long long)i, bad);
    return put_json_string(out, b, len, err);
  }
  case COL_BINARY: {
    size_t len;
    const uint8_t *b = col_get_bytes(c, i, &len);
    static const char hex[] = "0123456789abcdef";
    if (len > (SIZE_MAX - 8) / 2) return ferr_nomem(err, SIZE_MAX);
    FLOE_TRY(fbuf_reserve(out, 2 * len + 5, err));
    uint8_t *o = out->data + out->len;
    if (json) *o++ = '"';
    *o++ = '\\';
    if (json) *o++ = '\\';
    *o++ = 'x';
    for (size_t k = 0; k < len; k++) {
      *o++ = (uint8_t)hex[b[k] >> 4];
      *o++ = (uint8_t)hex[b[k] & 15];
    }
    if (json) *o++ = '"';
    out->len = (size_t)(o - out->data);
    return FLOE_OK;
  }
  case COL_DATE: {
    int32_t v;
    memcpy(&v, p, 4);
    bool bc;
    n = format_date(v, buf, &bc);
    if (bc) n += (size_t)sprintf(buf + n, " BC");
    return put_text(out, buf, n, json, err);
  }
  case COL_TIME: {
    int64_t v;
    memcpy(&v, p, 8);
    if (v < 0 || v > US_PER_DAY)
      return ferr_set(err, FLOE_ERANGE,
                      "time: row %lld holds %lld microseconds, outside one "
                      "day",
                      (long long)i, (long long)v);
    n = format_tod(v, buf);
    return put_text(out, buf, n, json, err);
  }
  case COL_TIMESTAMP:
  case COL_TIMESTAMPTZ: {
    int64_t v, days, tod;
    memcpy(&v, p, 8);
    split_us(v, &days, &tod);
    bool bc;
    n = format_date(days, buf, &bc);
    buf[n++] = ' ';
    n += format_tod(tod, buf + n);
    if (c->type.id == COL_TIMESTAMPTZ) n += (size_t)sprintf(buf + n, "+00");
    if (bc) n += (size_t)sprintf(buf + n, " BC");
    return put_text(out, buf, n, json, err);
  }
  case COL_UUID: {
    const uint8_t *u = p;
    static const char hex[] = "0123456789abcdef";
    for (int k = 0; k < 16; k++) {
      if (k == 4 || k == 6 || k == 8 || k == 10) buf[n++] = '-';
      buf[n++] = hex[u[k] >> 4];
      buf[n++] = hex[u[k] & 15];
    }
    return put_text(out, buf, n, json, err);
  }
  case COL_LIST: return format_list(c, i, out, err);
  case COL_TYPE_COUNT: break;
  }
  return ferr_set(err, FLOE_EINVAL, "invalid column type %d", (int)c->type.id);
}
