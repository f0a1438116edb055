#!/bin/sh
# embed.sh SYMBOL FILE: print a C file defining SYMBOL[] (NUL-terminated) and
# SYMBOL_len with FILE's bytes. No xxd needed.
set -eu
sym=$1 file=$2
printf '#include <stddef.h>\nconst char %s[] = {\n' "$sym"
od -An -v -tx1 "$file" | sed -e 's/ *$//' -e 's/ \([0-9a-f][0-9a-f]\)/0x\1,/g'
printf '0x00};\nconst size_t %s_len = sizeof(%s) - 1;\n' "$sym" "$sym"
