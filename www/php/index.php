<?php
// The PHP demo (conf/gale.conf, route /php/): run by php-cgi through gale's
// cgi module, or by php-fpm with handler "fastcgi".
$name = isset($_GET['name']) && $_GET['name'] !== '' ? $_GET['name'] : 'world';
header('Content-Type: text/html; charset=utf-8');
?><!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>PHP through gale</title>
<link rel="stylesheet" href="/static/style.css">
</head>
<body>
<main>
<h1>Hello, <?= htmlspecialchars($name) ?>!</h1>
<p>This page is PHP <?= htmlspecialchars(PHP_VERSION) ?>, run by
<?= htmlspecialchars(PHP_SAPI) ?> through gale's cgi module
(<?= htmlspecialchars($_SERVER['GATEWAY_INTERFACE'] ?? 'CGI') ?>).</p>
<form method="get" action="/php/">
<p><label>Your name <input name="name" value="<?= htmlspecialchars($name === 'world' ? '' : $name) ?>"></label>
<button type="submit">Greet</button></p>
</form>
<p><a href="/">Back to the demos</a></p>
</main>
</body>
</html>
