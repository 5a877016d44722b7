// Single-steps a command and every process it forks while they run a binary
// called NAME, and prints each instruction offset (from the binary's load
// base) the first time it executes, in that order, to OUT (appended): the input of
// runtime/link/hot-list.sh.  A developer tool (`make hot-list`), not shipped.
//
//   trace OUT NAME SIZE -- CMD [ARG...]
//
// SIZE bounds the offsets (the binary's size).  Processes that exec another
// binary (the container's program, a hook) run on untraced, and so do those
// left when CMD ends (a created container's init).  Slow (~50 s for
// a `runtime run`): each instruction is a ptrace stop.
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

enum { MAXT = 4096 };

struct tracee {
	long tid;
	uint64_t base; // load base of NAME in it; 0: not running NAME
	int fresh;     // its first SIGSTOP (ptrace attach) is still to come
};

static struct tracee tracees[MAXT];
static int ntracees;
static const char *name;

static struct tracee *tracee(long tid)
{
	for (int i = 0; i < ntracees; i++)
		if (tracees[i].tid == tid)
			return &tracees[i];
	if (ntracees == MAXT) {
		fprintf(stderr, "trace: more than %d processes\n", MAXT);
		exit(1);
	}
	tracees[ntracees] = (struct tracee){ .tid = tid, .fresh = 1 };
	return &tracees[ntracees++];
}

static const char *basename_of(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

// The start of the offset-0 mapping of the file that holds rip, when that
// file is called NAME; else 0.
static uint64_t load_base(long tid, uint64_t rip)
{
	char maps[64], line[1024], path[900], want[900] = "";
	uint64_t start, end, off, base = 0;
	snprintf(maps, sizeof maps, "/proc/%ld/maps", tid);
	FILE *f = fopen(maps, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof line, f)) {
		path[0] = 0;
		if (sscanf(line, "%lx-%lx %*s %lx %*s %*s %899[^\n]", &start, &end, &off, path) < 3)
			continue;
		if (rip >= start && rip < end)
			strcpy(want, path);
	}
	if (*want && strcmp(basename_of(want), name) == 0) {
		rewind(f);
		while (fgets(line, sizeof line, f)) {
			path[0] = 0;
			if (sscanf(line, "%lx-%lx %*s %lx %*s %*s %899[^\n]", &start, &end, &off, path) >= 3 &&
			    off == 0 && strcmp(path, want) == 0) {
				base = start;
				break;
			}
		}
	}
	fclose(f);
	return base;
}

// The command is done: let the processes it left (a created container's
// init, waiting for `start`) go on untraced.  PTRACE_DETACH needs a stopped
// tracee, and clears the single-step flag that would kill it later.
static void detach_all(void)
{
	int left = 0;
	for (int i = 0; i < ntracees; i++)
		if (tracees[i].tid > 0 && syscall(SYS_tkill, tracees[i].tid, SIGSTOP) == 0)
			left++;
	while (left > 0) {
		int st;
		long tid = waitpid(-1, &st, __WALL);
		if (tid < 0)
			break;
		if (!WIFEXITED(st) && !WIFSIGNALED(st)) {
			ptrace(PTRACE_DETACH, tid, 0, 0);
			syscall(SYS_tkill, tid, SIGCONT);
		}
		left--;
	}
}

static uint64_t rip_of(long tid)
{
	struct user_regs_struct regs;
	return ptrace(PTRACE_GETREGS, tid, 0, &regs) ? 0 : regs.rip;
}

int main(int argc, char **argv)
{
	if (argc < 6 || strcmp(argv[4], "--") != 0) {
		fprintf(stderr, "usage: trace OUT NAME SIZE -- CMD [ARG...]\n");
		return 2;
	}
	FILE *out = fopen(argv[1], "ae"); // close-on-exec: not the tracee's
	if (!out) {
		perror(argv[1]);
		return 1;
	}
	name = argv[2];
	uint64_t size = strtoull(argv[3], 0, 0);
	uint8_t *seen = calloc(size, 1);
	if (!seen)
		return 1;
	pid_t child = fork();
	if (child == 0) {
		ptrace(PTRACE_TRACEME, 0, 0, 0);
		raise(SIGSTOP);
		execvp(argv[5], argv + 5);
		_exit(127);
	}
	int st, code = 1;
	waitpid(child, &st, 0);
	ptrace(PTRACE_SETOPTIONS, child, 0,
	       PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC |
		       PTRACE_O_EXITKILL);
	tracee(child)->fresh = 0;
	ptrace(PTRACE_CONT, child, 0, 0);
	for (;;) {
		long tid = waitpid(-1, &st, __WALL);
		if (tid < 0) {
			if (errno == ECHILD)
				break;
			continue;
		}
		struct tracee *t = tracee(tid);
		if (WIFEXITED(st) || WIFSIGNALED(st)) {
			t->tid = -1;
			if (tid == child) {
				code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
				detach_all();
				break;
			}
			continue;
		}
		int sig = WSTOPSIG(st), event = st >> 16, pass = 0;
		if (sig == SIGTRAP && event == PTRACE_EVENT_EXEC) {
			t->base = load_base(tid, rip_of(tid));
		} else if (sig == SIGTRAP && (event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_VFORK ||
					      event == PTRACE_EVENT_CLONE)) {
			unsigned long born;
			ptrace(PTRACE_GETEVENTMSG, tid, 0, &born);
			tracee(born)->base = t->base;
		} else if (sig == SIGSTOP && event == 0 && t->fresh) {
			t->fresh = 0;
		} else if (!(sig == SIGTRAP && event == 0) && event != PTRACE_EVENT_STOP) {
			pass = sig;
		}
		if (t->base) {
			uint64_t off = rip_of(tid) - t->base;
			if (off < size && !seen[off]) {
				seen[off] = 1;
				fprintf(out, "%lx\n", off);
			}
			ptrace(PTRACE_SINGLESTEP, tid, 0, (void *)(long)pass);
		} else {
			ptrace(PTRACE_CONT, tid, 0, (void *)(long)pass);
		}
	}
	fclose(out);
	return code;
}
