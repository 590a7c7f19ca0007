/* proc.c: child processes for the exec probe: posix_spawn into a new process group with one
 * pipe for stdout and stderr, non-blocking reaping (which takes what a command left in its
 * group with it), and a fixed table of processes being stopped (SIGTERM, then SIGKILL after a
 * grace time, then reaped), so no zombie outlives a run. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "../../core/op.h"
#include "../plat.h"

extern char **environ;

#define ENV_MAX 512
#define STOPPING_MAX 256

static struct {
	int pid;
	uint64_t kill_at; /* 0 once SIGKILL was sent */
} stopping[STOPPING_MAX];

/* argv[0] as the command's own PATH finds it, when env sets one (posix_spawnp would search
 * ours): the first executable file of that name in its directories, into buf; NULL when none
 * is, or when env sets no PATH (then posix_spawnp searches ours, which is the command's). */
static const char *find_in_path(const char *name, char *const env[], char *buf, size_t cap,
	int *searched)
{
	const char *path = NULL;
	for (char *const *a = env; a && *a; a++)
		if (!strncmp(*a, "PATH=", 5))
			path = *a + 5;
	*searched = path && !strchr(name, '/');
	if (!*searched)
		return NULL;
	for (const char *d = path;; d++) {
		const char *end = strchr(d, ':');
		size_t n = end ? (size_t)(end - d) : strlen(d);
		/* an empty entry is the working directory, as for the shell */
		int w = snprintf(buf, cap, "%.*s%s%s", (int)n, n ? d : ".", "/", name);
		if (w > 0 && (size_t)w < cap && access(buf, X_OK) == 0)
			return buf;
		if (!end)
			return NULL;
		d = end;
	}
}

int plat_proc_spawn(char *const argv[], char *const env[], const char *cwd, int *out_fd)
{
	/* the environment: ours, with the additions replacing same-named variables */
	static char *envp[ENV_MAX];
	size_t n = 0;
	for (char **e = environ; *e && n + 1 < ENV_MAX; e++) {
		int replaced = 0;
		for (char *const *a = env; a && *a && !replaced; a++) {
			const char *eq = strchr(*a, '=');
			size_t kl = eq ? (size_t)(eq - *a) : strlen(*a);
			replaced = !strncmp(*e, *a, kl) && (*e)[kl] == '=';
		}
		if (!replaced)
			envp[n++] = *e;
	}
	for (char *const *a = env; a && *a && n + 1 < ENV_MAX; a++)
		envp[n++] = *a;
	envp[n] = NULL;

	/* a working directory that is not there would read as a missing program (the child's
	 * chdir fails with ENOENT too): say which it is */
	struct stat st;
	if (cwd && (stat(cwd, &st) != 0 || !S_ISDIR(st.st_mode)))
		return OP_ENOTDIR;
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) != 0)
		return errno == EMFILE || errno == ENFILE ? OP_EMFILE : OP_ENOMEM;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (cwd)
		posix_spawn_file_actions_addchdir_np(&fa, cwd);
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all); /* SIGPIPE ignored here must not be in the child */
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
		POSIX_SPAWN_SETSIGDEF);
	pid_t pid;
	char prog[1024];
	int searched;
	const char *found = find_in_path(argv[0], env, prog, sizeof prog, &searched);
	int rc = !searched ? posix_spawnp(&pid, argv[0], &fa, &at, argv, envp) :
		found ? posix_spawn(&pid, found, &fa, &at, argv, envp) : ENOENT;
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(fds[1]);
	if (rc != 0) {
		close(fds[0]);
		return rc == ENOENT ? OP_ENOENT : rc == EACCES ? OP_EACCES : rc == ENOEXEC ?
			OP_ENOEXEC : rc == ENOTDIR ? OP_ENOTDIR : rc == EMFILE || rc == ENFILE ?
			OP_EMFILE : OP_EIO;
	}
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	*out_fd = fds[0];
	return pid;
}

/* What pid left in its process group is killed before pid is reaped: looked at without
 * reaping, pid is a zombie, whose group id no other group can take meanwhile. */
int plat_proc_reap(int pid, int *status)
{
	siginfo_t si;
	memset(&si, 0, sizeof si);
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0)
		return OP_EIO;
	if (si.si_pid != pid)
		return 0;
	/* a signal apart from an exit code: "exit 137" is not "killed by signal 9" */
	*status = si.si_code == CLD_EXITED ? si.si_status : -si.si_status;
	kill(-pid, SIGKILL);
	waitpid(pid, NULL, 0); /* a zombie: returns at once */
	return 1;
}

void plat_proc_stop(int pid, uint64_t grace_us)
{
	kill(-pid, SIGTERM);
	kill(pid, SIGTERM); /* in case it left its group */
	for (int i = 0; i < STOPPING_MAX; i++) {
		if (!stopping[i].pid) {
			stopping[i].pid = pid;
			stopping[i].kill_at = plat_now_us() + grace_us;
			return;
		}
	}
	/* the table is full: no grace for this one */
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0); /* SIGKILL cannot be caught: this returns at once */
}

int plat_proc_tick(void)
{
	int left = 0;
	uint64_t now = plat_now_us();
	for (int i = 0; i < STOPPING_MAX; i++) {
		int pid = stopping[i].pid, st;
		if (!pid)
			continue;
		if (plat_proc_reap(pid, &st) != 0) { /* gone (or not ours: nothing to wait for) */
			stopping[i].pid = 0;
			continue;
		}
		if (stopping[i].kill_at && now >= stopping[i].kill_at) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			stopping[i].kill_at = 0;
		}
		left++;
	}
	return left;
}

void plat_proc_finish(void)
{
	for (int i = 0; i < STOPPING_MAX; i++) {
		int pid = stopping[i].pid;
		if (!pid)
			continue;
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		stopping[i].pid = 0;
	}
}
