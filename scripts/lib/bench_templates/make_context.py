#!/usr/bin/env python3
"""make_context.py - the context of the templates benchmark (page.html): a
100-row table whose names and notes need escaping."""
import json
import sys

rows = [{"id": i, "name": "item <%d> & co" % i, "price": round(i * 1.25, 2),
         "note": "\"quoted\" 'note' number %d" % i} for i in range(100)]
json.dump({"site": "Gale & Sons", "title": "Catalogue <2026>", "user": {"name": "Ann O'Neil"},
           "rows": rows}, sys.stdout)
