/* api.h: the JSON API handler (mounted at /api/v1/ by web.c), and what it shares with web.c. */
#ifndef API_H
#define API_H

#include <stddef.h>

struct mg_connection;

/* A growable text buffer for answers (web threads may allocate). */
struct jbuf {
	char *p;
	size_t len, cap;
	int oom;
};
void jb_put(struct jbuf *b, const char *s, size_t n);

/* A private copy of the published snapshot (app.nprobes entries); the caller frees s->probes.
 * Returns 0, or -1 when out of memory. */
struct snap;
int web_snap_copy(struct snap *s);
int api_handle(struct mg_connection *c, void *cbdata);

/* Every whole answer goes out through this: the status line, Content-Type, headers ("" or
 * lines ending in CRLF), Content-Length, and the body unless the request is a HEAD. Returns
 * status. */
#define NO_STORE "Cache-Control: no-store\r\n"
int web_reply(struct mg_connection *c, int status, const char *type, const char *headers,
	const char *body, size_t n);

/* Assets compiled in by tools/embed. */
extern const char web_openapi_json[], web_index_html[], web_style_css[], web_app_js[];
extern const unsigned web_openapi_json_len, web_index_html_len, web_style_css_len,
	web_app_js_len;

#endif
