"""localedata.py - translation catalogs for the locale tests: Tornado CSV
files and gettext .po files compiled with msgfmt (both byte orders), in
several languages with their plural rules (Polish, Russian, Arabic,
Japanese), contexts, quotes and the phrases Tornado's format_date,
format_day and list translate.
"""
import os
import subprocess

CSV = {
    "es": '''"January","enero"
"February","febrero"
"March","marzo"
"December","diciembre"
"Monday","lunes"
"Tuesday","martes"
"Sunday","domingo"
"yesterday","ayer"
"yesterday at %(time)s","ayer a las %(time)s"
"%(weekday)s at %(time)s","%(weekday)s a las %(time)s"
"%(month_name)s %(day)s","%(day)s de %(month_name)s"
"%(month_name)s %(day)s at %(time)s","%(day)s de %(month_name)s a las %(time)s"
"%(month_name)s %(day)s, %(year)s","%(day)s de %(month_name)s de %(year)s"
"%(month_name)s %(day)s, %(year)s at %(time)s","%(day)s de %(month_name)s de %(year)s a las %(time)s"
"%(weekday)s, %(month_name)s %(day)s","%(weekday)s, %(day)s de %(month_name)s"
"1 second ago","hace 1 segundo","singular"
"%(seconds)d seconds ago","hace %(seconds)d segundos","plural"
"1 minute ago","hace 1 minuto","singular"
"%(minutes)d minutes ago","hace %(minutes)d minutos","plural"
"%(hours)d hours ago","hace %(hours)d horas","plural"
"%(commas)s and %(last)s","%(commas)s y %(last)s"
"Sign out","Cerrar sesión"
"He said ""hi""","Dijo ""hola"""
"  padded  ",  "  relleno  "
"two
lines","dos
líneas"
"%(name)s liked this","A %(name)s les gustó esto","plural"
"%(name)s liked this","A %(name)s le gustó esto","singular"
"%(name)s liked this","A %(name)s le gustó","unknown"
"dup","first"
"dup","second"
"only",
short
''',
    "fr": '\ufeff"Sign out","Se déconnecter"\r\n"Monday","lundi"\r\n"%(commas)s and %(last)s","%(commas)s et %(last)s",""\r\n',
    "pt": '"Sign out","Sair"\n',
    "zh_CN": '"Sign out","\u6ce8\u9500"\n',
    "fa": '"%(commas)s and %(last)s","%(commas)s \u0648 %(last)s"\n',
    "en": '"Sign out","Log out"\n',
}

PO_HEAD = '''msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\\n"
"Plural-Forms: %s\\n"

'''

PLURALS = {
    "pl": "nplurals=3; plural=(n==1 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);",
    "ru": "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && "
          "(n%100<10 || n%100>=20) ? 1 : 2);",
    "ar": "nplurals=6; plural=(n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : n%100>=3 && n%100<=10 ? 3 : "
          "n%100>=11 ? 4 : 5);",
    "ja": "nplurals=1; plural=0;",
    "fr_FR": "nplurals=2; plural=(n > 1);",
}

PO_BODY = {
    "pl": [("Sign out", "Wyloguj"), ("January", "stycznia"), ("Monday", "poniedziałek"),
           ("yesterday at %(time)s", "wczoraj o %(time)s"),
           (("1 minute ago", "%(minutes)d minutes ago"),
            ["1 minutę temu", "%(minutes)d minuty temu", "%(minutes)d minut temu"]),
           (("1 second ago", "%(seconds)d seconds ago"),
            ["1 sekundę temu", "%(seconds)d sekundy temu", "%(seconds)d sekund temu"]),
           (("%(n)d file", "%(n)d files"), ["%(n)d plik", "%(n)d pliki", "%(n)d plików"]),
           ("%(commas)s and %(last)s", "%(commas)s i %(last)s")],
    "ru": [("Sign out", "Выйти"), ("Monday", "понедельник"),
           (("%(n)d file", "%(n)d files"), ["%(n)d файл", "%(n)d файла", "%(n)d файлов"]),
           (("1 hour ago", "%(hours)d hours ago"), ["%(hours)d час назад", "%(hours)d часа назад",
                                                     "%(hours)d часов назад"])],
    "ar": [(("%(n)d file", "%(n)d files"),
            ["لا ملفات", "ملف واحد", "ملفان", "%(n)d ملفات", "%(n)d ملفًا", "%(n)d ملف"]),
           ("Sign out", "خروج")],
    "ja": [(("%(n)d file", "%(n)d files"), ["%(n)d ファイル"]), ("Sign out", "ログアウト"),
           ("March", "3月")],
    "fr_FR": [("Sign out", "Déconnexion"),
              (("law", "right"), "droit"), (("direction", "right"), "droite"),
              (("stick", ("club", "clubs")), ["bâton", "bâtons"]),
              (("organization", ("club", "clubs")), ["club", "clubs"]),
              ("right", "correct"),
              (("%(n)d file", "%(n)d files"), ["%(n)d fichier", "%(n)d fichiers"]),
              ("%(month_name)s %(day)s, %(year)s at %(time)s", "%(day)s %(month_name)s %(year)s à %(time)s"),
              ("December", "décembre"), ("Saturday", "samedi")],
}


def po_quote(s):
    return '"%s"' % s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def po_text(lang):
    out = [PO_HEAD % PLURALS[lang]]
    for key, tr in PO_BODY[lang]:
        if isinstance(key, tuple) and isinstance(key[1], tuple):  # context and plural
            ctx, (one, many) = key
            out.append("msgctxt %s\nmsgid %s\nmsgid_plural %s\n" % (po_quote(ctx), po_quote(one), po_quote(many)))
            out += ["msgstr[%d] %s\n" % (i, po_quote(t)) for i, t in enumerate(tr)]
        elif isinstance(key, tuple) and isinstance(tr, list):  # plural
            out.append("msgid %s\nmsgid_plural %s\n" % (po_quote(key[0]), po_quote(key[1])))
            out += ["msgstr[%d] %s\n" % (i, po_quote(t)) for i, t in enumerate(tr)]
        elif isinstance(key, tuple):  # context
            out.append("msgctxt %s\nmsgid %s\nmsgstr %s\n" % (po_quote(key[0]), po_quote(key[1]), po_quote(tr)))
        else:
            out.append("msgid %s\nmsgstr %s\n" % (po_quote(key), po_quote(tr)))
        out.append("\n")
    return "".join(out)


def write_csv(folder, langs=None):
    os.makedirs(folder, exist_ok=True)
    for lang, text in CSV.items():
        if langs is None or lang in langs:
            with open(os.path.join(folder, lang + ".csv"), "w", encoding="utf-8", newline="") as f:
                f.write(text)


def write_mo(folder, domain, langs=None, big_endian=("ru", "ja")):
    """Compile each language's .po with msgfmt into folder/LANG/LC_MESSAGES/DOMAIN.mo;
    the languages in big_endian are written big-endian."""
    for lang in PO_BODY:
        if langs is not None and lang not in langs:
            continue
        d = os.path.join(folder, lang, "LC_MESSAGES")
        os.makedirs(d, exist_ok=True)
        po = os.path.join(d, domain + ".po")
        with open(po, "w", encoding="utf-8") as f:
            f.write(po_text(lang))
        cmd = ["msgfmt", "--endianness=" + ("big" if lang in big_endian else "little"),
               "-o", os.path.join(d, domain + ".mo"), po]
        subprocess.run(cmd, check=True)
        os.unlink(po)
