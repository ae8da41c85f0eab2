/*
 * libFuzzer harness for hparser (see ../hparser.h for the contract it exercises).
 *
 * Input layout: the first HDR bytes configure the run, the rest is the byte stream a
 * server would send.
 *   cfg[0]  mode bits: 1 = answer every head with HP_BODY_NONE (response to HEAD),
 *           2 = answer 2xx heads with HP_BODY_TUNNEL (CONNECT), 4 = small limits from
 *           cfg[1..5], 8 = small header-offset storage (cfg[6] % 8 entries),
 *           16 = on_headers_complete fails for status 599 (callback error path),
 *           32 = on_body fails once a message has more than cfg[5] body bytes,
 *           64 = on_message_complete fails for status 598 and on_trailers fails for a
 *           trailer section containing "X-Fail",
 *           128 = break the contract: sometimes drop an unconsumed byte instead of
 *           presenting it again (the parser must fail cleanly or go on, not crash;
 *           the two runs are not compared then)
 *   cfg[1..5] small limits (max_line, max_headers, max_head, max_chunk_line,
 *           max_trailers) when mode & 4
 *   cfg[6..7] seed of the split points; cfg[7] also bounds the piece size
 *
 * Each input is parsed three times: in one piece, in pieces of random size, and in
 * other pieces without on_headers_complete (hp_execute then stops after each head,
 * the harness checks it as the callback would, and p->expect frames the body). Every call
 * follows the re-presentation contract: the unconsumed bytes plus the new piece are
 * copied into a fresh malloc'd buffer of exactly that size, so ASan reports any read
 * past what the parser was given. After each message the leftover bytes are fed again
 * (keep-alive reuse). hp_finish is called at the end. All runs must agree: same
 * heads, same body bytes, same trailers, same number of messages and the same error
 * (any two size-limit errors count as the same: which limit trips first may depend
 * on where the input was split), and the same reuse flags and status at the end of
 * each message. The paused run takes Content-Length body bytes that arrive with a
 * head itself and accounts them with hp_body_consumed, as the Python client does.
 *
 * Invariants checked on every call: consumed <= len, error code in range with a
 * name and description, state and error consistent, and once failed hp_execute
 * returns 0 and keeps the error. In callbacks: the head starts with "HTTP/1.",
 * ends with an empty line, has a three-digit status, and the header offsets lie in
 * the head and point at "name:" pairs; body pieces are non-empty; a Content-Length
 * body has exactly content_length bytes.
 *
 * Build with -DHP_FUZZ_STANDALONE for a main() that runs files given as arguments
 * (reproducing a crash without libFuzzer).
 */
#include "../hparser.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HDR 8
#define MAX_STORE 128

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "invariant failed: %s (%s:%d)\n", #cond, __FILE__,       \
                    __LINE__);                                                       \
            abort();                                                                 \
        }                                                                            \
    } while (0)

/* What a run observed, in a form independent of the split points. */
typedef struct {
    uint64_t head_hash, body_hash, trailer_hash, end_hash;
    uint32_t messages, heads, trailers;
    int error;
    int finish_error;
    uint64_t body_in_message; /* body bytes of the current message */
} digest;

typedef struct {
    uint8_t mode;
    uint64_t body_fail_after;
    digest d;
    hp_header store[MAX_STORE];
} run_ctx;

static uint64_t fnv(uint64_t h, const void *data, size_t len)
{
    const unsigned char *s = (const unsigned char *)data;
    size_t i;
    for (i = 0; i < len; i++) {
        h ^= s[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

static int is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int name_is(const char *s, uint32_t n, const char *lower)
{
    uint32_t i;
    if (n != strlen(lower))
        return 0;
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c + 32);
        if (c != lower[i])
            return 0;
    }
    return 1;
}

static int on_headers_complete(hp_parser *p, const char *head, size_t len)
{
    run_ctx *ctx = (run_ctx *)p->data;
    uint32_t i, stored, n_cl = 0, n_te = 0, n_ce = 0, n_sc = 0, n_sc2 = 0;

    if (ctx->mode & 128) /* bytes validated earlier may have been changed since */
        goto done;
    CHECK(len >= 14); /* "HTTP/1.x NNN\r\n" + "\r\n" */
    CHECK(memcmp(head, "HTTP/1.", 7) == 0);
    CHECK(memcmp(head + len - 4, "\r\n\r\n", 4) == 0 || len == p->status_line_len + 4);
    CHECK(p->status_line_len >= 12 && p->status_line_len + 4 <= len);
    CHECK(p->status_code >= 100 && p->status_code <= 999);
    CHECK(p->http_major == 1);
    CHECK(p->num_headers <= (p->max_headers ? p->max_headers : HP_DEFAULT_MAX_HEADERS));
    CHECK(len <= (p->max_head ? p->max_head : HP_DEFAULT_MAX_HEAD));
    stored = p->num_headers < p->headers_cap ? p->num_headers : p->headers_cap;
    for (i = 0; i < stored; i++) {
        const hp_header *h = &p->headers[i];
        uint32_t k;
        CHECK(h->name_len > 0);
        CHECK((size_t)h->name_off + h->name_len < len);
        CHECK(head[h->name_off + h->name_len] == ':');
        for (k = 0; k < h->name_len; k++)
            CHECK(is_tchar((unsigned char)head[h->name_off + k]));
        CHECK(h->value_off > h->name_off + h->name_len);
        CHECK((size_t)h->value_off + h->value_len + 2 <= len);
        if (h->value_len > 0) {
            CHECK(head[h->value_off] != ' ' && head[h->value_off] != '\t');
            CHECK(head[h->value_off + h->value_len - 1] != ' ');
            CHECK(head[h->value_off + h->value_len - 1] != '\t');
        }
        for (k = 0; k < h->value_len; k++) {
            unsigned char c = (unsigned char)head[h->value_off + k];
            CHECK(c == '\t' || (c >= 0x20 && c != 0x7f));
        }
        n_cl += (uint32_t)name_is(head + h->name_off, h->name_len, "content-length");
        n_te += (uint32_t)name_is(head + h->name_off, h->name_len, "transfer-encoding");
        n_ce += (uint32_t)name_is(head + h->name_off, h->name_len, "content-encoding");
        n_sc += (uint32_t)name_is(head + h->name_off, h->name_len, "set-cookie");
        n_sc2 += (uint32_t)name_is(head + h->name_off, h->name_len, "set-cookie2");
    }
    /* The fields noted for the package: exactly the names in this head, tunnel or not. */
    if (stored == p->num_headers) {
        CHECK(((p->flags & HP_F_CODED) != 0) == (n_ce > 0));
        CHECK(((p->flags & HP_F_COOKIE) != 0) == (n_sc > 0));
        CHECK(((p->flags & HP_F_COOKIE2) != 0) == (n_sc2 > 0));
    }
    /* The framing flags describe this head, not an earlier message on the connection;
     * a 2xx to CONNECT ignores its framing fields (RFC 9110 9.3.6). */
    if (p->expect == HP_BODY_TUNNEL && p->status_code >= 200 && p->status_code < 300) {
        CHECK((p->flags & (HP_F_HAS_LENGTH | HP_F_TE | HP_F_CHUNKED)) == 0);
    } else if (stored == p->num_headers) {
        CHECK(((p->flags & HP_F_HAS_LENGTH) != 0) == (n_cl > 0));
        CHECK(((p->flags & HP_F_TE) != 0) == (n_te > 0));
    }
    if ((p->flags & HP_F_CHUNKED) != 0)
        CHECK((p->flags & HP_F_TE) != 0 && (p->flags & HP_F_HAS_LENGTH) == 0);
    if ((p->flags & HP_F_HAS_LENGTH) != 0)
        CHECK(p->content_length >= 0);
    else
        CHECK(p->content_length == -1);

done:
    ctx->d.heads++;
    ctx->d.head_hash = fnv(ctx->d.head_hash, head, len);
    {
        /* the flags the head itself sets (later ones, such as HP_F_DONE, are already
         * there when a caller without the callback looks) */
        uint16_t f = p->flags & (HP_F_CHUNKED | HP_F_HAS_LENGTH | HP_F_CONN_CLOSE |
                                 HP_F_CONN_KEEP | HP_F_TE | HP_F_CODED | HP_F_COOKIE |
                                 HP_F_COOKIE2);
        ctx->d.head_hash = fnv(ctx->d.head_hash, &f, sizeof f);
    }
    ctx->d.body_in_message = 0;

    if ((ctx->mode & 16) && p->status_code == 599)
        return HP_CB_ERROR;
    if (p->status_code < 200)
        return HP_BODY_NORMAL;
    if ((ctx->mode & 2) && p->status_code < 300)
        return HP_BODY_TUNNEL;
    if (ctx->mode & 1)
        return HP_BODY_NONE;
    return HP_BODY_NORMAL;
}

static int contains(const char *s, size_t n, const char *needle)
{
    size_t k = strlen(needle), i;
    for (i = 0; i + k <= n; i++)
        if (memcmp(s + i, needle, k) == 0)
            return 1;
    return 0;
}

static int on_body(hp_parser *p, const char *at, size_t len)
{
    run_ctx *ctx = (run_ctx *)p->data;
    CHECK(len > 0);
    CHECK(p->state == HP_S_BODY_LENGTH || p->state == HP_S_BODY_EOF ||
          p->state == HP_S_CHUNK_DATA);
    if (p->state != HP_S_BODY_EOF)
        CHECK(p->remaining >= 0 && (uint64_t)len <= (uint64_t)p->remaining);
    ctx->d.body_hash = fnv(ctx->d.body_hash, at, len);
    ctx->d.body_in_message += len;
    if ((ctx->mode & 32) && ctx->d.body_in_message > ctx->body_fail_after)
        return HP_CB_ERROR;
    return 0;
}

static int on_trailers(hp_parser *p, const char *at, size_t len)
{
    run_ctx *ctx = (run_ctx *)p->data;
    CHECK(len > 2);
    if (!(ctx->mode & 128))
        CHECK(len >= 4 && memcmp(at + len - 4, "\r\n\r\n", 4) == 0);
    CHECK(p->state == HP_S_TRAILERS);
    ctx->d.trailers++;
    ctx->d.trailer_hash = fnv(ctx->d.trailer_hash, at, len);
    if ((ctx->mode & 64) && contains(at, len, "X-Fail"))
        return HP_CB_ERROR;
    return 0;
}

static int on_message_complete(hp_parser *p)
{
    run_ctx *ctx = (run_ctx *)p->data;
    if ((p->flags & HP_F_HAS_LENGTH) && !(p->flags & HP_F_CHUNKED) &&
        p->state == HP_S_BODY_LENGTH)
        CHECK(ctx->d.body_in_message == (uint64_t)p->content_length);
    ctx->d.messages++;
    ctx->d.body_hash = fnv(ctx->d.body_hash, "|", 1); /* message boundary */
    {
        /* what a client decides reuse from, as the message ends */
        uint16_t f = p->flags & (HP_F_KEEP_ALIVE | HP_F_UPGRADE | HP_F_CHUNKED);
        ctx->d.end_hash = fnv(ctx->d.end_hash, &f, sizeof f);
        ctx->d.end_hash = fnv(ctx->d.end_hash, &p->status_code, sizeof p->status_code);
    }
    if ((ctx->mode & 64) && p->status_code == 598)
        return HP_CB_ERROR;
    return 0;
}

static const hp_settings settings = {on_headers_complete, on_body, on_trailers,
                                     on_message_complete};
/* No head callback: hp_execute stops after each head and the caller takes it. */
static const hp_settings pause_settings = {NULL, on_body, on_trailers, on_message_complete};

static void check_state(const hp_parser *p)
{
    CHECK(p->error < HP_E__COUNT);
    CHECK(hp_errno_name(p->error) != NULL);
    CHECK(strcmp(hp_errno_name(p->error), "HP_E_UNKNOWN") != 0);
    CHECK(hp_errno_description(p->error) != NULL);
    CHECK(p->state <= HP_S_ERROR);
    CHECK((p->state == HP_S_ERROR) == (p->error != HP_OK));
}

static uint32_t next_rand(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *s = x;
    return x;
}

/*
 * Feed data[0..len) in pieces (max_piece == 0: one piece), re-presenting unconsumed
 * bytes each time from a fresh exact-size allocation. Fills ctx->d.
 */
static void run(run_ctx *ctx, const uint8_t *cfg, const uint8_t *data, size_t len,
                size_t max_piece, uint32_t seed, int pause)
{
    const hp_settings *s = pause ? &pause_settings : &settings;
    hp_parser p;
    char *pending = NULL;
    size_t npending = 0, off = 0;

    memset(&p, 0xAB, sizeof p); /* hp_init must not depend on prior contents */
    hp_init(&p);
    p.max_line = p.max_headers = p.max_head = p.max_chunk_line = p.max_trailers = 0;
    if (ctx->mode & 4) {
        p.max_line = 16u + cfg[1] * 2u;
        p.max_headers = 1u + cfg[2] % 16u;
        p.max_head = 32u + cfg[3] * 8u;
        p.max_chunk_line = 4u + cfg[4];
        p.max_trailers = 8u + cfg[5] * 4u;
    }
    p.headers = ctx->store;
    p.headers_cap = (ctx->mode & 8) ? cfg[6] % 8u : MAX_STORE;
    p.data = ctx;
    CHECK(p.expect == HP_BODY_NORMAL && p.head_len == 0);
    if (ctx->mode & 2)
        p.expect = HP_BODY_TUNNEL;
    else if (ctx->mode & 1)
        p.expect = HP_BODY_NONE;
    memset(&ctx->d, 0, sizeof ctx->d);
    if (seed == 0)
        seed = 0x9e3779b9u;

    while (off < len || npending > 0) {
        size_t piece = len - off, total, consumed;
        int64_t executed;
        uint32_t heads_before;
        char *buf;
        if (max_piece && piece > 0) {
            size_t want = 1 + next_rand(&seed) % max_piece;
            if (want < piece)
                piece = want;
        }
        if ((ctx->mode & 128) && npending && next_rand(&seed) % 4 == 0) {
            memmove(pending, pending + 1, npending - 1); /* contract broken on purpose */
            npending--;
        }
        total = npending + piece;
        buf = (char *)malloc(total ? total : 1);
        CHECK(buf != NULL);
        if (npending)
            memcpy(buf, pending, npending);
        if (piece)
            memcpy(buf + npending, data + off, piece);
        off += piece;
        free(pending);
        pending = NULL;

        heads_before = ctx->d.heads;
        executed = hp_execute(&p, s, buf, total);
        CHECK(executed >= 0 && (size_t)executed <= total);
        consumed = (size_t)executed;
        check_state(&p);
        if (!pause && !p.error && ctx->d.heads == heads_before)
            CHECK(p.head_len == 0); /* head_len only reports a head of this call */
        if (pause && p.head_len && !p.error) {
            /* stopped right after the head: it is the last head_len bytes consumed */
            CHECK(p.head_len <= consumed);
            on_headers_complete(&p, buf + consumed - p.head_len, p.head_len);
            if (p.state == HP_S_BODY_LENGTH && consumed < total) {
                /* take the body bytes that came with the head, as the Python side
                 * does: hand them over, then account them with hp_body_consumed */
                size_t n = total - consumed;
                int64_t took;
                CHECK(p.remaining > 0);
                if ((uint64_t)n > (uint64_t)p.remaining)
                    n = (size_t)p.remaining;
                (void)on_body(&p, buf + consumed, n); /* mode 32 is not compared */
                took = hp_body_consumed(&p, s, n);
                CHECK(took == (int64_t)n);
                check_state(&p);
                consumed += n;
            }
        }
        if (p.error) {
            uint8_t err = p.error;
            CHECK(hp_execute(&p, s, buf, total) == 0);
            CHECK(p.error == err);
            free(buf);
            break;
        }
        npending = total - consumed;
        if (npending) {
            pending = (char *)malloc(npending);
            CHECK(pending != NULL);
            memcpy(pending, buf + consumed, npending);
        }
        free(buf);
        /* No new input and no progress: the leftover is an incomplete unit. */
        if (piece == 0 && consumed == 0)
            break;
    }
    free(pending);
    ctx->d.error = p.error;
    ctx->d.finish_error = hp_finish(&p, s);
    check_state(&p);
    CHECK(hp_finish(&p, s) == ctx->d.finish_error);
    if (ctx->d.finish_error)
        CHECK(hp_execute(&p, s, "x", 1) == 0 && p.error == ctx->d.finish_error);
}

static int is_limit(int e)
{
    return e == HP_E_LINE_TOO_LONG || e == HP_E_TOO_MANY_HEADERS ||
           e == HP_E_HEAD_TOO_LARGE || e == HP_E_CHUNK_LINE_TOO_LONG ||
           e == HP_E_TRAILERS_TOO_LARGE;
}

static int same_error(int a, int b)
{
    return a == b || (is_limit(a) && is_limit(b));
}

/* Two runs saw the same messages. */
static void check_same_digest(const digest *a, const digest *b)
{
    CHECK(a->messages == b->messages);
    CHECK(a->heads == b->heads);
    CHECK(a->head_hash == b->head_hash);
    CHECK(a->body_hash == b->body_hash);
    CHECK(a->trailers == b->trailers);
    CHECK(a->trailer_hash == b->trailer_hash);
    CHECK(a->end_hash == b->end_hash);
    CHECK(a->finish_error == b->finish_error);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static run_ctx whole, split, paused;
    uint8_t cfg[HDR] = {0};
    size_t max_piece;

    if (size < HDR) {
        memcpy(cfg, data, size);
        data += size;
        size = 0;
    } else {
        memcpy(cfg, data, HDR);
        data += HDR;
        size -= HDR;
    }
    whole.mode = split.mode = paused.mode = cfg[0];
    whole.body_fail_after = split.body_fail_after = paused.body_fail_after = cfg[5];
    max_piece = 1 + cfg[7] % 32u;

    run(&whole, cfg, data, size, 0, 0, 0);
    run(&split, cfg, data, size, max_piece, (uint32_t)cfg[6] << 8 | cfg[7], 0);
    run(&paused, cfg, data, size, max_piece, (uint32_t)cfg[7] << 8 | cfg[6], 1);

    if (cfg[0] & 128)
        return 0; /* the split run broke the contract: nothing to compare */
    /* Without a head callback the parser must see the same messages. Not comparable:
     * a failing head callback (16), a failing body callback (32: the paused run
     * hands some body over without one), and HEAD and CONNECT at once (3), which
     * one p->expect cannot say. */
    if (!(cfg[0] & (16 | 32)) && (cfg[0] & 3) != 3) {
        CHECK(same_error(whole.d.error, paused.d.error));
        if (!is_limit(whole.d.error) && whole.d.error != HP_E_CALLBACK)
            check_same_digest(&whole.d, &paused.d);
    }
    CHECK(same_error(whole.d.error, split.d.error));
    if (whole.d.error == HP_E_CALLBACK) {
        /* how much body was delivered before a callback failed depends on the split */
        CHECK(whole.d.messages == split.d.messages && whole.d.heads == split.d.heads);
    } else if (!is_limit(whole.d.error)) {
        check_same_digest(&whole.d, &split.d);
    }
    return 0;
}

#ifdef HP_FUZZ_STANDALONE
int main(int argc, char **argv)
{
    int i;
    for (i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        unsigned char *buf;
        long n;
        if (!f) {
            perror(argv[i]);
            return 1;
        }
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        fseek(f, 0, SEEK_SET);
        buf = (unsigned char *)malloc(n > 0 ? (size_t)n : 1);
        if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
            fprintf(stderr, "%s: read failed\n", argv[i]);
            return 1;
        }
        fclose(f);
        LLVMFuzzerTestOneInput(buf, (size_t)n);
        free(buf);
        printf("ok %s\n", argv[i]);
    }
    return 0;
}
#endif
