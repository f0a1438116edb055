// SPDX-License-Identifier: MIT
/* JSON codec for events and anomalies, and the one-line anomaly format. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/evjson.h"

#define MS 1000000ULL
#define WALL 1795459679123456789ULL /* 2026-11-23T18:47:59.123Z */
#define MONO 812345678901ULL

static struct aod_event smb_event(enum aod_event_kind kind)
{
	struct aod_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	ev.mono_ns = MONO;
	ev.wall_ns = WALL;
	ev.pid = 4243;
	ev.tgid = 4242;
	snprintf(ev.comm, sizeof(ev.comm), "dd");
	ev.smb.cmd = 9;
	ev.smb.tid = 0x1;
	ev.smb.sesid = 0x9a01f5d2;
	ev.smb.mid = 4711;
	ev.smb.latency_ns = 130200000;
	if (kind == AOD_EVENT_SMB_ERR) {
		ev.smb.cmd = 5;
		ev.smb.status = 0xC0000022;
		ev.smb.rc = -13;
	}
	return ev;
}

static struct aod_event blk_event(enum aod_event_kind kind)
{
	struct aod_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	ev.mono_ns = MONO;
	ev.wall_ns = WALL;
	ev.pid = 900;
	ev.tgid = 900;
	snprintf(ev.comm, sizeof(ev.comm), "kworker/0:1H");
	ev.blk.dev = 253 << 20;
	snprintf(ev.blk.disk, sizeof(ev.blk.disk), "vda");
	ev.blk.op = 1;
	ev.blk.sector = 123456789;
	ev.blk.bytes = 1 << 20;
	ev.blk.latency_ns = 45100000;
	if (kind == AOD_EVENT_BLK_ERR)
		ev.blk.error = -5;
	return ev;
}

/* Encode, print, parse, decode: the event must come back bit for bit. */
static void round_trip(const struct aod_event *ev)
{
	char err[256] = "";
	json_error_t jerr;
	struct aod_event back;
	json_t *o = aod_event_to_json(ev), *again;
	char *text;

	assert_non_null(o);
	text = json_dumps(o, JSON_COMPACT);
	assert_non_null(text);
	again = json_loads(text, 0, &jerr);
	assert_non_null(again);
	if (aod_event_from_json(again, &back, err, sizeof(err)) != 0)
		fail_msg("decode failed: %s\n%s", err, text);
	assert_memory_equal(&back, ev, sizeof(back));
	json_decref(o);
	json_decref(again);
	free(text);
}

static void test_round_trip_every_kind(void **state)
{
	struct aod_event ev;

	ev = smb_event(AOD_EVENT_SMB_SLOW);
	round_trip(&ev);
	ev = smb_event(AOD_EVENT_SMB_ERR);
	round_trip(&ev);
	ev = blk_event(AOD_EVENT_BLK_SLOW);
	round_trip(&ev);
	ev = blk_event(AOD_EVENT_BLK_ERR);
	round_trip(&ev);
	/* edge values: u64 beyond INT64_MAX, unknown command, unnamed disk */
	ev = smb_event(AOD_EVENT_SMB_ERR);
	ev.smb.sesid = 0xFFFF000000000001ULL;
	ev.smb.mid = UINT64_MAX;
	ev.smb.cmd = 77;
	ev.smb.status = 0xC0009999;
	ev.smb.rc = INT32_MIN;
	round_trip(&ev);
	ev = blk_event(AOD_EVENT_BLK_SLOW);
	memset(ev.blk.disk, 0, sizeof(ev.blk.disk));
	ev.blk.dev = 0xfffU << 20 | 0xfffff;
	ev.blk.op = 4;
	snprintf(ev.comm, sizeof(ev.comm), "a b,c=d 012345");
	round_trip(&ev);
	/* a reconnect: context for people, with its own fields */
	ev = smb_event(AOD_EVENT_SMB_SLOW);
	ev.kind = AOD_EVENT_SMB_RECONNECT;
	memset(&ev.conn, 0, sizeof(ev.conn));
	ev.conn.conn_id = 1;
	ev.conn.currmid = 45;
	snprintf(ev.conn.server, sizeof(ev.conn.server), "127.0.0.1");
	round_trip(&ev);
}

static void test_reconnect_fields(void **state)
{
	char err[256];
	struct aod_event ev;
	json_t *o = json_loads("{\"kind\":\"smb_reconnect\",\"mono_ns\":5,\"wall_ns\":6,"
			       "\"pid\":1,\"tgid\":1,\"comm\":\"cifsd\",\"conn_id\":1,"
			       "\"currmid\":45,\"server\":\"fs1\"}", 0, NULL);

	assert_non_null(o);
	assert_int_equal(aod_event_from_json(o, &ev, err, sizeof(err)), 0);
	assert_int_equal(ev.kind, AOD_EVENT_SMB_RECONNECT);
	assert_int_equal(ev.conn.currmid, 45);
	assert_string_equal(ev.conn.server, "fs1");
	/* SMB command fields do not belong to a reconnect */
	json_object_set_new(o, "cmd", json_string("SMB2_READ"));
	assert_int_equal(aod_event_from_json(o, &ev, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "unknown field 'cmd'"));
	json_object_del(o, "cmd");
	json_object_del(o, "server");
	assert_int_equal(aod_event_from_json(o, &ev, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "server"));
	json_decref(o);
}

static json_t *field(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (!v)
		fail_msg("field %s missing", key);
	return v;
}

static void test_json_fields(void **state)
{
	struct aod_event ev = smb_event(AOD_EVENT_SMB_ERR);
	json_t *o = aod_event_to_json(&ev);

	assert_string_equal(json_string_value(field(o, "ts")), "2026-11-23T18:47:59.123Z");
	assert_int_equal(json_integer_value(field(o, "wall_ns")), WALL);
	assert_int_equal(json_integer_value(field(o, "mono_ns")), MONO);
	assert_string_equal(json_string_value(field(o, "kind")), "smb_err");
	assert_int_equal(json_integer_value(field(o, "pid")), 4243);
	assert_int_equal(json_integer_value(field(o, "tgid")), 4242);
	assert_string_equal(json_string_value(field(o, "comm")), "dd");
	assert_string_equal(json_string_value(field(o, "cmd")), "SMB2_CREATE");
	assert_int_equal(json_integer_value(field(o, "cmd_id")), 5);
	assert_string_equal(json_string_value(field(o, "status")), "0xC0000022");
	assert_string_equal(json_string_value(field(o, "status_name")), "STATUS_ACCESS_DENIED");
	assert_int_equal(json_integer_value(field(o, "rc")), -13);
	assert_null(json_object_get(o, "dev"));
	json_decref(o);

	ev = smb_event(AOD_EVENT_SMB_SLOW);
	o = aod_event_to_json(&ev);
	assert_null(json_object_get(o, "status")); /* errors only */
	assert_int_equal(json_integer_value(field(o, "latency_ns")), 130200000);
	json_decref(o);

	ev = blk_event(AOD_EVENT_BLK_ERR);
	o = aod_event_to_json(&ev);
	assert_string_equal(json_string_value(field(o, "kind")), "blk_err");
	assert_string_equal(json_string_value(field(o, "dev")), "253:0");
	assert_int_equal(json_integer_value(field(o, "dev_t")), 253 << 20);
	assert_string_equal(json_string_value(field(o, "disk")), "vda");
	assert_string_equal(json_string_value(field(o, "op")), "write");
	assert_int_equal(json_integer_value(field(o, "sector")), 123456789);
	assert_int_equal(json_integer_value(field(o, "bytes")), 1 << 20);
	assert_int_equal(json_integer_value(field(o, "error")), -5);
	assert_null(json_object_get(o, "cmd"));
	json_decref(o);
}

/* ---- strict decoding ---- */

static const char good_smb_err[] =
	"{\"ts\":\"2026-11-23T18:47:59.123Z\",\"wall_ns\":1795459679123456789,"
	"\"mono_ns\":812345678901,\"kind\":\"smb_err\",\"pid\":4243,\"tgid\":4242,"
	"\"comm\":\"touch\",\"cmd\":\"SMB2_CREATE\",\"cmd_id\":5,\"sesid\":2583819730,"
	"\"mid\":4711,\"tid\":1,\"latency_ns\":3000000,\"status\":\"0xC0000022\","
	"\"status_name\":\"STATUS_ACCESS_DENIED\",\"rc\":-13}";

/*
 * Take good_smb_err, set key to val (JSON text; NULL deletes it), and
 * decode. Returns the result; err gets the message.
 */
static int decode_edited(const char *key, const char *val, char *err, size_t len,
			 struct aod_event *ev)
{
	json_error_t jerr;
	json_t *o = json_loads(good_smb_err, 0, &jerr);
	int rc;

	assert_non_null(o);
	if (val) {
		json_t *v = json_loads(val, JSON_DECODE_ANY, &jerr);

		assert_non_null(v);
		json_object_set_new(o, key, v);
	} else {
		json_object_del(o, key);
	}
	err[0] = '\0';
	rc = aod_event_from_json(o, ev, err, len);
	json_decref(o);
	return rc;
}

static void expect_error(const char *key, const char *val, const char *want1, const char *want2)
{
	struct aod_event ev;
	char err[256];

	assert_int_equal(decode_edited(key, val, err, sizeof(err), &ev), -EINVAL);
	if (!strstr(err, want1) || (want2 && !strstr(err, want2)))
		fail_msg("%s=%s: message \"%s\" lacks \"%s\"/\"%s\"", key, val ? val : "(deleted)",
			 err, want1, want2 ? want2 : "");
}

static void test_decode_good(void **state)
{
	struct aod_event ev;
	char err[256];

	assert_int_equal(decode_edited("comm", "\"touch\"", err, sizeof(err), &ev), 0);
	assert_int_equal(ev.kind, AOD_EVENT_SMB_ERR);
	assert_int_equal(ev.smb.status, 0xC0000022);
	assert_int_equal(ev.smb.rc, -13);
	assert_int_equal(ev.smb.cmd, 5);
	assert_string_equal(ev.comm, "touch");
	/* status by name, cmd by id only, u64 as a string, wall from ts */
	assert_int_equal(decode_edited("status", "\"STATUS_ACCESS_DENIED\"", err, sizeof(err), &ev), 0);
	assert_int_equal(ev.smb.status, 0xC0000022);
	assert_int_equal(decode_edited("cmd", NULL, err, sizeof(err), &ev), 0);
	assert_int_equal(ev.smb.cmd, 5);
	assert_int_equal(decode_edited("sesid", "\"18446462598732840961\"", err, sizeof(err), &ev), 0);
	assert_int_equal(ev.smb.sesid, 0xFFFF000000000001ULL);
	assert_int_equal(decode_edited("sesid", "\"0x9a01f5d2\"", err, sizeof(err), &ev), 0);
	assert_int_equal(ev.smb.sesid, 0x9a01f5d2);
	assert_int_equal(decode_edited("wall_ns", NULL, err, sizeof(err), &ev), 0);
	assert_int_equal(ev.wall_ns, 1795459679123000000ULL);
	assert_int_equal(decode_edited("status_name", NULL, err, sizeof(err), &ev), 0);
}

static void test_decode_errors(void **state)
{
	char err[256];
	struct aod_event ev;

	expect_error("mono_ns", NULL, "missing field 'mono_ns'", "integer");
	expect_error("pid", NULL, "missing field 'pid'", NULL);
	expect_error("rc", NULL, "missing field 'rc'", NULL);
	expect_error("latency_ns", "\"fast\"", "field 'latency_ns'", "expected an integer");
	expect_error("latency_ns", "-1", "field 'latency_ns'", "got -1");
	expect_error("latency_ns", "1.5", "field 'latency_ns'", "fractional");
	expect_error("pid", "4294967296", "field 'pid'", "0..4294967295");
	expect_error("comm", "42", "field 'comm'", "a string");
	expect_error("comm", "\"much_too_long_for_comm\"", "field 'comm'", "at most 15");
	expect_error("kind", "\"smb_slowish\"", "field 'kind'", "smb_slow, smb_err, blk_slow, blk_err");
	expect_error("kind", "7", "field 'kind'", "an integer");
	expect_error("kind", NULL, "missing field 'kind'", NULL);
	expect_error("status", "\"0xZZ\"", "field 'status'", "NTSTATUS");
	expect_error("status", "\"ACCESS_DENIED_PLEASE\"", "field 'status'", "\"ACCESS_DENIED_PLEASE\"");
	expect_error("status", "\"0x1C0000022\"", "field 'status'", NULL);
	expect_error("status", "3221225506", "field 'status'", "a string");
	expect_error("status", "\"0x+C0000022\"", "field 'status'", NULL);
	expect_error("status", "\"0x\\tC0000022\"", "field 'status'", NULL);
	expect_error("ts", "\"9999-12-31T23:59:59Z\"", "field 'ts'", "ISO"); /* past u64 ns */
	expect_error("cmd", "\"SMB2_FROB\"", "field 'cmd'", "SMB2 command");
	expect_error("cmd", "\"SMB2_WRITE\"", "field 'cmd'", "'cmd_id' is 5");
	expect_error("cmd_id", "70000", "field 'cmd_id'", NULL);
	expect_error("rc", "13", "field 'rc'", "..0");
	expect_error("ts", "\"yesterday\"", "field 'ts'", "ISO");
	expect_error("frobs", "1", "unknown field 'frobs'", "smb_err");
	expect_error("dev", "\"253:0\"", "unknown field 'dev'", NULL);
	/* text from the file is escaped: the message stays one line (found by fuzz_record) */
	expect_error("fr\nobs", "1", "unknown field 'fr\\x0aobs'", NULL);
	expect_error("comm", "\"\\u001b[31mmuch_too_long\"", "got \"\\x1b[31mmuch_too_long\"", NULL);
	/* no wall time at all */
	json_error_t jerr;
	json_t *o = json_loads(good_smb_err, 0, &jerr);

	json_object_del(o, "wall_ns");
	json_object_del(o, "ts");
	assert_int_equal(aod_event_from_json(o, &ev, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "'wall_ns'"));
	json_decref(o);
	/* not an object */
	o = json_array();
	assert_int_equal(aod_event_from_json(o, &ev, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "an array"));
	json_decref(o);
}

static void test_decode_block_errors(void **state)
{
	struct aod_event ev = blk_event(AOD_EVENT_BLK_ERR), back;
	json_t *o = aod_event_to_json(&ev);
	char err[256];

	json_object_set_new(o, "dev", json_string("253"));
	assert_int_equal(aod_event_from_json(o, &back, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "field 'dev'"));
	json_object_set_new(o, "dev", json_string("8:0"));
	assert_int_equal(aod_event_from_json(o, &back, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "does not match 'dev_t'"));
	json_object_del(o, "dev_t");
	assert_int_equal(aod_event_from_json(o, &back, err, sizeof(err)), 0);
	assert_int_equal(back.blk.dev, 8 << 20);
	json_object_set_new(o, "op", json_string("scribble"));
	assert_int_equal(aod_event_from_json(o, &back, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "field 'op'"));
	assert_non_null(strstr(err, "read, write, flush, discard, other"));
	json_object_set_new(o, "op", json_string("read"));
	/* numbers that used to wrap or pass strtoul's leniency */
	json_object_del(o, "dev_t");
	for (int i = 0; i < 4; i++) {
		static const char *const bad[] = { "4294967549:0", "253:4294967296", "+253:0", "253: 0" };

		json_object_set_new(o, "dev", json_string(bad[i]));
		assert_int_equal(aod_event_from_json(o, &back, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "field 'dev'"));
	}
	json_object_set_new(o, "dev", json_string("4095:1048575"));
	assert_int_equal(aod_event_from_json(o, &back, err, sizeof(err)), 0);
	assert_int_equal(back.blk.dev, 0xfffffffful);
	json_object_del(o, "error");
	assert_int_equal(aod_event_from_json(o, &back, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "missing field 'error'"));
	json_decref(o);
}

/* ---- anomalies ---- */

static struct aod_anomaly latency_anomaly(void)
{
	struct aod_anomaly a;

	memset(&a, 0, sizeof(a));
	a.id = WALL;
	snprintf(a.rule, sizeof(a.rule), "latency");
	a.source = AOD_SOURCE_SMB;
	a.type = AOD_RULE_LATENCY;
	a.window_end_ns = WALL;
	a.window_start_ns = WALL - 1000 * MS;
	a.acceptable_count = 10;
	a.emergency_threshold_ns = 1000 * MS;
	a.total = 12;
	a.nkeys = 2;
	snprintf(a.keys[0].key, sizeof(a.keys[0].key), "SMB2_WRITE");
	a.keys[0].count = 9;
	a.keys[0].threshold_ns = 20 * MS;
	a.keys[0].max_latency_ns = 130200000;
	snprintf(a.keys[1].key, sizeof(a.keys[1].key), "SMB2_READ");
	a.keys[1].count = 3;
	a.keys[1].threshold_ns = 20 * MS;
	a.keys[1].max_latency_ns = 110 * MS;
	a.nworst = 4;
	for (int i = 0; i < 4; i++) {
		a.worst[i] = smb_event(AOD_EVENT_SMB_SLOW);
		a.worst[i].smb.latency_ns = 130200000 - (uint64_t)i * 2 * MS;
	}
	a.worst[1].smb.cmd = 8;
	snprintf(a.worst[1].comm, sizeof(a.worst[1].comm), "my cp");
	a.worst[1].tgid = 4250;
	return a;
}

static void test_anomaly_line(void **state)
{
	struct aod_anomaly a = latency_anomaly();
	char buf[1024];
	int n;

	n = aod_anomaly_format_line(&a, buf, sizeof(buf));
	assert_string_equal(buf,
			    "anomaly id=1795459679123456789 rule=latency source=smb type=latency "
			    "count=12/10 window=1s end=2026-11-23T18:47:59.123Z "
			    "keys=SMB2_WRITE:9(>=20ms,max=130.2ms),SMB2_READ:3(>=20ms,max=110ms) "
			    "worst=4242/dd:SMB2_WRITE:130.2ms,4250/my_cp:SMB2_READ:128.2ms,"
			    "4242/dd:SMB2_WRITE:126.2ms");
	assert_int_equal(n, (int)strlen(buf));

	/* truncation: snprintf-like length, always terminated */
	char small[40];

	assert_int_equal(aod_anomaly_format_line(&a, small, sizeof(small)), n);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_memory_equal(small, buf, sizeof(small) - 1);

	/* emergency, dropped, error keys */
	a.emergency = true;
	a.dropped = 7;
	assert_true(aod_anomaly_format_line(&a, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, " type=latency emergency=yes count=12/10 "));
	assert_non_null(strstr(buf, "Z dropped=7 keys="));

	memset(&a, 0, sizeof(a));
	a.id = 5;
	snprintf(a.rule, sizeof(a.rule), "error");
	a.type = AOD_RULE_ERROR;
	a.window_start_ns = WALL - 2000 * MS;
	a.window_end_ns = WALL;
	a.acceptable_count = 5;
	a.total = 6;
	a.nkeys = 1;
	snprintf(a.keys[0].key, sizeof(a.keys[0].key), "STATUS_ACCESS_DENIED");
	a.keys[0].count = 6;
	a.nworst = 1;
	a.worst[0] = smb_event(AOD_EVENT_SMB_ERR);
	aod_anomaly_format_line(&a, buf, sizeof(buf));
	assert_string_equal(buf, "anomaly id=5 rule=error source=smb type=error count=6/5 window=2s "
				 "end=2026-11-23T18:47:59.123Z keys=STATUS_ACCESS_DENIED:6 "
				 "worst=4242/dd:SMB2_CREATE:STATUS_ACCESS_DENIED");

	a.source = AOD_SOURCE_BLOCK;
	a.worst[0] = blk_event(AOD_EVENT_BLK_ERR);
	snprintf(a.keys[0].key, sizeof(a.keys[0].key), "EIO");
	aod_anomaly_format_line(&a, buf, sizeof(buf));
	assert_non_null(strstr(buf, " source=block type=error "));
	assert_non_null(strstr(buf, "keys=EIO:6 worst=900/kworker/0:1H:vda:write:EIO"));
}

static void test_anomaly_json(void **state)
{
	struct aod_anomaly a = latency_anomaly();
	json_t *o = aod_anomaly_to_json(&a), *keys, *worst;
	struct aod_event ev;
	char err[256];

	assert_non_null(o);
	assert_int_equal(json_integer_value(field(o, "id")), WALL);
	assert_string_equal(json_string_value(field(o, "ts")), "2026-11-23T18:47:59.123Z");
	assert_string_equal(json_string_value(field(o, "rule")), "latency");
	assert_string_equal(json_string_value(field(o, "source")), "smb");
	assert_string_equal(json_string_value(field(o, "type")), "latency");
	assert_true(json_is_false(field(o, "emergency")));
	assert_int_equal(json_integer_value(field(o, "window_start_ns")), WALL - 1000 * MS);
	assert_string_equal(json_string_value(field(o, "window_start")), "2026-11-23T18:47:58.123Z");
	assert_int_equal(json_integer_value(field(o, "window_end_ns")), WALL);
	assert_string_equal(json_string_value(field(o, "window_end")), "2026-11-23T18:47:59.123Z");
	assert_true(json_real_value(field(o, "window_sec")) == 1.0);
	assert_int_equal(json_integer_value(field(o, "acceptable_count")), 10);
	assert_int_equal(json_integer_value(field(o, "emergency_threshold_ns")), 1000 * MS);
	assert_int_equal(json_integer_value(field(o, "total")), 12);
	assert_int_equal(json_integer_value(field(o, "dropped")), 0);
	keys = field(o, "keys");
	assert_int_equal(json_array_size(keys), 2);
	assert_string_equal(json_string_value(field(json_array_get(keys, 0), "key")), "SMB2_WRITE");
	assert_int_equal(json_integer_value(field(json_array_get(keys, 0), "count")), 9);
	assert_int_equal(json_integer_value(field(json_array_get(keys, 0), "threshold_ns")), 20 * MS);
	assert_int_equal(json_integer_value(field(json_array_get(keys, 0), "max_latency_ns")),
			 130200000);
	worst = field(o, "worst");
	assert_int_equal(json_array_size(worst), 4);
	assert_int_equal(aod_event_from_json(json_array_get(worst, 1), &ev, err, sizeof(err)), 0);
	assert_memory_equal(&ev, &a.worst[1], sizeof(ev));
	json_decref(o);

	a.type = AOD_RULE_ERROR;
	o = aod_anomaly_to_json(&a);
	assert_null(json_object_get(o, "emergency_threshold_ns"));
	assert_null(json_object_get(json_array_get(json_object_get(o, "keys"), 0), "threshold_ns"));
	json_decref(o);
}

static void test_record_header(void **state)
{
	json_t *h = aod_record_header_to_json(1795459678000000000ULL, 812000000000ULL);
	uint64_t start;
	char err[256];

	assert_true(aod_record_is_header(h));
	assert_int_equal(json_integer_value(field(h, "aod_record")), AOD_RECORD_FORMAT);
	assert_string_equal(json_string_value(field(h, "started")), "2026-11-23T18:47:58.000Z");
	assert_int_equal(aod_record_header_from_json(h, &start, err, sizeof(err)), 0);
	assert_int_equal(start, 812000000000ULL);
	json_object_set_new(h, "host", json_string("smbvm")); /* informational */
	assert_int_equal(aod_record_header_from_json(h, &start, err, sizeof(err)), 0);
	json_object_set_new(h, "aod_record", json_integer(2));
	assert_int_equal(aod_record_header_from_json(h, &start, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "format 1, the file has 2"));
	json_object_set_new(h, "aod_record", json_integer(1));
	json_object_set_new(h, "started_mono_ns", json_string("soon"));
	assert_int_equal(aod_record_header_from_json(h, &start, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "field 'started_mono_ns'"));
	json_decref(h);

	struct aod_event ev = smb_event(AOD_EVENT_SMB_SLOW);

	h = aod_event_to_json(&ev);
	assert_false(aod_record_is_header(h));
	json_decref(h);
}

/* One line as aod replay reads it: header, event, or one-line error. */
static void test_record_line(void **state)
{
	static const char header[] = "{\"aod_record\":1,\"started_mono_ns\":42}\n";
	static const char nul[] = "{\"aod_record\":1}\0garbage\n";
	struct aod_event ev;
	uint64_t start = 0;
	char err[256];

	assert_int_equal(aod_record_line_decode(header, strlen(header), &ev, &start, err,
						sizeof(err)), AOD_RECORD_LINE_HEADER);
	assert_int_equal(start, 42);
	assert_int_equal(aod_record_line_decode(good_smb_err, strlen(good_smb_err), &ev, &start,
						err, sizeof(err)), AOD_RECORD_LINE_EVENT);
	assert_int_equal(ev.smb.status, 0xC0000022);
	assert_int_equal(aod_record_line_decode(nul, sizeof(nul) - 1, &ev, &start, err,
						sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "invalid JSON"));
	assert_int_equal(aod_record_line_decode("{\"a\":1,\"a\":2}", 13, &ev, &start, err,
						sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "duplicate"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_every_kind),
		cmocka_unit_test(test_json_fields),
		cmocka_unit_test(test_reconnect_fields),
		cmocka_unit_test(test_decode_good),
		cmocka_unit_test(test_decode_errors),
		cmocka_unit_test(test_decode_block_errors),
		cmocka_unit_test(test_anomaly_line),
		cmocka_unit_test(test_anomaly_json),
		cmocka_unit_test(test_record_header),
		cmocka_unit_test(test_record_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
