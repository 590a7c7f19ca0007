/* api.h: the JSON API handler (mounted at /api/v1/ by web.c). */
#ifndef API_H
#define API_H

struct mg_connection;
int api_handle(struct mg_connection *c, void *cbdata);

/* Assets compiled in by tools/embed. */
extern const char web_openapi_json[], web_index_html[], web_style_css[], web_app_js[];
extern const unsigned web_openapi_json_len, web_index_html_len, web_style_css_len,
	web_app_js_len;

#endif
