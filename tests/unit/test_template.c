/*
 * test_template.c - src/page/template*.c: the template engine alone, with
 * no request: every construct, the whitespace modes, escaping, the
 * expression language, errors with their file and line, and that a
 * template reaches nothing outside its context. Expected outputs are
 * Tornado 6.2's (tests/blackbox/23-templates.py compares whole files with
 * Tornado itself).
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

#include "page/template.h"

static struct template_cache *cache;
static char out_text[8192];
static struct template_err err;

/* Render text named `name` with the JSON context ctx; the output or NULL
 * on an error (in err). */
static const char *render_named(const char *name, const char *text, const char *ctx)
{
    json_t *c = json_loads(ctx ? ctx : "{}", 0, NULL);
    struct template_buf out = {0};
    struct template_env env = {.cache = cache};
    const char *res = NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    if (template_cache_put(cache, name, text, &err) == 0) {
        const struct template *t = template_cache_get(cache, name, &err);
        if (t != NULL && template_render(t, c, &env, &out, &err) == 0) {
            snprintf(out_text, sizeof(out_text), "%s", out.s ? out.s : "");
            res = out_text;
        }
    }
    template_buf_free(&out);
    json_decref(c);
    return res;
}

static const char *render(const char *text, const char *ctx)
{
    return render_named("t.txt", text, ctx);
}

#define RENDERS(text, ctx, want)                                                                   \
    do {                                                                                           \
        const char *got_ = render(text, ctx);                                                      \
        CU_ASSERT_PTR_NOT_NULL(got_);                                                              \
        if (got_ == NULL)                                                                          \
            fprintf(stderr, "\n%s: %s\n", text, err.msg);                                          \
        else if (strcmp(got_, want) != 0)                                                          \
            fprintf(stderr, "\n%s: got [%s] want [%s]\n", text, got_, want);                       \
        CU_ASSERT_STRING_EQUAL(got_ ? got_ : "", want);                                            \
    } while (0)

/* Rendering fails with err.msg starting with `want`. */
#define FAILS(text, ctx, want)                                                                     \
    do {                                                                                           \
        const char *got_ = render(text, ctx);                                                      \
        CU_ASSERT_PTR_NULL(got_);                                                                  \
        if (strncmp(err.msg, want, strlen(want)) != 0)                                             \
            fprintf(stderr, "\n%s: error [%s] want [%s]\n", text, err.msg, want);                  \
        CU_ASSERT_EQUAL(strncmp(err.msg, want, strlen(want)), 0);                                  \
    } while (0)

static void test_text_and_expressions(void)
{
    RENDERS("plain", NULL, "plain");
    RENDERS("{{ x }}", "{\"x\": \"<a href='x'>&\\\"</a>\"}",
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;");
    RENDERS("{% raw x %}", "{\"x\": \"<b>\"}", "<b>");
    /* long runs with nothing to escape, then each special byte at each place in a word */
    RENDERS("{{ x }}", "{\"x\": \"abcdefghijklmnop&qrstuvwx<yz>0123456\\\"7'\"}",
            "abcdefghijklmnop&amp;qrstuvwx&lt;yz&gt;0123456&quot;7&#39;");
    RENDERS("a{# gone {{ x }} #}b", NULL, "ab");
    RENDERS("{{! x }} {%! y %} {#! z #}", NULL, "{{ x }} {% y %} {# z #}");
    RENDERS("{{{ 1 }}}", NULL, "{1}");
    RENDERS("{% autoescape None %}{{ x }}", "{\"x\": \"<b>\"}", "<b>");
    RENDERS("{{ x }}{% autoescape None %}", "{\"x\": \"<b>\"}", "<b>"); /* the whole file */
    RENDERS("{% comment anything %}ok", NULL, "ok");
}

static void test_values_print_as_python(void)
{
    RENDERS("{{ 1 }} {{ 1.0 }} {{ 0.1 + 0.2 }} {{ 1e16 }} {{ 1e-5 }} {{ 2.5 }}", NULL,
            "1 1.0 0.30000000000000004 1e+16 1e-05 2.5");
    RENDERS("{{ True }} {{ False }} {{ None }} {{ t }} {{ n }}", "{\"t\": true, \"n\": null}",
            "True False None True None");
    RENDERS("{% raw [1, 'a', None, 2.0] %} {% raw d %}", "{\"d\": {\"k\": [true]}}",
            "[1, 'a', None, 2.0] {'k': [True]}");
    RENDERS("{% raw [\"it's\"] %}", NULL, "[\"it's\"]");
    /* the ends of the fast ways of numbers, and subnormals (shortest digits) */
    RENDERS("{{ a }} {{ b }} {{ c }} {{ d }} {{ e }} {{ f }} {{ g }}",
            "{\"a\": 5e-324, \"b\": -0.0, \"c\": 0.0, \"d\": 1e15, \"e\": 999999999999999.9, "
            "\"f\": -0.0001, \"g\": 2.2250738585072014e-308}",
            "5e-324 -0.0 0.0 1000000000000000.0 999999999999999.9 -0.0001 2.2250738585072014e-308");
    RENDERS("{{ a }} {{ b }} {{ c }} {{ d }} {{ e }}",
            "{\"a\": -9223372036854775808, \"b\": 9223372036854775807, \"c\": -12.5, "
            "\"d\": 0.1, \"e\": 100}",
            "-9223372036854775808 9223372036854775807 -12.5 0.1 100");
}

/* row["key"] of a loop variable comes from the row's keys seen as an array
 * (struct tslot): rows in any key order, missing keys, rows that are no
 * objects or have many keys, long keys alike in their first eight bytes,
 * and variables that hide the row. */
static void test_rows_of_a_loop(void)
{
    RENDERS(
        "{% for r in rows %}{{ r[\"a\"] }}{{ r['b'] }}{{ r.a }};{% end %}",
        "{\"rows\": [{\"a\": 1, \"b\": 2}, {\"b\": 3, \"a\": 4}, {\"c\": 0, \"b\": 5, \"a\": 6}]}",
        "121;434;656;");
    RENDERS("{% for r in rows %}{{ r['abc'] }}{{ r['a'] }}{{ r['ab'] }}{{ r['abcdefghY'] }}"
            "{{ r['abcdefghX'] }}{% end %}",
            "{\"rows\": [{\"ab\": 1, \"abc\": 2, \"a\": 3, \"abcdefghX\": 4, \"abcdefghY\": 5}]}",
            "23154");
    /* keys alike but for one byte, at each length where words are made
     * from two loads that overlap */
    RENDERS("{% for r in rows %}{{ r['abcdefgi'] }}{{ r['abcdefgh'] }}{{ r['abcdy'] }}"
            "{{ r['abcdx'] }}{{ r['abcdefh'] }}{{ r['abcdefg'] }}{{ r['abce'] }}{{ r['abcd'] }}"
            "{{ r['ac'] }}{{ r['ab'] }}{{ r['b'] }}{{ r['a'] }}{% end %}",
            "{\"rows\": [{\"a\": 0, \"b\": 1, \"ab\": 2, \"ac\": 3, \"abcd\": 4, \"abce\": 5, "
            "\"abcdefg\": 6, \"abcdefh\": 7, \"abcdx\": 8, \"abcdy\": 9, \"abcdefgh\": 10, "
            "\"abcdefgi\": 11}]}",
            "11109876543210");
    RENDERS(
        "{% for r in rows %}{{ r['k19'] }}{{ r['k0'] }}{% end %}",
        "{\"rows\": [{\"k0\": 0, \"k1\": 1, \"k2\": 2, \"k3\": 3, \"k4\": 4, \"k5\": 5, \"k6\": 6, "
        "\"k7\": 7, \"k8\": 8, \"k9\": 9, \"k10\": 10, \"k11\": 11, \"k12\": 12, \"k13\": 13, "
        "\"k14\": 14, \"k15\": 15, \"k16\": 16, \"k17\": 17, \"k18\": 18, \"k19\": 19}, {\"k0\": "
        "0, \"k1\": 1, \"k2\": 2, \"k3\": 3, \"k4\": 4, \"k5\": 5, \"k6\": 6, \"k7\": 7, \"k8\": "
        "8, \"k9\": 9, \"k10\": 10, \"k11\": 11, \"k12\": 12, \"k13\": 13, \"k14\": 14, \"k15\": "
        "15, \"k16\": 16, \"k17\": 17, \"k18\": 18, \"k19\": 19}]}",
        "190190");
    RENDERS("{% for r in rows %}{% set r = {'a': 9} %}{{ r['a'] }}{% end %}",
            "{\"rows\": [{\"a\": 1}, {\"a\": 2}]}", "99");
    RENDERS("{% for r in rows %}{% for r in r['xs'] %}{{ r['a'] }}{% end %}{{ r['a'] }}{% end %}",
            "{\"rows\": [{\"xs\": [{\"a\": 1}, {\"a\": 2}], \"a\": 3}]}", "122");
    RENDERS("{% for k, v in rows %}{{ v['a'] }}{{ k }}{% end %}",
            "{\"rows\": [[\"x\", {\"a\": 1}], [\"y\", {\"b\": 0, \"a\": 2}]]}", "1x2y");
    FAILS("{% for r in rows %}{{ r['a'] }}{% end %}", "{\"rows\": [{\"a\": 1}, {\"b\": 2}]}",
          "t.txt:1: KeyError: 'a'");
    FAILS("{% for r in rows %}{{ r['a'] }}{% end %}", "{\"rows\": [{\"a\": 1}, [2]]}",
          "t.txt:1: TypeError");
    FAILS("{% for r in rows %}{{ r.b }}{% end %}", "{\"rows\": [{\"b\": 1}, {\"a\": 2}]}",
          "t.txt:1: AttributeError");
}

static void test_arithmetic(void)
{
    RENDERS("{{ 7 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7 % -3 }} {{ 2 ** 8 }}", NULL,
            "3.5 3 -4 2 -2 256");
    RENDERS("{{ 'a' + 'b' }} {{ 'ab' * 2 }} {{ [1] + [2] }} {{ 1 + 2.5 }} {{ True + 1 }}", NULL,
            "ab abab [1, 2] 3.5 2");
    RENDERS("{{ -x }} {{ +x }} {{ 10 - 2 - 3 }} {{ 2 + 3 * 4 }} {{ (2 + 3) * 4 }}", "{\"x\": 4}",
            "-4 4 5 14 20");
    FAILS("{{ 1 / 0 }}", NULL, "t.txt:1: ZeroDivisionError");
    FAILS("{{ 'a' + 1 }}", NULL, "t.txt:1: TypeError: unsupported operand");
}

static void test_comparisons_and_logic(void)
{
    RENDERS("{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 1 == 1.0 }} {{ 'a' != 'b' }} {{ x is None }}",
            "{\"x\": null}", "True False True True True");
    RENDERS("{{ 2 in [1, 2] }} {{ 'k' in d }} {{ 'z' not in 'abc' }} {{ 'bc' in 'abc' }}",
            "{\"d\": {\"k\": 1}}", "True True True True");
    RENDERS("{{ 0 or 'x' }} {{ 1 and 'y' }} {{ not [] }} {{ 'a' if 0 else 'b' }}", NULL,
            "x y True b");
    /* conditions on arithmetic, decided without making the number */
    RENDERS("{{ 'a' if 3 % 2 else 'b' }}{{ 'a' if -4 % 2 else 'b' }}{{ 'a' if 1 // 2 else 'b' }}"
            "{{ 'a' if -1 // 2 else 'b' }}{{ 'a' if 2 - 2 else 'b' }}{{ 'a' if 1.5 * 2 else 'b' }}",
            NULL, "abbaba");
    FAILS("{% if 1 % 0 %}{% end %}", NULL, "t.txt:1: ZeroDivisionError");
    FAILS("{{ 1 < 'a' }}", NULL, "t.txt:1: TypeError");
}

static void test_paths_and_functions(void)
{
    const char *ctx = "{\"a\": {\"b\": [10, {\"c\": \"deep\"}]}, \"s\": \"h\\u00e9llo\"}";
    RENDERS("{{ a.b[1].c }} {{ a['b'][-2] }} {{ a[\"b\"][0] }} {{ len(a.b) }}", ctx,
            "deep 10 10 2");
    RENDERS("{{ s[1] }} {{ len(s) }} {{ s[1:3] }} {{ s[:-1] }} {{ a.b[1:] }}", ctx,
            "\xc3\xa9 5 \xc3\xa9l h\xc3\xa9ll [{&#39;c&#39;: &#39;deep&#39;}]");
    RENDERS("{% raw json_encode(a) %}", ctx, "{\"b\": [10, {\"c\": \"deep\"}]}");
    RENDERS("{{ url_escape('a b/&') }} {{ url_escape('a b/', plus=False) }}", NULL,
            "a+b%2F%26 a%20b/");
    RENDERS("{{ squeeze('  a \\t\\n b  ') }} {% raw linkify('see http://x.org/a.') %}", NULL,
            "a b see <a href=\"http://x.org/a\">http://x.org/a</a>.");
    RENDERS("{{ _('a') }} {{ _('one', 'many', 1) }} {{ _('one', 'many', 2) }}", NULL, "a one many");
    RENDERS("{{ static_url('x.css') }} {{ format_date(0) }}", NULL,
            "/static/x.css 1970-01-01 00:00:00");
    RENDERS("{{ str(1 + int('2') * 2) + '!' }} {{ float(1) }} {{ abs(-2) }}", NULL, "5! 1.0 2");
    RENDERS("{{ ','.join(['a', 'b']) }} {{ 'a b'.split() }} {{ 'Ab'.upper() }} {{ d.get('x', 0) }}",
            "{\"d\": {}}", "a,b [&#39;a&#39;, &#39;b&#39;] AB 0");
}

static void test_control(void)
{
    const char *ctx = "{\"xs\": [1, 2, 3], \"d\": {\"a\": 1, \"b\": 2}, \"e\": []}";
    RENDERS("{% for x in xs %}{{ x }},{% end %}", ctx, "1,2,3,");
    RENDERS("{% for k, v in d.items() %}{{ k }}={{ v }};{% end %}", ctx, "a=1;b=2;");
    RENDERS("{% for k in d %}{{ k }}{% end %}", ctx, "ab");
    RENDERS("{% for i, x in enumerate(xs) %}{{ i }}{{ x }} {% end %}", ctx, "01 12 23 ");
    RENDERS("{% for x in e %}{{ x }}{% else %}none{% end %}", ctx, "none");
    RENDERS("{% for x in xs %}{% if x == 2 %}{% break %}{% end %}{{ x }}{% else %}no{% end %}", ctx,
            "1");
    RENDERS("{% for x in xs %}{% if x == 2 %}{% continue %}{% end %}{{ x }}{% end %}", ctx, "13");
    RENDERS("{% set i = 0 %}{% while i < 3 %}{{ i }}{% set i += 1 %}{% end %}", NULL, "012");
    RENDERS("{% if 0 %}a{% elif 0 %}b{% elif 1 %}c{% else %}d{% end %}", NULL, "c");
    RENDERS("{% if 0 %}a{% else %}d{% end %}", NULL, "d");
    RENDERS("{% set x = 'v' %}{% for y in [1] %}{% set x = 'w' %}{% end %}{{ x }}", NULL, "w");
    RENDERS("{% try %}a{{ nope }}b{% except %}c{% else %}d{% finally %}e{% end %}", NULL, "ace");
    RENDERS("{% try %}a{% except %}c{% else %}d{% finally %}e{% end %}", NULL, "ade");
    RENDERS("{% apply xhtml_escape %}<{{ 1 }}>{% end %}", NULL, "&lt;1&gt;");
    RENDERS("{% apply squeeze %}  a   b  {% end %}", NULL, "a b");
}

static void test_whitespace(void)
{
    RENDERS("a  \t b\n\n  c", NULL, "a  \t b\n\n  c"); /* .txt: all */
    CU_ASSERT_STRING_EQUAL(render_named("w.html", "a  \t b\n\n  c ", NULL), "a b\nc ");
    CU_ASSERT_STRING_EQUAL(render_named("w.js", "a  b\n\n c", NULL), "a b\nc");
    CU_ASSERT_STRING_EQUAL(render_named("p.html", "<pre>a  \n\n b</pre>", NULL),
                           "<pre>a  \n\n b</pre>");
    RENDERS("{% whitespace oneline %}a \n\n b{% whitespace single %} x  \n\n y", NULL, "a b x\ny");
    FAILS("{% whitespace wide %}", NULL, "t.txt:1: invalid whitespace mode wide");
}

static void test_inheritance_and_includes(void)
{
    struct template_err e;
    CU_ASSERT_EQUAL(template_cache_put(cache, "base.txt",
                                       "[{% block a %}A{% end %}|{% block b %}B"
                                       "{% block c %}C{% end %}{% end %}]",
                                       &e),
                    0);
    CU_ASSERT_EQUAL(template_cache_put(cache, "mid.txt",
                                       "{% extends \"base.txt\" %}{% block b %}mb"
                                       "{% block c %}mc{% end %}{% end %}",
                                       &e),
                    0);
    CU_ASSERT_EQUAL(template_cache_put(cache, "inc/part.txt", "<{{ x }}>{% set y = 2 %}", &e), 0);
    CU_ASSERT_EQUAL(template_cache_put(cache, "inc/mod.txt", "m{{ k }}{{ x if 0 else '' }}", &e),
                    0);
    RENDERS("{% extends \"mid.txt\" %}ignored{% block c %}{{ x }}{% end %}", "{\"x\": 1}",
            "[A|mb1]");
    RENDERS("{% extends base.txt %}{% block a %}a{% end %}", NULL, "[a|BC]");
    RENDERS("{% include \"inc/part.txt\" %}{{ y }}", "{\"x\": 3}", "<3>2");
    RENDERS("{% module Template(\"inc/mod.txt\", k=5) %}", "{\"x\": 3}", "m5");
    CU_ASSERT_STRING_EQUAL(render_named("inc/rel.txt", "{% include part.txt %}", "{\"x\": 4}"),
                           "<4>");
    FAILS("{% module Template(\"inc/mod.txt\") %}", NULL, "inc/mod.txt:1: NameError");
    FAILS("{% include \"../etc/passwd\" %}", NULL, "t.txt:1: include: expected a template name");
    FAILS("{% include \"/nope.txt\" %}", NULL, "t.txt:1: ");
    FAILS("{% extends \"t.txt\" %}", NULL, "t.txt:1: extends chain longer");
}

static void test_syntax_errors_name_the_line(void)
{
    FAILS("a\n{% if x %}\nb", NULL, "t.txt:3: Missing {% end %} block for if");
    FAILS("a\n\n{% end %}", NULL, "t.txt:3: Extra {% end %} block");
    FAILS("a\n{{ x", NULL, "t.txt:2: Missing end expression }}");
    FAILS("{{ }}", NULL, "t.txt:1: Empty expression");
    FAILS("{% %}", NULL, "t.txt:1: Empty block tag");
    FAILS("\n{% frob x %}", NULL, "t.txt:2: unknown operator: 'frob'");
    FAILS("{% else %}", NULL, "t.txt:1: else outside");
    FAILS("{% for x in y %}{% elif 1 %}{% end %}", NULL, "t.txt:1: elif block cannot be");
    FAILS("{% if 1 %}{% else %}{% else %}{% end %}", NULL, "t.txt:1: else block cannot be");
    FAILS("{% break %}", NULL, "t.txt:1: break outside");
    FAILS("\n\n{{ a + }}", NULL, "t.txt:3: expected a value");
    FAILS("{{ a b }}", NULL, "t.txt:1: expected the end of the expression");
    FAILS("{% set x %}", NULL, "t.txt:1: expected {% set NAME = EXPRESSION %}");
    FAILS("{% import os %}", NULL, "t.txt:1: import: templates here cannot import");
    FAILS("{# open", NULL, "t.txt:1: Missing end comment #}");
    FAILS("line\n{{ 'open }}", NULL, "t.txt:2: expected the end of the string literal");
}

static void test_runtime_errors_name_the_line(void)
{
    FAILS("a\nb {{ nope }}", NULL, "t.txt:2: NameError: name 'nope' is not defined");
    FAILS("{% for x in 3 %}{% end %}", NULL, "t.txt:1: TypeError: 'int' object is not iterable");
    FAILS("\n{{ d['x'] }}", "{\"d\": {}}", "t.txt:2: KeyError: 'x'");
    FAILS("{{ xs[5] }}", "{\"xs\": []}", "t.txt:1: IndexError");
    FAILS("{{ xsrf_form_html() }}", NULL, "t.txt:1: xsrf_form_html() failed");
}

/* A template reaches only its context and the fixed functions. */
static void test_nothing_outside_the_context(void)
{
    FAILS("{{ open('/etc/passwd') }}", NULL, "t.txt:1: expected a known function, not 'open'");
    FAILS("{{ __import__('os') }}", NULL, "t.txt:1: expected a known function");
    FAILS("{{ x.__class__ }}", "{\"x\": {}}", "t.txt:1: AttributeError");
    FAILS("{{ ''.format() }}", NULL, "t.txt:1: expected a known method, not 'format'");
    FAILS("{{ handler }}", NULL, "t.txt:1: NameError");
    FAILS("{{ escape }}", NULL, "t.txt:1: NameError");
    FAILS("{{ lambda: 1 }}", NULL, "t.txt:1: expected a value, not 'lambda'");
    FAILS("{% set i = 0 %}{% while 1 %}{% end %}", NULL, "t.txt:1: RuntimeError");
    FAILS("{{ range(10000000) }}", NULL, "t.txt:1: MemoryError");
    FAILS("{{ 'x' * 100000000 }}", NULL, "t.txt:1: MemoryError");
    FAILS("{{ 2 ** 100 }}", NULL, "t.txt:1: OverflowError");
    FAILS("{{ 7 ** 2100.0 <= 0 }}", NULL, "t.txt:1: OverflowError"); /* JSON has no inf */
    FAILS("{{ 1e308 * 10 }}", NULL, "t.txt:1: OverflowError");
    FAILS("{{ int(1e300) }}", NULL, "t.txt:1: OverflowError");
    FAILS("{{ float('inf') }}", NULL, "t.txt:1: ValueError");
    FAILS("{{ 1e999 }}", NULL, "t.txt:1: expected a number");
}

int main(void)
{
    CU_pSuite s;
    unsigned failed;

    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    cache = template_cache_new("/nonexistent", 0);
    s = CU_add_suite("template", NULL, NULL);
    CU_add_test(s, "text and expressions", test_text_and_expressions);
    CU_add_test(s, "values print as Python", test_values_print_as_python);
    CU_add_test(s, "rows of a loop", test_rows_of_a_loop);
    CU_add_test(s, "arithmetic", test_arithmetic);
    CU_add_test(s, "comparisons and logic", test_comparisons_and_logic);
    CU_add_test(s, "paths and functions", test_paths_and_functions);
    CU_add_test(s, "control", test_control);
    CU_add_test(s, "whitespace", test_whitespace);
    CU_add_test(s, "inheritance and includes", test_inheritance_and_includes);
    CU_add_test(s, "syntax errors name the line", test_syntax_errors_name_the_line);
    CU_add_test(s, "runtime errors name the line", test_runtime_errors_name_the_line);
    CU_add_test(s, "nothing outside the context", test_nothing_outside_the_context);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    template_cache_free(cache);
    return failed ? 1 : 0;
}
