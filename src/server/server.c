/* The RPC + metrics poll loop (see server.h for the contract). */
#include "server/server.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "server/metrics.h"
#include "util/error.h"

#define READ_CHUNK 65536
/* How long a closed HTTP connection drains its input so the peer reads
 * the response instead of a TCP reset. */
#define HTTP_LINGER_MS 1000
/* A parked call without again_ms is retried this often. */
#define DEFAULT_RETRY_MS 10
/* Requests handled per client per loop turn: one chatty client cannot
 * starve the others. */
#define FRAMES_PER_TURN 32
/* Stream chunks produced per client per loop turn, same reason. */
#define CHUNKS_PER_TURN 8
#define MIN_CHUNK 4096
/* After accept() fails for lack of descriptors the listener is left alone
 * this long (it would stay readable and spin the loop). */
#define ACCEPT_PAUSE_MS 100

typedef struct lease {
  uint64_t id;
  void *state;
  int64_t expires_ms;
} lease;

typedef enum { C_RPC, C_HTTP } ckind;
typedef enum { B_IDLE, B_PARKED, B_STREAMING } cbusy;

typedef struct client {
  int fd;
  uint64_t id;
  ckind kind;
  fbuf in;
  size_t in_off; /* bytes of in already consumed */
  fbuf out;
  size_t out_off;        /* bytes of out already sent */
  bool closing;          /* close once out is sent (nothing more is read) */
  bool eof;              /* the peer will send nothing more */
  bool dead;             /* close at the end of this turn */
  int64_t partial_since; /* when the pending partial input began; -1 none */
  int64_t last_write_ms; /* last output progress */
  int64_t linger_until;  /* HTTP: draining input after the response */
  /* the request in progress */
  cbusy busy;
  farena arena;
  rpc_msg req;
  srv_call call;
  int64_t retry_at;
  int64_t call_started;
  uint64_t stream_lease;
  uint64_t stream_bytes;
  size_t stream_chunk;
  lease *leases;
  int nleases, cap_leases;
} client;

struct srv_server {
  srv_config cfg;
  char *socket_path, *name;
  srv_handlers h;
  int lfd;
  dev_t sock_dev;
  ino_t sock_ino;
  int mfd, mport;
  int pipe_r, pipe_w;
  atomic_int stop, woken;
  client **clients;
  int nclients, cap_clients;
  uint64_t next_client, next_lease;
  int64_t accept_pause_until;
  srv_stats st;
  struct pollfd *pfds;
  client **pmap;
  int pcap;
};

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *xstrdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = malloc(n);
  if (p) memcpy(p, s, n);
  return p;
}

void srv_config_init(srv_config *c) {
  memset(c, 0, sizeof *c);
  c->socket_mode = 0600;
  c->name = "floe";
  c->max_request = RPC_DEFAULT_MAX_REQUEST;
  c->max_frame = RPC_DEFAULT_MAX_FRAME;
  c->chunk_bytes = 1u << 20;
  c->out_cap = 8u << 20;
  c->max_clients = 64;
  c->max_leases = 64;
  c->lease_ttl_ms = 60000;
  c->max_wait_ms = 300000;
  c->io_timeout_ms = 30000;
}

/* ---- sockets ---- */

static floe_status sys_fail(floe_error *err, const char *what,
                            const char *path) {
  return ferr_set(err, FLOE_EIO, "%s %s: %s", what, path, strerror(errno));
}

/* An existing socket file: live (someone accepts) or stale (a crashed
 * daemon left it)? Non-blocking, so a full backlog counts as live. */
static floe_status check_existing(const char *path, floe_error *err) {
  struct stat st;
  if (lstat(path, &st) != 0) {
    if (errno == ENOENT) return FLOE_OK;
    return sys_fail(err, "cannot stat", path);
  }
  if (!S_ISSOCK(st.st_mode))
    return ferr_set(err, FLOE_EEXIST,
                    "%s exists and is not a socket: refusing to replace it "
                    "(remove it or choose another --socket)",
                    path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return sys_fail(err, "cannot create a socket for", path);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  memcpy(a.sun_path, path, strlen(path) + 1);
  int r = connect(fd, (struct sockaddr *)&a, sizeof a);
  int e = errno;
  close(fd);
  if (r == 0 || e == EAGAIN || e == EINPROGRESS)
    return ferr_set(err, FLOE_EEXIST,
                    "another server is listening on %s (stop it, or choose "
                    "another --socket)",
                    path);
  if (e != ECONNREFUSED) {
    errno = e;
    return sys_fail(err, "cannot probe", path);
  }
  if (unlink(path) != 0 && errno != ENOENT)
    return sys_fail(err, "cannot remove the stale socket", path);
  return FLOE_OK;
}

static floe_status lookup_group(const char *name, gid_t *out, floe_error *err) {
  char *end;
  errno = 0;
  unsigned long v = strtoul(name, &end, 10);
  if (*name && !*end && errno == 0) {
    *out = (gid_t)v;
    return FLOE_OK;
  }
  struct group g, *res = NULL;
  char buf[16384];
  int r = getgrnam_r(name, &g, buf, sizeof buf, &res);
  if (r != 0 || !res)
    return ferr_set(err, FLOE_EINVAL, "socket group '%s' does not exist", name);
  *out = g.gr_gid;
  return FLOE_OK;
}

static floe_status open_unix(srv_server *s, floe_error *err) {
  const char *path = s->socket_path;
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  size_t n = strlen(path);
  if (n == 0) return ferr_set(err, FLOE_EINVAL, "socket path is empty");
  if (n >= sizeof a.sun_path)
    return ferr_set(err, FLOE_EINVAL,
                    "socket path %s is %zu bytes; the limit is %zu: choose a "
                    "shorter --socket",
                    path, n, sizeof a.sun_path - 1);
  memcpy(a.sun_path, path, n + 1);
  gid_t gid = (gid_t)-1;
  if (s->cfg.socket_group && *s->cfg.socket_group)
    FLOE_TRY(lookup_group(s->cfg.socket_group, &gid, err));
  FLOE_TRY(check_existing(path, err));
  s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s->lfd < 0) return sys_fail(err, "cannot create socket", path);
  if (bind(s->lfd, (struct sockaddr *)&a, sizeof a) != 0)
    return sys_fail(err, "cannot bind", path);
  struct stat st;
  if (stat(path, &st) != 0) return sys_fail(err, "cannot stat", path);
  s->sock_dev = st.st_dev;
  s->sock_ino = st.st_ino;
  /* Nobody can connect before listen(), so setting the mode and group
   * here leaves no window with wider permissions. */
  if (chmod(path, s->cfg.socket_mode) != 0)
    return sys_fail(err, "cannot chmod", path);
  if (gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) != 0)
    return sys_fail(err, "cannot set the group of", path);
  if (listen(s->lfd, 64) != 0) return sys_fail(err, "cannot listen on", path);
  return FLOE_OK;
}

static floe_status open_metrics(srv_server *s, const char *addr,
                                floe_error *err) {
  char host[256], port[16];
  const char *colon;
  if (addr[0] == '[') {
    const char *close = strchr(addr, ']');
    if (!close || close[1] != ':')
      return ferr_set(err, FLOE_EINVAL,
                      "metrics address '%s': want [IPV6]:PORT", addr);
    size_t hl = (size_t)(close - addr - 1);
    if (hl >= sizeof host) goto bad;
    memcpy(host, addr + 1, hl);
    host[hl] = 0;
    colon = close + 1;
  } else {
    colon = strrchr(addr, ':');
    if (!colon) goto bad;
    size_t hl = (size_t)(colon - addr);
    if (hl >= sizeof host) goto bad;
    memcpy(host, addr, hl);
    host[hl] = 0;
  }
  size_t pl = strlen(colon + 1);
  if (pl == 0 || pl >= sizeof port || strspn(colon + 1, "0123456789") != pl ||
      atoi(colon + 1) > 65535)
    goto bad;
  memcpy(port, colon + 1, pl + 1);
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                           .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
  struct addrinfo *res = NULL;
  int r = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
  if (r != 0)
    return ferr_set(err, FLOE_EINVAL, "metrics address '%s': %s", addr,
                    gai_strerror(r));
  int last = 0;
  for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
    int fd = socket(ai->ai_family,
                    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      last = errno;
      continue;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 64) == 0) {
      struct sockaddr_storage ss;
      socklen_t sl = sizeof ss;
      getsockname(fd, (struct sockaddr *)&ss, &sl);
      s->mport = ntohs(ss.ss_family == AF_INET6
                           ? ((struct sockaddr_in6 *)&ss)->sin6_port
                           : ((struct sockaddr_in *)&ss)->sin_port);
      s->mfd = fd;
      freeaddrinfo(res);
      return FLOE_OK;
    }
    last = errno;
    close(fd);
  }
  freeaddrinfo(res);
  return ferr_set(err, FLOE_EIO, "cannot listen on metrics address %s: %s",
                  addr, strerror(last));
bad:
  return ferr_set(err, FLOE_EINVAL,
                  "metrics address '%s': want ADDR:PORT (e.g. "
                  "127.0.0.1:9187, [::1]:9187, :9187)",
                  addr);
}

floe_status srv_open(const srv_config *cfg, const srv_handlers *h,
                     srv_server **out, floe_error *err) {
  *out = NULL;
  if (!cfg->socket_path)
    return ferr_set(err, FLOE_EINVAL, "no socket path configured");
  if (cfg->max_request < RPC_MIN_LEN || cfg->max_frame < 4096 ||
      cfg->max_request > RPC_MAX_FRAME_LIMIT ||
      cfg->max_frame > RPC_MAX_FRAME_LIMIT || cfg->max_clients < 1 ||
      cfg->max_leases < 1 || cfg->lease_ttl_ms < 1 || cfg->io_timeout_ms < 1 ||
      cfg->max_wait_ms < 0)
    return ferr_set(err, FLOE_EINVAL,
                    "server config: a limit is out of "
                    "range");
  srv_server *s = calloc(1, sizeof *s);
  if (!s) return ferr_nomem(err, sizeof *s);
  s->cfg = *cfg;
  s->lfd = s->mfd = s->pipe_r = s->pipe_w = -1;
  s->mport = -1;
  s->next_lease = 1;
  s->socket_path = xstrdup(cfg->socket_path);
  s->name = xstrdup(cfg->name ? cfg->name : "floe");
  if (h) s->h = *h;
  atomic_init(&s->stop, 0);
  atomic_init(&s->woken, 0);
  floe_status st = FLOE_OK;
  if (!s->socket_path || !s->name) {
    st = ferr_nomem(err, strlen(cfg->socket_path));
    goto fail;
  }
  s->cfg.socket_path = s->socket_path;
  s->cfg.name = s->name;
  s->cfg.metrics_addr = NULL; /* borrowed: only used below */
  if (s->cfg.chunk_bytes < MIN_CHUNK) s->cfg.chunk_bytes = MIN_CHUNK;
  if (s->cfg.chunk_bytes > s->cfg.max_frame - RPC_MIN_LEN)
    s->cfg.chunk_bytes = s->cfg.max_frame - RPC_MIN_LEN;
  int p[2];
  if (pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0) {
    st = sys_fail(err, "cannot create", "the wake-up pipe");
    goto fail;
  }
  s->pipe_r = p[0];
  s->pipe_w = p[1];
  st = open_unix(s, err);     /* a failure after bind unlinks in srv_close */
  s->cfg.socket_group = NULL; /* borrowed: only used by open_unix */
  if (st != FLOE_OK) goto fail;
  if (cfg->metrics_addr && *cfg->metrics_addr) {
    st = open_metrics(s, cfg->metrics_addr, err);
    if (st != FLOE_OK) goto fail;
  }
  *out = s;
  return FLOE_OK;
fail:
  srv_close(s);
  return st;
}

/* ---- clients ---- */

static void log_client(srv_server *s, const client *c, flog_level lv,
                       const char *what, const char *msg) {
  flog_write(s->cfg.log, lv, "%s client %llu: %s%s%s",
             c->kind == C_RPC ? "rpc" : "http", (unsigned long long)c->id, what,
             msg ? ": " : "", msg ? msg : "");
}

static size_t out_pending(const client *c) { return c->out.len - c->out_off; }
static size_t in_pending(const client *c) { return c->in.len - c->in_off; }

static floe_status add_client(srv_server *s, int fd, ckind kind, int64_t now) {
  if (s->nclients == s->cap_clients) {
    int cap = s->cap_clients ? s->cap_clients * 2 : 16;
    client **cl = realloc(s->clients, (size_t)cap * sizeof *cl);
    if (!cl) return FLOE_ENOMEM;
    s->clients = cl;
    s->cap_clients = cap;
  }
  client *c = calloc(1, sizeof *c);
  if (!c) return FLOE_ENOMEM;
  c->fd = fd;
  c->id = ++s->next_client;
  c->kind = kind;
  c->partial_since = kind == C_HTTP ? now : -1;
  c->last_write_ms = now;
  c->linger_until = -1;
  /* the decoded request and the handler's reply live here; both are
   * bounded by a frame */
  farena_init(&c->arena, 16384, (size_t)s->cfg.max_frame * 2 + (1u << 20));
  s->clients[s->nclients++] = c;
  if (kind == C_RPC)
    s->st.clients++;
  else
    s->st.http_clients++;
  s->st.accepted++;
  return FLOE_OK;
}

static void release_lease(srv_server *s, client *c, int i) {
  if (s->h.release) s->h.release(s->h.ctx, c->leases[i].state);
  c->leases[i] = c->leases[--c->nleases];
  s->st.leases--;
}

static lease *find_lease(client *c, uint64_t id, int *idx) {
  for (int i = 0; i < c->nleases; i++)
    if (c->leases[i].id == id) {
      if (idx) *idx = i;
      return &c->leases[i];
    }
  return NULL;
}

/* Ends whatever the client has in flight, without replying. */
static void abandon_call(srv_server *s, client *c) {
  if (c->busy == B_PARKED && s->h.cancel) s->h.cancel(s->h.ctx, &c->call);
  if (c->busy == B_STREAMING && c->call.stream.close)
    c->call.stream.close(c->call.stream.ctx);
  c->busy = B_IDLE;
  c->stream_lease = 0;
  farena_reset(&c->arena);
}

static void free_client(srv_server *s, client *c) {
  abandon_call(s, c);
  while (c->nleases) release_lease(s, c, c->nleases - 1);
  free(c->leases);
  if (c->fd >= 0) close(c->fd);
  fbuf_free(&c->in);
  fbuf_free(&c->out);
  farena_free(&c->arena);
  if (c->kind == C_RPC)
    s->st.clients--;
  else
    s->st.http_clients--;
  free(c);
}

/* ---- replies ---- */

static void note_out(srv_server *s, client *c) {
  size_t p = out_pending(c);
  if (p > s->st.max_out_pending) s->st.max_out_pending = p;
}

/* Every frame answering a request speaks that request's version, so a
 * client of an older version can read the reply; errors about the stream
 * itself speak the lowest version (every client reads those). */
static uint16_t reply_version(const client *c) {
  uint16_t v = c->req.version;
  return v >= RPC_VERSION_MIN && v <= RPC_VERSION_MAX ? v : RPC_VERSION_MIN;
}

static void queue_error(srv_server *s, client *c, uint32_t id, floe_status code,
                        const char *msg) {
  floe_error e;
  if (out_pending(c) == 0) c->last_write_ms = mono_ms();
  size_t start = c->out.len;
  if (rpc_encode_error(&c->out, id, code, msg, &e) != FLOE_OK) {
    c->dead = true; /* cannot even say why: out of memory */
    return;
  }
  rpc_frame_set_version(&c->out, start, reply_version(c));
  s->st.errors_sent++;
  note_out(s, c);
}

/* The byte stream cannot be trusted any more: say why, then close. */
static void fatal(srv_server *s, client *c, uint32_t id, const char *msg) {
  s->st.protocol_errors++;
  log_client(s, c, FLOG_WARN, "protocol error, closing", msg);
  queue_error(s, c, id, FLOE_ECORRUPT, msg);
  c->closing = true;
  c->in_off = c->in.len;
}

static void queue_msg(srv_server *s, client *c, const rpc_msg *m) {
  floe_error e;
  if (out_pending(c) == 0) c->last_write_ms = mono_ms();
  if (rpc_encode(&c->out, m, s->cfg.max_frame, &e) != FLOE_OK) {
    char msg[FLOE_ERROR_MSG_MAX + 64];
    snprintf(msg, sizeof msg, "cannot encode the %s reply: %s",
             rpc_type_name(m->type), e.msg);
    queue_error(s, c, m->id, e.code, msg);
    return;
  }
  note_out(s, c);
}

/* ---- calls ---- */

static void finish_call(client *c) {
  c->busy = B_IDLE;
  farena_reset(&c->arena);
  if (in_pending(c)) c->partial_since = mono_ms();
}

static void start_stream(srv_server *s, client *c) {
  const rpc_scan *rq = &c->req.u.scan;
  size_t chunk = rq->chunk_bytes ? rq->chunk_bytes : s->cfg.chunk_bytes;
  if (chunk < MIN_CHUNK) chunk = MIN_CHUNK;
  if (chunk > s->cfg.max_frame - RPC_MIN_LEN)
    chunk = s->cfg.max_frame - RPC_MIN_LEN;
  c->stream_chunk = chunk;
  c->stream_bytes = 0;
  c->stream_lease = rq->lease;
  c->busy = B_STREAMING;
}

/* Calls the handler (again) and acts on the outcome. */
static void run_call(srv_server *s, client *c, srv_handler fn, int64_t now) {
  srv_call *call = &c->call;
  call->now_ms = now;
  call->again = false;
  call->again_ms = -1;
  floe_error e;
  ferr_clear(&e);
  floe_status st = fn(s->h.ctx, call, &e);
  uint16_t type = c->req.type;
  if (call->again) {
    if (now >= call->deadline_ms) {
      if (s->h.cancel) s->h.cancel(s->h.ctx, call);
      s->st.timeouts++;
      char msg[FLOE_ERROR_MSG_MAX];
      if (type == RPC_READ_STATE)
        snprintf(msg, sizeof msg,
                 "read_state of %s: LSN %X/%X not reached within %lld ms",
                 c->req.u.read_state.table,
                 (unsigned)(c->req.u.read_state.min_lsn >> 32),
                 (unsigned)c->req.u.read_state.min_lsn,
                 (long long)(call->deadline_ms - c->call_started));
      else
        snprintf(msg, sizeof msg, "%s did not finish within %lld ms",
                 rpc_type_name(type), (long long)s->cfg.max_wait_ms);
      queue_error(s, c, c->req.id, FLOE_ETIMEDOUT, msg);
      finish_call(c);
      return;
    }
    c->busy = B_PARKED;
    int64_t wait = call->again_ms >= 0 ? call->again_ms : DEFAULT_RETRY_MS;
    c->retry_at = now + wait;
    if (c->retry_at > call->deadline_ms) c->retry_at = call->deadline_ms;
    return;
  }
  if (st != FLOE_OK) {
    queue_error(s, c, c->req.id, st, e.msg[0] ? e.msg : floe_strerror(st));
    finish_call(c);
    return;
  }
  if (type == RPC_READ_STATE) {
    if (c->nleases == c->cap_leases) {
      int cap = c->cap_leases ? c->cap_leases * 2 : 4;
      lease *l = realloc(c->leases, (size_t)cap * sizeof *l);
      if (!l) {
        if (s->h.release) s->h.release(s->h.ctx, call->lease_state);
        queue_error(s, c, c->req.id, FLOE_ENOMEM, "out of memory for a lease");
        finish_call(c);
        return;
      }
      c->leases = l;
      c->cap_leases = cap;
    }
    lease *l = &c->leases[c->nleases++];
    l->id = s->next_lease++;
    l->state = call->lease_state;
    l->expires_ms = now + s->cfg.lease_ttl_ms;
    s->st.leases++;
    call->reply.u.read_state_ok.lease = l->id;
    call->reply.u.read_state_ok.ttl_ms = s->cfg.lease_ttl_ms;
  }
  if (type == RPC_SCAN) {
    if (!call->stream.next) {
      if (call->stream.close) call->stream.close(call->stream.ctx);
      queue_error(s, c, c->req.id, FLOE_EINVAL, "scan handler gave no stream");
      finish_call(c);
      return;
    }
    start_stream(s, c);
    return;
  }
  queue_msg(s, c, &call->reply);
  finish_call(c);
}

static srv_handler handler_for(const srv_server *s, uint16_t type) {
  switch (type) {
  case RPC_LIST_TABLES: return s->h.list_tables;
  case RPC_STATUS: return s->h.status;
  case RPC_ADD_TABLE: return s->h.add_table;
  case RPC_DROP_TABLE: return s->h.drop_table;
  case RPC_READ_STATE: return s->h.read_state;
  case RPC_SCAN: return s->h.scan;
  case RPC_COMMIT: return s->h.commit;
  case RPC_OPTIMIZE: return s->h.optimize;
  case RPC_SCHEMA: return s->h.schema;
  default: return NULL;
  }
}

/* A decoded request in c->req: answer it or start its call. */
static void handle_request(srv_server *s, client *c, int64_t now) {
  const rpc_msg *rq = &c->req;
  s->st.requests++;
  /* a reply speaks its request's version: a version 1 client decodes it */
  rpc_msg reply = {.type = (uint16_t)(RPC_REPLY | rq->type),
                   .version = reply_version(c),
                   .id = rq->id};
  switch (rq->type) {
  case RPC_HELLO: {
    const rpc_hello *h = &rq->u.hello;
    if (h->max_version < RPC_VERSION_MIN || h->min_version > RPC_VERSION_MAX) {
      char msg[128];
      snprintf(msg, sizeof msg,
               "no common protocol version: client speaks %u..%u, server "
               "%d..%d",
               h->min_version, h->max_version, RPC_VERSION_MIN,
               RPC_VERSION_MAX);
      queue_error(s, c, rq->id, FLOE_EUNSUPPORTED, msg);
    } else {
      reply.u.hello_ok = (rpc_hello_ok){
          h->max_version < RPC_VERSION_MAX ? h->max_version : RPC_VERSION_MAX,
          floe_version(),
          s->cfg.max_frame,
          s->cfg.max_request,
          s->cfg.lease_ttl_ms,
          s->name};
      queue_msg(s, c, &reply);
    }
    finish_call(c);
    return;
  }
  case RPC_RENEW:
  case RPC_RELEASE: {
    int idx;
    lease *l = find_lease(c, rq->u.lease.lease, &idx);
    if (!l) {
      char msg[128];
      snprintf(msg, sizeof msg,
               "lease %llu not found (expired, released, or taken on "
               "another connection)",
               (unsigned long long)rq->u.lease.lease);
      queue_error(s, c, rq->id, FLOE_ENOTFOUND, msg);
    } else if (rq->type == RPC_RENEW) {
      l->expires_ms = now + s->cfg.lease_ttl_ms;
      reply.u.renew_ok.ttl_ms = s->cfg.lease_ttl_ms;
      queue_msg(s, c, &reply);
    } else {
      release_lease(s, c, idx);
      queue_msg(s, c, &reply);
    }
    finish_call(c);
    return;
  }
  default: break;
  }
  srv_handler fn = handler_for(s, rq->type);
  if (!fn) {
    char msg[128];
    snprintf(msg, sizeof msg, "request '%s' is not supported by this server",
             rpc_type_name(rq->type));
    queue_error(s, c, rq->id, FLOE_EUNSUPPORTED, msg);
    finish_call(c);
    return;
  }
  srv_call *call = &c->call;
  memset(call, 0, sizeof *call);
  call->req = rq;
  call->reply = reply;
  call->arena = &c->arena;
  call->client = c->id;
  call->deadline_ms = now + s->cfg.max_wait_ms;
  c->call_started = now;
  if (rq->type == RPC_READ_STATE) {
    if (c->nleases >= s->cfg.max_leases) {
      char msg[128];
      snprintf(msg, sizeof msg,
               "this connection holds %d leases already (the limit): "
               "release some",
               c->nleases);
      queue_error(s, c, rq->id, FLOE_ENOMEM, msg);
      finish_call(c);
      return;
    }
    int64_t t = rq->u.read_state.timeout_ms;
    if (t >= 0 && t < s->cfg.max_wait_ms) call->deadline_ms = now + t;
  }
  if (rq->type == RPC_SCAN) {
    lease *l = find_lease(c, rq->u.scan.lease, NULL);
    if (!l) {
      char msg[128];
      snprintf(msg, sizeof msg,
               "lease %llu not found (expired, released, or taken on "
               "another connection)",
               (unsigned long long)rq->u.scan.lease);
      queue_error(s, c, rq->id, FLOE_ENOTFOUND, msg);
      finish_call(c);
      return;
    }
    l->expires_ms = now + s->cfg.lease_ttl_ms;
    call->lease_state = l->state;
  }
  run_call(s, c, fn, now);
}

static void drive_stream(srv_server *s, client *c, int64_t now) {
  srv_call *call = &c->call;
  for (int n = 0; n < CHUNKS_PER_TURN && out_pending(c) < s->cfg.out_cap; n++) {
    size_t start;
    floe_error e;
    ferr_clear(&e);
    if (out_pending(c) == 0) c->last_write_ms = now;
    if (rpc_frame_begin(&c->out, RPC_SCAN_DATA, c->req.id, &start, &e) !=
        FLOE_OK) {
      c->dead = true;
      return;
    }
    rpc_frame_set_version(&c->out, start, reply_version(c));
    size_t before = c->out.len;
    bool done = false;
    rpc_msg end = {
        .type = RPC_END, .version = reply_version(c), .id = c->req.id};
    floe_status st = call->stream.next(call->stream.ctx, &c->out,
                                       c->stream_chunk, &done, &end.u.end, &e);
    size_t produced = c->out.len - before;
    if (st == FLOE_OK && produced > c->stream_chunk) {
      st = ferr_set(&e, FLOE_EINVAL,
                    "scan stream produced %zu bytes, more than the %zu asked",
                    produced, c->stream_chunk);
    } else if (st == FLOE_OK && produced == 0 && !done) {
      st = ferr_set(&e, FLOE_EINVAL, "scan stream produced no data");
    }
    if (st != FLOE_OK) {
      c->out.len = start;
      queue_error(s, c, c->req.id, st, e.msg[0] ? e.msg : floe_strerror(st));
    } else if (produced == 0) {
      c->out.len = start;
    } else {
      rpc_frame_finish(&c->out, start, s->cfg.max_frame, &e);
      c->stream_bytes += produced;
      note_out(s, c);
    }
    if (st != FLOE_OK || done) {
      if (st == FLOE_OK) {
        end.u.end.bytes = c->stream_bytes;
        queue_msg(s, c, &end);
      }
      lease *l = find_lease(c, c->stream_lease, NULL);
      if (l) l->expires_ms = now + s->cfg.lease_ttl_ms;
      if (call->stream.close) call->stream.close(call->stream.ctx);
      c->stream_lease = 0;
      finish_call(c);
      return;
    }
  }
}

/* Decodes and handles the complete frames buffered for c. */
static void process_rpc(srv_server *s, client *c, int64_t now) {
  for (int n = 0; n < FRAMES_PER_TURN && c->busy == B_IDLE && !c->closing &&
                  !c->dead && out_pending(c) < s->cfg.out_cap;
       n++) {
    size_t avail = in_pending(c);
    if (avail == 0) break;
    const uint8_t *p = c->in.data + c->in_off;
    /* judge the length and magic as soon as they arrive: a huge length
     * or random bytes are refused without waiting for more */
    if (avail >= 4) {
      uint32_t len = fle32(p);
      if (len < RPC_MIN_LEN || len > s->cfg.max_request) {
        char msg[160];
        snprintf(msg, sizeof msg,
                 "frame length %u is outside %d..%u (max request size)", len,
                 RPC_MIN_LEN, s->cfg.max_request);
        fatal(s, c, avail >= RPC_HEADER_LEN ? fle32(p + 12) : 0, msg);
        return;
      }
    }
    if (avail >= 6 && (p[4] | p[5] << 8) != RPC_MAGIC) {
      fatal(s, c, avail >= RPC_HEADER_LEN ? fle32(p + 12) : 0,
            "bad magic: not a floe RPC client");
      return;
    }
    if (avail < RPC_HEADER_LEN) break;
    rpc_header h;
    floe_error e;
    if (rpc_header_parse(p, avail, s->cfg.max_request, &h, &e) != FLOE_OK) {
      fatal(s, c, h.id, e.msg);
      return;
    }
    size_t flen = (size_t)h.len + 4;
    if (avail < flen) break;
    farena_reset(&c->arena);
    floe_status st =
        rpc_decode(p, flen, s->cfg.max_request, &c->arena, &c->req, &e);
    c->in_off += flen;
    c->partial_since = in_pending(c) ? now : -1;
    if (st == FLOE_OK && !rpc_is_request(c->req.type)) {
      st = ferr_set(&e, FLOE_EUNSUPPORTED, "'%s' is a reply, not a request",
                    rpc_type_name(c->req.type));
    }
    if (st != FLOE_OK) {
      s->st.requests++;
      log_client(s, c, FLOG_INFO, "bad request", e.msg);
      queue_error(s, c, h.id, st, e.msg);
      farena_reset(&c->arena);
      continue;
    }
    handle_request(s, c, now);
  }
  if (c->in_off == c->in.len) {
    c->in.len = c->in_off = 0;
  } else if (c->in_off > c->in.cap / 2) {
    memmove(c->in.data, c->in.data + c->in_off, in_pending(c));
    c->in.len -= c->in_off;
    c->in_off = 0;
  }
}

/* ---- HTTP ---- */

static void http_respond(srv_server *s, client *c, int code, const char *type,
                         const char *extra, const void *body, size_t n,
                         bool head) {
  floe_error e;
  if (met_http_response(&c->out, code, type, extra, body, n, head, &e) !=
      FLOE_OK)
    c->dead = true;
  note_out(s, c);
  c->closing = true;
  c->last_write_ms = mono_ms();
}

static void http_error(srv_server *s, client *c, int code, const char *why) {
  char body[256];
  int n = snprintf(body, sizeof body, "%d %s: %s\n", code,
                   met_http_reason(code), why);
  http_respond(s, c, code, "text/plain; charset=utf-8",
               code == 405 ? "Allow: GET, HEAD\r\n" : NULL, body, (size_t)n,
               false);
}

static void http_metrics(srv_server *s, client *c, bool head, int64_t now) {
  fbuf body = FBUF_INIT;
  floe_error e;
  ferr_clear(&e);
  rpc_status_ok *st = NULL;
  floe_status rc = FLOE_OK;
  if (s->h.status) {
    rpc_msg req = {.type = RPC_STATUS};
    srv_call *call = &c->call;
    memset(call, 0, sizeof *call);
    call->req = &req;
    call->reply.type = RPC_STATUS_OK;
    call->arena = &c->arena;
    call->client = c->id;
    call->now_ms = now;
    call->deadline_ms = now;
    rc = s->h.status(s->h.ctx, call, &e);
    if (call->again) {
      if (s->h.cancel) s->h.cancel(s->h.ctx, call);
      http_error(s, c, 503, "status is not available right now; retry");
      farena_reset(&c->arena);
      return;
    }
    st = &call->reply.u.status_ok;
  }
  if (rc == FLOE_OK) rc = met_prometheus(&body, st, met_process_rss(), &e);
  if (rc != FLOE_OK)
    http_error(s, c, 500, e.msg[0] ? e.msg : floe_strerror(rc));
  else
    http_respond(s, c, 200, MET_PROMETHEUS_TYPE, NULL, body.data, body.len,
                 head);
  fbuf_free(&body);
  farena_reset(&c->arena);
}

static void process_http(srv_server *s, client *c, int64_t now) {
  if (c->closing || c->dead) {
    c->in.len = c->in_off = 0; /* lingering: input is discarded */
    return;
  }
  met_http_req req;
  int r = met_http_parse((const char *)c->in.data, c->in.len, &req);
  if (r == 0) {
    if (c->eof) c->dead = true; /* gone before finishing its request */
    return;
  }
  s->st.http_requests++;
  if (r >= 400) {
    http_error(s, c, r, "the request could not be parsed");
    return;
  }
  if (strcmp(req.path, "/metrics") == 0) {
    http_metrics(s, c, req.head, now);
  } else if (strcmp(req.path, "/healthz") == 0) {
    floe_error e;
    ferr_clear(&e);
    floe_status st = s->h.health ? s->h.health(s->h.ctx, &e) : FLOE_OK;
    if (st == FLOE_OK) {
      http_respond(s, c, 200, "text/plain; charset=utf-8", NULL, "ok\n", 3,
                   req.head);
    } else {
      char body[FLOE_ERROR_MSG_MAX + 16];
      int n = snprintf(body, sizeof body, "unhealthy: %s\n",
                       e.msg[0] ? e.msg : floe_strerror(st));
      http_respond(s, c, 503, "text/plain; charset=utf-8", NULL, body,
                   (size_t)n, req.head);
    }
  } else {
    http_error(s, c, 404, "try /metrics or /healthz");
  }
  c->in.len = c->in_off = 0;
}

/* ---- I/O ---- */

static size_t in_limit(const srv_server *s, const client *c) {
  return c->kind == C_RPC ? (size_t)s->cfg.max_request + 4 : MET_MAX_REQUEST;
}

static bool wants_read(const srv_server *s, const client *c) {
  if (c->dead || c->eof) return false;
  if (c->closing) return c->kind == C_HTTP; /* HTTP lingers */
  if (out_pending(c) >= s->cfg.out_cap) return false;
  return in_pending(c) < in_limit(s, c);
}

static void do_read(srv_server *s, client *c, int64_t now) {
  for (;;) {
    size_t room;
    if (c->closing) {
      c->in.len = c->in_off = 0;
      room = READ_CHUNK;
    } else {
      size_t lim = in_limit(s, c);
      if (in_pending(c) >= lim) return;
      room = lim - in_pending(c);
      if (room > READ_CHUNK) room = READ_CHUNK;
    }
    floe_error e;
    if (fbuf_reserve(&c->in, room, &e) != FLOE_OK) {
      c->dead = true;
      return;
    }
    ssize_t r = recv(c->fd, c->in.data + c->in.len, room, MSG_DONTWAIT);
    if (r > 0) {
      if (in_pending(c) == 0 && c->kind == C_RPC) c->partial_since = now;
      c->in.len += (size_t)r;
      if ((size_t)r < room) return;
      continue;
    }
    if (r == 0) {
      c->eof = true;
      return;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) c->dead = true;
    return;
  }
}

static void do_write(srv_server *s, client *c, int64_t now) {
  (void)s;
  while (out_pending(c) > 0) {
    ssize_t r = send(c->fd, c->out.data + c->out_off, out_pending(c),
                     MSG_DONTWAIT | MSG_NOSIGNAL);
    if (r > 0) {
      c->out_off += (size_t)r;
      c->last_write_ms = now;
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    c->dead = true; /* EPIPE, ECONNRESET: the peer is gone */
    return;
  }
  if (c->out_off == c->out.len) {
    c->out.len = c->out_off = 0;
    /* a finished stream can leave a large buffer behind: give it back */
    if (c->out.cap > (4u << 20)) fbuf_free(&c->out);
  } else if (c->out_off > (1u << 20) && c->out_off > c->out.len / 2) {
    memmove(c->out.data, c->out.data + c->out_off, out_pending(c));
    c->out.len -= c->out_off;
    c->out_off = 0;
  }
}

static void accept_clients(srv_server *s, int lfd, ckind kind, int64_t now) {
  int have = kind == C_RPC ? s->st.clients : s->st.http_clients;
  for (;;) {
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
          errno == ENOMEM) {
        flog_write(s->cfg.log, FLOG_WARN, "cannot accept a client: %s",
                   strerror(errno));
        s->accept_pause_until = now + ACCEPT_PAUSE_MS;
      }
      return;
    }
    if (have >= s->cfg.max_clients) {
      fbuf b = FBUF_INIT;
      floe_error e;
      char msg[96];
      snprintf(msg, sizeof msg, "too many clients (%d): try again later",
               s->cfg.max_clients);
      if (kind == C_RPC)
        rpc_encode_error(&b, 0, FLOE_ENOMEM, msg, &e);
      else
        met_http_response(&b, 503, "text/plain; charset=utf-8", NULL, msg,
                          strlen(msg), false, &e);
      if (b.len) {
        ssize_t r = send(fd, b.data, b.len, MSG_DONTWAIT | MSG_NOSIGNAL);
        (void)r; /* best effort: the client is refused either way */
      }
      fbuf_free(&b);
      close(fd);
      flog_write(s->cfg.log, FLOG_WARN, "refused a client: %s", msg);
      continue;
    }
    if (add_client(s, fd, kind, now) != FLOE_OK) {
      close(fd);
      return;
    }
    have++;
  }
}

/* Per-client timers: leases, stalled input and output, lingering. */
static void check_timers(srv_server *s, client *c, int64_t now) {
  for (int i = 0; i < c->nleases;) {
    lease *l = &c->leases[i];
    if (l->id != c->stream_lease && now >= l->expires_ms) {
      char msg[96];
      snprintf(msg, sizeof msg, "lease %llu expired unused after %lld ms",
               (unsigned long long)l->id, (long long)s->cfg.lease_ttl_ms);
      log_client(s, c, FLOG_INFO, msg, NULL);
      s->st.leases_expired++;
      release_lease(s, c, i);
      continue;
    }
    i++;
  }
  int64_t io = s->cfg.io_timeout_ms;
  if (out_pending(c) && now - c->last_write_ms >= io) {
    log_client(s, c, FLOG_WARN, "not reading its replies, closing", NULL);
    s->st.timeouts++;
    c->dead = true;
    return;
  }
  if (c->kind == C_HTTP && c->closing && out_pending(c) == 0) {
    if (c->linger_until < 0) {
      shutdown(c->fd, SHUT_WR);
      c->linger_until = now + HTTP_LINGER_MS;
    } else if (now >= c->linger_until || c->eof) {
      c->dead = true;
    }
    return;
  }
  if (c->kind == C_RPC && c->closing && out_pending(c) == 0) {
    c->dead = true;
    return;
  }
  /* an HTTP client gets io_timeout_ms for its whole request, starting
   * at accept; an RPC client for each frame, once it has begun */
  bool waiting = c->kind == C_HTTP || in_pending(c);
  if (!c->closing && c->busy == B_IDLE && waiting && c->partial_since >= 0 &&
      now - c->partial_since >= io) {
    s->st.timeouts++;
    if (c->kind == C_HTTP) {
      http_error(s, c, 408, "the request did not arrive in time");
    } else {
      char msg[96];
      snprintf(msg, sizeof msg, "incomplete frame for %lld ms",
               (long long)(now - c->partial_since));
      fatal(s, c, 0, msg);
    }
  }
}

/* The earliest time c needs attention without an I/O event; INT64_MAX if
 * none. */
static int64_t next_deadline(const srv_server *s, const client *c) {
  int64_t t = INT64_MAX;
#define AT(x)                                                                  \
  do {                                                                         \
    int64_t x_ = (x);                                                          \
    if (x_ < t) t = x_;                                                        \
  } while (0)
  for (int i = 0; i < c->nleases; i++)
    if (c->leases[i].id != c->stream_lease) AT(c->leases[i].expires_ms);
  if (c->busy == B_PARKED) AT(c->retry_at);
  if (c->busy == B_STREAMING && out_pending(c) < s->cfg.out_cap) AT(0);
  if (out_pending(c)) AT(c->last_write_ms + s->cfg.io_timeout_ms);
  if (c->linger_until >= 0) AT(c->linger_until);
  if ((in_pending(c) || c->kind == C_HTTP) && c->partial_since >= 0 &&
      !c->closing)
    AT(c->partial_since + s->cfg.io_timeout_ms);
  if (c->closing && out_pending(c) == 0) AT(0);
#undef AT
  return t;
}

/* Whether buffered input holds a frame (or a fatal header) that
 * process_rpc can act on without more bytes. */
static bool frame_ready(const srv_server *s, const client *c) {
  size_t avail = in_pending(c);
  if (avail < 4) return false;
  const uint8_t *p = c->in.data + c->in_off;
  uint32_t len = fle32(p);
  if (len < RPC_MIN_LEN || len > s->cfg.max_request) return true;
  if (avail >= 6 && (p[4] | p[5] << 8) != RPC_MAGIC) return true;
  return avail >= (size_t)len + 4;
}

/* Whether the loop must come round again at once for c's input. */
static bool has_frame(const srv_server *s, const client *c) {
  return c->kind == C_RPC && c->busy == B_IDLE && !c->closing &&
         out_pending(c) < s->cfg.out_cap && frame_ready(s, c);
}

floe_status srv_run_once(srv_server *s, int64_t max_wait_ms, floe_error *err) {
  int64_t now = mono_ms();
  int n = s->nclients + 3;
  if (n > s->pcap) {
    struct pollfd *p = realloc(s->pfds, (size_t)n * sizeof *p);
    if (!p) return ferr_nomem(err, (size_t)n * sizeof *p);
    s->pfds = p;
    client **m = realloc(s->pmap, (size_t)n * sizeof *m);
    if (!m) return ferr_nomem(err, (size_t)n * sizeof *m);
    s->pmap = m;
    s->pcap = n;
  }
  int np = 0;
  int64_t wake = max_wait_ms < 0 ? INT64_MAX : now + max_wait_ms;
  s->pfds[np] = (struct pollfd){s->pipe_r, POLLIN, 0};
  s->pmap[np++] = NULL;
  int lpos = -1, mpos = -1;
  if (now >= s->accept_pause_until) {
    lpos = np;
    s->pfds[np] = (struct pollfd){s->lfd, POLLIN, 0};
    s->pmap[np++] = NULL;
    if (s->mfd >= 0) {
      mpos = np;
      s->pfds[np] = (struct pollfd){s->mfd, POLLIN, 0};
      s->pmap[np++] = NULL;
    }
  } else if (s->accept_pause_until < wake) {
    wake = s->accept_pause_until;
  }
  for (int i = 0; i < s->nclients; i++) {
    client *c = s->clients[i];
    short ev = 0;
    if (wants_read(s, c)) ev |= POLLIN;
    if (out_pending(c)) ev |= POLLOUT;
    s->pfds[np] = (struct pollfd){c->fd, ev, 0};
    s->pmap[np++] = c;
    int64_t t = next_deadline(s, c);
    if (has_frame(s, c)) t = 0;
    if (t < wake) wake = t;
  }
  int timeout;
  if (wake == INT64_MAX)
    timeout = -1;
  else if (wake <= now)
    timeout = 0;
  else
    timeout = wake - now > 60000 ? 60000 : (int)(wake - now);
  int r = poll(s->pfds, (nfds_t)np, timeout);
  if (r < 0) {
    if (errno == EINTR) return FLOE_OK;
    return ferr_set(err, FLOE_EIO, "poll: %s", strerror(errno));
  }
  now = mono_ms();
  bool woken = false;
  if (s->pfds[0].revents) {
    char buf[64];
    while (read(s->pipe_r, buf, sizeof buf) > 0) {
    }
  }
  if (atomic_exchange(&s->woken, 0)) woken = true;
  if (atomic_load(&s->stop)) return FLOE_OK;
  if (lpos >= 0 && (s->pfds[lpos].revents & POLLIN))
    accept_clients(s, s->lfd, C_RPC, now);
  if (mpos >= 0 && (s->pfds[mpos].revents & POLLIN))
    accept_clients(s, s->mfd, C_HTTP, now);

  for (int i = 0; i < np; i++) {
    client *c = s->pmap[i];
    if (!c) continue;
    short re = s->pfds[i].revents;
    if (re & (POLLERR | POLLNVAL)) {
      c->dead = true;
      continue;
    }
    if (re & POLLIN) do_read(s, c, now);
    /* POLLHUP on a unix socket: the peer closed entirely; nothing we
     * write can arrive, and a stream or parked call is for nobody */
    if ((re & POLLHUP) && c->kind == C_RPC) {
      if (c->busy != B_IDLE || out_pending(c))
        log_client(s, c, FLOG_INFO, "disconnected with a request in flight",
                   NULL);
      else if (in_pending(c))
        log_client(s, c, FLOG_INFO, "disconnected mid-frame", NULL);
      c->dead = true;
      continue;
    }
    if ((re & POLLHUP) && !(re & POLLIN)) c->eof = true;
    if (re & POLLOUT) do_write(s, c, now);
  }

  for (int i = 0; i < s->nclients; i++) {
    client *c = s->clients[i];
    if (c->dead) continue;
    if (c->kind == C_HTTP) {
      process_http(s, c, now);
    } else {
      if (c->busy == B_PARKED &&
          (woken || now >= c->retry_at || now >= c->call.deadline_ms))
        run_call(s, c, handler_for(s, c->req.type), now);
      if (c->busy == B_STREAMING) drive_stream(s, c, now);
      process_rpc(s, c, now);
      if (c->busy == B_STREAMING) drive_stream(s, c, now);
      if (c->eof && !c->dead && !c->closing && c->busy == B_IDLE &&
          !frame_ready(s, c)) {
        if (in_pending(c))
          log_client(s, c, FLOG_INFO, "disconnected mid-frame", NULL);
        c->closing = true;
        c->in.len = c->in_off = 0;
      }
    }
    if (out_pending(c) && !c->dead) do_write(s, c, now);
    if (!c->dead) check_timers(s, c, now);
  }
  for (int i = 0; i < s->nclients;) {
    client *c = s->clients[i];
    if (c->dead) {
      s->clients[i] = s->clients[--s->nclients];
      free_client(s, c);
      continue;
    }
    i++;
  }
  return FLOE_OK;
}

floe_status srv_run(srv_server *s, floe_error *err) {
  while (!atomic_load(&s->stop)) FLOE_TRY(srv_run_once(s, -1, err));
  return FLOE_OK;
}

void srv_stop(srv_server *s) {
  atomic_store(&s->stop, 1);
  ssize_t r = write(s->pipe_w, "s", 1);
  (void)r; /* a full pipe already wakes the loop */
}

void srv_wake(srv_server *s) {
  atomic_store(&s->woken, 1);
  ssize_t r = write(s->pipe_w, "w", 1);
  (void)r;
}

bool srv_stopped(const srv_server *s) {
  return atomic_load(&((srv_server *)s)->stop) != 0;
}

int srv_metrics_port(const srv_server *s) { return s->mport; }

void srv_stats_get(const srv_server *s, srv_stats *out) { *out = s->st; }

void srv_close(srv_server *s) {
  if (!s) return;
  for (int i = 0; i < s->nclients; i++) free_client(s, s->clients[i]);
  free(s->clients);
  if (s->lfd >= 0) {
    close(s->lfd);
    /* remove the socket file only if it is still the one we bound: a
     * successor may already have replaced it */
    struct stat st;
    if (s->sock_ino && lstat(s->socket_path, &st) == 0 &&
        st.st_dev == s->sock_dev && st.st_ino == s->sock_ino)
      unlink(s->socket_path);
  }
  if (s->mfd >= 0) close(s->mfd);
  if (s->pipe_r >= 0) close(s->pipe_r);
  if (s->pipe_w >= 0) close(s->pipe_w);
  free(s->pfds);
  free(s->pmap);
  free(s->socket_path);
  free(s->name);
  free(s);
}
