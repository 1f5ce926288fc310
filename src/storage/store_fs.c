/*
 * The local-filesystem object store.
 *
 * Atomicity comes from the directory entry: data goes to a temp file in the
 * target's directory, is fsync'd, then becomes visible in one step:
 * rename(2) for put (replace), link(2) for put-if-absent (fails with EEXIST,
 * so of two racing committers exactly one wins), and the directory is
 * fsync'd so the new entry survives a crash. Temp files start with ".tmp-"
 * and are never listed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/store.h"

#define FS_WBUF (256 * 1024)

typedef struct fs_store {
  fstore base;
  char *root;
} fs_store;

typedef struct fs_writer {
  fstore_writer base;
  int fd;
  char *tmp;   /* malloc'd temp path */
  char *final; /* malloc'd final path */
  size_t used;
  uint8_t buf[FS_WBUF];
} fs_writer;

static const fstore_ops fs_ops;

/* Keys are relative, '/'-separated, without "." / ".." / empty parts, so no
 * key can name anything outside the root. */
static floe_status fs_check_key(const char *key, bool allow_empty,
                                floe_error *err) {
  size_t n = strlen(key);
  if (n == 0 && allow_empty) return FLOE_OK;
  if (n == 0 || key[0] == '/')
    return ferr_set(err, FLOE_EINVAL, "store: bad key '%s'", key);
  const char *p = key;
  while (*p) {
    const char *e = strchr(p, '/');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    if ((len == 0 && e && e[1] != '\0') || (len == 1 && p[0] == '.') ||
        (len == 2 && p[0] == '.' && p[1] == '.'))
      return ferr_set(err, FLOE_EINVAL, "store: bad key '%s'", key);
    if (!e) break;
    p = e + 1;
  }
  return FLOE_OK;
}

static char *fs_path(const fs_store *s, const char *key, floe_error *err) {
  size_t n = strlen(s->root) + strlen(key) + 2;
  char *p = malloc(n);
  if (!p) {
    ferr_nomem(err, n);
    return NULL;
  }
  snprintf(p, n, "%s/%s", s->root, key);
  return p;
}

static floe_status fs_errno(floe_error *err, const char *what,
                            const char *path) {
  int e = errno;
  floe_status st = e == ENOENT   ? FLOE_ENOTFOUND
                   : e == EEXIST ? FLOE_EEXIST
                   : e == ENOMEM ? FLOE_ENOMEM
                                 : FLOE_EIO;
  return ferr_set(err, st, "%s %s: %s", what, path, strerror(e));
}

static floe_status fs_fsync_dir(const char *path, floe_error *err) {
  char dir[4096];
  size_t n = strlen(path);
  if (n >= sizeof dir) return FLOE_OK;
  memcpy(dir, path, n + 1);
  char *slash = strrchr(dir, '/');
  if (!slash) return FLOE_OK;
  *slash = '\0';
  int fd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY);
  if (fd < 0) return fs_errno(err, "open dir", dir);
  int rc = fsync(fd);
  close(fd);
  if (rc != 0) return fs_errno(err, "fsync dir", dir);
  return FLOE_OK;
}

/* mkdir -p of the directory part of path. A directory this call creates
 * is made durable too (its parent is fsync'd), so a crash cannot lose the
 * directory a committed file lives in. */
static floe_status fs_mkdirs(const char *path, floe_error *err) {
  char tmp[4096];
  size_t n = strlen(path);
  if (n >= sizeof tmp)
    return ferr_set(err, FLOE_EINVAL, "store: path too long: %s", path);
  memcpy(tmp, path, n + 1);
  char *slash = strrchr(tmp, '/');
  if (!slash || slash == tmp) return FLOE_OK;
  *slash = '\0';
  for (char *p = tmp + 1;; p++) {
    if (*p != '/' && *p != '\0') continue;
    char c = *p;
    *p = '\0';
    if (mkdir(tmp, 0755) == 0) {
      /* new: its entry lives in the parent, which must reach the disk */
      FLOE_TRY(fs_fsync_dir(tmp, err));
    } else if (errno != EEXIST) {
      return fs_errno(err, "mkdir", tmp);
    }
    *p = c;
    if (c == '\0') break;
  }
  return FLOE_OK;
}

static floe_status fs_write_all(int fd, const void *p, size_t n,
                                const char *path, floe_error *err) {
  const uint8_t *b = p;
  while (n > 0) {
    ssize_t w = write(fd, b, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return fs_errno(err, "write", path);
    }
    b += w;
    n -= (size_t)w;
  }
  return FLOE_OK;
}

/* Opens a fresh temp file beside final; *tmp_out is malloc'd. */
static floe_status fs_tmp_open(const char *final, int *fd_out, char **tmp_out,
                               floe_error *err) {
  FLOE_TRY(fs_mkdirs(final, err));
  const char *slash = strrchr(final, '/');
  size_t dlen = slash ? (size_t)(slash - final) : 0;
  size_t n = dlen + 32;
  char *tmp = malloc(n);
  if (!tmp) return ferr_nomem(err, n);
  snprintf(tmp, n, "%.*s/.tmp-XXXXXX", (int)dlen, final);
  int fd = mkstemp(tmp);
  if (fd < 0) {
    floe_status st = fs_errno(err, "create temp file in", final);
    free(tmp);
    return st;
  }
  *fd_out = fd;
  *tmp_out = tmp;
  return FLOE_OK;
}

/* fsync + close fd, then move tmp into place; tmp is gone afterwards. */
static floe_status fs_publish(int fd, const char *tmp, const char *final,
                              bool if_absent, floe_error *err) {
  floe_status st = FLOE_OK;
  if (fsync(fd) != 0) st = fs_errno(err, "fsync", tmp);
  if (close(fd) != 0 && st == FLOE_OK) st = fs_errno(err, "close", tmp);
  if (st == FLOE_OK) {
    if (if_absent) {
      if (link(tmp, final) != 0)
        st = errno == EEXIST
                 ? ferr_set(err, FLOE_EEXIST, "%s already exists", final)
                 : fs_errno(err, "link", final);
    } else if (rename(tmp, final) != 0) {
      st = fs_errno(err, "rename to", final);
    }
  }
  if (if_absent || st != FLOE_OK) unlink(tmp);
  if (st == FLOE_OK) st = fs_fsync_dir(final, err);
  return st;
}

static floe_status fs_put(fstore *base, const char *key, const void *p,
                          size_t n, bool if_absent, floe_error *err) {
  fs_store *s = (fs_store *)base;
  FLOE_TRY(fs_check_key(key, false, err));
  char *final = fs_path(s, key, err);
  if (!final) return FLOE_ENOMEM;
  int fd;
  char *tmp;
  floe_status st = fs_tmp_open(final, &fd, &tmp, err);
  if (st == FLOE_OK) {
    st = fs_write_all(fd, p, n, tmp, err);
    if (st != FLOE_OK) {
      close(fd);
      unlink(tmp);
    } else {
      st = fs_publish(fd, tmp, final, if_absent, err);
    }
    free(tmp);
  }
  free(final);
  return st;
}

static floe_status fs_get_range(fstore *base, const char *key, uint64_t off,
                                void *buf, size_t n, floe_error *err) {
  fs_store *s = (fs_store *)base;
  FLOE_TRY(fs_check_key(key, false, err));
  char *path = fs_path(s, key, err);
  if (!path) return FLOE_ENOMEM;
  floe_status st = FLOE_OK;
  int fd = open(path, O_RDONLY);
  if (fd < 0) {
    st = fs_errno(err, "open", path);
  } else {
    uint8_t *b = buf;
    size_t done = 0;
    while (done < n) {
      ssize_t r = pread(fd, b + done, n - done, (off_t)(off + done));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) {
        st = fs_errno(err, "read", path);
        break;
      }
      if (r == 0) {
        st = ferr_corrupt(err, "%s: short read at offset %llu (wanted %zu)",
                          path, (unsigned long long)(off + done), n - done);
        break;
      }
      done += (size_t)r;
    }
    close(fd);
  }
  free(path);
  return st;
}

static floe_status fs_size(fstore *base, const char *key, uint64_t *out,
                           floe_error *err) {
  fs_store *s = (fs_store *)base;
  FLOE_TRY(fs_check_key(key, false, err));
  char *path = fs_path(s, key, err);
  if (!path) return FLOE_ENOMEM;
  struct stat sb;
  floe_status st = FLOE_OK;
  if (stat(path, &sb) != 0)
    st = fs_errno(err, "stat", path);
  else
    *out = (uint64_t)sb.st_size;
  free(path);
  return st;
}

/* Walks dir (whose key is rel, "" for the root) recursively. */
static floe_status fs_walk(const char *dir, const char *rel, const char *prefix,
                           fstore_list_fn fn, void *ctx, floe_error *err) {
  DIR *d = opendir(dir);
  if (!d) {
    if (errno == ENOENT || errno == ENOTDIR) return FLOE_OK;
    return fs_errno(err, "opendir", dir);
  }
  floe_status st = FLOE_OK;
  struct dirent *e;
  while (st == FLOE_OK && (e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue; /* ., .., temp files */
    char path[4096], key[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >=
            sizeof path ||
        (size_t)snprintf(key, sizeof key, "%s%s%s", rel, rel[0] ? "/" : "",
                         e->d_name) >= sizeof key) {
      st = ferr_set(err, FLOE_EINVAL, "store: path too long under %s", dir);
      break;
    }
    struct stat sb;
    if (stat(path, &sb) != 0) continue; /* deleted meanwhile */
    size_t kl = strlen(key), pl = strlen(prefix);
    if (S_ISDIR(sb.st_mode)) {
      /* descend only where the prefix can still match */
      size_t m = kl < pl ? kl : pl;
      if (strncmp(key, prefix, m) == 0)
        st = fs_walk(path, key, prefix, fn, ctx, err);
    } else if (S_ISREG(sb.st_mode) && strncmp(key, prefix, pl) == 0) {
      st = fn(ctx, key, (uint64_t)sb.st_size, err);
    }
  }
  closedir(d);
  return st;
}

static floe_status fs_list(fstore *base, const char *prefix, fstore_list_fn fn,
                           void *ctx, floe_error *err) {
  fs_store *s = (fs_store *)base;
  return fs_walk(s->root, "", prefix, fn, ctx, err);
}

static floe_status fs_del(fstore *base, const char *key, floe_error *err) {
  fs_store *s = (fs_store *)base;
  FLOE_TRY(fs_check_key(key, false, err));
  char *path = fs_path(s, key, err);
  if (!path) return FLOE_ENOMEM;
  floe_status st = FLOE_OK;
  if (unlink(path) != 0) st = fs_errno(err, "delete", path);
  free(path);
  return st;
}

static floe_status fs_writer_open(fstore *base, const char *key,
                                  fstore_writer **out, floe_error *err) {
  fs_store *s = (fs_store *)base;
  FLOE_TRY(fs_check_key(key, false, err));
  fs_writer *w = malloc(sizeof *w);
  if (!w) return ferr_nomem(err, sizeof *w);
  w->base.store = base;
  w->used = 0;
  w->final = fs_path(s, key, err);
  if (!w->final) {
    free(w);
    return FLOE_ENOMEM;
  }
  floe_status st = fs_tmp_open(w->final, &w->fd, &w->tmp, err);
  if (st != FLOE_OK) {
    free(w->final);
    free(w);
    return st;
  }
  *out = &w->base;
  return FLOE_OK;
}

static floe_status fs_writer_flush(fs_writer *w, floe_error *err) {
  floe_status st = fs_write_all(w->fd, w->buf, w->used, w->tmp, err);
  w->used = 0;
  return st;
}

static floe_status fs_writer_write(fstore_writer *base, const void *p, size_t n,
                                   floe_error *err) {
  fs_writer *w = (fs_writer *)base;
  if (n > FS_WBUF - w->used) {
    FLOE_TRY(fs_writer_flush(w, err));
    if (n >= FS_WBUF) return fs_write_all(w->fd, p, n, w->tmp, err);
  }
  memcpy(w->buf + w->used, p, n);
  w->used += n;
  return FLOE_OK;
}

static void fs_writer_release(fs_writer *w) {
  free(w->tmp);
  free(w->final);
  free(w);
}

static void fs_writer_abort(fstore_writer *base) {
  fs_writer *w = (fs_writer *)base;
  close(w->fd);
  unlink(w->tmp);
  fs_writer_release(w);
}

static floe_status fs_writer_commit(fstore_writer *base, bool if_absent,
                                    floe_error *err) {
  fs_writer *w = (fs_writer *)base;
  floe_status st = fs_writer_flush(w, err);
  if (st != FLOE_OK) {
    fs_writer_abort(base);
    return st;
  }
  st = fs_publish(w->fd, w->tmp, w->final, if_absent, err);
  fs_writer_release(w);
  return st;
}

static void fs_free(fstore *base) {
  fs_store *s = (fs_store *)base;
  free(s->root);
  free(s);
}

static const fstore_ops fs_ops = {
    fs_put,         fs_get_range,    fs_size,          fs_list,         fs_del,
    fs_writer_open, fs_writer_write, fs_writer_commit, fs_writer_abort, fs_free,
};

floe_status fstore_fs_open(const char *dir, fstore **out, floe_error *err) {
  size_t n = strlen(dir);
  while (n > 1 && dir[n - 1] == '/') n--;
  if (n == 0) return ferr_set(err, FLOE_EINVAL, "store: empty directory");
  fs_store *s = calloc(1, sizeof *s);
  if (!s) return ferr_nomem(err, sizeof *s);
  s->root = strndup(dir, n);
  if (!s->root) {
    free(s);
    return ferr_nomem(err, n);
  }
  s->base.ops = &fs_ops;
  char probe[4096];
  snprintf(probe, sizeof probe, "%s/x", s->root);
  floe_status st = fs_mkdirs(probe, err);
  if (st != FLOE_OK) {
    fs_free(&s->base);
    return st;
  }
  *out = &s->base;
  return FLOE_OK;
}

floe_status fstore_get_all(fstore *s, const char *key, size_t max, fbuf *out,
                           floe_error *err) {
  uint64_t size;
  FLOE_TRY(fstore_size(s, key, &size, err));
  if (size > max)
    return ferr_set(err, FLOE_ENOMEM, "%s is %llu bytes, limit %zu", key,
                    (unsigned long long)size, max);
  if (size == 0) return FLOE_OK;
  FLOE_TRY(fbuf_reserve(out, (size_t)size, err));
  FLOE_TRY(
      fstore_get_range(s, key, 0, out->data + out->len, (size_t)size, err));
  out->len += (size_t)size;
  return FLOE_OK;
}

floe_status fstore_writer_write(fstore_writer *w, const void *p, size_t n,
                                floe_error *err) {
  return w->store->ops->writer_write(w, p, n, err);
}

floe_status fstore_writer_commit(fstore_writer *w, bool if_absent,
                                 floe_error *err) {
  return w->store->ops->writer_commit(w, if_absent, err);
}

void fstore_writer_abort(fstore_writer *w) {
  if (w) w->store->ops->writer_abort(w);
}
