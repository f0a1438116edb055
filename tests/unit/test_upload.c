// SPDX-License-Identifier: MIT
/*
 * Upload: the config section (defaults, every key, what is refused and
 * where), the backoff and the retry verdicts, object keys, the credentials
 * file (format, 0600 rule, no value in a message), the digests against
 * known vectors, and the store's uploads table (put, update, pending, the
 * read-only reader, retention keeping queued rows).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"
#include "upload/upload_int.h"
#include "store_fx.h"

static const char head[] = "watch_interval_sec: 1\naod_output_dir: /tmp/aod-test\n";

static int load(struct aod_config *cfg, const char *body, struct aod_config_error *err)
{
	char yaml[4096];

	snprintf(yaml, sizeof(yaml), "%s%s", head, body);
	return aod_config_load_buffer(cfg, "t.yaml", yaml, strlen(yaml), err);
}

static void expect_error(const char *body, const char *where)
{
	struct aod_config *cfg = calloc(1, sizeof(*cfg));
	struct aod_config_error err;

	assert_int_equal(load(cfg, body, &err), -EINVAL);
	if (!strstr(err.msg, where))
		fail_msg("expected '%s' in: %s", where, err.msg);
	free(cfg);
}

static void test_config_defaults_and_keys(void **state)
{
	struct aod_config *cfg = calloc(1, sizeof(*cfg));
	struct aod_config_error err;

	assert_int_equal(load(cfg, "", &err), 0);
	assert_false(cfg->upload.enabled);
	assert_int_equal(load(cfg, "upload:\n  endpoint: https://s3.example.com:8443/base/\n"
				   "  bucket: my.bucket-1\n", &err), 0);
	assert_true(cfg->upload.enabled);
	assert_string_equal(cfg->upload.endpoint, "https://s3.example.com:8443/base");
	assert_string_equal(cfg->upload.bucket, "my.bucket-1");
	assert_string_equal(cfg->upload.region, "us-east-1");
	assert_string_equal(cfg->upload.prefix, "{host}/");
	assert_string_equal(cfg->upload.credentials_file, "");
	assert_int_equal(cfg->upload.retries, 5);
	assert_int_equal(cfg->upload.backoff_initial_ms, 1000);
	assert_int_equal(cfg->upload.backoff_max_ms, 60000);
	assert_int_equal(cfg->upload.queue_size, 256);
	assert_false(cfg->upload.delete_after_upload);
	assert_int_equal(cfg->upload.connect_timeout_sec, 10);
	assert_int_equal(cfg->upload.timeout_sec, 300);
	assert_int_equal(load(cfg, "upload:\n  endpoint: http://127.0.0.1:9000\n  bucket: abc\n"
				   "  region: eu-west-3\n  prefix: fleet/{host}/x_y.z-\n  retries: 0\n"
				   "  backoff_initial_ms: 10\n  backoff_max_ms: 10\n  queue_size: 1\n"
				   "  delete_after_upload: true\n  connect_timeout_sec: 1\n"
				   "  timeout_sec: 86400\n", &err), 0);
	assert_string_equal(cfg->upload.region, "eu-west-3");
	assert_string_equal(cfg->upload.prefix, "fleet/{host}/x_y.z-");
	assert_int_equal(cfg->upload.retries, 0);
	assert_int_equal(cfg->upload.queue_size, 1);
	assert_true(cfg->upload.delete_after_upload);
	assert_int_equal(cfg->upload.timeout_sec, 86400);
	free(cfg);
}

static void test_config_refused(void **state)
{
	expect_error("upload:\n  bucket: abc\n", "t.yaml:4:3: upload.endpoint: required key missing");
	expect_error("upload:\n  endpoint: http://h\n", "t.yaml:4:3: upload.bucket: required");
	expect_error("upload:\n  endpoint: s3://h\n  bucket: abc\n", "t.yaml:4:13: upload.endpoint:");
	expect_error("upload:\n  endpoint: http://\n  bucket: abc\n", "upload.endpoint: expected a URL with a host");
	expect_error("upload:\n  endpoint: http://h x\n  bucket: abc\n", "no spaces");
	expect_error("upload:\n  endpoint: http://a:b@h\n  bucket: abc\n", "without user:password@");
	expect_error("upload:\n  endpoint: http://h/?x=1\n  bucket: abc\n", "without a query");
	expect_error("upload:\n  endpoint: http://h\n  bucket: ab\n", "t.yaml:5:11: upload.bucket:");
	expect_error("upload:\n  endpoint: http://h\n  bucket: a..b\n", "upload.bucket:");
	expect_error("upload:\n  endpoint: http://h\n  bucket: -ab\n", "upload.bucket:");
	expect_error("upload:\n  endpoint: http://h\n  bucket: abc\n  region: ''\n", "upload.region:");
	expect_error("upload:\n  endpoint: http://h\n  bucket: abc\n  prefix: /abs/\n", "upload.prefix:");
	expect_error("upload:\n  endpoint: http://h\n  bucket: abc\n  prefix: a//b\n", "upload.prefix:");
	expect_error("upload:\n  endpoint: http://h\n  bucket: abc\n  prefix: a/./b\n", "upload.prefix:");
	expect_error("upload:\n  endpoint: http://h\n  bucket: abc\n  prefix: 'a b'\n", "upload.prefix:");
	expect_error("upload:\n  endpoint: http://h\n  bucket: abc\n  prefix: '{host'\n", "only placeholder");
	expect_error("upload:\n  endpoint: http://h\n  bucket: abc\n  retries: -1\n", "t.yaml:6:12: upload.retries:");
	expect_error("upload:\n  endpoint: http://h\n  bucket: abc\n  retries: 101\n", "upload.retries:");
	expect_error("upload:\n  endpoint: http://h\n  bucket: abc\n  backoff_initial_ms: 5\n", "upload.backoff_initial_ms:");
	expect_error("upload:\n  endpoint: http://h\n  bucket: abc\n  backoff_max_ms: 999\n",
		     "upload.backoff_max_ms: expected at least upload.backoff_initial_ms (1000)");
	expect_error("upload:\n  endpoint: http://h\n  bucket: abc\n  queue_size: 65537\n", "upload.queue_size:");
	expect_error("upload:\n  endpoint: http://h\n  bucket: abc\n  delete_after_upload: 1\n", "upload.delete_after_upload:");
	expect_error("upload:\n  endpoint: http://h\n  bucket: abc\n  connect_timeout_sec: 0\n", "upload.connect_timeout_sec:");
	expect_error("upload:\n  endpoint: http://h\n  bucket: abc\n  timeout_sec: 86401\n", "upload.timeout_sec:");
	expect_error("upload:\n  endpoint: http://h\n  bucket: abc\n  secret: x\n", "upload.secret: unknown key");
	expect_error("upload: [a]\n", "t.yaml:3:9: upload: expected a mapping");
	expect_error("store: {enabled: false}\nupload:\n  endpoint: http://h\n  bucket: abc\n",
		     "t.yaml:4:1: upload: needs store.enabled: true");
	expect_error("upload:\n  endpoint: http://h\n  bucket: abc\n  credentials_file: /nonexistent/c\n",
		     "upload.credentials_file: expected a readable file");
}

static void test_config_credentials_mode(void **state)
{
	char dir[] = "/tmp/aod-test-upcfg-XXXXXX", file[64], body[256];
	struct aod_config *cfg = calloc(1, sizeof(*cfg));
	struct aod_config_error err;
	int fd;

	assert_non_null(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/creds", dir);
	fd = open(file, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	snprintf(body, sizeof(body), "upload:\n  endpoint: http://h\n  bucket: abc\n"
		 "  credentials_file: %s\n", file);
	assert_int_equal(load(cfg, body, &err), 0);
	assert_string_equal(cfg->upload.credentials_file, file);
	chmod(file, 0640);
	expect_error(body, "t.yaml:6:21: upload.credentials_file: expected a file only its owner "
		     "can read (mode 0600 or 0400), '/tmp/aod-test-upcfg-");
	chmod(file, 0400);
	assert_int_equal(load(cfg, body, &err), 0);
	unlink(file);
	rmdir(dir);
	free(cfg);
}

static void test_backoff(void **state)
{
	/* retry n: cap = initial * 2^(n-1), at most max; result in [cap/2, cap] */
	assert_int_equal(aod_upload_backoff_ms(1000, 60000, 1, 0), 500);
	assert_int_equal(aod_upload_backoff_ms(1000, 60000, 1, UINT32_MAX), 1000);
	assert_int_equal(aod_upload_backoff_ms(1000, 60000, 2, UINT32_MAX), 2000);
	assert_int_equal(aod_upload_backoff_ms(1000, 60000, 3, 0), 2000);
	assert_int_equal(aod_upload_backoff_ms(1000, 60000, 7, UINT32_MAX), 60000);
	assert_int_equal(aod_upload_backoff_ms(1000, 60000, 100, UINT32_MAX), 60000);
	assert_int_equal(aod_upload_backoff_ms(1000, 60000, 100, 0), 30000);
	assert_int_equal(aod_upload_backoff_ms(1000, 60000, UINT32_MAX, 0), 30000);
	/* the jitter spreads: many draws are not all one value, all within bounds */
	{
		uint64_t lo = UINT64_MAX, hi = 0, x = 12345;

		for (int i = 0; i < 1000; i++) {
			uint64_t v;

			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			v = aod_upload_backoff_ms(200, 1000, 4, (uint32_t)(x >> 32));
			lo = v < lo ? v : lo;
			hi = v > hi ? v : hi;
		}
		assert_true(lo >= 500 && hi <= 1000 && hi - lo > 300);
	}
	/* max below initial: initial wins */
	assert_int_equal(aod_upload_backoff_ms(1000, 10, 3, UINT32_MAX), 1000);
}

static void test_verdicts_and_keys(void **state)
{
	char key[64];

	assert_int_equal(aod_upload_http_verdict(200), AOD_UPLOAD_OK);
	assert_int_equal(aod_upload_http_verdict(204), AOD_UPLOAD_OK);
	assert_int_equal(aod_upload_http_verdict(0), AOD_UPLOAD_RETRY);
	assert_int_equal(aod_upload_http_verdict(500), AOD_UPLOAD_RETRY);
	assert_int_equal(aod_upload_http_verdict(503), AOD_UPLOAD_RETRY);
	assert_int_equal(aod_upload_http_verdict(429), AOD_UPLOAD_RETRY);
	assert_int_equal(aod_upload_http_verdict(408), AOD_UPLOAD_RETRY);
	assert_int_equal(aod_upload_http_verdict(403), AOD_UPLOAD_FAIL);
	assert_int_equal(aod_upload_http_verdict(404), AOD_UPLOAD_FAIL);
	assert_int_equal(aod_upload_http_verdict(400), AOD_UPLOAD_FAIL);
	assert_int_equal(aod_upload_http_verdict(301), AOD_UPLOAD_FAIL);

	assert_int_equal(aod_upload_object_key("fleet/{host}/", "web-1.example", "aod_1_a_b.tar.zst",
					       key, sizeof(key)), 0);
	assert_string_equal(key, "fleet/web-1.example/aod_1_a_b.tar.zst");
	assert_int_equal(aod_upload_object_key("{host}{host}/", "h/../x y", "f", key, sizeof(key)), 0);
	assert_string_equal(key, "h_.._x_yh_.._x_y/f");
	assert_int_equal(aod_upload_object_key("", "h", "f", key, sizeof(key)), 0);
	assert_string_equal(key, "f");
	assert_int_equal(aod_upload_object_key("p/", "h", "f", key, 3), -ENAMETOOLONG);
	assert_int_equal(aod_upload_object_key("p/", "h", "f", key, 4), 0);
	assert_string_equal(key, "p/f");
}

static void test_creds_parse(void **state)
{
	struct aod_upload_creds c;
	char why[256];

	assert_int_equal(aod_upload_creds_parse("# comment\n[default]\naws_access_key_id = AKID\n"
						"region = x\n aws_secret_access_key=s3cr3t+/=  \r\n"
						"; other\naws_session_token = tok\n", &c, why,
						sizeof(why)), 0);
	assert_string_equal(c.access_key, "AKID");
	assert_string_equal(c.secret_key, "s3cr3t+/=");
	assert_string_equal(c.session_token, "tok");
	aod_upload_creds_wipe(&c);
	assert_string_equal(c.secret_key, "");
	why[0] = '\0';
	assert_int_equal(aod_upload_creds_parse("aws_access_key_id = AKID\n", &c, why, sizeof(why)),
			 -ENOKEY);
	assert_non_null(strstr(why, "no secret access key"));
	assert_int_equal(aod_upload_creds_parse("aws_access_key_id = AKID\n\nnonsense-hunter2\n", &c,
						why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "line 3"));
	assert_null(strstr(why, "hunter2")); /* a message never quotes the file */
	assert_int_equal(aod_upload_creds_parse("aws_access_key_id = A:K\naws_secret_access_key = s\n",
						&c, why, sizeof(why)), -EINVAL);
	assert_string_equal(c.access_key, ""); /* wiped on failure */
}

static void test_creds_load(void **state)
{
	char dir[] = "/tmp/aod-test-upcreds-XXXXXX", file[64], why[512];
	static const char text[] = "aws_access_key_id = AKID\naws_secret_access_key = hunter2\n";
	struct aod_upload_creds c;
	int fd;

	assert_non_null(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/creds", dir);
	fd = open(file, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
	close(fd);
	chmod(file, 0644);
	assert_int_equal(aod_upload_creds_load(file, &c, why, sizeof(why)), -EPERM);
	assert_non_null(strstr(why, "mode 0644"));
	assert_null(strstr(why, "hunter2"));
	chmod(file, 0600);
	assert_int_equal(aod_upload_creds_load(file, &c, why, sizeof(why)), 0);
	assert_string_equal(c.secret_key, "hunter2");
	unlink(file);
	assert_int_equal(aod_upload_creds_load(file, &c, why, sizeof(why)), -ENOENT);
	rmdir(dir);

	setenv("AWS_ACCESS_KEY_ID", "ENVKEY", 1);
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_SESSION_TOKEN");
	assert_int_equal(aod_upload_creds_load("", &c, why, sizeof(why)), -ENOKEY);
	assert_non_null(strstr(why, "AWS_SECRET_ACCESS_KEY"));
	setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
	assert_int_equal(aod_upload_creds_load("", &c, why, sizeof(why)), 0);
	assert_string_equal(c.access_key, "ENVKEY");
	assert_string_equal(c.secret_key, "envsecret");
	assert_string_equal(c.session_token, "");
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
}

static void test_digest(void **state)
{
	char path[] = "/tmp/aod-test-digest-XXXXXX", why[256] = "";
	struct aod_s3_digest d;
	struct aod_s3_lib lib;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	if (aod_s3_lib_open(&lib, why, sizeof(why)))
		fail_msg("%s", why);
	/* RFC 1321 and FIPS 180-2 vectors: "" and "abc" */
	assert_int_equal(aod_s3_digest_fd(&lib, fd, &d), 0);
	assert_string_equal(d.md5_hex, "d41d8cd98f00b204e9800998ecf8427e");
	assert_string_equal(d.sha256_hex,
			    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	assert_int_equal(d.size, 0);
	assert_int_equal(write(fd, "abc", 3), 3);
	assert_int_equal(aod_s3_digest_fd(&lib, fd, &d), 0);
	assert_string_equal(d.md5_hex, "900150983cd24fb0d6963f7d28e17f72");
	assert_string_equal(d.md5_b64, "kAFQmDzST7DWlj99KOF/cg==");
	assert_string_equal(d.sha256_hex,
			    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(d.size, 3);
	close(fd);
	unlink(path);
}

/* ---- the uploads table ---- */

struct rows {
	int n;
	char bundle[8][64];
	char state[8][16];
	uint32_t attempts[8];
	bool deleted[8];
};

static int collect(void *ctx, const struct aod_store_upload *u)
{
	struct rows *r = ctx;

	if (r->n == 8)
		return 1;
	snprintf(r->bundle[r->n], 64, "%s", u->bundle);
	snprintf(r->state[r->n], 16, "%s", u->state);
	r->attempts[r->n] = u->attempts;
	r->deleted[r->n] = u->deleted;
	r->n++;
	return 0;
}

static void put(struct store_fx *x, const char *bundle, const char *state, uint64_t t)
{
	struct aod_store_upload u = {
		.bundle = bundle, .anomaly_id = t, .path = "/p", .key = "k", .url = "http://h/b/k",
		.size = 3, .state = state, .queued_ns = t, .updated_ns = t,
	};

	assert_int_equal(aod_store_upload_put(x->st, &u), 0);
}

static void test_store_uploads(void **state)
{
	struct store_fx x;
	struct rows r = { 0 };
	struct aod_store_upload u = { .bundle = "b1", .state = "uploaded", .attempts = 2,
				      .md5 = "900150983cd24fb0d6963f7d28e17f72",
				      .etag = "900150983cd24fb0d6963f7d28e17f72",
				      .uploaded_ns = STORE_FX_T0 + 5, .updated_ns = STORE_FX_T0 + 5,
				      .deleted = true };
	struct aod_store_retention_stats rs;
	char err[AOD_STORE_ERR_LEN] = "";

	store_fx_open(&x, "uploads");
	put(&x, "b1", "queued", STORE_FX_T0 + 1);
	put(&x, "b2", "queued", STORE_FX_T0 + 2);
	put(&x, "b3", "dropped", STORE_FX_T0 + 3);
	assert_int_equal(aod_store_upload_pending(x.st, collect, &r), 0);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.bundle[0], "b1");
	assert_string_equal(r.bundle[1], "b2");
	assert_int_equal(aod_store_upload_update(x.st, &u), 0);
	u.bundle = "nope";
	assert_int_equal(aod_store_upload_update(x.st, &u), -ENOENT);
	/* an uploaded row is never set back to queued */
	put(&x, "b1", "queued", STORE_FX_T0 + 6);
	memset(&r, 0, sizeof(r));
	assert_int_equal(aod_store_upload_pending(x.st, collect, &r), 0);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.bundle[0], "b2");
	/* the read-only reader sees every row, newest first */
	memset(&r, 0, sizeof(r));
	assert_int_equal(aod_store_uploads_read(x.path, collect, &r, err, sizeof(err)), 0);
	assert_int_equal(r.n, 3);
	assert_string_equal(r.bundle[0], "b3");
	assert_string_equal(r.bundle[2], "b1");
	assert_string_equal(r.state[2], "uploaded");
	assert_int_equal(r.attempts[2], 2);
	assert_true(r.deleted[2]);
	assert_int_equal(aod_store_uploads_read("/nonexistent/aod.db", collect, &r, err,
						sizeof(err)), -ENOENT);
	/* retention by age: finished rows go, the queued one stays */
	assert_int_equal(aod_store_retention(x.st, 0, 1, STORE_FX_T0 + 1000000000ULL, x.run, &rs), 0);
	memset(&r, 0, sizeof(r));
	assert_int_equal(aod_store_uploads_read(x.path, collect, &r, err, sizeof(err)), 0);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.bundle[0], "b2");
	assert_string_equal(r.state[0], "queued");
	store_fx_close(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_defaults_and_keys),
		cmocka_unit_test(test_config_refused),
		cmocka_unit_test(test_config_credentials_mode),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_verdicts_and_keys),
		cmocka_unit_test(test_creds_parse),
		cmocka_unit_test(test_creds_load),
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_store_uploads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
