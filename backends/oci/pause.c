/* SPDX-License-Identifier: Apache-2.0 */
/*
 * crib-pause: the process of a pod's infra container.  It holds the pod's
 * namespaces for as long as the pod lives, reaps the zombies a shared PID
 * namespace hands it, and ends on SIGTERM or SIGINT.  Linked statically, so
 * that the infra container's root filesystem is this one file.
 */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_stop(int sig)
{
	(void)sig;
	_exit(0);
}

static void on_child(int sig)
{
	(void)sig;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

int main(void)
{
	struct sigaction stop = {.sa_handler = on_stop};
	struct sigaction child = {.sa_handler = on_child, .sa_flags = SA_NOCLDSTOP | SA_RESTART};

	sigaction(SIGTERM, &stop, NULL);
	sigaction(SIGINT, &stop, NULL);
	sigaction(SIGCHLD, &child, NULL);
	for (;;)
		pause();
}
