/*
 * nodesc.c - a test module that exports no gale_module_entry descriptor.
 *
 * It is a valid shared object with one unrelated exported function, so
 * dlopen() succeeds and only the descriptor lookup fails: gale must refuse it
 * and name this file in the error (tests/blackbox/07-config-check.py).
 */
__attribute__((visibility("default"))) int nodesc_unrelated(int x);

int nodesc_unrelated(int x)
{
    return x + 1;
}
