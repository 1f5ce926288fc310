/*
 * Bad RPC clients, for the daemon tests: each mode misbehaves in one way
 * against a running `floe mirror` and checks the daemon's answer.
 *
 *   rpc_poke SOCKET random N SEED  N random bytes: an ERROR frame or a close
 *   rpc_poke SOCKET huge           a length of 4 GiB: ERROR 1004, then close
 *   rpc_poke SOCKET midframe       half a frame, then hang up
 *   rpc_poke SOCKET unknown        an unknown request type: ERROR 1005 with
 *                                  its id, and the connection still serves
 *   rpc_poke SOCKET badpayload     a truncated READ_STATE: ERROR 1004, the
 *                                  connection still serves
 *   rpc_poke SOCKET stall MS       a partial frame left for MS ms: the daemon
 *                                  closes the connection
 *   rpc_poke SOCKET hold TABLE MS  a read state lease held MS ms, then hang up
 *                                  without releasing it
 *   rpc_poke SOCKET schema TABLE   a well-behaved SCHEMA request: prints
 *                                  "schema_id N" and "columns a,b,..."
 *
 * Prints "ok MODE" and exits 0 when the daemon behaved, else says what
 * happened and exits 1.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "server/client.h"
#include "server/rpc.h"

static int fail(const char *fmt, const char *a) {
  fprintf(stderr, "rpc_poke: ");
  fprintf(stderr, fmt, a);
  fputc('\n', stderr);
  return 1;
}

static int dial(const char *path) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un sa;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    perror("connect");
    exit(1);
  }
  return fd;
}

static void send_all(int fd, const void *p, size_t n) {
  const uint8_t *b = p;
  while (n > 0) {
    ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return; /* the daemon may close early: fine */
    b += w;
    n -= (size_t)w;
  }
}

/* Reads until EOF or timeout into buf; returns the bytes read, -1 on
 * timeout. */
static ssize_t read_to_eof(int fd, uint8_t *buf, size_t cap, int timeout_ms) {
  size_t n = 0;
  for (;;) {
    struct pollfd p = {fd, POLLIN, 0};
    int r = poll(&p, 1, timeout_ms);
    if (r == 0) return -1;
    ssize_t k = recv(fd, buf + n, cap - n, 0);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0 && errno == ECONNRESET) return (ssize_t)n;
    if (k <= 0) return (ssize_t)n;
    n += (size_t)k;
    if (n == cap) return (ssize_t)n;
  }
}

/* Reads one frame (blocking, 10 s) into m. */
static int read_frame(int fd, farena *a, rpc_msg *m, uint8_t *buf, size_t cap) {
  size_t n = 0, want = 4;
  while (n < want) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 10000) <= 0) return -1;
    ssize_t k = recv(fd, buf + n, want - n, 0);
    if (k <= 0) return -1;
    n += (size_t)k;
    if (n == 4) {
      want = 4 + (buf[0] | buf[1] << 8 | buf[2] << 16 | (size_t)buf[3] << 24);
      if (want > cap) return -1;
    }
  }
  floe_error err;
  return rpc_decode(buf, n, RPC_DEFAULT_MAX_FRAME, a, m, &err) == FLOE_OK ? 0
                                                                          : -1;
}

static void encode(fbuf *b, rpc_msg *m) {
  floe_error err;
  if (rpc_encode(b, m, RPC_DEFAULT_MAX_FRAME, &err) != FLOE_OK) {
    fprintf(stderr, "encode: %s\n", err.msg);
    exit(1);
  }
}

/* A LIST_TABLES on fd answers. */
static int still_serves(int fd, farena *a, uint8_t *buf, size_t cap) {
  fbuf b = FBUF_INIT;
  rpc_msg m = {.type = RPC_LIST_TABLES, .id = 99};
  encode(&b, &m);
  send_all(fd, b.data, b.len);
  fbuf_free(&b);
  rpc_msg r;
  return read_frame(fd, a, &r, buf, cap) == 0 && r.type == RPC_LIST_TABLES_OK &&
         r.id == 99;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: rpc_poke SOCKET MODE [ARGS] (see the source)\n");
    return 2;
  }
  const char *path = argv[1], *mode = argv[2];
  static uint8_t buf[1 << 20];
  farena a;
  farena_init(&a, 4096, 0);
  int rc = 0;
  if (!strcmp(mode, "random") && argc == 5) {
    size_t n = (size_t)atol(argv[3]);
    unsigned seed = (unsigned)atol(argv[4]);
    uint8_t *junk = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++) junk[i] = (uint8_t)rand_r(&seed);
    int fd = dial(path);
    send_all(fd, junk, n);
    shutdown(fd, SHUT_WR);
    free(junk);
    /* the daemon answers an error frame and closes, or (bytes that happen
     * to frame well) answers and waits for more: either way it ends */
    if (read_to_eof(fd, buf, sizeof buf, 10000) < 0)
      rc = fail("%s: the daemon neither answered nor closed", mode);
    close(fd);
  } else if (!strcmp(mode, "huge")) {
    int fd = dial(path);
    uint8_t h[16] = {0xf0, 0xff, 0xff, 0xff, 0x46, 0x4c, 1, 0,
                     2,    0,    0,    0,    5,    0,    0, 0};
    send_all(fd, h, sizeof h);
    rpc_msg m;
    if (read_frame(fd, &a, &m, buf, sizeof buf) != 0 || m.type != RPC_ERROR ||
        m.u.error.code != FLOE_ECORRUPT)
      rc = fail("%s: no ERROR 1004", mode);
    else if (read_to_eof(fd, buf, sizeof buf, 5000) != 0)
      rc = fail("%s: the connection stayed open", mode);
    close(fd);
  } else if (!strcmp(mode, "midframe")) {
    int fd = dial(path);
    fbuf b = FBUF_INIT;
    rpc_msg m = {.type = RPC_HELLO, .id = 1};
    m.u.hello = (rpc_hello){1, 1, "poke"};
    encode(&b, &m);
    send_all(fd, b.data, b.len / 2);
    fbuf_free(&b);
    close(fd);
  } else if (!strcmp(mode, "unknown")) {
    int fd = dial(path);
    uint8_t f[16] = {12, 0, 0, 0, 0x46, 0x4c, 1, 0, 0x70, 0, 0, 0, 7, 0, 0, 0};
    send_all(fd, f, sizeof f);
    rpc_msg m;
    if (read_frame(fd, &a, &m, buf, sizeof buf) != 0 || m.type != RPC_ERROR ||
        m.id != 7 || m.u.error.code != FLOE_EUNSUPPORTED)
      rc = fail("%s: no ERROR 1005 for request 7", mode);
    else if (!still_serves(fd, &a, buf, sizeof buf))
      rc = fail("%s: the connection does not serve afterwards", mode);
    close(fd);
  } else if (!strcmp(mode, "badpayload")) {
    int fd = dial(path);
    fbuf b = FBUF_INIT;
    rpc_msg m = {.type = RPC_READ_STATE, .id = 8};
    m.u.read_state = (rpc_read_state){"public.a", 0, 0, 0};
    encode(&b, &m);
    /* drop the last 6 payload bytes, fix the length */
    b.len -= 6;
    uint32_t len = (uint32_t)b.len - 4;
    memcpy(b.data, &len, 4);
    send_all(fd, b.data, b.len);
    fbuf_free(&b);
    if (read_frame(fd, &a, &m, buf, sizeof buf) != 0 || m.type != RPC_ERROR ||
        m.id != 8 || m.u.error.code != FLOE_ECORRUPT)
      rc = fail("%s: no ERROR 1004 for request 8", mode);
    else if (!still_serves(fd, &a, buf, sizeof buf))
      rc = fail("%s: the connection does not serve afterwards", mode);
    close(fd);
  } else if (!strcmp(mode, "stall") && argc == 4) {
    int fd = dial(path);
    send_all(fd, "\x20\0\0\0\x46", 5);
    if (read_to_eof(fd, buf, sizeof buf, atoi(argv[3])) < 0)
      rc = fail("%s: the daemon kept a stalled frame", mode);
    close(fd);
  } else if ((!strcmp(mode, "hold") && argc == 5) ||
             (!strcmp(mode, "schema") && argc == 4)) {
    /* the well-behaved clients: one request through the real client */
    rpc_client *c;
    floe_error err;
    if (rpc_client_connect(path, "poke", 10000, &c, &err) != FLOE_OK)
      return fail("connect: %s", err.msg);
    rpc_msg m = {.type = RPC_READ_STATE}, r;
    m.u.read_state = (rpc_read_state){argv[3], 0, 10000, RPC_READ_LATEST};
    if (mode[0] == 's') {
      m = (rpc_msg){.type = RPC_SCHEMA};
      m.u.table = (rpc_table_req){argv[3], 0};
    }
    if (rpc_client_call(c, &m, &a, &r, &err) != FLOE_OK) {
      rc = fail("call: %s", err.msg);
    } else if (mode[0] == 'h') {
      usleep((useconds_t)atoi(argv[4]) * 1000);
    } else {
      printf("schema_id %u\ncolumns ", r.u.schema_ok.schema_id);
      for (uint32_t i = 0; i < r.u.schema_ok.ncolumns; i++)
        printf("%s%s", i ? "," : "", r.u.schema_ok.columns[i].name);
      putchar('\n');
    }
    rpc_client_close(c);
  } else {
    fprintf(stderr, "rpc_poke: bad mode or arguments\n");
    return 2;
  }
  farena_free(&a);
  if (rc == 0) printf("ok %s\n", mode);
  return rc;
}
