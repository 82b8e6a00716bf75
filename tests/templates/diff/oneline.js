var  x = {{ json_encode(names) }};
    var y   =   1;

function f() {  return  x; }
