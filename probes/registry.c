/* registry.c: every probe kind, by name. Add a kind here and in the Makefile's PROBES list. */
#include "../core/probe.h"

extern const struct probe_ops probe_tcp, probe_dns, probe_http, probe_exec, probe_ws,
	probe_pipeline, probe_scenario;

const struct probe_ops *const probe_registry[] = {
	&probe_tcp,
	&probe_dns,
	&probe_http,
	&probe_exec,
	&probe_ws,
	&probe_pipeline,
	&probe_scenario,
	NULL,
};
