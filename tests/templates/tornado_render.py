#!/usr/bin/env python3
"""tornado_render.py - render a template with Tornado's own engine, as gale's
test driver (render.c) does with gale's, for the differential test and the
benchmark.

    tornado_render.py FOLDER NAME CONTEXT.json [COUNT]

With COUNT, renders COUNT times and prints renders per second of CPU time.

The context's objects allow attribute access (a.b) as gale's do, and the
namespace holds the same stand-ins for what needs a request as gale's
engine falls back to (_, static_url), and Template() for {% module %}.
"""
import json
import sys
import time

import tornado.template
from tornado.util import ObjectDict


def namespace(loader):
    def translate(s, plural=None, count=None):
        return plural if plural is not None and count != 1 else s

    class Modules:
        def Template(self, name, **kwargs):
            ns = dict(base)
            ns.update(kwargs)
            return loader.load(name).generate(**ns).decode()

    base = {"_": translate, "static_url": lambda path: "/static/" + path,
            "_tt_modules": Modules()}
    return base


def main():
    folder, name, ctxfile = sys.argv[1:4]
    with open(ctxfile) as f:
        ctx = json.load(f, object_hook=ObjectDict)
    loader = tornado.template.Loader(folder)
    ns = namespace(loader)
    ns.update(ctx)
    t = loader.load(name)
    if len(sys.argv) > 4:
        count = int(sys.argv[4])
        start = time.process_time()  # CPU time, as the C driver's
        for _ in range(count):
            t.generate(**ns)
        print("%.0f" % (count / (time.process_time() - start)))
        return
    sys.stdout.buffer.write(t.generate(**ns))


if __name__ == "__main__":
    main()
