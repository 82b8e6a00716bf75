/*
 * test_static_file.c - opening static files beneath their folder
 * (static_file.c), with openat2 and with the fallback of kernels without it
 * (openat, then the opened file's real path): symbolic links that lead
 * outside refused, those inside followed, folders and their default file,
 * precompressed siblings by Accept-Encoding.
 */
#include <CUnit/Basic.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "core/loop.h"
#include "daemon/settings.h"
#include "http/static_file.h"
#include "http/static_settings.h"

static char top[64], www[128];
static struct config *cfg;
static struct loop loop;

static void put(const char *name, const char *text)
{
    char p[PATH_MAX * 2];
    snprintf(p, sizeof(p), "%s/%s", top, name);
    FILE *f = fopen(p, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void link_to(const char *target, const char *name)
{
    char p[PATH_MAX * 2];
    snprintf(p, sizeof(p), "%s/%s", www, name);
    if (symlink(target, p) != 0)
        perror("symlink");
}

static int setup(void)
{
    snprintf(top, sizeof(top), "/tmp/gale-static-file-XXXXXX");
    if (!mkdtemp(top))
        return -1;
    snprintf(www, sizeof(www), "%s/www", top);
    mkdir(www, 0755);
    char sub[PATH_MAX * 2];
    snprintf(sub, sizeof(sub), "%s/sub", www);
    mkdir(sub, 0755);
    snprintf(sub, sizeof(sub), "%s/empty", www);
    mkdir(sub, 0755);
    put("outside.txt", "secret");
    put("www/a.txt", "a");
    put("www/a.txt.gz", "gz");
    put("www/a.txt.br", "br");
    put("www/b.txt", "b");
    put("www/b.txt.gz", "gz");
    put("www/sub/index.html", "sub");
    put("www/index.html", "top");
    link_to("../outside.txt", "out-rel");
    char abs[PATH_MAX * 2];
    snprintf(abs, sizeof(abs), "%s/outside.txt", top);
    link_to(abs, "out-abs");
    link_to("..", "out-dir");
    link_to("a.txt", "in-link");
    link_to("sub", "sub-link");
    link_to("../outside.txt", "c.txt.gz"); /* a sibling that leads outside */
    put("www/c.txt", "c");

    char text[PATH_MAX * 3], *errors = NULL;
    snprintf(text, sizeof(text),
             "listen = ( { port = 8080; } );\n"
             "static = ( { prefix = \"/s/\"; path = \"%s\"; } );\n",
             www);
    settings_register();
    cfg = config_load_string(text, "test.conf", top, &errors);
    if (!cfg) {
        fprintf(stderr, "%s", errors);
        free(errors);
        return -1;
    }
    loop.cfg = cfg;
    return 0;
}

static int teardown(void)
{
    config_free(cfg);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
    return system(cmd) == 0 ? 0 : -1;
}

/* What opening rel gives: the file's contents, "(folder)" or "(none)". */
static const char *open_rel(const char *rel, int slash, const char *accept, const char **coding)
{
    static char buf[64];
    const struct static_root *root = &static_settings(cfg)->roots[0];
    struct static_file f;
    int rc = static_file_open(&loop, root, rel, slash, accept, &f);
    if (rc == STATIC_FILE_FOLDER)
        return "(folder)";
    if (rc < 0)
        return "(none)";
    ssize_t n = read(f.fd, buf, sizeof(buf) - 1);
    buf[n > 0 ? n : 0] = '\0';
    if (coding)
        *coding = f.encoding;
    static_file_close(&f);
    return buf;
}

static void check_opens(void)
{
    const char *coding = "x";
    CU_ASSERT_STRING_EQUAL(open_rel("a.txt", 0, NULL, NULL), "a");
    CU_ASSERT_STRING_EQUAL(open_rel("in-link", 0, NULL, NULL), "a");
    CU_ASSERT_STRING_EQUAL(open_rel("sub-link/index.html", 0, NULL, NULL), "sub");
    CU_ASSERT_STRING_EQUAL(open_rel("out-rel", 0, NULL, NULL), "(none)");
    CU_ASSERT_STRING_EQUAL(open_rel("out-abs", 0, NULL, NULL), "(none)");
    CU_ASSERT_STRING_EQUAL(open_rel("out-dir/outside.txt", 0, NULL, NULL), "(none)");
    CU_ASSERT_STRING_EQUAL(open_rel("missing", 0, NULL, NULL), "(none)");
    CU_ASSERT_STRING_EQUAL(open_rel("a.txt", 1, NULL, NULL), "(none)"); /* "a.txt/" */
    CU_ASSERT_STRING_EQUAL(open_rel("sub", 0, NULL, NULL), "(folder)");
    CU_ASSERT_STRING_EQUAL(open_rel("sub", 1, NULL, NULL), "sub");
    CU_ASSERT_STRING_EQUAL(open_rel("sub-link", 1, NULL, NULL), "sub");
    CU_ASSERT_STRING_EQUAL(open_rel("empty", 1, NULL, NULL), "(none)");
    /* the folder itself: its index (the fallback once took it for outside) */
    CU_ASSERT_STRING_EQUAL(open_rel("", 1, NULL, NULL), "top");
    CU_ASSERT_STRING_EQUAL(open_rel("a.txt", 0, "gzip, br", &coding), "br");
    CU_ASSERT_STRING_EQUAL(coding, "br");
    CU_ASSERT_STRING_EQUAL(open_rel("a.txt", 0, "gzip", &coding), "gz");
    CU_ASSERT_STRING_EQUAL(coding, "gzip");
    CU_ASSERT_STRING_EQUAL(open_rel("b.txt", 0, "br, gzip", &coding), "gz");
    CU_ASSERT_STRING_EQUAL(open_rel("a.txt", 0, "identity", &coding), "a");
    CU_ASSERT_PTR_NULL(coding);
    CU_ASSERT_STRING_EQUAL(open_rel("c.txt", 0, "gzip", &coding), "c"); /* sibling outside */
    CU_ASSERT_PTR_NULL(coding);
}

static void test_openat2(void)
{
    static_file_set_openat2(1);
    check_opens();
}

static void test_fallback(void)
{
    static_file_set_openat2(0);
    check_opens();
    static_file_set_openat2(1);
}

static void test_accepts(void)
{
    CU_ASSERT(static_file_accepts("gzip, br", "br"));
    CU_ASSERT(static_file_accepts("GZIP", "gzip"));
    CU_ASSERT(static_file_accepts("br;q=0.5", "br"));
    CU_ASSERT(static_file_accepts("br ; q=0.001", "br"));
    CU_ASSERT(!static_file_accepts("br;q=0", "br"));
    CU_ASSERT(!static_file_accepts("br;q=0.000", "br"));
    CU_ASSERT(!static_file_accepts("gzip", "br"));
    CU_ASSERT(!static_file_accepts("brotli", "br"));
    CU_ASSERT(!static_file_accepts("", "br"));
    CU_ASSERT(!static_file_accepts(NULL, "br"));
    CU_ASSERT(static_file_accepts("*", "br"));
    CU_ASSERT(!static_file_accepts("*;q=0", "br"));
    CU_ASSERT(!static_file_accepts("*, br;q=0", "br"));
    CU_ASSERT(static_file_accepts("br, *;q=0", "br"));
    CU_ASSERT(static_file_accepts("deflate;q=0.5,gzip", "gzip"));
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("static_file", setup, teardown);
    CU_add_test(s, "openat2 RESOLVE_BENEATH", test_openat2);
    CU_add_test(s, "fallback: the real path", test_fallback);
    CU_add_test(s, "Accept-Encoding", test_accepts);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
