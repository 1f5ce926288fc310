/*
 * tidx_file: the persisted, immutable index over flushed data files.
 *
 * Layout (little-endian; src/table/README.md "Index" has the rationale):
 *
 *   0   8  magic "FLOEIDX1"
 *   8   4  version (1)
 *   12  4  H: header bytes (up to the end of the cover list)
 *   16  8  rows: entries (= sum of the covers' rows, <= UINT32_MAX)
 *   24  1  D: directory bits (the directory has 2^D buckets)
 *   25  1  S: implied bits (S <= D): an entry stores hash bits [S, S+32)
 *   26  2  zero
 *   28  4  ncovers
 *   32  4  CRC-32 of the directory
 *   36  4  CRC-32 of the entries
 *   40     covers: rows u64, path length u32, path bytes (no NUL)
 *   H   4  CRC-32 of bytes [0, H)
 *          zero padding to a multiple of 8
 *   dir    (2^D + 1) x u32: dir[b] = first entry of bucket b (top D hash
 *          bits), dir[2^D] = rows
 *          zero padding to a multiple of 8
 *   ent    rows x (u32 fragment, u32 ordinal), sorted by hash: within a
 *          bucket by fragment (the top S bits of the hash are implied by
 *          the bucket, S <= D)
 *
 * The file ends exactly after the entries. A file built from full hashes has
 * S = D: it knows D + 32 bits of each hash. A merge cannot recover bits its
 * inputs dropped, so its output keeps S = the smallest input S (and its own
 * D, chosen from its row count, which only needs D <= S + 32 known bits).
 *
 * An ordinal k names row k of the concatenated covered files: file i holds
 * ordinals [cum[i], cum[i+1]).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "table/index.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/hash.h"

#define TF_MAGIC "FLOEIDX1"
#define TF_VERSION 1
#define TF_FIXED 40 /* bytes before the cover list */
#define TF_MAX_BITS 31
/* Aim: 2..4 entries per bucket: the directory costs 1..2 bytes per row on
 * top of the 8-byte entries, and a lookup touches one directory word and
 * one or two cache lines of entries. */
#define TF_PER_BUCKET 4

typedef struct tf_cover {
  char *path; /* owned */
  int64_t rows;
  uint32_t slot;
} tf_cover;

struct tidx_file {
  char *path;     /* owned */
  uint8_t *map;   /* the file's bytes, in anonymous memory */
  size_t map_len; /* the file's size */
  uint8_t *area;  /* the mapping holding map (huge-page aligned) */
  size_t area_len;
  const uint32_t *dir;
  const uint32_t *ent; /* pairs (fragment, ordinal) */
  uint64_t rows;
  int dbits, sbits;
  int ncovers;
  tf_cover *covers;
  uint64_t *cum; /* ncovers + 1 */
};

typedef struct tf_layout {
  uint64_t hdr_len; /* H */
  uint64_t dir_off, ent_off, size;
} tf_layout;

static uint64_t tf_align8(uint64_t v) { return (v + 7) & ~(uint64_t)7; }

static tf_layout tf_layout_of(uint64_t hdr_len, int dbits, uint64_t rows) {
  tf_layout l;
  l.hdr_len = hdr_len;
  l.dir_off = tf_align8(hdr_len + 4);
  l.ent_off = tf_align8(l.dir_off + (((uint64_t)1 << dbits) + 1) * 4);
  l.size = l.ent_off + rows * 8;
  return l;
}

static int tf_choose_bits(uint64_t rows) {
  int d = 0;
  while (d < TF_MAX_BITS && ((uint64_t)TF_PER_BUCKET << d) < rows) d++;
  return d;
}

static inline uint64_t tf_bucket(uint64_t hash, int dbits) {
  return dbits ? hash >> (64 - dbits) : 0;
}

static inline uint32_t tf_frag(uint64_t hash, int sbits) {
  return (uint32_t)(hash >> (32 - sbits));
}

/* ---- open ---- */

static void tf_free(tidx_file *f) {
  if (!f) return;
  if (f->area) munmap(f->area, f->area_len);
  if (f->covers)
    for (int i = 0; i < f->ncovers; i++) free(f->covers[i].path);
  free(f->covers);
  free(f->cum);
  free(f->path);
  free(f);
}

static char *tf_strndup(const void *p, size_t n) {
  char *s = malloc(n + 1);
  if (!s) return NULL;
  if (n) memcpy(s, p, n);
  s[n] = 0;
  return s;
}

static floe_status tf_errno(floe_error *err, const char *what,
                            const char *path) {
  return ferr_set(err, FLOE_EIO, "index file %s: %s: %s", path, what,
                  strerror(errno));
}

/* Parses and checks the mapped file; verify_body also checks the CRCs and
 * the directory of the body (skipped only for a file this process just
 * wrote, whose bytes it computed). */
static floe_status tf_parse(tidx_file *f, bool verify_body, floe_error *err) {
  fcur c = fcur_make(f->map, f->map_len, f->path, 0);
  const uint8_t *magic;
  uint32_t version, hlen, ncov, dir_crc, ent_crc;
  uint64_t rows;
  uint8_t dbits, sbits;
  FLOE_TRY(fcur_bytes(&c, 8, &magic, err));
  if (memcmp(magic, TF_MAGIC, 8) != 0)
    return ferr_corrupt(err, "index file %s: bad magic", f->path);
  FLOE_TRY(fcur_le32(&c, &version, err));
  FLOE_TRY(fcur_le32(&c, &hlen, err));
  if (hlen < TF_FIXED || (uint64_t)hlen + 4 > f->map_len)
    return ferr_corrupt(err,
                        "index file %s: header length %u outside the file "
                        "(%zu bytes)",
                        f->path, hlen, f->map_len);
  uint32_t crc = fle32(f->map + hlen);
  if (fcrc32(0, f->map, hlen) != crc)
    return ferr_corrupt(err, "index file %s: header CRC mismatch", f->path);
  if (version != TF_VERSION)
    return ferr_set(err, FLOE_EUNSUPPORTED,
                    "index file %s: version %u (floe reads %d)", f->path,
                    version, TF_VERSION);
  FLOE_TRY(fcur_le64(&c, &rows, err));
  FLOE_TRY(fcur_u8(&c, &dbits, err));
  FLOE_TRY(fcur_u8(&c, &sbits, err));
  FLOE_TRY(fcur_skip(&c, 2, err));
  FLOE_TRY(fcur_le32(&c, &ncov, err));
  FLOE_TRY(fcur_le32(&c, &dir_crc, err));
  FLOE_TRY(fcur_le32(&c, &ent_crc, err));
  if (rows > UINT32_MAX || dbits > TF_MAX_BITS || sbits > dbits)
    return ferr_corrupt(err, "index file %s: rows %llu, bits %u/%u invalid",
                        f->path, (unsigned long long)rows, dbits, sbits);
  /* each cover takes at least 12 header bytes: bounds the allocation */
  if (ncov > (hlen - TF_FIXED) / 12)
    return ferr_corrupt(err, "index file %s: %u covers in a %u-byte header",
                        f->path, ncov, hlen);
  f->rows = rows;
  f->dbits = dbits;
  f->sbits = sbits;
  f->covers = calloc(ncov ? ncov : 1, sizeof *f->covers);
  f->cum = calloc((size_t)ncov + 1, sizeof *f->cum);
  if (!f->covers || !f->cum)
    return ferr_nomem(err, ncov * (sizeof *f->covers + 8));
  c.len = hlen; /* the cover list ends where the header does */
  for (uint32_t i = 0; i < ncov; i++) {
    uint64_t crow;
    uint32_t plen;
    const uint8_t *p;
    FLOE_TRY(fcur_le64(&c, &crow, err));
    FLOE_TRY(fcur_le32(&c, &plen, err));
    FLOE_TRY(fcur_bytes(&c, plen, &p, err));
    if (crow > rows - f->cum[i])
      return ferr_corrupt(err, "index file %s: covered rows pass %llu", f->path,
                          (unsigned long long)rows);
    if (memchr(p, 0, plen))
      return ferr_corrupt(err, "index file %s: NUL in a covered path", f->path);
    f->covers[i].path = tf_strndup(p, plen);
    if (!f->covers[i].path) return ferr_nomem(err, plen + 1);
    f->covers[i].rows = (int64_t)crow;
    f->covers[i].slot = i;
    f->cum[i + 1] = f->cum[i] + crow;
    f->ncovers = (int)i + 1;
  }
  FLOE_TRY(fcur_end(&c, err));
  if (f->cum[ncov] != rows)
    return ferr_corrupt(err, "index file %s: covers hold %llu rows, not %llu",
                        f->path, (unsigned long long)f->cum[ncov],
                        (unsigned long long)rows);
  tf_layout l = tf_layout_of(hlen, dbits, rows);
  if (l.size != f->map_len)
    return ferr_corrupt(err, "index file %s: %zu bytes, layout needs %llu",
                        f->path, f->map_len, (unsigned long long)l.size);
  /* the padding is outside every CRC: it must be zero */
  uint64_t dir_end = l.dir_off + (((uint64_t)1 << dbits) + 1) * 4;
  for (uint64_t o = (uint64_t)hlen + 4; o < l.ent_off; o++) {
    if (o == l.dir_off) o = dir_end;
    if (o < l.ent_off && f->map[o] != 0)
      return ferr_corrupt(err, "index file %s: nonzero padding at offset %llu",
                          f->path, (unsigned long long)o);
  }
  f->dir = (const uint32_t *)(const void *)(f->map + l.dir_off);
  f->ent = (const uint32_t *)(const void *)(f->map + l.ent_off);
  if (verify_body) {
    uint64_t nb = (uint64_t)1 << dbits;
    if (fcrc32(0, f->dir, (nb + 1) * 4) != dir_crc)
      return ferr_corrupt(err, "index file %s: directory CRC mismatch",
                          f->path);
    if (fcrc32(0, f->ent, rows * 8) != ent_crc)
      return ferr_corrupt(err, "index file %s: entries CRC mismatch", f->path);
    /* lookups index entries through the directory: it must be monotonic */
    if (f->dir[0] != 0 || f->dir[nb] != rows)
      return ferr_corrupt(err, "index file %s: directory ends %u..%u", f->path,
                          f->dir[0], f->dir[nb]);
    for (uint64_t b = 0; b < nb; b++)
      if (f->dir[b] > f->dir[b + 1])
        return ferr_corrupt(err,
                            "index file %s: directory bucket %llu "
                            "decreases",
                            f->path, (unsigned long long)b);
    for (uint64_t k = 0; k < rows; k++)
      if (f->ent[2 * k + 1] >= rows)
        return ferr_corrupt(err, "index file %s: entry %llu ordinal %u",
                            f->path, (unsigned long long)k, f->ent[2 * k + 1]);
  }
  return FLOE_OK;
}

/* Every lookup probes a random bucket of every file index: with the file
 * mmap'd in 4 KiB pages a 20M-row index (160 MiB) spans 40,000 pages, so
 * each probe missed the TLB as well as the cache (~6% of the ingest
 * thread's time in an update-heavy 10M-row profile). The file is read once
 * into anonymous memory aligned to 2 MiB and advised MADV_HUGEPAGE (the
 * kernel's usual THP setting is "madvise"): 80 TLB entries cover it. Open
 * read the whole file anyway (the body CRCs). The bytes are pinned in RAM
 * now instead of page cache the kernel could drop; they were all touched by
 * lookups in a running table anyway. */
#define TF_HUGE ((size_t)2 << 20)

static floe_status tf_load(tidx_file *f, int fd, floe_error *err) {
  size_t len = f->map_len;
  bool huge = len >= TF_HUGE;
  size_t want = huge ? (len + TF_HUGE - 1) / TF_HUGE * TF_HUGE : len;
  size_t area = huge ? want + TF_HUGE : want;
  void *m = mmap(NULL, area, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return tf_errno(err, "mmap", f->path);
  uint8_t *a = m;
  if (huge) {
    /* trim to a 2 MiB aligned start: only aligned 2 MiB ranges get huge
     * pages */
    uintptr_t u = (uintptr_t)a;
    uintptr_t al = (u + TF_HUGE - 1) & ~(uintptr_t)(TF_HUGE - 1);
    if (al > u) munmap(a, al - u);
    if (area - (al - u) > want)
      munmap((uint8_t *)al + want, area - (al - u) - want);
    a = (uint8_t *)al;
    area = want;
#ifdef MADV_HUGEPAGE
    madvise(a, area, MADV_HUGEPAGE);
#endif
  }
  f->area = a;
  f->area_len = area;
  for (size_t off = 0; off < len;) {
    ssize_t r = pread(fd, a + off, len - off, (off_t)off);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return tf_errno(err, "read", f->path);
    if (r == 0)
      return ferr_corrupt(err, "index file %s: shrank to %zu bytes", f->path,
                          off);
    off += (size_t)r;
  }
  f->map = a;
  /* immutable from here: a stray write faults instead of corrupting */
  mprotect(a, area, PROT_READ);
  return FLOE_OK;
}

static floe_status tf_open(const char *path, bool verify_body, tidx_file **out,
                           floe_error *err) {
  *out = NULL;
  tidx_file *f = calloc(1, sizeof *f);
  if (!f) return ferr_nomem(err, sizeof *f);
  f->path = tf_strndup(path, strlen(path));
  if (!f->path) {
    free(f);
    return ferr_nomem(err, strlen(path) + 1);
  }
  floe_status st = FLOE_OK;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    st = errno == ENOENT
             ? ferr_set(err, FLOE_ENOTFOUND, "index file %s: not found", path)
             : tf_errno(err, "open", path);
    goto fail;
  }
  struct stat sb;
  if (fstat(fd, &sb) != 0) {
    st = tf_errno(err, "stat", path);
    close(fd);
    goto fail;
  }
  if (sb.st_size < TF_FIXED + 4) {
    close(fd);
    st = ferr_corrupt(err, "index file %s: %lld bytes, truncated", path,
                      (long long)sb.st_size);
    goto fail;
  }
  f->map_len = (size_t)sb.st_size;
  st = tf_load(f, fd, err);
  close(fd);
  if (st != FLOE_OK) goto fail;
  st = tf_parse(f, verify_body, err);
  if (st != FLOE_OK) goto fail;
  *out = f;
  return FLOE_OK;
fail:
  tf_free(f);
  return st;
}

floe_status tidx_file_open(const char *path, tidx_file **out, floe_error *err) {
  return tf_open(path, true, out, err);
}

int tidx_file_ncovers(const tidx_file *f) { return f->ncovers; }

const char *tidx_file_cover_path(const tidx_file *f, int i, int64_t *rows) {
  if (rows) *rows = f->covers[i].rows;
  return f->covers[i].path;
}

void tidx_file_set_slot(tidx_file *f, int i, uint32_t slot) {
  f->covers[i].slot = slot;
}

uint32_t tidx_file_slot(const tidx_file *f, int i) { return f->covers[i].slot; }

/* The cover holding ordinal ord (ord < rows): the last i with cum[i] <= ord,
 * which skips empty covers. Branch-free halving: the answer stays in
 * [base, base + n). */
static inline int tf_cover_of(const tidx_file *f, uint64_t ord) {
  const uint64_t *base = f->cum;
  int n = f->ncovers;
  while (n > 1) {
    int half = n / 2;
    base = base[half] <= ord ? base + half : base;
    n -= half;
  }
  return (int)(base - f->cum);
}

void tidx_file_lookup(const tidx_file *f, uint64_t hash, tidx_visit_fn fn,
                      void *arg) {
  uint64_t b = tf_bucket(hash, f->dbits);
  uint32_t lo = f->dir[b], hi = f->dir[b + 1];
  uint32_t frag = tf_frag(hash, f->sbits);
  /* lower bound of frag in the bucket, without branches on the data (a
   * bucket holds 2..4 entries: mispredicted branches would cost more than
   * the cache line) */
  const uint32_t *p = f->ent + 2 * (size_t)lo, *end = f->ent + 2 * (size_t)hi;
  uint32_t n = hi - lo;
  while (n > 1) {
    uint32_t half = n / 2;
    p = p[2 * (half - 1)] < frag ? p + 2 * half : p;
    n -= half;
  }
  if (n == 1 && p[0] < frag) p += 2;
  for (; p < end && p[0] == frag; p += 2) {
    uint32_t ord = p[1];
    int ci = f->ncovers == 1 ? 0 : tf_cover_of(f, ord);
    if (fn(arg, TIDX_LOC(f->covers[ci].slot, ord - f->cum[ci]))) return;
  }
}

void tidx_file_prefetch(const tidx_file *f, uint64_t hash, int stage) {
  uint64_t b = tf_bucket(hash, f->dbits);
  if (stage == 0) {
    __builtin_prefetch(&f->dir[b]);
    return;
  }
  /* the directory word is cached by now (stage 0, a key earlier): the
   * bucket's first entries are the line a lookup reads */
  __builtin_prefetch(f->ent + 2 * (size_t)f->dir[b]);
}

int64_t tidx_file_rows(const tidx_file *f) { return (int64_t)f->rows; }

const char *tidx_file_path(const tidx_file *f) { return f->path; }

int64_t tidx_file_bytes(const tidx_file *f) {
  int64_t heap = (int64_t)sizeof *f + (int64_t)strlen(f->path) + 1 +
                 f->ncovers * (int64_t)(sizeof *f->covers + 8) + 8;
  for (int i = 0; i < f->ncovers; i++)
    heap += (int64_t)strlen(f->covers[i].path) + 1;
  /* read into anonymous memory at open: all of it is resident */
  return heap + (int64_t)f->area_len;
}

void tidx_file_close(tidx_file *f, int unlink_file) {
  if (!f) return;
  if (unlink_file) unlink(f->path);
  tf_free(f);
}

/* ---- writing ---- */

/* A new index file being written through a shared mapping of a temp file
 * (the entries are placed at random positions; a mapping avoids a second
 * copy of them on the heap). */
typedef struct tf_writer {
  const char *path;
  char *tmp; /* owned */
  int fd;
  uint8_t *map;
  int dbits;
  tf_layout l;
} tf_writer;

static floe_status tf_header(fbuf *h, uint64_t rows, int dbits, int sbits,
                             const char *const *paths, const int64_t *crows,
                             int n, floe_error *err) {
  FLOE_TRY(fbuf_append(h, TF_MAGIC, 8, err));
  FLOE_TRY(fbuf_put_le32(h, TF_VERSION, err));
  FLOE_TRY(fbuf_put_le32(h, 0, err)); /* H, patched below */
  FLOE_TRY(fbuf_put_le64(h, rows, err));
  FLOE_TRY(fbuf_put_u8(h, (uint8_t)dbits, err));
  FLOE_TRY(fbuf_put_u8(h, (uint8_t)sbits, err));
  FLOE_TRY(fbuf_zero(h, 2, err));
  FLOE_TRY(fbuf_put_le32(h, (uint32_t)n, err));
  FLOE_TRY(fbuf_zero(h, 8, err)); /* CRCs, patched at the end */
  for (int i = 0; i < n; i++) {
    size_t pl = strlen(paths[i]);
    if (pl > UINT32_MAX)
      return ferr_set(err, FLOE_EINVAL, "index: path too long");
    FLOE_TRY(fbuf_put_le64(h, (uint64_t)crows[i], err));
    FLOE_TRY(fbuf_put_le32(h, (uint32_t)pl, err));
    FLOE_TRY(fbuf_append(h, paths[i], pl, err));
  }
  if (h->len > UINT32_MAX)
    return ferr_set(err, FLOE_EINVAL, "index: header too long");
  uint32_t hl = (uint32_t)h->len;
  memcpy(h->data + 12, &hl, 4);
  return FLOE_OK;
}

static floe_status tf_writer_open(tf_writer *w, const char *path,
                                  const fbuf *hdr, int dbits, uint64_t rows,
                                  floe_error *err) {
  memset(w, 0, sizeof *w);
  w->fd = -1;
  w->path = path;
  w->dbits = dbits;
  w->l = tf_layout_of(hdr->len, dbits, rows);
  size_t pl = strlen(path);
  w->tmp = malloc(pl + 16);
  if (!w->tmp) return ferr_nomem(err, pl + 16);
  memcpy(w->tmp, path, pl);
  memcpy(w->tmp + pl, ".tmp-XXXXXX", 12);
  w->fd = mkstemp(w->tmp);
  if (w->fd < 0) {
    floe_status st = tf_errno(err, "create temp file", path);
    free(w->tmp);
    w->tmp = NULL;
    return st;
  }
  /* reserve the blocks now: a write fault on a full disk through the
   * mapping would be SIGBUS, not an error */
  int rc = posix_fallocate(w->fd, 0, (off_t)w->l.size);
  if (rc != 0) {
    errno = rc;
    return tf_errno(err, "allocate", w->tmp);
  }
  void *m = mmap(NULL, w->l.size, PROT_READ | PROT_WRITE, MAP_SHARED, w->fd, 0);
  if (m == MAP_FAILED) return tf_errno(err, "mmap", w->tmp);
  w->map = m;
  memcpy(w->map, hdr->data, hdr->len);
  return FLOE_OK;
}

static void tf_writer_abort(tf_writer *w) {
  if (w->map) munmap(w->map, w->l.size);
  if (w->fd >= 0) close(w->fd);
  if (w->tmp) {
    unlink(w->tmp);
    free(w->tmp);
  }
  memset(w, 0, sizeof *w);
  w->fd = -1;
}

static floe_status tf_fsync_dir(const char *path, floe_error *err) {
  const char *slash = strrchr(path, '/');
  char *dir = slash
                  ? tf_strndup(path, slash == path ? 1 : (size_t)(slash - path))
                  : tf_strndup(".", 1);
  if (!dir) return ferr_nomem(err, strlen(path));
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  floe_status st = FLOE_OK;
  if (fd < 0 || fsync(fd) != 0) st = tf_errno(err, "fsync directory", dir);
  if (fd >= 0) close(fd);
  free(dir);
  return st;
}

/* Seals the body: CRCs into the header, fsync, rename over path. */
static floe_status tf_writer_finish(tf_writer *w, floe_error *err) {
  uint64_t dir_bytes = (((uint64_t)1 << w->dbits) + 1) * 4;
  uint64_t ent_bytes = w->l.size - w->l.ent_off;
  uint32_t dcrc = fcrc32(0, w->map + w->l.dir_off, dir_bytes);
  uint32_t ecrc = fcrc32(0, w->map + w->l.ent_off, ent_bytes);
  memcpy(w->map + 32, &dcrc, 4);
  memcpy(w->map + 36, &ecrc, 4);
  uint32_t hcrc = fcrc32(0, w->map, w->l.hdr_len);
  memcpy(w->map + w->l.hdr_len, &hcrc, 4);
  if (munmap(w->map, w->l.size) != 0) return tf_errno(err, "munmap", w->tmp);
  w->map = NULL;
  if (fsync(w->fd) != 0) return tf_errno(err, "fsync", w->tmp);
  if (close(w->fd) != 0) {
    w->fd = -1;
    return tf_errno(err, "close", w->tmp);
  }
  w->fd = -1;
  if (rename(w->tmp, w->path) != 0) return tf_errno(err, "rename", w->tmp);
  free(w->tmp);
  w->tmp = NULL;
  return tf_fsync_dir(w->path, err);
}

static int tf_cmp_frag(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

/* Sorts one bucket's entries by fragment. Buckets hold a few entries; only
 * duplicate-heavy tables (key-less, equal rows) make long ones, and those
 * are mostly equal fragments, which insertion sort passes over in O(n). */
static void tf_sort_bucket(uint32_t *e, uint32_t n) {
  if (n > 32) {
    qsort(e, n, 8, tf_cmp_frag);
    return;
  }
  for (uint32_t i = 1; i < n; i++) {
    uint32_t f = e[2 * i], o = e[2 * i + 1];
    uint32_t j = i;
    while (j > 0 && e[2 * (j - 1)] > f) {
      e[2 * j] = e[2 * (j - 1)];
      e[2 * j + 1] = e[2 * (j - 1) + 1];
      j--;
    }
    e[2 * j] = f;
    e[2 * j + 1] = o;
  }
}

/* Opens the file just written and gives its covers the caller's slots. */
static floe_status tf_open_written(const char *path, const uint32_t *slots,
                                   tidx_file **out, floe_error *err) {
  FLOE_TRY(tf_open(path, false, out, err));
  for (int i = 0; i < (*out)->ncovers; i++) (*out)->covers[i].slot = slots[i];
  return FLOE_OK;
}

floe_status tidx_file_build(const char *path, const tidx_cover *files,
                            int nfiles, const uint64_t *hashes, tidx_file **out,
                            floe_error *err) {
  *out = NULL;
  if (nfiles < 0)
    return ferr_set(err, FLOE_EINVAL, "index build: %d files", nfiles);
  uint64_t rows = 0;
  for (int i = 0; i < nfiles; i++) {
    if (files[i].rows < 0 || (uint64_t)files[i].rows > UINT32_MAX - rows)
      return ferr_set(err, FLOE_EINVAL,
                      "index build %s: more than 2^32-1 rows (ordinals are "
                      "32-bit)",
                      path);
    rows += (uint64_t)files[i].rows;
  }
  int dbits = tf_choose_bits(rows), sbits = dbits;
  const char **paths = calloc((size_t)nfiles + 1, sizeof *paths);
  int64_t *crows = calloc((size_t)nfiles + 1, sizeof *crows);
  uint32_t *slots = calloc((size_t)nfiles + 1, sizeof *slots);
  fbuf hdr = FBUF_INIT;
  tf_writer w = {.fd = -1};
  floe_status st = FLOE_OK;
  if (!paths || !crows || !slots) {
    st = ferr_nomem(err, (size_t)nfiles * 20);
    goto done;
  }
  for (int i = 0; i < nfiles; i++) {
    paths[i] = files[i].path;
    crows[i] = files[i].rows;
    slots[i] = files[i].slot;
  }
  st = tf_header(&hdr, rows, dbits, sbits, paths, crows, nfiles, err);
  if (st != FLOE_OK) goto done;
  st = tf_writer_open(&w, path, &hdr, dbits, rows, err);
  if (st != FLOE_OK) goto done;
  uint32_t *dir = (uint32_t *)(void *)(w.map + w.l.dir_off);
  uint32_t *ent = (uint32_t *)(void *)(w.map + w.l.ent_off);
  uint64_t nb = (uint64_t)1 << dbits;
  /* counting sort by bucket: counts into dir[b + 1], prefix sums give each
   * bucket's start in dir[b], placing advances dir[b] to the next start,
   * then one shift restores the starts */
  memset(dir, 0, (nb + 1) * 4);
  for (uint64_t k = 0; k < rows; k++) dir[tf_bucket(hashes[k], dbits) + 1]++;
  for (uint64_t b = 0; b < nb; b++) dir[b + 1] += dir[b];
  for (uint64_t k = 0; k < rows; k++) {
    uint64_t h = hashes[k];
    uint32_t pos = dir[tf_bucket(h, dbits)]++;
    ent[2 * (size_t)pos] = tf_frag(h, sbits);
    ent[2 * (size_t)pos + 1] = (uint32_t)k;
  }
  memmove(dir + 1, dir, nb * 4);
  dir[0] = 0;
  for (uint64_t b = 0; b < nb; b++)
    if (dir[b + 1] - dir[b] > 1)
      tf_sort_bucket(ent + 2 * (size_t)dir[b], dir[b + 1] - dir[b]);
  st = tf_writer_finish(&w, err);
  if (st != FLOE_OK) goto done;
  st = tf_open_written(path, slots, out, err);
done:
  if (st != FLOE_OK) tf_writer_abort(&w);
  fbuf_free(&hdr);
  free(paths);
  free(crows);
  free(slots);
  return st;
}

/* ---- merge ---- */

typedef struct tf_cursor {
  const tidx_file *f;
  const int32_t *map; /* input cover -> output cover, -1 dead (owned) */
  uint64_t k;         /* next entry */
  uint64_t b;         /* bucket of entry k */
  uint64_t key;       /* hash prefix of entry k, truncated to the output */
  uint64_t ord;       /* output ordinal of entry k */
} tf_cursor;

/* Moves c to its next live entry at or after c->k; false at the end. */
static bool tf_cursor_fill(tf_cursor *c, const uint64_t *out_cum,
                           uint64_t trunc) {
  const tidx_file *f = c->f;
  for (; c->k < f->rows; c->k++) {
    uint32_t ord = f->ent[2 * c->k + 1];
    int ci = f->ncovers == 1 ? 0 : tf_cover_of(f, ord);
    int32_t oc = c->map[ci];
    if (oc < 0) continue;
    while (f->dir[c->b + 1] <= c->k) c->b++;
    uint64_t top =
        f->sbits ? (c->b >> (f->dbits - f->sbits)) << (64 - f->sbits) : 0;
    uint64_t h = top | ((uint64_t)f->ent[2 * c->k] << (32 - f->sbits));
    c->key = h & trunc;
    c->ord = out_cum[oc] + (ord - f->cum[ci]);
    return true;
  }
  return false;
}

static bool tf_cursor_less(const tf_cursor *a, const tf_cursor *b) {
  return a->key < b->key || (a->key == b->key && a->f < b->f);
}

static void tf_heap_down(tf_cursor **h, int n, int i) {
  for (;;) {
    int l = 2 * i + 1, r = l + 1, m = i;
    if (l < n && tf_cursor_less(h[l], h[m])) m = l;
    if (r < n && tf_cursor_less(h[r], h[m])) m = r;
    if (m == i) return;
    tf_cursor *t = h[i];
    h[i] = h[m];
    h[m] = t;
    i = m;
  }
}

floe_status tidx_file_merge(const char *path, tidx_file *const *in, int nin,
                            tidx_live_fn live, void *arg, tidx_file **out,
                            floe_error *err) {
  *out = NULL;
  if (nin < 0) return ferr_set(err, FLOE_EINVAL, "index merge: %d inputs", nin);
  int ncov_all = 0;
  for (int i = 0; i < nin; i++) ncov_all += in[i]->ncovers;
  const char **paths = calloc((size_t)ncov_all + 1, sizeof *paths);
  int64_t *crows = calloc((size_t)ncov_all + 1, sizeof *crows);
  uint32_t *slots = calloc((size_t)ncov_all + 1, sizeof *slots);
  uint64_t *cum = calloc((size_t)ncov_all + 2, sizeof *cum);
  int32_t *maps = calloc((size_t)ncov_all + 1, sizeof *maps);
  tf_cursor *cur = calloc((size_t)nin + 1, sizeof *cur);
  tf_cursor **heap = calloc((size_t)nin + 1, sizeof *heap);
  fbuf hdr = FBUF_INIT;
  tf_writer w = {.fd = -1};
  floe_status st = FLOE_OK;
  if (!paths || !crows || !slots || !cum || !maps || !cur || !heap) {
    st = ferr_nomem(err, (size_t)ncov_all * 40);
    goto done;
  }
  /* output covers: the live covers of the inputs, in input order */
  int nout = 0, mi = 0, sbits = TF_MAX_BITS;
  for (int i = 0; i < nin; i++) {
    const tidx_file *f = in[i];
    cur[i].f = f;
    cur[i].map = maps + mi;
    if (f->sbits < sbits) sbits = f->sbits;
    for (int j = 0; j < f->ncovers; j++, mi++) {
      const tf_cover *cv = &f->covers[j];
      if (live && !live(arg, cv->slot)) {
        maps[mi] = -1;
        continue;
      }
      if ((uint64_t)cv->rows > UINT32_MAX - cum[nout]) {
        st = ferr_set(err, FLOE_EINVAL, "index merge %s: more than 2^32-1 rows",
                      path);
        goto done;
      }
      maps[mi] = nout;
      paths[nout] = cv->path;
      crows[nout] = cv->rows;
      slots[nout] = cv->slot;
      cum[nout + 1] = cum[nout] + (uint64_t)cv->rows;
      nout++;
    }
  }
  uint64_t rows = cum[nout];
  int dbits = tf_choose_bits(rows);
  if (dbits < sbits) sbits = dbits;
  st = tf_header(&hdr, rows, dbits, sbits, paths, crows, nout, err);
  if (st != FLOE_OK) goto done;
  st = tf_writer_open(&w, path, &hdr, dbits, rows, err);
  if (st != FLOE_OK) goto done;
  uint32_t *dir = (uint32_t *)(void *)(w.map + w.l.dir_off);
  uint32_t *ent = (uint32_t *)(void *)(w.map + w.l.ent_off);
  uint64_t nb = (uint64_t)1 << dbits;
  /* inputs know hash bits [0, S_in + 32); the output keeps [0, S + 32) */
  uint64_t trunc = ~(((uint64_t)1 << (32 - sbits)) - 1);
  int nh = 0;
  for (int i = 0; i < nin; i++)
    if (tf_cursor_fill(&cur[i], cum, trunc)) heap[nh++] = &cur[i];
  for (int i = nh / 2 - 1; i >= 0; i--) tf_heap_down(heap, nh, i);
  uint64_t n = 0, next_b = 0;
  while (nh > 0) {
    tf_cursor *c = heap[0];
    if (n >= rows) break; /* inputs disagree with their covers: below */
    uint64_t b = tf_bucket(c->key, dbits);
    while (next_b <= b) dir[next_b++] = (uint32_t)n;
    ent[2 * n] = tf_frag(c->key, sbits);
    ent[2 * n + 1] = (uint32_t)c->ord;
    n++;
    c->k++;
    if (!tf_cursor_fill(c, cum, trunc)) heap[0] = heap[--nh];
    tf_heap_down(heap, nh, 0);
  }
  if (n != rows || nh > 0) {
    st =
        ferr_corrupt(err,
                     "index merge %s: inputs hold %s entries than their "
                     "covers' %llu rows",
                     path, nh > 0 ? "more" : "fewer", (unsigned long long)rows);
    goto done;
  }
  while (next_b <= nb) dir[next_b++] = (uint32_t)n;
  st = tf_writer_finish(&w, err);
  if (st != FLOE_OK) goto done;
  st = tf_open_written(path, slots, out, err);
done:
  if (st != FLOE_OK) tf_writer_abort(&w);
  fbuf_free(&hdr);
  free(paths);
  free(crows);
  free(slots);
  free(cum);
  free(maps);
  free(cur);
  free(heap);
  return st;
}
