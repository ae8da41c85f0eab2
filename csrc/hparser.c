/*
 * hparser.c: see hparser.h for the theory of operation.
 *
 * Structure: hp_execute is a loop over states. Line-oriented units (the head, a
 * chunk-size line, the trailer section) are scanned with memchr for LF and then
 * validated line by line with byte-class tables; they are consumed only when whole,
 * so the caller re-presents their bytes and nothing is copied here. Body bytes are
 * handed to on_body in the largest pieces the input allows.
 */
#include "hparser.h"

#include <string.h>

/* Byte classes. */
#define C_TCHAR 0x01u /* token character (RFC 9110 5.6.2) */
#define C_VALUE 0x02u /* allowed in a field value: HTAB, SP, VCHAR, obs-text */
#define C_HEX   0x04u

/* Byte classes, indexed by byte value: a constant, so nothing to initialise (and no
 * first-use race between threads). The rules: token = ALPHA / DIGIT / one of
 * !#$%&'*+-.^_`|~ ; value = HTAB / SP..~ / 0x80..0xFF ; hex = 0-9 A-F a-f.
 * tests/test_cparser_api.py rebuilds the table from them, compares, and prints the
 * right initializer when they differ. */
static const uint8_t byte_class[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0,  /* 0x00 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  /* 0x10 */
    2, 3, 2, 3, 3, 3, 3, 3, 2, 2, 3, 3, 2, 3, 3, 2,  /* 0x20 */
    7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 2, 2, 2, 2, 2, 2,  /* 0x30 */
    2, 7, 7, 7, 7, 7, 7, 3, 3, 3, 3, 3, 3, 3, 3, 3,  /* 0x40 */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 3, 3,  /* 0x50 */
    3, 7, 7, 7, 7, 7, 7, 3, 3, 3, 3, 3, 3, 3, 3, 3,  /* 0x60 */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 2, 3, 2, 3, 0,  /* 0x70 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,  /* 0x80 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,  /* 0x90 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,  /* 0xa0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,  /* 0xb0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,  /* 0xc0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,  /* 0xd0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,  /* 0xe0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,  /* 0xf0 */
};

#define IS(cls, c) (byte_class[(uint8_t)(c)] & (cls))

/* Name and description of each error, in enum order (both come from HP_ERRNO_MAP). */
#define HP_ERRNO_TABLE_ITEM(name, description) {#name, description},
static const struct {
    const char *name, *description;
} errors[HP_E__COUNT] = {HP_ERRNO_MAP(HP_ERRNO_TABLE_ITEM)};
#undef HP_ERRNO_TABLE_ITEM

const char *hp_errno_name(int err)
{
    return (err >= 0 && err < HP_E__COUNT) ? errors[err].name : "HP_E_UNKNOWN";
}

const char *hp_errno_description(int err)
{
    return (err >= 0 && err < HP_E__COUNT) ? errors[err].description : "unknown error";
}

/* What describes a message: kept readable after it ended, until the next status line
 * (a caller without on_headers_complete reads it after hp_execute returns). */
static void reset_description(hp_parser *p)
{
    p->http_major = p->http_minor = 0;
    p->status_code = 0;
    p->flags = 0;
    p->num_headers = 0;
    p->status_line_len = 0;
    p->content_length = -1;
}

/* Parsing progress: reset as soon as a message ends. */
static void reset_message(hp_parser *p)
{
    p->state = HP_S_HEAD;
    p->remaining = 0;
    p->scan = 0;
    p->line_scan = 0;
    p->te_chunked = 0;
    p->trailer_count = 0;
    p->skipped = 0;
}

void hp_init(hp_parser *p)
{
    reset_description(p);
    reset_message(p);
    p->error = HP_OK;
    p->expect = HP_BODY_NORMAL;
    p->head_len = 0;
}

int hp_idle(const hp_parser *p)
{
    return p->state == HP_S_HEAD && p->scan == 0 && p->line_scan == 0;
}

static uint32_t limit(uint32_t v, uint32_t dflt)
{
    return v ? v : dflt;
}

/* Eight bytes from p, any alignment (the compiler makes one load of it). */
static uint64_t load8(const char *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof w);
    return w;
}

#define BYTES(b) (0x0101010101010101ull * (uint8_t)(b))

/*
 * Case-insensitive compare of s[0..n) with a literal of length n made of lowercase
 * letters, digits and '-'. Folding is OR 0x20, eight bytes at a time where n allows:
 * exact for the bytes that reach here, which are tchars (names, Transfer-Encoding
 * codings) or validated value bytes (Connection elements). For a lowercase letter L,
 * only L and its capital have (c | 0x20) == L; for '-' (0x2d) only '-' and CR do, and
 * for a digit D (0x30-0x39) only D and D - 0x20 (a control byte): neither CR nor a
 * control byte is a tchar or a value byte.
 */
static int lower_eq(const char *s, size_t n, const char *lit, size_t litn)
{
    size_t i = 0;
    if (n != litn)
        return 0;
    if (n >= 8) {
        for (; i + 8 <= n; i += 8)
            if ((load8(s + i) | BYTES(0x20)) != load8(lit + i))
                return 0;
        /* The rest, as the last eight bytes (overlapping what was compared). */
        return i == n || (load8(s + n - 8) | BYTES(0x20)) == load8(lit + n - 8);
    }
    for (; i < n; i++)
        if (((unsigned char)s[i] | 0x20u) != (unsigned char)lit[i])
            return 0;
    return 1;
}

/*
 * Whether any of the eight bytes in w is below SP (a CTL, or HTAB) or is DEL: the
 * bytes a field value must check one by one. Exact as a yes/no answer (the usual
 * has-less-than and has-zero-byte tests: a borrow can only start at a byte that
 * matches); bytes 0x80-0xFF (obs-text) never match.
 */
static int value_word_suspect(uint64_t w)
{
    uint64_t del = w ^ BYTES(0x7f);
    return (((w - BYTES(0x20)) & ~w) | ((del - BYTES(0x01)) & ~del)) & BYTES(0x80) ? 1 : 0;
}

#define LIT_EQ(s, n, lit) lower_eq((s), (n), (lit), sizeof(lit) - 1)

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/*
 * Walk a comma-separated list value (RFC 9110 5.6.1), calling fn for each non-empty
 * element with surrounding whitespace trimmed. Returns the first non-zero fn result.
 */
typedef int (*element_fn)(hp_parser *p, const char *e, size_t n);

static int each_element(hp_parser *p, const char *v, size_t n, element_fn fn)
{
    size_t i = 0;
    while (i <= n) {
        size_t j = i, a, b;
        int rc;
        while (j < n && v[j] != ',')
            j++;
        a = i;
        b = j;
        while (a < b && is_ows(v[a]))
            a++;
        while (b > a && is_ows(v[b - 1]))
            b--;
        if (b > a && (rc = fn(p, v + a, b - a)) != 0)
            return rc;
        i = j + 1;
    }
    return 0;
}

static int connection_token(hp_parser *p, const char *e, size_t n)
{
    if (LIT_EQ(e, n, "close"))
        p->flags |= HP_F_CONN_CLOSE;
    else if (LIT_EQ(e, n, "keep-alive"))
        p->flags |= HP_F_CONN_KEEP;
    return 0;
}

/*
 * One Transfer-Encoding field value (OWS-trimmed, not empty). The rule, stricter than
 * the grammar so that no two parsers can frame the body differently:
 *   - each list element is a bare coding name (a token): no parameters and no
 *     quoted strings, which no registered transfer coding has and which could hide a
 *     comma (or the word chunked) from one parser and not another;
 *   - empty elements are ignored (RFC 9110 5.6.1) before chunked, but nothing may
 *     follow chunked, not even an empty element: "chunked," or a later
 *     "Transfer-Encoding: ," make other parsers (llhttp) see a non-chunked body;
 *   - chunked at most once; a field must name at least one coding.
 */
static int te_field(hp_parser *p, const char *v, size_t n)
{
    size_t i = 0, codings = 0;
    for (;;) {
        size_t a, b;
        while (i < n && is_ows(v[i]))
            i++;
        a = i;
        while (i < n && IS(C_TCHAR, v[i]))
            i++;
        b = i;
        while (i < n && is_ows(v[i]))
            i++;
        if (i < n && v[i] != ',')
            return HP_E_TRANSFER_ENCODING; /* a parameter, a quote, two words */
        if (p->te_chunked)                 /* anything after chunked */
            return HP_E_TRANSFER_ENCODING;
        if (b > a) {
            codings++;
            if (LIT_EQ(v + a, b - a, "chunked"))
                p->te_chunked = 1;
        }
        if (i == n)
            return codings ? 0 : HP_E_TRANSFER_ENCODING;
        i++; /* the comma */
    }
}

static int content_length_value(hp_parser *p, const char *v, size_t n)
{
    int64_t value = 0;
    size_t i;
    if (n == 0 || n > 18) /* 18 digits cannot overflow int64 */
        return HP_E_CONTENT_LENGTH;
    for (i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return HP_E_CONTENT_LENGTH;
        value = value * 10 + (v[i] - '0');
    }
    if ((p->flags & HP_F_HAS_LENGTH) && p->content_length != value)
        return HP_E_CONFLICTING_CL;
    p->flags |= HP_F_HAS_LENGTH;
    p->content_length = value;
    return 0;
}

static int parse_status_line(hp_parser *p, const char *l, size_t n)
{
    size_t i;
    int code;
    if (n < 8 || memcmp(l, "HTTP/", 5) != 0)
        return HP_E_STATUS_LINE;
    if (l[5] != '1' || l[6] != '.' || l[7] < '0' || l[7] > '9')
        return HP_E_VERSION;
    if (n == 8)
        return HP_E_STATUS_LINE; /* a version alone */
    if (l[8] != ' ')
        return HP_E_VERSION; /* "HTTP/1.10", "HTTP/1.1x" */
    if (n < 12)
        return HP_E_STATUS_CODE; /* fewer than three digits */
    p->http_major = 1;
    p->http_minor = (uint8_t)(l[7] - '0');
    for (i = 9; i < 12; i++)
        if (l[i] < '0' || l[i] > '9')
            return HP_E_STATUS_CODE;
    code = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
    if (code < 100)
        return HP_E_STATUS_CODE;
    if (n > 12) {
        if (l[12] != ' ')
            return HP_E_STATUS_CODE; /* a fourth digit, or garbage after the code */
        for (i = 13; i < n; i++)
            if (!IS(C_VALUE, l[i]))
                return l[i] == '\r' ? HP_E_LINE_ENDING : HP_E_STATUS_LINE;
    }
    p->status_code = (uint16_t)code;
    p->status_line_len = (uint32_t)n;
    return 0;
}

/* RFC 9110 9.3.6: a client MUST ignore any Content-Length or Transfer-Encoding in a
 * 2xx answer to CONNECT (the caller says CONNECT with expect = HP_BODY_TUNNEL). */
static int connect_2xx(const hp_parser *p)
{
    return p->expect == HP_BODY_TUNNEL && p->status_code >= 200 && p->status_code < 300;
}

/*
 * Validate one header field line l[0..n) (no CRLF). off is its offset in the head
 * block, for the optional offsets array. framing says whether the field is in the
 * head, where it may affect message framing (false in trailers).
 */
static int parse_field_line(hp_parser *p, const char *l, size_t n, size_t off, int framing)
{
    size_t i = 0, name_len, vs, ve;
    const char *v;
    int rc = 0;

    if (is_ows(l[0]))
        return HP_E_OBS_FOLD;
    while (i < n && IS(C_TCHAR, l[i]))
        i++;
    if (i == n)
        return HP_E_NO_COLON;
    if (l[i] != ':') {
        if (is_ows(l[i]))
            return memchr(l + i, ':', n - i) ? HP_E_WS_BEFORE_COLON : HP_E_NO_COLON;
        return l[i] == '\r' ? HP_E_LINE_ENDING : HP_E_HEADER_NAME;
    }
    if (i == 0)
        return HP_E_HEADER_NAME;
    name_len = i;
    vs = i + 1;
    while (vs < n && is_ows(l[vs]))
        vs++;
    /* The value, eight bytes at a time while none needs a closer look (values are
     * most of a head's bytes); from the first word that does, byte by byte. */
    for (i = vs; i + 8 <= n && !value_word_suspect(load8(l + i)); i += 8)
        ;
    for (; i < n; i++)
        if (!IS(C_VALUE, l[i]))
            return l[i] == '\r' ? HP_E_LINE_ENDING : HP_E_HEADER_VALUE;
    ve = n;
    while (ve > vs && is_ows(l[ve - 1]))
        ve--;
    v = l + vs;

    /* Three names matter for framing, and three more are noted in the flags for
     * the package (HP_F_CODED, HP_F_COOKIE, HP_F_COOKIE2); dispatch on length first. */
    switch (name_len) {
    case 14:
        if (LIT_EQ(l, name_len, "content-length")) {
            if (!framing)
                rc = HP_E_TRAILER_FRAMING;
            else if (!connect_2xx(p))
                rc = content_length_value(p, v, ve - vs);
        }
        break;
    case 17:
        if (LIT_EQ(l, name_len, "transfer-encoding")) {
            if (!framing) {
                rc = HP_E_TRAILER_FRAMING;
            } else if (!connect_2xx(p)) {
                p->flags |= HP_F_TE;
                /* A tab in the trailing whitespace is refused too: llhttp takes
                 * "chunked<TAB>" for another coding and would frame to the close. */
                if (ve == vs || memchr(l + ve, '\t', n - ve))
                    rc = HP_E_TRANSFER_ENCODING;
                else
                    rc = te_field(p, v, ve - vs);
            }
        }
        break;
    case 10:
        /* In trailers too: a "close" there still ends the connection (see
         * HP_S_TRAILERS), as llhttp reads it. */
        if (LIT_EQ(l, name_len, "connection"))
            rc = each_element(p, v, ve - vs, connection_token);
        else if (framing && LIT_EQ(l, name_len, "set-cookie"))
            p->flags |= HP_F_COOKIE;
        break;
    case 11:
        if (framing && LIT_EQ(l, name_len, "set-cookie2"))
            p->flags |= HP_F_COOKIE2;
        break;
    case 16:
        if (framing && LIT_EQ(l, name_len, "content-encoding"))
            p->flags |= HP_F_CODED;
        break;
    default:
        break;
    }
    if (rc)
        return rc;
    if (framing) {
        if (p->num_headers < p->headers_cap && p->headers) {
            hp_header *h = &p->headers[p->num_headers];
            h->name_off = (uint32_t)off;
            h->name_len = (uint32_t)name_len;
            h->value_off = (uint32_t)(off + vs);
            h->value_len = (uint32_t)(ve - vs);
        }
    }
    return 0;
}

/*
 * Scan the head (trailer == 0) or trailer section (trailer == 1) that starts at
 * data[0] and has len bytes available. Returns the section length when complete,
 * 0 when more bytes are needed, or -errno.
 */
static int64_t scan_section(hp_parser *p, const char *data, size_t len, int trailer)
{
    size_t max_line = limit(p->max_line, HP_DEFAULT_MAX_LINE);
    size_t max_total = trailer ? limit(p->max_trailers, HP_DEFAULT_MAX_TRAILERS)
                               : limit(p->max_head, HP_DEFAULT_MAX_HEAD);
    uint32_t max_headers = limit(p->max_headers, HP_DEFAULT_MAX_HEADERS);
    int too_large = trailer ? HP_E_TRAILERS_TOO_LARGE : HP_E_HEAD_TOO_LARGE;
    size_t pos = p->scan;

    if (pos > len || pos + p->line_scan > len)
        return -HP_E_CALLER;
    for (;;) {
        const char *nl;
        size_t from = pos + p->line_scan, line_len;
        int rc;

        nl = from < len ? memchr(data + from, '\n', len - from) : NULL;
        if (nl == NULL) {
            /* Incomplete line: bound what we are asked to keep. */
            if (len >= max_total)
                return -too_large;
            if (len - pos >= max_line)
                return -HP_E_LINE_TOO_LONG;
            p->scan = (uint32_t)pos;
            p->line_scan = (uint32_t)(len - pos);
            return 0;
        }
        p->line_scan = 0;
        line_len = (size_t)(nl - (data + pos)) + 1; /* with CRLF */
        if (pos + line_len > max_total)
            return -too_large;
        if (line_len > max_line)
            return -HP_E_LINE_TOO_LONG;
        if (line_len < 2 || nl[-1] != '\r')
            return -HP_E_LINE_ENDING;
        line_len -= 2;
        if (line_len == 0) {
            if (!trailer && pos == 0) /* not reached: execute skips these */
                return -HP_E_STATUS_LINE; /* empty line where the status line belongs */
            return (int64_t)(pos + 2);
        }
        if (!trailer && pos == 0) {
            /* A new message starts: drop the previous message's description,
             * which was kept readable until now (message_done). */
            reset_description(p);
            rc = parse_status_line(p, data, line_len);
        } else {
            uint32_t *count = trailer ? &p->trailer_count : &p->num_headers;
            if (*count >= max_headers)
                return -HP_E_TOO_MANY_HEADERS;
            rc = parse_field_line(p, data + pos, line_len, pos, !trailer);
            (*count)++;
        }
        if (rc)
            return -rc;
        pos += line_len + 2;
    }
}

/* Fail for good with err; returns offset, where in the data the error was found,
 * which hp_execute returns. */
static size_t fail(hp_parser *p, int err, size_t offset)
{
    p->error = (uint8_t)err;
    p->state = HP_S_ERROR;
    return offset;
}

/* The message ended: tell the caller and get ready for the next one. */
static int message_done(hp_parser *p, const hp_settings *s, int end_of_connection)
{
    int rc;
    p->flags |= HP_F_DONE;
    rc = s->on_message_complete ? s->on_message_complete(p) : 0;
    if (end_of_connection)
        p->state = HP_S_END;
    else
        reset_message(p); /* the description stays readable (reset_description) */
    return rc;
}

/* Decide the framing of the body once the head is complete. Returns 0 or errno. */
static int head_complete(hp_parser *p, const hp_settings *s, const char *head, size_t len,
                         int *ended)
{
    int rv = HP_BODY_NORMAL;
    uint16_t f = p->flags;

    *ended = 0;
    /* 100-103 are bodyless whatever they say (llhttp agrees, and 2.x's tests
       expect a 100 Continue with Transfer-Encoding to pass); on 104-199 other
       parsers frame a body by these fields: refuse them there. */
    if (p->status_code >= 104 && p->status_code < 200 &&
        ((f & HP_F_TE) || ((f & HP_F_HAS_LENGTH) && p->content_length != 0)))
        return HP_E_INTERIM_FRAMING; /* parsers disagree on its body: refuse it */
    if (f & HP_F_TE) {
        if (p->http_minor == 0)
            return HP_E_TRANSFER_ENCODING; /* RFC 9112 6.1: faulty framing in 1.0 */
        if (f & HP_F_HAS_LENGTH)
            return HP_E_TE_AND_CL;
    }
    if (p->te_chunked)
        f |= HP_F_CHUNKED;
    if (p->http_minor >= 1 ? !(f & HP_F_CONN_CLOSE)
                           : ((f & HP_F_CONN_KEEP) && !(f & HP_F_CONN_CLOSE)))
        f |= HP_F_KEEP_ALIVE;
    p->flags = f;
    p->scan = 0;
    p->line_scan = 0;

    p->head_len = (uint32_t)len;
    if (s->on_headers_complete) {
        rv = s->on_headers_complete(p, head, len);
        if (rv < 0)
            return HP_E_CALLBACK;
        if (connect_2xx(p)) /* its framing fields were ignored: only a tunnel fits */
            rv = HP_BODY_TUNNEL;
    } else if (p->status_code >= 200) {
        /* No callback: the caller said beforehand what its request implies. A tunnel
         * opens only on a 2xx (RFC 9110 9.3.6); any other answer is a normal message. */
        rv = p->expect;
        if (rv == HP_BODY_TUNNEL && p->status_code >= 300)
            rv = HP_BODY_NORMAL;
    }
    if (p->status_code == 101 || rv == HP_BODY_TUNNEL) {
        p->flags |= HP_F_UPGRADE;
        p->flags &= (uint16_t)~HP_F_KEEP_ALIVE;
        *ended = 1;
        return message_done(p, s, 1) ? HP_E_CALLBACK : 0;
    }
    if (p->status_code < 200 || p->status_code == 204 || p->status_code == 304 ||
        rv == HP_BODY_NONE) {
        *ended = 1;
        return message_done(p, s, 0) ? HP_E_CALLBACK : 0;
    }
    if (f & HP_F_CHUNKED) {
        p->state = HP_S_CHUNK_SIZE;
    } else if (f & HP_F_TE) {
        /* A coding other than chunked last: the body runs to the close. */
        p->flags &= (uint16_t)~HP_F_KEEP_ALIVE;
        p->state = HP_S_BODY_EOF;
    } else if (f & HP_F_HAS_LENGTH) {
        if (p->content_length == 0) {
            *ended = 1;
            return message_done(p, s, 0) ? HP_E_CALLBACK : 0;
        }
        p->remaining = p->content_length;
        p->state = HP_S_BODY_LENGTH;
    } else {
        p->flags &= (uint16_t)~HP_F_KEEP_ALIVE;
        p->state = HP_S_BODY_EOF;
    }
    return 0;
}

/* chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ), RFC 9112 7.1.1 */
static int parse_chunk_ext(const char *l, size_t i, size_t n)
{
    for (;;) {
        while (i < n && is_ows(l[i]))
            i++;
        if (i == n)
            return 0;
        if (l[i++] != ';')
            return HP_E_CHUNK_EXTENSION;
        while (i < n && is_ows(l[i]))
            i++;
        if (i == n || !IS(C_TCHAR, l[i]))
            return HP_E_CHUNK_EXTENSION;
        while (i < n && IS(C_TCHAR, l[i]))
            i++;
        while (i < n && is_ows(l[i]))
            i++;
        if (i < n && l[i] == '=') {
            i++;
            while (i < n && is_ows(l[i]))
                i++;
            if (i < n && l[i] == '"') {
                i++;
                for (;;) {
                    if (i >= n)
                        return HP_E_CHUNK_EXTENSION;
                    if (l[i] == '"') {
                        i++;
                        break;
                    }
                    if (l[i] == '\\') {
                        if (++i >= n || !IS(C_VALUE, l[i]))
                            return HP_E_CHUNK_EXTENSION;
                    } else if (!IS(C_VALUE, l[i])) {
                        return HP_E_CHUNK_EXTENSION;
                    }
                    i++;
                }
            } else {
                if (i == n || !IS(C_TCHAR, l[i]))
                    return HP_E_CHUNK_EXTENSION;
                while (i < n && IS(C_TCHAR, l[i]))
                    i++;
            }
        }
    }
}

/*
 * Parse a chunk-size line at data[0..len). Returns its length with CRLF, 0 if more
 * bytes are needed, or -errno. The size goes to p->remaining.
 */
static int64_t scan_chunk_size(hp_parser *p, const char *data, size_t len)
{
    size_t max = limit(p->max_chunk_line, HP_DEFAULT_MAX_CHUNK_LINE);
    size_t from = p->line_scan, n, i;
    const char *nl;
    uint64_t size = 0;
    int rc;

    if (from > len)
        return -HP_E_CALLER;
    nl = from < len ? memchr(data + from, '\n', len - from) : NULL;
    if (nl == NULL) {
        if (len >= max)
            return -HP_E_CHUNK_LINE_TOO_LONG;
        p->line_scan = (uint32_t)len;
        return 0;
    }
    p->line_scan = 0;
    n = (size_t)(nl - data) + 1;
    if (n > max)
        return -HP_E_CHUNK_LINE_TOO_LONG;
    if (n < 2 || nl[-1] != '\r')
        return -HP_E_LINE_ENDING;
    n -= 2;
    for (i = 0; i < n && IS(C_HEX, data[i]); i++) {
        uint8_t c = (uint8_t)data[i];
        if (size >= (UINT64_C(1) << 59)) /* more would not fit in int64_t remaining */
            return -HP_E_CHUNK_SIZE;
        size = size * 16 + (uint64_t)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    if (i == 0)
        return -HP_E_CHUNK_SIZE;
    /* Whitespace may only come before a ';' or around '=' (BWS, RFC 9112 7.1.1), never
     * at the end of the line: "5 " and "5;a=b " are refused, as llhttp does. */
    if (is_ows(data[n - 1]))
        return memchr(data, ';', n) ? -HP_E_CHUNK_EXTENSION : -HP_E_CHUNK_SIZE;
    if (i < n && !is_ows(data[i]) && data[i] != ';')
        return data[i] == '\r' ? -HP_E_LINE_ENDING : -HP_E_CHUNK_SIZE;
    rc = parse_chunk_ext(data, i, n);
    if (rc)
        return -rc;
    p->remaining = (int64_t)size;
    return (int64_t)(n + 2);
}

static size_t execute(hp_parser *p, const hp_settings *s, const char *data, size_t len)
{
    size_t pos = 0;
    int64_t r;
    int ended;

    p->head_len = 0;
    if (p->state == HP_S_ERROR)
        return 0;
    while (pos < len) {
        switch (p->state) {
        case HP_S_HEAD:
            if (p->scan == 0 && p->line_scan == 0 && data[pos] == '\r') {
                /* An empty line before a status line (a stray CRLF after the previous
                 * response) is ignored, as RFC 9112 2.2 asks of a server before a
                 * request line and as llhttp does for responses. These bytes count
                 * against max_head, so an endless stream of them still ends. */
                if (pos + 1 == len)
                    return pos; /* wait for the byte that decides */
                if (data[pos + 1] == '\n') {
                    p->skipped += 2;
                    if (p->skipped > limit(p->max_head, HP_DEFAULT_MAX_HEAD))
                        return fail(p, HP_E_HEAD_TOO_LARGE, pos);
                    pos += 2;
                    break;
                }
            }
            r = scan_section(p, data + pos, len - pos, 0);
            if (r < 0)
                return fail(p, (int)-r, pos);
            if (r == 0)
                return pos;
            {
                size_t head_len = (size_t)r;
                int rc = head_complete(p, s, data + pos, head_len, &ended);
                if (rc)
                    return fail(p, rc, pos);
                pos += head_len;
            }
            if (ended || !s->on_headers_complete)
                return pos; /* without the callback, the caller takes the head here */
            break;

        case HP_S_BODY_LENGTH:
        case HP_S_CHUNK_DATA: {
            size_t n = len - pos;
            if ((uint64_t)n > (uint64_t)p->remaining)
                n = (size_t)p->remaining;
            if (s->on_body && s->on_body(p, data + pos, n))
                return fail(p, HP_E_CALLBACK, pos);
            pos += n;
            p->remaining -= (int64_t)n;
            if (p->remaining == 0) {
                if (p->state == HP_S_CHUNK_DATA) {
                    p->state = HP_S_CHUNK_CR;
                } else {
                    if (message_done(p, s, 0))
                        return fail(p, HP_E_CALLBACK, pos);
                    return pos;
                }
            }
            break;
        }

        case HP_S_BODY_EOF:
            if (s->on_body && s->on_body(p, data + pos, len - pos))
                return fail(p, HP_E_CALLBACK, pos);
            return len;

        case HP_S_CHUNK_SIZE:
            r = scan_chunk_size(p, data + pos, len - pos);
            if (r < 0)
                return fail(p, (int)-r, pos);
            if (r == 0)
                return pos;
            pos += (size_t)r;
            p->state = p->remaining ? HP_S_CHUNK_DATA : HP_S_TRAILERS;
            break;

        case HP_S_CHUNK_CR:
            if (data[pos] != '\r')
                return fail(p, HP_E_CHUNK_DATA_END, pos);
            pos++;
            p->state = HP_S_CHUNK_LF;
            break;

        case HP_S_CHUNK_LF:
            if (data[pos] != '\n')
                return fail(p, HP_E_CHUNK_DATA_END, pos);
            pos++;
            p->state = HP_S_CHUNK_SIZE;
            break;

        case HP_S_TRAILERS: {
            r = scan_section(p, data + pos, len - pos, 1);
            if (r < 0)
                return fail(p, (int)-r, pos);
            if (r == 0)
                return pos;
            if (r > 2 && s->on_trailers && s->on_trailers(p, data + pos, (size_t)r))
                return fail(p, HP_E_CALLBACK, pos);
            pos += (size_t)r;
            p->scan = 0;
            if (p->flags & HP_F_CONN_CLOSE) /* possibly from a trailer field */
                p->flags &= (uint16_t)~HP_F_KEEP_ALIVE;
            if (message_done(p, s, 0))
                return fail(p, HP_E_CALLBACK, pos);
            return pos;
        }

        case HP_S_END:
            return fail(p, HP_E_DATA_AFTER_END, pos);

        default:
            return fail(p, HP_E_CALLER, pos);
        }
    }
    return pos;
}

int64_t hp_execute(hp_parser *p, const hp_settings *s, const char *data, size_t len)
{
    return (int64_t)execute(p, s, data, len);
}

int64_t hp_body_consumed(hp_parser *p, const hp_settings *s, size_t n)
{
    if (p->state != HP_S_BODY_LENGTH)
        return 0;
    if ((uint64_t)n > (uint64_t)p->remaining)
        n = (size_t)p->remaining;
    p->remaining -= (int64_t)n;
    if (p->remaining == 0 && message_done(p, s, 0))
        fail(p, HP_E_CALLBACK, 0);
    return (int64_t)n;
}

int hp_finish(hp_parser *p, const hp_settings *s)
{
    if (p->state == HP_S_ERROR)
        return p->error;
    if (p->state == HP_S_BODY_EOF) {
        if (message_done(p, s, 1))
            fail(p, HP_E_CALLBACK, 0);
        return p->error;
    }
    if (hp_idle(p) || p->state == HP_S_END)
        return HP_OK;
    fail(p, HP_E_INCOMPLETE, 0);
    return p->error;
}

void hp_fail(hp_parser *p, int code)
{
    if (p->state == HP_S_ERROR)
        return;
    if (code <= HP_OK || code >= HP_E__COUNT)
        code = HP_E_CALLBACK;
    fail(p, code, 0);
}
