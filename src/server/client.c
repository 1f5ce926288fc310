/* Blocking RPC client over a unix socket. */
#include "server/client.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "util/error.h"

struct rpc_client {
  int fd;
  int64_t timeout_ms;
  uint32_t max_frame;
  uint32_t next_id;
  fbuf buf; /* the frame being received */
  rpc_hello_ok server;
  farena arena; /* server strings */
};

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for fd to become ready for ev until deadline (< 0: forever). */
static floe_status wait_fd(int fd, short ev, int64_t deadline,
                           floe_error *err) {
  for (;;) {
    int t = -1;
    if (deadline >= 0) {
      int64_t left = deadline - mono_ms();
      if (left <= 0)
        return ferr_set(err, FLOE_ETIMEDOUT,
                        "the daemon did not answer in time");
      t = left > 60000 ? 60000 : (int)left;
    }
    struct pollfd p = {fd, ev, 0};
    int r = poll(&p, 1, t);
    if (r > 0) return FLOE_OK;
    if (r < 0 && errno != EINTR)
      return ferr_set(err, FLOE_EIO, "poll: %s", strerror(errno));
  }
}

static int64_t deadline_of(int64_t timeout_ms) {
  return timeout_ms < 0 ? -1 : mono_ms() + timeout_ms;
}

static floe_status send_all(rpc_client *c, const uint8_t *p, size_t n,
                            int64_t deadline, floe_error *err) {
  while (n) {
    ssize_t r = send(c->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (r > 0) {
      p += r;
      n -= (size_t)r;
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      FLOE_TRY(wait_fd(c->fd, POLLOUT, deadline, err));
      continue;
    }
    return ferr_set(err, FLOE_EIO, "sending to the daemon: %s",
                    strerror(errno));
  }
  return FLOE_OK;
}

static floe_status recv_exact(rpc_client *c, uint8_t *p, size_t n,
                              int64_t deadline, floe_error *err) {
  while (n) {
    ssize_t r = recv(c->fd, p, n, MSG_DONTWAIT);
    if (r > 0) {
      p += r;
      n -= (size_t)r;
      continue;
    }
    if (r == 0)
      return ferr_set(err, FLOE_EIO, "the daemon closed the connection");
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      FLOE_TRY(wait_fd(c->fd, POLLIN, deadline, err));
      continue;
    }
    return ferr_set(err, FLOE_EIO, "reading from the daemon: %s",
                    strerror(errno));
  }
  return FLOE_OK;
}

static floe_status recv_frame(rpc_client *c, int64_t deadline, farena *a,
                              rpc_msg *m, floe_error *err) {
  fbuf_reset(&c->buf);
  FLOE_TRY(fbuf_reserve(&c->buf, RPC_HEADER_LEN, err));
  FLOE_TRY(recv_exact(c, c->buf.data, RPC_HEADER_LEN, deadline, err));
  rpc_header h;
  FLOE_TRY(
      rpc_header_parse(c->buf.data, RPC_HEADER_LEN, c->max_frame, &h, err));
  size_t n = (size_t)h.len + 4;
  FLOE_TRY(fbuf_reserve(&c->buf, n, err));
  FLOE_TRY(recv_exact(c, c->buf.data + RPC_HEADER_LEN, n - RPC_HEADER_LEN,
                      deadline, err));
  c->buf.len = n;
  return rpc_decode(c->buf.data, n, c->max_frame, a, m, err);
}

floe_status rpc_client_send(rpc_client *c, rpc_msg *req, floe_error *err) {
  req->id = ++c->next_id;
  /* the version HELLO chose (a daemon of an older version speaks its own) */
  if (!req->version) req->version = c->server.version;
  fbuf b = FBUF_INIT;
  floe_status st = rpc_encode(&b, req,
                              c->server.max_request ? c->server.max_request
                                                    : RPC_DEFAULT_MAX_REQUEST,
                              err);
  if (st == FLOE_OK)
    st = send_all(c, b.data, b.len, deadline_of(c->timeout_ms), err);
  fbuf_free(&b);
  return st;
}

floe_status rpc_client_recv(rpc_client *c, farena *a, rpc_msg *m,
                            floe_error *err) {
  return recv_frame(c, deadline_of(c->timeout_ms), a, m, err);
}

/* The reply must answer request id with type want (or be an error). */
static floe_status check_reply(const rpc_msg *m, uint32_t id, uint16_t want,
                               floe_error *err) {
  /* id 0 is never a request's: such an error is about the connection
   * (refused, or a protocol error before the daemon closes it) */
  if (m->type == RPC_ERROR && m->id == 0)
    return ferr_set(err, m->u.error.code, "%s", m->u.error.message);
  if (m->id != id)
    return ferr_corrupt(err, "daemon answered request %u, expected %u", m->id,
                        id);
  if (m->type == RPC_ERROR)
    return ferr_set(err, m->u.error.code, "%s", m->u.error.message);
  if (m->type != want)
    return ferr_corrupt(err, "daemon sent '%s', expected '%s'",
                        rpc_type_name(m->type), rpc_type_name(want));
  return FLOE_OK;
}

static floe_status call_with_deadline(rpc_client *c, rpc_msg *req,
                                      int64_t deadline, farena *a,
                                      rpc_msg *reply, floe_error *err) {
  floe_status st = rpc_client_send(c, req, err);
  if (st == FLOE_EIO) {
    /* The daemon may have refused us and closed (too many clients, a
     * protocol error) before our request went out: its reason is then
     * waiting in the socket, and more useful than "broken pipe". */
    floe_error e2;
    int64_t soon = mono_ms() + 100;
    if (recv_frame(c, soon, a, reply, &e2) == FLOE_OK &&
        reply->type == RPC_ERROR)
      return ferr_set(err, reply->u.error.code, "%s", reply->u.error.message);
    return st;
  }
  FLOE_TRY(recv_frame(c, deadline, a, reply, err));
  return check_reply(reply, req->id, (uint16_t)(RPC_REPLY | req->type), err);
}

floe_status rpc_client_call(rpc_client *c, rpc_msg *req, farena *a,
                            rpc_msg *reply, floe_error *err) {
  if (req->type == RPC_SCAN)
    return ferr_set(err, FLOE_EINVAL, "use rpc_client_scan for scans");
  int64_t deadline = deadline_of(c->timeout_ms);
  if (req->type == RPC_READ_STATE && deadline >= 0) {
    int64_t t = req->u.read_state.timeout_ms;
    deadline = t < 0 ? -1 : deadline + t;
  }
  return call_with_deadline(c, req, deadline, a, reply, err);
}

floe_status rpc_client_scan(rpc_client *c, const rpc_scan *req,
                            rpc_data_fn sink, void *ctx, rpc_end *end,
                            floe_error *err) {
  rpc_msg m = {.type = RPC_SCAN};
  m.u.scan = *req;
  FLOE_TRY(rpc_client_send(c, &m, err));
  uint32_t id = m.id;
  farena a;
  farena_init(&a, 1024, 0);
  floe_status st;
  uint64_t bytes = 0;
  for (;;) {
    rpc_msg r;
    farena_reset(&a);
    st = recv_frame(c, deadline_of(c->timeout_ms), &a, &r, err);
    if (st != FLOE_OK) break;
    if (r.type == RPC_SCAN_DATA && r.id == id) {
      bytes += r.u.scan_data.len;
      st = sink(ctx, r.u.scan_data.data, r.u.scan_data.len, err);
      if (st != FLOE_OK) break;
      continue;
    }
    st = check_reply(&r, id, RPC_END, err);
    if (st != FLOE_OK) break;
    if (r.u.end.bytes != bytes) {
      st = ferr_corrupt(err, "scan: daemon sent %llu bytes, its end says %llu",
                        (unsigned long long)bytes,
                        (unsigned long long)r.u.end.bytes);
      break;
    }
    if (end) *end = r.u.end;
    break;
  }
  farena_free(&a);
  return st;
}

floe_status rpc_client_connect(const char *path, const char *client_name,
                               int64_t timeout_ms, rpc_client **out,
                               floe_error *err) {
  *out = NULL;
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  size_t n = strlen(path);
  if (n == 0 || n >= sizeof sa.sun_path)
    return ferr_set(err, FLOE_EINVAL,
                    "socket path %s: length %zu is not in 1..%zu", path, n,
                    sizeof sa.sun_path - 1);
  memcpy(sa.sun_path, path, n + 1);
  rpc_client *c = calloc(1, sizeof *c);
  if (!c) return ferr_nomem(err, sizeof *c);
  c->timeout_ms = timeout_ms;
  c->max_frame = RPC_DEFAULT_MAX_FRAME;
  farena_init(&c->arena, 256, 0);
  c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  floe_status st;
  if (c->fd < 0) {
    st = ferr_set(err, FLOE_EIO, "socket: %s", strerror(errno));
    goto fail;
  }
  /* connecting to a unix socket fails at once when nobody listens; it
   * only waits while the listener's backlog is full, for at most the
   * send timeout */
  if (timeout_ms > 0) {
    struct timeval tv = {(time_t)(timeout_ms / 1000),
                         (suseconds_t)(timeout_ms % 1000) * 1000};
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }
  if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    int e = errno;
    if (e == EAGAIN || e == EINPROGRESS)
      st = ferr_set(err, FLOE_ETIMEDOUT,
                    "the daemon at %s accepts no connections (busy or "
                    "stopped?)",
                    path);
    else if (e == ENOENT || e == ECONNREFUSED)
      st = ferr_set(err, FLOE_ENOTFOUND,
                    "no floe daemon listens on %s: start 'floe mirror', or "
                    "pass the daemon's --socket",
                    path);
    else
      st = ferr_set(err, FLOE_EIO, "cannot connect to %s: %s", path,
                    strerror(e));
    goto fail;
  }
  /* HELLO in the lowest version: a daemon of any version reads it */
  rpc_msg req = {.type = RPC_HELLO, .version = RPC_VERSION_MIN}, reply;
  req.u.hello = (rpc_hello){RPC_VERSION_MIN, RPC_VERSION_MAX,
                            client_name ? client_name : "floe"};
  st = call_with_deadline(c, &req, deadline_of(timeout_ms), &c->arena, &reply,
                          err);
  if (st != FLOE_OK) {
    ferr_prefix(err, st, "hello to the daemon at %s", path);
    goto fail;
  }
  c->server = reply.u.hello_ok;
  *out = c;
  return FLOE_OK;
fail:
  rpc_client_close(c);
  return st;
}

const rpc_hello_ok *rpc_client_server(const rpc_client *c) {
  return &c->server;
}

void rpc_client_set_timeout(rpc_client *c, int64_t timeout_ms) {
  c->timeout_ms = timeout_ms;
}

void rpc_client_set_max_frame(rpc_client *c, uint32_t max_frame) {
  c->max_frame =
      max_frame > RPC_MAX_FRAME_LIMIT ? RPC_MAX_FRAME_LIMIT : max_frame;
}

int rpc_client_fd(const rpc_client *c) { return c->fd; }

void rpc_client_close(rpc_client *c) {
  if (!c) return;
  if (c->fd >= 0) close(c->fd);
  fbuf_free(&c->buf);
  farena_free(&c->arena);
  free(c);
}
