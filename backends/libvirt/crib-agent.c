/* SPDX-License-Identifier: Apache-2.0 */
/*
 * crib-agent: PID 1 of a pod's VM.  The libvirt backend boots Debian's
 * kernel straight into an initramfs holding this program, the kernel modules
 * it needs and their load order; the agent mounts the basics, loads the
 * modules, mounts the pod's share (virtiofs, tag "crib") where the host puts
 * the containers' root filesystems, then serves the host over the
 * virtio-serial port "org.crib.agent.0" (agent.proto, framed as agentframe.h
 * says) and runs the containers (agentctr.h).
 *
 * Static: the initramfs has no libc of its own.  It powers the VM off when
 * the ACPI power button is pressed (StopPodSandbox's virDomainShutdown), as
 * nothing else in the guest would.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/input.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "agent.pb-c.h"
#include "agentctr.h"
#include "agentframe.h"
#include "agentnet.h"
#include "kvmprobe.h"
#include "agentstream.h"
#include "agentutil.h"

#define AGENT_VERSION "0.1.0"
#define PORT_NAME     "org.crib.agent.0"
#define MODULE_DIR    "/lib/modules"
#define MAX_BUTTONS   4
#define SHARE_TAG     "crib"
#define SHARE_DIR     "/run/crib/share"
#define MAX_POLL      256
/* Output kept while no host listens; beyond it, output is dropped (exits never are). */
#define QUEUE_MAX (4u << 20)
/*
 * Output kept once sent, for a host that comes after one that went away
 * without writing it: what the port and the host's socket held, and what the
 * port took before the agent saw the host gone (a flood wrote past 1 MiB in
 * that time in test_output_in_flight_when_cribd_dies_is_written_once).
 */
#define SENT_KEEP (4u << 20)
/* How long the port may take to appear once virtio_console is loaded. */
#define PORT_WAIT_MS 5000

static uint64_t boottime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	fputs("crib-agent: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void mount_one(const char *src, const char *dir, const char *type, unsigned long flags)
{
	mkdir(dir, 0755);
	if (mount(src, dir, type, flags, NULL) < 0 && errno != EBUSY)
		say("cannot mount %s on %s: %s", type, dir, strerror(errno));
}

/* The console is ours once devtmpfs is mounted: the initramfs carries no device nodes. */
static void mount_basics(void)
{
	int fd;

	mount_one("devtmpfs", "/dev", "devtmpfs", MS_NOSUID);
	fd = open("/dev/console", O_RDWR | O_NOCTTY);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	mount_one("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC);
	mount_one("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC);
	mount_one("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV);
}

/* Loads the modules MODULE_DIR/load.order names, dependencies first. */
static void load_modules(void)
{
	FILE *order = fopen(MODULE_DIR "/load.order", "re");
	char line[256], path[512];

	if (!order)
		return;
	while (fgets(line, sizeof(line), order)) {
		int fd;

		line[strcspn(line, "\n")] = '\0';
		if (!line[0])
			continue;
		snprintf(path, sizeof(path), MODULE_DIR "/%s", line);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST))
			say("cannot load %s: %s", line, strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	fclose(order);
}

/*
 * Leaves the initramfs for a tmpfs root, as switch_root does: pivot_root(2)
 * refuses the initramfs as the root it moves away from, and every container
 * start pivots.  The mounts made so far move along; the agent's own file
 * stays behind (it runs from memory).
 */
static void leave_initramfs(void)
{
	static const char *const moved[] = {"/dev", "/proc", "/sys", "/run"};
	char path[64];

	mkdir("/newroot", 0755);
	if (mount("tmpfs", "/newroot", "tmpfs", MS_NOSUID, "mode=0755") < 0) {
		say("cannot mount a tmpfs root: %s", strerror(errno));
		return;
	}
	for (size_t i = 0; i < sizeof(moved) / sizeof(moved[0]); i++) {
		snprintf(path, sizeof(path), "/newroot%s", moved[i]);
		mkdir(path, 0755);
		if (mount(moved[i], path, NULL, MS_MOVE, NULL) < 0)
			say("cannot move %s: %s", moved[i], strerror(errno));
	}
	if (chdir("/newroot") < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 ||
	    chdir("/") < 0)
		say("cannot switch to the tmpfs root: %s", strerror(errno));
}

/*
 * cgroup v2 for the containers: each gets crib/<id>, with the cpu, memory
 * and pids controllers, which its stats read.
 */
static void mount_cgroups(void)
{
	static const char *const levels[] = {"/sys/fs/cgroup", "/sys/fs/cgroup/crib"};
	char path[64];
	int fd;

	if (mount("cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) <
	    0) {
		say("cannot mount cgroup2: %s", strerror(errno));
		return;
	}
	mkdir("/sys/fs/cgroup/crib", 0755);
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		snprintf(path, sizeof(path), "%s/cgroup.subtree_control", levels[i]);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, "+cpu +memory +pids", 18) != 18)
			say("cannot enable the controllers in %s: %s", levels[i], strerror(errno));
		if (fd >= 0)
			close(fd);
	}
}

/* The pod's share, where the host puts the containers' root filesystems. */
static void mount_share(void)
{
	mkdir("/run/crib", 0755);
	mkdir(SHARE_DIR, 0755);
	if (mount(SHARE_TAG, SHARE_DIR, "virtiofs", 0, NULL) < 0)
		say("cannot mount the share (virtiofs %s): %s", SHARE_TAG, strerror(errno));
}

/* The loopback: the containers' own, and where PortForward's connections go. */
static void bring_up_loopback(void)
{
	struct ifreq ifr = {0};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool up;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	up = fd >= 0 && ioctl(fd, SIOCGIFFLAGS, &ifr) == 0;
	ifr.ifr_flags |= IFF_UP;
	up = up && ioctl(fd, SIOCSIFFLAGS, &ifr) == 0;
	if (!up)
		say("cannot bring up lo: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
}

static int open_port(void)
{
	char name[256], dev[300];
	int fd;

	if (!agent_sysfs_find("/sys/class/virtio-ports", "name", PORT_NAME, PORT_WAIT_MS, name,
	                      sizeof(name))) {
		say("no virtio-serial port named %s", PORT_NAME);
		return -1;
	}
	snprintf(dev, sizeof(dev), "/dev/%s", name);
	fd = open(dev, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		say("cannot open %s: %s", dev, strerror(errno));
	return fd;
}

static bool has_power_key(int fd)
{
	unsigned long bits[KEY_MAX / (8 * sizeof(unsigned long)) + 1] = {0};
	const size_t per = 8 * sizeof(unsigned long);

	if (ioctl(fd, EVIOCGBIT(EV_KEY, sizeof(bits)), bits) < 0)
		return false;
	return bits[KEY_POWER / per] & (1ul << (KEY_POWER % per));
}

/* Every input device that has a power key (ACPI's "Power Button"). */
static size_t open_power_buttons(int *fds, size_t max)
{
	DIR *d = opendir("/dev/input");
	struct dirent *e;
	size_t n = 0;

	while (d && n < max && (e = readdir(d))) {
		char path[300];
		int fd;

		if (strncmp(e->d_name, "event", 5) != 0)
			continue;
		snprintf(path, sizeof(path), "/dev/input/%s", e->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0)
			continue;
		if (has_power_key(fd))
			fds[n++] = fd;
		else
			close(fd);
	}
	if (d)
		closedir(d);
	return n;
}

static bool power_pressed(int fd)
{
	struct input_event ev;

	while (read(fd, &ev, sizeof(ev)) == (ssize_t)sizeof(ev))
		if (ev.type == EV_KEY && ev.code == KEY_POWER && ev.value == 1)
			return true;
	return false;
}

static void power_off(void)
{
	sync();
	reboot(RB_POWER_OFF);
	_exit(1);
}

/*
 * The host's KVM boot probe (kvmprobe.h) boots the VM with this word on the
 * kernel's command line: getting here is all it wants to know.
 */
static void answer_probe(void)
{
	char line[4096] = "";
	FILE *f = fopen("/proc/cmdline", "re");

	if (f) {
		if (!fgets(line, sizeof(line), f))
			line[0] = '\0';
		fclose(f);
	}
	if (!strstr(line, KVM_PROBE_WORD))
		return;
	say("%s", KVM_PROBE_ANSWER);
	power_off();
}

/* A frame kept for the host while none listens. */
struct queued {
	struct queued *next;
	uint8_t *frame;
	size_t len;
	bool output;  /* may be dropped */
	uint64_t seq; /* an Output's */
};

/* A list of frames, oldest first. */
struct frames {
	struct queued *head, **tail;
	size_t output_bytes; /* of the Output frames in it */
};

struct agent {
	int port;
	bool connected; /* the host has the port open */
	struct crib_agent_rbuf in;
	uint64_t started_ns;
	uint64_t modules_ns;
	struct agent_ctrs *ctrs;
	struct agent_streams *streams;
	struct frames queue; /* for the host, while none listens */
	struct frames sent;  /* Output sent lately (SENT_KEEP) */
	uint64_t output_seq; /* the last Output's */
};

/* Writes LEN bytes to the port, waiting while it is full; false when the host went away. */
static bool write_port(struct agent *a, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = write(a->port, buf, len);
		struct pollfd p = {.fd = a->port, .events = POLLOUT};

		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return false;
		if (poll(&p, 1, 1000) < 0 && errno != EINTR)
			return false;
		if ((p.revents & POLLHUP) && !(p.revents & POLLOUT))
			return false;
	}
	return true;
}

/* M as one frame (agentframe.h); NULL, said why, for one over the frame limit. */
static uint8_t *pack_frame(const Crib__Agent__GuestMessage *m, size_t *ret_len)
{
	uint8_t *frame = NULL;
	int r = crib_agent_frame_pack(&m->base, &frame, ret_len);

	if (r == -ENOMEM)
		abort();
	if (r < 0)
		say("dropping a message of %zu bytes",
		    crib__agent__guest_message__get_packed_size(m));
	return frame;
}

static void frames_push(struct frames *l, struct queued *q)
{
	q->next = NULL;
	*l->tail = q;
	l->tail = &q->next;
	if (q->output)
		l->output_bytes += q->len;
}

static struct queued *frames_pop(struct frames *l)
{
	struct queued *q = l->head;

	if (!q)
		return NULL;
	l->head = q->next;
	if (!l->head)
		l->tail = &l->head;
	if (q->output)
		l->output_bytes -= q->len;
	return q;
}

static void queued_free(struct queued *q)
{
	free(q->frame);
	free(q);
}

static struct queued *queued_new(uint8_t *frame, size_t len, bool output, uint64_t seq)
{
	struct queued *q = calloc(1, sizeof(*q));

	if (!q)
		abort();
	*q = (struct queued){.frame = frame, .len = len, .output = output, .seq = seq};
	return q;
}

/* Q went to the host: an Output is kept a while (Hello's output_seq), the rest freed. */
static void sent(struct agent *a, struct queued *q)
{
	if (!q->output) {
		queued_free(q);
		return;
	}
	frames_push(&a->sent, q);
	while (a->sent.output_bytes > SENT_KEEP)
		queued_free(frames_pop(&a->sent));
}

/*
 * A new host, which has written Output up to HOST_SEQ: what was sent beyond
 * it goes before what waits in the queue, in order.
 */
static void requeue_unseen(struct agent *a, uint64_t host_seq)
{
	struct frames again = {.tail = &again.head};
	struct queued *q;

	while ((q = frames_pop(&a->sent))) {
		if (q->seq > host_seq)
			frames_push(&again, q);
		else
			queued_free(q);
	}
	while ((q = frames_pop(&a->queue)))
		frames_push(&again, q);
	a->queue = again;
	if (!a->queue.head)
		a->queue.tail = &a->queue.head;
}

/* M as one frame, an Output numbered first (*RET_SEQ, else 0); NULL when it cannot be sent. */
static uint8_t *frame_of(struct agent *a, const Crib__Agent__GuestMessage *m, size_t *ret_len,
                         uint64_t *ret_seq)
{
	Crib__Agent__GuestMessage copy;
	Crib__Agent__Output output;

	*ret_seq = 0;
	if (m->reply_case != CRIB__AGENT__GUEST_MESSAGE__REPLY_OUTPUT)
		return pack_frame(m, ret_len);
	copy = *m;
	output = *m->output;
	output.seq = *ret_seq = ++a->output_seq;
	copy.output = &output;
	return pack_frame(&copy, ret_len);
}

/* agent_send_fn: answers go out or are dropped; events wait for a host when none listens. */
static void send_msg(void *ctx, const Crib__Agent__GuestMessage *m, bool event)
{
	struct agent *a = ctx;
	bool output = m->reply_case == CRIB__AGENT__GUEST_MESSAGE__REPLY_OUTPUT;
	size_t len;
	uint64_t seq;
	uint8_t *frame = frame_of(a, m, &len, &seq);

	if (!frame)
		return;
	if (a->connected && !a->queue.head && write_port(a, frame, len)) {
		sent(a, queued_new(frame, len, output, seq));
		return;
	}
	if (a->connected && !a->queue.head)
		a->connected = false;
	if (!event || (output && a->queue.output_bytes + len > QUEUE_MAX))
		free(frame);
	else
		frames_push(&a->queue, queued_new(frame, len, output, seq));
}

/* Sends what waited for a host, in order, as long as it listens. */
static void flush_queue(struct agent *a)
{
	while (a->queue.head && a->connected) {
		if (!write_port(a, a->queue.head->frame, a->queue.head->len)) {
			a->connected = false;
			return;
		}
		sent(a, frames_pop(&a->queue));
	}
}

/* The pod's sysctls into the VM's kernel; 0, or the errno with the one that failed in ERR. */
static int set_sysctls(const Crib__Agent__Hello *req, char *err, size_t err_size)
{
	for (size_t i = 0; i < req->n_sysctls; i++) {
		const char *key = req->sysctls[i]->key, *value = req->sysctls[i]->value;
		char path[300];
		int e;

		if (!key[0] || key[0] == '.' || key[0] == '/' || strstr(key, "..")) {
			snprintf(err, err_size, "sysctl '%s': not a sysctl name", key);
			return EINVAL;
		}
		snprintf(path, sizeof(path), "/proc/sys/%s", key);
		for (char *c = path + strlen("/proc/sys/"); *c; c++)
			if (*c == '.')
				*c = '/';
		e = agent_write_text(path, value);
		if (e) {
			snprintf(err, err_size, "cannot set sysctl %s to '%s': %s", key, value,
			         strerror(e));
			return e;
		}
	}
	return 0;
}

static void reply_hello(struct agent *a, uint64_t id, const Crib__Agent__Hello *req)
{
	char err[400];
	Crib__Agent__GuestMessage out = CRIB__AGENT__GUEST_MESSAGE__INIT;
	Crib__Agent__HelloReply hello = CRIB__AGENT__HELLO_REPLY__INIT;
	struct utsname u;
	uint8_t *frame;
	size_t len;

	if (req->hostname[0] && sethostname(req->hostname, strlen(req->hostname)) < 0)
		say("cannot set the host name %s: %s", req->hostname, strerror(errno));
	out.errnum = set_sysctls(req, err, sizeof(err));
	if (!out.errnum && req->nic)
		out.errnum = agent_net_configure(req->nic, err, sizeof(err));
	if (out.errnum)
		out.message = err;
	uname(&u);
	hello.agent_version = AGENT_VERSION;
	hello.kernel_release = u.release;
	hello.started_boottime_ns = a->started_ns;
	hello.now_boottime_ns = boottime_ns();
	hello.modules_ns = a->modules_ns;
	/* A new host: the sessions of the one before are gone with it. */
	agent_streams_reset(a->streams);
	if (!out.errnum)
		requeue_unseen(a, req->output_seq);
	out.id = id;
	out.reply_case = out.errnum ? CRIB__AGENT__GUEST_MESSAGE__REPLY__NOT_SET
	                            : CRIB__AGENT__GUEST_MESSAGE__REPLY_HELLO;
	out.hello = out.errnum ? NULL : &hello;
	/* The answer first, then what waited for this host. */
	frame = pack_frame(&out, &len);
	a->connected = a->connected && frame && write_port(a, frame, len);
	free(frame);
	flush_queue(a);
}

static void serve(struct agent *a, const uint8_t *data, size_t len)
{
	Crib__Agent__HostMessage *in = crib__agent__host_message__unpack(NULL, len, data);

	if (!in) {
		say("dropping a message that does not parse");
		return;
	}
	if (in->request_case == CRIB__AGENT__HOST_MESSAGE__REQUEST_HELLO)
		reply_hello(a, in->id, in->hello);
	else if (!agent_streams_serve(a->streams, in))
		agent_ctrs_serve(a->ctrs, in);
	crib__agent__host_message__free_unpacked(in, NULL);
}

/* Reads what the host sent; false when the host went away. */
static bool read_port(struct agent *a)
{
	const uint8_t *msg;
	size_t len;
	int r = crib_agent_rbuf_fill(&a->in, a->port);

	if (r == -EAGAIN)
		return true;
	if (r <= 0)
		return false;
	while ((r = crib_agent_rbuf_next(&a->in, &msg, &len)) > 0)
		serve(a, msg, len);
	if (r < 0) {
		say("frame over %u bytes: dropping the connection's input", CRIB_AGENT_FRAME_MAX);
		crib_agent_rbuf_reset(&a->in);
	}
	return true;
}

/* Serves the port if the host sent something; notes whether the host is there. */
static void watch_port(struct agent *a)
{
	struct pollfd p = {.fd = a->port, .events = POLLIN};

	if (poll(&p, 1, 0) < 0)
		return;
	if (p.revents & POLLIN) {
		/* Whoever sent this listens for the answer. */
		a->connected = true;
		a->connected = read_port(a) && a->connected;
	} else
		a->connected = !(p.revents & POLLHUP);
	if (!a->connected)
		crib_agent_rbuf_reset(&a->in);
}

/* SIGCHLD as a descriptor: the loop reaps containers when it becomes readable. */
static int child_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

int main(void)
{
	struct agent a = {.started_ns = boottime_ns()};
	int buttons[MAX_BUTTONS], sigfd;
	size_t n_buttons;

	if (getpid() != 1) {
		fprintf(stderr, "crib-agent runs as PID 1 of a pod's VM, not on a host\n");
		return 2;
	}
	a.queue.tail = &a.queue.head;
	a.sent.tail = &a.sent.head;
	mount_basics();
	answer_probe();
	load_modules();
	a.modules_ns = boottime_ns();
	leave_initramfs();
	mount_cgroups();
	mount_share();
	bring_up_loopback();
	a.ctrs = agent_ctrs_new(SHARE_DIR, send_msg, &a);
	a.streams = agent_streams_new(a.ctrs, send_msg, &a);
	sigfd = child_signals();
	a.port = open_port();
	n_buttons = open_power_buttons(buttons, MAX_BUTTONS);
	say("ready at %.3f s of boot time (modules loaded at %.3f s)", boottime_ns() / 1e9,
	    a.modules_ns / 1e9);
	for (;;) {
		struct pollfd p[MAX_POLL];
		size_t n = 0, first_ctr, first_stream;
		int timeout;

		for (size_t i = 0; i < n_buttons; i++)
			p[n++] = (struct pollfd){.fd = buttons[i], .events = POLLIN};
		p[n++] = (struct pollfd){.fd = sigfd, .events = POLLIN};
		/*
		 * Unplugged, the port polls as POLLHUP for good: then it is
		 * left out and looked at again every 20 ms.
		 */
		if (a.port >= 0 && a.connected)
			p[n++] = (struct pollfd){.fd = a.port, .events = POLLIN};
		first_ctr = n;
		n += agent_ctrs_pollfds(a.ctrs, p + n, MAX_POLL - n);
		first_stream = n;
		n += agent_streams_pollfds(a.streams, p + n, MAX_POLL - n);
		timeout = agent_ctrs_timeout(a.ctrs);
		if (!a.connected && (timeout < 0 || timeout > 20))
			timeout = 20;
		if (poll(p, n, timeout) < 0 && errno != EINTR)
			power_off();
		for (size_t i = 0; i < n_buttons; i++)
			if ((p[i].revents & POLLIN) && power_pressed(buttons[i]))
				power_off();
		agent_ctrs_io(a.ctrs, p + first_ctr, first_stream - first_ctr);
		agent_streams_io(a.streams, p + first_stream, n - first_stream);
		if (p[n_buttons].revents & POLLIN) {
			struct signalfd_siginfo si;

			while (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
				;
			agent_ctrs_reap(a.ctrs);
		}
		if (a.port >= 0)
			watch_port(&a);
	}
}
