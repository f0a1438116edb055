// SPDX-License-Identifier: MIT
/*
 * Query results as text: an aligned table for a person (control characters
 * escaped, cells cut to fit the terminal), CSV (RFC 4180) and JSON or JSON
 * lines for programs. The machine formats carry text exactly, except bytes
 * that are not UTF-8, which become U+FFFD (JSON must be Unicode, and CSV
 * readers decode it as UTF-8); blobs are written as hex.
 */
#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/text.h"
#include "store/query.h"

#define MIN_COL 8
#define TABLE_BLOB_BYTES 32

struct cell {
	char *text;    /* escaped, as shown */
	bool numeric;  /* right-aligned */
};

struct aod_qsink {
	enum aod_query_format format;
	FILE *out;
	unsigned width;
	int ncols;
	char **names;          /* column names (JSON: made unique) */
	struct cell *cells;    /* table: rows * ncols */
	size_t nrows, cap;
	uint64_t written;
};

struct aod_qsink *aod_qsink_new(enum aod_query_format format, FILE *out, unsigned width)
{
	struct aod_qsink *k = calloc(1, sizeof(*k));

	if (k) {
		k->format = format;
		k->out = out;
		k->width = width;
	}
	return k;
}

void aod_qsink_free(struct aod_qsink *k)
{
	if (!k)
		return;
	for (int i = 0; i < k->ncols; i++)
		free(k->names[i]);
	free(k->names);
	for (size_t i = 0; i < k->nrows * (size_t)k->ncols; i++)
		free(k->cells[i].text);
	free(k->cells);
	free(k);
}

/* Length of the valid UTF-8 sequence at s (1..4), 0 if none. */
static size_t utf8_seq(const unsigned char *s, size_t left)
{
	size_t n = s[0] < 0x80 ? 1 : s[0] >= 0xC2 && s[0] <= 0xDF ? 2
			  : s[0] >= 0xE0 && s[0] <= 0xEF ? 3 : s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 : 0;

	if (!n || n > left)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	if ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] > 0x9F) ||
	    (s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] > 0x8F))
		return 0; /* overlong, surrogate, past U+10FFFF */
	return n;
}

static void put_hex(FILE *out, const unsigned char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%02x", b[i]);
}

/* The shortest decimal that reads back as v, and always as a real: "2.0". */
static void put_real(FILE *out, double v, bool json)
{
	char buf[40];

	if (!isfinite(v)) {
		fputs(json ? "null" : isnan(v) ? "nan" : v > 0 ? "inf" : "-inf", out);
		return;
	}
	snprintf(buf, sizeof(buf), "%.15g", v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, sizeof(buf), "%.17g", v);
	fprintf(out, "%s%s", buf, strpbrk(buf, ".e") ? "" : ".0");
}

/* ---- CSV ---- */

static bool csv_needs_quotes(const unsigned char *s, size_t n)
{
	if (!n)
		return true; /* "" is an empty string, nothing is NULL */
	for (size_t i = 0; i < n; i++)
		if (s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n')
			return true;
	return false;
}

static void csv_text(FILE *out, const unsigned char *s, size_t n)
{
	bool quote = csv_needs_quotes(s, n);

	if (quote)
		fputc('"', out);
	for (size_t i = 0; i < n;) {
		size_t l = utf8_seq(s + i, n - i);

		if (!l) {
			fputs("\xEF\xBF\xBD", out);
			i++;
			continue;
		}
		if (s[i] == '"')
			fputc('"', out);
		fwrite(s + i, 1, l, out);
		i += l;
	}
	if (quote)
		fputc('"', out);
}

/* ---- JSON ---- */

static void json_text(FILE *out, const unsigned char *s, size_t n)
{
	fputc('"', out);
	for (size_t i = 0; i < n;) {
		size_t l = utf8_seq(s + i, n - i);

		if (!l) {
			fputs("\\ufffd", out);
			i++;
		} else if (s[i] == '"' || s[i] == '\\') {
			fprintf(out, "\\%c", s[i++]);
		} else if (s[i] == '\n') {
			fputs("\\n", out), i++;
		} else if (s[i] == '\t') {
			fputs("\\t", out), i++;
		} else if (s[i] < 0x20 || s[i] == 0x7f) {
			fprintf(out, "\\u%04x", s[i++]);
		} else {
			fwrite(s + i, 1, l, out);
			i += l;
		}
	}
	fputc('"', out);
}

static void machine_value(struct aod_qsink *k, sqlite3_stmt *s, int c)
{
	bool json = k->format != AOD_QUERY_CSV;
	const unsigned char *p;

	switch (sqlite3_column_type(s, c)) {
	case SQLITE_NULL:
		if (json)
			fputs("null", k->out);
		break;
	case SQLITE_INTEGER:
		fprintf(k->out, "%lld", (long long)sqlite3_column_int64(s, c));
		break;
	case SQLITE_FLOAT:
		put_real(k->out, sqlite3_column_double(s, c), json);
		break;
	case SQLITE_BLOB:
		p = sqlite3_column_blob(s, c);
		if (json)
			fputc('"', k->out);
		put_hex(k->out, p, (size_t)sqlite3_column_bytes(s, c));
		if (json)
			fputc('"', k->out);
		break;
	default:
		p = sqlite3_column_text(s, c);
		if (json)
			json_text(k->out, p, (size_t)sqlite3_column_bytes(s, c));
		else
			csv_text(k->out, p, (size_t)sqlite3_column_bytes(s, c));
	}
}

/* Column names; for JSON objects made unique ("n", "n_2", ...). */
static int take_names(struct aod_qsink *k, sqlite3_stmt *s)
{
	k->ncols = sqlite3_column_count(s);
	k->names = calloc((size_t)k->ncols + 1, sizeof(*k->names));
	if (!k->names)
		return -ENOMEM;
	for (int c = 0; c < k->ncols; c++) {
		const char *n = sqlite3_column_name(s, c);
		int dup = 1;

		for (int j = 0; j < c && k->format >= AOD_QUERY_JSON; j++)
			dup += !strcmp(sqlite3_column_name(s, j), n ? n : "");
		if (dup > 1 ? asprintf(&k->names[c], "%s_%d", n, dup) < 0
			    : !(k->names[c] = strdup(n ? n : "")))
			return -ENOMEM;
	}
	return 0;
}

static void machine_row(struct aod_qsink *k, sqlite3_stmt *s)
{
	bool json = k->format != AOD_QUERY_CSV;

	if (k->format == AOD_QUERY_JSON)
		fputs(k->written ? ",\n" : "[\n", k->out);
	if (json)
		fputc('{', k->out);
	for (int c = 0; c < k->ncols; c++) {
		if (c)
			fputc(',', k->out);
		if (json) {
			json_text(k->out, (const unsigned char *)k->names[c], strlen(k->names[c]));
			fputc(':', k->out);
		}
		machine_value(k, s, c);
	}
	fputs(json ? (k->format == AOD_QUERY_JSONL ? "}\n" : "}") : "\r\n", k->out);
}

/* ---- table ---- */

/* Columns a cell takes: its code points (escaped text is valid UTF-8). */
static size_t cols_of(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

static char *escaped(const char *s, size_t n)
{
	size_t need = aod_text_escape(s, n, NULL, 0, false) + 1;
	char *out = malloc(need);

	if (out)
		aod_text_escape(s, n, out, need, false);
	return out;
}

static char *real_text(double v)
{
	char buf[64];
	size_t n;

	if (!isfinite(v) || fabs(v) >= 1e15 || (v != 0 && fabs(v) < 1e-3)) {
		snprintf(buf, sizeof(buf), "%.6g", v);
	} else {
		snprintf(buf, sizeof(buf), "%.3f", v);
		n = strlen(buf);
		while (buf[n - 1] == '0')
			buf[--n] = '\0';
		if (buf[n - 1] == '.')
			buf[n - 1] = '\0';
	}
	return strdup(buf);
}

static char *blob_text(const unsigned char *b, size_t n)
{
	size_t shown = n > TABLE_BLOB_BYTES ? TABLE_BLOB_BYTES : n;
	char *t = malloc(shown * 2 + 8), *p = t;

	if (!t)
		return NULL;
	p += sprintf(p, "x'");
	for (size_t i = 0; i < shown; i++)
		p += sprintf(p, "%02x", b[i]);
	sprintf(p, "%s'", n > shown ? ".." : "");
	return t;
}

static int table_cell(sqlite3_stmt *s, int c, struct cell *cell)
{
	char buf[32];

	cell->numeric = false;
	switch (sqlite3_column_type(s, c)) {
	case SQLITE_NULL:
		cell->text = strdup("");
		break;
	case SQLITE_INTEGER:
		snprintf(buf, sizeof(buf), "%lld", (long long)sqlite3_column_int64(s, c));
		cell->text = strdup(buf);
		cell->numeric = true;
		break;
	case SQLITE_FLOAT:
		cell->text = real_text(sqlite3_column_double(s, c));
		cell->numeric = true;
		break;
	case SQLITE_BLOB:
		cell->text = blob_text(sqlite3_column_blob(s, c), (size_t)sqlite3_column_bytes(s, c));
		break;
	default:
		cell->text = escaped((const char *)sqlite3_column_text(s, c),
				     (size_t)sqlite3_column_bytes(s, c));
	}
	return cell->text ? 0 : -ENOMEM;
}

static int table_row(struct aod_qsink *k, sqlite3_stmt *s)
{
	size_t base;

	if (k->nrows == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 64;
		struct cell *grown = realloc(k->cells, cap * (size_t)k->ncols * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		k->cells = grown;
		k->cap = cap;
	}
	base = k->nrows * (size_t)k->ncols;
	for (int c = 0; c < k->ncols; c++) {
		int err = table_cell(s, c, &k->cells[base + (size_t)c]);

		if (err) {
			for (int j = 0; j < c; j++)
				free(k->cells[base + (size_t)j].text);
			return err;
		}
	}
	k->nrows++;
	return 0;
}

/* Widths: the widest cell of each column, then the widest columns shrunk
 * until the line fits the terminal. */
static void table_widths(struct aod_qsink *k, size_t *w)
{
	size_t total = 0;

	for (int c = 0; c < k->ncols; c++) {
		w[c] = cols_of(k->names[c]);
		for (size_t r = 0; r < k->nrows; r++) {
			size_t n = cols_of(k->cells[r * (size_t)k->ncols + (size_t)c].text);

			w[c] = n > w[c] ? n : w[c];
		}
		total += w[c] + (c ? 2 : 0);
	}
	while (k->width && total > k->width) {
		int widest = 0;

		for (int c = 1; c < k->ncols; c++)
			widest = w[c] > w[widest] ? c : widest;
		if (w[widest] <= MIN_COL)
			break;
		w[widest]--;
		total--;
	}
}

/* One cell padded or cut to w columns ("…" marks a cut). */
static void put_cell(FILE *out, const char *t, size_t w, bool right, bool last)
{
	size_t n = cols_of(t), shown = 0;
	const char *start = t;

	if (n > w) {
		for (; *t && shown < w - 1; t++)
			shown += ((unsigned char)*t & 0xC0) != 0x80;
		while (((unsigned char)*t & 0xC0) == 0x80)
			t++;
		fwrite(start, 1, (size_t)(t - start), out);
		fputs("\xE2\x80\xA6", out);
		return;
	}
	if (right)
		fprintf(out, "%*s%s", (int)(w - n), "", t);
	else
		fprintf(out, "%s%*s", t, last ? 0 : (int)(w - n), "");
}

static void table_print(struct aod_qsink *k)
{
	size_t *w = calloc((size_t)k->ncols + 1, sizeof(*w));

	if (!w)
		return;
	table_widths(k, w);
	for (int c = 0; c < k->ncols; c++) {
		char *name = escaped(k->names[c], strlen(k->names[c]));

		fputs(c ? "  " : "", k->out);
		put_cell(k->out, name ? name : "?", w[c], false, c == k->ncols - 1);
		free(name);
	}
	fputc('\n', k->out);
	for (size_t r = 0; r < k->nrows; r++) {
		for (int c = 0; c < k->ncols; c++) {
			const struct cell *cell = &k->cells[r * (size_t)k->ncols + (size_t)c];

			fputs(c ? "  " : "", k->out);
			put_cell(k->out, cell->text, w[c], cell->numeric, c == k->ncols - 1);
		}
		fputc('\n', k->out);
	}
	free(w);
}

/* ---- the sink ---- */

int aod_qsink_begin(struct aod_qsink *k, sqlite3_stmt *s)
{
	int err = take_names(k, s);

	if (err || k->format != AOD_QUERY_CSV)
		return err;
	for (int c = 0; c < k->ncols; c++) {
		if (c)
			fputc(',', k->out);
		csv_text(k->out, (const unsigned char *)k->names[c], strlen(k->names[c]));
	}
	fputs("\r\n", k->out);
	return ferror(k->out) ? -EIO : 0;
}

int aod_qsink_row(struct aod_qsink *k, sqlite3_stmt *s)
{
	int err = 0;

	if (k->format == AOD_QUERY_TABLE)
		err = table_row(k, s);
	else
		machine_row(k, s);
	k->written++;
	return err ? err : ferror(k->out) ? -EIO : 0;
}

int aod_qsink_end(struct aod_qsink *k)
{
	if (k->format == AOD_QUERY_TABLE)
		table_print(k);
	else if (k->format == AOD_QUERY_JSON)
		fputs(k->written ? "\n]\n" : "[]\n", k->out);
	return fflush(k->out) || ferror(k->out) ? -EIO : 0;
}
