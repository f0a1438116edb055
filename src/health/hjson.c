// SPDX-License-Identifier: MIT
/* JSON helpers for the health report: sanitised strings, typed getters. */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/text.h"
#include "health/hjson.h"

json_t *hj_strn(const char *s, size_t len)
{
	json_t *v;
	char *buf;
	size_t need;

	if (!s)
		return json_null();
	len = strnlen(s, len);
	if (!aod_text_needs_escape(s, len, false))
		return json_stringn(s, len);
	need = aod_text_escape(s, len, NULL, 0, false) + 1;
	buf = malloc(need);
	if (!buf)
		return NULL;
	aod_text_escape(s, len, buf, need, false);
	v = json_string(buf);
	free(buf);
	return v;
}

json_t *hj_str(const char *s)
{
	return s ? hj_strn(s, strlen(s)) : json_null();
}

json_t *hj_u64(uint64_t v)
{
	return json_integer(v > (uint64_t)INT64_MAX ? INT64_MAX : (json_int_t)v);
}

json_t *hj_real(double v)
{
	char buf[32];

	if (!isfinite(v))
		return json_null();
	snprintf(buf, sizeof(buf), "%.6g", v);
	return json_real(strtod(buf, NULL));
}

void hj_set(json_t *obj, const char *key, json_t *v)
{
	json_object_set_new(obj, key, v ? v : json_null());
}

void hj_push(json_t *arr, json_t *v)
{
	json_array_append_new(arr, v ? v : json_null());
}

const char *hj_gets(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

double hj_getn(const json_t *obj, const char *key, double dflt)
{
	json_t *v = json_object_get(obj, key);

	return json_is_number(v) ? json_number_value(v) : dflt;
}

json_t *hj_path(const json_t *root, const char *dotted)
{
	char key[64];
	json_t *cur = (json_t *)root;

	while (cur && *dotted) {
		size_t n = strcspn(dotted, ".");

		if (n >= sizeof(key))
			return NULL;
		memcpy(key, dotted, n);
		key[n] = '\0';
		cur = json_object_get(cur, key);
		dotted += n + (dotted[n] == '.');
	}
	return cur;
}

size_t hj_len(const json_t *arr)
{
	return json_is_array(arr) ? json_array_size(arr) : 0;
}

const char *hj_join(const json_t *arr, const char *sep, char *buf, size_t len)
{
	size_t off = 0, i;
	json_t *v;

	if (len)
		buf[0] = '\0';
	json_array_foreach(arr, i, v) {
		const char *s = json_string_value(v);
		int n;

		if (off >= len)
			break;
		n = snprintf(buf + off, len - off, "%s%s", i ? sep : "", s ? s : "?");
		off += n > 0 ? (size_t)n : 0;
	}
	return buf;
}
