/* HTTP request parsing, responses and the Prometheus text format. */
#include "server/metrics.h"

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/error.h"

/* ---- request parsing ---- */

/* RFC 9110 token characters. */
static bool is_tchar(unsigned char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
      (c >= 'A' && c <= 'Z'))
    return true;
  return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool lower_eq(const char *p, size_t n, const char *lit) {
  if (strlen(lit) != n) return false;
  for (size_t i = 0; i < n; i++) {
    char c = p[i];
    if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
    if (c != lit[i]) return false;
  }
  return true;
}

/* The request line "METHOD SP TARGET SP HTTP/1.x" (without its EOL). */
static int parse_request_line(const char *p, size_t n, met_http_req *req) {
  size_t i = 0;
  while (i < n && is_tchar((unsigned char)p[i])) i++;
  if (i == 0 || i >= n || p[i] != ' ') return 400;
  size_t mlen = i;
  size_t t0 = ++i;
  while (i < n && p[i] != ' ') {
    unsigned char c = (unsigned char)p[i];
    if (c <= 0x20 || c >= 0x7F) return 400;
    i++;
  }
  if (i >= n) return 400;
  size_t tlen = i - t0;
  const char *v = p + i + 1;
  size_t vlen = n - i - 1;
  if (vlen != 8 || memcmp(v, "HTTP/", 5) != 0 || v[6] != '.' || v[5] < '0' ||
      v[5] > '9' || v[7] < '0' || v[7] > '9')
    return 400;
  if (v[5] != '1') return 505;
  req->minor = v[7] - '0';
  if (tlen == 0 || p[t0] != '/') return 400; /* origin-form only */
  if (tlen > MET_MAX_TARGET) return 414;
  if (mlen == 3 && memcmp(p, "GET", 3) == 0)
    req->head = false;
  else if (mlen == 4 && memcmp(p, "HEAD", 4) == 0)
    req->head = true;
  else
    return 405;
  size_t plen = 0;
  while (plen < tlen && p[t0 + plen] != '?') plen++;
  memcpy(req->path, p + t0, plen);
  req->path[plen] = 0;
  return 0;
}

int met_http_parse(const char *buf, size_t n, met_http_req *req) {
  memset(req, 0, sizeof *req);
  size_t pos = 0;
  int line_no = 0, hosts = 0;
  int line_status = 0;
  /* Validate as far as complete lines go; the head ends at an empty
   * line. A bare LF ends a line too (RFC 9112 allows accepting it). */
  while (pos < n) {
    const char *nl = memchr(buf + pos, '\n', n - pos);
    size_t end = nl ? (size_t)(nl - buf) : n;
    size_t len = end - pos;
    const char *line = buf + pos;
    /* bytes of an unfinished line are checked too: a binary client is
     * refused at once, not after MET_MAX_REQUEST bytes */
    for (size_t i = 0; i < len; i++) {
      unsigned char c = (unsigned char)line[i];
      /* CR only as the line's last byte (or the last byte so far) */
      if ((c < 0x20 && c != '\t' && !(c == '\r' && i + 1 == len)) || c >= 0x7F)
        return 400;
    }
    if (!nl) break;
    if (len && line[len - 1] == '\r') len--;
    if (line_no == 0) {
      if (len == 0) return 400;
      line_status = parse_request_line(line, len, req);
      if (line_status) return line_status;
    } else if (len == 0) {
      if (end + 1 > MET_MAX_REQUEST) return 431;
      if (req->minor >= 1 && hosts != 1) return 400;
      req->len = end + 1;
      return 1;
    } else {
      if (line[0] == ' ' || line[0] == '\t') return 400; /* obs-fold */
      size_t k = 0;
      while (k < len && is_tchar((unsigned char)line[k])) k++;
      if (k == 0 || k >= len || line[k] != ':') return 400;
      const char *val = line + k + 1;
      size_t vlen = len - k - 1;
      while (vlen && (*val == ' ' || *val == '\t')) val++, vlen--;
      while (vlen && (val[vlen - 1] == ' ' || val[vlen - 1] == '\t')) vlen--;
      if (lower_eq(line, k, "host")) hosts++;
      /* no bodies: GET and HEAD have none here, and reading one would
       * need framing this server does not do */
      if (lower_eq(line, k, "transfer-encoding")) return 400;
      if (lower_eq(line, k, "content-length") && !(vlen == 1 && val[0] == '0'))
        return 400;
    }
    line_no++;
    pos = end + 1;
  }
  if (n >= MET_MAX_REQUEST) return 431;
  return 0;
}

const char *met_http_reason(int code) {
  switch (code) {
  case 200: return "OK";
  case 400: return "Bad Request";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 408: return "Request Timeout";
  case 414: return "URI Too Long";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 503: return "Service Unavailable";
  case 505: return "HTTP Version Not Supported";
  default: return "Error";
  }
}

floe_status met_http_response(fbuf *out, int code, const char *content_type,
                              const char *extra_headers, const void *body,
                              size_t n, bool head_only, floe_error *err) {
  FLOE_TRY(fbuf_printf(out, err,
                       "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
                       "Content-Length: %zu\r\nConnection: close\r\n%s\r\n",
                       code, met_http_reason(code), content_type, n,
                       extra_headers ? extra_headers : ""));
  if (!head_only) FLOE_TRY(fbuf_append(out, body, n, err));
  return FLOE_OK;
}

/* ---- Prometheus text format ---- */

/* Label values escape backslash, double quote and newline. */
static floe_status put_label(fbuf *b, const char *s, floe_error *err) {
  for (; *s; s++) {
    const char *esc = NULL;
    if (*s == '\\') esc = "\\\\";
    if (*s == '"') esc = "\\\"";
    if (*s == '\n') esc = "\\n";
    if (esc)
      FLOE_TRY(fbuf_append(b, esc, 2, err));
    else
      FLOE_TRY(fbuf_put_u8(b, (uint8_t)*s, err));
  }
  return FLOE_OK;
}

static floe_status put_double(fbuf *b, double v, floe_error *err) {
  if (isnan(v)) return fbuf_printf(b, err, "NaN");
  if (isinf(v)) return fbuf_printf(b, err, v > 0 ? "+Inf" : "-Inf");
  /* the shortest of 15 or 17 digits that reads back as v */
  char t[32];
  snprintf(t, sizeof t, "%.15g", v);
  if (strtod(t, NULL) != v) snprintf(t, sizeof t, "%.17g", v);
  return fbuf_printf(b, err, "%s", t);
}

/* Milliseconds as exact decimal seconds ("-1.005"), no float rounding. */
static floe_status put_ms_as_s(fbuf *b, int64_t ms, floe_error *err) {
  uint64_t m = ms < 0 ? (uint64_t)0 - (uint64_t)ms : (uint64_t)ms;
  return fbuf_printf(b, err, "%s%llu.%03llu", ms < 0 ? "-" : "",
                     (unsigned long long)(m / 1000),
                     (unsigned long long)(m % 1000));
}

static floe_status family(fbuf *b, const char *name, const char *type,
                          const char *help, floe_error *err) {
  return fbuf_printf(b, err, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
                     type);
}

typedef enum { V_I64, V_U64, V_F64, V_MS_AS_S, V_NONEMPTY } vkind;

/* The per-table families: one row per status field (docs/metrics.md). */
static const struct {
  const char *name, *type, *help;
  size_t off;
  vkind kind;
} table_metrics[] = {
#define F(field) offsetof(rpc_table_status, field)
    {"floe_table_rows", "gauge", "Live rows in the table's current view.",
     F(rows), V_I64},
    {"floe_table_applied_lsn", "gauge",
     "Highest source LSN whose commits are all applied (visible to reads).",
     F(applied_lsn), V_U64},
    {"floe_table_durable_lsn", "gauge",
     "Highest source LSN whose commits are all in a committed Iceberg "
     "snapshot.",
     F(durable_lsn), V_U64},
    {"floe_table_lag_bytes", "gauge",
     "Source WAL bytes not yet applied to the table.", F(lag_bytes), V_U64},
    {"floe_table_lag_seconds", "gauge",
     "Age of the oldest source change not yet applied.", F(lag_ms), V_MS_AS_S},
    {"floe_table_changes_per_second", "gauge",
     "Rows inserted plus deleted per second, recent average.",
     F(changes_per_sec), V_F64},
    {"floe_table_changes_total", "counter",
     "Rows inserted plus deleted since the daemon started.", F(changes), V_U64},
    {"floe_table_data_files", "gauge", "Live data files.", F(data_files),
     V_I64},
    {"floe_table_deletion_vectors", "gauge", "Data files with deleted rows.",
     F(deletion_vectors), V_I64},
    {"floe_table_memory_bytes", "gauge",
     "Row memory held by the table (mem slice and open transactions).",
     F(memory_bytes), V_I64},
    {"floe_table_open_transactions", "gauge",
     "Source transactions in progress.", F(open_txns), V_I64},
    {"floe_table_snapshots", "gauge", "Iceberg snapshots kept.", F(snapshots),
     V_I64},
    {"floe_table_commits_total", "counter",
     "Iceberg commits since the daemon started.", F(commits), V_U64},
    {"floe_table_last_commit_timestamp_seconds", "gauge",
     "Wall-clock time of the last Iceberg commit (Unix seconds).",
     F(last_commit_ms), V_MS_AS_S},
    {"floe_table_error", "gauge",
     "1 when the table reports an error (see floe status), else 0.",
     F(last_error), V_NONEMPTY},
#undef F
};

static floe_status table_value(fbuf *b, const rpc_table_status *t, size_t off,
                               vkind kind, floe_error *err) {
  const char *p = (const char *)t + off;
  int64_t i;
  uint64_t u;
  double d;
  switch (kind) {
  case V_I64:
    memcpy(&i, p, 8);
    return fbuf_printf(b, err, "%lld", (long long)i);
  case V_U64:
    memcpy(&u, p, 8);
    return fbuf_printf(b, err, "%llu", (unsigned long long)u);
  case V_F64: memcpy(&d, p, 8); return put_double(b, d, err);
  case V_MS_AS_S: memcpy(&i, p, 8); return put_ms_as_s(b, i, err);
  case V_NONEMPTY: {
    const char *s;
    memcpy(&s, p, sizeof s);
    return fbuf_printf(b, err, "%d", s && *s ? 1 : 0);
  }
  }
  return FLOE_OK;
}

floe_status met_prometheus(fbuf *out, const rpc_status_ok *st,
                           int64_t rss_bytes, floe_error *err) {
  if (rss_bytes >= 0) {
    FLOE_TRY(family(out, "process_resident_memory_bytes", "gauge",
                    "Resident memory size in bytes.", err));
    FLOE_TRY(fbuf_printf(out, err, "process_resident_memory_bytes %lld\n",
                         (long long)rss_bytes));
  }
  if (!st) return FLOE_OK;
  uint32_t v = st->floe_version;
  FLOE_TRY(family(out, "floe_info", "gauge",
                  "Constant 1, labelled with the mirror's name and the floe "
                  "version.",
                  err));
  FLOE_TRY(fbuf_printf(out, err, "floe_info{name=\""));
  FLOE_TRY(put_label(out, st->server ? st->server : "", err));
  FLOE_TRY(fbuf_printf(out, err, "\",version=\"%u.%u.%u\"} 1\n", v >> 24,
                       (v >> 16) & 0xFF, v & 0xFFFF));
  FLOE_TRY(family(out, "floe_uptime_seconds", "gauge",
                  "Seconds since the daemon started.", err));
  FLOE_TRY(fbuf_printf(out, err, "floe_uptime_seconds "));
  FLOE_TRY(put_ms_as_s(out, st->uptime_ms, err));
  FLOE_TRY(fbuf_put_u8(out, '\n', err));
  FLOE_TRY(family(out, "floe_memory_used_bytes", "gauge",
                  "Memory the daemon accounts against its limit.", err));
  FLOE_TRY(fbuf_printf(out, err, "floe_memory_used_bytes %lld\n",
                       (long long)st->memory_bytes));
  FLOE_TRY(family(out, "floe_memory_limit_bytes", "gauge",
                  "The daemon's memory limit (--memory-limit).", err));
  FLOE_TRY(fbuf_printf(out, err, "floe_memory_limit_bytes %lld\n",
                       (long long)st->memory_limit));
  FLOE_TRY(family(out, "floe_tables", "gauge", "Tables mirrored.", err));
  FLOE_TRY(fbuf_printf(out, err, "floe_tables %u\n", st->ntables));
  if (st->ntables == 0) return FLOE_OK;

  FLOE_TRY(family(out, "floe_table_state", "gauge",
                  "Constant 1, labelled with the table's state.", err));
  for (uint32_t t = 0; t < st->ntables; t++) {
    FLOE_TRY(fbuf_printf(out, err, "floe_table_state{table=\""));
    FLOE_TRY(put_label(out, st->tables[t].name, err));
    FLOE_TRY(fbuf_printf(out, err, "\",state=\""));
    FLOE_TRY(put_label(out, st->tables[t].state, err));
    FLOE_TRY(fbuf_printf(out, err, "\"} 1\n"));
  }
  for (size_t m = 0; m < sizeof table_metrics / sizeof table_metrics[0]; m++) {
    FLOE_TRY(family(out, table_metrics[m].name, table_metrics[m].type,
                    table_metrics[m].help, err));
    for (uint32_t t = 0; t < st->ntables; t++) {
      FLOE_TRY(fbuf_printf(out, err, "%s{table=\"", table_metrics[m].name));
      FLOE_TRY(put_label(out, st->tables[t].name, err));
      FLOE_TRY(fbuf_printf(out, err, "\"} "));
      FLOE_TRY(table_value(out, &st->tables[t], table_metrics[m].off,
                           table_metrics[m].kind, err));
      FLOE_TRY(fbuf_put_u8(out, '\n', err));
    }
  }
  return FLOE_OK;
}

int64_t met_process_rss(void) {
  int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buf[128];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = 0;
  /* "size resident shared ..." in pages */
  char *p = buf, *end;
  strtoll(p, &end, 10);
  if (end == p) return -1;
  p = end;
  long long pages = strtoll(p, &end, 10);
  if (end == p || pages < 0) return -1;
  long page = sysconf(_SC_PAGESIZE);
  if (page <= 0) return -1;
  return (int64_t)pages * page;
}
