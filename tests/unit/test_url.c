/* test_url.c: splitting a probe's URL into host, port and the request target sent. */
#include "../../core/net.h"
#include "t.h"

struct split {
	int rc, tls;
	uint16_t port;
	char host[64], target[32];
};

static struct split split(const char *url, const char *scheme)
{
	struct split s = {0};
	s.rc = net_split_url(url, scheme, &s.tls, s.host, sizeof s.host, &s.port, s.target,
		sizeof s.target);
	return s;
}

static void test_request_target(void)
{
	static const struct {
		const char *url, *host, *target;
		uint16_t port;
		int tls;
	} ok[] = {
		{"http://h/a/b?q=1", "h", "/a/b?q=1", 80, 0},
		{"http://h", "h", "/", 80, 0},
		/* an empty path before a query is "/" (RFC 9112 3.2.1) */
		{"http://h:8080?x=1", "h", "/?x=1", 8080, 0},
		/* the fragment is the client's own: never sent (RFC 9110 7.1) */
		{"http://h/a#top", "h", "/a", 80, 0},
		{"https://h#top", "h", "/", 443, 1},
		{"http://h/a?b#c?d", "h", "/a?b", 80, 0},
		/* a scheme is case-insensitive (RFC 3986 3.1) */
		{"HTTP://h/", "h", "/", 80, 0},
		{"Https://h:8443/x", "h", "/x", 8443, 1},
		{"WSS://h/feed", "h", "/feed", 443, 1},
		{"http://[::1]:81/x", "::1", "/x", 81, 0},
		{"http://[fe80::1%25eth0]/", "fe80::1%eth0", "/", 80, 0},
		/* what a request line cannot carry goes percent-encoded, as a browser sends it */
		{"http://h/a b/caf\xc3\xa9?q=<1>", "h", "/a%20b/caf%C3%A9?q=%3C1%3E", 80, 0},
		{"http://h/%41?x=%20", "h", "/%41?x=%20", 80, 0},
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		struct split s = split(ok[i].url, ok[i].url[0] == 'W' ? "ws" : "http");
		if (s.rc)
			T_FAIL_AT("%s: %d", ok[i].url, s.rc);
		ASSERT_STR_EQ(s.host, ok[i].host);
		ASSERT_STR_EQ(s.target, ok[i].target);
		ASSERT_EQ(s.port, ok[i].port);
		ASSERT_EQ(s.tls, ok[i].tls);
	}
}

static void test_refused(void)
{
	static const char *bad[] = {
		"http:///x", "http://?x", "http://#f", "ftp://h/", "http:/h/", "htt://h/",
		"http://h:99999/", "http://[::1/", "http://u@h/",
		"http://h/a-target-that-is-longer-than-the-buffer",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (split(bad[i], "http").rc != OP_EINVAL)
			T_FAIL_AT("%s was taken", bad[i]);
}

/* A redirect's path without its dot segments (RFC 3986 5.2.4; the first is its example). */
static void test_remove_dots(void)
{
	static const char *const cases[][2] = {
		{"/a/b/c/./../../g", "/a/g"}, {"/a/b/../c?x=/../y", "/a/c?x=/../y"},
		{"/../../up", "/up"}, {"/a/b/.", "/a/b/"}, {"/a/b/..", "/a/"}, {"/", "/"},
		{"/a//b/../c", "/a//c"}, {"/a/./b/./", "/a/b/"}, {"/..", "/"}, {"/a/..", "/"},
		{"/a/..b/.c/c.", "/a/..b/.c/c."}, {"/a/b?", "/a/b?"}, {"/a/../?q", "/?q"},
		{"/%2e%2e/x", "/%2e%2e/x"},
	};
	for (size_t i = 0; i < OP_ARRAY_LEN(cases); i++) {
		char p[64];
		strcpy(p, cases[i][0]);
		net_path_remove_dots(p);
		ASSERT_STR_EQ(p, cases[i][1]);
	}
}

int main(void)
{
	RUN(test_request_target);
	RUN(test_refused);
	RUN(test_remove_dots);
	return T_DONE();
}
