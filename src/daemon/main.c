/*
 * main.c - arguments, then master_run().
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "daemon/master.h"
#include "daemon/settings.h"
#include "daemon/upgrade.h"
#include "gale/gale.h"

#define MAIN_DEFAULT_CONF GALE_SYSCONFDIR "/gale/gale.conf"

static void main_usage(FILE *f)
{
    fprintf(f,
            "usage: gale [-c FILE] [-t] [-v] [-h]\n"
            "  -c FILE  configuration file (default %s)\n"
            "  -t       check the configuration and its modules, then exit\n"
            "  -v       print the version and exit\n"
            "  -h       print this help and exit\n"
            "Signals: HUP reload, TERM/INT quick stop, QUIT graceful stop, USR1 reopen logs,\n"
            "USR2 start the binary again (upgrade; then QUIT the old master).\n",
            MAIN_DEFAULT_CONF);
}

int main(int argc, char **argv)
{
    const char *conf = MAIN_DEFAULT_CONF;
    int test = 0, c;
    upgrade_init(argc, argv);
    while ((c = getopt(argc, argv, "c:tvh")) != -1) {
        switch (c) {
        case 'c':
            conf = optarg;
            break;
        case 't':
            test = 1;
            break;
        case 'v':
            printf("gale %s\n", GALE_VERSION_STRING);
            return 0;
        case 'h':
            main_usage(stdout);
            return 0;
        default:
            main_usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        main_usage(stderr);
        return 2;
    }
    settings_register();
    return test ? master_check(conf) : master_run(conf);
}
