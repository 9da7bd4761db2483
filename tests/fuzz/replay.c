/* SPDX-License-Identifier: Apache-2.0 */
/*
 * main() for the fuzz targets when they are built without libFuzzer (gcc, or CRIB_FUZZ off).
 * Every file named on the command line, and every file under a directory named there (in name
 * order, dot files skipped), goes once through LLVMFuzzerTestOneInput.  CTest runs the seed
 * corpora this way, so that the plain and the sanitizer builds keep them as regression tests.
 *
 * Each input sits in a buffer of exactly its size, so that ASan sees a read past the end.  An
 * unreadable path or a run that found no input at all fails: a mistyped corpus directory must
 * not pass as an empty success.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "util.h"

static int read_all(int fd, size_t size, uint8_t **ret, size_t *ret_len)
{
	_cleanup_free_ uint8_t *buf = malloc(size ? size : 1);
	size_t len = 0;

	if (!buf)
		return -ENOMEM;
	while (len < size) {
		ssize_t n = read(fd, buf + len, size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break; /* the file shrank under us: replay what there is */
		len += (size_t)n;
	}
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

static int replay_file(const char *path, const struct stat *st, size_t *count)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "Failed to open '%s': %s\n", path, strerror(errno));
		return -errno;
	}
	r = read_all(fd, (size_t)st->st_size, &buf, &len);
	if (r < 0) {
		fprintf(stderr, "Failed to read '%s': %s\n", path, strerror(-r));
		return r;
	}
	/* Printed first, so that the last line before a crash names the input. */
	printf("Running %s (%zu bytes)\n", path, len);
	(void)fflush(stdout);
	(void)LLVMFuzzerTestOneInput(buf, len);
	(*count)++;
	return 0;
}

static int not_hidden(const struct dirent *de)
{
	return de->d_name[0] != '.';
}

static int replay_path(const char *path, size_t *count);

static int replay_dir(const char *dir, size_t *count)
{
	struct dirent **names = NULL;
	int n, r = 0;

	n = scandir(dir, &names, not_hidden, alphasort);
	if (n < 0) {
		fprintf(stderr, "Failed to read directory '%s': %s\n", dir, strerror(errno));
		return -errno;
	}
	for (int i = 0; i < n; i++) {
		if (r == 0) {
			_cleanup_free_ char *p = crib_xasprintf("%s/%s", dir, names[i]->d_name);

			r = replay_path(p, count);
		}
		free(names[i]);
	}
	free(names);
	return r;
}

static int replay_path(const char *path, size_t *count)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "Failed to stat '%s': %s\n", path, strerror(errno));
		return -errno;
	}
	if (S_ISDIR(st.st_mode))
		return replay_dir(path, count);
	if (!S_ISREG(st.st_mode)) {
		fprintf(stderr, "'%s' is neither a file nor a directory\n", path);
		return -EINVAL;
	}
	return replay_file(path, &st, count);
}

int main(int argc, char **argv)
{
	size_t count = 0;

	if (argc < 2) {
		fprintf(stderr, "Usage: %s FILE|DIRECTORY...\n", argv[0]);
		return EXIT_FAILURE;
	}
	for (int i = 1; i < argc; i++)
		if (replay_path(argv[i], &count) < 0)
			return EXIT_FAILURE;
	if (count == 0) {
		fprintf(stderr, "No input found\n");
		return EXIT_FAILURE;
	}
	printf("Replayed %zu inputs\n", count);
	return EXIT_SUCCESS;
}
