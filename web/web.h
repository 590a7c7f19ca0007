/* web.h: the embedded web server (civetweb): /, /healthz, /metrics. The only module with
 * threads; it reads the engine's published snapshot and nothing else. */
#ifndef WEB_H
#define WEB_H

#include <stddef.h>

/* Start serving on listen ("ip:port") with this many threads (3 or more). Returns 0, or -1 with
 * err filled. */
int web_start(const char *listen, unsigned threads, char *err, size_t errcap);
/* Stop the server and join its threads (idempotent). */
void web_stop(void);

#endif
