/* SPDX-License-Identifier: Apache-2.0 */
/* crib-agent's small helpers; see agentutil.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agentutil.h"

void agent_close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

int agent_exit_code(int status)
{
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

int agent_write_text(const char *path, const char *text)
{
	size_t len = strlen(text);
	int fd = open(path, O_WRONLY | O_CLOEXEC), e = 0;
	ssize_t n;

	if (fd < 0)
		return errno;
	n = write(fd, text, len);
	if (n != (ssize_t)len)
		e = n < 0 ? errno : EIO;
	close(fd);
	return e;
}

/* One look through CLASS_DIR; see agent_sysfs_find. */
static bool sysfs_lookup(const char *class_dir, const char *attr, const char *want, char *name,
                         size_t size)
{
	DIR *d = opendir(class_dir);
	struct dirent *e;
	bool found = false;

	while (d && !found && (e = readdir(d))) {
		char path[512], text[64] = "";
		FILE *f;

		if (e->d_name[0] == '.' || strlen(e->d_name) >= size)
			continue;
		snprintf(path, sizeof(path), "%s/%s/%s", class_dir, e->d_name, attr);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (fgets(text, sizeof(text), f)) {
			text[strcspn(text, "\n")] = '\0';
			found = strcmp(text, want) == 0;
		}
		fclose(f);
		if (found)
			memcpy(name, e->d_name, strlen(e->d_name) + 1);
	}
	if (d)
		closedir(d);
	return found;
}

bool agent_sysfs_find(const char *class_dir, const char *attr, const char *want, int wait_ms,
                      char *name, size_t size)
{
	for (int waited = 0; waited < wait_ms; waited += 10) {
		if (sysfs_lookup(class_dir, attr, want, name, size))
			return true;
		usleep(10000);
	}
	return sysfs_lookup(class_dir, attr, want, name, size);
}
