/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the configuration reader (config.c on top of inih): the input is the text of a main
 * config file.  Besides not crashing or leaking, the reader must keep its contract: a failure
 * leaves *ret alone and sets an error that names the file; a success sets no error and yields
 * a configuration that obeys every rule the reader enforces, since the router and the daemon
 * rely on them without checking again.
 */
#include <string.h>

#include "config.h"
#include "error.h"
#include "fuzz.h"
#include "util.h"

#define FUZZ_FILE "fuzz.conf"

static void check_section(const struct crib_config_section *s,
                          const struct crib_config_section *found, bool runtime)
{
	FUZZ_CHECK(found == s); /* names are unique */
	FUZZ_CHECK(crib_name_valid(s->name));
	FUZZ_CHECK(streq(s->file, FUZZ_FILE));
	FUZZ_CHECK(s->line > 0);
	if (runtime) {
		FUZZ_CHECK(crib_name_valid(s->backend));
		FUZZ_CHECK(s->backend_line >= s->line);
	} else {
		FUZZ_CHECK(!s->backend);
	}
	for (size_t i = 0; i < s->n_kv; i++) {
		FUZZ_CHECK(s->kv[i].key && s->kv[i].value);
		FUZZ_CHECK(streq(s->kv[i].file, FUZZ_FILE));
		FUZZ_CHECK(s->kv[i].line >= s->line);
		FUZZ_CHECK(!runtime || !streq(s->kv[i].key, "backend"));
	}
}

static void check_config(const struct crib_config *cfg)
{
	const char *const paths[] = {
	    cfg->cri_socket, cfg->admin_socket, cfg->state_dir,    cfg->run_dir,
	    cfg->plugin_dir, cfg->conf_dir,     cfg->cni_conf_dir, cfg->cni_bin_dirs,
	};

	for (size_t i = 0; i < ARRAY_SIZE(paths); i++)
		FUZZ_CHECK(paths[i] && paths[i][0] == '/');
	FUZZ_CHECK(cfg->workers >= 1 && cfg->workers <= 128);
	FUZZ_CHECK(cfg->default_runtime_class);
	FUZZ_CHECK(isempty(cfg->default_runtime_class) ||
	           crib_config_find_class(cfg, cfg->default_runtime_class));
	for (size_t i = 0; i < cfg->n_classes; i++)
		check_section(&cfg->classes[i], crib_config_find_class(cfg, cfg->classes[i].name),
		              true);
	for (size_t i = 0; i < cfg->n_backends; i++)
		check_section(&cfg->backends[i],
		              crib_config_find_backend(cfg, cfg->backends[i].name), false);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_(crib_config_freep) struct crib_config *cfg = NULL;
	_cleanup_(crib_error_freep) struct crib_error *err = NULL;
	_cleanup_free_ char *text = crib_xmalloc(size + 1);
	int r;

	/* The reader takes a C string: an embedded NUL ends the text early, as it would. */
	if (size > 0)
		memcpy(text, data, size);
	text[size] = '\0';

	r = crib_config_parse_string(FUZZ_FILE, text, &cfg, &err);
	if (r < 0) {
		FUZZ_CHECK(!cfg);
		FUZZ_CHECK(err && err->errnum == -r);
		FUZZ_CHECK(strncmp(crib_error_msg(err), FUZZ_FILE ":", strlen(FUZZ_FILE ":")) == 0);
		return 0;
	}
	FUZZ_CHECK(r == 0 && cfg && !err);
	check_config(cfg);
	return 0;
}
