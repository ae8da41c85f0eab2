/*
 * hparser: a strict, incremental, allocation-free HTTP/1.1 *response* parser.
 *
 * Theory of operation
 * -------------------
 * The caller owns every byte. hp_execute(p, s, data, len) parses as far as it can and
 * returns how many bytes it consumed. Bytes it did not consume belong to a syntactic
 * unit that is not complete yet (the response head, a chunk-size line, the trailer
 * section, or the CRLF after chunk data): the caller keeps them and presents them
 * again, at the start of the next call, followed by the new bytes. The parser
 * remembers how far it has already scanned, so a head trickled in byte by byte costs
 * linear, not quadratic, time.
 *
 * Because the whole head is present in one contiguous block when it completes, headers
 * are delivered in one callback (on_headers_complete) instead of one per fragment:
 * with cffi each crossing into Python costs far more than scanning the bytes.
 *
 * hp_execute stops after each complete message (the return value then points just
 * past it) so that a client can decide what to do with any bytes that follow; and,
 * when there is no on_headers_complete callback, after each head.
 * Call hp_finish() when the peer closed the connection: it completes a
 * close-delimited body, or reports HP_E_INCOMPLETE if a message was cut short.
 *
 * Strictness: CRLF line endings only, no obs-fold, no whitespace before the colon,
 * token header names, no control bytes in values, one unambiguous framing
 * (Content-Length and Transfer-Encoding together are an error), exact
 * Content-Length and chunk-size syntax. Each refusal has a code and a description.
 * The framing rules are chosen so that no response we accept is framed differently
 * by llhttp (strict mode); tests/test_parser_differential.py holds us to that:
 *   - Transfer-Encoding: each field is a comma-separated list of bare coding names.
 *     Parameters (";q=1") and quoted strings are refused on every coding: no
 *     registered transfer coding has parameters, and a quoted string can hide a
 *     comma, or the word chunked, from one parser and not another
 *     (gzip;a="b,chunked;c"). chunked may appear once, as the very last element of
 *     the last field: anything after it, even an empty element ("chunked," or a
 *     later "Transfer-Encoding: ,"), is refused. Empty elements before it are
 *     ignored (RFC 9110 5.6.1); a field that names no coding at all is refused, and
 *     so is a tab at the end of a field (llhttp reads "chunked<TAB>" as another
 *     coding).
 *     Transfer-Encoding in an HTTP/1.0 response is refused (RFC 9112 6.1).
 *   - chunk-size line: hex digits, then optional extensions; whitespace only where
 *     RFC 9112 7.1.1 puts BWS (before ';', around '='), never at the end of the line.
 *   - empty lines (CRLF) before a status line are skipped (RFC 9112 2.2's robustness
 *     rule, which llhttp applies to responses too), up to max_head bytes of them;
 *     a bare CR or LF there is an error.
 *   - an interim (1xx) response has no body. On 104-199, one that carries
 *     Transfer-Encoding or a Content-Length other than 0 (which RFC 9110 8.6 and
 *     RFC 9112 6.1 forbid) is refused, since llhttp frames a body by them there;
 *     on 100-103 (101 ends HTTP on the connection) they are ignored, as llhttp
 *     ignores them.
 *   - trailer fields never change the framing (RFC 9110 6.5.1): a Content-Length or
 *     Transfer-Encoding there is refused (llhttp applies them to the message). A
 *     "Connection: close" there ends the connection after the message, as in the
 *     head (closing is always safe, and llhttp does it).
 *   - a 2xx answer to CONNECT (expect == HP_BODY_TUNNEL) opens a tunnel and its
 *     Content-Length and Transfer-Encoding fields are ignored, not checked
 *     (RFC 9110 9.3.6).
 *
 * Limits are fields of the parser the caller sets after hp_init (0 means "use the
 * default"). Each is checked before the bytes it guards are accepted.
 */
#ifndef HPARSER_H
#define HPARSER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Error codes: one list gives the enum, hp_errno_name() and hp_errno_description(), so
 * they cannot drift apart. XX(name, description); the order is the numbering, and
 * callers (the Python face) look codes up by name. Append new codes at the end.
 * HP_E_STATUS_CODE keeps llhttp's wording, which 2.x surfaced and its users match on.
 * [package] */
#define HP_ERRNO_MAP(XX)                                                              \
    XX(HP_OK, "success")                                                              \
    XX(HP_E_CALLBACK, "a callback aborted parsing")                                   \
    XX(HP_E_STATUS_LINE, "malformed status line")                                     \
    XX(HP_E_VERSION, "unsupported HTTP version (only HTTP/1.x)")                      \
    XX(HP_E_STATUS_CODE, "Invalid status code: not three digits from 100 to 999")     \
    XX(HP_E_LINE_ENDING, "bare CR or LF: lines must end with CRLF")                   \
    XX(HP_E_HEADER_NAME, "empty header name or invalid character in it")              \
    XX(HP_E_WS_BEFORE_COLON, "whitespace between header name and colon")              \
    XX(HP_E_NO_COLON, "header line without a colon")                                  \
    XX(HP_E_OBS_FOLD, "obsolete line folding in header")                              \
    XX(HP_E_HEADER_VALUE, "control character in header value")                        \
    XX(HP_E_CONTENT_LENGTH, "malformed Content-Length")                               \
    XX(HP_E_CONFLICTING_CL, "conflicting Content-Length values")                      \
    XX(HP_E_TE_AND_CL, "both Transfer-Encoding and Content-Length")                   \
    /* the rule is in the theory of operation above */                                \
    XX(HP_E_TRANSFER_ENCODING,                                                        \
       "invalid Transfer-Encoding (a parameter, bad syntax, chunked not last, or "    \
       "HTTP/1.0)")                                                                   \
    /* also whitespace after the size at the end of the line */                       \
    XX(HP_E_CHUNK_SIZE, "malformed chunk size")                                       \
    /* whitespace at the end of the line included */                                  \
    XX(HP_E_CHUNK_EXTENSION, "malformed chunk extension")                             \
    XX(HP_E_CHUNK_DATA_END, "chunk data not followed by CRLF")                        \
    XX(HP_E_LINE_TOO_LONG, "status or header line exceeds the line limit")            \
    XX(HP_E_TOO_MANY_HEADERS, "too many header fields")                               \
    XX(HP_E_HEAD_TOO_LARGE, "response head exceeds the size limit")                   \
    XX(HP_E_CHUNK_LINE_TOO_LONG, "chunk-size line exceeds its limit")                 \
    XX(HP_E_TRAILERS_TOO_LARGE, "trailer section exceeds its limit")                  \
    XX(HP_E_INCOMPLETE, "connection closed before the message was complete")          \
    XX(HP_E_DATA_AFTER_END, "data after the end of a message that ends the connection") \
    XX(HP_E_CALLER, "parser misuse: unconsumed bytes were not presented again")       \
    XX(HP_E_INTERIM_FRAMING,                                                          \
       "Transfer-Encoding or a non-zero Content-Length in an interim response (104-199)")  \
    XX(HP_E_TRAILER_FRAMING, "Content-Length or Transfer-Encoding in the trailer section")

#define HP_ERRNO_ENUM_ITEM(name, description) name,
enum hp_errno {
    HP_ERRNO_MAP(HP_ERRNO_ENUM_ITEM)
    HP_E__COUNT
};
#undef HP_ERRNO_ENUM_ITEM

/* What the parser is doing; exposed so a caller can tell "between messages" apart.
 * [package] */
enum hp_state {
    HP_S_HEAD = 0,      /* waiting for / inside a response head */
    HP_S_BODY_LENGTH,   /* Content-Length body, `remaining` bytes to go */
    HP_S_BODY_EOF,      /* body delimited by connection close */
    HP_S_CHUNK_SIZE,    /* waiting for a chunk-size line */
    HP_S_CHUNK_DATA,    /* inside chunk data, `remaining` bytes to go */
    HP_S_CHUNK_CR,      /* expecting CR after chunk data */
    HP_S_CHUNK_LF,      /* expecting LF after chunk data */
    HP_S_TRAILERS,      /* inside the trailer section */
    HP_S_END,           /* the connection carries nothing more (after EOF body or upgrade) */
    HP_S_ERROR
};

/*
 * Who relies on what. The package (geventhttpclient/_parser.py) runs the parser
 * without on_headers_complete: hp_execute stops after each head, p->expect frames
 * the body, and Python splits the header fields itself. The callback mode
 * (on_headers_complete, the header-offset array) is a second road to the same result
 * that only the fuzz harness (csrc/fuzz/fuzz_hparser.c) takes, as the reference its
 * other runs are compared with; its parts stay because that comparison finds bugs.
 * Each public part is marked:
 *   [package]    the package uses it; build_parser.py declares it to cffi;
 *   [reference]  only the fuzz harness uses it; build_parser.py leaves it out;
 *   in           the caller sets it. Every other field is written by the parser
 *                only: a caller that gives up on a message calls hp_fail().
 * tests/test_cparser_api.py holds build_parser.py's cffi declarations to these marks.
 */

/* Flags describing the current message (valid from the end of the head on, and after
 * the message ended until the next status line). */
#define HP_F_CHUNKED      0x01u /* [package] body uses chunked transfer coding */
#define HP_F_KEEP_ALIVE   0x02u /* [package] connection may be reused after it */
#define HP_F_HAS_LENGTH   0x04u /* [reference] a Content-Length header was present */
#define HP_F_CONN_CLOSE   0x08u /* [reference] Connection: close was present */
#define HP_F_CONN_KEEP    0x10u /* [reference] Connection: keep-alive was present */
#define HP_F_TE           0x20u /* [reference] Transfer-Encoding was present */
#define HP_F_UPGRADE      0x40u /* [package] 101 or a tunnel: stops after the head */
#define HP_F_DONE         0x80u /* [package] the message is complete (readable after
                                 * hp_execute returns, until the next status line):
                                 * lets a caller skip the on_message_complete callback */
#define HP_F_CODED        0x100u /* [package] a Content-Encoding field in the head */
#define HP_F_COOKIE       0x200u /* [package] a Set-Cookie field in the head */
#define HP_F_COOKIE2      0x400u /* [package] a Set-Cookie2 field in the head
                                  * (the agents decode only with HP_F_CODED and ask
                                  * their cookie jar only with a cookie field: noted
                                  * here, where names are compared anyway, so that
                                  * nobody searches the head for them again) */

/* What a final response implies for its body: p->expect, or the return value of
 * on_headers_complete. [package] */
#define HP_BODY_NORMAL 0 /* frame the body from the headers */
#define HP_BODY_NONE   1 /* no body (response to HEAD) */
#define HP_BODY_TUNNEL 2 /* no body and stop: the connection is now a tunnel (CONNECT 2xx) */
/* Any callback may return HP_CB_ERROR to abort with HP_E_CALLBACK. [package] */
#define HP_CB_ERROR   -1

typedef struct hp_parser hp_parser;

/* One header field, as offsets into the head block given to on_headers_complete.
 * [reference] */
typedef struct {
    uint32_t name_off, name_len, value_off, value_len;
} hp_header;

/* The callbacks; any may be NULL. Each returns 0 to go on or HP_CB_ERROR. */
typedef struct {
    /* Whole head (status line up to and including the empty line). Headers are in
     * p->headers if the caller provided storage. Returns HP_BODY_*, or HP_CB_ERROR.
     *
     * May be NULL: then hp_execute returns right after each head (interim ones
     * included), which is the last p->head_len bytes it consumed, and the body is
     * framed as p->expect says (HP_BODY_TUNNEL only for a 2xx). The caller reads
     * the status, flags and content_length from the parser: they describe the
     * message until the next status line, even once the message is complete. A
     * caller written in a language where each callback is expensive saves one
     * crossing per response this way. */
    int (*on_headers_complete)(hp_parser *p, const char *head, size_t len); /* [reference] */
    /* A piece of body, after transfer decoding. */
    int (*on_body)(hp_parser *p, const char *at, size_t len); /* [package] */
    /* The trailer section (field lines and the final CRLF), if any. */
    int (*on_trailers)(hp_parser *p, const char *at, size_t len); /* [package] */
    /* The message is complete (also for 1xx interim responses). The package reads
     * HP_F_DONE instead: one crossing fewer per response. */
    int (*on_message_complete)(hp_parser *p); /* [reference] */
} hp_settings;

struct hp_parser {
    /* The message: valid from the end of the head on (in on_headers_complete, or once
     * hp_execute returned with head_len set) until the next status line. */
    uint8_t state;            /* [package] enum hp_state */
    uint8_t error;            /* [package] enum hp_errno */
    uint8_t http_major;       /* [reference] always 1 */
    uint8_t http_minor;       /* [package] 0..9 */
    uint16_t status_code;     /* [package] */
    uint16_t flags;           /* [package] HP_F_* */
    uint32_t num_headers;     /* [reference] header fields in the head */
    uint32_t status_line_len; /* [reference] the status line without CRLF */
    int64_t content_length;   /* [package] -1 when absent */
    int64_t remaining;        /* [package] body or chunk bytes still expected (>= 0) */
    uint32_t head_len;        /* [package] the head the last hp_execute completed, or 0 */
    uint8_t expect;           /* [package, in] HP_BODY_* for the next final response
                               * when there is no on_headers_complete (see
                               * hp_settings). HP_BODY_TUNNEL (the request was
                               * CONNECT) also counts with the callback: a 2xx then
                               * ignores its framing fields and opens a tunnel
                               * whatever the callback returns (but HP_CB_ERROR). */

    /* Limits, set by the caller after hp_init; 0 selects the default. */
    uint32_t max_line;       /* [package, in] status or header line, CRLF included */
    uint32_t max_headers;    /* [package, in] header field count */
    uint32_t max_head;       /* [package, in] whole head, CRLFs included */
    uint32_t max_chunk_line; /* [package, in] chunk-size line with extensions, CRLF
                              * included */
    uint32_t max_trailers;   /* [package, in] trailer section, CRLFs included */

    /* Optional caller-owned storage for header offsets: if headers_cap > 0, at most
     * headers_cap entries are written (max_headers still bounds the count). */
    hp_header *headers;      /* [reference, in] */
    uint32_t headers_cap;    /* [reference, in] */

    void *data;              /* [package, in] for the caller's callbacks */

    /* Private. */
    uint32_t scan;           /* bytes of the pending unit already validated */
    uint32_t line_scan;      /* bytes of the current line searched for its end */
    uint32_t trailer_count;  /* trailer fields seen */
    uint8_t te_chunked;      /* a TE coding "chunked" was seen (it must stay last) */
    uint32_t skipped;        /* bytes of empty lines skipped before this status line */
};

#define HP_DEFAULT_MAX_LINE       8192u
#define HP_DEFAULT_MAX_HEADERS    100u
#define HP_DEFAULT_MAX_HEAD       65536u
#define HP_DEFAULT_MAX_CHUNK_LINE 4096u
#define HP_DEFAULT_MAX_TRAILERS   16384u

/* All functions are [package]. */

/* Reset the parser for a new connection (expect becomes HP_BODY_NORMAL). Keeps limits,
 * headers storage and data. */
void hp_init(hp_parser *p);
/* Parse; see the theory of operation above. Returns bytes consumed (never negative);
 * on an error, the offset in data where it was found.
 * Results and `remaining` are signed 64-bit: an unsigned 64-bit value becomes an
 * arbitrary-precision integer in PyPy's cffi, slow in every later sum. */
int64_t hp_execute(hp_parser *p, const hp_settings *s, const char *data, size_t len);
/* The peer closed. Completes a close-delimited body; otherwise HP_E_INCOMPLETE if a
 * message was started. Returns the error code (HP_OK if nothing was lost). */
int hp_finish(hp_parser *p, const hp_settings *s);
/* 1 when between messages: nothing of a next message has been consumed (empty lines
 * skipped before a status line are no part of a message). */
int hp_idle(const hp_parser *p);
/* The caller took up to n bytes of a Content-Length body itself (received them
 * straight into its own buffer), so they never pass through hp_execute. Only in
 * HP_S_BODY_LENGTH; returns how many were accounted (at most p->remaining), and
 * completes the message (on_message_complete, HP_F_DONE) when none remain. */
int64_t hp_body_consumed(hp_parser *p, const hp_settings *s, size_t n);
/* The caller gives up on the connection for a reason of its own (the package: an
 * interim response it refuses, taken between two hp_execute calls): the parser fails
 * for good with `code`, as after a callback error. `code` is an hp_errno other than
 * HP_OK (anything else counts as HP_E_CALLBACK); a parser that already failed keeps
 * its first error. */
void hp_fail(hp_parser *p, int code);

const char *hp_errno_name(int err);
const char *hp_errno_description(int err);

#ifdef __cplusplus
}
#endif
#endif /* HPARSER_H */
