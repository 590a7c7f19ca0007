/* plat.h: everything core/ needs from the operating system. Each port (platform/posix,
 * platform/lwip) implements all of it; core/ includes no OS header but this one. */
#ifndef PLAT_H
#define PLAT_H

#include <stddef.h>
#include <stdint.h>

/* ---- clocks ---- */
/* Monotonic microseconds since an arbitrary start; never goes back. */
uint64_t plat_now_us(void);
/* Wall clock, microseconds since the Unix epoch (may jump). */
int64_t plat_wall_us(void);

/* ---- entropy ---- */
/* Fill buf with n unpredictable bytes. Returns 0 or OP_EIO. */
int plat_entropy(void *buf, size_t n);

/* ---- sockets (non-blocking, close-on-exec) ---- */
enum { PLAT_AF_INET = 4, PLAT_AF_INET6 = 6 };
enum { PLAT_TCP = 1, PLAT_UDP = 2 };

struct plat_addr {
	uint8_t family; /* PLAT_AF_INET or PLAT_AF_INET6 */
	uint16_t port;  /* host order */
	uint8_t ip[16]; /* network order; first 4 bytes for IPv4 */
	uint32_t scope; /* IPv6: the interface a link-local address is on (its zone); 0 none */
};

/* Open a socket; TCP sockets get TCP_NODELAY (a probe's request must not wait for Nagle).
 * Returns the descriptor (>= 0) or a negative OP_E* code. */
int plat_sock_open(int family, int type);
/* Start connecting. Returns 0 when connected, OP_EAGAIN while in progress (wait for
 * writability, then plat_sock_error), or a negative code. Never blocks. */
int plat_sock_connect(int fd, const struct plat_addr *to);
/* The pending error of a socket after a non-blocking connect: 0 or a negative code. */
int plat_sock_error(int fd);
/* A connected TCP socket's handshake as the kernel timed it: µs from its SYN leaving to the
 * SYN-ACK's arrival, or 0 when the port cannot say (no such count, a SYN sent again, whose
 * answer is not timed, or a kernel whose clock for it is coarse). */
uint32_t plat_sock_handshake_us(int fd);
/* Send/receive. Return bytes moved, 0 on orderly close (recv), OP_EAGAIN, or a negative code.
 * at_us (NULL for a pipe; a socket from plat_sock_open may ask): when the last byte read reached
 * this host, on the plat_now_us clock. A port with kernel receive timestamps reports those, so a
 * probe's latency leaves out the loop's own wake-up; others report the time of the read. */
int plat_sock_send(int fd, const void *buf, size_t len);
int plat_sock_recv(int fd, void *buf, size_t cap, uint64_t *at_us);
void plat_sock_close(int fd);
/* Parse a numeric IPv4/IPv6 address (no port); an IPv6 one may name its zone, the interface
 * it is reached on, as "fe80::1%eth0" or "fe80::1%2". Returns 0, OP_EINVAL, or OP_ENODEV (no
 * such interface). */
int plat_addr_parse(const char *ip, struct plat_addr *out);
/* Format an address without port into buf (with its zone). Returns the length. */
int plat_addr_format(const struct plat_addr *a, char *buf, size_t cap);

/* ---- poller ---- */
enum { PLAT_READ = 1, PLAT_WRITE = 2, PLAT_ERROR = 4 };

struct plat_event {
	void *udata;
	unsigned events;
};

/* One poller per process. Returns 0 or a negative code. Storage for max_fds is reserved here. */
int plat_poll_init(int max_fds);
void plat_poll_deinit(void);
/* Watch fd for mask (PLAT_READ|PLAT_WRITE), replacing any earlier mask; udata comes back with
 * its events. mask 0 removes the watch. */
int plat_poll_set(int fd, unsigned mask, void *udata);
/* fd is about to be closed: drop its watch, without a system call where closing does it. */
void plat_poll_forget(int fd);
/* Wait up to timeout_us (0: poll, < 0: forever) and fill at most cap events.
 * Returns the count (0 on timeout or signal). */
int plat_poll_wait(struct plat_event *ev, int cap, int64_t timeout_us);
/* Name of the backend ("epoll", "poll"). */
const char *plat_poll_name(void);

/* ---- wake-up and signals ---- */
enum { PLAT_SIG_STOP = 1, PLAT_SIG_RELOAD = 2, PLAT_SIG_WAKE = 4, PLAT_SIG_CHILD = 8 };
/* Install handlers for stop (TERM, INT), reload (HUP) and child exit (CHLD); returns a descriptor that becomes
 * readable when a signal or plat_wake() arrives. */
int plat_signal_init(void);
/* Read and clear the pending PLAT_SIG_* bits. */
unsigned plat_signal_take(void);
/* Wake the loop from another thread (sets PLAT_SIG_WAKE). Async-signal-safe. */
void plat_wake(void);
/* Raise PLAT_SIG_* bits as if the signal had come (a reload asked for over HTTP). */
void plat_signal_raise(unsigned bits);

/* ---- processes (the exec probe) ---- */
/* Start argv[0] (searched in PATH) with argv, in a new process group, with env ("K=V" strings,
 * NULL-terminated) added to the environment and cwd (NULL: ours). Its stdout and stderr go to
 * one non-blocking pipe; *out_fd is its read end. Returns the pid (> 0), OP_ENOENT when the
 * program is not found, OP_ENOTDIR when cwd is not a directory, OP_EACCES when the program may
 * not be run, OP_ENOEXEC when it is no executable (a script without "#!"), or another negative
 * code. Never blocks (no allocation either). */
int plat_proc_spawn(char *const argv[], char *const env[], const char *cwd, int *out_fd);
/* Has pid exited? 1 with *status (the exit code, or minus the signal), once reaped, with what
 * it left running in its process group killed (SIGKILL); 0 while it runs; OP_EIO when pid is
 * not a child. */
int plat_proc_reap(int pid, int *status);
/* Stop pid's whole process group: SIGTERM now, SIGKILL after grace_us if it is still there,
 * and reap it — in the background, from plat_proc_tick. */
void plat_proc_stop(int pid, uint64_t grace_us);
/* Carry on with stopping and reaping (call about once a second). Returns the processes still
 * being stopped. */
int plat_proc_tick(void);
/* Before exit: SIGKILL whatever is still being stopped, and reap it. */
void plat_proc_finish(void);

/* ---- files ---- */
/* Read a whole file into buf (at most cap-1 bytes, NUL-terminated). Returns the length,
 * OP_ENOENT, OP_ETOOBIG when it does not fit, or OP_EIO. Blocks: start-up and reload only. */
int plat_file_read(const char *path, char *buf, size_t cap);
/* Replace path with buf[0..len) atomically: written to path.tmp, flushed to the medium, renamed
 * over path (a power cut leaves the old file or the new one, never a torn one). Creates
 * missing directories. 0 or OP_EIO. Blocks (a small file, on state changes only). */
int plat_file_write_atomic(const char *path, const void *buf, size_t len);
/* Write buf[0..len) to path through path.tmp and a rename (readers never see half a file),
 * without forcing it to the medium (for logs: cheap on flash). Creates missing
 * directories. 0, or OP_ENOSPC (the medium is full) / OP_EIO. Blocks briefly. */
int plat_file_write(const char *path, const void *buf, size_t len);
/* Remove a file (0, or OP_ENOENT / OP_EIO). */
int plat_file_remove(const char *path);
/* Call fn for each entry of directory dir but "." and ".." (is_dir says which are
 * directories). Returns the count, or OP_ENOENT / OP_EIO. Blocks: start-up only. */
typedef void plat_dir_fn(void *ctx, const char *name, int is_dir);
int plat_dir_scan(const char *dir, plat_dir_fn *fn, void *ctx);
/* Open files by handle (the spool): plat_fopen returns a handle >= 0 or OP_ENOENT / OP_EIO;
 * write opens for writing (creating it), otherwise read-only. Reads and writes are at an
 * offset: a write that failed half-way is written over by the next at the same offset, not
 * followed by it. plat_fwrite_at returns n, or OP_ENOSPC (the medium is full) / OP_EIO. Each
 * blocks briefly (local files). */
int plat_fopen(const char *path, int write);
/* path (created if missing) as this process's alone while the handle is open, closed with
 * plat_fclose: an advisory lock, so that two processes never write one spool (where the file
 * system has no locks, the handle alone). A handle >= 0, OP_EBUSY when another process holds
 * it, or OP_EIO. */
int plat_file_lock(const char *path);
int plat_fread_at(int h, uint64_t off, void *buf, size_t n);
int plat_fwrite_at(int h, uint64_t off, const void *buf, size_t n);
int plat_fsync(int h);
int plat_ftruncate(const char *path, uint64_t len);
void plat_fclose(int h);
/* Durability off the engine thread (platform/posix/disk.c): a worn flash card can take a
 * second to sync, so one worker does it, in order, while the loop goes on. A job not yet begun
 * takes a newer request for the same path; a full queue (16) is waited on for a slot, and a
 * payload over 256 bytes for the one not begun before it (of another path). With no worker, or
 * still waiting after 10 s, the job is done in the caller's thread. 0 (queued, or done here),
 * a negative code from doing it here, or OP_ETOOBIG. */
#define PLAT_DISK_JOB_BYTES 65536
/* Force what was written to path so far onto the medium (path may be removed meanwhile). */
int plat_disk_sync(const char *path);
/* plat_file_write_atomic(path, buf, len), len <= PLAT_DISK_JOB_BYTES; buf is copied. */
int plat_disk_replace(const char *path, const void *buf, size_t len);
/* Wait at most ms for every queued job to finish (shutdown, reload): 0 or OP_ETIMEDOUT. */
int plat_disk_drain(uint32_t ms);
/* The longest job so far (µs); *pending gets the jobs queued or running. */
uint64_t plat_disk_stats(uint32_t *pending);
/* A directory in memory (files there do not survive power loss; tmpfs on Linux). */
const char *plat_ram_dir(void);
/* Size of a file in bytes, or a negative code. */
int64_t plat_file_size(const char *path);
/* A number that changes when path is written or replaced (its modification time, size and
 * inode mixed), or a negative code (OP_ENOENT: it is not there). */
int64_t plat_file_version(const char *path);
/* Environment lookup (NULL when unset). */
const char *plat_getenv(const char *name);

/* ---- threads (web/ and the disk worker) and the one lock they share with the loop ---- */
void plat_lock(void);
void plat_unlock(void);
/* With plat_lock held: wait (releasing it meanwhile) until plat_cond_broadcast or timeout_us. */
void plat_cond_wait(uint64_t timeout_us);
void plat_cond_broadcast(void);

/* ---- memory ---- */
/* Start-up allocation of the engine arena. Returns NULL on failure. */
void *plat_alloc(size_t size);
void plat_free(void *p);
/* Heap allocations made by the engine thread since start (counted by the allocator hooks). */
uint64_t plat_engine_allocs(void);
/* Mark the calling thread as the engine thread, whose allocations are counted. */
void plat_engine_thread(void);
/* Resident set size in bytes, or 0 if unknown. */
uint64_t plat_rss_bytes(void);
/* Let the process have want descriptors open at once, as far as its hard limit allows (only
 * ever raised). Returns the limit now in force, or a negative code when unknown. */
long plat_fd_limit(long want);

#endif
