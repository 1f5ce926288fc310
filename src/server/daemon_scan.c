/*
 * SCAN: a leased read state streamed in the requested format. The server
 * pulls one data frame at a time (srv_stream.next); each pull renders input
 * batches (columnar/render.h) until a frame's worth of output is pending,
 * so a slow reader holds one batch's output, never the table's.
 */
#include <stdlib.h>
#include <string.h>

#include "columnar/arrow.h"
#include "columnar/render.h"
#include "server/daemon_int.h"

typedef struct scan_ctx {
  struct ArrowArrayStream in; /* the renderer keeps a pointer to it */
  col_stream_render *sr;
  fbuf pending; /* rendered, not yet sent: pending.data[off..len) */
  size_t off;
  uint64_t lsn;
  bool finished;
} scan_ctx;

static floe_status sink(void *ctx, const void *p, size_t n, floe_error *err) {
  scan_ctx *s = ctx;
  if (s->off > 0 && s->off == s->pending.len) {
    s->off = 0;
    s->pending.len = 0;
  }
  return fbuf_append(&s->pending, p, n, err);
}

static floe_status scan_next(void *ctx, fbuf *out, size_t max, bool *done,
                             rpc_end *end, floe_error *err) {
  scan_ctx *s = ctx;
  *done = false;
  while (s->off == s->pending.len && !s->finished)
    FLOE_TRY(col_stream_render_step(s->sr, &s->finished, err));
  size_t left = s->pending.len - s->off;
  if (left > 0) {
    size_t n = left < max ? left : max;
    FLOE_TRY(fbuf_append(out, s->pending.data + s->off, n, err));
    s->off += n;
    return FLOE_OK;
  }
  *done = true;
  end->rows = (uint64_t)col_render_rows(col_stream_render_renderer(s->sr));
  end->lsn = s->lsn;
  return FLOE_OK;
}

static void scan_close(void *ctx) {
  scan_ctx *s = ctx;
  col_stream_render_free(s->sr);
  fbuf_free(&s->pending);
  free(s);
}

floe_status dmn_scan_handler(void *ctx, srv_call *call, floe_error *err) {
  (void)ctx;
  const rpc_scan *rq = &call->req->u.scan;
  floe_read_state *rs = call->lease_state;
  if (!rs) return ferr_set(err, FLOE_EINVAL, "scan: no read state");
  if (rq->format < COL_FMT_ARROW || rq->format > COL_FMT_MAX)
    return ferr_set(err, FLOE_EUNSUPPORTED, "scan: unknown format %u",
                    rq->format);
  col_key_eq *keys = NULL;
  if (rq->nkeys) {
    keys = farena_alloc(call->arena, rq->nkeys * sizeof *keys, err);
    if (!keys) return FLOE_ENOMEM;
    for (uint32_t i = 0; i < rq->nkeys; i++)
      keys[i] = (col_key_eq){rq->keys[i].column, rq->keys[i].value};
  }
  col_render_opts o;
  memset(&o, 0, sizeof o);
  o.format = (col_format)rq->format;
  o.keys = keys;
  o.nkeys = (int)rq->nkeys;
  /* without key conditions the engine reads only the columns asked for;
   * with them the renderer needs the key columns too and projects itself */
  const char *const *scan_cols = NULL;
  int nscan = 0;
  if (rq->nkeys) {
    o.columns = rq->columns;
    o.ncolumns = (int)rq->ncolumns;
  } else {
    scan_cols = rq->columns;
    nscan = (int)rq->ncolumns;
  }
  scan_ctx *s = calloc(1, sizeof *s);
  if (!s) return ferr_nomem(err, sizeof *s);
  s->lsn = floe_read_state_lsn(rs);
  floe_status st = floe_scan(rs, scan_cols, nscan, &s->in, err);
  if (st == FLOE_OK)
    st = col_stream_render_open(&s->in, &o, sink, s, &s->sr, err);
  if (st != FLOE_OK) {
    scan_close(s);
    return st;
  }
  call->stream = (srv_stream){s, scan_next, scan_close};
  return FLOE_OK;
}
