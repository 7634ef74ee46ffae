/*
 * Small synced writes, timed one by one, for the consistency-route prototypes
 * (scripts/consistency/routes/fuse-lib.mjs builds it with `cc -O2 ... -lsqlite3`).
 * A C program so that the numbers are the file system's (and FUSE's), not a runtime's.
 *
 *   synced-writer sqlite DIR SECONDS [wal|delete]  one-row transactions, synchronous=FULL
 *   synced-writer fsync  DIR SECONDS               4 KiB pwrite at a random offset + fdatasync
 *   synced-writer acked  DIR SECONDS               append "n\n" + fdatasync, print n once synced
 *
 * sqlite/fsync print one JSON line: {"ops":N,"seconds":S,"p50_us":..,"p99_us":..,"max_us":..}.
 * acked prints every acknowledged n on its own line (flushed), and "error <errno text>" when a
 * write or sync fails, then exits 3: the harness kills the FUSE daemon under it.
 */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double *lat;
static size_t n, cap;

static void record(double us) {
  if (n == cap) {
    cap = cap ? cap * 2 : 4096;
    lat = realloc(lat, cap * sizeof *lat);
  }
  lat[n++] = us;
}

static void report(double seconds) {
  qsort(lat, n, sizeof *lat, cmp);
  double p50 = n ? lat[n / 2] : 0, p99 = n ? lat[(size_t)(n * 0.99)] : 0, mx = n ? lat[n - 1] : 0;
  printf("{\"ops\":%zu,\"seconds\":%.3f,\"p50_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f}\n", n,
         seconds, p50, p99, mx);
}

static int run_sqlite(const char *dir, double secs, const char *mode) {
  char path[4096];
  snprintf(path, sizeof path, "%s/bench.db", dir);
  sqlite3 *db;
  if (sqlite3_open(path, &db) != SQLITE_OK) return fprintf(stderr, "open %s\n", path), 2;
  char pragmas[256];
  snprintf(pragmas, sizeof pragmas,
           "PRAGMA journal_mode=%s; PRAGMA synchronous=FULL; "
           "CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, v BLOB);",
           mode);
  if (sqlite3_exec(db, pragmas, 0, 0, 0) != SQLITE_OK)
    return fprintf(stderr, "%s\n", sqlite3_errmsg(db)), 2;
  double start = now_us(), end = start + secs * 1e6;
  while (now_us() < end) {
    double t0 = now_us();
    if (sqlite3_exec(db, "BEGIN; INSERT INTO t(v) VALUES (randomblob(200)); COMMIT;", 0, 0, 0) !=
        SQLITE_OK)
      return fprintf(stderr, "%s\n", sqlite3_errmsg(db)), 2;
    record(now_us() - t0);
  }
  report((now_us() - start) / 1e6);
  sqlite3_close(db);
  return 0;
}

static int run_fsync(const char *dir, double secs) {
  char path[4096], buf[4096];
  snprintf(path, sizeof path, "%s/fsync.dat", dir);
  int fd = open(path, O_RDWR | O_CREAT, 0644);
  if (fd < 0) return perror(path), 2;
  const long blocks = 16384; /* a 64 MiB file */
  if (ftruncate(fd, blocks * 4096) != 0) return perror("ftruncate"), 2;
  memset(buf, 'x', sizeof buf);
  srand(42);
  double start = now_us(), end = start + secs * 1e6;
  while (now_us() < end) {
    double t0 = now_us();
    if (pwrite(fd, buf, sizeof buf, (off_t)(rand() % blocks) * 4096) != sizeof buf)
      return perror("pwrite"), 2;
    if (fdatasync(fd) != 0) return perror("fdatasync"), 2;
    record(now_us() - t0);
  }
  report((now_us() - start) / 1e6);
  close(fd);
  return 0;
}

static int run_acked(const char *dir, double secs) {
  char path[4096], line[32];
  snprintf(path, sizeof path, "%s/acked.log", dir);
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd < 0) return printf("error open %s\n", strerror(errno)), fflush(stdout), 3;
  double end = now_us() + secs * 1e6;
  for (long i = 1; now_us() < end; i++) {
    int len = snprintf(line, sizeof line, "%ld\n", i);
    if (write(fd, line, len) != len) return printf("error write %s\n", strerror(errno)), fflush(stdout), 3;
    if (fdatasync(fd) != 0) return printf("error fdatasync %s\n", strerror(errno)), fflush(stdout), 3;
    printf("%ld\n", i);
    fflush(stdout);
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 4) return fprintf(stderr, "usage: %s sqlite|fsync|acked DIR SECONDS [wal|delete]\n", argv[0]), 2;
  double secs = atof(argv[3]);
  if (!strcmp(argv[1], "sqlite")) return run_sqlite(argv[2], secs, argc > 4 ? argv[4] : "wal");
  if (!strcmp(argv[1], "fsync")) return run_fsync(argv[2], secs);
  if (!strcmp(argv[1], "acked")) return run_acked(argv[2], secs);
  return fprintf(stderr, "unknown mode %s\n", argv[1]), 2;
}
